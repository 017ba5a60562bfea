/*
 * test_token.c - proto_tokenize(), and proto_quote_append() round trips
 * through it.
 */
#include "proto_test.h"

#define MAXT 16

struct tok_result {
    int n;
    struct proto_token t[MAXT];
    char scratch[512];
    char err[128];
};

static int tok(struct tok_result *r, const char *line, size_t len)
{
    assert_true(len <= sizeof(r->scratch));
    memset(r->err, 'X', sizeof(r->err));
    r->n = proto_tokenize(line, len, r->scratch, sizeof(r->scratch), r->t, MAXT, r->err,
                          sizeof(r->err));
    if (r->n < 0) {
        /* The error sentence is always there and terminated. */
        assert_non_null(memchr(r->err, '\0', sizeof(r->err)));
        assert_true(strlen(r->err) > 0);
    }
    return r->n;
}

#define TOK(r, s) tok((r), (s), sizeof(s) - 1)

static void test_split(void **state)
{
    (void)state;
    struct tok_result r;
    const char line[] = "  ADD\tbuy  milk \t+home  ";

    assert_int_equal(tok(&r, line, sizeof(line) - 1), 4);
    assert_pstr(r.t[0].s, "ADD");
    assert_pstr(r.t[1].s, "buy");
    assert_pstr(r.t[2].s, "milk");
    assert_pstr(r.t[3].s, "+home");
    for (int i = 0; i < 4; i++) {
        assert_int_equal(r.t[i].quoted, 0);
        /* Bare tokens point into the line itself. */
        assert_true(r.t[i].s.ptr >= line && r.t[i].s.ptr + r.t[i].s.len <= line + sizeof(line));
    }
    assert_int_equal(TOK(&r, ""), 0);
    assert_int_equal(TOK(&r, "   \t "), 0);
    assert_int_equal(TOK(&r, "x"), 1);
    assert_pstr(r.t[0].s, "x");
}

static void test_quoted(void **state)
{
    (void)state;
    struct tok_result r;

    assert_int_equal(TOK(&r, "ADD \"buy milk\" +home"), 3);
    assert_pstr(r.t[1].s, "buy milk");
    assert_int_equal(r.t[1].quoted, 1);
    assert_int_equal(r.t[2].quoted, 0);

    assert_int_equal(TOK(&r, "\"\""), 1);
    assert_int_equal(r.t[0].s.len, 0);
    assert_int_equal(r.t[0].quoted, 1);

    assert_int_equal(TOK(&r, "\"\" \"\"\t\"\""), 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(r.t[i].s.len, 0);

    /* Every escape the header lists. */
    assert_int_equal(TOK(&r, "\"q\\\"b\\\\n\\nr\\rt\\tx\\x41\\x7a\\x7A\\xff\\x00\""), 1);
    assert_bytes(r.t[0].s.ptr, r.t[0].s.len,
                 "q\"b\\n\nr\rt\tx"
                 "Azz\xff\0",
                 16);

    /* Quoted tokens next to bare ones, tabs as separators. */
    assert_int_equal(TOK(&r, "a\t\"b c\"\td"), 3);
    assert_pstr(r.t[0].s, "a");
    assert_pstr(r.t[1].s, "b c");
    assert_pstr(r.t[2].s, "d");

    /* A quoted token may be last, with trailing blanks. */
    assert_int_equal(TOK(&r, "a \"b\"  "), 2);
    assert_pstr(r.t[1].s, "b");

    /* UTF-8 passes through untouched. */
    assert_int_equal(TOK(&r, "\"caf\xc3\xa9 \xf0\x9f\x8d\xbc\""), 1);
    assert_pstr(r.t[0].s, "caf\xc3\xa9 \xf0\x9f\x8d\xbc");
}

static void test_errors(void **state)
{
    (void)state;
    struct tok_result r;

    assert_int_equal(TOK(&r, "\"unterminated"), -1);
    assert_int_equal(TOK(&r, "a \"b"), -1);
    assert_int_equal(TOK(&r, "\"ends in backslash\\\""), -1);
    assert_int_equal(TOK(&r, "\"\\"), -1);
    assert_int_equal(TOK(&r, "\"bad \\q escape\""), -1);
    assert_int_equal(TOK(&r, "\"\\0\""), -1);
    assert_int_equal(TOK(&r, "\"\\x4\""), -1);
    assert_int_equal(TOK(&r, "\"\\x\""), -1);
    assert_int_equal(TOK(&r, "\"\\xZZ\""), -1);
    assert_int_equal(TOK(&r, "\"\\x4g\""), -1);
    assert_int_equal(TOK(&r, "\"\\x4"), -1);
    /* A closing quote must be followed by a blank or the end. */
    assert_int_equal(TOK(&r, "\"a\"b"), -1);
    assert_int_equal(TOK(&r, "\"a\"\"b\""), -1);

    /* More than max tokens. */
    {
        struct proto_token t[3];
        char scratch[64], err[64];
        const char *l4 = "a b c d";
        assert_int_equal(proto_tokenize(l4, 5, scratch, sizeof(scratch), t, 3, err, sizeof(err)),
                         3);
        assert_int_equal(proto_tokenize(l4, 7, scratch, sizeof(scratch), t, 3, err, sizeof(err)),
                         -1);
        assert_true(strlen(err) > 0);
    }
    /* A tiny error buffer still ends in NUL; a one-byte one holds just NUL. */
    {
        struct proto_token t[2];
        char scratch[16], err[6];
        memset(err, 'X', sizeof(err));
        assert_int_equal(proto_tokenize("\"abc", 4, scratch, sizeof(scratch), t, 2, err, 6), -1);
        assert_non_null(memchr(err, '\0', 6));
        memset(err, 'X', sizeof(err));
        assert_int_equal(proto_tokenize("\"abc", 4, scratch, sizeof(scratch), t, 2, err, 1), -1);
        assert_int_equal(err[0], '\0');
        assert_int_equal(err[1], 'X');
    }
}

/* The awkward strings of the issue: every one must survive quoting. */
static const struct {
    const char *s;
    size_t len;
} awkward[] = {
#define A(x)                                                                                       \
    {                                                                                              \
        x, sizeof(x) - 1                                                                           \
    }
    A(""),
    A(" "),
    A("buy milk"),
    A("  leading and trailing  "),
    A("say \"hi\""),
    A("\""),
    A("\"\""),
    A("back\\slash"),
    A("\\"),
    A("\\x41 is not A"),
    A("ends in backslash\\"),
    A("two\nlines"),
    A("\r\n"),
    A("tab\there"),
    A("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x8d\xbc"),
    A("+home"),
    A("-home"),
    A("due:2026-12-01"),
    A("due:none"),
    A("pri:high"),
    A("pending"),
    A("a=b/c"),
    A("GET/task_02/status"),
    A("x\x01y\x1f\x7fz"),
    A("nul\0inside"),
    A("\xff\xfe raw bytes"),
#undef A
};

static void test_quote_roundtrip_awkward(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(awkward) / sizeof(awkward[0]); i++) {
        for (int force = 0; force <= 1; force++) {
            struct proto_buf b;
            struct tok_result r;

            proto_buf_init(&b, 0);
            assert_int_equal(proto_quote_append(&b, awkward[i].s, awkward[i].len, force), 0);
            /* The wire form never holds a raw line break or NUL. */
            assert_null(memchr(b.data, '\n', b.len));
            assert_null(memchr(b.data, '\r', b.len));
            assert_null(memchr(b.data, '\0', b.len));
            assert_int_equal(tok(&r, b.data, b.len), 1);
            assert_bytes(r.t[0].s.ptr, r.t[0].s.len, awkward[i].s, awkward[i].len);
            if (force)
                assert_int_equal(r.t[0].quoted, 1);
            proto_buf_free(&b);
        }
    }
}

