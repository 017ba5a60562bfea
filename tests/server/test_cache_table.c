/*
 * test_cache_table.c - the GET cache's table on its own (server/cache.c):
 * keyed by id and encoding, one entry per key, its stamp handed back for
 * the caller to check, an older read never replacing a newer one, long
 * replies not kept, a table bounded by its size in bytes that holds what
 * fits, and threads putting and getting at once (run under TSan in CI's
 * thread stage).
 */
#include <pthread.h>
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
    static char out[CACHE_ENTRY_BYTES + 1];
    uint64_t st = 0;
    uint32_t key = 0;
    size_t len = cache_get(c, S(id), enc, &st, &key, out);
    if (len == 0)
        return "";
    /* The change key comes back as it was kept (put() derives it from the stamp). */
    assert_int_equal(key, (uint32_t)(st * 31 + 7));
    assert_true(len <= CACHE_ENTRY_BYTES);
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
    assert_string_equal(got(c, "1", 1, NULL), ""); /* nothing yet */
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
    /* One that was read in an older snapshot (another worker's, late)
     * does not. */
    put(c, "1", 1, 11, "DATA 1\r\n1 older\r\n");
    assert_string_equal(got(c, "1", 1, &stamp), "DATA 1\r\n1 newer\r\n");
    assert_true(stamp == 12);
    struct cache_stats st;
    cache_stats(c, &st);
    assert_true(st.entries == 3);
    assert_true(st.bytes == 3 * CACHE_ENTRY_BYTES);
    assert_true(st.max_bytes > 0 && st.max_bytes <= 64 * 1024);
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
    /* The longest that fits an entry with this id is kept whole, one byte
     * more is not. */
    big[CACHE_REPLY_MAX(3)] = '\0';
    put(c, "abc", 1, 3, big);
    assert_int_equal(strlen(got(c, "abc", 1, NULL)), CACHE_REPLY_MAX(3));
    big[CACHE_REPLY_MAX(3)] = 'x';
    big[CACHE_REPLY_MAX(3) + 1] = '\0';
    put(c, "abd", 1, 3, big);
    assert_string_equal(got(c, "abd", 1, NULL), "");
    cache_free(c);
    cache_free(NULL);
    /* No cache: nothing kept, nothing found, zero stats. */
    assert_null(cache_new(0));
    assert_null(cache_new(100));
    put(NULL, "1", 1, 1, "x");
    assert_string_equal(got(NULL, "1", 1, NULL), "");
    struct cache_stats st;
    cache_stats(NULL, &st);
    assert_true(st.entries == 0 && st.max_bytes == 0);
}

/* Far more keys than the table holds: it keeps some, each the right one,
 * never more than its size in bytes. */
static void bounded_and_right(void **state)
{
    (void)state;
    struct cache *c = cache_new(64 * 1024);
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
    struct cache_stats st;
    cache_stats(c, &st);
    assert_true(kept > 0);
    assert_true(st.entries == (unsigned long long)kept);
    assert_true(st.bytes <= st.max_bytes);
    assert_true(st.max_bytes <= 64 * 1024);
    assert_true((size_t)kept * CACHE_ENTRY_BYTES <= 64 * 1024);
    cache_free(c);
}

/* The default size holds the replies of 100,000 tasks of the size the
 * issue names (about 64-byte texts, 3 tags: a 150-byte line) in the line
 * protocol's encoding: the sets fill unevenly, so what must be shown is
 * that nearly all fit, and that what was used longest ago goes first. */
