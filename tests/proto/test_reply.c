/*
 * test_reply.c - replies: the encoders, task lines, and the incremental
 * decoder with proto_body_next().
 */
#include "proto_test.h"

#define S(s) (s), (sizeof(s) - 1)

/* ------------------------------------------------------------------------
 * Encoders: exact bytes.
 * ---------------------------------------------------------------------- */

static void test_encode_ok_err_data(void **state)
{
    (void)state;
    struct proto_buf b;

    proto_buf_init(&b, 0);
    assert_int_equal(proto_reply_ok(&b, "PONG"), 0);
    assert_buf(&b, "OK PONG\r\n");
    b.len = 0;
    assert_int_equal(proto_reply_ok(&b, ""), 0);
    assert_buf(&b, "OK\r\n");
    b.len = 0;
    assert_int_equal(proto_reply_ok(&b, "todo 1 todo-server/0.1.0"), 0);
    assert_buf(&b, "OK todo 1 todo-server/0.1.0\r\n");
    b.len = 0;
    /* Line breaks and other control bytes cannot split a reply. */
    assert_int_equal(proto_reply_ok(&b, "a\r\nb\tc\x01"
                                        "d\x7f"),
                     0);
    assert_buf(&b, "OK a  b c d \r\n");
    b.len = 0;

    for (int e = PROTO_E_SYNTAX; e < PROTO_E__COUNT; e++) {
        char want[64];
        snprintf(want, sizeof(want), "ERR %s something failed\r\n",
                 proto_err_name((enum proto_err)e));
        b.len = 0;
        assert_int_equal(proto_reply_err(&b, (enum proto_err)e, "something failed"), 0);
        assert_buf(&b, want);
    }
    b.len = 0;
    assert_int_equal(proto_reply_err(&b, PROTO_E_BUSY, ""), 0);
    assert_buf(&b, "ERR BUSY\r\n");
    b.len = 0;
    assert_int_equal(proto_reply_err(&b, PROTO_E_SYNTAX, "bad\r\nline"), 0);
    assert_buf(&b, "ERR SYNTAX bad  line\r\n");

    b.len = 0;
    assert_int_equal(proto_reply_data(&b, 0), 0);
    assert_buf(&b, "DATA 0\r\n");
    b.len = 0;
    assert_int_equal(proto_reply_data(&b, 1234567), 0);
    assert_buf(&b, "DATA 1234567\r\n");
    proto_buf_free(&b);
}

static void test_encode_fields_bare(void **state)
{
    (void)state;
    struct proto_buf b;
    const struct proto_str tags[] = {{"home", 4}, {"2", 1}};
    const struct proto_str help[] = {{"ADD", 3}, {"TEXT... [+TAG]", 14}, {"", 0}};
    const struct proto_str one[] = {{"a\"b\nc", 5}};

    proto_buf_init(&b, 0);
    assert_int_equal(proto_reply_fields(&b, tags, 2), 0);
    assert_buf(&b, "home 2\r\n");
    b.len = 0;
    assert_int_equal(proto_reply_fields(&b, help, 3), 0);
    assert_buf(&b, "ADD \"TEXT... [+TAG]\" \"\"\r\n");
    b.len = 0;
    assert_int_equal(proto_reply_fields(&b, one, 1), 0);
    assert_buf(&b, "\"a\\\"b\\nc\"\r\n");

    /* The tutorial's bare replies. */
    b.len = 0;
    assert_int_equal(proto_reply_bare(&b, S("read book")), 0);
    assert_buf(&b, "read book\r\n");
    b.len = 0;
    assert_int_equal(proto_reply_bare(&b, S("no key match")), 0);
    assert_buf(&b, "no key match\r\n");
    b.len = 0;
    assert_int_equal(proto_reply_bare(&b, S("two\nlines\r\tx")), 0);
    assert_buf(&b, "two\\nlines\\r\\tx\r\n");
    b.len = 0;
    assert_int_equal(proto_reply_bare(&b, S("caf\xc3\xa9 \"q\"")), 0);
    assert_buf(&b, "caf\xc3\xa9 \"q\"\r\n");
    proto_buf_free(&b);
}

/* ------------------------------------------------------------------------
 * Task lines.
 * ---------------------------------------------------------------------- */

#define T_2026_11_26_10 1795687200 /* 2026-11-26T10:00:00Z */

