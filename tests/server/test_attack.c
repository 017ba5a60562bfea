/*
 * test_attack.c - clients that attack rather than talk: a web page's
 * request that a browser sends to the todo port (cross-protocol), and
 * password guessing. Each server's log (its stderr) goes to a file, since
 * what it says, and how often, is part of what is tested. Servers run two
 * workers (one in the _1worker run), so that a connection held back on one
 * may be taken up again by the other.
 */
#include "srv_test.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct server_proc sp;
static char dir[512], logpath[600];

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Starts the server with its stderr in dir/log. */
static int start_logged(const char *const *extra)
{
    make_tmpdir(dir, sizeof(dir));
    snprintf(logpath, sizeof(logpath), "%s/log", dir);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (saved < 0 || fd < 0)
        return -1;
    dup2(fd, STDERR_FILENO);
    close(fd);
    int rc = server_start(&sp, srv_bin, extra);
    dup2(saved, STDERR_FILENO);
    close(saved);
    return rc;
}

static int stop(void **state)
{
    (void)state;
    int st = server_stop(&sp, SIGTERM);
    rm_tree(dir);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* How many times the server's log holds needle so far. */
static int log_count(const char *needle)
{
    static char buf[256 * 1024];
    int fd = open(logpath, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    assert_true(n >= 0);
    buf[n] = '\0';
    int count = 0;
    for (const char *p = strstr(buf, needle); p; p = strstr(p + 1, needle))
        count++;
    return count;
}

/* A client connected from the loopback address `from` (127.0.0.2, say). */
static struct cli *cli_open_from(const char *from, int port)
{
    struct cli *c = malloc(sizeof(*c));
    assert_non_null(c);
    c->len = 0;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(c->fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    assert_int_equal(inet_pton(AF_INET, from, &a.sin_addr), 1);
    assert_int_equal(bind(c->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    a.sin_port = htons((uint16_t)port);
    assert_int_equal(inet_pton(AF_INET, "127.0.0.1", &a.sin_addr), 1);
    assert_int_equal(connect(c->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return c;
}

/* ---- a web page's request ---- */

static int start_web(void **state)
{
    (void)state;
    const char *const extra[] = {"--db", ":memory:", "--threads", "2", "--demo", NULL};
    return start_logged(extra);
}

/* What a page's fetch() or form sends to http://127.0.0.1:PORT/, with the
 * attack in its body. */
static const char fetch_post[] = "POST / HTTP/1.1\r\n"
                                 "Host: 127.0.0.1:9000\r\n"
                                 "Connection: keep-alive\r\n"
                                 "Content-Length: 44\r\n"
                                 "Content-Type: text/plain;charset=UTF-8\r\n"
                                 "Origin: http://evil.example\r\n"
                                 "\r\n"
                                 "DEL 1\nADD pwned\nEDIT 2 \"owned by a web page\"";
/* An HTML form with enctype="text/plain": name=value lines in CRLF. */
static const char form_post[] = "POST /x HTTP/1.1\r\n"
                                "Host: localhost:9000\r\n"
                                "Content-Type: text/plain\r\n"
                                "Content-Length: 42\r\n"
                                "\r\n"
                                "a=b\r\n"
                                "DEL 1\r\n"
                                "ADD pwned\r\n"
                                "EDIT 2 owned by a form\r\n";

/* Sends req to a new connection, in one write or a few bytes at a time
 * (each its own segment), and checks that the server refused it. */
static void attack(const char *req, int pieces)
{
    struct cli *c = cli_open(sp.port);
    assert_non_null(c);
    size_t n = strlen(req);
    if (!pieces) {
        assert_int_equal(sock_send_all(c->fd, req, n), 0);
    } else {
        int one = 1;
        assert_int_equal(setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), 0);
        /* Once the server has closed, sends fail: that is the point. */
        for (size_t off = 0; off < n; off += 7) {
            if (sock_send_all(c->fd, req + off, n - off < 7 ? n - off : 7) != 0)
                break;
            usleep(2000);
        }
    }
    /* Served as HTTP (docs/HTTP.md): refused with a 4xx, its body never
     * read as lines. */
    char line[256];
    assert_true(cli_line(c, line, sizeof(line), 5000) > 0);
    assert_true(strncmp(line, "HTTP/1.1 4", 10) == 0);
    cli_close(c);
}

static void web_page_request(void **state)
{
    (void)state;
    struct cli *c = cli_open(sp.port);
    assert_non_null(c);
    assert_string_equal(cli_cmd(c, "ADD first\n"), "OK 1\r\n");
    assert_string_equal(cli_cmd(c, "ADD second\n"), "OK 2\r\n");
    static char before[8192];
    snprintf(before, sizeof(before), "%s", cli_cmd(c, "LIST all\n"));
    assert_true(strncmp(before, "DATA 5\r\n", 8) == 0);

    attack(fetch_post, 0);
    attack(fetch_post, 1);
    attack(form_post, 0);
    attack(form_post, 1);

    /* Nothing changed, and the others are served. */
    assert_string_equal(cli_cmd(c, "LIST all\n"), before);
    struct cli *d = cli_open(sp.port);
    assert_non_null(d);
    assert_string_equal(cli_cmd(d, "LIST all\n"), before);
    /* An HTTP connection is served, not closed as an attack. */
    assert_int_equal(srv_stat(d, "http_closed"), 0);
    cli_close(d);
    cli_close(c);
}

/* A Host: header at any point closes the connection at once: what came
 * before it was answered, nothing after it runs. */
static void host_header_later(void **state)
{
    (void)state;
    struct cli *c = cli_open(sp.port);
    assert_non_null(c);
    assert_string_equal(cli_cmd(c, "PING\n"), "OK PONG\r\n");
    assert_int_equal(cli_send(c, "hOST: 127.0.0.1\r\nADD pwned\r\n"), 0);
    assert_true(cli_closed(c, 5000));
    cli_close(c);
    c = cli_open(sp.port);
    assert_non_null(c);
    assert_int_equal(srv_stat(c, "tasks"), 3);
    assert_int_equal(srv_stat(c, "http_closed"), 1);
    cli_close(c);
}

/* Lines like an HTTP request's that are todo requests: the tutorial's
 * forms (no space after the verb) and native GET, each the first line of
 * its connection; and an HTTP-like line that is not the first. */
static void not_http(void **state)
{
    (void)state;
    static const char *const first[][2] = {
        {"GET/task_01/status\n", "see someone\r\n"},
        {"POST/task_04=milk/status\n", "submit success\r\n"},
        {"GET/task_04/status\n", "milk\r\n"},
        {"GET task_01\n", NULL},
        {"\r\nGET task_02\n", NULL},
        {"ADD GET / HTTP\n", "OK 1\r\n"},
        {"GET / HTTP/1\n", "ERR ARGS "},
    };
    for (size_t i = 0; i < sizeof(first) / sizeof(first[0]); i++) {
        struct cli *c = cli_open(sp.port);
        assert_non_null(c);
        const char *r = cli_cmd(c, first[i][0]);
        if (first[i][1] == NULL)
            assert_true(strncmp(r, "DATA 1\r\n", 8) == 0);
        else
            assert_true(strncmp(r, first[i][1], strlen(first[i][1])) == 0);
        cli_close(c);
    }
    struct cli *c = cli_open(sp.port);
    assert_non_null(c);
    assert_string_equal(cli_cmd(c, "PING\n"), "OK PONG\r\n");
    assert_true(strncmp(cli_cmd(c, "ADD / HTTP/1.1\n"), "OK ", 3) == 0);
    assert_int_equal(srv_stat(c, "http_closed"), 0);
    cli_close(c);
}

/* ---- password guessing ---- */

static int start_password(void **state)
{
    (void)state;
    char pw[700];
    /* dir holds the password; start_logged makes the log's */
    if (write_password_file(dir, sizeof(dir), pw, sizeof(pw)) != 0)
        return -1;
    static char pwpath[700];
    snprintf(pwpath, sizeof(pwpath), "%s", pw);
    char pwdir[512];
    snprintf(pwdir, sizeof(pwdir), "%s", dir);
    const char *const extra[] = {"--db",   ":memory:",        "--threads", "2",
                                 "--demo", "--password-file", pwpath,      NULL};
    int rc = start_logged(extra);
    rm_tree(pwdir); /* the server has read it */
    return rc;
}

static void guessing(void **state)
{
    (void)state;
    static const char wrong[] = "ERR AUTH wrong password\r\n";
    char line[256];

    /* Six guesses and a LIST in one write: each wrong one makes the next
     * request wait longer (0.1, 0.2, 0.4, 0.8 s); the fifth closes the
     * connection, so the sixth and the LIST never run. */
    struct cli *c = cli_open(sp.port);
    assert_non_null(c);
    long t0 = now_ms();
    assert_int_equal(cli_send(c, "AUTH a\nAUTH b\nAUTH c\nAUTH d\nAUTH e\nAUTH f\nLIST\n"), 0);
    for (int i = 0; i < 4; i++) {
        assert_true(cli_line(c, line, sizeof(line), 10000) > 0);
        assert_string_equal(line, wrong);
    }
    assert_true(cli_line(c, line, sizeof(line), 10000) > 0);
    assert_string_equal(line,
                        "ERR AUTH wrong password; 5 wrong in a row, closing the connection\r\n");
    long took = now_ms() - t0;
    assert_true(cli_closed(c, 5000));
    cli_close(c);
    assert_true(took >= 1500); /* the server's delays, 0.1 + 0.2 + 0.4 + 0.8 s at least */

    /* Another address gets in at once with the right password: its AUTH
     * is not delayed (auth_delayed counts the four waits above only). */
    struct cli *other = cli_open_from("127.0.0.2", sp.port);
    assert_string_equal(cli_cmd(other, "AUTH \"open sesame\"\n"), "OK\r\n");
    assert_int_equal(srv_stat(other, "auth_failures"), 5);
    assert_int_equal(srv_stat(other, "auth_closed"), 1);
    assert_int_equal(srv_stat(other, "auth_delayed"), 4);

    /* A new connection from the guessing address waits for that address's
     * delay even with the right password, and then gets in. */
    struct cli *again = cli_open(sp.port);
    assert_non_null(again);
    assert_string_equal(cli_cmd(again, "AUTH \"open sesame\"\n"), "OK\r\n");
    assert_string_equal(cli_cmd(again, "GET/task_01/status\n"), "see someone\r\n");
    assert_int_equal(srv_stat(other, "auth_delayed"), 5);
    cli_close(again);
    cli_close(other);

    /* Five wrong passwords, one log line. */
    assert_int_equal(log_count("wrong password from 127.0.0.1: 1 since the last such line"), 1);
    assert_int_equal(log_count("wrong password"), 1);
}

/* Once an address has guessed wrong, guesses from many of its connections
 * at once are no faster than from one: they take turns, each waiting the
 * delay that the address's failures have earned. */
static void guessing_in_parallel(void **state)
{
    (void)state;
    enum { N = 4 };
    struct cli *c[N];
    char line[256];
    for (int i = 0; i < N; i++) {
        c[i] = cli_open(sp.port);
        assert_non_null(c[i]);
    }
    assert_string_equal(cli_cmd(c[0], "AUTH nope\n"), "ERR AUTH wrong password\r\n");
    long t0 = now_ms();
    for (int i = 1; i < N; i++)
        assert_int_equal(cli_send(c[i], "AUTH nope\n"), 0);
    for (int i = 1; i < N; i++) {
        assert_true(cli_line(c[i], line, sizeof(line), 10000) > 0);
        assert_string_equal(line, "ERR AUTH wrong password\r\n");
    }
    /* Sent after t0, the three failed one after another, the third at
     * least 0.2 + 0.4 s after the first of them. */
    assert_true(now_ms() - t0 >= 600);
    for (int i = 0; i < N; i++)
        cli_close(c[i]);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(web_page_request, start_web, stop),
        cmocka_unit_test_setup_teardown(host_header_later, start_web, stop),
        cmocka_unit_test_setup_teardown(not_http, start_web, stop),
        cmocka_unit_test_setup_teardown(guessing, start_password, stop),
        cmocka_unit_test_setup_teardown(guessing_in_parallel, start_password, stop),
    };
    return srv_test_main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]));
}
