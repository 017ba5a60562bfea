/*
 * test_cli_wire.c - what todo-cli puts on the wire: never the tutorial's
 * GET/ or POST/ forms, whose bare replies cannot be told from the server's
 * own (a task whose text is "no key match" or "DATA 2" reads back as just
 * that; docs/PROTOCOL.md, Legacy forms).
 *
 * A recording relay sits between todo-cli and a real todo-server: every
 * byte todo-cli sends is kept, and after every command of todo-cli has run
 * through it (one-shot commands, batch mode, export and import), each line
 * is parsed with libproto, as the server parses it, and must be a native
 * command. The check is shown to catch a legacy line first.
 *
 * Usage: test_cli_wire TODO_CLI TODO_SERVER
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "server_proc.h"
#include "todo/proto.h"

static const char *cli_bin;
static int server_port;
static int fails;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "FAIL: " __VA_ARGS__);                                                 \
            fputc('\n', stderr);                                                                   \
            fails++;                                                                               \
        }                                                                                          \
    } while (0)

/* ---- the relay ---- */

#define MAX_PAIRS 16
static struct {
    pthread_mutex_t lock; /* guards sent and sent_len */
    char *sent;           /* every byte a client sent, in order of arrival */
    size_t sent_len, sent_cap;
    int lfd, port;
    int stop[2]; /* a byte on stop[1] ends the relay */
} relay = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void record(const char *p, size_t n)
{
    pthread_mutex_lock(&relay.lock);
    if (relay.sent_len + n > relay.sent_cap) {
        size_t cap = (relay.sent_len + n) * 2;
        char *q = realloc(relay.sent, cap);
        if (q == NULL) {
            pthread_mutex_unlock(&relay.lock);
            abort();
        }
        relay.sent = q;
        relay.sent_cap = cap;
    }
    memcpy(relay.sent + relay.sent_len, p, n);
    relay.sent_len += n;
    pthread_mutex_unlock(&relay.lock);
}

/* Copies what is readable on from to to; records it when client is set.
 * 0, or -1 when either side is done. */
static int pass_on(int from, int to, int client)
{
    char buf[64 * 1024];
    ssize_t n = recv(from, buf, sizeof(buf), 0);
    if (n <= 0)
        return -1;
    if (client)
        record(buf, (size_t)n);
    return sock_send_all(to, buf, (size_t)n);
}

static void *relay_main(void *arg)
{
    (void)arg;
    int cfd[MAX_PAIRS], sfd[MAX_PAIRS], npairs = 0;
    for (;;) {
        struct pollfd p[2 + 2 * MAX_PAIRS];
        int n = 0;
        p[n++] = (struct pollfd){.fd = relay.stop[0], .events = POLLIN};
        p[n++] = (struct pollfd){.fd = relay.lfd, .events = POLLIN};
        for (int i = 0; i < npairs; i++) {
            p[n++] = (struct pollfd){.fd = cfd[i], .events = POLLIN};
            p[n++] = (struct pollfd){.fd = sfd[i], .events = POLLIN};
        }
        if (poll(p, (nfds_t)n, 1000) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[0].revents)
            break;
        for (int i = npairs - 1; i >= 0; i--) {
            short cr = p[2 + 2 * i].revents, sr = p[3 + 2 * i].revents;
            int done = 0;
            if (cr && pass_on(cfd[i], sfd[i], 1) != 0)
                done = 1;
            if (!done && sr && pass_on(sfd[i], cfd[i], 0) != 0)
                done = 1;
            if (done) {
                close(cfd[i]);
                close(sfd[i]);
                cfd[i] = cfd[npairs - 1];
                sfd[i] = sfd[npairs - 1];
                npairs--;
            }
        }
        if ((p[1].revents & POLLIN) && npairs < MAX_PAIRS) {
            int c = accept(relay.lfd, NULL, NULL);
            if (c >= 0) {
                int s = server_connect(server_port);
                if (s < 0) {
                    close(c);
                } else {
                    cfd[npairs] = c;
                    sfd[npairs] = s;
                    npairs++;
                }
            }
        }
    }
    for (int i = 0; i < npairs; i++) {
        close(cfd[i]);
        close(sfd[i]);
    }
    return NULL;
}

