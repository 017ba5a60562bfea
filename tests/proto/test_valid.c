/*
 * test_valid.c - validation helpers, times, priorities, error names and the
 * command table.
 */
#include "proto_test.h"

#include <ctype.h>

#define U(s) (s), (sizeof(s) - 1)

static void test_utf8_valid(void **state)
{
    (void)state;
    assert_int_equal(proto_valid_utf8(U("")), 1);
    assert_int_equal(proto_valid_utf8(U("plain ascii ~")), 1);
    assert_int_equal(proto_valid_utf8(U("caf\xc3\xa9")), 1);              /* U+00E9 */
    assert_int_equal(proto_valid_utf8(U("\xe6\x97\xa5\xe6\x9c\xac")), 1); /* 日本 */
    assert_int_equal(proto_valid_utf8(U("\xf0\x9f\x8d\xbc")), 1);         /* U+1F37C */
    assert_int_equal(proto_valid_utf8(U("\xc2\x80")), 1);                 /* U+0080 */
    assert_int_equal(proto_valid_utf8(U("\xdf\xbf")), 1);                 /* U+07FF */
    assert_int_equal(proto_valid_utf8(U("\xe0\xa0\x80")), 1);             /* U+0800 */
    assert_int_equal(proto_valid_utf8(U("\xed\x9f\xbf")), 1);             /* U+D7FF */
    assert_int_equal(proto_valid_utf8(U("\xee\x80\x80")), 1);             /* U+E000 */
    assert_int_equal(proto_valid_utf8(U("\xef\xbf\xbf")), 1);             /* U+FFFF */
    assert_int_equal(proto_valid_utf8(U("\xf0\x90\x80\x80")), 1);         /* U+10000 */
    assert_int_equal(proto_valid_utf8(U("\xf4\x8f\xbf\xbf")), 1);         /* U+10FFFF */
    /* Control bytes are valid UTF-8; whether a command accepts them is its business. */
    assert_int_equal(proto_valid_utf8(U("\t\x7f")), 1);
}

static void test_utf8_invalid(void **state)
{
    (void)state;
    /* Lone continuation bytes and bytes that never occur. */
    assert_int_equal(proto_valid_utf8(U("\x80")), 0);
    assert_int_equal(proto_valid_utf8(U("a\xbf")), 0);
    assert_int_equal(proto_valid_utf8(U("\xfe")), 0);
    assert_int_equal(proto_valid_utf8(U("\xff")), 0);
    assert_int_equal(proto_valid_utf8(U("\xf5\x80\x80\x80")), 0);
    /* Overlong forms of '/', NUL and U+07FF / U+FFFF. */
    assert_int_equal(proto_valid_utf8(U("\xc0\xaf")), 0);
    assert_int_equal(proto_valid_utf8(U("\xc0\x80")), 0);
    assert_int_equal(proto_valid_utf8(U("\xc1\xbf")), 0);
    assert_int_equal(proto_valid_utf8(U("\xe0\x80\xaf")), 0);
    assert_int_equal(proto_valid_utf8(U("\xe0\x9f\xbf")), 0);
    assert_int_equal(proto_valid_utf8(U("\xf0\x80\x80\xaf")), 0);
    assert_int_equal(proto_valid_utf8(U("\xf0\x8f\xbf\xbf")), 0);
    /* UTF-16 surrogates, alone and as a pair. */
    assert_int_equal(proto_valid_utf8(U("\xed\xa0\x80")), 0);
    assert_int_equal(proto_valid_utf8(U("\xed\xbf\xbf")), 0);
    assert_int_equal(proto_valid_utf8(U("\xed\xa0\xbd\xed\xb8\x80")), 0);
    /* Past U+10FFFF. */
    assert_int_equal(proto_valid_utf8(U("\xf4\x90\x80\x80")), 0);
    /* Truncated sequences, at the end and followed by ASCII. */
    assert_int_equal(proto_valid_utf8(U("\xc3")), 0);
    assert_int_equal(proto_valid_utf8(U("\xe6\x97")), 0);
    assert_int_equal(proto_valid_utf8(U("\xf0\x9f\x8d")), 0);
    assert_int_equal(proto_valid_utf8(U("\xc3"
                                        "a")),
                     0);
    assert_int_equal(proto_valid_utf8(U("\xe6\x97"
                                        "a")),
                     0);
}

/* The validator must look at exactly len bytes: a valid prefix of an invalid
 * buffer is valid, and bytes past len are not looked at. */
static void test_utf8_respects_len(void **state)
{
    (void)state;
    const char s[] = "ok\xc3\xa9\xff";
    assert_int_equal(proto_valid_utf8(s, 4), 1);
    assert_int_equal(proto_valid_utf8(s, 3), 0);
    assert_int_equal(proto_valid_utf8(s, 5), 0);
}