static void test_task_encode_exact(void **state)
{
    (void)state;
    struct proto_buf b;
    struct proto_task t;

    memset(&t, 0, sizeof(t));
    t.id = (struct proto_str){"42", 2};
    t.text = (struct proto_str){"buy milk", 8};
    t.pri = PROTO_PRI_HIGH;
    strcpy(t.due, "2026-12-01");
    t.tags = (struct proto_str){"home,shopping", 13};
    t.created = t.updated = T_2026_11_26_10;

    proto_buf_init(&b, 0);
    assert_int_equal(proto_task_encode(&b, &t), 0);
    assert_buf(&b, "42 pending high 2026-12-01 home,shopping 2026-11-26T10:00:00Z "
                   "2026-11-26T10:00:00Z \"buy milk\"\r\n");

    /* No due date, no tags, no priority, done, one-word text: still quoted. */
    t.done = 1;
    t.pri = PROTO_PRI_NONE;
    t.due[0] = '\0';
    t.tags = (struct proto_str){"", 0};
    t.text = (struct proto_str){"milk", 4};
    t.updated = T_2026_11_26_10 + 61;
    b.len = 0;
    assert_int_equal(proto_task_encode(&b, &t), 0);
    assert_buf(&b, "42 done - - - 2026-11-26T10:00:00Z 2026-11-26T10:01:01Z \"milk\"\r\n");
    proto_buf_free(&b);
}

struct dtask {
    enum proto_err e;
    struct proto_task t;
    char scratch[1024];
    char err[128];
};

static enum proto_err task_decode(struct dtask *d, const char *line, size_t len)
{
    assert_true(len <= sizeof(d->scratch));
    memset(d->err, 'X', sizeof(d->err));
    d->e =
        proto_task_decode(line, len, d->scratch, sizeof(d->scratch), &d->t, d->err, sizeof(d->err));
    assert_non_null(memchr(d->err, '\0', sizeof(d->err)));
    if (d->e != PROTO_E_NONE) {
        assert_int_equal(d->e, PROTO_E_SYNTAX);
        assert_true(strlen(d->err) > 0);
    }
    return d->e;
}

static void test_task_decode(void **state)
{
    (void)state;
    struct dtask d;

    assert_int_equal(task_decode(&d, S("42 pending high 2026-12-01 home,shopping "
                                       "2026-11-26T10:00:00Z 2026-11-26T10:01:01Z \"buy milk\"")),
                     PROTO_E_NONE);
    assert_pstr(d.t.id, "42");
    assert_pstr(d.t.text, "buy milk");
    assert_int_equal(d.t.done, 0);
    assert_int_equal(d.t.pri, PROTO_PRI_HIGH);
    assert_string_equal(d.t.due, "2026-12-01");
    assert_pstr(d.t.tags, "home,shopping");
    assert_int_equal(d.t.created, T_2026_11_26_10);
    assert_int_equal(d.t.updated, T_2026_11_26_10 + 61);

    assert_int_equal(task_decode(&d, S("task_02 done - - - 1970-01-01T00:00:00Z "
                                       "1970-01-01T00:00:00Z \"read \\\"the\\\" book\\n\"")),
                     PROTO_E_NONE);
    assert_pstr(d.t.id, "task_02");
    assert_pstr(d.t.text, "read \"the\" book\n");
    assert_int_equal(d.t.done, 1);
    assert_int_equal(d.t.pri, PROTO_PRI_NONE);
    assert_string_equal(d.t.due, "");
    assert_int_equal(d.t.tags.len, 0);
    assert_int_equal(d.t.created, 0);
}

static void test_task_decode_errors(void **state)
{
    (void)state;
    static const struct {
        const char *line;
    } bad[] = {
        {""},
        {"42"},
        /* seven fields */
        {"42 pending high 2026-12-01 home 2026-11-26T10:00:00Z 2026-11-26T10:00:00Z"},
        /* nine fields */
        {"42 pending high 2026-12-01 home 2026-11-26T10:00:00Z 2026-11-26T10:00:00Z \"a\" \"b\""},
        {"42 maybe high 2026-12-01 home 2026-11-26T10:00:00Z 2026-11-26T10:00:00Z \"a\""},
        {"42 pending urgent 2026-12-01 home 2026-11-26T10:00:00Z 2026-11-26T10:00:00Z \"a\""},
        {"42 pending high 2026-13-01 home 2026-11-26T10:00:00Z 2026-11-26T10:00:00Z \"a\""},
        {"42 pending high 2026-12-01 home yesterday 2026-11-26T10:00:00Z \"a\""},
        {"42 pending high 2026-12-01 home 2026-11-26T10:00:00Z today \"a\""},
        {"bad/id pending high 2026-12-01 home 2026-11-26T10:00:00Z 2026-11-26T10:00:00Z \"a\""},
        {"42 pending high 2026-12-01 home 2026-11-26T10:00:00Z 2026-11-26T10:00:00Z \"a"},
        {"42 pending high 2026-12-01 ho!me 2026-11-26T10:00:00Z 2026-11-26T10:00:00Z \"a\""},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct dtask d;
        if (task_decode(&d, bad[i].line, strlen(bad[i].line)) != PROTO_E_SYNTAX)
            fail_msg("accepted bad task line %zu: %s", i, bad[i].line);
    }
}

