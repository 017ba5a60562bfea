/*
 * worker.c - the worker threads: a pool of epoll loops over one shared
 * epoll instance.
 *
 * Every connection is registered once in the shared instance, armed with
 * EPOLLONESHOT: epoll hands a ready connection to one worker only, and
 * reports it to nobody else until that worker arms it again at the end of
 * its pass. So a connection is owned by one thread at a time and needs no
 * lock, and a ready connection goes to whichever worker is free, instead
 * of waiting for the one it was given to. That matters when the workers
 * share cores with other programs (their clients, say): a worker the
 * scheduler has set aside holds up no client, because the others take the
 * ready connections; with a loop and connections of its own per worker
 * (memcached's design, this server's first), the clients of a worker that
 * waited for a core waited with it, for milliseconds (docs/PERFORMANCE.md).
 * Arming costs one epoll_ctl per connection per pass.
 *
 * A lone worker has nobody to hand connections to, so it registers them
 * level-triggered instead, without EPOLLONESHOT, and calls epoll_ctl only
 * when the events it waits for change (a client whose replies do not fit
 * in its socket, and back): one system call fewer for nearly every
 * request.
 *
 * One pass of a worker's loop handles every ready connection: it reads,
 * frames lines, parses and runs every complete request in order. Reads run
 * on the worker's own store, in one read transaction for the pass (ended
 * before epoll_wait); GET replies are cached in one cache all workers share
 * (cache.h).
 * Writes of all connections in the pass share one transaction, the
 * worker's write batch ("group commit", batch.h): replies made inside it
 * are sent only after its COMMIT (the loop settles those connections after
 * batch_end), all others at once.
 *
 * Elsewhere: the registry of open connections, with the idle sweep and the
 * drain at shutdown (registry.h), the counters STATS sums (stats.h), and
 * the store's maintenance (its checkpoints: store-sqlite-ckpt.c), which a
 * worker runs between passes (store_engine_maintain).
 */
/* SCHED_BATCH (sched.h). */
#define _GNU_SOURCE
#include "worker.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "batch.h"
#include "cache.h"
#include "commands.h"
#include "config.h"
#include "conn.h"
#include "guard.h"
#include "http-front.h"
#include "log.h"
#include "registry.h"
#include "reply-json.h"
#include "reply-line.h"
#include "stats.h"
#include "store.h"
#include "auth-pool.h"
#include "stream.h"
#include "users.h"
#include "todo/net.h"
#include "watch.h"
#include "web-assets.h"

#define MAX_EVENTS 256
/* Bytes read from a socket at once. */
#define READ_CHUNK (64 * 1024)
/* Backpressure: a client with this much unsent output is not read from
 * (its requests wait in the socket) until it has taken most of it. */
#define OUT_HIGH (1024 * 1024)
#define OUT_LOW (256 * 1024)

struct worker {
    pthread_t thread;
    int index;

    /* What this worker owns, and hands its handlers through cmd_ctx: its
     * read connection to the store, its write batch (batch.h) and its
     * block of counters (stats.h, written by this worker only); and the
     * pool's cache of GET replies (cache.h), which every worker shares. */
    struct store *store;
    struct cache *cache;
    struct batch *batch;
    struct change_log *changes; /* the batch's (batch_changes), looked up once */
    struct stats_counters *counters;

    /* WATCH (see "Watching connections" below). The worker's own epoll
     * instance, which holds its pinned connections, wefd and, while it has
     * pinned connections, the shared instance; the eventfd that committing
     * workers write when new events are visible, and kick, set by the one
     * that wrote it until this worker has read it, so that a burst of
     * commits costs one write; how many of its connections watch (read by
     * the committers, to wake only workers that have watchers). The fds
     * are made and closed by the main thread, so that no committer ever
     * writes to a closed one. The list of pinned connections is the
     * worker's alone. */
    int pep;
    int wefd;
    atomic_int kick;
    atomic_int watching;
    struct conn *pinned;
    size_t npinned;
    int shared_in_pep;    /* the shared instance is in pep */
    struct watch_pub pub; /* its batch's publishing (watch.h) */

    /* Start-up report, under pool.start_lock. */
    int started; /* 1 ready, -1 failed */
    char err[256];
};

/*
 * State shared by all threads. Each field says what guards it.
 */
static struct {
    /* Set before the threads start, read-only afterwards. */
    const struct server_config *cfg;
    struct worker *w;
    int n;
    /* The shared epoll instance (see the top of this file), and an eventfd
     * in it, level-triggered, written once to stop every worker. */
    int ep;
    int efd;
    /* EPOLLONESHOT with more than one worker; 0 for a lone worker, whose
     * connections stay armed (level-triggered) between its passes. */
    uint32_t oneshot;
    /* Connections whose next request waits (an AUTH delay), out of the
     * epoll set, with the timerfd (in the shared epoll set, EPOLLONESHOT)
     * set to the earliest wake_at among them: the worker that the timer
     * fires on takes those due and runs them. held_lock guards held and
     * timer_at (0: the timer is not set). */
    pthread_mutex_t held_lock;
    struct conn *held;
    int64_t timer_at;
    int tfd;
    /* The GET cache all workers share (cache.h; it has its own locks),
     * NULL when --cache-mb 0 or out of memory: GET then reads the store
     * every time. */
    struct cache *cache;
    /* The store (store.h): its writer and write turn are lent to the
     * workers' batches (batch.h), and its maintenance runs between passes. */
    struct store_engine *engine;
    /* LIST replies may be streamed (stream.h) when the store lets a
     * snapshot stay open across passes without holding writes back
     * (store_engine_streams); else LIST is made at once, as it fits in
     * SERVER_OUTPUT_MAX. */
    int streams;
    /* How many of a pass's GETs the store reads ahead at once
     * (store_engine_reads_ahead; 0 for SQLite), at most WANTS_MAX. */
    size_t reads_ahead;
    /* And of its first writes (store_engine_writes_ahead; 0 for SQLite). */
    size_t writes_ahead;
    /* The ring of committed changes that WATCH sends (watch.h). */
    struct watch_ring *ring;
    /* With a password: the HTTP session cookie's value (POST /api/login),
     * 64 random hex digits made at start, valid until the server stops. */
    char session[65];
    /* With accounts: the key of users' session cookies (users_token). */
    unsigned char session_key[USERS_TOKEN_KEY];
    /* Start-up handshake: guards every worker's started and err. */
    pthread_mutex_t start_lock;
    pthread_cond_t start_cond;
} pool = {
    .ep = -1,
    .efd = -1,
    .tfd = -1,
    .held_lock = PTHREAD_MUTEX_INITIALIZER,
    .start_lock = PTHREAD_MUTEX_INITIALIZER,
    .start_cond = PTHREAD_COND_INITIALIZER,
};

/*
 * A worker's scratch state for its loop is thread-local (_Thread_local):
 * every worker thread has its own copy of each variable below, the way
 * Flask keeps one request object per thread, so the loop's functions reach
 * them without passing them around and without locks, because no other
 * thread can name them. That is all they are: which worker this thread is
 * (self), the pass's read arena, the parser's scratch, the spare reply
 * buffer, the pass's clock, its lists of connections (touched, to close, to
 * run, held back).
 * Only this file's code uses them. A handler reaches none of them on its
 * own: what it may touch (the worker's store, its batch and change log,
 * its counters, and the sink its result goes to, which writes into the
 * spare buffer) it is given in its cmd_ctx, and its one way back into the
 * loop is the list_stream callback, which is this file's code and is given
 * its connection in the context too. What a
 * worker owns beyond a pass (store, batch, counters) is in its struct
 * worker, not here.
 */
static _Thread_local struct worker *self; /* this thread's entry in pool.w */
/* Bytes read in this pass, each connection's behind its kept partial line. */
static _Thread_local char *arena;
static _Thread_local size_t arena_cap, arena_used;
static _Thread_local char *pscratch; /* proto_request_parse()'s scratch (max_line + 1) */
static _Thread_local size_t pscratch_cap;
static _Thread_local struct proto_buf spare; /* LIST/STATS replies are assembled here */
static _Thread_local struct proto_buf hev;   /* an event stream's events, as lines */
/* The lines last told as Server-Sent Events, and what they became: the
 * event streams of one pass are mostly sent the same lines (one write's
 * events go to every watcher at once), and making the JSON of each event
 * once a pass instead of once a stream is what keeps 100 streams from
 * costing 100 encodings of every write (docs/PERFORMANCE.md, HTTP). */
static _Thread_local struct proto_buf sse_lines, sse_text;
/* Their decoder's scratch: an event line is at most a task line, which
 * quoting may make longer than a request line. */
static _Thread_local char *evscratch;
static _Thread_local size_t evscratch_cap;
static _Thread_local int64_t now_ms; /* monotonic milliseconds, once per pass */
/* Connections touched in this pass: settled (flushed, interest updated)
 * after the commit. */
static _Thread_local struct conn *dirty_head;
/* Connections to close at the end of this pass. */
static _Thread_local struct conn *close_head;
/* Connections with requests to run in this pass, in the order they came. */
struct run {
    struct conn *c;
    int in_arena; /* the bytes are arena[off..off+len), else c->in */
    size_t off, len;
};
static _Thread_local struct run *runs;
static _Thread_local size_t nruns, runs_cap;
/* Connections whose held-back requests run at the start of the next pass. */
static _Thread_local struct conn **ready;
static _Thread_local size_t nready, ready_cap;

/* ---- connection lists ---- */

/* Gives c's stream, if any, back to the pool: before c's socket is closed,
 * since streams_reap() may shut that socket down until then. */
static void end_stream(struct conn *c)
{
    if (c->stream != NULL) {
        stream_end(c->stream);
        c->stream = NULL;
    }
}

static void unpin(struct conn *c);
static void end_watch(struct conn *c);

/* Closes c and drops it from the registry and the count (registry.h). */
static void forget(struct conn *c)
{
    end_stream(c);
    end_watch(c);
    if (c->pinned)
        unpin(c);
    registry_forget(c);
}

static void touch(struct conn *c)
{
    atomic_store_explicit(&c->last_active, now_ms, memory_order_relaxed);
}

static void mark_dirty(struct conn *c)
{
    if (!c->dirty) {
        c->dirty = 1;
        c->prev_dirty = NULL;
        c->next_dirty = dirty_head;
        if (dirty_head)
            dirty_head->prev_dirty = c;
        dirty_head = c;
    }
}

static void unmark_dirty(struct conn *c)
{
    if (c->prev_dirty)
        c->prev_dirty->next_dirty = c->next_dirty;
    else
        dirty_head = c->next_dirty;
    if (c->next_dirty)
        c->next_dirty->prev_dirty = c->prev_dirty;
    c->next_dirty = c->prev_dirty = NULL;
    c->dirty = 0;
}

static void close_later(struct conn *c)
{
    if (!c->closing) {
        c->closing = 1;
        c->next_close = close_head;
        close_head = c;
    }
}

static void close_pending(void)
{
    while (close_head) {
        struct conn *c = close_head;
        close_head = c->next_close;
        /* A password check of c's may be under way on the auth pool's
         * thread, which would wake c when it ends: not after c is gone. */
        if (c->auth_job)
            auth_pool_cancel(c);
        if (c->ready) {
            /* Rare (a failed epoll_ctl): take it off the ready list. */
            for (size_t i = 0; i < nready; i++)
                if (ready[i] == c)
                    ready[i] = ready[--nready];
        }
        forget(c);
    }
}

/* ---- requests ---- */

/* cmd_ctx.list_stream: the LIST of connection arg goes to a stream. It
 * waits, paused, with its later requests held back, until the stream ends
 * (stream_step); its first turn comes in the next pass, as those of
 * connections on the ready list do (settle). */
static int list_stream(void *arg, const struct proto_request *req, char *err, size_t errcap)
{
    struct conn *c = arg;
    int busy = 0;
    struct stream *st = stream_start(c->fd, req, (struct proto_str){c->list, strlen(c->list)},
                                     now_ms, &busy, err, errcap);
    if (st == NULL && busy)
        snprintf(err, errcap,
                 "%d long LIST replies are being sent already; try again shortly, or narrow the "
                 "list with pending, done, +tag or a word",
                 STREAM_MAX);
    if (st == NULL)
        return busy ? 1 : -1;
    c->stream = st;
    c->paused = 1;
    mark_dirty(c);
    /* Slices are sent one send() per pass, each shorter than a loopback
     * segment: with Nagle's algorithm each would wait for the ACK of the
     * one before, which the client may delay (a LIST of 10,000 tasks took
     * 75 ms instead of 15). */
    int one = 1;
    if (setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
        log_debug("TCP_NODELAY on fd %d: %s", c->fd, strerror(errno));
    return 0;
}

/* ---- watching connections ----
 *
 * A connection that sends WATCH is pinned to the worker that ran it: taken
 * out of the shared epoll instance and put in the worker's own (pep), so
 * that from then on only that worker ever touches it, and it alone copies
 * events into its output. A worker with pinned connections waits on pep,
 * which holds the shared instance too (level-triggered), so that it still
 * takes its share of the other connections; a worker without any waits on
 * the shared instance directly, as before: a server without watchers pays
 * nothing for them.
 *
 * An event travels so: the committing worker's batch records its changes
 * in the ring in its write turn (watch.h), marks them committed after
 * COMMIT, and, when that made more events visible, writes the eventfd of
 * each other worker that has watchers (wake_watchers), as memcached's
 * acceptor wakes the worker it hands a connection to. That worker wakes
 * on pep, and at the end of its pass, after its own batch has ended (so
 * that no reply of that batch is still to be rewritten) copies to each of
 * its watching connections, between two replies (never into a streamed
 * LIST), the events it passes, then flushes them with its replies. The
 * committing worker does the same for its own watchers at the end of its
 * pass. */

/* Ends c's watch, if it has one on (UNWATCH, its close): from here on no
 * event is put in its output. */
static void end_watch(struct conn *c)
{
    if (c->watch == NULL || !c->watch->active)
        return;
    watch_stop(pool.ring, c->watch);
    atomic_fetch_sub(&self->watching, 1);
    atomic_store_explicit(&c->watching, 0, memory_order_relaxed);
}

/* The shared instance goes into pep with the first pinned connection, and
 * out with the last, so that a worker without any is woken by it once. */
static int shared_in_pep(int in)
{
    if (self->shared_in_pep == in)
        return 0;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &pool.ep};
    if (epoll_ctl(self->pep, in ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, pool.ep, &ev) != 0) {
        log_error("epoll_ctl (worker %d's own set): %s", self->index, strerror(errno));
        return -1;
    }
    self->shared_in_pep = in;
    return 0;
}