/* A user's name: one safe ASCII word that never starts like an option. */
static void test_valid_user(void **state)
{
    (void)state;
    char name[PROTO_MAX_USER + 2];
    static const char *const good[] = {"alice", "Bob", "x", "0", "al.ice", "a-b_c.d", "42"};
    static const char *const bad[] = {"",    "-alice", ".x",  "_x",    "a b", "a:b",
                                      "a/b", "a\tb",   "a,b", "a@b",   "a+b", "caf\xc3\xa9",
                                      "a\"", "a\\b",   "~x",  "$(id)", "ali*"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_int_equal(proto_valid_user(good[i], strlen(good[i])), 1);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(proto_valid_user(bad[i], strlen(bad[i])), 0);
    memset(name, 'n', sizeof(name));
    assert_int_equal(proto_valid_user(name, PROTO_MAX_USER), 1);
    assert_int_equal(proto_valid_user(name, PROTO_MAX_USER + 1), 0);
    /* A NUL within the length is no part of a name. */
    assert_int_equal(proto_valid_user("ab\0c", 4), 0);
    for (int c = 0; c < 256; c++) {
        char ch[2] = {'a', (char)c};
        int want = isalnum(c) && c < 128 ? 1 : (c == '_' || c == '.' || c == '-');
        assert_int_equal(proto_valid_user(ch, 2), want);
        assert_int_equal(proto_valid_user(ch + 1, 1), isalnum(c) && c < 128);
    }
}

static void test_valid_id(void **state)
{
    (void)state;
    char id[PROTO_MAX_ID + 2];

    assert_int_equal(proto_valid_id(U("42")), 1);
    assert_int_equal(proto_valid_id(U("task_02")), 1);
    assert_int_equal(proto_valid_id(U("a.b-C_9")), 1);
    assert_int_equal(proto_valid_id(U("")), 0);
    assert_int_equal(proto_valid_id(U("a b")), 0);
    assert_int_equal(proto_valid_id(U("a/b")), 0);
    assert_int_equal(proto_valid_id(U("a=b")), 0);
    assert_int_equal(proto_valid_id(U("+a")), 0);
    assert_int_equal(proto_valid_id(U("caf\xc3\xa9")), 0);
    memset(id, 'x', sizeof(id));
    assert_int_equal(proto_valid_id(id, PROTO_MAX_ID), 1);
    assert_int_equal(proto_valid_id(id, PROTO_MAX_ID + 1), 0);
    /* Every single byte: only the documented set passes. */
    for (int c = 0; c < 256; c++) {
        char ch = (char)c;
        int want = isalnum(c) && c < 128 ? 1 : (c == '_' || c == '.' || c == '-');
        assert_int_equal(proto_valid_id(&ch, 1), want);
        assert_int_equal(proto_valid_tag(&ch, 1), want);
    }
}

static void test_valid_tag(void **state)
{
    (void)state;
    char tag[PROTO_MAX_TAG + 2];

    assert_int_equal(proto_valid_tag(U("home")), 1);
    assert_int_equal(proto_valid_tag(U("q4.plan-b_2")), 1);
    assert_int_equal(proto_valid_tag(U("")), 0);
    assert_int_equal(proto_valid_tag(U("+home")), 0);
    assert_int_equal(proto_valid_tag(U("a,b")), 0);
    assert_int_equal(proto_valid_tag(U("a b")), 0);
    memset(tag, 't', sizeof(tag));
    assert_int_equal(proto_valid_tag(tag, PROTO_MAX_TAG), 1);
    assert_int_equal(proto_valid_tag(tag, PROTO_MAX_TAG + 1), 0);
}

/* Letters, marks and digits of any script (issue 12: "add 学习 +家" was
 * refused); symbols, punctuation, emoji and spaces of any script are not. */
static void test_valid_tag_scripts(void **state)
{
    (void)state;
    char tag[PROTO_MAX_TAG + 4];

    assert_int_equal(proto_valid_tag(U("家")), 1);
    assert_int_equal(proto_valid_tag(U("学习")), 1);
    assert_int_equal(proto_valid_tag(U("café")), 1);         /* U+00E9, NFC */
    assert_int_equal(proto_valid_tag(U("cafe\xcc\x81")), 1); /* e + U+0301, NFD: a mark */
    assert_int_equal(proto_valid_tag(U("Ελληνικά")), 1);     /* Greek */
    assert_int_equal(proto_valid_tag(U("дом")), 1);          /* Cyrillic */
    assert_int_equal(proto_valid_tag(U("עברית")), 1);        /* Hebrew */
    assert_int_equal(proto_valid_tag(U("عربي")), 1);         /* Arabic */
    assert_int_equal(proto_valid_tag(U("हिन्दी")), 1);        /* Devanagari, with marks */
    assert_int_equal(proto_valid_tag(U("ひらがな")), 1);     /* Hiragana */
    assert_int_equal(proto_valid_tag(U("한국어")), 1);       /* Hangul */
    assert_int_equal(proto_valid_tag(U("٣")), 1);            /* Arabic-Indic digit three */
    assert_int_equal(proto_valid_tag(U("q4.学习-b_2")), 1);
    assert_int_equal(proto_valid_tag(U("\xf0\xa0\x80\x80")), 1); /* U+20000, CJK ext. B */

    assert_int_equal(proto_valid_tag(U("😀")), 0); /* emoji: a symbol (So) */
    assert_int_equal(proto_valid_tag(U("home😀")), 0);
    assert_int_equal(proto_valid_tag(U("€")), 0); /* currency symbol (Sc) */
    assert_int_equal(proto_valid_tag(U("a\xc2\xa0"
                                       "b")),
                     0); /* no-break space */
    assert_int_equal(proto_valid_tag(U("a\xe3\x80\x80"
                                       "b")),
                     0);                                 /* ideographic space */
    assert_int_equal(proto_valid_tag(U("中，文")), 0);   /* full-width comma */
    assert_int_equal(proto_valid_tag(U("«a»")), 0);      /* quotation marks */
    assert_int_equal(proto_valid_tag(U("\xc2\xb2")), 0); /* superscript two: No, not Nd */
    assert_int_equal(proto_valid_tag(U("a\xe2\x80\x8b"
                                       "b")),
                     0);                                     /* zero-width space (Cf) */
    assert_int_equal(proto_valid_tag(U("\xee\x80\x80")), 0); /* private use U+E000 */

    /* Invalid UTF-8: an overlong '/', a lone continuation byte, a cut
     * sequence, a surrogate, past U+10FFFF, an overlong 'A'. */
    assert_int_equal(proto_valid_tag(U("\xc0\xaf")), 0);
    assert_int_equal(proto_valid_tag(U("a\x80")), 0);
    assert_int_equal(proto_valid_tag(U("\xe5\xae")), 0);
    assert_int_equal(proto_valid_tag(U("\xed\xa0\x80")), 0);
    assert_int_equal(proto_valid_tag(U("\xf4\x90\x80\x80")), 0);
    assert_int_equal(proto_valid_tag(U("\xc1\x81")), 0);
    /* "家" cut after one or two of its three bytes. */
    assert_int_equal(proto_valid_tag("家", 1), 0);
    assert_int_equal(proto_valid_tag("家", 2), 0);

    /* The limit is in bytes: ten 3-byte characters and two letters fit in
     * 32, one letter more does not. */
    for (int i = 0; i < 10; i++)
        memcpy(tag + 3 * i, "学", 3);
    assert_int_equal(proto_valid_tag(tag, 30), 1);
    memcpy(tag + 30, "xyz", 3);
    assert_int_equal(proto_valid_tag(tag, 32), 1);
    assert_int_equal(proto_valid_tag(tag, 33), 0);
    /* A character may not be cut by the limit: 31 bytes and one of 3. */
    memset(tag, 'a', 31);
    memcpy(tag + 31, "学", 3);
    assert_int_equal(proto_valid_tag(tag, 34), 0);
    assert_int_equal(proto_valid_tag(tag, 32), 0);

    assert_int_equal(proto_letter_or_digit(0x5BB6), 1); /* 家 */
    assert_int_equal(proto_letter_or_digit('_'), 0);
    assert_int_equal(proto_letter_or_digit(0x1F600), 0);
    assert_int_equal(proto_letter_or_digit(0x10FFFF), 0);
    assert_string_equal(proto_unicode_version(), "14.0.0");
}

/* LIST's words: each one on its own, in any order, as a word, ignoring
 * ASCII case (issue 12: "LIST all milk buy" did not find "buy milk"). */
static void test_text_words(void **state)
{
    (void)state;
#define HAS(t, w) proto_text_has_words(U(t), U(w))
    assert_int_equal(HAS("buy milk", "milk buy"), 1);
    assert_int_equal(HAS("buy milk", "buy milk"), 1);
    assert_int_equal(HAS("buy milk", "MILK"), 1);
    assert_int_equal(HAS("Buy Milk", "milk  buy"), 1);
    assert_int_equal(HAS("buy milk", ""), 1);
    assert_int_equal(HAS("buy milk", "   "), 1);
    assert_int_equal(HAS("buy milk", "milk bread"), 0);
    assert_int_equal(HAS("buy milk", "buymilk"), 0);
    /* A word, not a part of one. */
    assert_int_equal(HAS("buy milkshake", "milk"), 0);
    assert_int_equal(HAS("buttermilk", "milk"), 0);
    assert_int_equal(HAS("milk_run", "milk"), 0);
    assert_int_equal(HAS("buttermilk and milk", "milk"), 1);
    /* Punctuation ends a word. */
    assert_int_equal(HAS("call Mum, then milk.", "mum milk"), 1);
    assert_int_equal(HAS("e-mail (Ann)", "mail ann"), 1);
    assert_int_equal(HAS("tab\there", "here"), 1);
    /* A word may hold punctuation; only its letter or digit ends are bounded. */
    assert_int_equal(HAS("learn C++ today", "c++"), 1);
    assert_int_equal(HAS("50% off", "%"), 1);
    assert_int_equal(HAS("o_t", "o_t"), 1);
    assert_int_equal(HAS("oat", "o_t"), 0);
    assert_int_equal(HAS("oat", "%"), 0);
    /* Other scripts: letters join as in Latin ... */
    assert_int_equal(HAS("купить молоко", "молоко"), 1);
    assert_int_equal(HAS("купить молоко", "мол"), 0);
    assert_int_equal(HAS("un café noir", "café"), 1);
    assert_int_equal(HAS("un café noir", "caf"), 0);
    /* ... but Chinese, Japanese and Thai have no spaces between words,
     * so their words are found anywhere. */
    assert_int_equal(HAS("我要学习中文", "学习"), 1);
    assert_int_equal(HAS("我要学习中文", "中文 学习"), 1);
    assert_int_equal(HAS("我要学习中文", "日本"), 0);
    assert_int_equal(HAS("学习English", "english"), 1);
    assert_int_equal(HAS("ひらがなのテスト", "テスト"), 1);
    /* Non-ASCII case is not folded (documented). */
    assert_int_equal(HAS("Ärger", "ärger"), 0);
    assert_int_equal(HAS("", "x"), 0);
#undef HAS
}

static void test_valid_date(void **state)
{
    (void)state;
    assert_int_equal(proto_valid_date(U("2026-12-01")), 1);
    assert_int_equal(proto_valid_date(U("2026-01-31")), 1);
    assert_int_equal(proto_valid_date(U("2026-04-30")), 1);
    assert_int_equal(proto_valid_date(U("2026-12-31")), 1);
    /* Leap years: divisible by 4, except centuries unless divisible by 400. */
    assert_int_equal(proto_valid_date(U("2024-02-29")), 1);
    assert_int_equal(proto_valid_date(U("2000-02-29")), 1);
    assert_int_equal(proto_valid_date(U("2023-02-29")), 0);
    assert_int_equal(proto_valid_date(U("1900-02-29")), 0);
    assert_int_equal(proto_valid_date(U("2026-02-30")), 0);
    assert_int_equal(proto_valid_date(U("2026-04-31")), 0);
    assert_int_equal(proto_valid_date(U("2026-01-32")), 0);
    assert_int_equal(proto_valid_date(U("2026-00-10")), 0);
    assert_int_equal(proto_valid_date(U("2026-13-01")), 0);
    assert_int_equal(proto_valid_date(U("2026-01-00")), 0);
    /* Shape. */
    assert_int_equal(proto_valid_date(U("2026-1-01")), 0);
    assert_int_equal(proto_valid_date(U("2026/12/01")), 0);
    assert_int_equal(proto_valid_date(U("2026-12-01x")), 0);
    assert_int_equal(proto_valid_date(U("2026-12-0")), 0);
    assert_int_equal(proto_valid_date(U("20a6-12-01")), 0);
    assert_int_equal(proto_valid_date(U("")), 0);
    assert_int_equal(proto_valid_date(U("none")), 0);
}

static void test_time_format_parse(void **state)
{
    (void)state;
    /* Reference values computed with `date -u -d ... +%s`. */
    static const struct {
        int64_t t;
        const char *s;
    } cases[] = {
        {0, "1970-01-01T00:00:00Z"},
        {1795687200, "2026-11-26T10:00:00Z"},
        {951868799, "2000-02-29T23:59:59Z"},
        {946684799, "1999-12-31T23:59:59Z"},
        {2147483648LL, "2038-01-19T03:14:08Z"},
    };
    char out[PROTO_TIME_LEN + 1];
    int64_t t;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(out, 'X', sizeof(out));
        proto_time_format(cases[i].t, out);
        assert_string_equal(out, cases[i].s);
        t = -1;
        assert_int_equal(proto_time_parse(cases[i].s, strlen(cases[i].s), &t), 0);
        assert_int_equal(t, cases[i].t);
    }
    /* Malformed forms are refused. */
    assert_int_equal(proto_time_parse(U("2026-11-26T10:00:00"), &t), -1);
    assert_int_equal(proto_time_parse(U("2026-11-26 10:00:00Z"), &t), -1);
    assert_int_equal(proto_time_parse(U("2026-11-26T25:00:00Z"), &t), -1);
    assert_int_equal(proto_time_parse(U("2026-11-26T10:60:00Z"), &t), -1);
    assert_int_equal(proto_time_parse(U("2026-02-30T10:00:00Z"), &t), -1);
    assert_int_equal(proto_time_parse(U("2026-11-26T10:00:00Zx"), &t), -1);
    assert_int_equal(proto_time_parse(U("yesterday"), &t), -1);
    assert_int_equal(proto_time_parse(U(""), &t), -1);
}

