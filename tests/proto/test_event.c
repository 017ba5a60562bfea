/*
 * test_event.c - event lines (WATCH): proto_event_decode() for every kind
 * and for malformed lines, proto_event_encode() round trips, and the reply
 * decoder telling events apart from the replies around them.
 */
#include "proto_test.h"

#define TASK_LINE                                                                                  \
    "42 pending high 2026-12-01 home,shopping 2026-11-26T10:00:00Z 2026-11-26T11:00:00Z "          \
    "\"buy \\\"milk\\\"\""
#define DONE_LINE                                                                                  \
    "42 done high 2026-12-01 home,shopping 2026-11-26T10:00:00Z 2026-11-26T12:00:00Z \"buy milk\""

/* Decodes line (a C string) from an exact-size heap copy, so that ASan sees
 * any read past its end, with an exact-size scratch area. */
static enum proto_err decode(const char *line, struct proto_event *ev, char *err, size_t errcap,
                             char **keep)
{
    size_t len = strlen(line);
    char *copy = malloc(len ? len : 1);
    char *scratch = malloc(len ? len : 1);
    assert_non_null(copy);
    assert_non_null(scratch);
    memcpy(copy, line, len);
    memset(err, 'X', errcap);
    enum proto_err e = proto_event_decode(copy, len, scratch, len, ev, err, errcap);
    assert_non_null(memchr(err, '\0', errcap));
    /* The event points into both; the caller frees them through keep. */
    keep[0] = copy;
    keep[1] = scratch;
    return e;
}

static void test_event_kinds(void **state)
{
    (void)state;
    struct proto_event ev;
    char err[160], *keep[2];

    assert_int_equal(decode("EVENT 28147497671065600 add " TASK_LINE, &ev, err, sizeof err, keep),
                     PROTO_E_NONE);
    assert_int_equal(ev.kind, PROTO_EVENT_ADD);
    assert_true(ev.seq == UINT64_C(28147497671065600));
    assert_pstr(ev.id, "42");
    assert_pstr(ev.task.id, "42");
    assert_pstr(ev.task.text, "buy \"milk\"");
    assert_pstr(ev.task.tags, "home,shopping");
    assert_string_equal(ev.task.due, "2026-12-01");
    assert_int_equal(ev.task.pri, PROTO_PRI_HIGH);
    assert_int_equal(ev.task.done, 0);
    assert_true(ev.task.updated - ev.task.created == 3600);
    assert_string_equal(err, "");
    free(keep[0]);
    free(keep[1]);

    assert_int_equal(decode("EVENT 7 edit " TASK_LINE, &ev, err, sizeof err, keep), PROTO_E_NONE);
    assert_int_equal(ev.kind, PROTO_EVENT_EDIT);
    assert_true(ev.seq == 7);
    free(keep[0]);
    free(keep[1]);

    assert_int_equal(decode("EVENT 8 done " DONE_LINE, &ev, err, sizeof err, keep), PROTO_E_NONE);
    assert_int_equal(ev.kind, PROTO_EVENT_DONE);
    assert_int_equal(ev.task.done, 1);
    assert_pstr(ev.task.text, "buy milk");
    free(keep[0]);
    free(keep[1]);

    assert_int_equal(decode("EVENT 9 undone " TASK_LINE, &ev, err, sizeof err, keep), PROTO_E_NONE);
    assert_int_equal(ev.kind, PROTO_EVENT_UNDONE);
    assert_int_equal(ev.task.done, 0);
    free(keep[0]);
    free(keep[1]);

    assert_int_equal(decode("EVENT 10 del x_1.2-3", &ev, err, sizeof err, keep), PROTO_E_NONE);
    assert_int_equal(ev.kind, PROTO_EVENT_DEL);
    assert_true(ev.seq == 10);
    assert_pstr(ev.id, "x_1.2-3");
    assert_int_equal(ev.task.id.len, 0);
    free(keep[0]);
    free(keep[1]);

    assert_int_equal(decode("EVENT overflow", &ev, err, sizeof err, keep), PROTO_E_NONE);
    assert_int_equal(ev.kind, PROTO_EVENT_OVERFLOW);
    assert_true(ev.seq == 0);
    free(keep[0]);
    free(keep[1]);

    assert_string_equal(proto_event_kind_name(PROTO_EVENT_UNDONE), "undone");
    assert_string_equal(proto_event_kind_name(PROTO_EVENT_OVERFLOW), "overflow");
    assert_string_equal(proto_event_kind_name(0), "?");
    assert_string_equal(proto_event_kind_name(99), "?");
}

