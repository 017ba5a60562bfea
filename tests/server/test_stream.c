/*
 * test_stream.c - big LIST replies, made and sent in slices from one
 * snapshot (server/stream.h): they say DATA n and send exactly n lines of
 * that snapshot whatever is written meanwhile, others keep reading fresh
 * data, a client that does not read holds a bounded amount of the
 * server's memory, and one that stops reading is let go.
 * Loading 100,000 tasks takes a while under ThreadSanitizer: the timeout
 * is long (tests/server/CMakeLists.txt).
 */
#include "srv_test.h"

#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct server_proc sp;
static char dir[512];

/* Streams need a database in a file (with --db :memory: a LIST is made at
 * once, as before). */
static int start(void **state)
{
    (void)state;
    char db[600];
    make_tmpdir(dir, sizeof(dir));
    snprintf(db, sizeof(db), "%s/todo.db", dir);
    /* Several workers (TODO_TEST_THREADS=1 makes it one, in the _1worker run). */
    const char *const extra[] = {"--db", db, "--threads", "3", NULL};
    return server_start(&sp, srv_bin, extra);
}

static int stop(void **state)
{
    (void)state;
    server_stop(&sp, SIGTERM);
    srv_kill_left();
    rm_tree(dir);
    return 0;
}

/* Adds n tasks "task I words" (I from 1) with tags tI%5 and every, every
 * fourth one done, pipelined a thousand at a time. */
static void add_tasks(struct cli *c, int n)
{
    static char buf[1000 * 64];
    char line[256];
    for (int i = 1; i <= n;) {
        size_t len = 0;
        int reqs = 0;
        for (int k = 0; k < 1000 && i <= n; k++, i++) {
            len +=
                (size_t)sprintf(buf + len, "ADD task %d with a few words +t%d +every\n", i, i % 5);
            reqs++;
            if (i % 4 == 0) {
                len += (size_t)sprintf(buf + len, "DONE %d\n", i);
                reqs++;
            }
        }
        assert_int_equal(sock_send_all(c->fd, buf, len), 0);
        for (int k = 0; k < reqs; k++) {
            assert_true(cli_line(c, line, sizeof(line), 30000) > 0);
            assert_true(strncmp(line, "OK ", 3) == 0);
        }
    }
}

/* The server's resident memory in KiB (VmRSS). */
static long server_rss_kib(void)
{
    char path[64], line[256];
    long kib = -1;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)sp.pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    assert_true(kib > 0);
    return kib;
}

/* Reads a DATA reply's header; returns n. */
static long data_header(struct cli *c)
{
    char line[256];
    assert_true(cli_line(c, line, sizeof(line), 30000) > 0);
    if (strncmp(line, "DATA ", 5) != 0)
        fail_msg("wanted DATA n, got %s", line);
    return atol(line + 5);
}

/* Reads n task lines; checks their ids come in order (1, 2, ... with the
 * ones in skip left out: the tasks were added in that order) and returns
 * how many of them hold text. */
static long read_tasks(struct cli *c, long n, long first, const char *text)
{
    static char line[64 * 1024];
    long with = 0, want = first;
    for (long i = 0; i < n; i++) {
        assert_true(cli_line(c, line, sizeof(line), 30000) > 0);
        long id = atol(line);
        if (id < want)
            fail_msg("line %ld: task %ld after task %ld", i, id, want - 1);
        want = id + 1;
        if (text && strstr(line, text))
            with++;
    }
    return with;
}

/* A LIST far bigger than one slice comes whole and in order (done and
 * pending tasks interleaved by creation), as each filter asks. */
static void big_list_whole(void **state)
{
    (void)state;
    enum { N = 20000 };
    struct cli *c = cli_open(sp.port);
    assert_non_null(c);
    add_tasks(c, N);
    assert_int_equal(cli_send(c, "LIST all\n"), 0);
    assert_int_equal(data_header(c), N);
    assert_int_equal(read_tasks(c, N, 1, " done "), N / 4);
    assert_int_equal(cli_send(c, "LIST\nLIST done\nLIST all +t3\nLIST all \"task 1999\"\nPING\n"),
                     0);
    assert_int_equal(data_header(c), N - N / 4);
    assert_int_equal(read_tasks(c, N - N / 4, 1, " done "), 0);
    assert_int_equal(data_header(c), N / 4);
    assert_int_equal(read_tasks(c, N / 4, 1, " pending "), 0);
    assert_int_equal(data_header(c), N / 5);
    assert_int_equal(read_tasks(c, N / 5, 1, "+t3"), 0);
    /* The word as it is matched (a substring of the text, in LIST's
     * sense): "task 1999" and "task 19990" .. "task 19999". */
    long words = data_header(c);
    assert_true(words >= 1 && words <= 11);
    read_tasks(c, words, 1, NULL);
    char line[64];
    assert_true(cli_line(c, line, sizeof(line), 10000) > 0);
    assert_string_equal(line, "OK PONG\r\n");
    /* A tag on every task: SQLite sorts the list, and it passes what is
     * made at once with tags (CMD_LIST_INLINE_SORTED_MAX, server/commands.h), so it is made
     * there, dropped, and streamed (counted by count(*)). */
    assert_int_equal(cli_send(c, "LIST all +every\nLIST done +every +t2\nPING\n"), 0);
    assert_int_equal(data_header(c), N);
    assert_int_equal(read_tasks(c, N, 1, " done "), N / 4);
    assert_int_equal(data_header(c), N / 20);
    read_tasks(c, N / 20, 1, NULL);
    assert_true(cli_line(c, line, sizeof(line), 10000) > 0);
    assert_string_equal(line, "OK PONG\r\n");
    cli_close(c);
}

