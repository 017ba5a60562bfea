/*
 * test_robust.c - bad input and bad clients harm nobody: oversized lines,
 * garbage bytes, a client gone mid-reply, too many clients, a server out
 * of file descriptors, idle clients, clients that trickle a line byte by
 * byte, wrong passwords, a port already taken, and an unprotected public
 * bind.
 */
/* prlimit (sys/resource.h). */
#define _GNU_SOURCE
#include "srv_test.h"

#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct server_proc sp;

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int stop(void **state)
{
    (void)state;
    int st = server_stop(&sp, SIGTERM);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int start_small_lines(void **state)
{
    (void)state;
    const char *const extra[] = {"--db", ":memory:", "--max-line", "1024", NULL};
    return server_start(&sp, srv_bin, extra);
}

static void oversized_line(void **state)
{
    (void)state;
    struct cli *c = cli_open(sp.port);
    assert_non_null(c);
    char line[256];

    /* Whole in one send. */
    char *big = malloc(300 * 1024);
    assert_non_null(big);
    memset(big, 'a', 5000);
    memcpy(big + 5000, "\nPING\n", 7);
    assert_int_equal(cli_send(c, big), 0);
    assert_true(cli_line(c, line, sizeof(line), 5000) > 0);
    assert_true(strncmp(line, "ERR TOOLONG ", 12) == 0);
    assert_non_null(strstr(line, "1024"));
    assert_true(cli_line(c, line, sizeof(line), 5000) > 0);
    assert_string_equal(line, "OK PONG\r\n");

    /* Spread over many sends, longer than any read buffer. */
    memset(big, 'b', 300 * 1024 - 1);
    big[300 * 1024 - 1] = '\0';
    for (int i = 0; i < 4; i++)
        assert_int_equal(cli_send(c, big), 0);
    assert_string_equal(cli_cmd(c, "\nPING\n"),
                        "ERR TOOLONG request line longer than 1024 bytes\r\n");
    assert_true(cli_line(c, line, sizeof(line), 5000) > 0);
    assert_string_equal(line, "OK PONG\r\n");

    /* Exactly the limit is fine (an unknown command, not TOOLONG). */
    memset(big, 'c', 1024);
    memcpy(big + 1024, "\r\n", 3);
    assert_true(strncmp(cli_cmd(c, big), "ERR UNKNOWN ", 12) == 0);
    free(big);
    cli_close(c);
}

static void garbage_bytes(void **state)
{
    (void)state;
    struct cli *c = cli_open(sp.port);
    assert_non_null(c);
    static const char nul_line[] = "PI\0NG\n";
    assert_int_equal(sock_send_all(c->fd, nul_line, sizeof(nul_line) - 1), 0);
    char line[512];
    assert_true(cli_line(c, line, sizeof(line), 5000) > 0);
    assert_true(strncmp(line, "ERR ENCODING ", 13) == 0);
    assert_true(strncmp(cli_cmd(c, "\xff\xfe\xc0\xaf\n"), "ERR ENCODING ", 13) == 0);
    assert_true(strncmp(cli_cmd(c, "ADD \"a\\q\"\n"), "ERR SYNTAX ", 11) == 0);
    assert_true(strncmp(cli_cmd(c, "ADD \"x\\x00y\"\n"), "ERR ENCODING ", 13) == 0);

    /* Random bytes: every complete line gets exactly one ERR (or, by luck,
     * nothing for a blank line); then the connection still works. */
    unsigned seed = 12345;
    char junk[8192];
    for (size_t i = 0; i < sizeof(junk); i++) {
        seed = seed * 1103515245 + 12345;
        junk[i] = (char)(seed >> 16);
    }
    junk[sizeof(junk) - 1] = '\n';
    assert_int_equal(sock_send_all(c->fd, junk, sizeof(junk)), 0);
    assert_int_equal(cli_send(c, "PING\n"), 0);
    for (;;) {
        long n = cli_line(c, line, sizeof(line), 5000);
        assert_true(n > 0);
        if (strcmp(line, "OK PONG\r\n") == 0)
            break;
        assert_true(strncmp(line, "ERR ", 4) == 0);
    }
    cli_close(c);
}

static int start_mem(void **state)
{
    (void)state;
    const char *const extra[] = {"--db", ":memory:", NULL};
    return server_start(&sp, srv_bin, extra);
}

/* A client asks for a big LIST and leaves without reading it. */
static void gone_mid_reply(void **state)
{
    (void)state;
    struct cli *c = cli_open(sp.port);
    assert_non_null(c);
    char text[1100];
    memset(text, 'y', 1000);
    text[1000] = '\0';
    char *req = malloc(3000 * 1100);
    assert_non_null(req);
    size_t n = 0;
    for (int i = 0; i < 3000; i++)
        n += (size_t)sprintf(req + n, "ADD %s %d\n", text, i);
    assert_int_equal(sock_send_all(c->fd, req, n), 0);
    for (int i = 0; i < 3000; i++) {
        char line[64];
        assert_true(cli_line(c, line, sizeof(line), 10000) > 0);
        assert_true(strncmp(line, "OK ", 3) == 0);
    }
    free(req);
    /* Three MB of replies asked for, twice, then a reset. */
    assert_int_equal(cli_send(c, "LIST\nLIST\n"), 0);
    usleep(50 * 1000);
    struct linger lg = {1, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    cli_close(c);

    /* The same again, closed politely while the reply is on its way. */
    c = cli_open(sp.port);
    assert_non_null(c);
    assert_int_equal(cli_send(c, "LIST\n"), 0);
    cli_close(c);

    struct cli *d = cli_open(sp.port);
    assert_non_null(d);
    assert_string_equal(cli_cmd(d, "PING\n"), "OK PONG\r\n");
    assert_int_equal(srv_stat(d, "tasks"), 3000);
    cli_close(d);
}

/* A LIST whose reply would pass the server's 64 MiB cap on unsent output
 * is refused with a clear error, and the client and the server go on:
 * 1,100 tasks of 62,000 bytes each make a list of about 68 MB. */
static void list_past_reply_limit(void **state)
{
    (void)state;
    /* SQLite's in-memory store cannot stream a LIST (store_engine_streams):
     * on PostgreSQL this list is streamed, not refused. */
    if (getenv("TODO_TEST_DB_URI") != NULL)
        skip();
    enum { TASKS = 1100, TEXT = 62000 };
    struct cli *c = cli_open(sp.port);
    assert_non_null(c);
    char *req = malloc(TEXT + 64);
    assert_non_null(req);
    memcpy(req, "ADD ", sizeof("ADD ")); /* the filler overwrites the terminator */
    memset(req + 4, 'z', TEXT);
    for (int i = 0; i < TASKS; i++) {
        int n = 4 + TEXT + sprintf(req + 4 + TEXT, " %d\n", i);
        assert_int_equal(sock_send_all(c->fd, req, (size_t)n), 0);
        char line[64];
        assert_true(cli_line(c, line, sizeof(line), 10000) > 0);
        assert_true(strncmp(line, "OK ", 3) == 0);
    }
    free(req);

    char line[512];
    assert_int_equal(cli_send(c, "LIST\n"), 0);
    assert_true(cli_line(c, line, sizeof(line), 30000) > 0);
    assert_string_equal(line, "ERR INTERNAL the list is larger than the server's 64 MiB reply "
                              "limit; narrow it with pending, done, +tag or a word\r\n");
    assert_string_equal(cli_cmd(c, "PING\n"), "OK PONG\r\n");
    assert_int_equal(srv_stat(c, "tasks"), TASKS);
    cli_close(c);
}

/* A client let in once the server has noticed that another left: tries for
 * up to 2 s until PING is answered (and not refused); fails the test if it
 * never is. */
static struct cli *newcomer(void)
{
    for (int tries = 0; tries < 100; tries++) {
        struct cli *y = cli_open(sp.port);
        assert_non_null(y);
        if (strcmp(cli_cmd(y, "PING\n"), "OK PONG\r\n") == 0)
            return y;
        cli_close(y);
        usleep(20 * 1000);
    }
    fail_msg("no newcomer was let in within 2 s");
    return NULL;
}

static int start_max3(void **state)
{
    (void)state;
    const char *const extra[] = {"--db", ":memory:", "--threads", "2", "--max-clients", "3", NULL};
    return server_start(&sp, srv_bin, extra);
}

/* Clients with a request line under way are busy: at --max-clients none
 * of them is closed for a newcomer, who gets ERR BUSY. Once one of them
 * has finished its line and been idle for a second, a newcomer gets in in
 * its place, and it is told why it was closed; the busy ones go on. */
static void max_clients(void **state)
{
    (void)state;
    struct cli *c[3];
    char line[256];
    for (int i = 0; i < 3; i++) {
        c[i] = cli_open(sp.port);
        assert_non_null(c[i]);
        assert_string_equal(cli_cmd(c[i], "PING\n"), "OK PONG\r\n");
        assert_int_equal(cli_send(c[i], "PI"), 0); /* a line under way */
    }
    struct cli *x = cli_open(sp.port);
    assert_non_null(x);
    assert_true(cli_line(x, line, sizeof(line), 5000) > 0);
    assert_string_equal(line, "ERR BUSY too many clients (max 3); try again later\r\n");
    assert_true(cli_closed(x, 3000));
    cli_close(x);
    for (int i = 0; i < 3; i++)
        assert_string_equal(cli_cmd(c[i], "NG\n"), "OK PONG\r\n");
    for (int i = 1; i < 3; i++)
        assert_int_equal(cli_send(c[i], "PI"), 0);

    /* c[0] is idle now: within a few seconds a newcomer gets in. */
    struct cli *y = NULL;
    for (int tries = 0; tries < 50 && y == NULL; tries++) {
        y = cli_open(sp.port);
        assert_non_null(y);
        const char *r = cli_cmd(y, "PING\n");
        if (strcmp(r, "OK PONG\r\n") == 0)
            break;
        assert_string_equal(r, "ERR BUSY too many clients (max 3); try again later\r\n");
        cli_close(y);
        y = NULL;
        usleep(200 * 1000);
    }
    assert_non_null(y);
    assert_true(cli_line(c[0], line, sizeof(line), 5000) > 0);
    assert_true(strncmp(line,
                        "ERR BUSY server full (max 3 clients): closing this connection, idle for ",
                        72) == 0);
    assert_non_null(strstr(line, " s, the longest, to let a new client in\r\n"));
    assert_true(cli_closed(c[0], 3000));
    cli_close(c[0]);
    for (int i = 1; i < 3; i++)
        assert_string_equal(cli_cmd(c[i], "NG\n"), "OK PONG\r\n");
    assert_int_equal(srv_stat(y, "evicted"), 1);
    for (int i = 1; i < 3; i++)
        cli_close(c[i]);
    cli_close(y);
}

/* The smallest limit on descriptor numbers that leaves exactly `room` of
 * them free in the server process; -1 if its descriptors cannot be read. */
static int limit_leaving(pid_t pid, int room)
{
    char path[64];
    unsigned char used[1024] = {0};
    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    if (d == NULL)
        return -1;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        int fd = atoi(e->d_name);
        if (e->d_name[0] != '.' && fd >= 0 && fd < (int)sizeof(used))
            used[fd] = 1;
    }
    closedir(d);
    int fd = 0;
    for (int free_fds = 0; fd < (int)sizeof(used) && free_fds < room; fd++)
        free_fds += !used[fd];
    return fd;
}

/* Out of file descriptors (the limit lowered under the running server, as
 * if something else had used them up): a newcomer gets ERR BUSY saying so
 * and is closed, the clients already in are served, and once one of them
 * leaves a newcomer gets in again. */
static void out_of_descriptors(void **state)
{
    (void)state;
    struct cli *in[16];
    int nin = 0, refused = 0;
    char line[256];
    struct rlimit old, lim;

    int limit = limit_leaving(sp.pid, 3); /* room for 3 clients */
    assert_true(limit > 0);
    lim.rlim_cur = lim.rlim_max = (rlim_t)limit;
    assert_int_equal(prlimit(sp.pid, RLIMIT_NOFILE, &lim, &old), 0);

    for (int i = 0; i < 16 && !refused; i++) {
        struct cli *c = cli_open(sp.port);
        assert_non_null(c);
        assert_int_equal(cli_send(c, "PING\n"), 0);
        assert_true(cli_line(c, line, sizeof(line), 5000) > 0);
        if (strcmp(line, "OK PONG\r\n") == 0) {
            in[nin++] = c;
            continue;
        }
        assert_string_equal(line, "ERR BUSY server out of file descriptors; try again later\r\n");
        assert_true(cli_closed(c, 3000));
        cli_close(c);
        refused = 1;
    }
    assert_true(refused);
    assert_int_equal(nin, 3);
    for (int i = 0; i < nin; i++)
        assert_string_equal(cli_cmd(in[i], "PING\n"), "OK PONG\r\n");

    cli_close(in[--nin]);
    in[nin++] = newcomer();
    for (int i = 0; i < nin; i++)
        cli_close(in[i]);
    /* Give the limit back (raising the hard limit needs root; the server
     * stops cleanly either way). */
    prlimit(sp.pid, RLIMIT_NOFILE, &old, NULL);
}

static int start_idle1(void **state)
{
    (void)state;
    const char *const extra[] = {"--db", ":memory:", "--threads", "2", "--idle-timeout", "1", NULL};
    return server_start(&sp, srv_bin, extra);
}

/* An idle client is told why it is closed, with the timeout's length; a
 * client that talks is kept. */
static void idle_timeout(void **state)
{
    (void)state;
    char line[256];
    struct cli *idle = cli_open(sp.port);
    struct cli *busy = cli_open(sp.port);
    assert_non_null(idle);
    assert_non_null(busy);
    assert_string_equal(cli_cmd(idle, "PING\n"), "OK PONG\r\n");
    /* The busy client talks every 200 ms and is kept; the idle one is
     * closed after 1 s (checked once a second, so within about 2.5 s). */
    for (int i = 0; i < 14; i++) {
        assert_string_equal(cli_cmd(busy, "PING\n"), "OK PONG\r\n");
        usleep(200 * 1000);
    }
    assert_true(cli_line(idle, line, sizeof(line), 1000) > 0);
    assert_string_equal(line, "ERR TIMEOUT closing an idle connection after 1 s\r\n");
    assert_true(cli_closed(idle, 1000));
    assert_string_equal(cli_cmd(busy, "PING\n"), "OK PONG\r\n");
    assert_int_equal(srv_stat(busy, "idle_closed"), 1);
    cli_close(idle);
    cli_close(busy);
}

/* An idle client that does not read what it asked for (a LIST bigger than
 * its socket can take) cannot be told why it is closed, but it is closed
 * all the same, a couple of seconds later, and its place is given back. */
static void idle_not_reading(void **state)
{
    (void)state;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    int small = 4096; /* a small window keeps the reply on the server's side */
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)sp.port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    struct cli *c = malloc(sizeof(*c));
    assert_non_null(c);
    c->fd = fd;
    c->len = 0;
    char text[1100];
    memset(text, 'x', 1000);
    text[1000] = '\0';
    for (int i = 0; i < 4000; i++) {
        char req[1200];
        snprintf(req, sizeof(req), "ADD %s %d\n", text, i);
        assert_true(strncmp(cli_cmd(c, req), "OK ", 3) == 0);
    }
    assert_int_equal(cli_send(c, "LIST\n"), 0); /* 4 MB it will not read */
    struct cli *other = cli_open(sp.port);      /* connected now, so as not to be idle */
    assert_non_null(other);

    /* Told after 1 s idle, shut down 2 s after that: within 10 s the
     * server counts one connection, the other one. */
    long n = -1;
    for (int tries = 0; tries < 100 && n != 1; tries++) {
        usleep(100 * 1000);
        n = srv_stat(other, "connections_current");
        assert_string_equal(cli_cmd(other, "PING\n"), "OK PONG\r\n");
    }
    assert_int_equal(n, 1);
    assert_int_equal(srv_stat(other, "idle_closed"), 1);
    cli_close(c);
    cli_close(other);
}

