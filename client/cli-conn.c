/*
 * cli-conn.c - a connection to todo-server with timeouts on every wait.
 *
 * The socket is non-blocking and every wait goes through poll(), so a
 * connect, a write and each reply are bounded by the configured timeout
 * (and by an optional overall deadline, which completion uses).
 */
#include "cli-conn.h"

#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include "todo/net.h"

/* A reply may hold a whole LIST; this bounds what a broken server can make us hold. */
#define CLI_CONN_MAX_INPUT (512u * 1024 * 1024)
/* A data line holds one task; its text is at most a request line, escaped.
 * An event line is a task line and a few words more. */
#define CLI_CONN_MAX_LINE (4u * PROTO_MAX_LINE_DEFAULT + 1024 + PROTO_EVENT_OVERHEAD)

static void set_err(struct cli_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(struct cli_conn *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof(c->err), fmt, ap);
    va_end(ap);
}

/* A system message with its first letter lowered, to sit inside a
 * sentence: "connection refused". Acronyms ("EOF") are left alone. */
static const char *lower_first(const char *msg, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", msg);
    if (buf[0] && !(buf[1] && isupper((unsigned char)buf[1])))
        buf[0] = (char)tolower((unsigned char)buf[0]);
    return buf;
}

static const char *cause(int e, char *buf, size_t cap)
{
    return lower_first(strerror(e), buf, cap);
}

void cli_conn_init(struct cli_conn *c, const struct cli_conn_cfg *cfg)
{
    memset(c, 0, sizeof(*c));
    c->cfg = *cfg;
    c->fd = -1;
    proto_buf_init(&c->out, 0);
    proto_reply_decoder_init(&c->dec, CLI_CONN_MAX_LINE);
}

void cli_conn_close(struct cli_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->in_len = 0;
    c->in_drop = 0;
    c->out.len = 0;
    c->version = 0; /* the next connection may reach another server */
    proto_reply_decoder_init(&c->dec, CLI_CONN_MAX_LINE);
}

void cli_conn_free(struct cli_conn *c)
{
    cli_conn_close(c);
    free(c->in);
    c->in = NULL;
    c->in_cap = 0;
    free(c->ev_scratch);
    c->ev_scratch = NULL;
    c->ev_scratch_cap = 0;
    proto_buf_free(&c->out);
}

int cli_conn_is_open(const struct cli_conn *c)
{
    return c->fd >= 0;
}

/* Milliseconds until the monotonic time until (-1: no limit), cut short
 * by the deadline; 0 when it has passed, -1 when there is no limit. */
static int ms_until(const struct cli_conn *c, int64_t until)
{
    int64_t end = until;
    if (c->deadline && (end < 0 || c->deadline < end))
        end = c->deadline;
    if (end < 0)
        return -1;
    int64_t left = end - net_now_ms();
    if (left < 0)
        left = 0;
    if (left > INT32_MAX)
        left = INT32_MAX;
    return (int)left;
}

/* One wait on the socket: pselect with c->wait_mask when it is set (and
 * the descriptor fits an fd_set), else poll. Returns as poll does. */
static int wait_once(struct cli_conn *c, short events, int ms)
{
    if (c->wait_mask && c->fd < FD_SETSIZE) {
        fd_set rd, wr;
        FD_ZERO(&rd);
        FD_ZERO(&wr);
        FD_SET(c->fd, (events & POLLOUT) ? &wr : &rd);
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
        return pselect(c->fd + 1, &rd, &wr, NULL, ms < 0 ? NULL : &ts, c->wait_mask);
    }
    struct pollfd p = {.fd = c->fd, .events = events};
    return poll(&p, 1, ms);
}

/* Waits for events on the socket until the monotonic time until (-1: no
 * limit). 1 ready, 0 timed out, -1 error (errno), -2 cancelled by the user. */
static int wait_until(struct cli_conn *c, short events, int64_t until)
{
    for (;;) {
        /* With a wait mask the signal is blocked outside the wait, so it
         * may have come before it: look at the flag first. */
        if (c->wait_mask && c->cancel && *c->cancel)
            return -2;
        int ms = ms_until(c, until);
        if (ms == 0)
            return 0;
        int r = wait_once(c, events, ms);
        if (r > 0)
            return 1;
        if (r == 0)
            return 0;
        if (errno != EINTR)
            return -1;
        if (c->cancel && *c->cancel)
            return -2;
    }
}

