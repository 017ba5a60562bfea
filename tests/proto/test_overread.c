/*
 * test_overread.c - no decoder reads past its input or writes past its
 * scratch area.
 *
 * As picohttpparser's test does, every input is copied so that it ends
 * exactly where a PROT_NONE page begins: one byte read past the end faults.
 * Scratch areas get the same treatment with exactly the size the header
 * promises is enough. Every prefix length of every input is tried, and the
 * results are compared with the same call on an ordinary heap copy, so the
 * test checks values, not only that nothing crashed.
 */
#include "proto_test.h"

#include <sys/mman.h>
#include <unistd.h>

struct guard {
    char *base;
    size_t page;
};

/* Maps two pages and makes the second inaccessible. */
static void guard_map(struct guard *g)
{
    long ps = sysconf(_SC_PAGESIZE);

    assert_true(ps > 0);
    g->page = (size_t)ps;
    g->base = mmap(NULL, 2 * g->page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(g->base != MAP_FAILED);
    assert_int_equal(mprotect(g->base + g->page, g->page, PROT_NONE), 0);
}

static void guard_unmap(struct guard *g)
{
    assert_int_equal(munmap(g->base, 2 * g->page), 0);
}

/* The address at which n bytes end right at the guard page. */
static char *guard_end(struct guard *g, size_t n)
{
    assert_true(n <= g->page);
    return g->base + g->page - n;
}

static const char *place(struct guard *g, const char *s, size_t n)
{
    char *p = guard_end(g, n);
    if (n > 0)
        memcpy(p, s, n);
    return p;
}

struct fixture {
    struct guard in;
    struct guard scratch;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    guard_map(&f->in);
    guard_map(&f->scratch);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    guard_unmap(&f->in);
    guard_unmap(&f->scratch);
    free(f);
    return 0;
}

#define S(s) (s), (sizeof(s) - 1)

static size_t count_byte(const char *s, size_t n, char c)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += s[i] == c;
    return k;
}

/* ------------------------------------------------------------------------
 * The request reader.
 * ---------------------------------------------------------------------- */

static void test_reader(void **state)
{
    struct fixture *f = *state;
    static const char in[] = "ADD \"buy milk\" +home\r\nGET 42\n\r\nPING";
    static const char *const lines[] = {"ADD \"buy milk\" +home", "GET 42", ""};

    for (size_t n = 0; n <= sizeof(in) - 1; n++) {
        const char *p = place(&f->in, in, n);
        size_t left = n, got = 0;
        struct proto_reader r;
        enum proto_status st;

        proto_reader_init(&r, 64);
        for (;;) {
            const char *line;
            size_t line_len, consumed = 0;
            st = proto_reader_next(&r, p, left, &line, &line_len, &consumed);
            if (st != PROTO_COMPLETE)
                break;
            assert_true(got < 3);
            assert_pstr(((struct proto_str){line, line_len}), lines[got]);
            got++;
            p += consumed;
            left -= consumed;
        }
        assert_int_equal(st, PROTO_NEED_MORE);
        assert_int_equal(got, count_byte(in, n, '\n'));
    }
}

static void test_reader_toolong(void **state)
{
    struct fixture *f = *state;
    char in[64];
    size_t len;

    memset(in, 'x', 40);
    /* With its terminator, which lies past the len bytes used. */
    memcpy(in + 40, "\nPING\n", sizeof("\nPING\n"));
    len = 46;
    for (size_t n = 0; n <= len; n++) {
        const char *p = place(&f->in, in, n);
        size_t left = n;
        int errors = 0, lines = 0;
        struct proto_reader r;

        proto_reader_init(&r, 16);
        for (int guard = 0; guard < 1000; guard++) {
            const char *line;
            size_t line_len, consumed = 0;
            enum proto_status st = proto_reader_next(&r, p, left, &line, &line_len, &consumed);
            assert_true(consumed <= left);
            p += consumed;
            left -= consumed;
            if (st == PROTO_NEED_MORE)
                break;
            if (st == PROTO_ERROR) {
                errors++;
                continue;
            }
            assert_pstr(((struct proto_str){line, line_len}), "PING");
            lines++;
        }
        assert_int_equal(errors, n > 16 ? 1 : 0);
        assert_int_equal(lines, n == len ? 1 : 0);
    }
}