static int start_line3(void **state)
{
    (void)state;
    const char *const extra[] = {"--db", ":memory:",       "--threads", "2", "--idle-timeout",
                                 "2",    "--line-timeout", "3",         NULL};
    return server_start(&sp, srv_bin, extra);
}

/* A client that sends a byte of its line every 200 ms is never idle for
 * --idle-timeout 2, but its line is not done within --line-timeout 3: it
 * is told so and closed, not before. A client that finishes its lines at
 * the same pace is served all along. */
static void line_timeout(void **state)
{
    (void)state;
    char line[256];
    struct cli *slow = cli_open(sp.port);
    struct cli *busy = cli_open(sp.port);
    assert_non_null(slow);
    assert_non_null(busy);
    int one = 1;
    assert_int_equal(setsockopt(slow->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), 0);
    static const char text[] = "ADD a task typed very, very slowly by a client that never ends it";
    long got = -1; /* cli_line(): -1 nothing yet, 0 closed, else a line */
    int sent = 0;
    /* At most 60 bytes (12 s); the server gives up after 3 s, and checks
     * once a second. */
    long t0 = 0;
    for (; sent < 60 && got < 0; sent++) {
        if (sent == 0)
            t0 = now_ms();
        if (sock_send_all(slow->fd, text + sent, 1) != 0)
            break; /* it closed on us */
        assert_string_equal(cli_cmd(busy, "PING\n"), "OK PONG\r\n");
        got = cli_line(slow, line, sizeof(line), 200);
    }
    if (got < 0)
        got = cli_line(slow, line, sizeof(line), 1000);
    assert_true(got > 0);
    assert_string_equal(line, "ERR TIMEOUT request line not completed within 3 s\r\n");
    assert_true(now_ms() - t0 >= 3000); /* not before its time */
    assert_true(cli_closed(slow, 3000));
    assert_string_equal(cli_cmd(busy, "PING\n"), "OK PONG\r\n");
    assert_int_equal(srv_stat(busy, "line_timeouts"), 1);
    assert_int_equal(srv_stat(busy, "tasks"), 0);
    cli_close(slow);
    cli_close(busy);
}