/* Encode then decode gives the same task, for awkward texts and every
 * priority, status and optional field. */
static void test_task_roundtrip(void **state)
{
    (void)state;
    static const struct proto_str texts[] = {
#define T(x) {x, sizeof(x) - 1}
        T("buy milk"),
        T(""),
        T("say \"hi\""),
        T("back\\slash"),
        T("two\nlines\r\n"),
        T("tab\t"),
        T("caf\xc3\xa9 \xf0\x9f\x8d\xbc"),
        T("+home"),
        T("- - -"),
#undef T
    };
    static const char *const tags[] = {"", "home", "home,shop,a.b-c_d"};
    static const char *const dues[] = {"", "2024-02-29"};
    struct proto_buf b;

    proto_buf_init(&b, 0);
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        for (int pri = PROTO_PRI_NONE; pri <= PROTO_PRI_HIGH; pri++)
            for (int done = 0; done <= 1; done++)
                for (size_t g = 0; g < 3; g++)
                    for (size_t u = 0; u < 2; u++) {
                        struct proto_task t;
                        struct dtask d;

                        memset(&t, 0, sizeof(t));
                        t.id = (struct proto_str){"task_07", 7};
                        t.text = texts[i];
                        t.done = done;
                        t.pri = pri;
                        snprintf(t.due, sizeof(t.due), "%s", dues[u]);
                        t.tags = (struct proto_str){tags[g], strlen(tags[g])};
                        t.created = 1000000000 + (int64_t)i;
                        t.updated = 2000000000 + (int64_t)g;
                        b.len = 0;
                        assert_int_equal(proto_task_encode(&b, &t), 0);
                        assert_true(b.len >= 2);
                        assert_memory_equal(b.data + b.len - 2, "\r\n", 2);
                        assert_null(memchr(b.data, '\n', b.len - 1));
                        assert_int_equal(task_decode(&d, b.data, b.len - 2), PROTO_E_NONE);
                        assert_bytes(d.t.id.ptr, d.t.id.len, "task_07", 7);
                        assert_bytes(d.t.text.ptr, d.t.text.len, t.text.ptr, t.text.len);
                        assert_int_equal(d.t.done, done);
                        assert_int_equal(d.t.pri, pri);
                        assert_string_equal(d.t.due, dues[u]);
                        assert_bytes(d.t.tags.ptr, d.t.tags.len, t.tags.ptr, t.tags.len);
                        assert_int_equal(d.t.created, t.created);
                        assert_int_equal(d.t.updated, t.updated);
                    }
    proto_buf_free(&b);
}

/* ------------------------------------------------------------------------
 * The reply decoder.
 * ---------------------------------------------------------------------- */

#define MAX_REPLIES 32

struct got {
    enum proto_reply_kind kind;
    enum proto_err err;
    char code[32];
    char text[256];
    size_t nlines;
    char body[4096];
    size_t body_len;
};

struct replies {
    size_t n;
    struct got r[MAX_REPLIES];
    int error; /* PROTO_ERROR seen */
    size_t left;
};

static void copy_str(char *dst, size_t cap, struct proto_str s)
{
    assert_true(s.len < cap);
    if (s.len > 0)
        memcpy(dst, s.ptr, s.len);
    dst[s.len] = '\0';
}

/* Feeds in[] in chunks sized from cut[] (cycled; everything at once when
 * ncut is 0) to a client-like loop, stopping at the first error. */
static void run_decoder(const char *in, size_t len, const size_t *cut, size_t ncut, size_t max_line,
                        struct replies *out)
{
    struct proto_reply_decoder d;
    char *buf = malloc(len + 1);
    size_t held = 0, off = 0, k = 0;

