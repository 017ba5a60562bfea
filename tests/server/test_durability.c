/*
 * test_durability.c - what was acknowledged stays: across a clean restart,
 * across SIGTERM in the middle of requests, and across kill -9 during a
 * write load. A database from a newer schema is refused.
 */
/* prlimit (sys/resource.h). */
#define _GNU_SOURCE
#include "srv_test.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[512];
static char db[600];

static int make_dir(void **state)
{
    (void)state;
    make_tmpdir(dir, sizeof(dir));
    snprintf(db, sizeof(db), "%s/todo.db", dir);
    return 0;
}

static int remove_dir(void **state)
{
    (void)state;
    srv_kill_left();
    rm_tree(dir);
    return 0;
}

static void start_file(struct server_proc *p)
{
    const char *const extra[] = {"--db", db, NULL};
    srv_start(p, extra);
}

static void stop_clean(struct server_proc *p)
{
    int st = server_stop(p, SIGTERM);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

/* Sends the n bytes of requests in buf at once and checks that the first
 * `replies` replies are all OK. */
static void send_expect_ok(struct cli *c, const char *buf, size_t n, int replies)
{
    assert_int_equal(sock_send_all(c->fd, buf, n), 0);
    for (int i = 0; i < replies; i++) {
        char line[256];
        assert_true(cli_line(c, line, sizeof(line), 10000) > 0);
        if (strncmp(line, "OK", 2) != 0)
            fail_msg("reply %d: %s", i, line);
    }
}

/* Starts a server on the test's database (with extra options, or none),
 * and returns how many tasks it has; stops it cleanly. */
static long long tasks_after_restart(const char *const *extra)
{
    const char *const plain[] = {"--db", db, NULL};
    struct server_proc p;
    srv_start(&p, extra ? extra : plain);
    struct cli *c = cli_open(p.port);
    assert_non_null(c);
    long long n = srv_stat(c, "tasks");
    cli_close(c);
    stop_clean(&p);
    return n;
}

/* Runs sql on the test's database file with SQLite directly, as another
 * program (or an older server) would have left it. */
static void db_exec(const char *sql)
{
    sqlite3 *h;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg ? msg : sqlite3_errmsg(h));
    sqlite3_close(h);
}

static long add(struct cli *c, const char *req)
{
    const char *r = cli_cmd(c, req);
    assert_true(strncmp(r, "OK ", 3) == 0);
    return atol(r + 3);
}

static void restart_keeps_data(void **state)
{
    (void)state;
    struct server_proc p;
    static char before[64 * 1024];
    char req[128];

    start_file(&p);
    struct cli *c = cli_open(p.port);
    assert_non_null(c);
    long a = add(c, "ADD first +one due:2026-12-01 pri:high\n");
    long b = add(c, "ADD second +two\n");
    long last = add(c, "ADD third\n");
    assert_int_equal(b, a + 1);
    snprintf(req, sizeof(req), "DONE %ld\n", b);
    assert_true(strncmp(cli_cmd(c, req), "OK ", 3) == 0);
    assert_string_equal(cli_cmd(c, "POST/task_09=from the tutorial/x\n"), "submit success\r\n");
    snprintf(req, sizeof(req), "DEL %ld\n", last);
    assert_true(strncmp(cli_cmd(c, req), "OK ", 3) == 0);
    snprintf(before, sizeof(before), "%s", cli_cmd(c, "LIST all\n"));
    assert_true(strncmp(before, "DATA 3\r\n", 8) == 0);
    cli_close(c);
    stop_clean(&p);

    start_file(&p);
    c = cli_open(p.port);
    assert_non_null(c);
    assert_string_equal(cli_cmd(c, "LIST all\n"), before);
    assert_string_equal(cli_cmd(c, "GET/task_09/status\n"), "from the tutorial\r\n");
    assert_string_equal(cli_cmd(c, "TAGS\n"), "DATA 2\r\none 1\r\ntwo 1\r\n");
    /* The id of the deleted task is not handed out again. */
    assert_int_equal(add(c, "ADD fourth\n"), last + 1);
    cli_close(c);
    stop_clean(&p);
}

/* SIGTERM while requests are in flight: what was answered is kept, and the
 * server exits 0. */