static int relay_listen(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    relay.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (relay.lfd < 0 || bind(relay.lfd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(relay.lfd, 16) != 0 || getsockname(relay.lfd, (struct sockaddr *)&a, &len) != 0)
        return -1;
    relay.port = ntohs(a.sin_port);
    return pipe(relay.stop);
}

/* ---- todo-cli ---- */

/* Runs todo-cli -p RELAY args... with stdin from the file in_path (or
 * /dev/null) and stdout to out_path (or /dev/null); waits up to 20 s.
 * Returns its exit status, or -1. */
static int run_cli(const char *const *args, const char *in_path, const char *out_path)
{
    char port[16];
    const char *argv[32];
    int n = 0;
    snprintf(port, sizeof(port), "%d", relay.port);
    argv[n++] = cli_bin;
    argv[n++] = "-p";
    argv[n++] = port;
    for (int i = 0; args[i] && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int in = open(in_path ? in_path : "/dev/null", O_RDONLY);
        int out = open(out_path ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int err = open("/dev/null", O_WRONLY);
        if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
            _exit(127);
        execv(cli_bin, (char *const *)argv);
        _exit(127);
    }
    for (int i = 0; i < 2000; i++) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        if (r < 0)
            return -1;
        usleep(10 * 1000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

/* ---- the check ---- */

/* Counts the lines of buf[0..len) that the server would take as the
 * tutorial's GET/ or POST/ (parsed by libproto, as the server does), or
 * that begin like one in any case; prints each. */
static int legacy_lines(const char *buf, size_t len)
{
    static char scratch[PROTO_MAX_LINE_DEFAULT + 1];
    int found = 0;
    size_t off = 0;
    while (off < len) {
        const char *nl = memchr(buf + off, '\n', len - off);
        size_t end = nl ? (size_t)(nl - buf) : len;
        const char *line = buf + off;
        size_t n = end - off;
        if (n > 0 && line[n - 1] == '\r')
            n--;
        struct proto_request req;
        char err[256];
        int legacy = (n >= 4 && strncasecmp(line, "GET/", 4) == 0) ||
                     (n >= 5 && strncasecmp(line, "POST/", 5) == 0);
        if (n < sizeof(scratch) &&
            proto_request_parse(line, n, scratch, sizeof(scratch), &req, err, sizeof(err)) ==
                PROTO_E_NONE &&
            (req.cmd == PROTO_CMD_LEGACY_GET || req.cmd == PROTO_CMD_LEGACY_POST))
            legacy = 1;
        if (legacy) {
            fprintf(stderr, "a legacy line was sent: %.*s\n", (int)(n > 80 ? 80 : n), line);
            found++;
        }
        off = end + 1;
    }
    return found;
}

static size_t sent_now(void)
{
    pthread_mutex_lock(&relay.lock);
    size_t n = relay.sent_len;
    pthread_mutex_unlock(&relay.lock);
    return n;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s TODO_CLI TODO_SERVER\n", argv[0]);
        return 2;
    }
    cli_bin = argv[1];
    signal(SIGPIPE, SIG_IGN);
    struct server_proc sp;
    const char *const extra[] = {"--db", ":memory:", NULL};
    if (server_start(&sp, argv[2], extra) != 0)
        return 1;
    server_port = sp.port;
    pthread_t t;
    if (relay_listen() != 0 || pthread_create(&t, NULL, relay_main, NULL) != 0) {
        perror("relay");
        server_stop(&sp, SIGKILL);
        return 1;
    }

    /* The check catches a legacy line sent through the relay. */
    int fd = server_connect(relay.port);
    CHECK(fd >= 0, "cannot connect to the relay");
    size_t before = sent_now();
    CHECK(sock_send_all(fd, "PING\r\nget/task_01/status\r\nPOST/x=y/z\r\n", 37) == 0,
          "send through the relay");
    char buf[256];
    long got = sock_read_until(fd, buf, sizeof(buf), "submit success\r\n", 5000);
    CHECK(got > 0, "no replies through the relay");
    close(fd);
    pthread_mutex_lock(&relay.lock);
    int caught = legacy_lines(relay.sent + before, relay.sent_len - before);
    relay.sent_len = before; /* not todo-cli's */
    pthread_mutex_unlock(&relay.lock);
    CHECK(caught == 2, "the check found %d of the 2 legacy lines sent", caught);

    /* Every command todo-cli has, as one-shot commands. */
    char dir[] = "/tmp/todo-cli-wire-XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    char exp[64], batch[64];
    snprintf(exp, sizeof(exp), "%s/export.json", dir);
    snprintf(batch, sizeof(batch), "%s/batch.txt", dir);
    const char *const cmds[][8] = {
        {"add", "buy milk", "+shopping", "due:2026-12-01", "pri:high", NULL},
        {"add", "no key match", NULL},
        {"add", "DATA 2", NULL},
        {"list", NULL},
        {"list", "all", "+shopping", "milk", NULL},
        {"list", "done", NULL},
        {"get", "1", NULL},
        {"edit", "1", "-shopping", "+home", "pri:low", NULL},
        {"done", "2", NULL},
        {"undone", "2", NULL},
        {"tags", NULL},
        {"stats", NULL},
        {"ping", NULL},
        {"--json", "list", "all", NULL},
        {"--plain", "get", "3", NULL},
        {"del", "3", NULL},
        {"get", "task_01", NULL},
        {"help", NULL},
    };
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        size_t at = sent_now();
        int rc = run_cli(cmds[i], NULL, NULL);
        CHECK(rc >= 0, "todo-cli %s did not finish", cmds[i][0]);
        CHECK(sent_now() > at || strcmp(cmds[i][0], "help") == 0, "todo-cli %s sent nothing",
              cmds[i][0]);
    }
    const char *const ex[] = {"export", NULL};
    CHECK(run_cli(ex, NULL, exp) == 0, "todo-cli export failed");
    /* Into the same server, where every id is taken: with replace, each
     * task is sent as an IMPORT that restores it. */
    const char *const im[] = {"import", "--on-conflict", "replace", NULL};
    CHECK(run_cli(im, exp, NULL) == 0, "todo-cli import failed");
    /* Batch mode: commands on stdin, including what looks like the
     * tutorial's forms (todo-cli takes them as its own commands or refuses
     * them; it never sends them on). */
    FILE *f = fopen(batch, "w");
    CHECK(f != NULL, "cannot write %s", batch);
    if (f) {
        fputs("add from batch +b\nlist all\nget 1\nGET/task_01/status\nPOST/task_04=x/status\n"
              "done 1\nstats\n",
              f);
        fclose(f);
    }
    const char *const none[] = {NULL};
    CHECK(run_cli(none, batch, NULL) >= 0, "todo-cli batch mode did not finish");

    pthread_mutex_lock(&relay.lock);
    size_t total = relay.sent_len;
    int legacy = legacy_lines(relay.sent, relay.sent_len);
    pthread_mutex_unlock(&relay.lock);
    CHECK(total > 200, "todo-cli sent only %zu bytes in all", total);
    CHECK(legacy == 0, "todo-cli sent %d legacy (GET/ or POST/) lines", legacy);

    CHECK(write(relay.stop[1], "x", 1) == 1, "stopping the relay");
    pthread_join(t, NULL);
    server_stop(&sp, SIGTERM);
    unlink(exp);
    unlink(batch);
    rmdir(dir);
    free(relay.sent);
    if (fails) {
        fprintf(stderr, "%d check(s) failed\n", fails);
        return 1;
    }
    printf("todo-cli sent %zu bytes, no legacy line\n", total);
    return 0;
}