static char pwdir[512];

static int start_password(void **state)
{
    (void)state;
    char path[600];
    if (write_password_file(pwdir, sizeof(pwdir), path, sizeof(path)) != 0)
        return -1;
    const char *const extra[] = {"--db", ":memory:", "--demo", "--password-file", path, NULL};
    return server_start(&sp, srv_bin, extra);
}

static int stop_password(void **state)
{
    int rc = stop(state);
    rm_tree(pwdir);
    return rc;
}

static void password(void **state)
{
    (void)state;
    static const char need[] = "ERR AUTH authentication required; send AUTH <password>\r\n";
    struct cli *c = cli_open(sp.port);
    assert_non_null(c);
    /* PING, HELP and QUIT work before AUTH; nothing else does. */
    assert_string_equal(cli_cmd(c, "PING\n"), "OK PONG\r\n");
    assert_true(strncmp(cli_cmd(c, "HELP\n"), "DATA ", 5) == 0);
    assert_string_equal(cli_cmd(c, "LIST\n"), need);
    assert_string_equal(cli_cmd(c, "ADD sneaky\n"), need);
    assert_string_equal(cli_cmd(c, "STATS\n"), need);
    assert_string_equal(cli_cmd(c, "GET/task_01/status\n"), need);
    assert_string_equal(cli_cmd(c, "POST/task_01=hacked/status\n"), need);
    assert_string_equal(cli_cmd(c, "AUTH open\n"), "ERR AUTH wrong password\r\n");
    assert_string_equal(cli_cmd(c, "AUTH \"open sesame!\"\n"), "ERR AUTH wrong password\r\n");
    assert_string_equal(cli_cmd(c, "AUTH \"\"\n"), "ERR AUTH wrong password\r\n");
    assert_string_equal(cli_cmd(c, "LIST\n"), need);
    assert_string_equal(cli_cmd(c, "AUTH \"open sesame\"\n"), "OK\r\n");
    assert_string_equal(cli_cmd(c, "GET/task_01/status\n"), "see someone\r\n");
    assert_true(strncmp(cli_cmd(c, "LIST\n"), "DATA 3\r\n", 8) == 0);
    /* Authentication belongs to the connection. */
    struct cli *d = cli_open(sp.port);
    assert_non_null(d);
    assert_string_equal(cli_cmd(d, "LIST\n"), need);
    assert_string_equal(cli_cmd(d, "QUIT\n"), "OK bye\r\n");
    cli_close(d);
    cli_close(c);
}