/* Pins c to this worker (see above); its next arm() adds it to pep. */
static int pin(struct conn *c)
{
    if (shared_in_pep(1) != 0)
        return -1;
    if (!c->unreg && epoll_ctl(pool.ep, EPOLL_CTL_DEL, c->fd, NULL) != 0) {
        log_error("epoll_ctl: %s", strerror(errno));
        if (self->npinned == 0)
            (void)shared_in_pep(0);
        return -1;
    }
    c->unreg = 0;
    c->armed = 0;
    c->pinned = 1;
    c->pin_added = 0;
    c->prev_pin = NULL;
    c->next_pin = self->pinned;
    if (self->pinned)
        self->pinned->prev_pin = c;
    self->pinned = c;
    self->npinned++;
    return 0;
}

/* Takes c off this worker: out of pep (a closing connection's descriptor
 * leaves it with the close) and off the list; c is then in no epoll set
 * (unreg), as a held connection is. */
static void unpin(struct conn *c)
{
    if (c->pin_added && !c->closing && epoll_ctl(self->pep, EPOLL_CTL_DEL, c->fd, NULL) != 0)
        log_error("epoll_ctl (worker %d's own set): %s", self->index, strerror(errno));
    if (c->prev_pin)
        c->prev_pin->next_pin = c->next_pin;
    else
        self->pinned = c->next_pin;
    if (c->next_pin)
        c->next_pin->prev_pin = c->prev_pin;
    c->next_pin = c->prev_pin = NULL;
    c->pinned = 0;
    c->pin_added = 0;
    c->unreg = 1;
    c->armed = 0;
    if (--self->npinned == 0)
        (void)shared_in_pep(0);
}

/* A pinned connection's arm: level-triggered in pep, which only this
 * worker waits on, so c stays this worker's. */
static void arm_pinned(struct conn *c, uint32_t want)
{
    if (c->pin_added && c->armed == want)
        return;
    struct epoll_event ev = {.events = want, .data.ptr = c};
    if (epoll_ctl(self->pep, c->pin_added ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &ev) != 0) {
        log_error("epoll_ctl (worker %d's own set): %s", self->index, strerror(errno));
        close_later(c);
        return;
    }
    c->pin_added = 1;
    c->armed = want;
}

/* Keepalive probes after a minute of silence, every 10 s, 6 of them: a
 * watcher whose peer vanished (a laptop closed, a network gone) is found
 * in about two minutes, since a watching connection is exempt from the
 * idle timeout and would otherwise never be closed. */
static void keepalive(struct conn *c)
{
    int one = 1, idle = 60, intvl = 10, cnt = 6;
    if (setsockopt(c->fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) != 0 ||
        setsockopt(c->fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)) != 0 ||
        setsockopt(c->fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl)) != 0 ||
        setsockopt(c->fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt)) != 0)
        log_debug("TCP keepalive on fd %d: %s", c->fd, strerror(errno));
    /* Events are single short lines, each worth sending at once. */
    if (setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
        log_debug("TCP_NODELAY on fd %d: %s", c->fd, strerror(errno));
}

/* cmd_ctx.watch_fn: WATCH and UNWATCH of connection arg. WATCH runs in the
 * write turn (it opens the pass's batch, if no write has yet), so that no
 * batch that recorded nothing, as nobody watched, commits after the watch
 * began (watch.h). */
static enum proto_err watch_cmd(void *arg, const struct proto_request *req, uint64_t *seq,
                                char *err, size_t errcap)
{
    struct conn *c = arg;
    struct store *w;
    if (req->cmd == PROTO_CMD_UNWATCH) {
        end_watch(c);
        return PROTO_E_NONE;
    }
    if (c->watch == NULL && (c->watch = calloc(1, sizeof(*c->watch))) == NULL) {
        snprintf(err, errcap, "out of memory");
        return PROTO_E_INTERNAL;
    }
    if (!c->pinned && pin(c) != 0) {
        snprintf(err, errcap, "the server could not set up the watch");
        return PROTO_E_INTERNAL;
    }
    if (batch_open(self->batch, &w, err, errcap) != 0)
        return PROTO_E_STORE;
    int was = c->watch->active;
    enum proto_err e = watch_start(pool.ring, c->watch, req,
                                   (struct proto_str){c->list, strlen(c->list)}, seq, err, errcap);
    if (e != PROTO_E_NONE)
        return e;
    if (!was) {
        atomic_fetch_add(&self->watching, 1);
        atomic_store_explicit(&c->watching, 1, memory_order_relaxed);
        keepalive(c);
    }
    return PROTO_E_NONE;
}

/* The ring's call (watch_ring_on_visible), on the committing worker, when
 * more events are visible: wakes every other worker that has watchers,
 * once until it has looked (kick). This worker's own watchers are served
 * at the end of its pass. */
static void wake_watchers(void *arg)
{
    (void)arg;
    for (int i = 0; i < pool.n; i++) {
        struct worker *w = &pool.w[i];
        if (w == self || atomic_load(&w->watching) == 0 || atomic_exchange(&w->kick, 1))
            continue;
        uint64_t one = 1;
        if (write(w->wefd, &one, sizeof(one)) < 0 && errno != EAGAIN)
            log_error("waking worker %d for its watchers: %s", i, strerror(errno));
    }
}

/* Takes this worker's wake-up: from here on a new commit writes again.
 * The eventfd is read before kick is cleared. The other order lost
 * wake-ups for good: a waker that came between the two (kick already
 * clear) set kick and wrote, the read took its write, and kick stayed set
 * with nothing left to read, so no waker wrote again and this worker's
 * watchers got their events only when other traffic woke it (seen as add
 * events missing for seconds on a second server, pg_multi seen). Read
 * first: a waker that comes between finds kick still set and does not
 * write, and this pass's deliver_mine, which runs after, sends what it
 * made visible; one that comes after the clear writes again. */
static void kicked(void)
{
    uint64_t n;
    if (read(self->wefd, &n, sizeof(n)) < 0 && errno != EAGAIN)
        log_debug("worker %d: eventfd read: %s", self->index, strerror(errno));
    atomic_store(&self->kick, 0);
}

/* Appends hev's event lines to c's output as Server-Sent Events, made
 * again only when they are not the lines the last stream was sent. 0, or
 * -1 out of memory or for a line that is not an event. */
static int sse_append(struct conn *c)
{
    if (sse_lines.len != hev.len || memcmp(sse_lines.data, hev.data, hev.len) != 0) {
        sse_lines.len = 0;
        sse_text.len = 0;
        if (http_sse_events(&sse_text, hev.data, hev.len, evscratch, evscratch_cap) != 0 ||
            proto_buf_append(&sse_lines, hev.data, hev.len) != 0) {
            sse_lines.len = 0;
            return -1;
        }
    }
    return proto_buf_append(&c->out, sse_text.data, sse_text.len);
}

/* Whether c may still watch w's list: its own or the default list, or one
 * that is still shared with its user (UNSHARE ends the other's watch). */
static int watch_allowed(struct conn *c, const struct watcher *w)
{
    if (w->list_len == 0 ||
        (strlen(c->user) == w->list_len && memcmp(c->user, w->list, w->list_len) == 0))
        return 1;
    int rc = store_share_get(self->store, (struct proto_str){w->list, w->list_len},
                             (struct proto_str){c->user, strlen(c->user)});
    store_read_end(self->store);
    return rc == STORE_OK;
}

/* Copies the due events into this worker's watching connections, after
 * its batch has ended (so between replies, none of them still to be
 * rewritten), but never into a LIST being sent in slices. */
static void deliver_mine(void)
{
    if (atomic_load_explicit(&self->watching, memory_order_relaxed) == 0)
        return;
    for (struct conn *c = self->pinned; c; c = c->next_pin) {
        struct watcher *w = c->watch;
        c->watch_more = 0;
        if (c->closing || w == NULL || c->stream != NULL || !watch_due(pool.ring, w))
            continue;
        unsigned long long sent = 0;
        /* An event stream's events are made as lines, then told as
         * Server-Sent Events (http-front.h). */
        struct proto_buf *to = c->http != NULL ? &hev : &c->out;
        hev.len = 0;
        enum watch_rc rc;
        if (!watch_allowed(c, w)) {
            watch_revoke(pool.ring, w, to);
            rc = WATCH_ENDED;
            /* An event stream is told why it ends, not that it fell
             * behind: reading the list again would only be refused (the
             * page goes back to its user's own list). */
            if (c->http != NULL) {
                static const char gone[] = "event: reload\ndata: {\"kind\":\"unshared\"}\n\n";
                hev.len = 0;
                if (proto_buf_append(&c->out, gone, sizeof(gone) - 1) != 0) {
                    close_later(c);
                    continue;
                }
            }
        } else {
            rc =
                watch_deliver(pool.ring, w, to, conn_out_pending(c), pool.cfg->watch_buffer, &sent);
        }
        if (c->http != NULL && hev.len > 0 && sse_append(c) != 0) {
            close_later(c);
            continue;
        }
        if (c->http != NULL && rc == WATCH_ENDED)
            c->quit = 1;
        if (sent > 0)
            atomic_fetch_add_explicit(&self->counters->events_sent, sent, memory_order_relaxed);
        if (rc == WATCH_ENDED) {
            atomic_fetch_add_explicit(&self->counters->watch_overflows, 1, memory_order_relaxed);
            atomic_fetch_sub(&self->watching, 1);
            atomic_store_explicit(&c->watching, 0, memory_order_relaxed);
            if (log_enabled(LOG_DEBUG)) {
                char peer[64];
                conn_peer(c, peer, sizeof(peer));
                log_debug("client %s fell behind its watch: EVENT overflow", peer);
            }
        }
        c->watch_more = rc == WATCH_MORE;
        if (sent > 0 || rc == WATCH_ENDED)
            mark_dirty(c);
    }
}

/* A watcher whose events waited for its output to drain, and whose output
 * the flush has just emptied, gets the rest in the next pass: nothing else
 * would wake this worker for it. */
static void rekick_mine(void)
{
    for (struct conn *c = self->pinned; c; c = c->next_pin) {
        if (c->watch_more && !c->closing && conn_out_pending(c) == 0) {
            if (!atomic_exchange(&self->kick, 1)) {
                uint64_t one = 1;
                if (write(self->wefd, &one, sizeof(one)) < 0 && errno != EAGAIN)
                    log_error("worker %d: eventfd write: %s", self->index, strerror(errno));
            }
            return;
        }
    }
}

/* The batch's calls back (batch.h): a reply of c's made inside a batch
 * that failed becomes one ERR STORE line in its place. */
static int retract_reply(void *owner, size_t start, size_t end, const char *why)
{
    struct conn *c = owner;
    if (c->closing)
        return 0;
    struct proto_buf msg;
    proto_buf_init(&msg, 0);
    /* An HTTP response's place takes a whole 503 response. */
    int rc = c->http != NULL ? http_error_response(&msg, 503, "STORE", why, c->quit ? 0 : 1, 0)
                             : proto_reply_err(&msg, PROTO_E_STORE, why);
    if (rc == 0)
        rc = conn_out_splice(c, start, end, msg.data, msg.len);
    proto_buf_free(&msg);
    return rc;
}

static void drop_owner(void *owner)
{
    close_later(owner);
}

static void settle_owner(void *owner)
{
    struct conn *c = owner;
    c->batched = 0;
}

static const struct batch_replies conn_replies = {
    .retract = retract_reply,
    .drop = drop_owner,
    .settled = settle_owner,
};

/* The server's local date, for due: words sent by a client that did not
 * resolve them itself (nc): a word means the day as the server's zone has
 * it. Kept per thread and worked out again only when the second changes,
 * so that a request costs a time() call, not a localtime_r(). NULL when the
 * clock fails: the words are then refused and ISO dates still work. */
static const char *local_today(void)
{
    static _Thread_local time_t last = (time_t)-1;
    static _Thread_local char today[PROTO_DATE_LEN + 1];
    time_t now = time(NULL);
    if (now == (time_t)-1)
        return NULL;
    if (now != last) {
        struct tm tm;
        if (localtime_r(&now, &tm) == NULL ||
            strftime(today, sizeof(today), "%Y-%m-%d", &tm) != PROTO_DATE_LEN ||
            !proto_valid_date(today, PROTO_DATE_LEN))
            return last = (time_t)-1, NULL;
        last = now;
    }
    return today;
}

/* What a request leaves to do, whichever front end ran it: a batch it
 * broke is broken; replies from c->out's start on that read or wrote in the
 * batch wait for its COMMIT (batch.h); a client that stopped reading its
 * replies is closed. */
