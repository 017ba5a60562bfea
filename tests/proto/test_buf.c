/*
 * test_buf.c - struct proto_buf: growth, the maximum, consuming, and the
 * quoting it offers.
 */
#include "proto_test.h"

static void test_buf_append_consume(void **state)
{
    (void)state;
    struct proto_buf b;

    proto_buf_init(&b, 0);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(proto_buf_append(&b, "hello ", 6), 0);
    assert_int_equal(proto_buf_append(&b, "world", 5), 0);
    assert_buf(&b, "hello world");
    assert_true(b.cap >= b.len);
    /* Zero bytes is a valid append that changes nothing. */
    assert_int_equal(proto_buf_append(&b, "", 0), 0);
    assert_int_equal(b.len, 11);

    proto_buf_consume(&b, 6);
    assert_buf(&b, "world");
    assert_int_equal(proto_buf_append(&b, "!", 1), 0);
    assert_buf(&b, "world!");
    proto_buf_consume(&b, 0);
    assert_buf(&b, "world!");
    proto_buf_consume(&b, 6);
    assert_int_equal(b.len, 0);
    assert_int_equal(proto_buf_append(&b, "again", 5), 0);
    assert_buf(&b, "again");
    proto_buf_free(&b);

    /* A freed buffer can be initialised and used again. */
    proto_buf_init(&b, 0);
    assert_int_equal(proto_buf_append(&b, "x", 1), 0);
    assert_buf(&b, "x");
    proto_buf_free(&b);
}

/* Growth through many reallocations keeps every byte in order. */
static void test_buf_grows(void **state)
{
    (void)state;
    struct proto_buf b;
    unsigned char chunk[251];
    size_t total = 0;

    proto_buf_init(&b, 0);
    for (int round = 0; round < 400; round++) {
        for (size_t i = 0; i < sizeof(chunk); i++)
            chunk[i] = (unsigned char)(total + i);
        assert_int_equal(proto_buf_append(&b, chunk, sizeof(chunk)), 0);
        total += sizeof(chunk);
    }
    assert_int_equal(b.len, total);
    for (size_t i = 0; i < total; i++)
        assert_int_equal((unsigned char)b.data[i], (unsigned char)i);
    proto_buf_free(&b);
}

static void test_buf_max(void **state)
{
    (void)state;
    struct proto_buf b;

    proto_buf_init(&b, 10);
    assert_int_equal(b.max, 10);
    assert_int_equal(proto_buf_append(&b, "0123456", 7), 0);
    /* An append that would pass the max fails whole: nothing is appended. */
    assert_int_equal(proto_buf_append(&b, "7890", 4), -1);
    assert_buf(&b, "0123456");
    /* Reaching the max exactly is allowed. */
    assert_int_equal(proto_buf_append(&b, "789", 3), 0);
    assert_buf(&b, "0123456789");
    assert_int_equal(proto_buf_append(&b, "x", 1), -1);
    assert_int_equal(b.len, 10);
    /* Consuming makes room again: the max bounds what is held. */
    proto_buf_consume(&b, 4);
    assert_int_equal(proto_buf_append(&b, "abcd", 4), 0);
    assert_buf(&b, "456789abcd");
    assert_int_equal(proto_buf_append(&b, "e", 1), -1);
    proto_buf_free(&b);

    /* Encoders fail cleanly on a full buffer and leave it as it was. */
    proto_buf_init(&b, 8);
    assert_int_equal(proto_buf_append(&b, "abc", 3), 0);
    assert_int_equal(proto_quote_append(&b, "a longer token", 14, 0), -1);
    assert_buf(&b, "abc");
    assert_int_equal(proto_reply_err(&b, PROTO_E_NOTFOUND, "no such task"), -1);
    assert_buf(&b, "abc");
    proto_buf_free(&b);

    proto_buf_init(&b, 5);
    assert_int_equal(proto_reply_ok(&b, "PONG"), -1);
    assert_int_equal(proto_reply_data(&b, 123456), -1);
    {
        const struct proto_arg a = {"42", 2, 0};
        assert_int_equal(proto_request_encode(&b, PROTO_CMD_GET, &a, 1), -1);
    }
    assert_int_equal(proto_reply_ok(&b, "123"), -1); /* "OK 123\r\n" is 8 bytes */
    assert_int_equal(proto_reply_ok(&b, ""), 0);     /* "OK\r\n" fits */
    assert_bytes(b.data, b.len, "OK\r\n", 4);
    proto_buf_free(&b);
}

struct quote_case {
    const char *in;
    size_t len;
    int force;
    const char *out;
};

#define Q(s, force, out)                                                                           \
    {                                                                                              \
        s, sizeof(s) - 1, force, out                                                               \
    }

static void test_quote_append_exact(void **state)
{
    (void)state;
    static const struct quote_case cases[] = {
        Q("milk", 0, "milk"),
        Q("milk", 1, "\"milk\""),
        Q("", 0, "\"\""),
        Q("", 1, "\"\""),
        Q("buy milk", 0, "\"buy milk\""),
        Q("a\"b", 0, "\"a\\\"b\""),
        Q("a\\b", 0, "\"a\\\\b\""),
        Q("a\nb", 0, "\"a\\nb\""),
        Q("a\rb", 0, "\"a\\rb\""),
        Q("a\tb", 0, "\"a\\tb\""),
        Q("+home", 0, "+home"),
        Q("+home", 1, "\"+home\""),
        Q("due:2026-12-01", 1, "\"due:2026-12-01\""),
        Q("a=b/c", 0, "a=b/c"),
        Q("caf\xc3\xa9", 0, "caf\xc3\xa9"),
        Q("caf\xc3\xa9 \xe6\x97\xa5", 0, "\"caf\xc3\xa9 \xe6\x97\xa5\""),
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct proto_buf b;
        proto_buf_init(&b, 0);
        assert_int_equal(proto_buf_append(&b, "pre ", 4), 0);
        assert_int_equal(proto_quote_append(&b, cases[i].in, cases[i].len, cases[i].force), 0);
        assert_true(b.len >= 4);
        assert_memory_equal(b.data, "pre ", 4);
        assert_bytes(b.data + 4, b.len - 4, cases[i].out, strlen(cases[i].out));
        proto_buf_free(&b);
    }
}

/* Control bytes and DEL are written as \xHH (either hex case) when they have
 * no short escape. */
static void test_quote_append_hex(void **state)
{
    (void)state;
    static const unsigned char bytes[] = {0x00, 0x01, 0x1b, 0x1f, 0x7f};

    for (size_t i = 0; i < sizeof(bytes); i++) {
        struct proto_buf b;
        char want_lo[8], want_up[8];

        proto_buf_init(&b, 0);
        assert_int_equal(proto_quote_append(&b, (const char *)&bytes[i], 1, 0), 0);
        snprintf(want_lo, sizeof(want_lo), "\"\\x%02x\"", bytes[i]);
        snprintf(want_up, sizeof(want_up), "\"\\x%02X\"", bytes[i]);
        assert_int_equal(b.len, 6);
        assert_true(memcmp(b.data, want_lo, 6) == 0 || memcmp(b.data, want_up, 6) == 0);
        proto_buf_free(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_append_consume),
        cmocka_unit_test(test_buf_grows),
        cmocka_unit_test(test_buf_max),
        cmocka_unit_test(test_quote_append_exact),
        cmocka_unit_test(test_quote_append_hex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