    assert_non_null(buf);
    memset(out, 0, sizeof(*out));
    proto_reply_decoder_init(&d, max_line);
    assert_int_equal(d.max_line, max_line);
    while (off < len && !out->error) {
        size_t n = ncut ? cut[k++ % ncut] : len;
        if (n > len - off)
            n = len - off;
        memcpy(buf + held, in + off, n);
        held += n;
        off += n;
        for (;;) {
            struct proto_reply rep;
            size_t consumed = 0;
            char err[128];
            enum proto_status st;

            memset(err, 'X', sizeof(err));
            st = proto_reply_decode(&d, buf, held, &consumed, &rep, err, sizeof(err));
            if (st == PROTO_NEED_MORE)
                break;
            if (st == PROTO_ERROR) {
                assert_non_null(memchr(err, '\0', sizeof(err)));
                assert_true(strlen(err) > 0);
                out->error = 1;
                break;
            }
            assert_int_equal(st, PROTO_COMPLETE);
            assert_true(consumed > 0 && consumed <= held);
            assert_true(out->n < MAX_REPLIES);
            {
                struct got *g = &out->r[out->n++];
                g->kind = rep.kind;
                g->err = rep.err;
                g->nlines = rep.nlines;
                copy_str(g->code, sizeof(g->code), rep.code);
                copy_str(g->text, sizeof(g->text), rep.text);
                copy_str(g->body, sizeof(g->body), rep.body);
                g->body_len = rep.body.len;
                if (rep.kind == PROTO_REPLY_DATA && rep.body.len > 0)
                    assert_true(rep.body.ptr >= buf &&
                                rep.body.ptr + rep.body.len <= buf + consumed);
            }
            memmove(buf, buf + consumed, held - consumed);
            held -= consumed;
        }
    }
    out->left = held;
    free(buf);
}

struct want_reply {
    enum proto_reply_kind kind;
    enum proto_err err;
    const char *code;
    const char *text;
    size_t nlines;
    const char *body;
};

static void check_replies(const struct replies *got, const struct want_reply *w, size_t nw)
{
    assert_int_equal(got->error, 0);
    assert_int_equal(got->n, nw);
    for (size_t i = 0; i < nw; i++) {
        const struct got *g = &got->r[i];
        assert_int_equal(g->kind, w[i].kind);
        assert_string_equal(g->text, w[i].text);
        if (w[i].kind == PROTO_REPLY_ERR) {
            assert_int_equal(g->err, w[i].err);
            assert_string_equal(g->code, w[i].code);
        }
        if (w[i].kind == PROTO_REPLY_DATA) {
            assert_int_equal(g->nlines, w[i].nlines);
            assert_bytes(g->body, g->body_len, w[i].body, strlen(w[i].body));
        }
    }
}

static void check_reply_splits(const char *in, size_t len, const struct want_reply *w, size_t nw)
{
    struct replies got;

    run_decoder(in, len, NULL, 0, 1024, &got);
    check_replies(&got, w, nw);
    assert_int_equal(got.left, 0);
    for (size_t chunk = 1; chunk <= len; chunk++) {
        run_decoder(in, len, &chunk, 1, 1024, &got);
        check_replies(&got, w, nw);
        assert_int_equal(got.left, 0);
    }
    for (size_t k = 1; k < len; k++) {
        size_t cut[2] = {k, len};
        run_decoder(in, len, cut, 2, 1024, &got);
        check_replies(&got, w, nw);
        assert_int_equal(got.left, 0);
    }
}

#define TASK_LINE                                                                                  \
    "42 pending high 2026-12-01 home,shopping 2026-11-26T10:00:00Z 2026-11-26T10:00:00Z "          \
    "\"buy milk\""