static void request_done(struct conn *c, const struct cmd_ctx *x, size_t start, int used, int wrote)
{
    if (x->batch_broken)
        batch_break(self->batch);
    if (used) {
        int rc = batch_note(self->batch, c, start, c->out.len, wrote);
        if (rc < 0)
            close_later(c);
        else if (rc == 0)
            c->batched = 1;
    }
    if (x->out_full) {
        char peer[64];
        conn_peer(c, peer, sizeof(peer));
        log_warn("client %s: %zu bytes of replies unread (limit %u); disconnecting it", peer,
                 conn_out_pending(c), SERVER_OUTPUT_MAX);
        close_later(c);
    }
}

static void handle_line(struct conn *c, const char *line, size_t len)
{
    struct proto_request req;
    char err[256];
    /* Only a connection whose own writes are in the open batch reads on the
     * writer, where it sees them; every other one reads committed data on
     * the worker's store, so that no reply it gets can show a write that a
     * failed COMMIT then takes back. */
    int on_writer = c->batched; /* set only while the batch is open (batch_note) */
    struct line_sink sink;
    struct cmd_ctx x = {
        .sink = &sink.base,
        .store = on_writer ? batch_writer(self->batch) : self->store,
        .cache = self->cache,
        .cfg = pool.cfg,
        .counters = self->counters,
        .batch = self->batch,
        .batch_open = batch_open,
        .changes = self->changes,
        .list_stream = pool.streams ? list_stream : NULL,
        .list_stream_arg = c,
        .watch = pool.ring,
        .watch_fn = watch_cmd,
        .watch_arg = c,
        .in_batch = on_writer,
        .authed = c->authed,
        .list = c->list,
        .user = c->user,
        .user_epoch = &c->user_epoch,
        .import_run = c->import_run,
        .peer = &c->peer,
    };
    size_t start = c->out.len;
    /* The verdict of the auth pool's check, for the AUTH line it was made
     * for (auth_offload): this line. */
    if (c->auth_job && c->auth_state >= CONN_AUTH_WRONG) {
        x.auth_checked = c->auth_state == CONN_AUTH_RIGHT ? CMD_AUTH_RIGHT : CMD_AUTH_WRONG;
        c->auth_state = CONN_AUTH_NONE;
        c->auth_job = 0;
    }

    enum proto_err e = proto_request_parse_dated(line, len, pscratch, pscratch_cap, local_today(),
                                                 &req, err, sizeof(err));
    if (e != PROTO_E_NONE) {
        line_sink_init(&sink, &c->out, &spare, &self->counters->errors, 0);
        atomic_fetch_add_explicit(&self->counters->commands, 1, memory_order_relaxed);
        commands_error(&x, e, err);
    } else if (req.cmd == PROTO_CMD_NONE) {
        return; /* a blank line: no reply */
    } else {
        /* The tutorial's GET/ and POST/ get the bare replies it gave. */
        int legacy = req.cmd == PROTO_CMD_LEGACY_GET || req.cmd == PROTO_CMD_LEGACY_POST;
        line_sink_init(&sink, &c->out, &spare, &self->counters->errors, legacy);
        commands_run(&x, &req);
    }
    c->authed = x.authed != 0;
    c->import_run = x.import_run;
    if (x.quit)
        c->quit = 1;
    request_done(c, &x, start, x.used_batch, x.wrote);
    if (c->out.len != start)
        mark_dirty(c);
}

/* ---- HTTP (http-front.h, docs/HTTP.md) ----
 *
 * A connection whose first line is an HTTP request line is served as HTTP
 * for its whole life (refuse_http hands it over before that line runs).
 * Its bytes go to its HTTP parser, never to the line reader: each whole
 * request is routed (http_route_request) to a line-protocol request built
 * from the route and the values of its query or JSON body, parsed by
 * libproto and run by commands_run with a JSON sink, in this pass's batch
 * like any line's; the response is the sink's document behind a head. */

static _Thread_local struct proto_buf hbody;    /* a response's body, before its head */
static _Thread_local struct proto_buf hscratch; /* the JSON sink's list members */
static _Thread_local struct proto_buf hjunk;    /* what a capturing GET encodes */
static _Thread_local struct http_action hact;
static _Thread_local struct proto_buf hline; /* a GET built after a write */

/* A JSON sink that also notes what the response depends on: the error
 * code of the result (its status), the id a write answered (the task to
 * answer with), and, when capturing, the tags of the task it is handed
 * (PATCH's "tags", which replace the task's). */
struct http_sink {
    struct json_sink js;
    struct result_sink_ops ops;
    enum proto_err err;
    int capture;
    char id[PROTO_MAX_ID + 1];
    char tags[PROTO_MAX_TAGS * (PROTO_MAX_TAG + 1) + 1];
};

static struct http_sink *hs_of(struct result_sink *k)
{
    return (struct http_sink *)k;
}

static int hs_error(struct result_sink *k, enum proto_err e, const char *msg)
{
    hs_of(k)->err = e;
    return reply_json_ops.error(k, e, msg);
}

static int hs_id(struct result_sink *k, const char *outcome, struct proto_str id)
{
    struct http_sink *h = hs_of(k);
    if (id.len < sizeof(h->id)) {
        memcpy(h->id, id.ptr, id.len);
        h->id[id.len] = '\0';
    }
    return reply_json_ops.id(k, outcome, id);
}

static int hs_task(struct result_sink *k, const struct proto_task *t)
{
    struct http_sink *h = hs_of(k);
    if (h->capture) {
        size_t n = t->tags.len < sizeof(h->tags) - 1 ? t->tags.len : sizeof(h->tags) - 1;
        memcpy(h->tags, t->tags.ptr, n);
        h->tags[n] = '\0';
    }
    return reply_json_ops.task(k, t);
}

/* Parses line[0..len) (built by http-front.c, never a client's bytes) and
 * runs it with a JSON sink on out; *wrote and *used gather what
 * handle_line's batch_note needs over the commands of one request. */
static enum proto_err http_exec(struct cmd_ctx *x, struct http_sink *h, struct proto_buf *out,
                                const char *line, size_t len, int *wrote, int *used)
{
    struct proto_request req;
    req.cmd = PROTO_CMD_NONE; /* read below only once parsed, but say so */
    char err[256];
    enum proto_err e = PROTO_E_NONE;
    if (len + 1 > pscratch_cap) {
        e = PROTO_E_TOOLONG;
        snprintf(err, sizeof(err), "the request is longer than %zu bytes", pool.cfg->max_line);
    } else {
        e = proto_request_parse_dated(line, len, pscratch, pscratch_cap, local_today(), &req, err,
                                      sizeof(err));
    }
    json_sink_init(&h->js, out, &hscratch, &self->counters->errors,
                   e == PROTO_E_NONE ? req.cmd : PROTO_CMD_NONE);
    h->ops = reply_json_ops;
    h->ops.error = hs_error;
    h->ops.id = hs_id;
    h->ops.task = hs_task;
    h->js.base.ops = &h->ops;
    h->err = PROTO_E_NONE;
    h->id[0] = '\0';
    h->tags[0] = '\0';
    if (h->capture)
        h->js.base.encoding = 0; /* not from the cache: the task op must see it */
    x->sink = &h->js.base;
    if (e != PROTO_E_NONE) {
        atomic_fetch_add_explicit(&self->counters->commands, 1, memory_order_relaxed);
        commands_error(x, e, err);
        return e;
    }
    commands_run(x, &req);
    *wrote |= x->wrote;
    *used |= x->used_batch;
    return h->err;
}

/* extra, and after it, when the request's Origin is --http-cors's, the
 * CORS headers that let that origin read the answer, in more[0..cap). */
static const char *with_cors(const char *extra, char *more, size_t cap)
{
    if (!hact.cors)
        return extra;
    snprintf(more, cap,
             "%sAccess-Control-Allow-Origin: %s\r\nVary: Origin\r\n"
             "Access-Control-Allow-Methods: GET, HEAD, POST, PATCH, DELETE\r\n"
             "Access-Control-Allow-Headers: Content-Type, Authorization\r\n",
             extra ? extra : "", pool.cfg->http_cors);
    return more;
}

/* Appends a response (head, then body unless head_only) to c's output. */
static int http_respond(struct conn *c, int status, const char *type, const char *extra,
                        const void *body, size_t n, int keep, int head_only)
{
    size_t old = c->out.len;
    char more[512];
    extra = with_cors(extra, more, sizeof(more));
    if (http_head(&c->out, status, type, n, keep, extra) != 0 ||
        (!head_only && n > 0 && proto_buf_append(&c->out, body, n) != 0)) {
        c->out.len = old;
        return -1;
    }
    return 0;
}

/* 1 if " +tag" (a whole word) is in line[0..len). */
static int has_tag_word(const char *line, size_t len, const char *tag, size_t tl)
{
    for (size_t i = 0; i + tl + 2 <= len; i++)
        if (line[i] == ' ' && line[i + 1] == '+' && memcmp(line + i + 2, tag, tl) == 0 &&
            (i + tl + 2 == len || line[i + tl + 2] == ' '))
            return 1;
    return 0;
}

static const char api_headers[] = "Cache-Control: no-store\r\n";

/* Runs an API command route; its response goes to c->out. */
static void http_command(struct conn *c, struct cmd_ctx *x, struct http_action *a, int keep,
                         int head_only, int *wrote, int *used)
{
    struct http_sink hs;
    hs.capture = 0;
    hbody.len = 0;
    int status = a->status;
    char extra[160 + PROTO_MAX_ID + PROTO_MAX_USER];
    snprintf(extra, sizeof(extra), "%s", api_headers);

    if (a->replace_tags) {
        /* PATCH's tags are the task's new set: the ones it has and the set
         * lacks are removed (-tag), read first on the store this request
         * reads on. */
        hline.len = 0;
        hjunk.len = 0;
        hs.capture = 1;
        if (proto_buf_append(&hline, "GET ", 4) != 0 ||
            proto_buf_append(&hline, a->id.ptr, a->id.len) != 0)
            goto toolong;
        enum proto_err e = http_exec(x, &hs, &hjunk, hline.data, hline.len, wrote, used);
        hs.capture = 0;
        if (e != PROTO_E_NONE) {
            status = http_status_of(e);
            if (proto_buf_append(&hbody, hjunk.data, hjunk.len) != 0)
                goto toolong;
            goto send;
        }
        for (char *t = hs.tags; *t != '\0';) {
            char *comma = strchr(t, ',');
            size_t tl = comma ? (size_t)(comma - t) : strlen(t);
            if (!has_tag_word(a->line.data, a->line.len, t, tl) &&
                (proto_buf_append(&a->line, " -", 2) != 0 ||
                 proto_buf_append(&a->line, t, tl) != 0))
                goto toolong;
            t += tl + (comma != NULL);
        }
        /* A PATCH that changes nothing answers the task as it is. */
        if (a->line.len == 5 + a->id.len) {
            a->line.len = 0;
            if (proto_buf_append(&a->line, "GET ", 4) != 0 ||
                proto_buf_append(&a->line, a->id.ptr, a->id.len) != 0)
                goto toolong;
            a->then_get = 0;
        }
    }
    enum proto_err e = http_exec(x, &hs, &hbody, a->line.data, a->line.len, wrote, used);
    if (e != PROTO_E_NONE) {
        status = http_status_of(e);
    } else if (a->then_get && hs.id[0] != '\0') {
        hline.len = 0;
        if (proto_buf_append(&hline, "GET ", 4) != 0 ||
            proto_buf_append(&hline, hs.id, strlen(hs.id)) != 0)
            goto toolong;
        /* The new task's place is in the list it went to. */
        if (status == 201)
            snprintf(extra, sizeof(extra), "%sLocation: /api/tasks/%s%s%s\r\n", api_headers, hs.id,
                     a->list[0] != '\0' ? "?list=" : "", a->list);
        hbody.len = 0;
        e = http_exec(x, &hs, &hbody, hline.data, hline.len, wrote, used);
        if (e != PROTO_E_NONE)
            status = http_status_of(e);
    }
send:
    if (http_respond(c, status, "application/json", extra, hbody.data, hbody.len, keep,
                     head_only) != 0)
        x->out_full = 1;
    return;
toolong:
    if (http_error_response(&c->out, 413, "TOOLONG", "the request is too long", keep, head_only) !=
        0)
        x->out_full = 1;
}

/* The tutorial's GET/key/field and POST/key=text/field over HTTP: the
 * method and the percent-decoded path make the line the tutorial sent,
 * and only those two commands may come of it. 0 if it was one. */
static int http_legacy(struct conn *c, struct cmd_ctx *x, const struct http_request *r,
                       const struct http_action *a, int keep, int head_only)
{
    /* HEAD is GET's head: the same line, the body left out. */
    const char *method = strcmp(r->method, "HEAD") == 0 ? "GET" : r->method;
    size_t ml = strlen(method);
    if (ml + a->path.len + 1 > pscratch_cap)
        return -1;
    hline.len = 0;
    if (proto_buf_append(&hline, method, ml) != 0 ||
        proto_buf_append(&hline, a->path.ptr, a->path.len) != 0)
        return -1;
    long n = http_pct_decode(hline.data + ml, a->path.len, hline.data + ml, 0);
    if (n < 0)
        return -1;
    hline.len = ml + (size_t)n;
    struct proto_request req;
    char err[256];
    if (proto_request_parse_dated(hline.data, hline.len, pscratch, pscratch_cap, local_today(),
                                  &req, err, sizeof(err)) != PROTO_E_NONE ||
        (req.cmd != PROTO_CMD_LEGACY_GET && req.cmd != PROTO_CMD_LEGACY_POST))
        return -1;
    struct line_sink sink;
    hbody.len = 0;
    line_sink_init(&sink, &hbody, &spare, &self->counters->errors, 1);
    x->sink = &sink.base;
    commands_run(x, &req);
    x->sink = NULL; /* the sink ends with this function */
    if (http_respond(c, 200, "text/plain; charset=utf-8", api_headers, hbody.data, hbody.len, keep,
                     head_only) != 0)
        x->out_full = 1;
    return 0;
}