static void sigterm_mid_load(void **state)
{
    (void)state;
    struct server_proc p;
    static char buf[200 * 40];
    size_t n = 0;

    start_file(&p);
    struct cli *c = cli_open(p.port);
    assert_non_null(c);
    for (int i = 0; i < 200; i++)
        n += (size_t)sprintf(buf + n, "ADD term %d\n", i);
    assert_int_equal(sock_send_all(c->fd, buf, n), 0);
    char line[128];
    assert_true(cli_line(c, line, sizeof(line), 5000) > 0);
    assert_int_equal(kill(p.pid, SIGTERM), 0);
    long ids[200];
    int acked = 0;
    ids[acked++] = atol(line + 3);
    while (acked < 200 && cli_line(c, line, sizeof(line), 5000) > 0) {
        assert_true(strncmp(line, "OK ", 3) == 0);
        ids[acked++] = atol(line + 3);
    }
    cli_close(c);
    stop_clean(&p); /* already stopping; this reaps it and checks the status */

    start_file(&p);
    c = cli_open(p.port);
    assert_non_null(c);
    for (int i = 0; i < acked; i++) {
        char req[64], want[64];
        snprintf(req, sizeof(req), "GET %ld\n", ids[i]);
        snprintf(want, sizeof(want), "\"term %d\"\r\n", i);
        assert_non_null(strstr(cli_cmd(c, req), want));
    }
    cli_close(c);
    stop_clean(&p);
}

/* kill -9 during a write load: every acknowledged write is there after. */
#define KILL_THREADS 8
#define KILL_MAX 20000

struct loader {
    int port, k;
    long ids[KILL_MAX];
    int acked;
    pthread_t t;
};

static void *load(void *arg)
{
    struct loader *l = arg;
    struct cli *c = cli_open(l->port);
    if (c == NULL)
        return NULL;
    char req[64], line[128];
    /* Pipelined in small windows, as a busy client would. */
    for (int i = 0; i + 10 <= KILL_MAX; i += 10) {
        char win[640];
        size_t n = 0;
        for (int j = 0; j < 10; j++)
            n += (size_t)snprintf(win + n, sizeof(win) - n, "ADD kill %d %d\n", l->k, i + j);
        (void)req;
        if (sock_send_all(c->fd, win, n) != 0)
            break;
        for (int j = 0; j < 10; j++) {
            if (cli_line(c, line, sizeof(line), 5000) <= 0 || strncmp(line, "OK ", 3) != 0)
                goto out;
            l->ids[l->acked++] = atol(line + 3);
        }
    }
out:
    cli_close(c);
    return NULL;
}

static void kill9_keeps_acknowledged(void **state)
{
    (void)state;
    struct server_proc p;
    static struct loader ls[KILL_THREADS];

    start_file(&p);
    for (int k = 0; k < KILL_THREADS; k++) {
        ls[k].port = p.port;
        ls[k].k = k;
        ls[k].acked = 0;
        assert_int_equal(pthread_create(&ls[k].t, NULL, load, &ls[k]), 0);
    }
    usleep(500 * 1000);
    int st = server_stop(&p, SIGKILL);
    assert_true(WIFSIGNALED(st));
    int total = 0;
    for (int k = 0; k < KILL_THREADS; k++) {
        pthread_join(ls[k].t, NULL);
        total += ls[k].acked;
    }
    assert_true(total > 0);

    start_file(&p);
    struct cli *c = cli_open(p.port);
    assert_non_null(c);
    /* Ask for all of them pipelined, then check each answer. */
    for (int k = 0; k < KILL_THREADS; k++) {
        for (int i = 0; i < ls[k].acked; i += 100) {
            char buf[100 * 32];
            size_t n = 0;
            int m = ls[k].acked - i < 100 ? ls[k].acked - i : 100;
            for (int j = 0; j < m; j++)
                n += (size_t)sprintf(buf + n, "GET %ld\n", ls[k].ids[i + j]);
            assert_int_equal(sock_send_all(c->fd, buf, n), 0);
            for (int j = 0; j < m; j++) {
                char reply[512], want[64];
                assert_true(cli_reply(c, reply, sizeof(reply), 5000) > 0);
                snprintf(want, sizeof(want), "\"kill %d %d\"\r\n", k, i + j);
                if (strstr(reply, want) == NULL)
                    fail_msg("acknowledged write %ld (%s) lost: %s", ls[k].ids[i + j], want, reply);
            }
        }
    }
    long long tasks = srv_stat(c, "tasks");
    assert_true(tasks >= total);
    /* Ids are reserved in blocks; a crash skips the rest of a block but
     * never hands out an id again: a new ADD's id is above every one
     * acknowledged before the kill. */
    long max_acked = 0;
    for (int k = 0; k < KILL_THREADS; k++)
        for (int i = 0; i < ls[k].acked; i++)
            if (ls[k].ids[i] > max_acked)
                max_acked = ls[k].ids[i];
    long fresh = add(c, "ADD after the crash\n");
    if (fresh <= max_acked)
        fail_msg("id %ld handed out after the crash; %ld was acknowledged before it", fresh,
                 max_acked);
    print_message("kill -9 after %d acknowledged writes; all found (%lld tasks on disk)\n", total,
                  tasks);
    cli_close(c);
    stop_clean(&p);
}