static void test_pri(void **state)
{
    (void)state;
    assert_string_equal(proto_pri_name(PROTO_PRI_NONE), "-");
    assert_string_equal(proto_pri_name(PROTO_PRI_LOW), "low");
    assert_string_equal(proto_pri_name(PROTO_PRI_MED), "med");
    assert_string_equal(proto_pri_name(PROTO_PRI_HIGH), "high");
    assert_string_equal(proto_pri_name(4), "?");
    assert_string_equal(proto_pri_name(PROTO_PRI_KEEP), "?");

    assert_int_equal(proto_pri_parse(U("low")), PROTO_PRI_LOW);
    assert_int_equal(proto_pri_parse(U("med")), PROTO_PRI_MED);
    assert_int_equal(proto_pri_parse(U("high")), PROTO_PRI_HIGH);
    assert_int_equal(proto_pri_parse(U("none")), PROTO_PRI_NONE);
    assert_int_equal(proto_pri_parse(U("l")), PROTO_PRI_LOW);
    assert_int_equal(proto_pri_parse(U("m")), PROTO_PRI_MED);
    assert_int_equal(proto_pri_parse(U("h")), PROTO_PRI_HIGH);
    assert_int_equal(proto_pri_parse(U("0")), PROTO_PRI_NONE);
    assert_int_equal(proto_pri_parse(U("1")), PROTO_PRI_LOW);
    assert_int_equal(proto_pri_parse(U("2")), PROTO_PRI_MED);
    assert_int_equal(proto_pri_parse(U("3")), PROTO_PRI_HIGH);
    assert_int_equal(proto_pri_parse(U("urgent")), -1);
    assert_int_equal(proto_pri_parse(U("4")), -1);
    assert_int_equal(proto_pri_parse(U("")), -1);
    assert_int_equal(proto_pri_parse(U("hig")), -1);
    assert_int_equal(proto_pri_parse(U("highest")), -1);
    /* Only len bytes count: "lowx" cut to three bytes is "low". */
    assert_int_equal(proto_pri_parse("lowx", 3), PROTO_PRI_LOW);
    /* Every name proto_pri_name gives (but "-") parses back. */
    for (int p = PROTO_PRI_LOW; p <= PROTO_PRI_HIGH; p++) {
        const char *n = proto_pri_name(p);
        assert_int_equal(proto_pri_parse(n, strlen(n)), p);
    }
}

