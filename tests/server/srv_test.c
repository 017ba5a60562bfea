/*
 * srv_test.c - see srv_test.h.
 */
#include "srv_test.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *srv_bin;

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct cli *cli_open(int port)
{
    struct cli *c = malloc(sizeof(*c));
    if (c == NULL)
        return NULL;
    c->len = 0;
    c->fd = server_connect(port);
    if (c->fd < 0) {
        free(c);
        return NULL;
    }
    return c;
}

void cli_close(struct cli *c)
{
    if (c) {
        close(c->fd);
        free(c);
    }
}

int cli_send(struct cli *c, const char *s)
{
    return sock_send_all(c->fd, s, strlen(s));
}

/* Reads more bytes into c->buf; 1 got some, 0 EOF, -1 timeout/error. */
static int fill(struct cli *c, long deadline)
{
    if (c->len == sizeof(c->buf))
        return -1;
    for (;;) {
        long left = deadline - now_ms();
        if (left <= 0)
            return -1;
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        int r = poll(&p, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == ECONNRESET ? 0 : -1;
        if (n == 0)
            return 0;
        c->len += (size_t)n;
        return 1;
    }
}

long cli_line(struct cli *c, char *out, size_t cap, int timeout_ms)
{
    long deadline = now_ms() + timeout_ms;
    for (;;) {
        char *lf = memchr(c->buf, '\n', c->len);
        if (lf) {
            size_t n = (size_t)(lf - c->buf) + 1;
            if (n + 1 > cap)
                return -1;
            memcpy(out, c->buf, n);
            out[n] = '\0';
            memmove(c->buf, c->buf + n, c->len - n);
            c->len -= n;
            return (long)n;
        }
        int r = fill(c, deadline);
        if (r <= 0)
            return r;
    }
}

long cli_reply(struct cli *c, char *out, size_t cap, int timeout_ms)
{
    long n = cli_line(c, out, cap, timeout_ms);
    if (n <= 0)
        return n;
    if (strncmp(out, "DATA ", 5) != 0)
        return n;
    long lines = atol(out + 5);
    size_t used = (size_t)n;
    for (long i = 0; i < lines; i++) {
        long k = cli_line(c, out + used, cap - used, timeout_ms);
        if (k <= 0)
            return -1;
        used += (size_t)k;
    }
    return (long)used;
}

const char *cli_cmd(struct cli *c, const char *req)
{
    static _Thread_local char reply[64 * 1024];
    reply[0] = '\0';
    if (cli_send(c, req) != 0 || cli_reply(c, reply, sizeof(reply), 10000) <= 0)
        reply[0] = '\0';
    return reply;
}

int cli_closed(struct cli *c, int timeout_ms)
{
    long deadline = now_ms() + timeout_ms;
    for (;;) {
        c->len = 0; /* whatever came before the close does not matter */
        int r = fill(c, deadline);
        if (r == 0)
            return 1;
        if (r < 0)
            return 0;
    }
}

/* Every server srv_start() started, so that srv_kill_left() can stop those
 * a failed assertion left running (their pids; a reaped one is skipped). */
static pid_t started[64];
static size_t nstarted;

void srv_start(struct server_proc *sp, const char *const *extra)
{
    assert_int_equal(server_start(sp, srv_bin, extra), 0);
    if (nstarted < sizeof(started) / sizeof(started[0]))
        started[nstarted++] = sp->pid;
}

void srv_kill_left(void)
{
    for (size_t i = 0; i < nstarted; i++) {
        int st;
        if (waitpid(started[i], &st, WNOHANG) == 0) {
            kill(started[i], SIGKILL);
            waitpid(started[i], &st, 0);
        }
    }
    nstarted = 0;
}

int srv_threads(int asked)
{
    const char *t = server_test_threads();
    return t ? atoi(t) : asked;
}

long long srv_stat(struct cli *c, const char *name)
{
    const char *r = cli_cmd(c, "STATS\n");
    size_t n = strlen(name);
    for (const char *p = strstr(r, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (strncmp(line, name, n) == 0 && line[n] == ' ')
            return atoll(line + n + 1);
    }
    return -1;
}

/* Appends what fd has to buf (kept NUL-terminated); 0 at EOF. */
static int drain(int fd, char *buf, size_t cap, size_t *len)
{
    char tmp[4096];
    ssize_t n = read(fd, tmp, sizeof(tmp));
    if (n < 0 && errno == EINTR)
        return 1;
    if (n <= 0)
        return 0;
    size_t k = (size_t)n;
    if (*len + k > cap - 1)
        k = cap - 1 - *len;
    memcpy(buf + *len, tmp, k);
    *len += k;
    buf[*len] = '\0';
    return 1;
}

int srv_run(const char *const *args, char *out, size_t outcap, char *err, size_t errcap,
            int timeout_ms)
{
    const char *argv[32];
    int po[2], pe[2];
    size_t argc = 0, olen = 0, elen = 0;

    argv[argc++] = srv_bin;
    for (size_t i = 0; args[i] && argc < 31; i++) {
        argv[argc++] = args[i];
        if ((strcmp(args[i], "--db") == 0 || strcmp(args[i], "-d") == 0) && args[i + 1] &&
            argc < 31)
            argv[argc++] = server_test_db(args[++i]);
    }
    argv[argc] = NULL;
    out[0] = err[0] = '\0';
    if (pipe(po) != 0 || pipe(pe) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(po[1], STDOUT_FILENO);
        dup2(pe[1], STDERR_FILENO);
        close(po[0]);
        close(pe[0]);
        execv(srv_bin, (char *const *)argv);
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    long deadline = now_ms() + timeout_ms;
    struct pollfd p[2] = {{.fd = po[0], .events = POLLIN}, {.fd = pe[0], .events = POLLIN}};
    while ((p[0].fd >= 0 || p[1].fd >= 0) && now_ms() < deadline) {
        if (poll(p, 2, 100) < 0 && errno != EINTR)
            break;
        if (p[0].fd >= 0 && p[0].revents && !drain(p[0].fd, out, outcap, &olen))
            p[0].fd = -1;
        if (p[1].fd >= 0 && p[1].revents && !drain(p[1].fd, err, errcap, &elen))
            p[1].fd = -1;
    }
    close(po[0]);
    close(pe[0]);
    int status = -1;
    while (now_ms() < deadline) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return status;
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

void make_tmpdir(char *path, size_t cap)
{
    const char *base = getenv("TMPDIR");
    snprintf(path, cap, "%s/todo-srv-test-XXXXXX", base && *base ? base : "/tmp");
    assert_non_null(mkdtemp(path));
}

void rm_tree(const char *path)
{
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", path);
}

int write_password_file(char *dir, size_t dircap, char *path, size_t pathcap)
{
    make_tmpdir(dir, dircap);
    snprintf(path, pathcap, "%s/pw", dir);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    int w = fputs(SRV_TEST_PASSWORD "\n", f);
    if (fclose(f) != 0 || w < 0 || chmod(path, 0600) != 0)
        return -1;
    return 0;
}

int srv_test_main(int argc, char **argv, const struct CMUnitTest *tests, size_t n)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s PATH-TO-todo-server\n", argv[0]);
        return 2;
    }
    srv_bin = argv[1];
    /* TODO_TEST_FILTER=NAME (a glob) runs only the tests it matches, for
     * running one of them many times over while chasing a rare failure. */
    const char *filter = getenv("TODO_TEST_FILTER");
    if (filter != NULL && *filter != '\0')
        cmocka_set_test_filter(filter);
    const char *slash = strrchr(argv[0], '/');
    return _cmocka_run_group_tests(slash ? slash + 1 : argv[0], tests, n, NULL, NULL);
}