static const char asset_headers[] = "Cache-Control: no-cache\r\n"
                                    "Content-Security-Policy: default-src 'self'\r\n"
                                    "X-Content-Type-Options: nosniff\r\n";

/* 1 if a[0..n) is the session token, in time that says nothing of it. */
static int session_is(const char *a, size_t n)
{
    const size_t len = sizeof(pool.session) - 1;
    unsigned char diff = n != len;
    for (size_t i = 0; i < len; i++)
        diff |= (unsigned char)((i < n ? a[i] : 0) ^ pool.session[i]);
    return diff == 0;
}

/* A user's session cookie (users_token) names a user who may still log
 * in: there, and not locked since. */
static int user_session(struct store *s, const char *tok, size_t n, char *list)
{
    char name[STORE_MAX_USER + 1];
    if (!pool.cfg->accounts || !users_token_check(pool.session_key, tok, n, name))
        return 0;
    struct store_user u;
    int rc = store_user_get(s, (struct proto_str){name, strlen(name)}, &u);
    explicit_bzero(u.hash, sizeof(u.hash));
    if (rc != STORE_OK || u.locked)
        return 0;
    memcpy(list, name, strlen(name) + 1);
    return 1;
}

/* With a password or accounts, whether r carries a login: "Authorization:
 * Bearer PASSWORD" (compared in constant time, auth.h) or the session
 * cookie that POST /api/login set: the password's (the default list) or a
 * user's (users_token: that user's list, while the user may log in). The
 * list the request works in goes to list (PROTO_MAX_USER + 1 bytes). An
 * HTTP request is judged on its own, not by the connection's past.
 * *bearer is set when r offered a password, which the caller counts as an
 * AUTH is counted (http_gate). */
static int http_authed(const struct http_request *r, struct store *s, int *bearer, char *list)
{
    *bearer = 0;
    list[0] = '\0';
    if (!pool.cfg->auth.enabled && !pool.cfg->accounts)
        return 1;
    /* A Bearer is the shared password; a server with accounts only has
     * none, and a Bearer there is a wrong password (users log in with
     * POST /api/login and its user). */
    const struct proto_str *h = http_header_get(r, "Authorization");
    if (h != NULL && h->len > 7 && strncasecmp(h->ptr, "Bearer ", 7) == 0) {
        *bearer = 1;
        return pool.cfg->auth.enabled && auth_check(&pool.cfg->auth, h->ptr + 7, h->len - 7);
    }
    for (size_t i = 0; i < r->nheaders; i++) {
        const struct http_header *k = &r->headers[i];
        if (k->name.len != 6 || strncasecmp(k->name.ptr, "Cookie", 6) != 0)
            continue;
        static const char name[] = "todo_session=";
        const char *p = k->value.ptr, *end = p + k->value.len;
        while (p < end) {
            while (p < end && (*p == ' ' || *p == ';'))
                p++;
            const char *semi = memchr(p, ';', (size_t)(end - p));
            const char *stop = semi ? semi : end;
            size_t n = (size_t)(stop - p);
            if (n > sizeof(name) - 1 && memcmp(p, name, sizeof(name) - 1) == 0) {
                const char *v = p + sizeof(name) - 1;
                size_t vn = n - (sizeof(name) - 1);
                if ((pool.cfg->auth.enabled && session_is(v, vn)) || user_session(s, v, vn, list))
                    return 1;
            }
            p = stop;
        }
    }
    return 0;
}

/* The wait in ms before a request that offers a password (a login or a
 * Bearer) may have it looked at: what the connection's wrong passwords
 * earned, else its address's turn (guard.h). 0 means now. */
static int64_t http_auth_wait(struct conn *c)
{
    int64_t wait = c->peer.auth_next - now_ms;
    if (wait <= 0)
        wait = guard_auth_turn(&c->peer.addr, now_ms);
    return wait;
}

/* 429 with Retry-After for a password offered before its turn; the
 * password is not looked at. */
static void http_too_soon(struct conn *c, struct cmd_ctx *x, int64_t wait, int keep)
{
    static const char body[] =
        "{\"error\":{\"code\":\"AUTH\",\"message\":\"too many wrong passwords; wait\"}}\n";
    char extra[96];
    guard_auth_delayed();
    snprintf(extra, sizeof(extra), "%sRetry-After: %lld\r\n", api_headers,
             (long long)(wait + 999) / 1000);
    if (http_respond(c, 429, "application/json", extra, body, sizeof(body) - 1, keep, 0) != 0)
        x->out_full = 1;
}

/* POST /api/login {"password": ...} or {"user": ..., "password": ...}:
 * AUTH [USER] PASSWORD, run as the line's AUTH is,
 * which counts a wrong password for this connection and its address
 * (guard.h). A try that comes before the delay its address's failures
 * earned is answered 429, without looking at the password. On success
 * the session cookie is set. */
static void http_login(struct conn *c, struct cmd_ctx *x, struct http_action *a, int keep,
                       int *wrote, int *used)
{
    int64_t wait = pool.cfg->auth.enabled || pool.cfg->accounts ? http_auth_wait(c) : 0;
    if (wait > 0) {
        http_too_soon(c, x, wait, keep);
        return;
    }
    struct http_sink hs;
    hs.capture = 0;
    hbody.len = 0;
    enum proto_err e = http_exec(x, &hs, &hbody, a->line.data, a->line.len, wrote, used);
    char extra[320], tok[USERS_TOKEN_MAX + 1];
    snprintf(extra, sizeof(extra), "%s", api_headers);
    /* A user's login (AUTH USER put the connection in the user's list) gets
     * the user's cookie, the password's the server's one. */
    if (e == PROTO_E_NONE && c->list[0] != '\0' &&
        users_token(pool.session_key, c->list, strlen(c->list), tok) != 0)
        e = PROTO_E_INTERNAL;
    if (e == PROTO_E_NONE)
        snprintf(extra, sizeof(extra),
                 "%sSet-Cookie: todo_session=%s; HttpOnly; SameSite=Strict; Path=/\r\n",
                 api_headers, c->list[0] != '\0' ? tok : pool.session);
    if (http_respond(c, e == PROTO_E_NONE ? 200 : http_status_of(e), "application/json", extra,
                     hbody.data, hbody.len, keep, 0) != 0)
        x->out_full = 1;
    x->authed = 0; /* a login is for the cookie, not for the connection */
    c->list[0] = '\0';
    c->user[0] = '\0';
}

/* GET /api/events: WATCH with the query's filters (and Last-Event-ID's
 * since:), then a Server-Sent Events stream for the connection's life:
 * deliver_mine encodes its events as SSE (http_sse_events). A since: no
 * longer kept is told as a reload event, and the stream ends. */
static void http_events(struct conn *c, struct cmd_ctx *x, const struct http_request *r,
                        struct http_action *a, int *wrote, int *used)
{
    static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                               "Cache-Control: no-store\r\nConnection: close\r\n\r\n";
    const struct proto_str *last = http_header_get(r, "Last-Event-ID");
    if (last != NULL && last->len > 0) {
        int digits = last->len <= 20;
        for (size_t i = 0; i < last->len && digits; i++)
            digits = last->ptr[i] >= '0' && last->ptr[i] <= '9';
        if (!digits || proto_buf_append(&a->line, " since:", 7) != 0 ||
            proto_buf_append(&a->line, last->ptr, last->len) != 0) {
            if (http_error_response(&c->out, 400, "ARGS", "Last-Event-ID is an event's number", 0,
                                    0) != 0)
                x->out_full = 1;
            c->quit = 1;
            return;
        }
    }
    struct http_sink hs;
    hs.capture = 0;
    hbody.len = 0;
    x->watch_fn = watch_cmd;
    x->watch_arg = c;
    enum proto_err e = http_exec(x, &hs, &hbody, a->line.data, a->line.len, wrote, used);
    if (e == PROTO_E_EXPIRED) {
        static const char reload[] = "event: reload\ndata: {\"kind\":\"expired\"}\n\n";
        if (proto_buf_append(&c->out, head, sizeof(head) - 1) != 0 ||
            proto_buf_append(&c->out, reload, sizeof(reload) - 1) != 0)
            x->out_full = 1;
        c->quit = 1;
        return;
    }
    if (e != PROTO_E_NONE) {
        if (http_respond(c, http_status_of(e), "application/json", api_headers, hbody.data,
                         hbody.len, 0, 0) != 0)
            x->out_full = 1;
        c->quit = 1;
        return;
    }
    /* The retry: a browser reconnects after 2 s, with Last-Event-ID. */
    static const char hello[] = "retry: 2000\n: watching\n\n";
    if (proto_buf_append(&c->out, head, sizeof(head) - 1) != 0 ||
        proto_buf_append(&c->out, hello, sizeof(hello) - 1) != 0)
        x->out_full = 1;
    c->http->sse = 1;
}

/* 401 for a request that needs the password and does not carry it:
 * refused in the front end's words, before a command is built (the
 * command layer would refuse it too, commands.c). */
static void http_unauthorized(struct conn *c, struct cmd_ctx *x, int keep, int head_only)
{
    static const char body[] = "{\"error\":{\"code\":\"AUTH\",\"message\":\"a password is "
                               "required: POST /api/login or Authorization: Bearer\"}}\n";
    char extra[96];
    snprintf(extra, sizeof(extra), "%sWWW-Authenticate: Bearer realm=\"todo\"\r\n", api_headers);
    if (http_respond(c, 401, "application/json", extra, body, sizeof(body) - 1, keep, head_only) !=
        0)
        x->out_full = 1;
}

/* 403 for list= or /api/shares from a caller who is no user (the shared
 * password, or a server without accounts): only a user has a list of
 * their own to share, or lists shared with them. */
static void http_need_user(struct conn *c, struct cmd_ctx *x, int keep, int head_only)
{
    const char *msg = pool.cfg->accounts
                          ? "list= and /api/shares are for users: log in with POST /api/login "
                            "and a user"
                          : "list= and /api/shares are for users, and this server has none "
                            "(todo-server user add NAME makes one)";
    char more[512];
    if (http_error_response_extra(&c->out, 403, "AUTH", msg, keep, head_only,
                                  with_cors(NULL, more, sizeof(more))) != 0)
        x->out_full = 1;
}

/* list=NAME: USE NAME, so that the request's commands work in that list.
 * The command layer says whether the caller may (its own list, or one
 * shared with it: "the list NAME is not shared with you", the same whether
 * or not NAME exists), and checks it again at each command after. Over
 * HTTP that refusal is a 403: the caller is known, and a login would not
 * change the answer. 0 when the request may go on, -1 when it was
 * answered. */
static int http_use(struct conn *c, struct cmd_ctx *x, const struct http_action *a, int keep,
                    int head_only, int *wrote, int *used)
{
    struct http_sink hs;
    hs.capture = 0;
    hline.len = 0;
    hjunk.len = 0;
    if (proto_buf_append(&hline, "USE ", 4) != 0 ||
        proto_buf_append(&hline, a->list, strlen(a->list)) != 0) {
        if (http_error_response(&c->out, 413, "TOOLONG", "the request is too long", keep,
                                head_only) != 0)
            x->out_full = 1;
        return -1;
    }
    enum proto_err e = http_exec(x, &hs, &hjunk, hline.data, hline.len, wrote, used);
    if (e == PROTO_E_NONE)
        return 0;
    int status = e == PROTO_E_AUTH ? 403 : http_status_of(e);
    if (http_respond(c, status, "application/json", api_headers, hjunk.data, hjunk.len, keep,
                     head_only) != 0)
        x->out_full = 1;
    return -1;
}