/* Waits within the timeout from start. */
static int wait_fd(struct cli_conn *c, short events, int64_t start)
{
    return wait_until(c, events, start + c->cfg.timeout_ms);
}

static double secs(int ms)
{
    return ms / 1000.0;
}

/* 1 when a connect to a local port nobody listens on met itself: TCP's
 * simultaneous open joins a socket to itself when the kernel happens to
 * pick the very port it is connecting to as its own. A watch that
 * reconnects to a restarting server tries often enough to meet it, and
 * would then hold the server's port; it is a refused connect. */
static int connected_to_itself(int fd)
{
    struct sockaddr_storage a, b;
    socklen_t la = sizeof(a), lb = sizeof(b);
    if (getsockname(fd, (struct sockaddr *)&a, &la) != 0 ||
        getpeername(fd, (struct sockaddr *)&b, &lb) != 0)
        return 0; /* the connect's own result says what is wrong */
    return la == lb && memcmp(&a, &b, la) == 0;
}

/* Tries one address; 0 when connected, else -1 with errno-like *why. */
static int try_connect(struct cli_conn *c, const struct addrinfo *ai, int64_t start, int *why)
{
    int pending = 0;
    int fd = net_connect_start(ai, &pending);
    if (fd < 0) {
        *why = errno;
        return -1;
    }
    c->fd = fd;
    if (!pending && !connected_to_itself(fd))
        return 0;
    if (!pending) {
        *why = ECONNREFUSED;
        goto fail;
    }
    int r = wait_fd(c, POLLOUT, start);
    if (r <= 0) {
        *why = r == 0 ? ETIMEDOUT : r == -2 ? EINTR : errno;
        goto fail;
    }
    *why = net_connect_result(fd);
    if (*why == 0 && connected_to_itself(fd)) {
        *why = ECONNREFUSED;
        goto fail;
    }
    if (*why == 0)
        return 0;
fail:
    close(fd);
    c->fd = -1;
    return -1;
}

enum cli_conn_status cli_conn_open(struct cli_conn *c)
{
    struct addrinfo *res = NULL;
    char buf[128];
    int why = 0;
    int64_t start = net_now_ms();

    cli_conn_close(c);
    int g = net_resolve(c->cfg.host, c->cfg.port, 0, &res);
    if (g != 0) {
        set_err(c, "cannot connect to %s:%s: %s", c->cfg.host, c->cfg.port,
                g == EAI_SYSTEM ? cause(errno, buf, sizeof(buf))
                                : lower_first(gai_strerror(g), buf, sizeof(buf)));
        return CLI_CONN_E_CONNECT;
    }
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if (try_connect(c, ai, start, &why) == 0)
            break;
        if (why == ETIMEDOUT || why == EINTR)
            break;
    }
    freeaddrinfo(res);
    if (c->fd < 0) {
        if (why == EINTR) {
            set_err(c, "interrupted while connecting to %s:%s", c->cfg.host, c->cfg.port);
            return CLI_CONN_E_INTR;
        }
        if (why == ETIMEDOUT)
            set_err(c, "cannot connect to %s:%s: no answer within %g s", c->cfg.host, c->cfg.port,
                    secs(c->cfg.timeout_ms));
        else
            set_err(c, "cannot connect to %s:%s: %s", c->cfg.host, c->cfg.port,
                    cause(why, buf, sizeof(buf)));
        return CLI_CONN_E_CONNECT;
    }
    c->opened++;
    if (c->cfg.password) {
        /* The password always goes quoted, as text; a user's name is one
         * plain word (libproto's proto_valid_user). */
        struct proto_arg a[2] = {{c->cfg.user, c->cfg.user ? strlen(c->cfg.user) : 0, 0},
                                 {c->cfg.password, strlen(c->cfg.password), 1}};
        struct proto_reply r;
        enum cli_conn_status st = c->cfg.user ? cli_conn_call(c, PROTO_CMD_AUTH, a, 2, &r)
                                              : cli_conn_call(c, PROTO_CMD_AUTH, a + 1, 1, &r);
        if (st != CLI_CONN_OK)
            return st;
        if (r.kind != PROTO_REPLY_OK) {
            set_err(c, "cannot authenticate to %s:%s: %.*s", c->cfg.host, c->cfg.port,
                    (int)r.text.len, r.text.ptr);
            cli_conn_close(c);
            return CLI_CONN_E_AUTH;
        }
    }
    if (c->cfg.list) {
        /* Every connection, a reconnect's too, works in the list asked for. */
        struct proto_arg a = {c->cfg.list, strlen(c->cfg.list), 0};
        struct proto_reply r;
        enum cli_conn_status st = cli_conn_call(c, PROTO_CMD_USE, &a, 1, &r);
        if (st != CLI_CONN_OK)
            return st;
        if (r.kind != PROTO_REPLY_OK) {
            set_err(c, "cannot use the list %s: %.*s", c->cfg.list, (int)r.text.len, r.text.ptr);
            cli_conn_close(c);
            return CLI_CONN_E_AUTH;
        }
    }
    return CLI_CONN_OK;
}