static void test_decode_pipelined(void **state)
{
    (void)state;
    static const char in[] = "OK\r\n"
                             "OK 42\r\n"
                             "OK todo 1 todo-server/0.1.0\r\n"
                             "ERR NOTFOUND no task 42\r\n"
                             "DATA 0\r\n"
                             "DATA 1\r\n" TASK_LINE "\r\n"
                             "DATA 3\r\n"
                             "OK looks like a reply\r\n"
                             "DATA 9\r\n"
                             "\r\n"
                             "ERR FUTURE a code from a newer server\r\n"
                             "ERR BUSY\r\n"
                             "OK PONG\r\n";
    static const struct want_reply w[] = {
        {PROTO_REPLY_OK, 0, NULL, "", 0, NULL},
        {PROTO_REPLY_OK, 0, NULL, "42", 0, NULL},
        {PROTO_REPLY_OK, 0, NULL, "todo 1 todo-server/0.1.0", 0, NULL},
        {PROTO_REPLY_ERR, PROTO_E_NOTFOUND, "NOTFOUND", "no task 42", 0, NULL},
        {PROTO_REPLY_DATA, 0, NULL, "", 0, ""},
        {PROTO_REPLY_DATA, 0, NULL, "", 1, TASK_LINE "\r\n"},
        /* Data lines are counted, never interpreted. */
        {PROTO_REPLY_DATA, 0, NULL, "", 3, "OK looks like a reply\r\nDATA 9\r\n\r\n"},
        {PROTO_REPLY_ERR, PROTO_E_INTERNAL, "FUTURE", "a code from a newer server", 0, NULL},
        {PROTO_REPLY_ERR, PROTO_E_BUSY, "BUSY", "", 0, NULL},
        {PROTO_REPLY_OK, 0, NULL, "PONG", 0, NULL},
    };
    check_reply_splits(S(in), w, sizeof(w) / sizeof(w[0]));
}

/* Every error code the encoder writes is decoded back to itself. */
static void test_encode_decode_every_reply(void **state)
{
    (void)state;
    struct proto_buf b;
    struct replies got;

    proto_buf_init(&b, 0);
    for (int e = PROTO_E_SYNTAX; e < PROTO_E__COUNT; e++) {
        b.len = 0;
        assert_int_equal(proto_reply_err(&b, (enum proto_err)e, "what went wrong"), 0);
        run_decoder(b.data, b.len, NULL, 0, 1024, &got);
        assert_int_equal(got.n, 1);
        assert_int_equal(got.r[0].kind, PROTO_REPLY_ERR);
        assert_int_equal(got.r[0].err, e);
        assert_string_equal(got.r[0].code, proto_err_name((enum proto_err)e));
        assert_string_equal(got.r[0].text, "what went wrong");
    }

    b.len = 0;
    assert_int_equal(proto_reply_ok(&b, ""), 0);
    assert_int_equal(proto_reply_ok(&b, "17"), 0);
    run_decoder(b.data, b.len, NULL, 0, 1024, &got);
    assert_int_equal(got.n, 2);
    assert_int_equal(got.r[0].kind, PROTO_REPLY_OK);
    assert_string_equal(got.r[0].text, "");
    assert_string_equal(got.r[1].text, "17");

    /* DATA with many lines: the header, then task lines and field lines. */
    b.len = 0;
    assert_int_equal(proto_reply_data(&b, 200), 0);
    for (int i = 0; i < 200; i++) {
        char id[16], text[32];
        struct proto_task t;
        memset(&t, 0, sizeof(t));
        snprintf(id, sizeof(id), "%d", i + 1);
        snprintf(text, sizeof(text), "task \"%d\"\n", i + 1);
        t.id = (struct proto_str){id, strlen(id)};
        t.text = (struct proto_str){text, strlen(text)};
        t.pri = i % 4;
        t.done = i % 2;
        t.created = t.updated = 1700000000 + i;
        assert_int_equal(proto_task_encode(&b, &t), 0);
    }
    {
        struct proto_reply_decoder d;
        struct proto_reply rep;
        struct proto_str body, line;
        size_t consumed, n = 0;
        char err[64];

        proto_reply_decoder_init(&d, 1024);
        assert_int_equal(proto_reply_decode(&d, b.data, b.len, &consumed, &rep, err, sizeof(err)),
                         PROTO_COMPLETE);
        assert_int_equal(consumed, b.len);
        assert_int_equal(rep.kind, PROTO_REPLY_DATA);
        assert_int_equal(rep.nlines, 200);
        body = rep.body;
        while (proto_body_next(&body, &line)) {
            struct dtask dt;
            char want[32];
            assert_int_equal(task_decode(&dt, line.ptr, line.len), PROTO_E_NONE);
            snprintf(want, sizeof(want), "%zu", n + 1);
            assert_pstr(dt.t.id, want);
            snprintf(want, sizeof(want), "task \"%zu\"\n", n + 1);
            assert_pstr(dt.t.text, want);
            assert_int_equal(dt.t.pri, (int)(n % 4));
            assert_int_equal(dt.t.done, (int)(n % 2));
            assert_int_equal(dt.t.created, 1700000000 + (int64_t)n);
            n++;
        }
        assert_int_equal(n, 200);
        assert_int_equal(body.len, 0);
    }
    proto_buf_free(&b);
}

