/*
 * cli-watch.c - `todo-cli watch [pending|done|all] [+TAG]...`: WATCH, then
 * each event printed as one line and flushed at once (so that a pipe into
 * jq sees it), until SIGINT or SIGTERM, which end it with status 0.
 *
 * A lost connection is opened again with a back-off and WATCH since:SEQ of
 * the last event printed, so that nothing the server still keeps is
 * missed; when it no longer keeps them (ERR EXPIRED) or the watch fell too
 * far behind (EVENT overflow), that is said on stderr (and in JSON by a
 * {"event":"reload"} line) and the watch goes on afresh.
 */
#include "cli-watch.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>

#include "text.h"

/* The first protocol version that has WATCH. */
#define WATCH_PROTO_VERSION 4

int cli_watch_hello_version(const char *text, size_t len)
{
    size_t i = 5;
    int v = 0;
    if (len < 6 || memcmp(text, "todo ", 5) != 0)
        return -1;
    for (; i < len && text[i] >= '0' && text[i] <= '9'; i++) {
        if (v > 100000)
            return -1;
        v = v * 10 + (text[i] - '0');
    }
    if (i == 5 || (i < len && text[i] != ' '))
        return -1;
    return v;
}

int cli_watch_parse_seq(const char *text, size_t len, uint64_t *seq)
{
    uint64_t v = 0;
    if (len == 0 || len > 20)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9')
            return -1;
        unsigned d = (unsigned)(text[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *seq = v;
    return 0;
}

/* A watch may be silent for hours: TCP keepalive finds a server that
 * vanished without closing (a host gone, a cable out) after about 90 s,
 * and the wait then fails like any lost connection. */
#define WATCH_KEEPIDLE_S 60
#define WATCH_KEEPINTVL_S 10
#define WATCH_KEEPCNT 3

static void keepalive(struct session *s)
{
    int on = 1, idle = WATCH_KEEPIDLE_S, intvl = WATCH_KEEPINTVL_S, cnt = WATCH_KEEPCNT;
    int fd = s->conn.fd;
    if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on)) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl)) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt)) != 0)
        fprintf(stderr,
                "todo-cli: cannot turn TCP keepalive on (%s): a vanished server may go "
                "unnoticed\n",
                strerror(errno));
}

int cli_watch_start(struct session *s, const char *const *words, size_t nwords, int since_set,
                    uint64_t since, uint64_t *seq, enum cli_conn_status *st)
{
    struct proto_arg args[PROTO_WATCH_MAX_ARGS];
    struct proto_reply r;
    char since_word[32];

    *st = cli_conn_call(&s->conn, PROTO_CMD_HELLO, NULL, 0, &r);
    if (*st != CLI_CONN_OK)
        return CLI_WATCH_LOST;
    if (r.kind == PROTO_REPLY_ERR)
        return session_server_error(s, &r);
    int v = r.kind == PROTO_REPLY_OK ? cli_watch_hello_version(r.text.ptr, r.text.len) : -1;
    if (v < 0) {
        session_fail(s, "PROTOCOL", "%s:%s does not greet as a todo server (HELLO)",
                     s->conn.cfg.host, s->conn.cfg.port);
        cli_conn_close(&s->conn);
        return CLI_EXIT_SERVER;
    }
    /* An older server would answer WATCH with ERR UNKNOWN at best: say
     * what is wrong in the words of versions. */
    if (v < WATCH_PROTO_VERSION) {
        session_fail(s, "VERSION",
                     "%s:%s speaks protocol version %d; watching needs version %d or later "
                     "(todo-cli speaks %d)",
                     s->conn.cfg.host, s->conn.cfg.port, v, WATCH_PROTO_VERSION, PROTO_VERSION);
        cli_conn_close(&s->conn);
        return CLI_EXIT_SERVER;
    }
    keepalive(s);
    if (nwords > PROTO_WATCH_MAX_ARGS - 1)
        nwords = PROTO_WATCH_MAX_ARGS - 1;
    for (size_t i = 0; i < nwords; i++)
        args[i] = (struct proto_arg){words[i], strlen(words[i]), 0};
    size_t n = nwords;
    if (since_set) {
        snprintf(since_word, sizeof(since_word), "since:%llu", (unsigned long long)since);
        args[n++] = (struct proto_arg){since_word, strlen(since_word), 0};
    }
    *st = cli_conn_call(&s->conn, PROTO_CMD_WATCH, args, n, &r);
    if (*st != CLI_CONN_OK)
        return CLI_WATCH_LOST;
    if (r.kind == PROTO_REPLY_ERR && r.err == PROTO_E_EXPIRED && since_set)
        return CLI_WATCH_EXPIRED;
    if (r.kind == PROTO_REPLY_ERR)
        return session_server_error(s, &r);
    if (r.kind != PROTO_REPLY_OK || cli_watch_parse_seq(r.text.ptr, r.text.len, seq) != 0) {
        session_fail(s, "PROTOCOL", "unexpected reply from %s:%s to WATCH", s->conn.cfg.host,
                     s->conn.cfg.port);
        cli_conn_close(&s->conn);
        return CLI_EXIT_SERVER;
    }
    return 0;
}