static void test_err_names(void **state)
{
    (void)state;
    static const char *const names[PROTO_E__COUNT] = {
        "NONE", "SYNTAX", "UNKNOWN",  "ARGS",   "NOTFOUND", "TOOLONG",  "ENCODING", "AUTH",
        "BUSY", "STORE",  "INTERNAL", "EXISTS", "TIMEOUT",  "CONFLICT", "EXPIRED",
    };

    for (int e = 0; e < PROTO_E__COUNT; e++) {
        const char *n = proto_err_name((enum proto_err)e);
        assert_non_null(n);
        assert_string_equal(n, names[e]);
        if (e != PROTO_E_NONE)
            assert_int_equal(proto_err_lookup(n, strlen(n)), e);
    }
    assert_non_null(proto_err_name(PROTO_E__COUNT));
    assert_non_null(proto_err_name((enum proto_err)1000));
    /* Lookup is exact and upper case; anything else is INTERNAL. */
    assert_int_equal(proto_err_lookup(U("notfound")), PROTO_E_INTERNAL);
    assert_int_equal(proto_err_lookup(U("NOTFOUNDX")), PROTO_E_INTERNAL);
    assert_int_equal(proto_err_lookup(U("NOTFOUN")), PROTO_E_INTERNAL);
    assert_int_equal(proto_err_lookup(U("WHATEVER")), PROTO_E_INTERNAL);
    assert_int_equal(proto_err_lookup(U("")), PROTO_E_INTERNAL);
    assert_int_equal(proto_err_lookup("BUSYX", 4), PROTO_E_BUSY);
    /* The server's word for an idle connection or a request line that took
     * too long: a client must know it, not take it for a newer peer's. */
    assert_int_equal(proto_err_lookup(U("TIMEOUT")), PROTO_E_TIMEOUT);
}