/* A database written by a newer server is refused, and left untouched. */
static void newer_schema_refused(void **state)
{
    (void)state;
    db_exec("CREATE TABLE future(x); PRAGMA user_version = 99");

    static char out[4096], err[4096];
    const char *args[] = {"--port", "0", "--db", db, NULL};
    int st = srv_run(args, out, sizeof(out), err, sizeof(err), 5000);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 1);
    assert_non_null(strstr(err, "schema version 99"));
    assert_null(strstr(out, "listening"));

    sqlite3 *h;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(h, "PRAGMA user_version", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(s, 0), 99);
    sqlite3_finalize(s);
    sqlite3_close(h);
}

/* A second server on the same database is refused at once with a message
 * that says why, and the first goes on serving. */
static void second_server_refused(void **state)
{
    (void)state;
    struct server_proc p;
    start_file(&p);
    struct cli *c = cli_open(p.port);
    assert_non_null(c);
    assert_string_equal(cli_cmd(c, "ADD first\n"), "OK 1\r\n");

    static char out[4096], err[4096];
    const char *args[] = {"--port", "0", "--db", db, NULL};
    int st = srv_run(args, out, sizeof(out), err, sizeof(err), 3000);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 1);
    assert_non_null(strstr(err, "in use by another process"));
    assert_null(strstr(out, "listening"));

    assert_string_equal(cli_cmd(c, "ADD second\n"), "OK 2\r\n");
    cli_close(c);
    stop_clean(&p);
}

/* Starts a server on the file database whose writes may not pass a file
 * size limit of limit bytes (set for the server alone: it inherits it, and
 * the test's own limit is put back at once); *old gets the limit as it was,
 * for prlimit() to give the server room again. */
static void start_file_fsize(struct server_proc *p, rlim_t limit, struct rlimit *old)
{
    struct rlimit lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, old), 0);
    lim = *old;
    lim.rlim_cur = limit;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    start_file(p);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, old), 0);
}

/* Sends ADDs of 100 bytes of text until three are refused with ERR STORE
 * (5,000 bound the loop); nothing may be acknowledged after a refusal, and
 * with consecutive set each acknowledged id is the one after the last.
 * Returns how many were acknowledged. */
static long fill_until_refused(struct cli *c, int consecutive)
{
    char req[160];
    long acked = 0, refused = 0;
    for (int i = 0; i < 5000 && refused < 3; i++) {
        snprintf(req, sizeof(req), "ADD task %d %s\n", i,
                 "filling the disk with text, filling the disk with text, filling the disk");
        const char *r = cli_cmd(c, req);
        if (strncmp(r, "OK ", 3) == 0) {
            assert_int_equal(refused, 0);
            if (consecutive)
                assert_int_equal(atol(r + 3), acked + 1);
            acked++;
        } else {
            assert_true(strncmp(r, "ERR STORE ", 10) == 0);
            refused++;
        }
    }
    assert_int_equal(refused, 3);
    return acked;
}

/* When the disk is full (here: a file size limit, as ulimit -f sets),
 * writes are answered ERR STORE, reads go on, and every write that was
 * acknowledged before is there after a restart, none of the refused ones. */
static void full_disk_refuses_writes(void **state)
{
    (void)state;
    struct server_proc p;
    struct rlimit old;
    char line[512];

    /* 256 KiB are used up within about a thousand writes of 100 bytes. */
    start_file_fsize(&p, 256 * 1024, &old);
    struct cli *c = cli_open(p.port);
    assert_non_null(c);
    long acked = fill_until_refused(c, 0);
    assert_true(acked > 0);
    /* Reads and other clients are still served. */
    assert_string_equal(cli_cmd(c, "PING\n"), "OK PONG\r\n");
    struct cli *c2 = cli_open(p.port);
    assert_non_null(c2);
    assert_int_equal(cli_send(c2, "GET 1\n"), 0);
    assert_true(cli_line(c2, line, sizeof(line), 5000) > 0);
    assert_string_equal(line, "DATA 1\r\n");
    cli_close(c2);
    cli_close(c);
    server_stop(&p, SIGTERM); /* its last checkpoint may fail: the limit still holds */

    assert_int_equal(tasks_after_restart(NULL), acked);
}

