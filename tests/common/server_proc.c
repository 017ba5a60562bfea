#include "server_proc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *server_test_threads(void)
{
    const char *t = getenv("TODO_TEST_THREADS");
    return t && *t ? t : NULL;
}

const char *server_test_db(const char *db)
{
    static char buf[8][512];
    static unsigned next, fresh;
    const char *uri = getenv("TODO_TEST_DB_URI");
    if (uri == NULL || *uri == '\0' || db == NULL)
        return db;
    char *out = buf[next++ % 8];
    uint32_t h = 2166136261u;
    for (const char *p = db; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    if (strcmp(db, ":memory:") == 0)
        h ^= ((uint32_t)getpid() << 12) ^ (uint32_t)(fresh++) ^ (uint32_t)time(NULL) * 2654435761u;
    else if (db[0] != '/') {
        /* A relative file: the same name in another directory is another
         * database. */
        char cwd[256];
        if (getcwd(cwd, sizeof(cwd)) != NULL)
            for (const char *p = cwd; *p; p++)
                h = (h ^ (unsigned char)*p) * 16777619u;
    }
    snprintf(out, sizeof(buf[0]), "%s%coptions=-csearch_path%%3Dsrv_%08x", uri,
             strchr(uri, '?') ? '&' : '?', h);
    return out;
}

int server_start(struct server_proc *sp, const char *server_bin, const char *const *extra)
{
    const char *argv[64];
    size_t argc = 0;
    int pipefd[2];

    argv[argc++] = server_bin;
    argv[argc++] = "--bind";
    argv[argc++] = "127.0.0.1";
    argv[argc++] = "--port";
    argv[argc++] = "0";
    int has_db = 0;
    for (size_t i = 0; extra && extra[i] && argc < 59; i++) {
        argv[argc++] = extra[i];
        if ((strcmp(extra[i], "--db") == 0 || strcmp(extra[i], "-d") == 0) && extra[i + 1]) {
            argv[argc++] = server_test_db(extra[++i]);
            has_db = 1;
        }
    }
    if (!has_db && server_test_db(":memory:") != NULL &&
        strcmp(server_test_db(":memory:"), ":memory:") != 0) {
        argv[argc++] = "--db";
        argv[argc++] = server_test_db("todo.db");
    }
    /* TODO_TEST_THREADS runs a whole test program on that many workers
     * (after the test's own options, so it wins): the server has two ways
     * of handing out connections, one for a lone worker and one for more
     * (server/worker.c), and the tests run on both. */
    const char *threads = server_test_threads();
    if (threads) {
        argv[argc++] = "--threads";
        argv[argc++] = threads;
    }
    argv[argc] = NULL;

    if (pipe(pipefd) != 0) {
        perror("pipe");
        return -1;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        close(pipefd[0]);
        close(pipefd[1]);
        return -1;
    }
    if (pid == 0) {
        /* A test that fails (a cmocka assert ends it at once) or crashes
         * must not leave its server behind: an orphan keeps the test's
         * output pipe open, and ctest would wait for it until its timeout. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
            _exit(127);
        if (dup2(pipefd[1], STDOUT_FILENO) < 0)
            _exit(127);
        close(pipefd[0]);
        close(pipefd[1]);
        execv(server_bin, (char *const *)argv);
        fprintf(stderr, "exec %s: %s\n", server_bin, strerror(errno));
        _exit(127);
    }
    close(pipefd[1]);

    /* Read the first line byte by byte so nothing after it is swallowed. */
    char line[256];
    size_t n = 0;
    long deadline = now_ms() + 10000;
    for (;;) {
        struct pollfd pfd = {.fd = pipefd[0], .events = POLLIN};
        long left = deadline - now_ms();
        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0) {
            fprintf(stderr, "server_start: no 'listening on' line within 10 s\n");
            goto fail;
        }
        char c;
        ssize_t r = read(pipefd[0], &c, 1);
        if (r <= 0) {
            fprintf(stderr, "server_start: server exited before listening\n");
            goto fail;
        }
        if (c == '\n')
            break;
        if (n < sizeof(line) - 1)
            line[n++] = c;
    }
    line[n] = '\0';
    const char *colon = strrchr(line, ':');
    if (strncmp(line, "listening on ", 13) != 0 || !colon) {
        fprintf(stderr, "server_start: unexpected first line '%s'\n", line);
        goto fail;
    }
    sp->pid = pid;
    sp->port = atoi(colon + 1);
    sp->out_fd = pipefd[0];
    return 0;
fail:
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(pipefd[0]);
    return -1;
}

int server_stop(struct server_proc *sp, int sig)
{
    int status = 0;
    if (sp->pid <= 0)
        return -1;
    if (kill(sp->pid, sig) != 0)
        return -1;
    /* A clean stop must not hang: give it 10 s, then kill it. */
    long deadline = now_ms() + 10000;
    for (;;) {
        pid_t r = waitpid(sp->pid, &status, WNOHANG);
        if (r == sp->pid)
            break;
        if (r < 0)
            return -1;
        if (now_ms() > deadline) {
            fprintf(stderr, "server_stop: server did not exit within 10 s; killing it\n");
            kill(sp->pid, SIGKILL);
            waitpid(sp->pid, &status, 0);
            status = -1;
            break;
        }
        usleep(10000);
    }
    sp->pid = 0;
    if (sp->out_fd >= 0)
        close(sp->out_fd);
    sp->out_fd = -1;
    return status;
}

int server_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int sock_send_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

long sock_read_until(int fd, char *buf, size_t cap, const char *until, int timeout_ms)
{
    size_t n = 0, ulen = strlen(until);
    long deadline = now_ms() + timeout_ms;
    while (n + 1 < cap) {
        if (n >= ulen && memcmp(buf + n - ulen, until, ulen) == 0)
            break;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        long left = deadline - now_ms();
        if (left <= 0)
            break;
        int pr = poll(&pfd, 1, (int)left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            break;
        ssize_t r = recv(fd, buf + n, cap - 1 - n, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            buf[n] = '\0';
            return n > 0 ? (long)n : -1;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    return (long)n;
}