/* The largest 64-bit number decodes exactly; one more, or 21 digits, or a
 * leading zero does not. */
static void test_event_seq_limits(void **state)
{
    (void)state;
    struct proto_event ev;
    char err[160], *keep[2];

    assert_int_equal(decode("EVENT 18446744073709551615 del 1", &ev, err, sizeof err, keep),
                     PROTO_E_NONE);
    assert_true(ev.seq == UINT64_MAX);
    free(keep[0]);
    free(keep[1]);
    assert_int_equal(decode("EVENT 0 del 1", &ev, err, sizeof err, keep), PROTO_E_NONE);
    assert_true(ev.seq == 0);
    free(keep[0]);
    free(keep[1]);

    static const char *const bad[] = {
        "EVENT 18446744073709551616 del 1",  /* 2^64 */
        "EVENT 99999999999999999999 del 1",  /* 20 digits, too big */
        "EVENT 100000000000000000000 del 1", /* 21 digits */
        "EVENT 012 del 1",
        "EVENT -1 del 1",
        "EVENT +1 del 1",
        "EVENT 1x del 1",
        "EVENT  1 del 1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(decode(bad[i], &ev, err, sizeof err, keep), PROTO_E_SYNTAX);
        assert_non_null(strstr(err, "sequence number"));
        assert_int_equal(ev.kind, 0);
        free(keep[0]);
        free(keep[1]);
    }
}