/* ---- the command ------------------------------------------------------- */

static volatile sig_atomic_t watch_stop;

static void on_stop(int sig)
{
    (void)sig;
    watch_stop = 1;
}

struct watch {
    struct session *s;
    const char *const *words;
    size_t nwords;
    uint64_t last;  /* the last change seen: a resumed WATCH asks for what follows */
    int overflow;   /* EVENT overflow came: the watch has ended */
    int out_errno;  /* printing failed (a closed pipe: jq or head ended) */
    sigset_t waitm; /* the mask to wait with: SIGINT and SIGTERM let through */
};

static void on_event(void *ctx, const struct proto_event *ev)
{
    struct watch *w = ctx;
    if (w->overflow || w->out_errno)
        return;
    if (ev->kind == PROTO_EVENT_OVERFLOW) {
        w->overflow = 1;
        return;
    }
    /* Numbers only grow: one at or below the last seen is a change shown
     * already (a replay that overlaps), not news. */
    if (ev->seq <= w->last)
        return;
    w->last = ev->seq;
    /* Flushed at once: a pipe into jq or grep sees each change as it happens. */
    if (out_event(&w->s->out, ev) != 0 || fflush(w->s->out.fp) != 0)
        w->out_errno = errno ? errno : EIO;
}

/* The watch ended without our asking: say so, and tell a script to reload. */
static int say_reload(struct watch *w, const char *why)
{
    fprintf(stderr, "todo-cli: %s; watching afresh (changes in between were missed: reload)\n",
            why);
    if (out_event_reload(&w->s->out) != 0 || fflush(w->s->out.fp) != 0) {
        w->out_errno = errno ? errno : EIO;
        return -1;
    }
    return 0;
}

/* Sleeps ms, or less when SIGINT or SIGTERM comes. */
static void nap(struct watch *w, int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    if (!watch_stop)
        (void)pselect(0, NULL, NULL, NULL, &ts, &w->waitm);
}

/* WATCH (since the last change seen when resume is set), over an open
 * connection. 0 watching; CLI_WATCH_LOST; or an exit status. */
static int watch_begin(struct watch *w, int resume, enum cli_conn_status *st)
{
    uint64_t seq = 0;
    int rc = cli_watch_start(w->s, w->words, w->nwords, resume, w->last, &seq, st);
    if (rc == CLI_WATCH_EXPIRED) {
        char why[96];
        snprintf(why, sizeof(why), "the server no longer keeps the changes after %llu",
                 (unsigned long long)w->last);
        if (say_reload(w, why) != 0)
            return CLI_EXIT_SERVER;
        rc = cli_watch_start(w->s, w->words, w->nwords, 0, 0, &seq, st);
        resume = 0;
    }
    /* Resumed, the replay that follows moves w->last on; afresh, the
     * events to come follow the OK's number. */
    if (rc == 0 && !resume)
        w->last = seq;
    return rc;
}

/* Opens the connection again and resumes the watch, with a back-off, until
 * it works or the user stops it. 0 watching again, else an exit status. */
static int reconnect(struct watch *w)
{
    struct session *s = w->s;
    enum cli_conn_status st;
    int delay = CLI_WATCH_RETRY_FIRST_MS;

    fputs("todo-cli: ", stderr);
    text_fputs(stderr, s->conn.err, strlen(s->conn.err));
    fputs("; reconnecting\n", stderr);
    for (;;) {
        nap(w, delay);
        if (watch_stop)
            return CLI_EXIT_OK;
        delay = delay * 2 > CLI_WATCH_RETRY_MAX_MS ? CLI_WATCH_RETRY_MAX_MS : delay * 2;
        st = cli_conn_open(&s->conn);
        if (st == CLI_CONN_E_INTR || watch_stop)
            return CLI_EXIT_OK;
        if (st == CLI_CONN_E_AUTH)
            return session_conn_failed(s, st);
        if (st != CLI_CONN_OK)
            continue;
        int rc = watch_begin(w, 1, &st);
        if (rc == 0) {
            fprintf(stderr, "todo-cli: reconnected to %s:%s\n", s->conn.cfg.host, s->conn.cfg.port);
            return 0;
        }
        if (rc != CLI_WATCH_LOST)
            return rc;
        if (st == CLI_CONN_E_INTR || watch_stop)
            return CLI_EXIT_OK;
    }
}

/* The user's words: at most one of pending, done, all, and valid +TAGs. */
static int check_words(struct session *s, int argc, char **argv)
{
    int status = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int quoted = s->quoted && s->quoted[i];
        if (!quoted && (strcasecmp(a, "pending") == 0 || strcasecmp(a, "done") == 0 ||
                        strcasecmp(a, "all") == 0)) {
            if (status++) {
                session_fail(s, "USAGE", "watch takes one of pending, done and all, not two");
                return -1;
            }
            continue;
        }
        if (!quoted && a[0] == '+' && proto_valid_tag(a + 1, strlen(a + 1)))
            continue;
        session_fail(s, "USAGE",
                     "watch takes pending, done or all and +TAG words, not '%s' "
                     "(usage: watch [pending|done|all] [+TAG]...)",
                     a);
        return -1;
    }
    return 0;
}