/* ------------------------------------------------------------------------
 * The tokenizer and the request parser.
 * ---------------------------------------------------------------------- */

static void test_tokenize(void **state)
{
    struct fixture *f = *state;
    static const char in[] = "ADD \"buy \\\"milk\\\"\\x41\\n\" +home\t\"\" tail";

    for (size_t n = 0; n <= sizeof(in) - 1; n++) {
        const char *p = place(&f->in, in, n);
        char *scratch = guard_end(&f->scratch, n);
        char *heap_scratch = malloc(n + 1);
        struct proto_token t[8], h[8];
        char err[64], herr[64];
        int k, hk;

        assert_non_null(heap_scratch);
        k = proto_tokenize(p, n, scratch, n, t, 8, err, sizeof(err));
        hk = proto_tokenize(in, n, heap_scratch, n + 1, h, 8, herr, sizeof(herr));
        assert_int_equal(k, hk);
        for (int i = 0; i < k; i++) {
            assert_int_equal(t[i].quoted, h[i].quoted);
            assert_bytes(t[i].s.ptr, t[i].s.len, h[i].s.ptr, h[i].s.len);
        }
        if (n == sizeof(in) - 1) {
            assert_int_equal(k, 5);
            assert_pstr(t[1].s, "buy \"milk\"A\n");
            assert_pstr(t[2].s, "+home");
            assert_int_equal(t[3].s.len, 0);
            assert_pstr(t[4].s, "tail");
        }
        free(heap_scratch);
    }
}

static void assert_same_request(const struct proto_request *a, const struct proto_request *b)
{
    assert_int_equal(a->cmd, b->cmd);
    assert_bytes(a->id.ptr, a->id.len, b->id.ptr, b->id.len);
    assert_bytes(a->text.ptr, a->text.len, b->text.ptr, b->text.len);
    assert_int_equal(a->has_text, b->has_text);
    assert_int_equal(a->pri, b->pri);
    assert_int_equal(a->due_op, b->due_op);
    if (a->due_op == 1)
        assert_string_equal(a->due, b->due);
    assert_int_equal(a->filter, b->filter);
    assert_int_equal(a->ntags, b->ntags);
    for (size_t i = 0; i < a->ntags; i++)
        assert_bytes(a->tags[i].ptr, a->tags[i].len, b->tags[i].ptr, b->tags[i].len);
    assert_int_equal(a->nuntags, b->nuntags);
    for (size_t i = 0; i < a->nuntags; i++)
        assert_bytes(a->untags[i].ptr, a->untags[i].len, b->untags[i].ptr, b->untags[i].len);
}

static void test_parse(void **state)
{
    struct fixture *f = *state;
    static const struct {
        const char *line;
        enum proto_cmd cmd;
        const char *text;
    } cases[] = {
        {"ADD \"buy \\\"milk\\\"\\x41\" +home due:2026-12-01 pri:high", PROTO_CMD_ADD,
         "buy \"milk\"A"},
        {"ADD buy milk", PROTO_CMD_ADD, "buy milk"},
        {"EDIT 42 \"new\\ttext\" -old +new due:none pri:l", PROTO_CMD_EDIT, "new\ttext"},
        {"LIST all +home milk", PROTO_CMD_LIST, "milk"},
        {"GET/task_02/status", PROTO_CMD_LEGACY_GET, ""},
        {"POST/task_04=buy milk/status", PROTO_CMD_LEGACY_POST, "buy milk"},
        {"AUTH \"pw\"", PROTO_CMD_AUTH, "pw"},
        {"  ", PROTO_CMD_NONE, ""},
        {"DONE task_02", PROTO_CMD_DONE, ""},
    };

    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        size_t len = strlen(cases[c].line);
        for (size_t n = 0; n <= len; n++) {
            const char *p = place(&f->in, cases[c].line, n);
            char *scratch = guard_end(&f->scratch, n + 1);
            char heap_scratch[256];
            struct proto_request req, hreq;
            char err[64], herr[64];
            enum proto_err e, he;

            e = proto_request_parse(p, n, scratch, n + 1, &req, err, sizeof(err));
            he = proto_request_parse(cases[c].line, n, heap_scratch, sizeof(heap_scratch), &hreq,
                                     herr, sizeof(herr));
            assert_int_equal(e, he);
            if (e == PROTO_E_NONE)
                assert_same_request(&req, &hreq);
            if (n == len) {
                if (e != PROTO_E_NONE)
                    fail_msg("%s: %s", cases[c].line, err);
                assert_int_equal(req.cmd, cases[c].cmd);
                if (cases[c].text[0])
                    assert_pstr(req.text, cases[c].text);
            }
        }
    }
}