static void handle_http(struct conn *c, const struct http_request *r)
{
    struct http_action *a = &hact;
    int head_only = strcmp(r->method, "HEAD") == 0;
    int keep = r->keep_alive && !r->upgrade ? (r->version_minor == 0 ? 2 : 1) : 0;
    int on_writer = c->batched;
    int wrote = 0, used = 0;
    struct cmd_ctx x = {
        .store = on_writer ? batch_writer(self->batch) : self->store,
        .cache = self->cache,
        .cfg = pool.cfg,
        .counters = self->counters,
        .batch = self->batch,
        .batch_open = batch_open,
        .changes = self->changes,
        .watch = pool.ring,
        .in_batch = on_writer,
        .authed = 0,
        .list = c->list, /* the request's, set below from its cookie */
        .user = c->user, /* the same; list= then moves list (http_use), never user */
        .peer = &c->peer,
    };
    size_t start = c->out.len;
    if (!keep)
        c->quit = 1;
    struct http_site site = {
        .bind = pool.cfg->bind,
        .hosts = pool.cfg->http_hosts,
        .nhosts = pool.cfg->nhttp_hosts,
        .cors = pool.cfg->http_cors,
    };
    http_route_request(r, &site, a);
    int bearer = 0, answered = 0;
    x.authed = a->route != HTTP_R_LOGIN && http_authed(r, x.store, &bearer, c->list);
    memcpy(c->user, c->list, sizeof(c->user));
    if (bearer) {
        /* A Bearer is a password guess like any other: it waits its turn,
         * and a wrong one is counted, or it would be the fast way to try
         * passwords that the login is not. */
        int64_t wait = http_auth_wait(c);
        if (wait > 0) {
            http_too_soon(c, &x, wait, keep);
            answered = 1;
        } else if (!x.authed && guard_auth_failed(&c->peer, now_ms)) {
            keep = 0;
            c->quit = 1;
        }
    }
    if (!answered && !x.authed &&
        (a->route == HTTP_R_COMMAND || a->route == HTTP_R_LEGACY || a->route == HTTP_R_EVENTS)) {
        http_unauthorized(c, &x, keep, head_only);
        answered = 1;
    }
    if (!answered && a->needs_user && c->user[0] == '\0') {
        http_need_user(c, &x, keep, head_only);
        answered = 1;
    }
    if (!answered && a->list[0] != '\0' && http_use(c, &x, a, keep, head_only, &wrote, &used) != 0)
        answered = 1;
    if (answered)
        goto out;
    switch (a->route) {
    case HTTP_R_COMMAND:
        http_command(c, &x, a, keep, head_only, &wrote, &used);
        break;
    case HTTP_R_ASSET: {
        const struct web_asset *w = web_asset_find(a->path.ptr, a->path.len);
        if (w != NULL) {
            if (http_respond(c, 200, w->type, asset_headers, w->data, w->size, keep, head_only) !=
                0)
                x.out_full = 1;
            break;
        }
        /* Any other GET (or HEAD) is the tutorial's, which needs the
         * password as the POST does: without it, 401 rather than a 200 whose body is
         * the line protocol's ERR AUTH. */
        if (!x.authed) {
            http_unauthorized(c, &x, keep, head_only);
            break;
        }
        if (http_legacy(c, &x, r, a, keep, head_only) == 0)
            break;
        if (http_error_response(&c->out, 404, "NOTFOUND", "no such page", keep, head_only) != 0)
            x.out_full = 1;
        break;
    }
    case HTTP_R_LEGACY:
        if (http_legacy(c, &x, r, a, keep, head_only) == 0)
            break;
        if (http_error_response(&c->out, 404, "NOTFOUND", "no such path", keep, head_only) != 0)
            x.out_full = 1;
        break;
    case HTTP_R_OPTIONS:
        if (http_respond(c, 204, NULL, "Allow: GET, HEAD, POST, PATCH, DELETE, OPTIONS\r\n", NULL,
                         0, keep, 1) != 0)
            x.out_full = 1;
        break;
    case HTTP_R_EVENTS:
        http_events(c, &x, r, a, &wrote, &used);
        break;
    case HTTP_R_LOGIN:
        http_login(c, &x, a, keep, &wrote, &used);
        break;
    case HTTP_R_SESSION: {
        /* Whether the page must log in first, and whether with a user's
         * name (a server with accounts) or the server's one password. */
        /* A user's login also names its user, so that the page can tell
         * the lists shared with them from their own list's shares
         * (GET /api/shares); a name needs no escaping (proto_valid_user). */
        char doc[128 + PROTO_MAX_USER];
        int n = snprintf(doc, sizeof(doc), "{\"password\":%s,\"users\":%s,\"authed\":%s%s%s%s}\n",
                         pool.cfg->auth.enabled || pool.cfg->accounts ? "true" : "false",
                         pool.cfg->accounts ? "true" : "false", x.authed ? "true" : "false",
                         c->user[0] != '\0' ? ",\"user\":\"" : "", c->user,
                         c->user[0] != '\0' ? "\"" : "");
        if (http_respond(c, 200, "application/json", api_headers, doc, (size_t)n, keep,
                         head_only) != 0)
            x.out_full = 1;
        break;
    }
    case HTTP_R_ERROR:
    default: {
        /* A 405 names the methods the path takes; the --http-cors origin
         * may read a refusal as it may read an answer. */
        char allow[96], more[512];
        snprintf(allow, sizeof(allow), "Allow: %s, OPTIONS\r\n", a->allow ? a->allow : "");
        const char *extra = with_cors(a->allow ? allow : NULL, more, sizeof(more));
        if (http_error_response_extra(&c->out, a->status, a->errname ? a->errname : "ERROR", a->msg,
                                      keep, head_only, extra) != 0)
            x.out_full = 1;
        break;
    }
    }
out:
    c->import_run = 0;
    request_done(c, &x, start, used, wrote);
    mark_dirty(c);
}

/* Runs the HTTP requests in buf[0..len) in order, as run_lines runs lines;
 * returns the bytes used (the parser keeps copies of a request's part, so
 * all of them unless it stopped early). A request the parser refuses is
 * answered with its status and the connection closed once that is sent. */
static size_t run_http(struct conn *c, const char *buf, size_t len)
{
    struct http_conn *h = c->http;
    size_t off = 0;
    if (h->sse)
        return len; /* an event stream reads no more requests */
    while (!c->closing && !c->quit && !c->paused && !c->held && off < len) {
        struct http_request req;
        size_t used;
        enum proto_status st = http_parse(&h->p, buf + off, len - off, &used, &req);
        off += used;
        if (st == PROTO_NEED_MORE) {
            if (http_parse_wants_continue(&h->p) && !h->continued) {
                static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
                h->continued = 1;
                if (proto_buf_append(&c->out, cont, sizeof(cont) - 1) != 0)
                    close_later(c);
                mark_dirty(c);
            }
            break;
        }
        if (st == PROTO_ERROR) {
            const char *code = h->p.status == 413   ? "TOOLONG"
                               : h->p.status == 431 ? "TOOLONG"
                                                    : "SYNTAX";
            if (http_error_response(&c->out, h->p.status, code, h->p.err, 0, 0) != 0)
                close_later(c);
            c->quit = 1;
            mark_dirty(c);
            return len; /* nothing after it is read */
        }
        h->continued = 0;
        handle_http(c, &req);
        if (conn_out_pending(c) >= OUT_HIGH)
            c->paused = 1;
    }
    return off;
}

/* Whether the client owes the rest of a request's head (for
 * --line-timeout, which a slow client's headers are held to: 408). */
static int http_mid_head(const struct conn *c)
{
    const struct http_parser *p = &c->http->p;
    return p->status == 0 && !p->message_done && !p->headers_done && p->head_fed > 0;
}

/* c's first line is an HTTP request line: from here on it speaks HTTP. */
static int become_http(struct conn *c)
{
    struct http_conn *h = calloc(1, sizeof(*h));
    if (h == NULL) {
        log_error("out of memory for an HTTP connection; closing it");
        close_later(c);
        return -1;
    }
    struct http_limits lim = {.max_head = 0, .max_body = pool.cfg->max_line};
    http_parser_init(&h->p, &lim);
    c->http = h;
    return 0;
}

/* A line whose verb is AUTH (in any case, blanks before it allowed). */
static int is_auth(const char *line, size_t len)
{
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    /* Every line of a server with accounts comes here, twice, so the
     * letters are compared by hand rather than by strncasecmp (a call and
     * a locale each time). c | 0x20 is 'a' for 'A' and 'a' alone. */
    if (len - i < 4 || (line[i] | 0x20) != 'a' || (line[i + 1] | 0x20) != 'u' ||
        (line[i + 2] | 0x20) != 't' || (line[i + 3] | 0x20) != 'h')
        return 0;
    return len - i == 4 || line[i + 4] == ' ' || line[i + 4] == '\t';
}

/*
 * A web page can make the browser send a request to this port (a form's
 * POST to http://127.0.0.1:9000/, say), whose body lines would then run as
 * commands. Such a connection is closed at its first line that belongs to
 * HTTP (guard_http_line), before that line or anything after it runs, as
 * Redis does. 1 if c was closed.
 */
static int refuse_http(struct conn *c, const char *line, size_t len)
{
    int first = !c->spoke;
    for (size_t i = 0; i < len && !c->spoke; i++)
        if (line[i] != ' ' && line[i] != '\t')
            c->spoke = 1; /* blank lines before the first do not count (RFC 9112 2.2) */
    if (!guard_http_line(line, len, first))
        return 0;
    /* An HTTP request line as the first line: the connection is HTTP's
     * (run_lines hands it over). A Host: line later, in a line-protocol
     * connection, is still a browser's trick, and closes it. */
    if (first && c->spoke)
        return become_http(c) == 0 ? 2 : 1;
    guard_http_seen(&c->peer.addr, now_ms, line, len);
    close_later(c);
    return 1;
}

/* Whether the line must wait, and till when: every request of a connection
 * that sent a wrong password waits out its delay, and an AUTH also waits
 * for its address's turn (guard.h). The worker does not wait: c is set
 * aside (park) until then. */
static int held_back(struct conn *c, const char *line, size_t len)
{
    if (!pool.cfg->auth.enabled && !pool.cfg->accounts)
        return 0;
    /* Its password was checked after this wait: it runs now. */
    if (c->auth_job)
        return 0;
    int64_t wait = c->peer.auth_next - now_ms;
    if (wait <= 0 && is_auth(line, len))
        wait = guard_auth_turn(&c->peer.addr, now_ms);
    if (wait <= 0)
        return 0;
    c->held = 1;
    c->wake_at = now_ms + wait;
    guard_auth_delayed();
    mark_dirty(c);
    return 1;
}

/*
 * AUTH USER PASSWORD on a server with accounts: the password's check, a
 * tenth of a second of Argon2id, runs on the auth pool's thread
 * (auth-pool.h) while c is held, so that this worker's other connections
 * are served meanwhile. The user's turn (guard.h) is taken here, once;
 * the line runs again, with the verdict, when auth_done wakes c. A try
 * before the user's turn, a line that does not parse, or a store that
 * fails runs as it is, and the handler answers it at once. 1 when c is
 * held for the check.
 */
static int auth_offload(struct conn *c, const char *line, size_t len)
{
    if (!pool.cfg->accounts || c->auth_job || !is_auth(line, len) || len + 1 > pscratch_cap)
        return 0;
    struct proto_request req;
    char err[160];
    if (proto_request_parse(line, len, pscratch, pscratch_cap, &req, err, sizeof(err)) !=
            PROTO_E_NONE ||
        req.cmd != PROTO_CMD_AUTH || req.user.len == 0)
        return 0;
    if (guard_user_wait(req.user.ptr, req.user.len, now_ms) > 0)
        return 0;
    struct store_user u;
    memset(&u, 0, sizeof(u));
    int rc = store_user_get(self->store, req.user, &u);
    if ((rc != STORE_OK && rc != STORE_NOTFOUND) ||
        guard_user_turn(req.user.ptr, req.user.len, now_ms) > 0) {
        explicit_bzero(&u, sizeof(u));
        return 0;
    }
    /* From here the turn is taken: the handler must not take it again. */
    c->auth_job = 1;
    c->auth_state = CONN_AUTH_PENDING;
    c->wake_at = INT64_MAX / 2; /* until auth_done */
    if (auth_pool_submit(c, rc == STORE_OK ? &u : NULL, req.text.ptr, req.text.len) != 0) {
        /* The pool is full or gone: checked here, as before it existed. */
        int ok = users_check(rc == STORE_OK ? &u : NULL, req.text.ptr, req.text.len);
        c->auth_state = ok ? CONN_AUTH_RIGHT : CONN_AUTH_WRONG;
        explicit_bzero(&u, sizeof(u));
        return 0;
    }
    explicit_bzero(&u, sizeof(u));
    c->held = 1;
    mark_dirty(c);
    return 1;
}

static void timer_set(int64_t at);

/* The auth pool's thread, when c's check is over: the verdict, and c due
 * at once on the held list (it may not be on it yet: park() then finds it
 * due and sets the timer). */
static void auth_done(void *arg, int ok)
{
    struct conn *c = arg;
    int64_t now = net_now_ms();
    pthread_mutex_lock(&pool.held_lock);
    c->auth_state = ok ? CONN_AUTH_RIGHT : CONN_AUTH_WRONG;
    c->wake_at = now;
    if (pool.timer_at == 0 || now < pool.timer_at)
        timer_set(now);
    pthread_mutex_unlock(&pool.held_lock);
}

/* Runs the complete lines in buf[0..len) in order; returns how many bytes
 * were used. Stops early (leaving lines for later) on QUIT, on close, when
 * the client's unsent output asks for backpressure, or when its next
 * request must wait (held_back). */
static size_t run_lines(struct conn *c, const char *buf, size_t len)
{
    size_t off = 0;
    while (!c->closing && !c->quit && !c->paused && !c->held) {
        const char *line;
        size_t line_len, used;
        enum proto_status st =
            proto_reader_next(&c->reader, buf + off, len - off, &line, &line_len, &used);
        off += used;
        if (st == PROTO_NEED_MORE) {
            /* Bytes dropped with the skipping over: an overlong line ended
             * (the reader's own field, read only). */
            if (used > 0 && !c->reader.discarding)
                c->line_done = 1;
            break;
        }
        if (st == PROTO_ERROR) {
            char msg[128];
            struct line_sink sink;
            line_sink_init(&sink, &c->out, &spare, &self->counters->errors, 0);
            struct cmd_ctx x = {.sink = &sink.base, .counters = self->counters};
            snprintf(msg, sizeof(msg), "request line longer than %zu bytes", pool.cfg->max_line);
            c->import_run = 0; /* a request that is not an IMPORT ends the run */
            atomic_fetch_add_explicit(&self->counters->commands, 1, memory_order_relaxed);
            commands_error(&x, PROTO_E_TOOLONG, msg);
            if (x.out_full)
                close_later(c);
            mark_dirty(c);
        } else {
            c->line_done = 1;
            int h = refuse_http(c, line, line_len);
            if (h == 2) {
                off = (size_t)(line - buf);
                off += run_http(c, buf + off, len - off);
                break;
            }
            if (h)
                break;
            if (held_back(c, line, line_len) || auth_offload(c, line, line_len)) {
                off = (size_t)(line - buf); /* it runs when the wait is over */
                break;
            }
            handle_line(c, line, line_len);
        }
        if (conn_out_pending(c) >= OUT_HIGH)
            c->paused = 1;
    }
    return off;
}

