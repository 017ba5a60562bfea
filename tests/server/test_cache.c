/*
 * test_cache.c - GET replies are cached in one cache all workers share; a
 * cached reply must never be served once a newer write has been
 * acknowledged, whichever worker made it and whichever reads it. With two
 * or more workers on one epoll instance, connections are served by
 * whichever worker is free, so a write on one connection and a read on
 * another cross workers and SQLite connections. STATS counts the hits and
 * misses; a commit to one task keeps the others' entries; --cache-mb 0
 * serves the same replies with no cache at all.
 */
#include "srv_test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

#define ROUNDS 1500

/* "OK <id>" of an ADD, as the id. */
static long add_task(struct cli *c, const char *text)
{
    char req[256];
    snprintf(req, sizeof(req), "ADD %s\n", text);
    const char *r = cli_cmd(c, req);
    if (strncmp(r, "OK ", 3) != 0)
        fail_msg("ADD: %s", r);
    return atol(r + 3);
}

/* Text of a GET reply's task line ("" when it is not DATA 1). */
static void get_text(struct cli *c, long id, char *out, size_t cap)
{
    char req[64];
    snprintf(req, sizeof(req), "GET %ld\n", id);
    const char *r = cli_cmd(c, req);
    const char *q = strchr(r, '"');
    out[0] = '\0';
    if (strncmp(r, "DATA 1\r\n", 8) != 0 || q == NULL)
        return;
    snprintf(out, cap, "%s", q);
}

/* Edits on one connection, reads (twice, so the second is served from the
 * cache) on another: each read sees the last acknowledged edit. */
static void edit_then_get_elsewhere_with(const char *cache_mb)
{
    char dir[512], db[600], want[64], got[256];
    struct server_proc sp;

    make_tmpdir(dir, sizeof(dir));
    snprintf(db, sizeof(db), "%s/todo.db", dir);
    const char *const extra[] = {"--db", db, "--threads", "2", "--cache-mb", cache_mb, NULL};
    srv_start(&sp, extra);
    struct cli *a = cli_open(sp.port);
    struct cli *b = cli_open(sp.port);
    assert_non_null(a);
    assert_non_null(b);
    long id = add_task(a, "v-start");

    for (int i = 0; i < ROUNDS; i++) {
        char req[128];
        snprintf(req, sizeof(req), "EDIT %ld v-%d\n", id, i);
        snprintf(want, sizeof(want), "OK %ld\r\n", id);
        assert_string_equal(cli_cmd(a, req), want);
        snprintf(want, sizeof(want), "\"v-%d\"\r\n", i);
        for (int k = 0; k < 2; k++) {
            get_text(b, id, got, sizeof(got));
            if (strcmp(got, want) != 0)
                fail_msg("round %d, read %d: wanted %s, got %s", i, k, want, got);
        }
        /* DONE / UNDONE change the line as well. */
        if (i % 100 == 0) {
            snprintf(req, sizeof(req), "DONE %ld\n", id);
            assert_true(strncmp(cli_cmd(a, req), "OK ", 3) == 0);
            snprintf(req, sizeof(req), "GET %ld\n", id);
            const char *r = cli_cmd(b, req);
            if (strstr(r, " done ") == NULL)
                fail_msg("round %d: GET after DONE: %s", i, r);
            snprintf(req, sizeof(req), "UNDONE %ld\n", id);
            assert_true(strncmp(cli_cmd(a, req), "OK ", 3) == 0);
            snprintf(req, sizeof(req), "GET %ld\n", id);
            r = cli_cmd(b, req);
            if (strstr(r, " pending ") == NULL)
                fail_msg("round %d: GET after UNDONE: %s", i, r);
        }
    }
    /* DEL: a cached reply must not outlive the task. */
    char req[64];
    snprintf(req, sizeof(req), "GET %ld\n", id);
    assert_true(strncmp(cli_cmd(b, req), "DATA 1", 6) == 0);
    snprintf(req, sizeof(req), "DEL %ld\n", id);
    assert_true(strncmp(cli_cmd(a, req), "OK ", 3) == 0);
    snprintf(req, sizeof(req), "GET %ld\n", id);
    assert_true(strncmp(cli_cmd(b, req), "ERR NOTFOUND", 12) == 0);
    /* The reads after the first of each round were answered from the
     * cache, if there is one; with --cache-mb 0 none was. */
    long long hits = srv_stat(b, "cache_hits");
    if (strcmp(cache_mb, "0") == 0) {
        assert_true(hits == 0);
        assert_true(srv_stat(b, "cache_misses") == 0);
        assert_true(srv_stat(b, "cache_max_bytes") == 0);
    } else {
        assert_true(hits >= ROUNDS);
    }

    cli_close(a);
    cli_close(b);
    int st = server_stop(&sp, SIGTERM);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    rm_tree(dir);
}