int cli_conn_alive(struct cli_conn *c)
{
    if (c->fd < 0)
        return 0;
    /* A watching connection is readable whenever an event comes: take
     * them, and it is alive when nothing else was there. */
    if (c->on_event)
        return cli_conn_pump(c) == CLI_CONN_OK && c->fd >= 0;
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    int r = poll(&p, 1, 0);
    if (r == 0)
        return 1;
    if (r < 0)
        return errno == EINTR;
    /* Readable while idle means the server closed (or sent something
     * unasked, which is as bad): either way this connection is done. */
    return 0;
}

enum cli_conn_status cli_conn_queue(struct cli_conn *c, enum proto_cmd cmd,
                                    const struct proto_arg *args, size_t nargs)
{
    if (proto_request_encode(&c->out, cmd, args, nargs) != 0) {
        set_err(c, "cannot encode the request (out of memory or too long)");
        return CLI_CONN_E_NOMEM;
    }
    return CLI_CONN_OK;
}

/* Closes the connection after a failure and returns st. */
static enum cli_conn_status broken(struct cli_conn *c, enum cli_conn_status st)
{
    cli_conn_close(c);
    return st;
}

enum cli_conn_status cli_conn_flush(struct cli_conn *c)
{
    char buf[128];
    int64_t start = net_now_ms();

    if (c->fd < 0) {
        set_err(c, "not connected to %s:%s", c->cfg.host, c->cfg.port);
        return CLI_CONN_E_IO;
    }
    while (c->out.len > 0) {
        ssize_t w = send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL);
        if (w > 0) {
            proto_buf_consume(&c->out, (size_t)w);
            start = net_now_ms();
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int r = wait_fd(c, POLLOUT, start);
            if (r == 1)
                continue;
            if (r == 0) {
                set_err(c, "%s:%s took no request for %g s", c->cfg.host, c->cfg.port,
                        secs(c->cfg.timeout_ms));
                return broken(c, CLI_CONN_E_TIMEOUT);
            }
            if (r == -2) {
                set_err(c, "interrupted while sending to %s:%s; the connection is closed",
                        c->cfg.host, c->cfg.port);
                return broken(c, CLI_CONN_E_INTR);
            }
        }
        set_err(c, "lost the connection to %s:%s: %s", c->cfg.host, c->cfg.port,
                cause(errno, buf, sizeof(buf)));
        return broken(c, CLI_CONN_E_IO);
    }
    return CLI_CONN_OK;
}

/* Decodes an event line and hands it to the handler. 0, or -1 with the
 * connection closed and *st set. */
static int handle_event(struct cli_conn *c, const struct proto_reply *r, enum cli_conn_status *st)
{
    struct proto_event ev;
    char derr[200];
    if (!c->on_event)
        return 0;
    if (c->ev_scratch_cap < r->text.len + 1) {
        char *p = realloc(c->ev_scratch, r->text.len + 1);
        if (!p) {
            set_err(c, "out of memory");
            *st = broken(c, CLI_CONN_E_NOMEM);
            return -1;
        }
        c->ev_scratch = p;
        c->ev_scratch_cap = r->text.len + 1;
    }
    if (proto_event_decode(r->text.ptr, r->text.len, c->ev_scratch, c->ev_scratch_cap, &ev, derr,
                           sizeof(derr)) != PROTO_E_NONE) {
        set_err(c, "%s:%s does not speak the todo protocol: %s", c->cfg.host, c->cfg.port, derr);
        *st = broken(c, CLI_CONN_E_PROTO);
        return -1;
    }
    c->on_event(c->event_ctx, &ev);
    return 0;
}

