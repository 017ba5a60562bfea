/*
 * conn.h - one client connection: its socket, unparsed input and unsent
 * replies. A connection is owned by one worker thread at a time: the one
 * that the shared epoll instance handed it to, until that worker arms it
 * again (worker.c). Only the owner touches it, but for the fields marked
 * otherwise below.
 *
 * An idle connection holds no buffers: input and output are allocated when
 * bytes arrive or replies are made, and freed once they are empty, so ten
 * thousand idle clients cost little more than their struct.
 */
#ifndef TODO_SERVER_CONN_H
#define TODO_SERVER_CONN_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "todo/proto.h"

struct conn {
    int fd;
    /* Monotonic milliseconds of the last byte read or sent (as of the
     * owner's pass): written by the owner, read by the idle sweep (relaxed:
     * a pass either way is fine). */
    _Atomic int64_t last_active;
    /* Bumped (release) by each thread that arms the connection, read
     * (acquire) by the worker that receives it: what the one did to the
     * connection is visible to the next, in the C memory model's terms. */
    atomic_uint handoff;
    int swept; /* the idle sweep shut it down (sweep only, under its lock) */
    /* The events the epoll registration asks for right now (0 once an
     * EPOLLONESHOT registration has fired): lets a lone worker skip the
     * epoll_ctl that would change nothing (worker.c, arm). */
    uint32_t armed;

    unsigned authed : 1;  /* sent the right password */
    unsigned paused : 1;  /* not reading: too many replies wait to be sent */
    unsigned eof : 1;     /* the client will send nothing more */
    unsigned quit : 1;    /* close once the replies are sent */
    unsigned closing : 1; /* to be closed at the end of this loop pass */
    unsigned dirty : 1;   /* touched in this pass, on the dirty list */
    unsigned ready : 1;   /* on the list of held-back requests to run next pass */
    unsigned queued : 1;  /* has requests queued to run in this pass */
    unsigned batched : 1; /* has replies in this pass's open write batch (worker.c) */

    /* Every open connection, for the idle sweep and the final drain (under
     * the pool's registry lock); then the owner's lists for this pass:
     * replies waiting for the commit, closes pending. */
    struct conn *reg_prev, *reg_next;
    struct conn *next_dirty, *prev_dirty;
    struct conn *next_close;

    struct proto_reader reader;
    char *in; /* unparsed bytes (a partial line, or lines held back); NULL if none */
    size_t in_len;
    struct proto_buf out; /* replies; out.data[out_off..out.len) are not sent yet */
    size_t out_off;
    /* The LIST reply being made a slice at a time (stream.h), or NULL;
     * while set, the connection is paused and its next requests wait. */
    struct stream *stream;
};

/* A connection for fd with no buffers yet; NULL when out of memory. */
struct conn *conn_new(int fd, size_t max_line);
/* Closes the socket and frees everything. */
void conn_free(struct conn *c);

/* Bytes of replies not yet sent. */
size_t conn_out_pending(const struct conn *c);

/* Keeps p[0..n) as the connection's unparsed input (replacing what it had;
 * p may point into c->in). 0, or -1 when out of memory. */
int conn_keep_input(struct conn *c, const char *p, size_t n);

enum conn_io { CONN_IO_DONE = 0, CONN_IO_AGAIN, CONN_IO_CLOSED };
/* Sends what it can without blocking. DONE: all sent (the buffer is freed);
 * AGAIN: the socket is full; CLOSED: the peer is gone (EPIPE, ECONNRESET). */
enum conn_io conn_flush(struct conn *c);

/* Replaces out.data[start..end) with repl[0..n) (used to turn replies of a
 * failed batch into errors). 0, or -1 when out of memory or past the cap. */
int conn_out_splice(struct conn *c, size_t start, size_t end, const char *repl, size_t n);

/* "ADDR:PORT" of the peer, for log lines. */
void conn_peer(const struct conn *c, char *buf, size_t cap);

#endif /* TODO_SERVER_CONN_H */