/* A batch that fails (here: its commit passes a file size limit) gives
 * its ids back: once the server can write again (the limit is raised
 * under it with prlimit), the next ADD gets the number after the last
 * one acknowledged, not the start of the next block of 1,000. */
static void ids_after_failed_batch(void **state)
{
    (void)state;
    struct server_proc p;
    struct rlimit old;
    char req[160];

    /* 128 KiB are used up within a few hundred writes of 100 bytes (fewer
     * than the 1,000 ids of a block). */
    start_file_fsize(&p, 128 * 1024, &old);
    struct cli *c = cli_open(p.port);
    assert_non_null(c);
    long acked = fill_until_refused(c, 1);
    assert_true(acked > 0 && acked < 1000);
    assert_int_equal(prlimit(p.pid, RLIMIT_FSIZE, &old, NULL), 0);
    snprintf(req, sizeof(req), "OK %ld\r\n", acked + 1);
    assert_string_equal(cli_cmd(c, "ADD once there is room\n"), req);
    cli_close(c);
    stop_clean(&p);

    /* A clean stop gives the rest of the block back, as before. */
    start_file(&p);
    c = cli_open(p.port);
    assert_non_null(c);
    snprintf(req, sizeof(req), "OK %ld\r\n", acked + 2);
    assert_string_equal(cli_cmd(c, "ADD after a restart\n"), req);
    cli_close(c);
    stop_clean(&p);
}

/* Thousands of writes pipelined in one send share a few commits of
 * megabytes of WAL: all are acknowledged and all are there after a restart
 * (a commit larger than the VFS's write size once failed as "disk full"). */
static void big_batches(void **state)
{
    (void)state;
    enum { N = 4000 };
    static char buf[N * 128];
    size_t n = 0;
    struct server_proc p;

    start_file(&p);
    struct cli *c = cli_open(p.port);
    assert_non_null(c);
    for (int i = 0; i < N; i++)
        n += (size_t)sprintf(buf + n, "ADD batch task %d, some words to fill its page +t%d\n", i,
                             i % 50);
    send_expect_ok(c, buf, n, N);
    cli_close(c);
    stop_clean(&p);

    assert_int_equal(tasks_after_restart(NULL), N);
}

/* Under a steady load of writes the WAL does not grow without end: the
 * server checkpoints it and starts it over. 16 clients, each waiting for
 * its reply, edit random tasks, so each commit writes about one 1 KiB page
 * per edit: 200,000 edits would leave a WAL of some 207 MB if it were never
 * started over. The WAL header counts the times it was (bytes 12-15). It
 * stays under about 50 MB while the low-priority checkpoint thread keeps
 * up; when it cannot (two of these tests at once on 2 cores), writers wait
 * at 96,000 frames, about 100 MB. */
static void wal_stays_bounded(void **state)
{
    (void)state;
    enum { TASKS = 5000, CONNS = 16, EDITS = 200000 };
    static char buf[TASKS * 40];
    size_t n = 0;
    struct server_proc p;
    struct cli *c[CONNS];

    start_file(&p);
    for (int i = 0; i < CONNS; i++) {
        c[i] = cli_open(p.port);
        assert_non_null(c[i]);
    }
    for (int i = 0; i < TASKS; i++)
        n += (size_t)sprintf(buf + n, "ADD task %d\n", i);
    send_expect_ok(c[0], buf, n, TASKS);
    char line[256];

    unsigned seed = 1;
    for (int done = 0; done < EDITS; done += CONNS) {
        for (int i = 0; i < CONNS; i++) {
            char req[64];
            int len = snprintf(req, sizeof(req), "EDIT %d edit %d\n",
                               1 + (int)(rand_r(&seed) % TASKS), done + i);
            assert_int_equal(sock_send_all(c[i]->fd, req, (size_t)len), 0);
        }
        for (int i = 0; i < CONNS; i++) {
            assert_true(cli_line(c[i], line, sizeof(line), 10000) > 0);
            if (strncmp(line, "OK", 2) != 0)
                fail_msg("edit %d: %s", done + i, line);
        }
    }

    char wal[700];
    snprintf(wal, sizeof(wal), "%s-wal", db);
    struct stat st;
    assert_int_equal(stat(wal, &st), 0);
    unsigned char hdr[16];
    FILE *f = fopen(wal, "rb");
    assert_non_null(f);
    assert_int_equal(fread(hdr, 1, sizeof(hdr), f), sizeof(hdr));
    fclose(f);
    unsigned long restarts = (unsigned long)hdr[12] << 24 | (unsigned long)hdr[13] << 16 |
                             (unsigned long)hdr[14] << 8 | hdr[15];
    if (restarts < 1 || st.st_size > 110L * 1024 * 1024)
        fail_msg("WAL of %lld bytes, started over %lu times", (long long)st.st_size, restarts);
    print_message("WAL of %lld bytes, started over %lu times\n", (long long)st.st_size, restarts);

    for (int i = 0; i < CONNS; i++)
        cli_close(c[i]);
    stop_clean(&p);
}