/* Takes the next reply out of the bytes held, handing the events before it
 * to the handler (and counting them in *events). 1 with *r filled, 0 when
 * no whole reply is held yet, -1 with the connection closed and *st set.
 * The events are stepped over and dropped at once at the end, so that a
 * burst of them costs one move of the buffer, not one each. */
static int next_reply(struct cli_conn *c, struct proto_reply *r, size_t *events,
                      enum cli_conn_status *st)
{
    char derr[160];
    size_t off = 0;
    if (c->in_drop) {
        memmove(c->in, c->in + c->in_drop, c->in_len - c->in_drop);
        c->in_len -= c->in_drop;
        c->in_drop = 0;
    }
    for (;;) {
        size_t used = 0;
        enum proto_status ps =
            proto_reply_decode(&c->dec, c->in + off, c->in_len - off, &used, r, derr, sizeof(derr));
        if (ps == PROTO_NEED_MORE) {
            /* The decoder keeps offsets from where it was given the
             * bytes: they move to the front together. */
            if (off > 0) {
                memmove(c->in, c->in + off, c->in_len - off);
                c->in_len -= off;
            }
            return 0;
        }
        if (ps == PROTO_ERROR) {
            set_err(c, "%s:%s does not speak the todo protocol: %s", c->cfg.host, c->cfg.port,
                    derr);
            *st = broken(c, CLI_CONN_E_PROTO);
            return -1;
        }
        if (r->kind != PROTO_REPLY_EVENT) {
            /* *r points into the buffer: it is dropped on the next call. */
            c->in_drop = off + used;
            return 1;
        }
        if (handle_event(c, r, st) != 0)
            return -1;
        (*events)++;
        off += used;
    }
}

/* Receives more bytes, waiting until the monotonic time until (-1: no
 * limit). 1 when some came, 0 when none came in time (the connection stays
 * open), -1 with the connection closed and *st set. */
static int recv_more(struct cli_conn *c, int64_t until, enum cli_conn_status *st)
{
    char buf[128];
    if (c->in_cap - c->in_len < 4096) {
        size_t ncap = c->in_cap ? c->in_cap * 2 : 16384;
        if (ncap > CLI_CONN_MAX_INPUT) {
            set_err(c, "the reply from %s:%s is too large", c->cfg.host, c->cfg.port);
            *st = broken(c, CLI_CONN_E_PROTO);
            return -1;
        }
        char *p = realloc(c->in, ncap);
        if (!p) {
            set_err(c, "out of memory");
            *st = broken(c, CLI_CONN_E_NOMEM);
            return -1;
        }
        c->in = p;
        c->in_cap = ncap;
    }
    for (;;) {
        ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
        if (n > 0) {
            c->in_len += (size_t)n;
            return 1;
        }
        if (n == 0) {
            set_err(c, "%s:%s closed the connection", c->cfg.host, c->cfg.port);
            *st = broken(c, CLI_CONN_E_IO);
            return -1;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int w = wait_until(c, POLLIN, until);
            if (w == 1)
                continue;
            if (w == 0)
                return 0;
            if (w == -2) {
                set_err(c, "interrupted while waiting for %s:%s; the connection is closed",
                        c->cfg.host, c->cfg.port);
                *st = broken(c, CLI_CONN_E_INTR);
                return -1;
            }
        }
        set_err(c, "lost the connection to %s:%s: %s", c->cfg.host, c->cfg.port,
                cause(errno, buf, sizeof(buf)));
        *st = broken(c, CLI_CONN_E_IO);
        return -1;
    }
}

enum cli_conn_status cli_conn_read(struct cli_conn *c, struct proto_reply *r)
{
    int64_t start = net_now_ms();
    size_t events = 0;
    enum cli_conn_status st = cli_conn_flush(c);
    if (st != CLI_CONN_OK)
        return st;
    for (;;) {
        int k = next_reply(c, r, &events, &st);
        if (k > 0)
            return CLI_CONN_OK;
        if (k < 0)
            return st;
        k = recv_more(c, start + c->cfg.timeout_ms, &st);
        if (k < 0)
            return st;
        if (k == 0) {
            set_err(c, "no reply from %s:%s within %g s", c->cfg.host, c->cfg.port,
                    secs(c->cfg.timeout_ms));
            return broken(c, CLI_CONN_E_TIMEOUT);
        }
    }
}