static void test_cmd_table(void **state)
{
    (void)state;
    int visible = 0;

    for (int c = 0; c < PROTO_CMD__COUNT; c++) {
        const struct proto_cmd_info *ci = proto_cmd_info((enum proto_cmd)c);
        char lower[32];
        size_t n;

        assert_non_null(ci);
        assert_int_equal(ci->cmd, c);
        assert_non_null(ci->name);
        assert_non_null(ci->usage);
        assert_non_null(ci->summary);
        assert_non_null(ci->keywords);
        if (c == PROTO_CMD_NONE) {
            assert_string_equal(ci->name, "");
            continue;
        }
        n = strlen(ci->name);
        assert_true(n > 0 && n < sizeof(lower));
        /* A summary is a sentence for HELP. */
        assert_true(strlen(ci->summary) > 0);
        for (size_t i = 0; i < n; i++)
            lower[i] = (char)tolower((unsigned char)ci->name[i]);
        if (ci->flags & PROTO_CMDF_HIDDEN) {
            /* Legacy forms are recognised by their shape, not looked up. */
            assert_true(c == PROTO_CMD_LEGACY_GET || c == PROTO_CMD_LEGACY_POST);
            assert_int_equal(proto_cmd_lookup(ci->name, n), PROTO_CMD_NONE);
            continue;
        }
        visible++;
        for (size_t i = 0; i < n; i++)
            assert_true(isupper((unsigned char)ci->name[i]));
        assert_int_equal(proto_cmd_lookup(ci->name, n), c);
        assert_int_equal(proto_cmd_lookup(lower, n), c);
        if (n > 1) {
            lower[0] = ci->name[0]; /* mixed case: "Add" */
            assert_int_equal(proto_cmd_lookup(lower, n), c);
            /* A prefix is not the command. */
            assert_int_not_equal(proto_cmd_lookup(ci->name, n - 1), c);
        }
    }
    /* The fourteen native commands the issue asks for, IMPORT, UNDO, WATCH and UNWATCH, the
     * shared lists' SHARE, UNSHARE, USE and SHARES, and the admins' USER. */
    assert_int_equal(visible, 23);
    assert_true(proto_cmd_info(PROTO_CMD_WATCH)->flags & PROTO_CMDF_TAGS);
    assert_false(proto_cmd_info(PROTO_CMD_WATCH)->flags & PROTO_CMDF_WRITE);
    assert_true(proto_cmd_info(PROTO_CMD_LEGACY_GET)->flags & PROTO_CMDF_HIDDEN);
    assert_true(proto_cmd_info(PROTO_CMD_LEGACY_POST)->flags & PROTO_CMDF_HIDDEN);
    assert_null(proto_cmd_info(PROTO_CMD__COUNT));
    assert_null(proto_cmd_info((enum proto_cmd) - 1));

    assert_int_equal(proto_cmd_lookup(U("ADD")), PROTO_CMD_ADD);
    assert_int_equal(proto_cmd_lookup(U("aDd")), PROTO_CMD_ADD);
    assert_int_equal(proto_cmd_lookup(U("list")), PROTO_CMD_LIST);
    assert_int_equal(proto_cmd_lookup(U("ADDX")), PROTO_CMD_NONE);
    assert_int_equal(proto_cmd_lookup(U("FROB")), PROTO_CMD_NONE);
    assert_int_equal(proto_cmd_lookup(U("")), PROTO_CMD_NONE);
    assert_int_equal(proto_cmd_lookup("PINGPONG", 4), PROTO_CMD_PING);
}