/* A file that is not a database at all is reported, not overwritten. */
static void not_a_database(void **state)
{
    (void)state;
    FILE *f = fopen(db, "w");
    assert_non_null(f);
    fputs("this is a shopping list, not a database\n", f);
    fclose(f);
    static char out[4096], err[4096];
    const char *args[] = {"--port", "0", "--db", db, NULL};
    int st = srv_run(args, out, sizeof(out), err, sizeof(err), 5000);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 1);
    assert_non_null(strstr(err, db));
}

/* --sync full runs and keeps what it acknowledged across a restart. */
static void sync_full(void **state)
{
    (void)state;
    struct server_proc p;
    const char *const extra[] = {"--db", db, "--sync", "full", NULL};
    static char buf[50 * 32];
    size_t n = 0;

    srv_start(&p, extra);
    struct cli *c = cli_open(p.port);
    assert_non_null(c);
    for (int i = 0; i < 50; i++)
        n += (size_t)sprintf(buf + n, "ADD full %d\n", i);
    send_expect_ok(c, buf, n, 50);
    cli_close(c);
    stop_clean(&p);
    assert_int_equal(tasks_after_restart(extra), 50);
}

/* A database of an older schema (here version 0: a file with someone
 * else's table) is upgraded in place, keeping what was there. */
