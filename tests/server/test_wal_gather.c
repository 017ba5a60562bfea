/*
 * test_wal_gather.c - the WAL-gathering VFS (server/wal-gather.c) against
 * real SQLite connections: whatever a commit publishes must be in the WAL
 * file by the time COMMIT returns, whatever the commit's size, because
 * readers (and, after a crash, recovery) read the file, not the buffer.
 */
#include "wal-gather.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "../common/cmocka_analyzer.h"

#define PAGE 1024
#define FRAME (24 + PAGE)
#define WAL_HEADER 32

static char dir[256], db[300], wal[310];
static int frames; /* the WAL's size in frames after the last commit */

static int on_commit(void *arg, sqlite3 *h, const char *name, int n)
{
    (void)arg;
    (void)h;
    (void)name;
    frames = n;
    return SQLITE_OK;
}

static void exec(sqlite3 *h, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg ? msg : "?");
}

static sqlite3 *open_db(const char *path, const char *vfs)
{
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs),
                     SQLITE_OK);
    return h;
}

/* The server's settings: 1 KiB pages, WAL, no fsync at commit, and no
 * automatic checkpoints, so the WAL file only grows during a test. */
static sqlite3 *open_writer(void)
{
    sqlite3 *h = open_db(db, NULL);
    exec(h, "PRAGMA page_size=1024; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
            "PRAGMA wal_autocheckpoint=0;"
            "CREATE TABLE IF NOT EXISTS t(k INTEGER PRIMARY KEY, v BLOB NOT NULL)");
    sqlite3_wal_hook(h, on_commit, NULL);
    return h;
}

static int setup(void **state)
{
    (void)state;
    const char *base = getenv("TMPDIR");
    snprintf(dir, sizeof(dir), "%s/todo-walgather-XXXXXX", base && *base ? base : "/tmp");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(db, sizeof(db), "%s/t.db", dir);
    snprintf(wal, sizeof(wal), "%s-wal", db);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char path[400];
    static const char *const names[] = {"t.db",    "t.db-wal",    "t.db-shm",
                                        "copy.db", "copy.db-wal", "copy.db-shm"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
    return 0;
}

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* Commits of 1 to 160 new rows of 700 bytes each (about a page a row), so
 * that the last frame of some commit lands on every position of the
 * buffer, the one where its header fits and its page does not among them.
 * After each COMMIT the file must hold every frame, and another connection
 * must read every row. */
static void every_commit_is_in_the_file(void **state)
{
    (void)state;
    sqlite3 *w = open_writer();
    sqlite3 *r = open_db(db, NULL);
    sqlite3_stmt *ins, *count;
    assert_int_equal(
        sqlite3_prepare_v2(w, "INSERT INTO t(v) VALUES(zeroblob(700))", -1, &ins, NULL), SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(r, "SELECT count(*), sum(length(v)) FROM t", -1, &count, NULL),
        SQLITE_OK);
    long long rows = 0;
    for (int n = 1; n <= 160; n++) {
        exec(w, "BEGIN");
        for (int i = 0; i < n; i++) {
            assert_int_equal(sqlite3_step(ins), SQLITE_DONE);
            sqlite3_reset(ins);
        }
        exec(w, "COMMIT");
        rows += n;

        long long need = WAL_HEADER + (long long)frames * FRAME;
        if (file_size(wal) < need)
            fail_msg("commit of %d rows: the WAL file has %lld bytes, the commit published %d "
                     "frames (%lld bytes)",
                     n, file_size(wal), frames, need);
        int rc = sqlite3_step(count);
        if (rc != SQLITE_ROW)
            fail_msg("commit of %d rows: a reader gets %s (%d)", n, sqlite3_errmsg(r),
                     sqlite3_extended_errcode(r));
        assert_int_equal(sqlite3_column_int64(count, 0), rows);
        assert_int_equal(sqlite3_column_int64(count, 1), rows * 700);
        sqlite3_reset(count);
    }
    sqlite3_finalize(ins);
    sqlite3_finalize(count);
    assert_int_equal(sqlite3_close(r), SQLITE_OK);
    assert_int_equal(sqlite3_close(w), SQLITE_OK);
}

static void copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    assert_non_null(in);
    assert_non_null(out);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        assert_int_equal(fwrite(buf, 1, n, out), n);
    assert_int_equal(ferror(in), 0);
    fclose(in);
    assert_int_equal(fclose(out), 0);
}

/* A transaction larger than the writer's page cache spills pages into the
 * WAL before its commit; pages changed again after that are rewritten in
 * place, and at the commit SQLite rewrites the checksums of the frames
 * since then, the commit frame's among them. A crash right after COMMIT
 * (here: a copy of the files taken while the writer stays open, opened by
 * a new connection, which recovers the WAL from the file) must find the
 * commit whole. */
static void spilled_commit_survives_a_crash(void **state)
{
    (void)state;
    sqlite3 *w = open_writer();
    exec(w, "PRAGMA cache_size=10");
    exec(w, "BEGIN");
    exec(w, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300)"
            " INSERT INTO t(k, v) SELECT i, zeroblob(300) FROM n");
    /* The first rows' pages went to the WAL long ago: change them again. */
    exec(w, "UPDATE t SET v = zeroblob(301) WHERE k <= 20");
    exec(w, "COMMIT");

    char copy[400], copy_wal[410];
    snprintf(copy, sizeof(copy), "%s/copy.db", dir);
    snprintf(copy_wal, sizeof(copy_wal), "%s-wal", copy);
    copy_file(db, copy);
    copy_file(wal, copy_wal);

    /* The plain unix VFS, as a later server would meet the files. */
    sqlite3 *c = open_db(copy, "unix");
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(c, "SELECT count(*), sum(length(v)) FROM t", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int64(st, 0), 300);
    assert_int_equal(sqlite3_column_int64(st, 1), 300 * 300 + 20);
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_close(c), SQLITE_OK);
    assert_int_equal(sqlite3_close(w), SQLITE_OK);
}