static void edit_then_get_elsewhere(void **state)
{
    (void)state;
    edit_then_get_elsewhere_with("64");
}

static void no_cache_serves_the_same(void **state)
{
    (void)state;
    edit_then_get_elsewhere_with("0");
}

/* STATS counts what the cache did: a first GET misses, the same GET on
 * another connection (maybe on another worker) hits, a commit to one task
 * keeps every other task's entry, and only the changed task is read again.
 * The tutorial's GET/ has entries of its own, kept the same way. */
#define NTASKS 20

static void hits_counted_and_kept_across_commits(void **state)
{
    (void)state;
    struct server_proc sp;
    const char *const extra[] = {"--db", ":memory:", "--threads", "2", NULL};
    srv_start(&sp, extra);
    struct cli *a = cli_open(sp.port);
    struct cli *b = cli_open(sp.port);
    assert_non_null(a);
    assert_non_null(b);
    long ids[NTASKS];
    char req[128], want[128];
    for (int i = 0; i < NTASKS; i++) {
        snprintf(req, sizeof(req), "task-%d", i);
        ids[i] = add_task(a, req);
    }
    assert_true(srv_stat(a, "cache_hits") == 0);
    assert_true(srv_stat(a, "cache_misses") == 0);
    assert_true(srv_stat(a, "cache_entries") == 0);
    long long max = srv_stat(a, "cache_max_bytes");
    assert_true(max > 60LL * 1024 * 1024 && max <= 64LL * 1024 * 1024);

    for (int round = 0; round < 2; round++) {
        struct cli *c = round == 0 ? a : b;
        for (int i = 0; i < NTASKS; i++) {
            snprintf(req, sizeof(req), "GET %ld\n", ids[i]);
            snprintf(want, sizeof(want), "\"task-%d\"\r\n", i);
            if (strstr(cli_cmd(c, req), want) == NULL)
                fail_msg("round %d: GET %ld is not %s", round, ids[i], want);
        }
    }
    assert_true(srv_stat(a, "cache_misses") == NTASKS);
    assert_true(srv_stat(a, "cache_hits") == NTASKS);
    assert_true(srv_stat(a, "cache_entries") == NTASKS);
    assert_true(srv_stat(a, "cache_bytes") == NTASKS * 256);

    /* One task changes: the others stay hits, it alone is read again. */
    snprintf(req, sizeof(req), "EDIT %ld changed\n", ids[0]);
    snprintf(want, sizeof(want), "OK %ld\r\n", ids[0]);
    assert_string_equal(cli_cmd(a, req), want);
    for (int i = 0; i < NTASKS; i++) {
        snprintf(req, sizeof(req), "GET %ld\n", ids[i]);
        if (i == 0)
            snprintf(want, sizeof(want), "\"changed\"\r\n");
        else
            snprintf(want, sizeof(want), "\"task-%d\"\r\n", i);
        if (strstr(cli_cmd(b, req), want) == NULL)
            fail_msg("after the EDIT: GET %ld is not %s", ids[i], want);
    }
    assert_true(srv_stat(a, "cache_misses") == NTASKS + 1);
    assert_true(srv_stat(a, "cache_hits") == 2 * NTASKS - 1);

    /* The tutorial's form: its own entry, replaced after a POST/ from the
     * other connection. */
    snprintf(req, sizeof(req), "GET/%ld/status\n", ids[1]);
    assert_string_equal(cli_cmd(b, req), "task-1\r\n");
    assert_string_equal(cli_cmd(b, req), "task-1\r\n");
    char post[128];
    snprintf(post, sizeof(post), "POST/%ld=posted/status\n", ids[1]);
    assert_string_equal(cli_cmd(a, post), "submit success\r\n");
    assert_string_equal(cli_cmd(b, req), "posted\r\n");
    assert_string_equal(cli_cmd(b, req), "posted\r\n");
    assert_true(srv_stat(a, "cache_hits") == 2 * NTASKS - 1 + 2);
    assert_true(srv_stat(a, "cache_entries") == NTASKS + 1);

    cli_close(a);
    cli_close(b);
    int st = server_stop(&sp, SIGTERM);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* --cache-mb sets the memory: a small cache holds what fits and serves
 * the tasks it dropped from the store. */
static void small_cache_by_memory(void **state)
{
    (void)state;
    struct server_proc sp;
    const char *const extra[] = {"--db", ":memory:", "--threads", "2", "--cache-mb", "1", NULL};
    srv_start(&sp, extra);
    struct cli *c = cli_open(sp.port);
    assert_non_null(c);
    long long max = srv_stat(c, "cache_max_bytes");
    assert_true(max > 512 * 1024 && max <= 1024 * 1024);
    /* More tasks than 1 MiB of 256-byte entries holds. */
    enum { N = 6000 };
    static long ids[N];
    for (int i = 0; i < N; i++) {
        char text[32];
        snprintf(text, sizeof(text), "small-%d", i);
        ids[i] = add_task(c, text);
    }
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < N; i++) {
            char req[64], want[64];
            snprintf(req, sizeof(req), "GET %ld\n", ids[i]);
            snprintf(want, sizeof(want), "\"small-%d\"\r\n", i);
            if (strstr(cli_cmd(c, req), want) == NULL)
                fail_msg("round %d: GET %ld is not %s", round, ids[i], want);
        }
    long long bytes = srv_stat(c, "cache_bytes");
    assert_true(bytes > 0 && bytes <= max);
    assert_true(srv_stat(c, "cache_hits") > 0);
    assert_true(srv_stat(c, "cache_misses") > N);
    cli_close(c);
    int st = server_stop(&sp, SIGTERM);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* On one connection, pipelined in one send: a GET after an EDIT in the
 * same batch sees the edit (the cache is not used inside a batch), and a
 * GET before it does not. */
static void pipelined_own_write(void **state)
{
    (void)state;
    struct server_proc sp;
    const char *const extra[] = {"--db", ":memory:", "--threads", "2", NULL};
    srv_start(&sp, extra);
    struct cli *c = cli_open(sp.port);
    assert_non_null(c);
    long id = add_task(c, "p-start");
    char prev[64], want[64], got[512];
    snprintf(prev, sizeof(prev), "\"p-start\"\r\n");

    for (int i = 0; i < 300; i++) {
        char req[256];
        snprintf(req, sizeof(req), "GET %ld\nEDIT %ld p-%d\nGET %ld\nGET %ld\n", id, id, i, id, id);
        assert_int_equal(cli_send(c, req), 0);
        snprintf(want, sizeof(want), "\"p-%d\"\r\n", i);
        const char *expect[4] = {prev, NULL, want, want};
        for (int k = 0; k < 4; k++) {
            assert_true(cli_reply(c, got, sizeof(got), 10000) > 0);
            if (expect[k] == NULL) {
                if (strncmp(got, "OK ", 3) != 0)
                    fail_msg("round %d: EDIT: %s", i, got);
            } else if (strstr(got, expect[k]) == NULL) {
                fail_msg("round %d, reply %d: wanted %s, got %s", i, k, expect[k], got);
            }
        }
        snprintf(prev, sizeof(prev), "%s", want);
    }
    cli_close(c);
    int st = server_stop(&sp, SIGTERM);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* One writer thread and readers on other connections at once: a reader
 * that saw the writer's acknowledgement of edit n before it sent its GET
 * must read edit n or a later one. */
#define READERS 3
#define EDITS 1500

struct shared {
    int port;
    long id;
    atomic_int acked; /* the last edit number acknowledged; -1 none */
    atomic_int stop;
    atomic_int failures;
    char first[256];
    pthread_mutex_t lock;
};

static void record(struct shared *sh, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void record(struct shared *sh, const char *fmt, ...)
{
    if (atomic_fetch_add(&sh->failures, 1) == 0) {
        va_list ap;
        va_start(ap, fmt);
        pthread_mutex_lock(&sh->lock);
        vsnprintf(sh->first, sizeof(sh->first), fmt, ap);
        pthread_mutex_unlock(&sh->lock);
        va_end(ap);
    }
}

static void *writer_main(void *arg)
{
    struct shared *sh = arg;
    struct cli *c = cli_open(sh->port);
    if (c == NULL) {
        record(sh, "writer: cannot connect");
        atomic_store(&sh->stop, 1);
        return NULL;
    }
    for (int i = 0; i < EDITS && atomic_load(&sh->failures) == 0; i++) {
        char req[128];
        snprintf(req, sizeof(req), "EDIT %ld n%d\n", sh->id, i);
        const char *r = cli_cmd(c, req);
        if (strncmp(r, "OK ", 3) != 0) {
            record(sh, "writer: EDIT %d: %s", i, r);
            break;
        }
        atomic_store(&sh->acked, i);
    }
    atomic_store(&sh->stop, 1);
    cli_close(c);
    return NULL;
}

static void *reader_main(void *arg)
{
    struct shared *sh = arg;
    struct cli *c = cli_open(sh->port);
    if (c == NULL) {
        record(sh, "reader: cannot connect");
        return NULL;
    }
    char req[64];
    snprintf(req, sizeof(req), "GET %ld\n", sh->id);
    /* Bounded: the writer stops after EDITS edits; 200,000 reads at most. */
    for (int n = 0; n < 200000 && !atomic_load(&sh->stop); n++) {
        int before = atomic_load(&sh->acked);
        const char *r = cli_cmd(c, req);
        const char *q = strstr(r, "\"n");
        int seen = q ? atoi(q + 2) : -1;
        if (strncmp(r, "DATA 1\r\n", 8) != 0 || (q == NULL && before >= 0)) {
            record(sh, "reader: GET: %s", r);
            break;
        }
        if (seen < before) {
            record(sh, "reader: edit %d was acknowledged before the GET, which read %d", before,
                   seen);
            break;
        }
    }
    cli_close(c);
    return NULL;
}

static void readers_and_writer(void **state)
{
    (void)state;
    struct server_proc sp;
    char dir[512], db[600];
    static struct shared sh;

    make_tmpdir(dir, sizeof(dir));
    snprintf(db, sizeof(db), "%s/todo.db", dir);
    const char *const extra[] = {"--db", db, "--threads", "3", NULL};
    srv_start(&sp, extra);
    struct cli *c = cli_open(sp.port);
    assert_non_null(c);
    sh.port = sp.port;
    sh.id = add_task(c, "start");
    atomic_store(&sh.acked, -1);
    pthread_mutex_init(&sh.lock, NULL);

    pthread_t w, r[READERS];
    for (int i = 0; i < READERS; i++)
        assert_int_equal(pthread_create(&r[i], NULL, reader_main, &sh), 0);
    assert_int_equal(pthread_create(&w, NULL, writer_main, &sh), 0);
    pthread_join(w, NULL);
    for (int i = 0; i < READERS; i++)
        pthread_join(r[i], NULL);
    if (atomic_load(&sh.failures) > 0)
        fail_msg("%d failures; first: %s", atomic_load(&sh.failures), sh.first);
    assert_int_equal(atomic_load(&sh.acked), EDITS - 1);

    cli_close(c);
    int st = server_stop(&sp, SIGTERM);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    pthread_mutex_destroy(&sh.lock);
    rm_tree(dir);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(edit_then_get_elsewhere),
        cmocka_unit_test(no_cache_serves_the_same),
        cmocka_unit_test(hits_counted_and_kept_across_commits),
        cmocka_unit_test(small_cache_by_memory),
        cmocka_unit_test(pipelined_own_write),
        cmocka_unit_test(readers_and_writer),
    };
    return srv_test_main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]));
}