static void keep_input(struct conn *c, const char *p, size_t n)
{
    if (conn_keep_input(c, p, n) != 0) {
        log_error("out of memory keeping a client's input; disconnecting it");
        close_later(c);
    }
}

static void queue_run(struct conn *c, int in_arena, size_t off, size_t len)
{
    if (nruns == runs_cap) {
        size_t cap = runs_cap ? runs_cap * 2 : MAX_EVENTS;
        struct run *r = realloc(runs, cap * sizeof(*r));
        if (r == NULL) {
            log_error("out of memory queueing requests; disconnecting a client");
            close_later(c);
            return;
        }
        runs = r;
        runs_cap = cap;
    }
    runs[nruns++] = (struct run){c, in_arena, off, len};
    c->queued = 1;
}

/* Lets lines held back by backpressure run in this pass. */
static void resume(struct conn *c)
{
    c->paused = 0;
    mark_dirty(c);
    if (!c->queued && c->in_len > 0)
        queue_run(c, 0, 0, 0);
}

static void tell_doom(struct conn *c, int why);

/* One turn of c's stream (the client has taken most of what it was sent):
 * the next slice of its LIST reply. Once the reply is complete, the
 * connection's next requests run; a reply that broke off after "DATA n"
 * cannot be mended, so the connection is closed. */
static void stream_step(struct conn *c)
{
    enum stream_rc rc = stream_turn(c->stream, &c->out, now_ms);
    mark_dirty(c);
    if (rc == STREAM_MORE)
        return;
    end_stream(c);
    if (rc == STREAM_BROKEN) {
        close_later(c);
        return;
    }
    resume(c);
}

/* A paused connection whose client has taken most of its replies: its next
 * slice, or its held-back requests. */
static void unpause(struct conn *c)
{
    if (c->stream != NULL)
        stream_step(c);
    else
        resume(c);
}

/* Reads once into the pass's arena, behind the connection's kept partial
 * line, and queues the bytes to run; the connection itself will keep only
 * what is left over after they ran. A connection that already has work
 * queued, or that does not fit in the arena any more, is read in the next
 * pass (epoll is level-triggered, so it will be reported again). */
static void conn_read(struct conn *c)
{
    size_t have = c->in_len;
    if (c->queued || arena_cap - arena_used < have + 4096)
        return;
    size_t off = arena_used;
    if (have > 0)
        memcpy(arena + off, c->in, have);
    size_t room = arena_cap - off - have;
    if (room > READ_CHUNK)
        room = READ_CHUNK;
    ssize_t n = recv(c->fd, arena + off + have, room, 0);
    if (n < 0) {
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
            return;
        if (errno != ECONNRESET)
            log_debug("recv on fd %d: %s", c->fd, strerror(errno));
        close_later(c);
        return;
    }
    mark_dirty(c);
    if (n == 0) {
        /* The acceptor's shutdown may come between conn_event's look at
         * conn.doom and this read. */
        int why = atomic_load_explicit(&c->doom, memory_order_acquire);
        if (why != CONN_DOOM_NONE && !c->told)
            tell_doom(c, why);
        c->eof = 1; /* answer what came, then close */
        return;
    }
    touch(c);
    arena_used += have + (size_t)n;
    keep_input(c, NULL, 0);
    queue_run(c, 1, off, have + (size_t)n);
}

/* Starts or stops the clock of --line-timeout after a run. It runs while
 * the client owes the end of a line, from the first byte of that line; not
 * while whole lines wait on the server (held back, or for backpressure). */
static void line_clock(struct conn *c)
{
    int64_t was = atomic_load_explicit(&c->line_since, memory_order_relaxed), since = 0;
    int skipping = c->reader.discarding; /* the reader's own field, read only */
    if (c->http != NULL) {
        since = http_mid_head(c) ? (was != 0 ? was : now_ms) : 0;
        c->line_done = 0;
        if (since != was)
            atomic_store_explicit(&c->line_since, since, memory_order_relaxed);
        return;
    }
    if (skipping || (c->in_len > 0 && memchr(c->in, '\n', c->in_len) == NULL))
        since = was == 0 || (c->line_done && !skipping) ? now_ms : was;
    c->line_done = 0;
    if (since != was)
        atomic_store_explicit(&c->line_since, since, memory_order_relaxed);
}

/*
 * Reading ahead (store_read_ahead, store.h): on a store whose reads are
 * round trips (PostgreSQL), the pass's GETs that the cache will not answer
 * are named to the store before any request runs, so that their reads go
 * to the database together and cost one round trip, not one each. Each
 * queued line protocol connection's whole lines are split as its reader
 * will split them (a copy of it), and each GET among them is parsed and
 * asked about (commands_will_read). Only a hint: lines that will not run
 * in this pass (after a QUIT, past backpressure), a list changed by USE,
 * or a GET that will read on the writer just leave a read unused.
 */
#define WANTS_MAX 64
static _Thread_local struct store_want wants[WANTS_MAX];
static _Thread_local char want_ids[WANTS_MAX][PROTO_MAX_ID];

/* Whether line starts with the verb GET (any case) or the tutorial's
 * GET/, so that every other line costs no parse here. */
static int looks_get(const char *line, size_t len)
{
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    if (len - i < 4)
        return 0;
    const char *v = line + i;
    return (v[0] | 0x20) == 'g' && (v[1] | 0x20) == 'e' && (v[2] | 0x20) == 't' &&
           (v[3] == ' ' || v[3] == '\t' || v[3] == '/');
}

/* A line's request that changes nothing and leaves the connection as it
 * was, so that a connection's later lines run the same whether it ran
 * or not (for writing ahead). */
static int harmless(enum proto_cmd c)
{
    switch (c) {
    case PROTO_CMD_PING:
    case PROTO_CMD_HELLO:
    case PROTO_CMD_HELP:
    case PROTO_CMD_LIST:
    case PROTO_CMD_TAGS:
    case PROTO_CMD_STATS:
    case PROTO_CMD_SHARES:
        return 1;
    default:
        return 0;
    }
}

/* A write the pass will run first in its batch (look_ahead). */
struct ahead_write {
    struct conn *c;
    const char *line;
    size_t len;
};
static _Thread_local struct ahead_write ahead_writes[WANTS_MAX];

/*
 * Writing ahead (store_write_ahead_add, store.h) is the writer's side: the
 * writes that will be the first of the pass's batch are named to the
 * store when it opens the batch, so that they too go to the database
 * together. They must be the batch's first statements and run in the
 * order named, so they are a prefix of the pass's writes: each
 * connection's leading EDITs (without tags), DONEs and UNDONEs, in the
 * order the connections run, up to the first line of any connection that
 * is not harmless (another write, AUTH, USE, ...), or that reads after
 * its connection's own writes went ahead (it reads on the writer, where
 * the later ones must not have run yet). What the store cannot take ends
 * it too. Guessed wrong (a client gone, a command refused), a write named
 * is taken back by the store unrun.
 */
/* Reads are looked for ahead while they pay: each GET looked at costs a
 * second parse and a second look in the cache (under its shard's lock),
 * which a pass whose GETs the cache answers gets nothing for. So with a
 * cache, a pass looks only when the last one had two misses or more, or
 * on every READ_AHEAD_PROBE-th pass, to notice when misses come back. */
#define READ_AHEAD_PROBE 16
static _Thread_local unsigned long long ahead_misses; /* the worker's cache_misses, last pass */
static _Thread_local unsigned ahead_probe;

static int reads_pay(void)
{
    if (pool.reads_ahead == 0)
        return 0;
    unsigned long long m =
        atomic_load_explicit(&self->counters->cache_misses, memory_order_relaxed);
    int pay = self->cache == NULL || m - ahead_misses >= 2 || ++ahead_probe % READ_AHEAD_PROBE == 0;
    ahead_misses = m;
    return pay;
}

static void look_ahead(void)
{
    size_t n = 0, nw = 0;
    int wstop = pool.writes_ahead == 0 || batch_is_open(self->batch);
    int guarded = pool.cfg->auth.enabled || pool.cfg->accounts;
    size_t reads = reads_pay() ? pool.reads_ahead : 0;
    if (reads == 0 && wstop)
        return;
    for (size_t i = 0; i < nruns; i++) {
        struct run *r = &runs[i];
        struct conn *c = r->c;
        const char *buf = r->in_arena ? arena + r->off : c->in;
        size_t len = r->in_arena ? r->len : c->in_len, off = 0;
        if (c->closing || c->paused || c->held || c->quit || c->stream != NULL ||
            (guarded && c->peer.auth_next > now_ms))
            continue; /* none of its lines runs in this pass */
        if (c->http != NULL) {
            if (len > 0)
                wstop = 1; /* its requests may write, in their turn */
            continue;
        }
        struct proto_reader rd = c->reader; /* a copy: c's own splits these lines when they run */
        struct line_sink sink;
        struct cmd_ctx x = {
            .sink = &sink.base,
            .store = self->store,
            .cache = self->cache,
            .cfg = pool.cfg,
            .authed = c->authed,
            .list = c->list,
            .user = c->user,
        };
        size_t mine = 0; /* c's writes named so far */
        int more = 1;    /* c's next line may be a write named */
        while (off < len && (!wstop || n < reads)) {
            const char *line;
            size_t line_len, used;
            struct proto_request req;
            char err[128];
            enum proto_status st =
                proto_reader_next(&rd, buf + off, len - off, &line, &line_len, &used);
            off += used;
            if (st == PROTO_NEED_MORE)
                break;
            if (st != PROTO_COMPLETE)
                continue; /* too long: answered ERR, runs nothing */
            int get = looks_get(line, line_len);
            if (!get && wstop)
                continue;
            if (get && reads == 0) {
                more = 0; /* a GET, not looked at: it ends c's writes named */
                if (mine > 0)
                    wstop = 1;
                continue;
            }
            if (proto_request_parse_dated(line, line_len, pscratch, pscratch_cap, local_today(),
                                          &req, err, sizeof(err)) != PROTO_E_NONE ||
                req.cmd == PROTO_CMD_NONE)
                continue; /* answered ERR, or nothing */
            if (req.cmd == PROTO_CMD_GET || req.cmd == PROTO_CMD_LEGACY_GET) {
                more = 0;
                if (mine > 0) {
                    wstop = 1; /* it reads on the writer, after c's writes */
                    continue;
                }
                line_sink_init(&sink, &c->out, &spare, NULL, req.cmd == PROTO_CMD_LEGACY_GET);
                if (n >= reads || !commands_will_read(&x, &req, &wants[n]) ||
                    wants[n].id.len > PROTO_MAX_ID)
                    continue;
                memcpy(want_ids[n], wants[n].id.ptr, wants[n].id.len);
                wants[n].id.ptr = want_ids[n];
                n++;
                continue;
            }
            if (wstop)
                continue;
            int simple = (req.cmd == PROTO_CMD_EDIT && req.ntags == 0 && req.nuntags == 0) ||
                         req.cmd == PROTO_CMD_DONE || req.cmd == PROTO_CMD_UNDONE;
            /* Its reply must not be the one that pauses c, or the lines
             * after it would not run in this pass. */
            int room = conn_out_pending(c) + (mine + 1) * 512 < OUT_HIGH / 2;
            if (more && simple && (!guarded || c->authed) && room && nw < pool.writes_ahead) {
                ahead_writes[nw++] = (struct ahead_write){c, line, line_len};
                mine++;
                continue;
            }
            more = 0;
            if (mine > 0 || !harmless(req.cmd))
                wstop = 1;
        }
    }
    /* The reads first: the batch may wait for the write turn. */
    if (n >= 2)
        store_read_ahead(self->store, wants, n);
    /* One write gains nothing (its first statement carries the BEGIN
     * anyway), and the batch would take the write turn before the pass's
     * reads are answered. */
    if (nw < 2)
        return;
    struct store *w = NULL;
    char err[256];
    if (batch_open(self->batch, &w, err, sizeof(err)) != 0)
        return; /* its first write will say why */
    size_t named = 0;
    for (size_t i = 0; i < nw; i++) {
        struct ahead_write *a = &ahead_writes[i];
        struct proto_request req;
        char perr[128];
        if (proto_request_parse_dated(a->line, a->len, pscratch, pscratch_cap, local_today(), &req,
                                      perr, sizeof(perr)) != PROTO_E_NONE ||
            store_write_ahead_add(w, (struct proto_str){a->c->list, strlen(a->c->list)}, &req) !=
                STORE_OK)
            break;
        named++;
    }
    if (named > 0)
        store_write_ahead_send(w, (int64_t)time(NULL));
}

/* Runs the queued requests. No recv() happens in here, so the write turn
 * that the first write of the pass takes is held only for the requests
 * themselves and the commit, never across socket reads. */
static void settle(struct conn *c);

