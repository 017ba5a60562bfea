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
#include <sys/socket.h>
#include <unistd.h>

#include "todo/net.h"

/* A reply may hold a whole LIST; this bounds what a broken server can make us hold. */
#define CLI_CONN_MAX_INPUT (512u * 1024 * 1024)
/* A data line holds one task; its text is at most a request line, escaped. */
#define CLI_CONN_MAX_LINE (4u * PROTO_MAX_LINE_DEFAULT + 1024)

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
    proto_buf_free(&c->out);
}

int cli_conn_is_open(const struct cli_conn *c)
{
    return c->fd >= 0;
}

/* The time left for one wait: the timeout, cut short by the deadline. */
static int wait_ms(const struct cli_conn *c, int64_t start)
{
    int64_t left = start + c->cfg.timeout_ms - net_now_ms();
    if (c->deadline) {
        int64_t dl = c->deadline - net_now_ms();
        if (dl < left)
            left = dl;
    }
    return left < 0 ? 0 : (int)left;
}

/* Waits for events on the socket. 1 ready, 0 timed out, -1 error (errno),
 * -2 cancelled by the user. */
static int wait_fd(struct cli_conn *c, short events, int64_t start)
{
    for (;;) {
        struct pollfd p = {.fd = c->fd, .events = events};
        int ms = wait_ms(c, start);
        if (ms == 0)
            return 0;
        int r = poll(&p, 1, ms);
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

static double secs(int ms)
{
    return ms / 1000.0;
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
    if (!pending)
        return 0;
    int r = wait_fd(c, POLLOUT, start);
    if (r <= 0) {
        *why = r == 0 ? ETIMEDOUT : r == -2 ? EINTR : errno;
        goto fail;
    }
    *why = net_connect_result(fd);
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
    if (c->cfg.password) {
        struct proto_arg a = {c->cfg.password, strlen(c->cfg.password), 1};
        struct proto_reply r;
        enum cli_conn_status st = cli_conn_call(c, PROTO_CMD_AUTH, &a, 1, &r);
        if (st != CLI_CONN_OK)
            return st;
        if (r.kind != PROTO_REPLY_OK) {
            set_err(c, "cannot authenticate to %s:%s: %.*s", c->cfg.host, c->cfg.port,
                    (int)r.text.len, r.text.ptr);
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

enum cli_conn_status cli_conn_read(struct cli_conn *c, struct proto_reply *r)
{
    char buf[128], derr[160];
    int64_t start = net_now_ms();
    enum cli_conn_status st = cli_conn_flush(c);
    if (st != CLI_CONN_OK)
        return st;

    if (c->in_drop) {
        memmove(c->in, c->in + c->in_drop, c->in_len - c->in_drop);
        c->in_len -= c->in_drop;
        c->in_drop = 0;
    }
    for (;;) {
        size_t used = 0;
        enum proto_status ps =
            proto_reply_decode(&c->dec, c->in, c->in_len, &used, r, derr, sizeof(derr));
        if (ps == PROTO_COMPLETE) {
            c->in_drop = used;
            return CLI_CONN_OK;
        }
        if (ps == PROTO_ERROR) {
            set_err(c, "%s:%s does not speak the todo protocol: %s", c->cfg.host, c->cfg.port,
                    derr);
            return broken(c, CLI_CONN_E_PROTO);
        }
        if (c->in_cap - c->in_len < 4096) {
            size_t ncap = c->in_cap ? c->in_cap * 2 : 16384;
            if (ncap > CLI_CONN_MAX_INPUT) {
                set_err(c, "the reply from %s:%s is too large", c->cfg.host, c->cfg.port);
                return broken(c, CLI_CONN_E_PROTO);
            }
            char *p = realloc(c->in, ncap);
            if (!p) {
                set_err(c, "out of memory");
                return broken(c, CLI_CONN_E_NOMEM);
            }
            c->in = p;
            c->in_cap = ncap;
        }
        ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
        if (n > 0) {
            c->in_len += (size_t)n;
            continue;
        }
        if (n == 0) {
            set_err(c, "%s:%s closed the connection", c->cfg.host, c->cfg.port);
            return broken(c, CLI_CONN_E_IO);
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int w = wait_fd(c, POLLIN, start);
            if (w == 1)
                continue;
            if (w == 0) {
                set_err(c, "no reply from %s:%s within %g s", c->cfg.host, c->cfg.port,
                        secs(c->cfg.timeout_ms));
                return broken(c, CLI_CONN_E_TIMEOUT);
            }
            if (w == -2) {
                set_err(c, "interrupted while waiting for %s:%s; the connection is closed",
                        c->cfg.host, c->cfg.port);
                return broken(c, CLI_CONN_E_INTR);
            }
        }
        set_err(c, "lost the connection to %s:%s: %s", c->cfg.host, c->cfg.port,
                cause(errno, buf, sizeof(buf)));
        return broken(c, CLI_CONN_E_IO);
    }
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
