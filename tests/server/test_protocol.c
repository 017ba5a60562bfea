/*
 * test_protocol.c - todo-server answers every command as the protocol says:
 * the tutorial's nc session byte for byte, each native command and its
 * errors, pipelined requests in order, STATS, and the command line.
 */
/* SCHED_BATCH (sched.h). */
#define _GNU_SOURCE
#include "srv_test.h"

#include <dirent.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static struct server_proc sp;

static int start_demo(void **state)
{
    (void)state;
    const char *const extra[] = {"--db", ":memory:", "--demo", "--threads", "2", NULL};
    return server_start(&sp, srv_bin, extra);
}

static int stop(void **state)
{
    (void)state;
    int st = server_stop(&sp, SIGTERM);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* The session from shared/seed/README.md, typed line by line as in nc. */
static void tutorial_session(void **state)
{
    (void)state;
    static const char *const script[][2] = {
        {"GET/task_02/status\n", "read book\r\n"},
        {"GET/task_09/status\n", "no key match\r\n"},
        {"POST/task_04=buy milk/status\n", "submit success\r\n"},
        {"GET/task_04/status\n", "buy milk\r\n"},
    };
    struct cli *c = cli_open(sp.port);
    assert_non_null(c);
    for (size_t i = 0; i < sizeof(script) / sizeof(script[0]); i++) {
        char line[256];
        assert_int_equal(cli_send(c, script[i][0]), 0);
        assert_true(cli_line(c, line, sizeof(line), 5000) > 0);
        assert_string_equal(line, script[i][1]);
    }
    /* The other demo tasks are there too, and POST replaces. */
    assert_string_equal(cli_cmd(c, "GET/task_01/status\n"), "see someone\r\n");
    assert_string_equal(cli_cmd(c, "GET/task_03/x\n"), "play basketball\r\n");
    assert_string_equal(cli_cmd(c, "POST/task_04=buy oat milk/status\n"), "submit success\r\n");
    assert_string_equal(cli_cmd(c, "GET/task_04/status\n"), "buy oat milk\r\n");
    cli_close(c);
}

/* Checks that a data line has the id, status and text wanted. */
static void assert_task(const char *line, const char *id, const char *status, const char *rest)
{
    char want[256];
    snprintf(want, sizeof(want), "%s %s ", id, status);
    assert_true(strncmp(line, want, strlen(want)) == 0);
    assert_non_null(strstr(line, rest));
}

static void native_commands(void **state)
{
    (void)state;
    char want[128];
    struct cli *c = cli_open(sp.port);
    assert_non_null(c);

    assert_string_equal(cli_cmd(c, "PING\n"), "OK PONG\r\n");
    assert_string_equal(cli_cmd(c, "ping\r\n"), "OK PONG\r\n");
    snprintf(want, sizeof(want), "OK todo 4 todo-server/%s\r\n", TODO_VERSION);
    assert_string_equal(cli_cmd(c, "HELLO\n"), want);

    /* ADD gives ids from a counter: the demo tasks are not numbers. */
    const char *r = cli_cmd(c, "ADD buy milk +home +shop due:2026-12-01 pri:high\n");
    assert_true(strncmp(r, "OK ", 3) == 0);
    char id1[32];
    snprintf(id1, sizeof(id1), "%.*s", (int)strcspn(r + 3, "\r"), r + 3);
    long n1 = atol(id1);
    assert_true(n1 >= 1);
    r = cli_cmd(c, "ADD \"call \\\"mom\\\"\" +family\n");
    char id2[32];
    snprintf(id2, sizeof(id2), "%.*s", (int)strcspn(r + 3, "\r"), r + 3);
    assert_int_equal(atol(id2), n1 + 1);

    char req[128];
    snprintf(req, sizeof(req), "GET %s\n", id1);
    r = cli_cmd(c, req);
    assert_true(strncmp(r, "DATA 1\r\n", 8) == 0);
    snprintf(want, sizeof(want), "%s pending high 2026-12-01 home,shop ", id1);
    assert_true(strncmp(r + 8, want, strlen(want)) == 0);
    assert_non_null(strstr(r, "\"buy milk\"\r\n"));

    snprintf(req, sizeof(req), "GET %s\n", id2);
    assert_non_null(strstr(cli_cmd(c, req), "\"call \\\"mom\\\"\""));

    /* EDIT: text, tags, due and priority. */
    snprintf(req, sizeof(req), "EDIT %s oat milk -home +errand due:none pri:low\n", id1);
    snprintf(want, sizeof(want), "OK %s\r\n", id1);
    assert_string_equal(cli_cmd(c, req), want);
    snprintf(req, sizeof(req), "GET %s\n", id1);
    snprintf(want, sizeof(want), "%s pending low - errand,shop ", id1);
    r = cli_cmd(c, req);
    assert_non_null(strstr(r, want));
    assert_non_null(strstr(r, "\"oat milk\""));

    /* DONE / UNDONE and the LIST filters. */
    snprintf(req, sizeof(req), "DONE %s\n", id2);
    snprintf(want, sizeof(want), "OK %s\r\n", id2);
    assert_string_equal(cli_cmd(c, req), want);
    r = cli_cmd(c, "LIST done\n");
    assert_true(strncmp(r, "DATA 1\r\n", 8) == 0);
    assert_task(r + 8, id2, "done", "\"call");
    r = cli_cmd(c, "LIST\n");
    assert_null(strstr(r, "\"call"));
    assert_non_null(strstr(r, "\"oat milk\""));
    assert_non_null(strstr(r, "\"see someone\""));
    r = cli_cmd(c, "LIST all +family\n");
    assert_true(strncmp(r, "DATA 1\r\n", 8) == 0);
    r = cli_cmd(c, "LIST all +errand +shop\n");
    assert_true(strncmp(r, "DATA 1\r\n", 8) == 0);
    r = cli_cmd(c, "LIST all +errand +family\n");
    assert_string_equal(r, "DATA 0\r\n");
    /* A word matches case-insensitively, and LIKE wildcards mean themselves. */
    r = cli_cmd(c, "LIST all OAT\n");
    assert_true(strncmp(r, "DATA 1\r\n", 8) == 0);
    assert_string_equal(cli_cmd(c, "LIST all %\n"), "DATA 0\r\n");
    assert_string_equal(cli_cmd(c, "LIST all o_t\n"), "DATA 0\r\n");
    snprintf(req, sizeof(req), "UNDONE %s\n", id2);
    assert_string_equal(cli_cmd(c, req), want);
    r = cli_cmd(c, "LIST pending +family\n");
    assert_true(strncmp(r, "DATA 1\r\n", 8) == 0);

    /* LIST is ordered by creation: the demo tasks come first. */
    r = cli_cmd(c, "LIST all\n");
    char mine[64];
    snprintf(mine, sizeof(mine), "\r\n%s pending ", id1);
    const char *a = strstr(r, "\r\ntask_01 "), *b = strstr(r, "\r\ntask_02 "), *d = strstr(r, mine);
    assert_true(a && b && d && a < b && b < d);

    assert_string_equal(cli_cmd(c, "TAGS\n"), "DATA 3\r\nerrand 1\r\nfamily 1\r\nshop 1\r\n");

    /* DEL, then the id is gone and never comes back. */
    snprintf(req, sizeof(req), "DEL %s\n", id2);
    assert_string_equal(cli_cmd(c, req), want);
    snprintf(req, sizeof(req), "GET %s\n", id2);
    snprintf(want, sizeof(want), "ERR NOTFOUND no task with id '%s'\r\n", id2);
    assert_string_equal(cli_cmd(c, req), want);
    r = cli_cmd(c, "ADD next one\n");
    snprintf(want, sizeof(want), "OK %ld\r\n", n1 + 2);
    assert_string_equal(r, want);

    /* Errors, each with its code, and the connection goes on. */
    assert_true(strncmp(cli_cmd(c, "FROB 1\n"), "ERR UNKNOWN ", 12) == 0);
    assert_true(strncmp(cli_cmd(c, "ADD\n"), "ERR ARGS ", 9) == 0);
    assert_true(strncmp(cli_cmd(c, "GET\n"), "ERR ARGS ", 9) == 0);
    assert_true(strncmp(cli_cmd(c, "GET a/b\n"), "ERR ARGS ", 9) == 0);
    assert_true(strncmp(cli_cmd(c, "ADD x due:2026-02-30\n"), "ERR ARGS ", 9) == 0);
    assert_true(strncmp(cli_cmd(c, "ADD x pri:urgent\n"), "ERR ARGS ", 9) == 0);
    assert_true(strncmp(cli_cmd(c, "EDIT 1\n"), "ERR ARGS ", 9) == 0);
    assert_true(strncmp(cli_cmd(c, "PING extra\n"), "ERR ARGS ", 9) == 0);
    assert_true(strncmp(cli_cmd(c, "ADD \"open\n"), "ERR SYNTAX ", 11) == 0);
    assert_true(strncmp(cli_cmd(c, "POST/nokey\n"), "ERR SYNTAX ", 11) == 0);
    assert_true(strncmp(cli_cmd(c, "DONE 999999\n"), "ERR NOTFOUND ", 13) == 0);
    assert_true(strncmp(cli_cmd(c, "UNDONE 999999\n"), "ERR NOTFOUND ", 13) == 0);
    assert_true(strncmp(cli_cmd(c, "DEL 999999\n"), "ERR NOTFOUND ", 13) == 0);
    assert_true(strncmp(cli_cmd(c, "EDIT 999999 x\n"), "ERR NOTFOUND ", 13) == 0);
    assert_true(strncmp(cli_cmd(c, "AUTH secret\n"), "ERR AUTH ", 9) == 0);
    /* A task holds at most 16 tags, and a failed EDIT changes nothing. */
    r = cli_cmd(c, "ADD tagged +t1 +t2 +t3 +t4 +t5 +t6 +t7 +t8 +t9 +t10\n");
    char id3[32];
    snprintf(id3, sizeof(id3), "%.*s", (int)strcspn(r + 3, "\r"), r + 3);
    snprintf(req, sizeof(req), "EDIT %s renamed +u1 +u2 +u3 +u4 +u5 +u6 +u7\n", id3);
    assert_true(strncmp(cli_cmd(c, req), "ERR ARGS ", 9) == 0);
    snprintf(req, sizeof(req), "GET %s\n", id3);
    r = cli_cmd(c, req);
    assert_non_null(strstr(r, "\"tagged\""));
    assert_non_null(strstr(r, " t1,t10,t2,t3,t4,t5,t6,t7,t8,t9 "));

    /* Blank lines get no reply at all. */
    assert_string_equal(cli_cmd(c, "\n  \r\nPING\n"), "OK PONG\r\n");

    assert_string_equal(cli_cmd(c, "QUIT\n"), "OK bye\r\n");
    assert_true(cli_closed(c, 3000));
    cli_close(c);
}

static void help_from_table(void **state)
{
    (void)state;
    struct cli *c = cli_open(sp.port);
    assert_non_null(c);
    const char *r = cli_cmd(c, "HELP\n");
    long n = atol(r + 5);
    assert_true(strncmp(r, "DATA ", 5) == 0);
    assert_true(n >= 14);
    /* Every visible command, none of the legacy forms. */
    static const char *const names[] = {"PING",   "HELLO", "HELP", "ADD",  "GET",   "EDIT", "DONE",
                                        "UNDONE", "DEL",   "LIST", "TAGS", "STATS", "AUTH", "QUIT"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char want[32];
        snprintf(want, sizeof(want), "\r\n%s \"", names[i]);
        assert_non_null(strstr(r, want));
    }
    assert_null(strstr(r, "GET/"));
    r = cli_cmd(c, "help add\n");
    assert_true(strncmp(r, "DATA 1\r\nADD \"", 13) == 0);
    assert_true(strncmp(cli_cmd(c, "HELP NOPE\n"), "ERR UNKNOWN ", 12) == 0);
    cli_close(c);
}

/* Many requests in one send are all answered, in order. */
static void pipelined(void **state)
{
    (void)state;
    struct cli *c = cli_open(sp.port);
    assert_non_null(c);
    char *big = malloc(64 * 1024);
    assert_non_null(big);
    size_t n = 0;
    for (int i = 0; i < 200; i++)
        n += (size_t)sprintf(big + n, "ADD pipelined %d +pipe\nPING\nFROB\n", i);
    n += (size_t)sprintf(big + n, "LIST +pipe\n");
    assert_int_equal(sock_send_all(c->fd, big, n), 0);

    long first = -1;
    char line[4096];
    for (int i = 0; i < 200; i++) {
        assert_true(cli_line(c, line, sizeof(line), 5000) > 0);
        assert_true(strncmp(line, "OK ", 3) == 0);
        long id = atol(line + 3);
        if (first < 0)
            first = id;
        assert_int_equal(id, first + i);
        assert_true(cli_line(c, line, sizeof(line), 5000) > 0);
        assert_string_equal(line, "OK PONG\r\n");
        assert_true(cli_line(c, line, sizeof(line), 5000) > 0);
        assert_true(strncmp(line, "ERR UNKNOWN ", 12) == 0);
    }
    assert_true(cli_line(c, line, sizeof(line), 5000) > 0);
    assert_string_equal(line, "DATA 200\r\n");
    for (int i = 0; i < 200; i++) {
        char want[64];
        assert_true(cli_line(c, line, sizeof(line), 5000) > 0);
        snprintf(want, sizeof(want), "\"pipelined %d\"\r\n", i);
        assert_non_null(strstr(line, want));
    }
    free(big);
    cli_close(c);
}

/* A client that asks for far more than it reads is paused, not dropped,
 * and gets every reply in order once it reads. */
static void backpressure(void **state)
{
    (void)state;
    struct cli *c = cli_open(sp.port);
    assert_non_null(c);
    char text[600];
    memset(text, 'x', sizeof(text) - 1);
    text[sizeof(text) - 1] = '\0';
    char req[700];
    snprintf(req, sizeof(req), "ADD %s +bp\n", text);
    for (int i = 0; i < 50; i++)
        assert_true(strncmp(cli_cmd(c, req), "OK ", 3) == 0);
    /* 300 LISTs of ~35 KB each: about 10 MiB of replies. */
    for (int i = 0; i < 300; i++)
        assert_int_equal(cli_send(c, "LIST +bp\n"), 0);
    assert_int_equal(cli_send(c, "PING\n"), 0);
    usleep(300 * 1000);
    static char reply[256 * 1024];
    for (int i = 0; i < 300; i++) {
        long n = cli_reply(c, reply, sizeof(reply), 10000);
        assert_true(n > 0);
        assert_true(strncmp(reply, "DATA 50\r\n", 9) == 0);
    }
    assert_true(cli_line(c, reply, sizeof(reply), 5000) > 0);
    assert_string_equal(reply, "OK PONG\r\n");
    cli_close(c);
}

static void stats_change(void **state)
{
    (void)state;
    struct cli *c = cli_open(sp.port);
    assert_non_null(c);
    long long conns = srv_stat(c, "connections_total");
    long long cur = srv_stat(c, "connections_current");
    long long cmds = srv_stat(c, "commands");
    long long errs = srv_stat(c, "errors");
    long long tasks = srv_stat(c, "tasks");
    assert_true(conns >= 1 && cur >= 1 && cmds >= 1 && tasks >= 3);
    assert_true(srv_stat(c, "uptime_seconds") >= 0);
    assert_int_equal(srv_stat(c, "threads"), srv_threads(2));

    struct cli *d = cli_open(sp.port);
    assert_non_null(d);
    assert_string_equal(cli_cmd(d, "PING\n"), "OK PONG\r\n");
    assert_string_equal(cli_cmd(c, "PING\n"), "OK PONG\r\n");
    assert_true(strncmp(cli_cmd(c, "ADD counted\n"), "OK ", 3) == 0);
    assert_true(strncmp(cli_cmd(c, "NOPE\n"), "ERR ", 4) == 0);

    assert_int_equal(srv_stat(c, "connections_total"), conns + 1);
    assert_int_equal(srv_stat(c, "connections_current"), cur + 1);
    /* STATS x6 so far on c plus PING, ADD, NOPE on c and PING on d. */
    long long now = srv_stat(c, "commands");
    assert_int_equal(now, cmds + 11);
    assert_int_equal(srv_stat(c, "errors"), errs + 1);
    assert_int_equal(srv_stat(c, "tasks"), tasks + 1);
    cli_close(d);
    /* The server notices the close soon. */
    for (int i = 0; i < 100 && srv_stat(c, "connections_current") != cur; i++)
        usleep(20 * 1000);
    assert_int_equal(srv_stat(c, "connections_current"), cur);
    cli_close(c);
}

/* The command line: --help, --version, bad flags. */
static void command_line(void **state)
{
    (void)state;
    static char out[16384], err[16384];
    const char *help[] = {"--help", NULL};
    int st = srv_run(help, out, sizeof(out), err, sizeof(err), 5000);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    static const char *const flags[] = {"--bind",
                                        "--port",
                                        "--db",
                                        "--threads",
                                        "--max-clients",
                                        "--idle-timeout",
                                        "--max-line",
                                        "--password-file",
                                        "--insecure",
                                        "--sync",
                                        "--sched",
                                        "--demo",
                                        "--log-level",
                                        "--help",
                                        "--version",
                                        "todo.db",
                                        "--line-timeout",
                                        "--watch-ring",
                                        "--watch-ring-bytes",
                                        "--watch-buffer",
                                        "--cache-mb"};
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
        assert_non_null(strstr(out, flags[i]));

    const char *ver[] = {"--version", NULL};
    st = srv_run(ver, out, sizeof(out), err, sizeof(err), 5000);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_non_null(strstr(out, TODO_VERSION));

    const char *const bad[][3] = {
        {"--frobnicate", NULL, NULL}, {"--port", "70000", NULL},     {"--port", "12x", NULL},
        {"--threads", "0", NULL},     {"--sync", "sometimes", NULL}, {"--log-level", "loud", NULL},
        {"stray", NULL, NULL},        {"--sched", "fast", NULL},     {"--line-timeout", "-1", NULL},
        {"--cache-mb", "-1", NULL},   {"--cache-mb", "lots", NULL},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        st = srv_run(bad[i], out, sizeof(out), err, sizeof(err), 5000);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 2);
        assert_true(strlen(err) > 10);
        assert_string_equal(out, "");
    }
}