/* ------------------------------------------------------------------------
 * Replies.
 * ---------------------------------------------------------------------- */

static void test_reply_decode(void **state)
{
    struct fixture *f = *state;
    static const char in[] = "OK 42\r\n"
                             "ERR NOTFOUND no task 42\r\n"
                             "DATA 2\r\n"
                             "a\r\n"
                             "42 pending - - - 2026-11-26T10:00:00Z 2026-11-26T10:00:00Z \"x\"\r\n"
                             "DATA 0\r\n"
                             "OK\r\n";
    static const enum proto_reply_kind kinds[] = {PROTO_REPLY_OK, PROTO_REPLY_ERR, PROTO_REPLY_DATA,
                                                  PROTO_REPLY_DATA, PROTO_REPLY_OK};
    size_t ends[5], len = sizeof(in) - 1;

    /* Where each reply ends, found from the text itself. */
    {
        const char *q = in;
        for (size_t i = 0; i < 5; i++) {
            size_t lines = i == 2 ? 3 : 1;
            for (size_t l = 0; l < lines; l++)
                q = strstr(q, "\r\n") + 2;
            ends[i] = (size_t)(q - in);
        }
        assert_int_equal(ends[4], len);
    }

    for (size_t n = 0; n <= len; n++) {
        const char *p = place(&f->in, in, n);
        size_t left = n, got = 0, expect = 0;
        struct proto_reply_decoder d;
        enum proto_status st;

        while (expect < 5 && ends[expect] <= n)
            expect++;
        /* One decoder for the whole stream: it must reset itself after each reply. */
        proto_reply_decoder_init(&d, 256);
        for (;;) {
            struct proto_reply rep;
            size_t consumed = 0;
            char err[64];

            st = proto_reply_decode(&d, p, left, &consumed, &rep, err, sizeof(err));
            if (st != PROTO_COMPLETE)
                break;
            assert_true(got < 5);
            assert_int_equal(rep.kind, kinds[got]);
            assert_int_equal(consumed, ends[got] - (got ? ends[got - 1] : 0));
            if (rep.kind == PROTO_REPLY_DATA) {
                struct proto_str body = rep.body, line;
                size_t k = 0;
                while (proto_body_next(&body, &line)) {
                    if (k == 1) {
                        char scratch_heap[128];
                        char *scratch = guard_end(&f->scratch, line.len);
                        struct proto_task t, ht;
                        assert_int_equal(proto_task_decode(line.ptr, line.len, scratch, line.len,
                                                           &t, err, sizeof(err)),
                                         PROTO_E_NONE);
                        assert_int_equal(proto_task_decode(line.ptr, line.len, scratch_heap,
                                                           sizeof(scratch_heap), &ht, err,
                                                           sizeof(err)),
                                         PROTO_E_NONE);
                        assert_pstr(t.id, "42");
                        assert_pstr(t.text, "x");
                        assert_int_equal(t.created, 1795687200);
                    }
                    k++;
                }
                assert_int_equal(k, rep.nlines);
                assert_int_equal(k, got == 2 ? 2 : 0);
            }
            got++;
            p += consumed;
            left -= consumed;
        }
        assert_int_equal(st, PROTO_NEED_MORE);
        assert_int_equal(got, expect);
    }
}

/* Every prefix of a task line decodes (or fails) the same way next to the
 * guard page as on the heap, with a scratch area of exactly len bytes. */