static void test_event_malformed(void **state)
{
    (void)state;
    struct proto_event ev;
    char err[160], *keep[2];
    static const struct {
        const char *line, *says;
    } bad[] = {
        {"", "does not start"},
        {"EVENT", "does not start"},
        {"event 1 del 1", "does not start"},
        {"EVENTS 1 del 1", "does not start"},
        {"EVENT ", "sequence number"},
        {"EVENT overflow now", "sequence number"},
        {"EVENT Overflow", "sequence number"},
        {"EVENT 5 overflow", "unknown kind"},
        {"EVENT 5", "no kind"},
        {"EVENT 5 ", "no kind"},
        {"EVENT 5 ADD " TASK_LINE, "unknown kind"},
        {"EVENT 5 added " TASK_LINE, "unknown kind"},
        {"EVENT 5  add " TASK_LINE, "unknown kind"},
        {"EVENT 5 add", "nothing"},
        {"EVENT 5 add ", "nothing"},
        {"EVENT 5 add  " TASK_LINE, "nothing"},
        {"EVENT 5 del", "nothing"},
        {"EVENT 5 del 1 2", "valid id"},
        {"EVENT 5 del bad/id", "valid id"},
        {"EVENT 5 del \"1\"", "valid id"},
        {"EVENT 5 del 1 ", "valid id"},
        {"EVENT 5 add 42 pending high", "fields"},
        {"EVENT 5 add " TASK_LINE " extra", "fields"},
        {"EVENT 5 add 42 maybe - - - 2026-11-26T10:00:00Z 2026-11-26T10:00:00Z \"x\"", "status"},
        {"EVENT 5 add 42 pending - - - 2026-11-26T10:00:00Z 2026-11-26T10:00:00Z x", "quoted"},
        {"EVENT 5 add 42 pending - - - 2026-11-26 2026-11-26T10:00:00Z \"x\"", "time"},
        {"EVENT 5 done " TASK_LINE, "is pending"},
        {"EVENT 5 undone " DONE_LINE, "is done"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        enum proto_err e = decode(bad[i].line, &ev, err, sizeof err, keep);
        if (e != PROTO_E_SYNTAX || strstr(err, bad[i].says) == NULL)
            fail_msg("'%s': got %d '%s', wanted SYNTAX saying '%s'", bad[i].line, (int)e, err,
                     bad[i].says);
        assert_true(strncmp(err, "bad event: ", 11) == 0);
        /* A refused line leaves no task behind for a careless caller. */
        assert_int_equal(ev.task.id.len, 0);
        free(keep[0]);
        free(keep[1]);
    }
}

static void test_event_encode_roundtrip(void **state)
{
    (void)state;
    struct proto_buf b;
    struct proto_event ev, back;
    char err[160], *keep[2], line[512];

    proto_buf_init(&b, 0);
    memset(&ev, 0, sizeof ev);
    ev.kind = PROTO_EVENT_OVERFLOW;
    assert_int_equal(proto_event_encode(&b, &ev), 0);
    assert_buf(&b, "EVENT overflow\r\n");

    b.len = 0;
    ev.kind = PROTO_EVENT_DEL;
    ev.seq = UINT64_MAX;
    ev.id = (struct proto_str){"17", 2};
    assert_int_equal(proto_event_encode(&b, &ev), 0);
    assert_buf(&b, "EVENT 18446744073709551615 del 17\r\n");

    /* An id that is not one is refused, and nothing is left in b. */
    b.len = 0;
    ev.id = (struct proto_str){"a b", 3};
    assert_int_equal(proto_event_encode(&b, &ev), -1);
    assert_int_equal(b.len, 0);
    ev.kind = 0;
    assert_int_equal(proto_event_encode(&b, &ev), -1);
    assert_int_equal(b.len, 0);

    for (int k = PROTO_EVENT_ADD; k <= PROTO_EVENT_UNDONE; k++) {
        memset(&ev, 0, sizeof ev);
        ev.kind = (enum proto_event_kind)k;
        ev.seq = ((uint64_t)1764000000 << 24) + (uint64_t)k;
        ev.task.id = (struct proto_str){"9", 1};
        ev.task.text = (struct proto_str){"tab\there \"q\" caf\xc3\xa9", 18};
        ev.task.done = k == PROTO_EVENT_DONE;
        ev.task.pri = PROTO_PRI_LOW;
        ev.task.tags = (struct proto_str){"a,b", 3};
        ev.task.created = 1764000000;
        ev.task.updated = 1764000100;
        b.len = 0;
        assert_int_equal(proto_event_encode(&b, &ev), 0);
        assert_true(b.len > 2 && b.len - 2 < sizeof line);
        assert_memory_equal(b.data + b.len - 2, "\r\n", 2);
        memcpy(line, b.data, b.len - 2);
        line[b.len - 2] = '\0';
        assert_null(strchr(line, '\n'));
        assert_int_equal(decode(line, &back, err, sizeof err, keep), PROTO_E_NONE);
        assert_int_equal(back.kind, k);
        assert_true(back.seq == ev.seq);
        assert_pstr(back.id, "9");
        assert_bytes(back.task.text.ptr, back.task.text.len, ev.task.text.ptr, ev.task.text.len);
        assert_pstr(back.task.tags, "a,b");
        assert_int_equal(back.task.done, ev.task.done);
        assert_int_equal(back.task.pri, PROTO_PRI_LOW);
        assert_true(back.task.updated == 1764000100);
        free(keep[0]);
        free(keep[1]);
    }
    proto_buf_free(&b);
}

/* What a client's read loop sees: events come as replies of their own
 * kind, between (never inside) the replies it waits for, and the replies
 * around them are unchanged. Fed whole and one byte at a time. */
static void test_event_between_replies(void **state)
{
    (void)state;
    static const char in[] =
        "OK 28147497671065600\r\n"
        "EVENT 28147497671065601 add " TASK_LINE "\r\n"
        "DATA 1\r\n" TASK_LINE "\r\n"
        "EVENT 28147497671065602 del 42\n"
        "EVENT overflow\r\n"
        "ERR NOTFOUND no task 42\r\n"
        "EVENT 5 add\r\n" /* framed as an event; proto_event_decode refuses it */
        "OK\r\n";
    static const struct {
        enum proto_reply_kind kind;
        const char *text;
    } want[] = {
        {PROTO_REPLY_OK, "28147497671065600"},
        {PROTO_REPLY_EVENT, "EVENT 28147497671065601 add " TASK_LINE},
        {PROTO_REPLY_DATA, ""},
        {PROTO_REPLY_EVENT, "EVENT 28147497671065602 del 42"},
        {PROTO_REPLY_EVENT, "EVENT overflow"},
        {PROTO_REPLY_ERR, "no task 42"},
        {PROTO_REPLY_EVENT, "EVENT 5 add"},
        {PROTO_REPLY_OK, ""},
    };
    size_t len = sizeof in - 1;

    for (size_t chunk = 1; chunk <= len; chunk = chunk == 1 ? len : len + 1) {
        struct proto_reply_decoder d;
        char *buf = malloc(len);
        size_t held = 0, off = 0, n = 0;
        assert_non_null(buf);
        proto_reply_decoder_init(&d, 1024);
        while (off < len) {
            size_t step = chunk < len - off ? chunk : len - off;
            memcpy(buf + held, in + off, step);
            held += step;
            off += step;
            for (;;) {
                struct proto_reply r;
                size_t used = 0;
                char err[128];
                enum proto_status st =
                    proto_reply_decode(&d, buf, held, &used, &r, err, sizeof err);
                if (st == PROTO_NEED_MORE)
                    break;
                assert_int_equal(st, PROTO_COMPLETE);
                assert_true(n < sizeof want / sizeof want[0]);
                assert_int_equal(r.kind, want[n].kind);
                assert_bytes(r.text.ptr, r.text.len, want[n].text, strlen(want[n].text));
                if (r.kind == PROTO_REPLY_DATA) {
                    assert_int_equal(r.nlines, 1);
                    assert_bytes(r.body.ptr, r.body.len, TASK_LINE "\r\n",
                                 strlen(TASK_LINE "\r\n"));
                }
                if (r.kind == PROTO_REPLY_EVENT) {
                    assert_int_equal(r.nlines, 0);
                    assert_int_equal(r.body.len, 0);
                }
                n++;
                memmove(buf, buf + used, held - used);
                held -= used;
            }
        }
        assert_int_equal(n, sizeof want / sizeof want[0]);
        assert_int_equal(held, 0);
        free(buf);
    }
}

/* "EVENT" alone, or EVENT without its space, is no reply at all; and a
 * line inside a DATA body that looks like an event is a data line. */
static void test_event_framing_edges(void **state)
{
    (void)state;
    struct proto_reply_decoder d;
    struct proto_reply r;
    size_t used;
    char err[128];
    static const char *const not_replies[] = {"EVENT\r\n", "EVENTS 1 del 1\r\n", "EVENT\t1\r\n"};

    for (size_t i = 0; i < sizeof not_replies / sizeof not_replies[0]; i++) {
        proto_reply_decoder_init(&d, 1024);
        assert_int_equal(proto_reply_decode(&d, not_replies[i], strlen(not_replies[i]), &used, &r,
                                            err, sizeof err),
                         PROTO_ERROR);
        assert_non_null(strstr(err, "not a todo server reply"));
    }
    static const char body[] = "DATA 1\r\nEVENT 1 del 1\r\nOK\r\n";
    proto_reply_decoder_init(&d, 1024);
    assert_int_equal(proto_reply_decode(&d, body, strlen(body), &used, &r, err, sizeof err),
                     PROTO_COMPLETE);
    assert_int_equal(r.kind, PROTO_REPLY_DATA);
    assert_int_equal(r.nlines, 1);
    assert_bytes(r.body.ptr, r.body.len, "EVENT 1 del 1\r\n", 15);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_kinds),           cmocka_unit_test(test_event_seq_limits),
        cmocka_unit_test(test_event_malformed),       cmocka_unit_test(test_event_encode_roundtrip),
        cmocka_unit_test(test_event_between_replies), cmocka_unit_test(test_event_framing_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