static void run_queued(void)
{
    look_ahead();
    for (size_t i = 0; i < nruns; i++) {
        struct run *r = &runs[i];
        struct conn *c = r->c;
        c->queued = 0;
        if (c->closing)
            continue;
        /* An HTTP connection's bytes go to its parser, never to the line
         * reader (run_http). */
        size_t (*run)(struct conn *, const char *, size_t) = c->http ? run_http : run_lines;
        if (r->in_arena) {
            size_t used = run(c, arena + r->off, r->len);
            keep_input(c, arena + r->off + used, r->len - used);
        } else if (c->in_len > 0) {
            size_t used = run(c, c->in, c->in_len);
            keep_input(c, c->in + used, c->in_len - used);
        }
        line_clock(c);
        /* A reply outside the batch is final (until a write opens the
         * pass's batch, every reply; after it, those of connections with
         * no write in it): send it now rather than after the whole pass, so
         * this client gets on with its next request while the pass goes
         * on. */
        if (!c->batched && c->dirty) {
            unmark_dirty(c);
            settle(c);
        }
    }
    nruns = 0;
    arena_used = 0;
}

/*
 * The acceptor has told c to go (conn.doom) and shut it down for reading,
 * which is how this worker came to hear of it: the client is told why, in
 * one ERR line after the replies it has, and the connection is closed once
 * that is sent. Whatever it sent after the acceptor's decision is not run.
 */
static void tell_doom(struct conn *c, int why)
{
    char msg[192], junk[4096];
    enum proto_err code = PROTO_E_TIMEOUT;

    if (why == CONN_DOOM_IDLE)
        snprintf(msg, sizeof(msg), "closing an idle connection after %d s", pool.cfg->idle_timeout);
    else if (why == CONN_DOOM_LINE)
        snprintf(msg, sizeof(msg), "request line not completed within %d s",
                 pool.cfg->line_timeout);
    else {
        code = PROTO_E_BUSY;
        snprintf(msg, sizeof(msg),
                 "server full (max %d clients): closing this connection, idle for %d s, the "
                 "longest, to let a new client in",
                 pool.cfg->max_clients, c->doom_idle_s);
    }
    c->told = 1;
    c->eof = 1;
    c->quit = 1;
    keep_input(c, NULL, 0);
    if (c->stream != NULL) {
        /* In the middle of a streamed LIST (its DATA n is out, not all its
         * lines): a sentence now would be read as one of the lines, so the
         * reply is cut off by the close alone, as a client that stalls a
         * stream sees it. */
        close_later(c);
        return;
    }
    /* Unread input at close() makes the kernel send a reset instead of the
     * end of the stream, and the client could lose this line with it: read
     * away what has come (a bounded amount; a reset past that is the
     * client's doing). */
    for (int i = 0; i < 16; i++) {
        ssize_t n = recv(c->fd, junk, sizeof(junk), 0);
        if (n <= 0 && !(n < 0 && errno == EINTR))
            break;
    }
    if (c->http != NULL) {
        /* An HTTP client is told in HTTP: 408 for its slow head, 503 for
         * the full server. */
        int status = code == PROTO_E_BUSY ? 503 : 408;
        if (http_error_response(&c->out, status, proto_err_name(code), msg, 0, 0) != 0)
            close_later(c);
        return;
    }
    if (proto_reply_err(&c->out, code, msg) != 0)
        close_later(c);
}

static void conn_event(struct conn *c, uint32_t ev)
{
    if (c->closing)
        return;
    /* Requests run only after every event of the pass is handled, so
     * nothing in the buffer belongs to this pass's uncommitted batch yet:
     * it is safe to send. */
    mark_dirty(c);
    if (!c->told) {
        int why = atomic_load_explicit(&c->doom, memory_order_acquire);
        if (why != CONN_DOOM_NONE) {
            tell_doom(c, why);
            return;
        }
    }
    if ((ev & EPOLLOUT) && conn_out_pending(c) > 0) {
        size_t before = conn_out_pending(c);
        if (conn_flush(c) == CONN_IO_CLOSED) {
            close_later(c);
            return;
        }
        if (conn_out_pending(c) != before)
            touch(c);
        if (c->paused && conn_out_pending(c) < OUT_LOW)
            unpause(c);
    }
    if ((ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !c->paused && !c->eof && !c->quit)
        conn_read(c);
    else if ((ev & EPOLLERR) || ((ev & EPOLLHUP) && conn_out_pending(c) == 0))
        close_later(c);
}

/* The one place that re-arms a descriptor. ThreadSanitizer orders what a
 * thread did before EPOLL_CTL_ADD with what the thread that epoll_wait
 * hands the descriptor to does next, but not so for EPOLL_CTL_MOD: its
 * epoll_ctl interceptor records a use of the descriptor that it then takes
 * to race with the next owner's close(). Under TSan the call therefore goes
 * straight to the kernel, past the interceptor. A suppression file did this
 * before, but suppressions match symbolized names, and a server out of file
 * descriptors cannot start the symbolizer (test out_of_descriptors). The
 * memory the two threads share is ordered by conn.handoff, which TSan does
 * check. */
#if defined(__SANITIZE_THREAD__)
#define TODO_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TODO_TSAN 1
#endif
#endif

static int epoll_rearm(int fd, struct epoll_event *ev)
{
#ifdef TODO_TSAN
    return (int)syscall(SYS_epoll_ctl, pool.ep, EPOLL_CTL_MOD, fd, ev);
#else
    return epoll_ctl(pool.ep, EPOLL_CTL_MOD, fd, ev);
#endif
}

/* Arms c again for the events in want and gives it up: from here on
 * another worker may own it, so this must be the pass's last use of c.
 * A lone worker's connection that is still armed for want needs nothing. */
static void arm(struct conn *c, uint32_t want)
{
    if (c->pinned) {
        arm_pinned(c, want);
        return;
    }
    if (!pool.oneshot && c->armed == want && !c->unreg)
        return;
    struct epoll_event ev = {.events = want | pool.oneshot, .data.ptr = c};
    int fd = c->fd; /* read before the release: the next owner may close it */
    int add = c->unreg;
    c->armed = want;
    c->unreg = 0;
    atomic_fetch_add_explicit(&c->handoff, 1, memory_order_release);
    /* A connection back from the held list is not in the epoll set. */
    if ((add ? epoll_ctl(pool.ep, EPOLL_CTL_ADD, fd, &ev) : epoll_rearm(fd, &ev)) != 0) {
        log_error("epoll_ctl: %s", strerror(errno));
        close_later(c); /* still ours: nobody else was told of it */
    }
}

/* Sets the held list's timer to at (monotonic ms); pool.held_lock held. */
static void timer_set(int64_t at)
{
    struct itimerspec its;
    memset(&its, 0, sizeof(its));
    its.it_value.tv_sec = (time_t)(at / 1000);
    its.it_value.tv_nsec = (long)(at % 1000) * 1000000;
    if (timerfd_settime(pool.tfd, TFD_TIMER_ABSTIME, &its, NULL) != 0)
        log_error("timerfd_settime: %s", strerror(errno));
    pool.timer_at = at;
}

/*
 * Sets a held connection aside until c->wake_at: out of the epoll set (a
 * lone worker's level-triggered registration would report its unread
 * input, or a hang-up, on every pass), onto the held list, whose timer the
 * first free worker takes when it fires. From here on c is the held
 * list's, not this worker's: this must be the pass's last use of c.
 */
static void park(struct conn *c)
{
    /* A pinned connection leaves its worker for the held list, and so ends
     * its watch: the client is told to reload and may WATCH again. */
    if (c->pinned) {
        if (c->watch != NULL && c->watch->active) {
            end_watch(c);
            if (proto_buf_append(&c->out, "EVENT overflow\r\n", 16) != 0) {
                close_later(c);
                return;
            }
        }
        unpin(c);
    }
    /* Held again at once after its wait, it is out of the set already. */
    if (!c->unreg && epoll_ctl(pool.ep, EPOLL_CTL_DEL, c->fd, NULL) != 0) {
        log_error("epoll_ctl: %s", strerror(errno));
        close_later(c);
        return;
    }
    c->unreg = 1;
    c->parked = 1;
    c->armed = 0;
    pthread_mutex_lock(&pool.held_lock);
    c->next_held = pool.held;
    pool.held = c;
    if (pool.timer_at == 0 || c->wake_at < pool.timer_at)
        timer_set(c->wake_at);
    pthread_mutex_unlock(&pool.held_lock);
}

/* The held list's timer fired on this worker: takes the connections that
 * are due, sets the timer for the rest, arms it again, and queues the
 * requests of those taken to run in this pass. */
static void unpark_due(void)
{
    uint64_t ticks;
    struct conn *due = NULL;
    if (read(pool.tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
        log_debug("timerfd read: %s", strerror(errno));
    /* A fresh clock: held_back() compares with it, and a pass that began
     * a moment before the timer fired must not hold them again. */
    now_ms = net_now_ms();
    pthread_mutex_lock(&pool.held_lock);
    int64_t next = 0;
    for (struct conn **p = &pool.held; *p;) {
        struct conn *c = *p;
        if (c->wake_at <= now_ms) {
            *p = c->next_held;
            c->next_held = due;
            due = c;
        } else {
            if (next == 0 || c->wake_at < next)
                next = c->wake_at;
            p = &c->next_held;
        }
    }
    pool.timer_at = 0;
    if (next != 0)
        timer_set(next);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT, .data.ptr = &pool.tfd};
    if (epoll_ctl(pool.ep, EPOLL_CTL_MOD, pool.tfd, &ev) != 0)
        log_error("epoll_ctl (timer): %s", strerror(errno));
    pthread_mutex_unlock(&pool.held_lock);

    while (due) {
        struct conn *c = due;
        due = c->next_held;
        c->next_held = NULL;
        c->parked = 0;
        c->held = 0;
        mark_dirty(c);
        if (!c->queued && c->in_len > 0)
            queue_run(c, 0, 0, 0);
    }
}

static void ready_push(struct conn *c)
{
    if (nready == ready_cap) {
        size_t cap = ready_cap ? ready_cap * 2 : 64;
        /* An array of pointers: sizeof(*r) is one pointer, as meant. */
        struct conn **r = realloc(ready, cap * sizeof(*r)); /* NOLINT(bugprone-sizeof-expression) */
        if (r == NULL) {
            close_later(c);
            return;
        }
        ready = r;
        ready_cap = cap;
    }
    ready[nready++] = c;
    c->ready = 1;
}

/* After the commit: send, then decide what to wait for next. */
static void settle(struct conn *c)
{
    if (c->closing)
        return;
    if (conn_out_pending(c) > 0) {
        size_t before = conn_out_pending(c);
        if (conn_flush(c) == CONN_IO_CLOSED) {
            close_later(c);
            return;
        }
        if (conn_out_pending(c) != before)
            touch(c);
    }
    if (c->held) {
        park(c);
        return;
    }
    size_t pending = conn_out_pending(c);
    if (pending == 0 && (c->quit || (c->eof && !c->paused))) {
        close_later(c);
        return;
    }
    if (c->paused && pending < OUT_LOW) {
        ready_push(c); /* kept, not armed: its held-back requests run next pass */
        return;
    }
    uint32_t want = (!c->paused && !c->eof && !c->quit) ? EPOLLIN : 0;
    if (pending > 0)
        want |= EPOLLOUT;
    arm(c, want);
}

static void settle_all(void)
{
    while (dirty_head) {
        struct conn *c = dirty_head;
        unmark_dirty(c);
        settle(c);
    }
}

/* ---- new connections, idle ones, and the last ones ---- */

/* The acceptor's: registers fd in the shared epoll instance, where the
 * first free worker takes it when it has something to say. */
static void adopt(int fd, const struct sockaddr *addr)
{
    struct conn *c = registry_open(fd, pool.cfg->max_line, addr);
    if (c == NULL) {
        log_error("out of memory for a new connection; closing it");
        close(fd);
        return;
    }
    if (log_enabled(LOG_DEBUG)) {
        char peer[64];
        conn_peer(c, peer, sizeof(peer));
        log_debug("client %s connected (fd %d)", peer, fd);
    }
    c->armed = EPOLLIN;
    atomic_fetch_add_explicit(&c->handoff, 1, memory_order_release);
    struct epoll_event ev = {.events = EPOLLIN | pool.oneshot, .data.ptr = c};
    if (epoll_ctl(pool.ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        log_error("epoll_ctl: %s", strerror(errno));
        forget(c); /* nobody was told of it */
    }
    /* From here on a worker may own c: the acceptor no longer touches it. */
}

/* SIGTERM, once the workers have stopped (so this thread owns every
 * connection): the registry drains and closes them all. */
static void drain_and_close(void)
{
    registry_drain(end_stream);
    /* Held connections were in the registry too, and are closed. */
    pthread_mutex_lock(&pool.held_lock);
    pool.held = NULL;
    pool.timer_at = 0;
    pthread_mutex_unlock(&pool.held_lock);
}

static void report_start(struct worker *w, int status, const char *err)
{
    pthread_mutex_lock(&pool.start_lock);
    w->started = status;
    if (err)
        snprintf(w->err, sizeof(w->err), "%s", err);
    pthread_cond_broadcast(&pool.start_cond);
    pthread_mutex_unlock(&pool.start_lock);
}

/* The events of the worker's own set: its pinned connections' stay; its
 * eventfd is taken (the pass delivers anyway); the shared set's readiness
 * is replaced by the shared set's own events, taken without waiting (none,
 * if another worker took them first). */
static int own_events(struct epoll_event *evs, int n)
{
    int shared = 0, k = 0;
    for (int i = 0; i < n; i++) {
        void *p = evs[i].data.ptr;
        if (p == (void *)&pool.ep)
            shared = 1;
        else if (p == (void *)&self->wefd)
            kicked();
        else
            evs[k++] = evs[i];
    }
    if (shared && k < MAX_EVENTS) {
        int m = epoll_wait(pool.ep, evs + k, MAX_EVENTS - k, 0);
        if (m < 0 && errno != EINTR)
            log_error("worker %d: epoll_wait: %s", self->index, strerror(errno));
        if (m > 0)
            k += m;
    }
    return k;
}

static void *worker_main(void *arg)
{
    struct epoll_event evs[MAX_EVENTS];
    char err[256];
    const struct server_config *cfg = pool.cfg;

    self = arg;
    /* SCHED_BATCH: a worker woken by a request does not preempt the thread
     * running on its core, which is often the client that sent it (on a
     * machine the server shares with its clients) and which would then
     * send its next request later. A worker still runs at once on an idle
     * core. With 2 workers on the shared epoll instance and the load
     * generator on 2 cores, GET at 50 connections: 188,000 req/s, p99
     * 0.58 ms, against 112,000 req/s and 1.4 ms with the default policy,
     * which --sched normal keeps (docs/PERFORMANCE.md). Unprivileged
     * threads may choose SCHED_BATCH; if not, nothing else changes. */
    if (!cfg->sched_normal) {
        struct sched_param sp = {0};
        int src = pthread_setschedparam(pthread_self(), SCHED_BATCH, &sp);
        if (src != 0)
            log_debug("worker %d: cannot use SCHED_BATCH: %s", self->index, strerror(src));
    }
    if (store_connect(pool.engine, STORE_ROLE_READ, &self->store, err, sizeof(err)) != STORE_OK) {
        report_start(self, -1, err);
        return NULL;
    }
    /* Room for many connections' reads in one pass; at least one whole
     * kept line plus a read. */
    arena_cap = cfg->max_line + 2 + READ_CHUNK;
    if (arena_cap < 1024 * 1024)
        arena_cap = 1024 * 1024;
    pscratch_cap = cfg->max_line + 1;
    self->cache = pool.cache;
    arena = malloc(arena_cap);
    pscratch = malloc(pscratch_cap);
    proto_buf_init(&spare, SERVER_OUTPUT_MAX);
    proto_buf_init(&hbody, SERVER_OUTPUT_MAX);
    proto_buf_init(&hscratch, SERVER_OUTPUT_MAX);
    proto_buf_init(&hjunk, SERVER_OUTPUT_MAX);
    proto_buf_init(&hline, 0);
    proto_buf_init(&hev, 0);
    proto_buf_init(&sse_lines, 0);
    proto_buf_init(&sse_text, 0);
    evscratch_cap = 4 * pool.cfg->max_line + 4096;
    evscratch = malloc(evscratch_cap);
    /* A line built from a body: every byte of it quoted as \xHH at worst. */
    proto_buf_init(&hact.line, 4 * pool.cfg->max_line + 4096);
    self->batch = batch_new(pool.engine, self->counters, &conn_replies);
    if (arena == NULL || pscratch == NULL || evscratch == NULL || self->batch == NULL) {
        report_start(self, -1, "out of memory for buffers");
        goto out;
    }
    self->changes = batch_changes(self->batch);
    watch_pub_init(&self->pub, pool.ring);
    batch_on_publish(self->batch, &watch_publisher, &self->pub);
    report_start(self, 1, NULL);

    for (;;) {
        /* With pinned connections, the worker's own set, which holds the
         * shared one too (see "Watching connections"). */
        int own = self->npinned > 0;
        int n = epoll_wait(own ? self->pep : pool.ep, evs, MAX_EVENTS, nready ? 0 : -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            log_error("worker %d: epoll_wait: %s", self->index, strerror(errno));
            break;
        }
        if (own)
            n = own_events(evs, n);
        now_ms = net_now_ms();
        int wake = 0;

        /* Held-back requests first: they arrived before anything new. */
        size_t nr = nready;
        nready = 0;
        for (size_t i = 0; i < nr; i++) {
            struct conn *c = ready[i];
            c->ready = 0;
            if (!c->closing && c->paused && conn_out_pending(c) < OUT_LOW)
                unpause(c);
        }
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c == NULL) {
                wake = 1; /* pool.efd: stop */
                continue;
            }
            if ((void *)c == (void *)&pool.tfd) {
                unpark_due();
                continue;
            }
            /* Ours now: see what its last owner did (conn.handoff). */
            atomic_load_explicit(&c->handoff, memory_order_acquire);
            if (pool.oneshot && !c->pinned)
                c->armed = 0;
            conn_event(c, evs[i].events);
        }
        run_queued();
        /* No snapshot is held across epoll_wait (see store_read_end). */
        store_read_end(self->store);
        batch_end(self->batch);
        deliver_mine();
        settle_all();
        rekick_mine();
        store_engine_maintain(pool.engine);
        close_pending();
        streams_reap(now_ms);
        if (wake)
            break; /* efd is written only to stop the workers */
    }
out:
    free(arena);
    free(runs);
    free(pscratch);
    free(ready);
    batch_free(self->batch);
    proto_buf_free(&spare);
    proto_buf_free(&hbody);
    proto_buf_free(&hscratch);
    proto_buf_free(&hjunk);
    proto_buf_free(&hline);
    proto_buf_free(&hev);
    proto_buf_free(&sse_lines);
    proto_buf_free(&sse_text);
    free(evscratch);
    proto_buf_free(&hact.line);
    self->cache = NULL;
    store_close(self->store);
    log_debug("worker %d stopped", self->index);
    return NULL;
}

/* ---- the pool, seen from the main thread ---- */

/* Wakes every worker for good (pool.efd stays readable). */
static void wake_all(void)
{
    uint64_t one = 1;
    if (pool.efd >= 0 && write(pool.efd, &one, sizeof(one)) < 0)
        log_warn("waking the workers: %s", strerror(errno));
}

/* The workers' own sets and eventfds (see "Watching connections"), made
 * and closed here, on the main thread, while no worker runs. */
static void close_own(void)
{
    for (int i = 0; pool.w != NULL && i < pool.n; i++) {
        struct worker *w = &pool.w[i];
        if (w->pep >= 0)
            close(w->pep);
        if (w->wefd >= 0)
            close(w->wefd);
        w->pep = w->wefd = -1;
    }
}

static int open_own(struct worker *w, char *err, size_t errcap)
{
    w->pep = epoll_create1(EPOLL_CLOEXEC);
    w->wefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &w->wefd};
    if (w->pep < 0 || w->wefd < 0 || epoll_ctl(w->pep, EPOLL_CTL_ADD, w->wefd, &ev) != 0) {
        snprintf(err, errcap, "cannot create worker %d's event loop: %s", w->index,
                 strerror(errno));
        return -1;
    }
    atomic_init(&w->kick, 0);
    atomic_init(&w->watching, 0);
    return 0;
}

