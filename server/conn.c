/*
 * conn.c - a connection's buffers and non-blocking output.
 */
#include "conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

struct conn *conn_new(int fd, size_t max_line, const struct sockaddr *addr)
{
    struct conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->fd = fd;
    if (addr != NULL)
        guard_addr_from(&c->peer.addr, addr);
    proto_reader_init(&c->reader, max_line);
    proto_buf_init(&c->out, SERVER_OUTPUT_MAX);
    return c;
}

void conn_free(struct conn *c)
{
    if (c == NULL)
        return;
    if (close(c->fd) != 0 && errno != EINTR)
        log_debug("close(%d): %s", c->fd, strerror(errno));
    free(c->in);
    free(c->watch);
    if (c->http != NULL) {
        http_parser_free(&c->http->p);
        free(c->http);
    }
    proto_buf_free(&c->out);
    free(c);
}

size_t conn_out_pending(const struct conn *c)
{
    return c->out.len - c->out_off;
}

int conn_keep_input(struct conn *c, const char *p, size_t n)
{
    if (n == 0) {
        free(c->in);
        c->in = NULL;
        c->in_len = 0;
        return 0;
    }
    if (c->in != NULL && p >= c->in && p < c->in + c->in_len) {
        /* Already ours: move the rest to the front. */
        memmove(c->in, p, n);
        c->in_len = n;
        return 0;
    }
    char *q = malloc(n);
    if (q == NULL)
        return -1;
    memcpy(q, p, n);
    free(c->in);
    c->in = q;
    c->in_len = n;
    return 0;
}

/* Empties the output buffer and gives its memory back. */
static void out_release(struct conn *c)
{
    proto_buf_free(&c->out);
    proto_buf_init(&c->out, SERVER_OUTPUT_MAX);
    c->out_off = 0;
}

enum conn_io conn_flush(struct conn *c)
{
    while (c->out_off < c->out.len) {
        ssize_t n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            if (errno != EPIPE && errno != ECONNRESET)
                log_debug("send on fd %d: %s", c->fd, strerror(errno));
            return CONN_IO_CLOSED;
        }
        c->out_off += (size_t)n;
    }
    if (c->out_off == c->out.len) {
        out_release(c);
        return CONN_IO_DONE;
    }
    /* Drop the sent front only once it is most of the buffer, so a big
     * reply sent in many pieces is moved a bounded number of times. */
    if (c->out_off > 64 * 1024 && c->out_off > c->out.len / 2) {
        proto_buf_consume(&c->out, c->out_off);
        c->out_off = 0;
    }
    return CONN_IO_AGAIN;
}

int conn_out_splice(struct conn *c, size_t start, size_t end, const char *repl, size_t n)
{
    size_t old = end - start, tail = c->out.len - end;
    if (n > old) {
        /* Grow by the difference; the bytes appended are overwritten below. */
        if (proto_buf_append(&c->out, repl, n - old) < 0)
            return -1;
    }
    memmove(c->out.data + start + n, c->out.data + end, tail);
    memcpy(c->out.data + start, repl, n);
    c->out.len = start + n + tail;
    return 0;
}

void conn_peer(const struct conn *c, char *buf, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;

    if (getpeername(c->fd, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET) {
            const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
            port = ntohs(a->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
            port = ntohs(a->sin6_port);
        }
    }
    snprintf(buf, cap, "%s:%d", host, port);
}