int cli_watch_run(struct session *s, const struct client_cmd *c, int argc, char **argv)
{
    struct watch w;
    struct sigaction sa, old_int, old_term;
    sigset_t block, old_mask;
    enum cli_conn_status st;
    int rc;
    (void)c;

    if (check_words(s, argc, argv) != 0)
        return CLI_EXIT_USAGE;
    memset(&w, 0, sizeof(w));
    w.s = s;
    w.words = (const char *const *)argv;
    w.nwords = (size_t)argc;

    /* SIGINT and SIGTERM only set a flag, and are blocked except inside a
     * wait (pselect), so that one that comes between two waits is seen at
     * the next one rather than lost. No SA_RESTART: a wait must end. */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    watch_stop = 0;
    if (sigprocmask(SIG_BLOCK, &block, &old_mask) != 0) {
        session_fail(s, "INTERNAL", "cannot block signals: %s", strerror(errno));
        return CLI_EXIT_SERVER;
    }
    if (sigaction(SIGINT, &sa, &old_int) != 0) {
        session_fail(s, "INTERNAL", "cannot catch SIGINT: %s", strerror(errno));
        rc = CLI_EXIT_SERVER;
        goto out_mask;
    }
    if (sigaction(SIGTERM, &sa, &old_term) != 0) {
        session_fail(s, "INTERNAL", "cannot catch SIGTERM: %s", strerror(errno));
        rc = CLI_EXIT_SERVER;
        goto out_int;
    }
    w.waitm = old_mask;
    sigdelset(&w.waitm, SIGINT);
    sigdelset(&w.waitm, SIGTERM);

    /* Everything on stdout is one JSON document a line, errors too. */
    int old_lines = s->out.json_lines;
    s->out.json_lines = 1;
    const volatile sig_atomic_t *old_cancel = s->conn.cancel;
    cli_conn_event_fn old_fn = s->conn.on_event;
    void *old_ctx = s->conn.event_ctx;
    s->conn.cancel = &watch_stop;
    s->conn.wait_mask = &w.waitm;
    s->conn.on_event = on_event;
    s->conn.event_ctx = &w;

    /* Not reachable at the start: the usual message and status. A shell's
     * connection may be watching already: a fresh one starts clean. */
    if (s->mode == SESSION_SHELL)
        cli_conn_close(&s->conn);
    rc = session_connect(s);
    if (rc != 0) {
        rc = watch_stop ? CLI_EXIT_OK : rc;
        goto out;
    }
    rc = watch_begin(&w, 0, &st);
    if (rc == CLI_WATCH_LOST)
        rc = st == CLI_CONN_E_INTR || watch_stop ? CLI_EXIT_OK : session_conn_failed(s, st);
    while (rc == 0) {
        if (watch_stop)
            break;
        if (w.out_errno)
            break;
        if (w.overflow) {
            w.overflow = 0;
            if (say_reload(&w, "the watch fell too far behind the server") != 0)
                break;
            rc = watch_begin(&w, 0, &st);
            if (rc == CLI_WATCH_LOST)
                rc = st == CLI_CONN_E_INTR || watch_stop ? CLI_EXIT_OK : reconnect(&w);
            continue;
        }
        st = cli_conn_wait_events(&s->conn, -1);
        if (st == CLI_CONN_OK)
            continue;
        if (st == CLI_CONN_E_INTR || watch_stop)
            break;
        if (st == CLI_CONN_E_PROTO || st == CLI_CONN_E_NOMEM) {
            rc = session_conn_failed(s, st);
            break;
        }
        rc = reconnect(&w);
    }
    if (rc == 0 && w.out_errno) {
        /* A closed pipe (`todo-cli watch | head -3`) is not worth a message. */
        if (w.out_errno != EPIPE)
            fprintf(stderr, "todo-cli: cannot write the output: %s\n", strerror(w.out_errno));
        rc = CLI_EXIT_SERVER;
    }
out:
    /* The connection is in the middle of a watch; whoever goes on opens a
     * new one. */
    cli_conn_close(&s->conn);
    s->conn.cancel = old_cancel;
    s->conn.wait_mask = NULL;
    s->conn.on_event = old_fn;
    s->conn.event_ctx = old_ctx;
    s->out.json_lines = old_lines;
    if (sigaction(SIGTERM, &old_term, NULL) != 0)
        fprintf(stderr, "todo-cli: cannot restore the SIGTERM handler: %s\n", strerror(errno));
out_int:
    if (sigaction(SIGINT, &old_int, NULL) != 0)
        fprintf(stderr, "todo-cli: cannot restore the SIGINT handler: %s\n", strerror(errno));
out_mask:
    if (sigprocmask(SIG_SETMASK, &old_mask, NULL) != 0)
        fprintf(stderr, "todo-cli: cannot restore the signal mask: %s\n", strerror(errno));
    return rc;
}