/* Counts the server's threads running under policy at nice, from the nice
 * and policy fields (the 19th and 41st) of /proc/PID/task/TID/stat. */
static int threads_with(pid_t pid, int policy, int nice)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char statpath[384], buf[1024];
        snprintf(statpath, sizeof(statpath), "%s/%s/stat", path, e->d_name);
        FILE *f = fopen(statpath, "r");
        if (f == NULL)
            continue; /* the thread ended meanwhile */
        size_t len = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[len] = '\0';
        /* Fields start at 3 after the ")" that closes the command name. */
        char *p = strrchr(buf, ')');
        assert_non_null(p);
        int field = 2, its_nice = 0;
        for (char *tok = strtok(p + 1, " "); tok; tok = strtok(NULL, " ")) {
            if (++field == 19)
                its_nice = atoi(tok);
            if (field == 41) {
                n += atoi(tok) == policy && its_nice == nice;
                break;
            }
        }
    }
    closedir(d);
    return n;
}

static int start_sched_default(void **state)
{
    (void)state;
    const char *const extra[] = {"--db", ":memory:", "--threads", "2", NULL};
    return server_start(&sp, srv_bin, extra);
}

static int start_sched_normal(void **state)
{
    (void)state;
    const char *const extra[] = {"--db", ":memory:", "--threads", "2", "--sched", "normal", NULL};
    return server_start(&sp, srv_bin, extra);
}