static void close_loop(void)
{
    if (pool.tfd >= 0)
        close(pool.tfd);
    pool.tfd = -1;
    if (pool.efd >= 0)
        close(pool.efd);
    if (pool.ep >= 0)
        close(pool.ep);
    pool.efd = pool.ep = -1;
}

int workers_start(const struct server_config *cfg, struct store_engine *engine, char *err,
                  size_t errcap)
{
    pool.cfg = cfg;
    if (cfg->accounts && auth_pool_start(auth_done, err, errcap) != 0)
        return -1;
    if (cfg->auth.enabled || cfg->accounts) {
        unsigned char rnd[32];
        if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd) ||
            getrandom(pool.session_key, sizeof(pool.session_key), 0) !=
                (ssize_t)sizeof(pool.session_key)) {
            snprintf(err, errcap, "getrandom: %s", strerror(errno));
            return -1;
        }
        for (size_t i = 0; i < sizeof(rnd); i++)
            snprintf(pool.session + 2 * i, 3, "%02x", rnd[i]);
    }
    registry_init(cfg);
    pool.engine = engine;
    pool.n = cfg->threads;
    pool.oneshot = pool.n > 1 ? EPOLLONESHOT : 0;
    pool.streams = store_engine_streams(engine);
    pool.reads_ahead = store_engine_reads_ahead(engine);
    if (pool.reads_ahead > WANTS_MAX)
        pool.reads_ahead = WANTS_MAX;
    pool.writes_ahead = store_engine_writes_ahead(engine);
    if (pool.writes_ahead > WANTS_MAX)
        pool.writes_ahead = WANTS_MAX;
    streams_init(engine);
    pool.w = calloc((size_t)pool.n, sizeof(*pool.w));
    struct timespec wall;
    if (clock_gettime(CLOCK_REALTIME, &wall) != 0) {
        wall.tv_sec = time(NULL);
        wall.tv_nsec = 0;
    }
    pool.ring = watch_ring_new(cfg->watch_ring, cfg->watch_ring_bytes,
                               (int64_t)wall.tv_sec * 1000 + wall.tv_nsec / 1000000);
    if (pool.w == NULL || pool.ring == NULL || stats_init(pool.n, registry_counts) != 0) {
        snprintf(err, errcap, "out of memory");
        free(pool.w);
        pool.w = NULL;
        watch_ring_free(pool.ring);
        pool.ring = NULL;
        return -1;
    }
    watch_ring_on_visible(pool.ring, wake_watchers, NULL);
    for (int i = 0; i < pool.n; i++) {
        pool.w[i].index = i;
        pool.w[i].pep = pool.w[i].wefd = -1;
    }
    for (int i = 0; i < pool.n; i++) {
        if (open_own(&pool.w[i], err, errcap) != 0) {
            close_own();
            free(pool.w);
            pool.w = NULL;
            watch_ring_free(pool.ring);
            pool.ring = NULL;
            stats_fini();
            return -1;
        }
    }
    /* One cache for all workers, so that a task read on one worker is a
     * hit on every other, and the memory is --cache-mb whatever the worker
     * count. Without it the server still serves every GET, from the store. */
    pool.cache = NULL;
    if (cfg->cache_mb > 0) {
        pool.cache = cache_new(cfg->cache_mb * 1024 * 1024);
        if (pool.cache == NULL)
            log_warn("no GET cache: cannot have %zu MiB for it", cfg->cache_mb);
    }
    pool.ep = epoll_create1(EPOLL_CLOEXEC);
    pool.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    /* data.ptr NULL marks the eventfd among the connections; it is never
     * read, so once written it wakes every worker. */
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    /* The held list's timer: one worker at a time handles it (unpark_due),
     * whatever the worker count. */
    pool.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    struct epoll_event tev = {.events = EPOLLIN | EPOLLONESHOT, .data.ptr = &pool.tfd};
    if (pool.ep < 0 || pool.efd < 0 || pool.tfd < 0 ||
        epoll_ctl(pool.ep, EPOLL_CTL_ADD, pool.efd, &ev) != 0 ||
        epoll_ctl(pool.ep, EPOLL_CTL_ADD, pool.tfd, &tev) != 0) {
        snprintf(err, errcap, "cannot create the workers' event loop: %s", strerror(errno));
        close_loop();
        close_own();
        watch_ring_free(pool.ring);
        pool.ring = NULL;
        free(pool.w);
        pool.w = NULL;
        stats_fini();
        cache_free(pool.cache);
        pool.cache = NULL;
        return -1;
    }
    int started = 0;
    /* On PostgreSQL the ring is fed by the database's change log, with
     * every server's changes (watch.h): set before the workers start, so
     * that no batch publishes on its own and they see it set. */
    if (watch_ring_follow(pool.ring, engine, err, errcap) < 0)
        goto fail;
    for (int i = 0; i < pool.n; i++) {
        struct worker *w = &pool.w[i];
        w->index = i;
        w->counters = stats_worker(i);
        int rc = pthread_create(&w->thread, NULL, worker_main, w);
        if (rc != 0) {
            snprintf(err, errcap, "cannot start worker thread %d: %s", i, strerror(rc));
            goto fail;
        }
        started++;
    }
    /* Wait until every worker has opened its store (or failed to). */
    pthread_mutex_lock(&pool.start_lock);
    for (int i = 0; i < pool.n; i++) {
        while (pool.w[i].started == 0)
            pthread_cond_wait(&pool.start_cond, &pool.start_lock);
        if (pool.w[i].started < 0) {
            snprintf(err, errcap, "worker %d: %s", i, pool.w[i].err);
            pthread_mutex_unlock(&pool.start_lock);
            goto fail;
        }
    }
    pthread_mutex_unlock(&pool.start_lock);
    return 0;
fail:
    wake_all();
    for (int i = 0; i < started; i++)
        pthread_join(pool.w[i].thread, NULL);
    close_own();
    watch_ring_free(pool.ring);
    pool.ring = NULL;
    free(pool.w);
    pool.w = NULL;
    pool.n = 0;
    stats_fini();
    cache_free(pool.cache);
    pool.cache = NULL;
    close_loop();
    return -1;
}

void workers_hand(int fd, const struct sockaddr *addr)
{
    adopt(fd, addr);
}

void workers_stop(void)
{
    wake_all();
    for (int i = 0; i < pool.n; i++)
        pthread_join(pool.w[i].thread, NULL);
    /* The follower wakes workers (wake_watchers): it stops before they go. */
    watch_ring_unfollow(pool.ring);
    /* Before the connections are closed: no check may wake one after. */
    auth_pool_stop();
    close_own();
    free(pool.w);
    pool.w = NULL;
    pool.n = 0;
    stats_fini();
    /* No worker runs now, nor will a request: the cache can go. */
    cache_free(pool.cache);
    pool.cache = NULL;
    drain_and_close();
    watch_ring_free(pool.ring);
    pool.ring = NULL;
    streams_close();
    close_loop();
}