/* test_robust's list_past_reply_limit, on a database in a file: 1,100
 * tasks of 62,000 bytes (68 MB), past the 64 MiB limit on unsent replies,
 * are refused when made at once (here inside a write batch, where the
 * list must show the batch's own writes), and come whole in a stream,
 * which no such limit bounds. */
static void stream_past_reply_limit(void **state)
{
    (void)state;
    enum { TASKS = 1100, TEXT = 62000 };
    static char req[TEXT + 64], big[TEXT + 256];
    char line[512];
    struct cli *c = cli_open(sp.port);
    assert_non_null(c);
    memcpy(req, "ADD ", sizeof("ADD ")); /* the filler overwrites the terminator */
    memset(req + 4, 'z', TEXT);
    for (int i = 0; i < TASKS; i++) {
        int n = 4 + TEXT + sprintf(req + 4 + TEXT, " %d\n", i);
        assert_int_equal(sock_send_all(c->fd, req, (size_t)n), 0);
        assert_true(cli_line(c, line, sizeof(line), 10000) > 0);
        assert_true(strncmp(line, "OK ", 3) == 0);
    }
    assert_int_equal(cli_send(c, "DONE 1\nLIST\n"), 0);
    assert_true(cli_line(c, line, sizeof(line), 120000) > 0);
    assert_string_equal(line, "OK 1\r\n");
    assert_true(cli_line(c, line, sizeof(line), 120000) > 0);
    assert_string_equal(line, "ERR INTERNAL the list is larger than the server's 64 MiB reply "
                              "limit; narrow it with pending, done, +tag or a word\r\n");
    assert_int_equal(cli_send(c, "LIST\n"), 0);
    assert_int_equal(data_header(c), TASKS - 1);
    for (int i = 0; i < TASKS - 1; i++) {
        assert_true(cli_line(c, big, sizeof(big), 120000) > TEXT);
        assert_non_null(strstr(big, " pending "));
    }
    assert_string_equal(cli_cmd(c, "PING\n"), "OK PONG\r\n");
    cli_close(c);
}

/* A stream's lines all come from the snapshot its DATA n was counted in:
 * writes made while it is being sent show neither in its count nor in its
 * lines, while another client reads them at once. */
static void stream_is_one_snapshot(void **state)
{
    (void)state;
    enum { N = 20000 };
    char line[512];
    struct cli *c = cli_open(sp.port), *w = cli_open(sp.port);
    assert_non_null(c);
    assert_non_null(w);
    add_tasks(w, N);
    assert_int_equal(cli_send(c, "LIST all\n"), 0);
    assert_int_equal(data_header(c), N);
    /* The snapshot is taken: change the list under it. */
    assert_string_equal(cli_cmd(w, "DEL 15000\n"), "OK 15000\r\n");
    assert_string_equal(cli_cmd(w, "EDIT 19999 CHANGED\n"), "OK 19999\r\n");
    assert_true(strncmp(cli_cmd(w, "ADD AFTER\n"), "OK ", 3) == 0);
    /* Fresh data for everyone else, on every worker. */
    assert_string_equal(cli_cmd(w, "GET 15000\n"), "ERR NOTFOUND no task with id '15000'\r\n");
    assert_non_null(strstr(cli_cmd(w, "GET 19999\n"), "\"CHANGED\""));
    struct cli *d = cli_open(sp.port);
    assert_non_null(d);
    assert_int_equal(cli_send(d, "LIST all CHANGED\n"), 0);
    assert_true(cli_reply(d, line, sizeof(line), 10000) > 0);
    assert_true(strncmp(line, "DATA 1\r\n", 8) == 0);
    cli_close(d);
    /* The stream: N lines, task 15000 among them, no CHANGED, no AFTER. */
    static char t[64 * 1024];
    int saw15000 = 0;
    for (long i = 0; i < N; i++) {
        assert_true(cli_line(c, t, sizeof(t), 30000) > 0);
        if (strstr(t, "CHANGED") || strstr(t, "AFTER"))
            fail_msg("line %ld shows a later write: %s", i, t);
        saw15000 |= atol(t) == 15000;
    }
    assert_true(saw15000);
    /* The connection goes on with the next request, on fresh data. */
    assert_true(strncmp(cli_cmd(c, "LIST all CHANGED\n"), "DATA 1\r\n", 8) == 0);
    cli_close(c);
    cli_close(w);
}

