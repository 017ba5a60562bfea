/*
 * test_cli_shell.c - todo-cli's interactive shell driven through a
 * pseudo-terminal, as a person would use it, plus the timeouts.
 *
 *   test_cli_shell SCENARIO TODO_CLI TODO_SERVER
 *
 * Scenarios: command, tab, history, reconnect, timeout, undo. Exit 0 passed,
 * 1 failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "server_proc.h"

static const char *cli_bin, *server_bin;
static char tmpdir[] = "/tmp/todo-cli-shell-XXXXXX";
static int failures;

static void check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void check(int ok, const char *fmt, ...)
{
    if (ok)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAIL: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    failures++;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- a program on a pseudo-terminal ----------------------------------- */

struct pty {
    pid_t pid;
    int fd;
    char out[1 << 16]; /* everything it printed */
    size_t len;
    size_t mark; /* expect() searches from here */
};

/* Starts todo-cli -p port with extra environment (NAME=VALUE strings). */
static int pty_spawn(struct pty *p, int port, const char *const *env)
{
    struct winsize ws = {.ws_row = 30, .ws_col = 120};
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", port);
    memset(p, 0, sizeof(*p));
    p->pid = forkpty(&p->fd, NULL, NULL, &ws);
    if (p->pid < 0) {
        perror("forkpty");
        return -1;
    }
    if (p->pid == 0) {
        setenv("TERM", "xterm", 1);
        unsetenv("NO_COLOR");
        unsetenv("TODO_PASSWORD");
        char histdefault[300];
        snprintf(histdefault, sizeof(histdefault), "%s/default-history", tmpdir);
        setenv("TODO_CLI_HISTFILE", histdefault, 1);
        for (size_t i = 0; env && env[i]; i++)
            putenv((char *)env[i]);
        execl(cli_bin, cli_bin, "-p", portstr, (char *)NULL);
        perror("exec todo-cli");
        _exit(127);
    }
    return 0;
}

static void pty_read(struct pty *p, int ms)
{
    struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
    if (poll(&pfd, 1, ms) <= 0)
        return;
    ssize_t n = read(p->fd, p->out + p->len, sizeof(p->out) - 1 - p->len);
    if (n > 0)
        p->len += (size_t)n;
    p->out[p->len] = '\0';
}

/* Waits up to 5 s for needle to appear after the mark; moves the mark past it. */
static int expect(struct pty *p, const char *needle)
{
    long deadline = now_ms() + 5000;
    for (;;) {
        char *hit = strstr(p->out + p->mark, needle);
        if (hit) {
            p->mark = (size_t)(hit - p->out) + strlen(needle);
            return 1;
        }
        long left = deadline - now_ms();
        if (left <= 0 || p->len + 1 >= sizeof(p->out)) {
            fprintf(stderr, "expected '%s'; the terminal shows since the last match:\n%s\n", needle,
                    p->out + p->mark);
            return 0;
        }
        pty_read(p, (int)left);
    }
}

static void send_keys(struct pty *p, const char *keys)
{
    size_t n = strlen(keys);
    if (write(p->fd, keys, n) != (ssize_t)n)
        perror("write to the pty");
    /* Let the program see each batch of keys on its own, as typed. */
    usleep(50000);
}

