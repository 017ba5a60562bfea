/*
 * test_cache_table.c - the GET cache's table on its own (server/cache.c):
 * keyed by id and encoding, one entry per key, its stamp handed back for
 * the caller to check, long replies not kept, a bounded table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../common/cmocka_analyzer.h"
#include "cache.h"

static struct proto_str S(const char *s) {
    return (struct proto_str){s, strlen(s)};
}

/* The reply kept for (id, enc) as a string, "" when none. */
static const char *
got(struct cache *c, const char *id, int enc, uint64_t *stamp)
{
    static char out[512];
    size_t len = 0;
    uint64_t st = 0;
    uint32_t key = 0;
    const char *p = cache_get(c, S(id), enc, &st, &key, &len);
    if (p == NULL)
        return "";
    /* The change key comes back as it was kept (put() derives it from the stamp). */
    assert_int_equal(key, (uint32_t)(st * 31 + 7));
    assert_true(len < sizeof(out));
    memcpy(out, p, len);
    out[len] = '\0';
    if (stamp != NULL)
        *stamp = st;
    return out;
}

static void put(struct cache *c, const char *id, int enc, uint64_t stamp, const char *reply)
{
    cache_put(c, S(id), enc, stamp, (uint32_t)(stamp * 31 + 7), reply, strlen(reply));
}

static void keyed_by_id_and_encoding(void **state)
{
    (void)state;
    struct cache *c = cache_new(64 * 1024);
    assert_non_null(c);
    assert_string_equal(got(c, "1", 1, NULL), ""); /* nothing yet, no table */
    put(c, "1", 1, 7, "DATA 1\r\n1 line\r\n");
    put(c, "1", 2, 8, "bare\r\n");
    put(c, "10", 1, 9, "DATA 1\r\n10 line\r\n");
    uint64_t stamp = 0;
    assert_string_equal(got(c, "1", 1, &stamp), "DATA 1\r\n1 line\r\n");
    assert_true(stamp == 7);
    assert_string_equal(got(c, "1", 2, &stamp), "bare\r\n");
    assert_true(stamp == 8);
    assert_string_equal(got(c, "10", 1, NULL), "DATA 1\r\n10 line\r\n");
    assert_string_equal(got(c, "1", 3, NULL), "");
    assert_string_equal(got(c, "2", 1, NULL), "");
    /* A new reply for a key replaces the old one and its stamp. */
    put(c, "1", 1, 12, "DATA 1\r\n1 newer\r\n");
    assert_string_equal(got(c, "1", 1, &stamp), "DATA 1\r\n1 newer\r\n");
    assert_true(stamp == 12);
    cache_free(c);
}

static void long_replies_are_not_kept(void **state)
{
    (void)state;
    char big[1024];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    struct cache *c = cache_new(64 * 1024);
    assert_non_null(c);
    put(c, "1", 1, 1, "short");
    put(c, "1", 1, 2, big);
    /* The short one stays as it was: the caller checks its stamp. */
    assert_string_equal(got(c, "1", 1, NULL), "short");
    cache_free(c);
    cache_free(NULL);
}

/* Far more keys than the table holds: it keeps some, and each it keeps is
 * the right one. */
static void bounded_and_right(void **state)
{
    (void)state;
    struct cache *c = cache_new(16 * 1024);
    assert_non_null(c);
    for (int i = 0; i < 5000; i++) {
        char id[16], reply[32];
        snprintf(id, sizeof(id), "%d", i);
        snprintf(reply, sizeof(reply), "reply %d", i);
        put(c, id, 1, (uint64_t)i, reply);
    }
    int kept = 0;
    for (int i = 0; i < 5000; i++) {
        char id[16], want[32];
        uint64_t stamp = 0;
        snprintf(id, sizeof(id), "%d", i);
        snprintf(want, sizeof(want), "reply %d", i);
        const char *r = got(c, id, 1, &stamp);
        if (*r == '\0')
            continue;
        kept++;
        assert_string_equal(r, want);
        assert_true(stamp == (uint64_t)i);
    }
    assert_true(kept > 0);
    assert_true(kept <= 5000 / 4);
    cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keyed_by_id_and_encoding),
        cmocka_unit_test(long_replies_are_not_kept),
        cmocka_unit_test(bounded_and_right),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