static void test_task_decode(void **state)
{
    struct fixture *f = *state;
    static const char in[] = "task_02 done high 2024-02-29 home,a.b 2026-11-26T10:00:00Z "
                             "2026-11-26T10:01:01Z \"read \\\"the\\\" book\\n\"";

    for (size_t n = 0; n <= sizeof(in) - 1; n++) {
        const char *p = place(&f->in, in, n);
        char *scratch = guard_end(&f->scratch, n);
        char heap_scratch[256];
        struct proto_task t, ht;
        char err[64], herr[64];
        enum proto_err e, he;

        e = proto_task_decode(p, n, scratch, n, &t, err, sizeof(err));
        he = proto_task_decode(in, n, heap_scratch, sizeof(heap_scratch), &ht, herr, sizeof(herr));
        assert_int_equal(e, he);
        if (e == PROTO_E_NONE) {
            assert_bytes(t.id.ptr, t.id.len, ht.id.ptr, ht.id.len);
            assert_bytes(t.text.ptr, t.text.len, ht.text.ptr, ht.text.len);
            assert_bytes(t.tags.ptr, t.tags.len, ht.tags.ptr, ht.tags.len);
        }
        if (n == sizeof(in) - 1) {
            assert_int_equal(e, PROTO_E_NONE);
            assert_pstr(t.id, "task_02");
            assert_pstr(t.text, "read \"the\" book\n");
            assert_int_equal(t.done, 1);
            assert_int_equal(t.pri, PROTO_PRI_HIGH);
            assert_string_equal(t.due, "2024-02-29");
            assert_pstr(t.tags, "home,a.b");
            assert_int_equal(t.updated, 1795687200 + 61);
        } else {
            /* Cut anywhere, the closing quote is missing or a field is short. */
            assert_int_equal(e, PROTO_E_SYNTAX);
        }
    }
}

/* ------------------------------------------------------------------------
 * Validators.
 * ---------------------------------------------------------------------- */

static void test_validators(void **state)
{
    struct fixture *f = *state;
    static const char utf8[] = "a\xc3\xa9\xe6\x97\xa5\xf0\x9f\x8d\xbc";
    /* Prefix lengths that end on a character boundary. */
    static const int boundary[] = {1, 1, 0, 1, 0, 0, 1, 0, 0, 0, 1};
    static const char date[] = "2024-02-29";
    static const char time_s[] = "2026-11-26T10:00:00Z";

    for (size_t n = 0; n <= sizeof(utf8) - 1; n++)
        assert_int_equal(proto_valid_utf8(place(&f->in, utf8, n), n), boundary[n]);
    for (size_t n = 0; n <= sizeof(date) - 1; n++) {
        const char *p = place(&f->in, date, n);
        assert_int_equal(proto_valid_date(p, n), n == sizeof(date) - 1);
        assert_int_equal(proto_valid_id(p, n), n > 0);
        assert_int_equal(proto_valid_tag(p, n), n > 0);
        /* "2" alone is the short form of med. */
        assert_int_equal(proto_pri_parse(p, n), n == 1 ? PROTO_PRI_MED : -1);
    }
    for (size_t n = 0; n <= sizeof(time_s) - 1; n++) {
        int64_t t = 0;
        int rc = proto_time_parse(place(&f->in, time_s, n), n, &t);
        assert_int_equal(rc, n == sizeof(time_s) - 1 ? 0 : -1);
        if (rc == 0)
            assert_int_equal(t, 1795687200);
    }
    for (size_t n = 0; n <= 4; n++) {
        const char *p = place(&f->in, "high", n);
        assert_int_equal(proto_pri_parse(p, n), n == 4   ? PROTO_PRI_HIGH
                                                : n == 1 ? PROTO_PRI_HIGH
                                                         : -1);
        assert_int_equal(proto_cmd_lookup(place(&f->in, "LIST", n), n),
                         n == 4 ? PROTO_CMD_LIST : PROTO_CMD_NONE);
        assert_int_equal(proto_err_lookup(place(&f->in, "BUSY", n), n),
                         n == 4 ? PROTO_E_BUSY : PROTO_E_INTERNAL);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reader, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reader_toolong, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tokenize, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_decode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_task_decode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validators, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