/* Waits for the shell to exit; returns its status, or -1 (killed) after 5 s. */
static int pty_wait(struct pty *p)
{
    long deadline = now_ms() + 5000;
    int status;
    for (;;) {
        pid_t r = waitpid(p->pid, &status, WNOHANG);
        if (r == p->pid)
            break;
        if (now_ms() > deadline) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &status, 0);
            close(p->fd);
            return -1;
        }
        pty_read(p, 50);
    }
    close(p->fd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Sends one request to the server directly and reads the one-line reply. */
static void server_say(int port, const char *req, char *reply, size_t cap)
{
    int fd = server_connect(port);
    check(fd >= 0, "connect to the server");
    if (fd < 0)
        return;
    check(sock_send_all(fd, req, strlen(req)) == 0, "send %s", req);
    check(sock_read_until(fd, reply, cap, "\r\n", 5000) > 0, "reply to %s", req);
    close(fd);
}

static void prompt_for(int port, char *buf, size_t cap)
{
    snprintf(buf, cap, "todo 127.0.0.1:%d> ", port);
}

/* ---- scenarios ---------------------------------------------------------- */

/* A command runs; Ctrl-C drops a half-typed line; Ctrl-D leaves. */
static int scenario_command(struct server_proc *sp)
{
    struct pty p;
    char prompt[64];
    prompt_for(sp->port, prompt, sizeof(prompt));
    if (pty_spawn(&p, sp->port, NULL) != 0)
        return 1;
    check(expect(&p, prompt), "the prompt names the server");
    send_keys(&p, "add \"buy milk\" +shop pri:high\r");
    check(expect(&p, prompt), "prompt after add");
    send_keys(&p, "list\r");
    check(expect(&p, "TEXT"), "a table on a terminal");
    check(expect(&p, "buy milk"), "list shows the task");
    send_keys(&p, "get 424242\r");
    check(expect(&p, "(NOTFOUND)"), "a server error is shown");
    check(expect(&p, prompt), "and the shell goes on");
    send_keys(&p, "help list\r");
    check(expect(&p, "usage: list [pending|done|all]"), "help shows the syntax");
    send_keys(&p, "garbage");
    send_keys(&p, "\x03");
    send_keys(&p, "ping\r");
    check(expect(&p, "PONG"), "ping after Ctrl-C");
    check(strstr(p.out, "garbageping") == NULL && strstr(p.out, "unknown command") == NULL,
          "Ctrl-C dropped the half-typed line");
    check(expect(&p, prompt), "prompt after ping");
    send_keys(&p, "\x04");
    check(pty_wait(&p) == 0, "Ctrl-D leaves with status 0");
    return 0;
}

/* After del and done the shell says how to take them back; undo does, with
 * a sentence; an empty history is a server error like any other. */
static int scenario_undo(struct server_proc *sp)
{
    struct pty p;
    char prompt[64];
    prompt_for(sp->port, prompt, sizeof(prompt));
    if (pty_spawn(&p, sp->port, NULL) != 0)
        return 1;
    check(expect(&p, prompt), "the prompt names the server");
    send_keys(&p, "add \"buy milk\"\r");
    check(expect(&p, prompt), "prompt after add");
    check(strstr(p.out, "undo with") == NULL, "no hint after add");
    send_keys(&p, "done 1\r");
    check(expect(&p, "undo with: undo"), "a hint after done");
    check(expect(&p, prompt), "prompt after done");
    send_keys(&p, "del 1\r");
    check(expect(&p, "undo with: undo"), "a hint after del");
    check(expect(&p, prompt), "prompt after del");
    send_keys(&p, "undo\r");
    check(expect(&p, "Undid the del of task 1."), "undo says what it undid");
    send_keys(&p, "undo\r");
    check(expect(&p, "Undid the done of task 1."), "and the one before");
    send_keys(&p, "list\r");
    check(expect(&p, "buy milk"), "the task is back, pending");
    send_keys(&p, "undo\r");
    check(expect(&p, "Undid the add of task 1."), "the add undone");
    send_keys(&p, "undo\r");
    check(expect(&p, "nothing to undo"), "an empty history says so");
    check(expect(&p, prompt), "and the shell goes on");
    send_keys(&p, "\x04");
    check(pty_wait(&p) == 0, "Ctrl-D leaves with status 0");
    return 0;
}

/* Tab completes a command name, a task id and a tag. */
static int scenario_tab(struct server_proc *sp)
{
    struct pty p;
    char prompt[64], reply[256];
    server_say(sp->port, "ADD \"tab task\" +tabtag\r\n", reply, sizeof(reply));
    check(strncmp(reply, "OK ", 3) == 0, "ADD: %s", reply);
    prompt_for(sp->port, prompt, sizeof(prompt));
    if (pty_spawn(&p, sp->port, NULL) != 0)
        return 1;
    check(expect(&p, prompt), "prompt");
    send_keys(&p, "pin\t");
    send_keys(&p, "\r");
    check(expect(&p, "PONG"), "Tab completed 'pin' to 'ping'");
    check(expect(&p, prompt), "prompt");
    /* The only task's id, fetched from the server. */
    send_keys(&p, "get \t");
    send_keys(&p, "\r");
    check(expect(&p, "tab task"), "Tab completed the task id");
    check(expect(&p, prompt), "prompt");
    send_keys(&p, "list +tab\t");
    send_keys(&p, "\r");
    check(expect(&p, "tab task"), "Tab completed the tag");
    check(expect(&p, prompt), "prompt");
    /* A tag of another script (issue 12), completed from its first
     * character. */
    send_keys(&p, "add 学习 +家务\r");
    check(expect(&p, prompt), "prompt");
    send_keys(&p, "list +家\t");
    send_keys(&p, "\r");
    check(expect(&p, "学习"), "Tab completed the tag +家务");
    check(expect(&p, prompt), "prompt");
    /* due: is completed without a blank, so the date can follow at once. */
    send_keys(&p, "add tabdue d\t");
    send_keys(&p, "2099-12-24\r");
    check(expect(&p, prompt), "prompt");
    send_keys(&p, "list tabdue\r");
    check(expect(&p, "2099-12-24"), "Tab completed due: and the date followed it");
    check(expect(&p, prompt), "prompt");
    send_keys(&p, "quit\r");
    check(pty_wait(&p) == 0, "quit leaves with status 0");
    return 0;
}

/* History from one session is there in the next; AUTH lines are not kept. */
static int scenario_history(struct server_proc *sp)
{
    struct pty p;
    char prompt[64], hist[300], envhist[330], xdg[300], envxdg[330],
        envnohist[] = "TODO_CLI_HISTFILE=";
    struct stat st;
    snprintf(hist, sizeof(hist), "%s/hist", tmpdir);
    snprintf(envhist, sizeof(envhist), "TODO_CLI_HISTFILE=%s", hist);
    const char *env[] = {envhist, NULL};
    prompt_for(sp->port, prompt, sizeof(prompt));

    if (pty_spawn(&p, sp->port, env) != 0)
        return 1;
    check(expect(&p, prompt), "prompt");
    send_keys(&p, "ping\r");
    check(expect(&p, "PONG"), "ping");
    check(expect(&p, prompt), "prompt");
    send_keys(&p, "auth s3cret-word\r");
    /* The masked line is drawn again behind the prompt before AUTH runs:
     * wait for it first, or the prompt matched would be that one, and a
     * Ctrl-D sent while AUTH runs (the terminal cooked between lines) is
     * taken by the terminal as an end of file, never read. */
    check(expect(&p, "********"), "the password is masked on the line");
    check(expect(&p, prompt), "prompt after auth");
    send_keys(&p, "\x04");
    check(pty_wait(&p) == 0, "first session ends");

    check(stat(hist, &st) == 0, "the history file exists");
    check((st.st_mode & 0777) == 0600, "history mode is 0600, not %o", st.st_mode & 0777);
    FILE *fp = fopen(hist, "r");
    char text[4096] = "";
    if (fp) {
        size_t n = fread(text, 1, sizeof(text) - 1, fp);
        text[n] = '\0';
        fclose(fp);
    }
    check(strstr(text, "ping") != NULL, "ping is in the history: %s", text);
    check(strstr(text, "s3cret") == NULL, "the AUTH line is not in the history: %s", text);

    if (pty_spawn(&p, sp->port, env) != 0)
        return 1;
    check(expect(&p, prompt), "prompt of the second session");
    send_keys(&p, "\033[A");
    send_keys(&p, "\r");
    check(expect(&p, "PONG"), "Up brings back the last session's ping");
    send_keys(&p, "\x04");
    check(pty_wait(&p) == 0, "second session ends");

    /* Without TODO_CLI_HISTFILE the file goes under $XDG_STATE_HOME. */
    snprintf(xdg, sizeof(xdg), "%s/state", tmpdir);
    snprintf(envxdg, sizeof(envxdg), "XDG_STATE_HOME=%s", xdg);
    const char *env2[] = {envxdg, envnohist, NULL};
    if (pty_spawn(&p, sp->port, env2) != 0)
        return 1;
    check(expect(&p, prompt), "prompt");
    send_keys(&p, "stats\r");
    check(expect(&p, prompt), "prompt after stats");
    send_keys(&p, "\x04");
    check(pty_wait(&p) == 0, "third session ends");
    snprintf(hist, sizeof(hist), "%s/state/todo-cli/history", tmpdir);
    check(stat(hist, &st) == 0 && (st.st_mode & 0777) == 0600,
          "history under XDG_STATE_HOME with mode 0600");
    return 0;
}

/* The prompt says when the server is away, and the next command reconnects. */
static int scenario_reconnect(struct server_proc *sp)
{
    struct pty p;
    char prompt[64], portarg[16];
    int port = sp->port;
    prompt_for(port, prompt, sizeof(prompt));
    if (pty_spawn(&p, port, NULL) != 0)
        return 1;
    check(expect(&p, prompt), "prompt");
    check(server_stop(sp, SIGTERM) >= 0, "server stops");
    send_keys(&p, "\r");
    check(expect(&p, "todo (not connected)> "), "the prompt says the server went away");
    send_keys(&p, "ping\r");
    check(expect(&p, "cannot connect to 127.0.0.1:"), "a command while the server is down");
    check(expect(&p, "todo (not connected)> "), "the shell goes on");
    snprintf(portarg, sizeof(portarg), "%d", port);
    const char *extra[] = {"--db", ":memory:", "--port", portarg, NULL};
    if (server_start(sp, server_bin, extra) != 0) {
        fprintf(stderr, "cannot restart the server on port %d\n", port);
        kill(p.pid, SIGKILL);
        pty_wait(&p);
        return 1;
    }
    send_keys(&p, "ping\r");
    check(expect(&p, "PONG"), "the next command reconnected");
    check(expect(&p, prompt), "the prompt names the server again");
    send_keys(&p, "quit\r");
    check(pty_wait(&p) == 0, "quit");
    return 0;
}

/* Runs todo-cli with argv (NULL-terminated); captures stderr; returns the
 * exit status and the time it took. */
static int run_cli(const char *const *argv, char *err, size_t cap, long *ms)
{
    int pfd[2];
    long start = now_ms();
    /* Callers read both outputs even when the run failed. */
    err[0] = '\0';
    *ms = 0;
    if (pipe(pfd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(pfd[0]);
        close(pfd[1]);
        return -1;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, STDOUT_FILENO);
        dup2(pfd[1], STDERR_FILENO);
        close(pfd[0]);
        execv(cli_bin, (char *const *)argv);
        _exit(127);
    }
    close(pfd[1]);
    size_t n = 0;
    ssize_t r;
    while (n + 1 < cap && (r = read(pfd[0], err + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    err[n] = '\0';
    close(pfd[0]);
    int status;
    pid_t waited = waitpid(pid, &status, 0);
    *ms = now_ms() - start;
    if (waited != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* A server that takes the connection but never answers. */
static int scenario_timeout(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    char port[16], err[1024], want[128];
    long ms;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 8) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
        perror("listen");
        return 1;
    }
    snprintf(port, sizeof(port), "%d", ntohs(sa.sin_port));

    const char *ping[] = {cli_bin, "-p", port, "--timeout", "0.3", "ping", NULL};
    int rc = run_cli(ping, err, sizeof(err), &ms);
    snprintf(want, sizeof(want), "todo-cli: no reply from 127.0.0.1:%s within 0.3 s\n", port);
    check(rc == 3, "a reply that never comes gives exit 3, not %d", rc);
    check(strcmp(err, want) == 0, "timeout message: %s", err);

    /* Completion gives up on its own, quickly, with the static candidates. */
    const char *comp[] = {cli_bin, "-p", port, "__complete", "done", "", NULL};
    rc = run_cli(comp, err, sizeof(err), &ms);
    check(rc == 0 && err[0] == '\0', "__complete against a silent server: %d %s", rc, err);
    check(ms < 3000, "__complete did not hang (%ld ms)", ms);
    close(fd);
    return 0;
}

int main(int argc, char **argv)
{
    struct server_proc sp = {0};
    int rc;
    if (argc != 4) {
        fprintf(stderr, "usage: %s SCENARIO TODO_CLI TODO_SERVER\n", argv[0]);
        return 2;
    }
    cli_bin = argv[2];
    server_bin = argv[3];
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    const char *extra[] = {"--db", ":memory:", NULL};
    if (strcmp(argv[1], "timeout") == 0) {
        rc = scenario_timeout();
    } else {
        if (server_start(&sp, server_bin, extra) != 0)
            return 1;
        if (strcmp(argv[1], "command") == 0)
            rc = scenario_command(&sp);
        else if (strcmp(argv[1], "tab") == 0)
            rc = scenario_tab(&sp);
        else if (strcmp(argv[1], "history") == 0)
            rc = scenario_history(&sp);
        else if (strcmp(argv[1], "reconnect") == 0)
            rc = scenario_reconnect(&sp);
        else if (strcmp(argv[1], "undo") == 0)
            rc = scenario_undo(&sp);
        else {
            fprintf(stderr, "unknown scenario %s\n", argv[1]);
            rc = 2;
        }
        if (sp.pid > 0)
            server_stop(&sp, SIGTERM);
    }
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", tmpdir);
    if (rc == 0 && failures > 0)
        rc = 1;
    printf("%s\n", rc == 0 ? "passed" : "FAILED");
    return rc;
}