/* A peer that ends lines with a bare LF is understood too. */
static void test_decode_bare_lf(void **state)
{
    (void)state;
    static const char in[] = "OK 1\nDATA 2\nfirst\nsecond\r\nERR ARGS no\n";
    static const struct want_reply w[] = {
        {PROTO_REPLY_OK, 0, NULL, "1", 0, NULL},
        {PROTO_REPLY_DATA, 0, NULL, "", 2, "first\nsecond\r\n"},
        {PROTO_REPLY_ERR, PROTO_E_ARGS, "ARGS", "no", 0, NULL},
    };
    check_reply_splits(S(in), w, sizeof(w) / sizeof(w[0]));
}

static void test_body_next(void **state)
{
    (void)state;
    struct proto_str body = {S("one\r\n\r\nthree 3\r\n")};
    struct proto_str line;

    assert_int_equal(proto_body_next(&body, &line), 1);
    assert_pstr(line, "one");
    assert_int_equal(proto_body_next(&body, &line), 1);
    assert_int_equal(line.len, 0);
    assert_int_equal(proto_body_next(&body, &line), 1);
    assert_pstr(line, "three 3");
    assert_int_equal(proto_body_next(&body, &line), 0);
    assert_int_equal(proto_body_next(&body, &line), 0);

    body = (struct proto_str){"", 0};
    assert_int_equal(proto_body_next(&body, &line), 0);
}

static void test_decode_errors(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "read book\r\n", /* a legacy bare line is not a native reply */
        "HELLO\r\n",
        "OKAY\r\n",
        "ERR\r\n",
        "DATA\r\n",
        "DATA x\r\n",
        "DATA -1\r\n",
        "DATA 1x\r\n",
        "DATA 99999999999999999999999999\r\n",
        "DATA 18446744073709551617\r\n", /* 2^64 + 1 must not wrap round to 1 */
        "\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct replies got;
        run_decoder(bad[i], strlen(bad[i]), NULL, 0, 1024, &got);
        if (!got.error || got.n != 0)
            fail_msg("accepted bad reply %zu: %s", i, bad[i]);
    }
}

/* A header or data line longer than max_line is an error, found as soon as
 * max_line bytes arrive without a line end, not only when it ends. */
static void test_decode_toolong(void **state)
{
    (void)state;
    char in[256];
    struct replies got;
    size_t one = 1;

    /* Each header is copied with its terminator, which the filler or the
     * next copy then overwrites or which lies past the bytes decoded. */
    memcpy(in, "OK ", sizeof("OK "));
    memset(in + 3, 'x', sizeof(in) - 3);
    run_decoder(in, 100, &one, 1, 32, &got);
    assert_int_equal(got.error, 1);
    assert_int_equal(got.n, 0);

    memcpy(in, "DATA 1\r\n", sizeof("DATA 1\r\n"));
    memset(in + 8, 'x', sizeof(in) - 8);
    run_decoder(in, 100, &one, 1, 32, &got);
    assert_int_equal(got.error, 1);
    assert_int_equal(got.n, 0);

    /* Exactly max_line bytes before CRLF is fine. */
    memcpy(in, "DATA 1\r\n", sizeof("DATA 1\r\n"));
    memset(in + 8, 'y', 32);
    memcpy(in + 40, "\r\nOK 0123456789012345678901234567\r\n",
           sizeof("\r\nOK 0123456789012345678901234567\r\n"));
    run_decoder(in, 75, &one, 1, 32, &got);
    assert_int_equal(got.error, 0);
    assert_int_equal(got.n, 2);
    assert_int_equal(got.r[0].nlines, 1);
    assert_int_equal(got.r[0].body_len, 34);
    assert_string_equal(got.r[1].text, "0123456789012345678901234567");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_ok_err_data), cmocka_unit_test(test_encode_fields_bare),
        cmocka_unit_test(test_task_encode_exact),  cmocka_unit_test(test_task_decode),
        cmocka_unit_test(test_task_decode_errors), cmocka_unit_test(test_task_roundtrip),
        cmocka_unit_test(test_decode_pipelined),   cmocka_unit_test(test_encode_decode_every_reply),
        cmocka_unit_test(test_decode_bare_lf),     cmocka_unit_test(test_body_next),
        cmocka_unit_test(test_decode_errors),      cmocka_unit_test(test_decode_toolong),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