/* The state a test expects: each key's value length, 0 when absent. */
#define KEYS 400
struct model {
    int len[KEYS + 1];
};

static void expect_state(sqlite3 *h, const struct model *m, const char *when)
{
    long long count = 0, sum = 0, weighted = 0;
    for (int k = 1; k <= KEYS; k++) {
        count += m->len[k] > 0;
        sum += m->len[k];
        weighted += (long long)k * m->len[k];
    }
    sqlite3_stmt *st;
    assert_int_equal(
        sqlite3_prepare_v2(h,
                           "SELECT count(*), total(length(v)), total(k * length(v)),"
                           " total(v <> CAST(printf('%.*c', length(v), char(65 + k % 26)) AS BLOB))"
                           " FROM t",
                           -1, &st, NULL),
        SQLITE_OK);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
        fail_msg("%s: reading gets %s (%d)", when, sqlite3_errmsg(h), sqlite3_extended_errcode(h));
    if (sqlite3_column_int64(st, 0) != count || sqlite3_column_int64(st, 1) != sum ||
        sqlite3_column_int64(st, 2) != weighted || sqlite3_column_int64(st, 3) != 0)
        fail_msg("%s: %lld rows, %lld bytes, weighted %lld, %lld bad values; expected %lld, %lld, "
                 "%lld, 0",
                 when, (long long)sqlite3_column_int64(st, 0),
                 (long long)sqlite3_column_int64(st, 1), (long long)sqlite3_column_int64(st, 2),
                 (long long)sqlite3_column_int64(st, 3), count, sum, weighted);
    sqlite3_finalize(st);
}

static uint64_t next_rand(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* 300 transactions of random size, some in a page cache small enough to
 * spill, with the WAL restarted now and then so that frames overwrite old
 * ones in the file: after each, a reader must see exactly what was
 * committed (a page left behind would show the old one), and now and then
 * a crash copy must recover to the same. */
static void random_commits_with_restarts(void **state)
{
    (void)state;
    static struct model m;
    memset(&m, 0, sizeof(m));
    sqlite3 *w = open_writer();
    sqlite3 *r = open_db(db, NULL);
    sqlite3 *c = open_db(db, NULL);
    sqlite3_stmt *put;
    assert_int_equal(
        sqlite3_prepare_v2(w,
                           "INSERT OR REPLACE INTO t(k, v)"
                           " VALUES(?1, CAST(printf('%.*c', ?2, char(65 + ?1 % 26)) AS BLOB))",
                           -1, &put, NULL),
        SQLITE_OK);
    char copy[400], copy_wal[410], when[64];
    snprintf(copy, sizeof(copy), "%s/copy.db", dir);
    snprintf(copy_wal, sizeof(copy_wal), "%s-wal", copy);
    uint64_t x = 0x9e3779b97f4a7c15ull;
    static const char *const caches[] = {"PRAGMA cache_size=5", "PRAGMA cache_size=40",
                                         "PRAGMA cache_size=2000"};

    for (int tx = 1; tx <= 300; tx++) {
        exec(w, caches[next_rand(&x) % 3]);
        exec(w, "BEGIN");
        int n = 1 + (int)(next_rand(&x) % 120);
        for (int i = 0; i < n; i++) {
            int k = 1 + (int)(next_rand(&x) % KEYS);
            int len = 50 + (int)(next_rand(&x) % 850);
            sqlite3_bind_int(put, 1, k);
            sqlite3_bind_int(put, 2, len);
            assert_int_equal(sqlite3_step(put), SQLITE_DONE);
            sqlite3_reset(put);
            m.len[k] = len;
        }
        exec(w, "COMMIT");
        snprintf(when, sizeof(when), "after transaction %d", tx);
        expect_state(r, &m, when);
        if (tx % 25 == 0) /* the next write starts the WAL over */
            exec(c, "PRAGMA wal_checkpoint(RESTART)");
        if (tx % 30 == 0) {
            copy_file(db, copy);
            copy_file(wal, copy_wal);
            sqlite3 *h = open_db(copy, "unix");
            snprintf(when, sizeof(when), "a crash after transaction %d", tx);
            expect_state(h, &m, when);
            assert_int_equal(sqlite3_close(h), SQLITE_OK);
            unlink(copy);
            unlink(copy_wal);
        }
    }
    sqlite3_finalize(put);
    assert_int_equal(sqlite3_close(c), SQLITE_OK);
    assert_int_equal(sqlite3_close(r), SQLITE_OK);
    assert_int_equal(sqlite3_close(w), SQLITE_OK);
}

int main(void)
{
    if (wal_gather_register() != SQLITE_OK) {
        fprintf(stderr, "cannot register the WAL-gathering VFS\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(every_commit_is_in_the_file, setup, teardown),
        cmocka_unit_test_setup_teardown(spilled_commit_survives_a_crash, setup, teardown),
        cmocka_unit_test_setup_teardown(random_commits_with_restarts, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