static void test_cmd_flags(void **state)
{
    (void)state;
    const struct proto_cmd_info *list = proto_cmd_info(PROTO_CMD_LIST);
    int pending = 0, done = 0, all = 0;

    /* The flags the server and the completions rely on. */
    assert_true(proto_cmd_info(PROTO_CMD_ADD)->flags & PROTO_CMDF_WRITE);
    assert_true(proto_cmd_info(PROTO_CMD_ADD)->flags & PROTO_CMDF_TAGS);
    assert_true(proto_cmd_info(PROTO_CMD_ADD)->flags & PROTO_CMDF_ATTRS);
    assert_true(proto_cmd_info(PROTO_CMD_EDIT)->flags & PROTO_CMDF_WRITE);
    assert_true(proto_cmd_info(PROTO_CMD_EDIT)->flags & PROTO_CMDF_ID);
    assert_true(proto_cmd_info(PROTO_CMD_EDIT)->flags & PROTO_CMDF_TAGS);
    assert_true(proto_cmd_info(PROTO_CMD_EDIT)->flags & PROTO_CMDF_ATTRS);
    assert_true(proto_cmd_info(PROTO_CMD_DEL)->flags & PROTO_CMDF_WRITE);
    assert_true(proto_cmd_info(PROTO_CMD_DEL)->flags & PROTO_CMDF_ID);
    assert_true(proto_cmd_info(PROTO_CMD_DONE)->flags & PROTO_CMDF_ID);
    assert_true(proto_cmd_info(PROTO_CMD_UNDONE)->flags & PROTO_CMDF_ID);
    assert_true(proto_cmd_info(PROTO_CMD_GET)->flags & PROTO_CMDF_ID);
    assert_false(proto_cmd_info(PROTO_CMD_GET)->flags & PROTO_CMDF_WRITE);
    assert_false(proto_cmd_info(PROTO_CMD_LIST)->flags & PROTO_CMDF_WRITE);
    assert_true(proto_cmd_info(PROTO_CMD_LIST)->flags & PROTO_CMDF_TAGS);
    assert_true(proto_cmd_info(PROTO_CMD_LEGACY_POST)->flags & PROTO_CMDF_WRITE);
    /* AUTH must be allowed before AUTH, or nobody could log in. */
    assert_true(proto_cmd_info(PROTO_CMD_AUTH)->flags & PROTO_CMDF_NOAUTH);
    assert_true(proto_cmd_info(PROTO_CMD_QUIT)->flags & PROTO_CMDF_NOAUTH);
    assert_false(proto_cmd_info(PROTO_CMD_ADD)->flags & PROTO_CMDF_NOAUTH);
    assert_false(proto_cmd_info(PROTO_CMD_LEGACY_POST)->flags & PROTO_CMDF_NOAUTH);

    for (const char *const *k = list->keywords; *k; k++) {
        pending += strcmp(*k, "pending") == 0;
        done += strcmp(*k, "done") == 0;
        all += strcmp(*k, "all") == 0;
    }
    assert_int_equal(pending, 1);
    assert_int_equal(done, 1);
    assert_int_equal(all, 1);
    assert_null(proto_cmd_info(PROTO_CMD_PING)->keywords[0]);

    /* IMPORT is a write, so it needs AUTH and joins the batch. */
    assert_true(proto_cmd_info(PROTO_CMD_IMPORT)->flags & PROTO_CMDF_WRITE);
    assert_false(proto_cmd_info(PROTO_CMD_IMPORT)->flags & PROTO_CMDF_NOAUTH);
    assert_int_equal(proto_cmd_lookup(U("import")), PROTO_CMD_IMPORT);
    assert_string_equal(proto_import_mode_name(PROTO_IMPORT_SKIP), "skip");
    assert_string_equal(proto_import_mode_name(PROTO_IMPORT_REPLACE), "replace");
    assert_string_equal(proto_import_mode_name(PROTO_IMPORT_FAIL), "fail");
    assert_string_equal(proto_import_mode_name(7), "?");
    assert_int_equal(proto_import_mode_parse(U("Replace")), PROTO_IMPORT_REPLACE);
    assert_int_equal(proto_import_mode_parse(U("skipp")), -1);
    assert_int_equal(proto_err_lookup(U("EXISTS")), PROTO_E_EXISTS);
}