static void older_schema_upgraded(void **state)
{
    (void)state;
    db_exec("CREATE TABLE notes(x); INSERT INTO notes VALUES('kept')");

    struct server_proc p;
    start_file(&p);
    struct cli *c = cli_open(p.port);
    assert_non_null(c);
    assert_string_equal(cli_cmd(c, "ADD upgraded\n"), "OK 1\r\n");
    cli_close(c);
    stop_clean(&p);

    sqlite3 *h;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    sqlite3_stmt *s;
    assert_int_equal(
        sqlite3_prepare_v2(
            h,
            "SELECT (SELECT x FROM notes), (SELECT user_version FROM pragma_user_version),"
            " (SELECT count(*) FROM users)",
            -1, &s, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(s, 0), "kept");
    /* Step 4 (accounts) made the users table, empty: nobody was added;
     * step 5 the lists, step 6 keyed undo_old by list. */
    assert_int_equal(sqlite3_column_int(s, 1), 6);
    assert_int_equal(sqlite3_column_int(s, 2), 0);
    sqlite3_finalize(s);
    sqlite3_close(h);
}

/* A database of schema version 5, whose undo_old was keyed (task_id,
 * seq) with an index by list, is upgraded to version 6 (keyed by list
 * first) with its UNDO history whole: an older change of a task that was
 * changed again, and a deleted task, both kept in undo_old, come back. */
static void version5_undo_history_upgraded(void **state)
{
    (void)state;
    struct server_proc p;
    start_file(&p);
    struct cli *c = cli_open(p.port);
    assert_non_null(c);
    assert_string_equal(cli_cmd(c, "ADD first\n"), "OK 1\r\n");
    assert_string_equal(cli_cmd(c, "EDIT 1 second\n"), "OK 1\r\n");
    assert_string_equal(cli_cmd(c, "EDIT 1 third +t\n"), "OK 1\r\n");
    assert_string_equal(cli_cmd(c, "DEL 1\n"), "OK 1\r\n");
    cli_close(c);
    stop_clean(&p);
    /* undo_old as version 5 had it, with the same rows. */
    db_exec("CREATE TABLE undo_old_5(task_id TEXT NOT NULL, seq INTEGER NOT NULL,"
            " kind INTEGER NOT NULL, b INTEGER NOT NULL, text TEXT, done INTEGER, pri INTEGER,"
            " due TEXT, created INTEGER, updated INTEGER, tags TEXT, ver INTEGER,"
            " list TEXT NOT NULL DEFAULT '', PRIMARY KEY(task_id, seq)) WITHOUT ROWID;"
            "INSERT INTO undo_old_5 SELECT * FROM undo_old;"
            "DROP TABLE undo_old;"
            "ALTER TABLE undo_old_5 RENAME TO undo_old;"
            "CREATE INDEX undo_old_by_list ON undo_old(list, seq);"
            "PRAGMA user_version = 5;");

    start_file(&p);
    c = cli_open(p.port);
    assert_non_null(c);
    assert_string_equal(cli_cmd(c, "UNDO\n"), "OK undid del 1\r\n");
    assert_non_null(strstr(cli_cmd(c, "GET 1\n"), "1 pending - - t "));
    assert_non_null(strstr(cli_cmd(c, "GET 1\n"), "\"third\""));
    assert_string_equal(cli_cmd(c, "UNDO\n"), "OK undid edit 1\r\n");
    assert_non_null(strstr(cli_cmd(c, "GET 1\n"), "\"second\""));
    assert_string_equal(cli_cmd(c, "UNDO\n"), "OK undid edit 1\r\n");
    assert_non_null(strstr(cli_cmd(c, "GET 1\n"), "\"first\""));
    assert_string_equal(cli_cmd(c, "UNDO\n"), "OK undid add 1\r\n");
    assert_true(strncmp(cli_cmd(c, "UNDO\n"), "ERR NOTFOUND nothing to undo", 28) == 0);
    cli_close(c);
    stop_clean(&p);

    sqlite3 *h;
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(h,
                                        "SELECT (SELECT user_version FROM pragma_user_version),"
                                        " (SELECT count(*) FROM sqlite_schema WHERE name ="
                                        " 'undo_old_by_list'), (SELECT count(*) FROM undo_old)",
                                        -1, &s, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(s, 0), 6);
    assert_int_equal(sqlite3_column_int(s, 1), 0);
    assert_int_equal(sqlite3_column_int(s, 2), 0); /* every copy used, and forgotten */
    sqlite3_finalize(s);
    sqlite3_close(h);
}

/* A database of schema version 1, as the first release wrote it (tags in
 * task_tags only), is upgraded to version 2: every task shows the tags it
 * had, in name order, and tag changes made afterwards show too. */
static void version1_tags_upgraded(void **state)
{
    (void)state;
    db_exec("PRAGMA journal_mode=WAL;"
            "CREATE TABLE tasks(id TEXT PRIMARY KEY, text TEXT NOT NULL,"
            " done INTEGER NOT NULL DEFAULT 0, pri INTEGER NOT NULL DEFAULT 0, due TEXT,"
            " created INTEGER NOT NULL, updated INTEGER NOT NULL);"
            "CREATE INDEX tasks_by_done ON tasks(done, created);"
            "CREATE TABLE task_tags(task_id TEXT NOT NULL, tag TEXT NOT NULL,"
            " PRIMARY KEY(task_id, tag)) WITHOUT ROWID;"
            "CREATE INDEX task_tags_by_tag ON task_tags(tag);"
            "CREATE TABLE meta(next_id INTEGER NOT NULL);"
            "INSERT INTO meta(next_id) VALUES(3);"
            "INSERT INTO tasks VALUES('1', 'tagged', 0, 0, NULL, 1700000000, 1700000000);"
            "INSERT INTO tasks VALUES('2', 'plain', 1, 3, '2026-12-01', 1700000001,"
            " 1700000001);"
            "INSERT INTO task_tags VALUES('1', 'zeta'), ('1', 'alpha'), ('1', 'mid');"
            "PRAGMA user_version = 1;");

    struct server_proc p;
    start_file(&p);
    struct cli *c = cli_open(p.port);
    assert_non_null(c);
    assert_string_equal(cli_cmd(c, "LIST all\n"),
                        "DATA 2\r\n"
                        "1 pending - - alpha,mid,zeta 2023-11-14T22:13:20Z 2023-11-14T22:13:20Z "
                        "\"tagged\"\r\n"
                        "2 done high 2026-12-01 - 2023-11-14T22:13:21Z 2023-11-14T22:13:21Z "
                        "\"plain\"\r\n");
    /* cli_cmd's reply buffer is reused: keep the first reply. */
    char got[512];
    snprintf(got, sizeof(got), "%s", cli_cmd(c, "GET 1\n"));
    static const char want[] = "DATA 1\r\n1 pending - - alpha,mid,zeta ";
    assert_true(strncmp(got, want, sizeof(want) - 1) == 0);
    assert_string_equal(cli_cmd(c, "LIST all +mid\n"), got);
    assert_string_equal(cli_cmd(c, "ADD third +b +a +b\n"), "OK 3\r\n");
    assert_string_equal(cli_cmd(c, "EDIT 1 -zeta -mid +beta\n"), "OK 1\r\n");
    assert_string_equal(cli_cmd(c, "EDIT 2 +solo\n"), "OK 2\r\n");
    assert_string_equal(cli_cmd(c, "EDIT 2 -solo\n"), "OK 2\r\n");
    cli_close(c);
    stop_clean(&p);

    /* What the clients saw was written down, not only held in memory. */
    start_file(&p);
    c = cli_open(p.port);
    assert_non_null(c);
    assert_non_null(strstr(cli_cmd(c, "GET 1\n"), "1 pending - - alpha,beta 2023-11-14T22:13:20Z"));
    assert_non_null(strstr(cli_cmd(c, "GET 2\n"), "2 done high 2026-12-01 - "));
    assert_non_null(strstr(cli_cmd(c, "GET 3\n"), "3 pending - - a,b "));
    assert_string_equal(cli_cmd(c, "TAGS\n"), "DATA 4\r\na 1\r\nalpha 1\r\nb 1\r\nbeta 1\r\n");
    cli_close(c);
    stop_clean(&p);
}

/* A database of schema version 2 (before UNDO, accounts and lists) keeps
 * every task, with its id, tags and times, in the default list that a
 * server without users serves; ADD goes on from its counter, and the new
 * steps work on it (UNDO of a change made after the upgrade). */
static void version2_keeps_every_task(void **state)
{
    (void)state;
    db_exec("PRAGMA journal_mode=WAL;"
            "CREATE TABLE tasks(id TEXT PRIMARY KEY, text TEXT NOT NULL,"
            " done INTEGER NOT NULL DEFAULT 0, pri INTEGER NOT NULL DEFAULT 0, due TEXT,"
            " created INTEGER NOT NULL, updated INTEGER NOT NULL, tags TEXT);"
            "CREATE INDEX tasks_by_done ON tasks(done, created);"
            "CREATE TABLE task_tags(task_id TEXT NOT NULL, tag TEXT NOT NULL,"
            " PRIMARY KEY(task_id, tag)) WITHOUT ROWID;"
            "CREATE INDEX task_tags_by_tag ON task_tags(tag);"
            "CREATE TABLE meta(next_id INTEGER NOT NULL);"
            "INSERT INTO meta(next_id) VALUES(8);"
            "INSERT INTO tasks VALUES('1', 'one', 0, 0, NULL, 1700000000, 1700000000, 'home');"
            "INSERT INTO tasks VALUES('7', 'seven', 1, 3, '2026-12-01', 1700000001, 1700000002,"
            " NULL);"
            "INSERT INTO tasks VALUES('task_01', 'tutorial', 0, 0, NULL, 1700000003, 1700000003,"
            " NULL);"
            "INSERT INTO task_tags VALUES('1', 'home');"
            "PRAGMA user_version = 2;");

    struct server_proc p;
    start_file(&p);
    struct cli *c = cli_open(p.port);
    assert_non_null(c);
    assert_string_equal(cli_cmd(c, "LIST all\n"),
                        "DATA 3\r\n"
                        "1 pending - - home 2023-11-14T22:13:20Z 2023-11-14T22:13:20Z \"one\"\r\n"
                        "7 done high 2026-12-01 - 2023-11-14T22:13:21Z 2023-11-14T22:13:22Z "
                        "\"seven\"\r\n"
                        "task_01 pending - - - 2023-11-14T22:13:23Z 2023-11-14T22:13:23Z "
                        "\"tutorial\"\r\n");
    assert_string_equal(cli_cmd(c, "GET/task_01/status\n"), "tutorial\r\n");
    assert_string_equal(cli_cmd(c, "TAGS\n"), "DATA 1\r\nhome 1\r\n");
    assert_string_equal(cli_cmd(c, "ADD eight +home\n"), "OK 8\r\n");
    static const char home[] =
        "DATA 2\r\n"
        "1 pending - - home 2023-11-14T22:13:20Z 2023-11-14T22:13:20Z \"one\"\r\n"
        "8 pending - - home ";
    assert_true(strncmp(cli_cmd(c, "LIST +home\n"), home, sizeof(home) - 1) == 0);
    assert_string_equal(cli_cmd(c, "DEL 7\n"), "OK 7\r\n");
    assert_string_equal(cli_cmd(c, "UNDO\n"), "OK undid del 7\r\n");
    assert_non_null(strstr(cli_cmd(c, "GET 7\n"), "7 done high 2026-12-01 - 2023-11-14T22:13:21Z"));
    assert_true(strncmp(cli_cmd(c, "LIST all\n"), "DATA 4\r\n", 8) == 0);
    cli_close(c);
    stop_clean(&p);
}

/* The -wal file's size, or -1 when there is none. */
static long long wal_size(void)
{
    char wal[700];
    struct stat st;
    snprintf(wal, sizeof(wal), "%s-wal", db);
    return stat(wal, &st) == 0 ? (long long)st.st_size : -1;
}

/* Opens the database with SQLite itself, as the sqlite3 shell would, and
 * counts its tasks (fails the test if it cannot read them). */
static long long sqlite_count_tasks(void)
{
    sqlite3 *h;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    if (sqlite3_prepare_v2(h, "SELECT count(*) FROM tasks", -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s", sqlite3_errmsg(h));
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    long long n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return n;
}

/* Starts a server on the test's database with its stderr (its log) going
 * to the file at log. */
static void start_logged(struct server_proc *p, const char *log)
{
    int saved = dup(2);
    assert_true(saved >= 0);
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_true(dup2(fd, 2) == 2);
    close(fd);
    const char *const extra[] = {"--db", db, NULL};
    int rc = server_start(p, srv_bin, extra);
    assert_true(dup2(saved, 2) == 2);
    close(saved);
    assert_int_equal(rc, 0);
}

static int file_has(const char *path, const char *needle)
{
    static char text[256 * 1024];
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    return strstr(text, needle) != NULL;
}

/* A clean stop folds the WAL into the database: no -wal file (or an empty
 * one) is left, and SQLite reads every task from the database alone. */
static void stop_folds_wal(void **state)
{
    (void)state;
    enum { N = 300 };
    static char buf[N * 40];
    size_t n = 0;
    struct server_proc p;
    start_file(&p);
    struct cli *c = cli_open(p.port);
    assert_non_null(c);
    for (int i = 0; i < N; i++)
        n += (size_t)sprintf(buf + n, "ADD folded task %d\n", i);
    send_expect_ok(c, buf, n, N);
    assert_true(wal_size() > 0); /* fewer frames than a checkpoint waits for */
    cli_close(c);
    stop_clean(&p);
    assert_true(wal_size() <= 0);
    assert_int_equal(sqlite_count_tasks(), N);
}

/* When the database cannot grow at the stop (a full disk; here the file
 * size limit lowered under the running server), the WAL cannot be folded
 * in: the server says so in its log, still exits 0, and the WAL keeps
 * every acknowledged write, which the next server folds in at its own
 * clean stop. */
static void stop_on_full_disk_keeps_wal(void **state)
{
    (void)state;
    enum { N = 300 };
    static char buf[N * 90];
    char log[700];
    size_t n = 0;
    struct server_proc p;
    struct stat st;
    snprintf(log, sizeof(log), "%s/server.log", dir);
    start_logged(&p, log);
    struct cli *c = cli_open(p.port);
    assert_non_null(c);
    for (int i = 0; i < N; i++)
        n +=
            (size_t)sprintf(buf + n, "ADD task %d that the database file has no room for yet\n", i);
    send_expect_ok(c, buf, n, N);
    cli_close(c);
    /* The database itself is still small (nothing was checkpointed): at its
     * present size it cannot take the pages the WAL holds. */
    assert_int_equal(stat(db, &st), 0);
    struct rlimit lim = {(rlim_t)st.st_size, (rlim_t)st.st_size};
    struct rlimit hard;
    assert_int_equal(prlimit(p.pid, RLIMIT_FSIZE, NULL, &hard), 0);
    lim.rlim_max = hard.rlim_max;
    assert_int_equal(prlimit(p.pid, RLIMIT_FSIZE, &lim, NULL), 0);
    stop_clean(&p);
    assert_true(file_has(log, "cannot fold the write-ahead log into the database at stop"));
    assert_true(file_has(log, "free space on its disk"));
    assert_true(wal_size() > 0);

    /* Space again: the next server has every task and leaves no WAL. */
    assert_int_equal(tasks_after_restart(NULL), N);
    assert_true(wal_size() <= 0);
    assert_int_equal(sqlite_count_tasks(), N);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(restart_keeps_data, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(sigterm_mid_load, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(kill9_keeps_acknowledged, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(newer_schema_refused, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(not_a_database, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(sync_full, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(older_schema_upgraded, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(version5_undo_history_upgraded, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(version1_tags_upgraded, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(version2_keeps_every_task, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(second_server_refused, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(full_disk_refuses_writes, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(ids_after_failed_batch, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(big_batches, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(wal_stays_bounded, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(stop_folds_wal, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(stop_on_full_disk_keeps_wal, make_dir, remove_dir),
    };
    return srv_test_main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]));
}