/* Every single byte, and every pair of bytes, round-trips. */
static void test_quote_roundtrip_all_bytes(void **state)
{
    (void)state;
    struct proto_buf b;
    struct tok_result r;
    char s[2];

    proto_buf_init(&b, 0);
    for (int c = 0; c < 256; c++) {
        for (int d = -1; d < 256; d++) {
            size_t n = d < 0 ? 1 : 2;
            s[0] = (char)c;
            s[1] = (char)d;
            b.len = 0;
            assert_int_equal(proto_quote_append(&b, s, n, 0), 0);
            assert_int_equal(tok(&r, b.data, b.len), 1);
            assert_bytes(r.t[0].s.ptr, r.t[0].s.len, s, n);
        }
    }
    proto_buf_free(&b);
}

/* Several tokens written one after another, space-separated, come back as
 * the same list. */
static void test_quote_roundtrip_sequence(void **state)
{
    (void)state;
    struct proto_buf b;
    struct tok_result r;
    size_t n = 0;

    proto_buf_init(&b, 0);
    for (size_t i = 0; i < sizeof(awkward) / sizeof(awkward[0]) && n < MAXT; i++, n++) {
        if (n > 0)
            assert_int_equal(proto_buf_append(&b, " ", 1), 0);
        assert_int_equal(proto_quote_append(&b, awkward[i].s, awkward[i].len, 0), 0);
    }
    assert_int_equal(tok(&r, b.data, b.len), (int)n);
    for (size_t i = 0; i < n; i++)
        assert_bytes(r.t[i].s.ptr, r.t[i].s.len, awkward[i].s, awkward[i].len);
    proto_buf_free(&b);
}

/* The scratch area needs at most len bytes: give exactly that. */
static void test_scratch_exact(void **state)
{
    (void)state;
    const char line[] = "\"a\\x41\" \"\" \"\\\\\\\"\" bare";
    size_t len = sizeof(line) - 1;
    char *scratch = malloc(len);
    struct proto_token t[8];
    char err[64];

    assert_non_null(scratch);
    assert_int_equal(proto_tokenize(line, len, scratch, len, t, 8, err, sizeof(err)), 4);
    assert_pstr(t[0].s, "aA");
    assert_int_equal(t[1].s.len, 0);
    assert_pstr(t[2].s, "\\\"");
    assert_pstr(t[3].s, "bare");
    free(scratch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_quoted),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_quote_roundtrip_awkward),
        cmocka_unit_test(test_quote_roundtrip_all_bytes),
        cmocka_unit_test(test_quote_roundtrip_sequence),
        cmocka_unit_test(test_scratch_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