static void default_size_holds_100000_tasks(void **state)
{
    (void)state;
    struct cache *c = cache_new((size_t)CACHE_DEFAULT_MB * 1024 * 1024);
    assert_non_null(c);
    char reply[200];
    for (int i = 1; i <= 100000; i++) {
        char id[16];
        snprintf(id, sizeof(id), "%d", i);
        int n = snprintf(reply, sizeof(reply),
                         "DATA 1\r\n%d pending - - alpha,beta,gamma 2026-12-02T18:00:00Z "
                         "2026-12-02T18:00:00Z \"%064d\"\r\n",
                         i, i);
        assert_true(n > 0 && (size_t)n < sizeof(reply));
        cache_put(c, S(id), 1, 5, 9, reply, (size_t)n);
    }
    int kept = 0;
    for (int i = 1; i <= 100000; i++) {
        char id[16], out[CACHE_ENTRY_BYTES];
        uint64_t stamp;
        uint32_t key;
        snprintf(id, sizeof(id), "%d", i);
        size_t len = cache_get(c, S(id), 1, &stamp, &key, out);
        if (len == 0)
            continue;
        char want[32];
        snprintf(want, sizeof(want), "DATA 1\r\n%d pending ", i);
        assert_true(strncmp(out, want, strlen(want)) == 0);
        kept++;
    }
    assert_int_equal(kept, 100000);
    struct cache_stats st;
    cache_stats(c, &st);
    assert_true(st.entries == 100000);
    assert_true(st.max_bytes <= (unsigned long long)CACHE_DEFAULT_MB * 1024 * 1024);
    cache_free(c);
}

/* A full set gives up the way used longest ago: in a one-set cache (the
 * smallest), after 8 puts, a hit on the first keeps it when a ninth comes. */
static void least_recently_used_goes(void **state)
{
    (void)state;
    struct cache *c = cache_new(CACHE_ENTRY_BYTES * 8 + 64);
    assert_non_null(c);
    char id[8];
    for (int i = 0; i < 8; i++) {
        snprintf(id, sizeof(id), "k%d", i);
        put(c, id, 1, 1, id);
    }
    for (int i = 0; i < 8; i++) {
        snprintf(id, sizeof(id), "k%d", i);
        assert_string_equal(got(c, id, 1, NULL), id);
    }
    /* k0 is now the one used longest ago; use it again: k1 is. */
    assert_string_equal(got(c, "k0", 1, NULL), "k0");
    put(c, "k8", 1, 1, "k8");
    assert_string_equal(got(c, "k8", 1, NULL), "k8");
    assert_string_equal(got(c, "k0", 1, NULL), "k0");
    assert_string_equal(got(c, "k1", 1, NULL), "");
    cache_free(c);
}

/* Threads putting and reading the same keys at once: every reply read is
 * one that was put for that key, whole (TSan checks the locking). */
#define THREADS 4
#define KEYS 500
#define ROUNDS 20000

struct worker_arg {
    struct cache *c;
    int seed;
    int bad;
};

static void *hammer(void *p)
{
    struct worker_arg *a = p;
    unsigned x = (unsigned)a->seed * 2654435761u + 1;
    for (int n = 0; n < ROUNDS; n++) {
        x = x * 1103515245u + 12345u;
        int k = (int)((x >> 8) % KEYS);
        unsigned v = (x >> 4) % 1000;
        char id[16], reply[64], out[CACHE_ENTRY_BYTES + 1];
        snprintf(id, sizeof(id), "t%d", k);
        if (n % 3 == 0) {
            int len = snprintf(reply, sizeof(reply), "key %d value %u end", k, v);
            cache_put(a->c, S(id), 1, v, (uint32_t)v, reply, (size_t)len);
            continue;
        }
        uint64_t stamp;
        uint32_t key;
        size_t len = cache_get(a->c, S(id), 1, &stamp, &key, out);
        if (len == 0)
            continue;
        out[len] = '\0';
        snprintf(reply, sizeof(reply), "key %d value %u end", k, (unsigned)stamp);
        if (strcmp(out, reply) != 0 || key != (uint32_t)stamp)
            a->bad++;
    }
    return NULL;
}

static void threads_at_once(void **state)
{
    (void)state;
    /* Small enough that puts also evict. */
    struct cache *c = cache_new(64 * 1024);
    assert_non_null(c);
    pthread_t t[THREADS];
    struct worker_arg a[THREADS];
    for (int i = 0; i < THREADS; i++) {
        a[i] = (struct worker_arg){.c = c, .seed = i + 1};
        assert_int_equal(pthread_create(&t[i], NULL, hammer, &a[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(a[i].bad, 0);
    }
    cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keyed_by_id_and_encoding),
        cmocka_unit_test(long_replies_are_not_kept),
        cmocka_unit_test(bounded_and_right),
        cmocka_unit_test(default_size_holds_100000_tasks),
        cmocka_unit_test(least_recently_used_goes),
        cmocka_unit_test(threads_at_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