/* Events until one has come, or until (-1: no limit; 0: only what is
 * there now). */
static enum cli_conn_status events_until(struct cli_conn *c, int64_t until)
{
    struct proto_reply r;
    size_t events = 0;
    enum cli_conn_status st = CLI_CONN_OK;
    if (c->fd < 0) {
        set_err(c, "not connected to %s:%s", c->cfg.host, c->cfg.port);
        return CLI_CONN_E_IO;
    }
    if (c->out.len > 0 && (st = cli_conn_flush(c)) != CLI_CONN_OK)
        return st;
    for (;;) {
        int k = next_reply(c, &r, &events, &st);
        if (k < 0)
            return st;
        if (k > 0) {
            set_err(c, "%s:%s sent a reply that nothing asked for", c->cfg.host, c->cfg.port);
            return broken(c, CLI_CONN_E_PROTO);
        }
        if (events > 0)
            return CLI_CONN_OK;
        k = recv_more(c, until, &st);
        if (k < 0)
            return st;
        if (k == 0) {
            if (until == 0)
                return CLI_CONN_OK;
            set_err(c, "no event from %s:%s in time", c->cfg.host, c->cfg.port);
            return CLI_CONN_E_TIMEOUT;
        }
    }
}

enum cli_conn_status cli_conn_wait_events(struct cli_conn *c, int timeout_ms)
{
    return events_until(c, timeout_ms < 0 ? -1 : net_now_ms() + timeout_ms);
}

enum cli_conn_status cli_conn_pump(struct cli_conn *c)
{
    /* What has come so far; more makes the socket readable again. */
    return events_until(c, 0);
}

enum cli_conn_status cli_conn_call(struct cli_conn *c, enum proto_cmd cmd,
                                   const struct proto_arg *args, size_t nargs,
                                   struct proto_reply *r)
{
    enum cli_conn_status st = cli_conn_queue(c, cmd, args, nargs);
    if (st != CLI_CONN_OK)
        return st;
    return cli_conn_read(c, r);
}

/* The version in HELLO's "OK todo N SERVER/VERSION", or 0 when the reply is
 * not one (an ERR from a server that has no HELLO, another protocol). */
static int hello_version(const struct proto_reply *r)
{
    static const char name[] = PROTO_NAME " ";
    const char *p = r->text.ptr;
    size_t len = r->text.len, i = sizeof(name) - 1;
    int v = 0;
    if (r->kind != PROTO_REPLY_OK || len <= i || memcmp(p, name, i) != 0)
        return 0;
    for (; i < len && p[i] >= '0' && p[i] <= '9' && v < 100000; i++)
        v = v * 10 + (p[i] - '0');
    return i == len || p[i] == ' ' ? v : 0;
}

enum cli_conn_status cli_conn_call_min(struct cli_conn *c, int min, const char *what,
                                       enum proto_cmd cmd, const struct proto_arg *args,
                                       size_t nargs, struct proto_reply *r)
{
    enum cli_conn_status st;
    int asked = c->version == 0;
    if (asked && (st = cli_conn_queue(c, PROTO_CMD_HELLO, NULL, 0)) != CLI_CONN_OK)
        return st;
    if ((st = cli_conn_queue(c, cmd, args, nargs)) != CLI_CONN_OK)
        return st;
    if (asked) {
        if ((st = cli_conn_read(c, r)) != CLI_CONN_OK)
            return st;
        /* A server that does not answer HELLO with a version is older
         * than every one that does: it counts as version 1. */
        c->version = hello_version(r);
        if (c->version == 0)
            c->version = 1;
    }
    if ((st = cli_conn_read(c, r)) != CLI_CONN_OK)
        return st;
    if (c->version < min) {
        set_err(c,
                "%s:%s speaks version %d of the todo protocol, and %s needs version %d or "
                "later (todo-cli %s speaks version %d): upgrade todo-server",
                c->cfg.host, c->cfg.port, c->version, what, min, TODO_VERSION, PROTO_VERSION);
        return CLI_CONN_E_VERSION;
    }
    return CLI_CONN_OK;
}