/* A second server on a port already taken exits 2 with one sentence that
 * says which address and why, and has created no database file. */
static void port_taken(void **state)
{
    (void)state;
    static char out[4096], err[4096], want[256];
    char dir[512], db[600], port[16];
    make_tmpdir(dir, sizeof(dir));
    snprintf(db, sizeof(db), "%s/todo.db", dir);
    snprintf(port, sizeof(port), "%d", sp.port);
    const char *args[] = {"--bind", "127.0.0.1", "--port", port, "--db", db, NULL};
    int st = srv_run(args, out, sizeof(out), err, sizeof(err), 10000);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 2);
    snprintf(want, sizeof(want),
             "todo-server: cannot listen on 127.0.0.1:%d: address already in use\n", sp.port);
    assert_string_equal(err, want);
    assert_null(strstr(out, "listening"));
    DIR *d = opendir(dir);
    assert_non_null(d);
    int files = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        files += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    rm_tree(dir);
    assert_int_equal(files, 0);
}

/* Bound to a public address without a password: refuse to start. (Tests
 * never listen on a public address, so --insecure is not tried here.) */
static void public_bind_needs_password(void **state)
{
    (void)state;
    static char out[4096], err[4096];
    const char *args[] = {"--bind", "0.0.0.0", "--port", "0", "--db", ":memory:", NULL};
    int st = srv_run(args, out, sizeof(out), err, sizeof(err), 5000);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 2);
    assert_non_null(strstr(err, "password"));
    assert_non_null(strstr(err, "--insecure"));
    assert_null(strstr(out, "listening"));
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(oversized_line, start_small_lines, stop),
        cmocka_unit_test_setup_teardown(garbage_bytes, start_small_lines, stop),
        cmocka_unit_test_setup_teardown(gone_mid_reply, start_mem, stop),
        cmocka_unit_test_setup_teardown(list_past_reply_limit, start_mem, stop),
        cmocka_unit_test_setup_teardown(max_clients, start_max3, stop),
        cmocka_unit_test_setup_teardown(out_of_descriptors, start_mem, stop),
        cmocka_unit_test_setup_teardown(idle_timeout, start_idle1, stop),
        cmocka_unit_test_setup_teardown(idle_not_reading, start_idle1, stop),
        cmocka_unit_test_setup_teardown(line_timeout, start_line3, stop),
        cmocka_unit_test_setup_teardown(port_taken, start_mem, stop),
        cmocka_unit_test_setup_teardown(password, start_password, stop_password),
        cmocka_unit_test(public_bind_needs_password),
    };
    return srv_test_main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]));
}