/* 20 clients ask for LIST all of 100,000 tasks (9.8 MB each) and never
 * read. The 8 that get a stream each hold at most what it makes before it
 * waits for the client (OUT_LOW, 256 KiB, plus a slice of 16 KiB, in
 * server/worker.c and stream.h) and its SQLite connection (512 KiB of page
 * cache and the statements): about 8 x (0.3 + 1) = 10 MiB; the 12 past the
 * 8 streams are answered ERR BUSY and hold nothing. The bound is 32
 * MiB above the server's size after one whole LIST; made at once, the 20
 * replies took 230 MB.
 * Meanwhile a fresh client is served; the clients whose streams make no
 * progress are let go; and once the 20 have gone, the server is as it was. */
static void unread_lists_bounded(void **state)
{
    (void)state;
    enum { N = 100000, READERS = 20, STREAMS = 8 };
    struct cli *c = cli_open(sp.port);
    assert_non_null(c);
    add_tasks(c, N);
    assert_int_equal(cli_send(c, "LIST all\n"), 0);
    assert_int_equal(data_header(c), N);
    read_tasks(c, N, 1, NULL);
    long base = server_rss_kib();

    struct cli *r[READERS];
    for (int i = 0; i < READERS; i++) {
        r[i] = cli_open(sp.port);
        assert_non_null(r[i]);
        /* A small receive buffer, so that the kernel's buffers (up to some
         * 4 MB on the server's side) cannot take the whole list and let its
         * stream end: each stream must wait for its client. */
        int small = 64 * 1024;
        assert_int_equal(setsockopt(r[i]->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
        assert_int_equal(cli_send(r[i], "LIST all\n"), 0);
    }
    /* Watch the server's size for 3 s (made at once, the 20 replies are
     * all there within about 2 s). */
    long peak = 0;
    for (int i = 0; i < 60; i++) {
        long kib = server_rss_kib();
        if (kib > peak)
            peak = kib;
        usleep(50 * 1000);
    }
    print_message("server VmRSS: %ld KiB after one LIST, at most %ld KiB with %d unread\n", base,
                  peak, READERS);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
    /* Under a sanitizer the server's size says little about what it holds
     * (freed memory waits in ASan's quarantine), so only the plain build
     * checks it. */
    if (peak - base > 32 * 1024)
        fail_msg("%d unread LIST replies took %ld KiB", READERS, peak - base);
#endif

    /* A fresh client is served. */
    struct cli *f = cli_open(sp.port);
    assert_non_null(f);
    assert_string_equal(cli_cmd(f, "PING\n"), "OK PONG\r\n");
    assert_non_null(strstr(cli_cmd(f, "GET 7\n"), "task 7 with"));
    assert_true(strncmp(cli_cmd(f, "LIST all \"task 77777\"\n"), "DATA 1\r\n", 8) == 0);

    /* The streams' clients take nothing: once a stream has made no progress
     * for 10 s (STREAM_STALL_MS), its connection is closed, so that its
     * snapshot does not hold the WAL back for ever. The 12 answered ERR
     * BUSY stay (they are merely idle): 8 of the 22 connections go (waits
     * up to 60 s). */
    assert_int_equal(srv_stat(f, "connections_current"), READERS + 2);
    long long now = READERS + 2;
    for (int i = 0; i < 600 && now > READERS + 2 - STREAMS; i++) {
        usleep(100 * 1000);
        now = srv_stat(f, "connections_current");
    }
    assert_int_equal(now, READERS + 2 - STREAMS);
    for (int i = 0; i < READERS; i++)
        cli_close(r[i]);
    /* Once they are gone, a big LIST is sent again (all streams free:
     * tries for up to 10 s while the server notices the closes). */
    long n = -1;
    for (int tries = 0; tries < 100; tries++) {
        assert_int_equal(cli_send(f, "LIST all\n"), 0);
        char line[512];
        assert_true(cli_line(f, line, sizeof(line), 30000) > 0);
        if (strncmp(line, "ERR BUSY ", 9) != 0) {
            assert_true(strncmp(line, "DATA ", 5) == 0);
            n = atol(line + 5);
            break;
        }
        usleep(100 * 1000);
    }
    assert_int_equal(n, N);
    read_tasks(f, N, 1, NULL);
    /* With a tag on more tasks than a list made at once may hold: to the
     * stream at once, counted by count(*), sorted by SQLite. */
    assert_int_equal(cli_send(f, "LIST +every\n"), 0);
    assert_int_equal(data_header(f), N - N / 4);
    assert_int_equal(read_tasks(f, N - N / 4, 1, " done "), 0);
    assert_string_equal(cli_cmd(f, "PING\n"), "OK PONG\r\n");
    cli_close(f);
    cli_close(c);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(big_list_whole, start, stop),
        cmocka_unit_test_setup_teardown(stream_is_one_snapshot, start, stop),
        cmocka_unit_test_setup_teardown(stream_past_reply_limit, start, stop),
        cmocka_unit_test_setup_teardown(unread_lists_bounded, start, stop),
    };
    return srv_test_main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]));
}
