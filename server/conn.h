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

#include "guard.h"
#include "http-parse.h"
#include "todo/proto.h"

/* A connection served as HTTP (its first line was an HTTP request line:
 * worker.c, http-front.h), for its whole life. */
struct http_conn {
    struct http_parser p;
    int continued; /* "100 Continue" was sent for the request being read */
    int sse;       /* the connection is an event stream (GET /api/events) */
};

/* Why the acceptor has decided to close a connection (conn.doom). */
enum conn_doom {
    CONN_DOOM_NONE = 0,
    CONN_DOOM_IDLE,  /* silent for --idle-timeout */
    CONN_DOOM_LINE,  /* a request line not finished within --line-timeout */
    CONN_DOOM_EVICT, /* the idlest when a new client came to a full server */
};

/* conn.auth_state. */
enum { CONN_AUTH_NONE = 0, CONN_AUTH_PENDING, CONN_AUTH_WRONG, CONN_AUTH_RIGHT };

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
    /* Monotonic milliseconds of the first byte of a request line not yet
     * finished (0: none): written by the owner, read by the sweep, as
     * last_active. */
    _Atomic int64_t line_since;
    /* Set once (release) by the acceptor, under the registry lock, when it
     * decides to close the connection (enum conn_doom); it then shuts the
     * socket down for reading, so that the owner sees the end of input,
     * reads this (acquire), tells the client why and closes. */
    atomic_int doom;
    /* 1 while the connection watches (WATCH): written by the owner, read
     * by the idle sweep, which leaves it alone (relaxed, as last_active). */
    atomic_int watching;
    int doom_idle_s;   /* CONN_DOOM_EVICT: seconds it had been idle (written before doom) */
    int64_t doomed_at; /* the acceptor's, under the registry lock: when doom was set */
    int forced;        /* the acceptor's: shut down both ways as well (the client did not read) */
    /* The events the epoll registration asks for right now (0 once an
     * EPOLLONESHOT registration has fired): lets a lone worker skip the
     * epoll_ctl that would change nothing (worker.c, arm). */
    uint32_t armed;
    int64_t import_run; /* cmd_ctx.import_run, kept between requests */

    unsigned authed : 1;    /* sent the right password */
    unsigned paused : 1;    /* not reading: too many replies wait to be sent */
    unsigned eof : 1;       /* the client will send nothing more */
    unsigned quit : 1;      /* close once the replies are sent */
    unsigned closing : 1;   /* to be closed at the end of this loop pass */
    unsigned dirty : 1;     /* touched in this pass, on the dirty list */
    unsigned ready : 1;     /* on the list of held-back requests to run next pass */
    unsigned queued : 1;    /* has requests queued to run in this pass */
    unsigned told : 1;      /* the reason for its doom is in out */
    unsigned spoke : 1;     /* a non-blank line has come (the next is not the first) */
    unsigned held : 1;      /* its next request waits for peer.auth_next or its address's turn */
    unsigned parked : 1;    /* held, out of the epoll set, on the pool's held list */
    unsigned unreg : 1;     /* out of the epoll set: arm() adds it again */
    unsigned line_done : 1; /* a request line was finished in this run */
    unsigned batched : 1;   /* has replies in this pass's open write batch (batch.c) */
    /* Pinned to its worker, in that worker's own epoll set and no longer in
     * the shared one (WATCH: its events are delivered by its worker alone,
     * worker.c); pin_added once it has been added there. */
    unsigned pinned : 1;
    unsigned pin_added : 1;
    unsigned watch_more : 1; /* has events that waited for its output to drain */

    /* Every open connection, for the idle sweep and the final drain (under
     * the registry's lock, registry.c); then the owner's lists for this pass:
     * replies waiting for the commit, closes pending. */
    struct conn *reg_prev, *reg_next;
    struct conn *next_dirty, *prev_dirty;
    struct conn *next_close;
    /* The pool's list of held connections (under its held lock), and when
     * this one is to run again (monotonic ms). */
    struct conn *next_held;
    int64_t wake_at;
    /* AUTH USER PASSWORD checked on the auth pool's thread (auth-pool.h):
     * CONN_AUTH_NONE, PENDING (the connection is held until the check
     * ends), or the verdict, WRONG or RIGHT, which the AUTH line runs with
     * when the connection is taken off the held list. Written by the
     * pool's thread under the held lock; not a bit-field, so that it
     * shares no memory location with the owner's flags. */
    int auth_state;
    unsigned auth_job; /* the owner's own: a job of c's went to the pool (auth_pool_cancel) */

    struct guard_peer peer; /* its address, its wrong passwords */

    struct proto_reader reader;
    char *in; /* unparsed bytes (a partial line, or lines held back); NULL if none */
    size_t in_len;
    struct proto_buf out; /* replies; out.data[out_off..out.len) are not sent yet */
    size_t out_off;
    /* Its worker's list of pinned connections. */
    struct conn *next_pin, *prev_pin;
    /* Its watch (watch.h), once it has sent WATCH; malloc'd, freed with it. */
    struct watcher *watch;
    /* The LIST reply being made a slice at a time (stream.h), or NULL;
     * while set, the connection is paused and its next requests wait. */
    struct stream *stream;
    /* Its HTTP state once it speaks HTTP, or NULL for the line protocol;
     * malloc'd, freed with it. */
    struct http_conn *http;
    /* cmd_ctx.list: the list the connection works in, its user's once
     * AUTH USER succeeded, else the default list ""; and cmd_ctx.user: who
     * logged in ("" for none). Last, so that the fields every request
     * touches stay in the cache lines they had. */
    char list[PROTO_MAX_USER + 1];
    char user[PROTO_MAX_USER + 1];
    unsigned user_epoch; /* cmd_ctx.user_epoch */
};

/* A connection for fd from the client at addr (may be NULL), with no
 * buffers yet; NULL when out of memory. */
struct conn *conn_new(int fd, size_t max_line, const struct sockaddr *addr);
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