/* Workers run under SCHED_BATCH by default (--threads 2: two of them,
 * unless TODO_TEST_THREADS says otherwise). */
static void sched_batch_default(void **state)
{
    (void)state;
    struct cli *c = cli_open(sp.port);
    assert_string_equal(cli_cmd(c, "PING\n"), "OK PONG\r\n");
    assert_int_equal(threads_with(sp.pid, SCHED_BATCH, 0), srv_threads(2));
    /* The checkpoint thread gives way to everything else (SQLite's: the
     * PostgreSQL engine has none). */
    if (getenv("TODO_TEST_DB_URI") == NULL)
        assert_int_equal(threads_with(sp.pid, SCHED_BATCH, 19), 1);
    cli_close(c);
}

/* --sched normal keeps the default policy in every worker. */
static void sched_normal(void **state)
{
    (void)state;
    struct cli *c = cli_open(sp.port);
    assert_string_equal(cli_cmd(c, "PING\n"), "OK PONG\r\n");
    assert_int_equal(threads_with(sp.pid, SCHED_BATCH, 0), 0);
    if (getenv("TODO_TEST_DB_URI") == NULL)
        assert_int_equal(threads_with(sp.pid, SCHED_BATCH, 19), 1);
    cli_close(c);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(tutorial_session, start_demo, stop),
        cmocka_unit_test_setup_teardown(native_commands, start_demo, stop),
        cmocka_unit_test_setup_teardown(help_from_table, start_demo, stop),
        cmocka_unit_test_setup_teardown(pipelined, start_demo, stop),
        cmocka_unit_test_setup_teardown(backpressure, start_demo, stop),
        cmocka_unit_test_setup_teardown(stats_change, start_demo, stop),
        cmocka_unit_test(command_line),
        cmocka_unit_test_setup_teardown(sched_batch_default, start_sched_default, stop),
        cmocka_unit_test_setup_teardown(sched_normal, start_sched_normal, stop),
    };
    return srv_test_main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]));
}