/* Parses "VERB w0 w1 ... w(n-1)" with the first n of words. */
static enum proto_err parse_n(const char *verb, const char *const *words, int n,
                              struct proto_request *req);

/* USER's first word says how many follow it: each of the table's counts
 * (1 to 3) is accepted for the word that takes it, and no other. */
static void test_user_arg_counts(void **state)
{
    (void)state;
    const struct proto_cmd_info *ci = proto_cmd_info(PROTO_CMD_USER);
    static const char *const list[] = {"list", "bob", "pw", "x"};
    static const char *const del[] = {"del", "bob", "pw", "x"};
    static const char *const add[] = {"add", "bob", "pw", "x"};
    struct proto_request req;
    assert_int_equal(ci->min_args, 1);
    assert_int_equal(ci->max_args, 3);
    for (int n = 0; n <= 4; n++) {
        assert_int_equal(parse_n("USER", list, n, &req), n == 1 ? PROTO_E_NONE : PROTO_E_ARGS);
        assert_int_equal(parse_n("USER", del, n, &req), n == 2 ? PROTO_E_NONE : PROTO_E_ARGS);
        assert_int_equal(parse_n("USER", add, n, &req), n == 3 ? PROTO_E_NONE : PROTO_E_ARGS);
    }
    assert_string_equal(proto_user_op_name(PROTO_USER_UNLOCK), "unlock");
    assert_string_equal(proto_user_op_name(9), "?");
    assert_int_equal(proto_user_op_parse("PASSWD", 6), PROTO_USER_PASSWD);
    assert_int_equal(proto_user_op_parse("passw", 5), -1);
}

static enum proto_err parse_n(const char *verb, const char *const *words, int n,
                              struct proto_request *req)
{
    char line[1024], scratch[1024], err[256];
    int len = snprintf(line, sizeof(line), "%s", verb);
    for (int i = 0; i < n; i++)
        len += snprintf(line + len, sizeof(line) - (size_t)len, " %s", words[i]);
    assert_true(len > 0 && (size_t)len < sizeof(line));
    return proto_request_parse(line, (size_t)len, scratch, sizeof(scratch), req, err, sizeof(err));
}

/* Words each command takes, valid for it in any number from the first on,
 * so that a count alone decides whether the parser accepts them. */
static const char *const *sample_words(enum proto_cmd c)
{
    static const char *const id_words[] = {"42", "x", "y", "z", "w", "v", "u", "t", "s", "r", "q"};
    static const char *const import_words[] = {
        "skip", "42", "pending", "-", "-", "text", "more", "words", "+tag", "pri:high", "due:none"};
    static const char *const help_words[] = {"ADD", "x", "y", "z", "w", "v",
                                             "u",   "t", "s", "r", "q"};
    static const char *const text_words[] = {
        "buy", "milk", "+tag", "pri:high", "due:2026-12-01", "and", "more", "words", "x", "y", "z"};
    static const char *const pw_words[] = {"secret", "x", "y", "z", "w", "v",
                                           "u",      "t", "s", "r", "q"};
    static const char *const watch_words[] = {"all", "+a", "+b", "+c", "+d",     "+e",
                                              "+f",  "+g", "+h", "+i", "since:1"};
    if (proto_cmd_info(c)->flags & PROTO_CMDF_ID)
        return id_words;
    switch (c) {
    case PROTO_CMD_IMPORT:
        return import_words;
    case PROTO_CMD_HELP:
        return help_words;
    case PROTO_CMD_AUTH:
        return pw_words;
    case PROTO_CMD_WATCH:
        return watch_words;
    default:
        return text_words;
    }
}

/* The table's min_args and max_args are exactly the counts the parser
 * accepts: the client refuses with them before sending, the server with
 * its parser, and the two must agree. */
static void test_cmd_arg_counts(void **state)
{
    (void)state;
    enum { MAX_SAMPLE = 11 };
    for (int c = PROTO_CMD_NONE + 1; c < PROTO_CMD__COUNT; c++) {
        const struct proto_cmd_info *ci = proto_cmd_info((enum proto_cmd)c);
        if (ci->flags & PROTO_CMDF_HIDDEN)
            continue;
        assert_true(ci->min_args >= 0 && ci->min_args <= MAX_SAMPLE - 2);
        assert_true(ci->max_args == -1 || ci->max_args >= ci->min_args);
        if (c == PROTO_CMD_USER)
            continue; /* its first word sets the count: test_user_arg_counts */
        const char *const *w = sample_words((enum proto_cmd)c);
        for (int n = 0; n <= MAX_SAMPLE; n++) {
            struct proto_request req;
            int want = n >= ci->min_args && (ci->max_args < 0 || n <= ci->max_args);
            enum proto_err e = parse_n(ci->name, w, n, &req);
            if ((e == PROTO_E_NONE) != want)
                print_message("%s with %d words: %s\n", ci->name, n, proto_err_name(e));
            assert_int_equal(e == PROTO_E_NONE, want);
            if (!want)
                assert_int_equal(e, PROTO_E_ARGS);
        }
    }
}

/* The word rules in the table say what the parser does with -tag,
 * due:none and pri:none, and attrs lists only words the command takes. */
static void test_cmd_word_rules(void **state)
{
    (void)state;
    for (int c = PROTO_CMD_NONE + 1; c < PROTO_CMD__COUNT; c++) {
        const struct proto_cmd_info *ci = proto_cmd_info((enum proto_cmd)c);
        int none = 0;
        assert_non_null(ci->attrs);
        assert_int_equal(ci->attrs[0] != NULL, (ci->flags & PROTO_CMDF_ATTRS) != 0);
        for (const char *const *a = ci->attrs; *a; a++) {
            assert_true(strncmp(*a, "due:", 4) == 0 || strncmp(*a, "pri:", 4) == 0);
            none += strcmp(*a + 4, "none") == 0;
        }
        assert_int_equal(none, ci->flags & PROTO_CMDF_CLEARS ? 2 : 0);
        /* Only what takes +tag may take -tag; only what takes due: may clear it. */
        if (ci->flags & PROTO_CMDF_UNTAGS)
            assert_true(ci->flags & PROTO_CMDF_TAGS);
        if (ci->flags & PROTO_CMDF_CLEARS)
            assert_true(ci->flags & PROTO_CMDF_ATTRS);
    }
    /* What the parser does with -tag and the :none words follows the
     * flags: -tag removes a tag only with UNTAGS (ADD and LIST take it as
     * text), due:none clears only with CLEARS (in ADD there is nothing to
     * clear), and without ATTRS (LIST) due: words are words to search for. */
    static const struct {
        const char *line;
        enum proto_cmd cmd;
    } cases[] = {
        {"EDIT 42 -home", PROTO_CMD_EDIT},
        {"ADD x -home", PROTO_CMD_ADD},
        {"LIST -home", PROTO_CMD_LIST},
        {"EDIT 42 due:none pri:none", PROTO_CMD_EDIT},
        {"ADD x due:none pri:none", PROTO_CMD_ADD},
        {"LIST due:none", PROTO_CMD_LIST},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct proto_request req;
        char scratch[64], err[256];
        unsigned f = proto_cmd_info(cases[i].cmd)->flags;
        print_message("%s\n", cases[i].line);
        assert_int_equal(proto_request_parse(cases[i].line, strlen(cases[i].line), scratch,
                                             sizeof(scratch), &req, err, sizeof(err)),
                         PROTO_E_NONE);
        assert_int_equal(req.cmd, cases[i].cmd);
        if (strstr(cases[i].line, "-home"))
            assert_int_equal(req.nuntags, (f & PROTO_CMDF_UNTAGS) ? 1 : 0);
        if (strstr(cases[i].line, "due:none")) {
            assert_int_equal(req.due_op == -1, (f & PROTO_CMDF_CLEARS) != 0);
            int in_text = req.has_text && req.text.len >= 8 &&
                          memcmp(req.text.ptr + req.text.len - 8, "due:none", 8) == 0;
            assert_int_equal(in_text, !(f & PROTO_CMDF_ATTRS));
        }
    }
    assert_true(proto_cmd_info(PROTO_CMD_EDIT)->flags & PROTO_CMDF_UNTAGS);
    assert_true(proto_cmd_info(PROTO_CMD_EDIT)->flags & PROTO_CMDF_CLEARS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_valid),
        cmocka_unit_test(test_utf8_invalid),
        cmocka_unit_test(test_utf8_respects_len),
        cmocka_unit_test(test_valid_id),
        cmocka_unit_test(test_valid_user),
        cmocka_unit_test(test_valid_tag),
        cmocka_unit_test(test_valid_date),
        cmocka_unit_test(test_time_format_parse),
        cmocka_unit_test(test_pri),
        cmocka_unit_test(test_err_names),
        cmocka_unit_test(test_cmd_table),
        cmocka_unit_test(test_cmd_flags),
        cmocka_unit_test(test_cmd_arg_counts),
        cmocka_unit_test(test_user_arg_counts),
        cmocka_unit_test(test_cmd_word_rules),
        cmocka_unit_test(test_valid_tag_scripts),
        cmocka_unit_test(test_text_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
