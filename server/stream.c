/*
 * stream.c - the pool of streams of stream.h.
 */
#include "stream.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "store.h"

struct stream {
    /* The owner's (the connection's worker). */
    struct store *store; /* opened at first use, kept for the next stream */
    struct store_cursor *cur;
    int counting; /* before "DATA n": the rows are being counted */
    size_t total; /* n */
    size_t made;  /* lines made so far */
    int failed;   /* the sink could not take a line */

    /* Under pool.lock: in use, and the client's socket then; whether
     * streams_reap() shut it down. */
    int in_use;
    int fd;
    int shut;
    /* When the stream last made something (monotonic ms): written by the
     * owner, read by streams_reap(). */
    _Atomic int64_t progress;
};

static struct {
    pthread_mutex_t lock; /* guards what stream.h's fields say */
    struct stream s[STREAM_MAX];
    atomic_int used;        /* streams in use, for a cheap streams_reap() */
    _Atomic int64_t reaped; /* when streams_reap() last looked */
    struct store_engine *engine;
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER};

void streams_init(struct store_engine *e)
{
    pool.engine = e;
}

void streams_close(void)
{
    for (int i = 0; i < STREAM_MAX; i++) {
        store_close(pool.s[i].store);
        pool.s[i].store = NULL;
    }
}

struct stream *stream_start(int fd, const struct proto_request *req, struct proto_str list,
                            int64_t now_ms, int *busy, char *err, size_t errcap)
{
    struct stream *st = NULL;
    *busy = 0;
    pthread_mutex_lock(&pool.lock);
    for (int i = 0; i < STREAM_MAX && st == NULL; i++)
        if (!pool.s[i].in_use)
            st = &pool.s[i];
    if (st != NULL) {
        /* Its clock starts now, before streams_reap() can see it in use
         * (with the time of its last use, or 0, it would be shut down as
         * stalled while its connection is being opened). */
        atomic_store_explicit(&st->progress, now_ms, memory_order_relaxed);
        st->in_use = 1;
        st->fd = fd;
        st->shut = 0;
        atomic_fetch_add(&pool.used, 1);
    }
    pthread_mutex_unlock(&pool.lock);
    if (st == NULL) {
        *busy = 1;
        return NULL;
    }
    /* From here the stream is ours alone, but for fd and shut. */
    if (st->store == NULL &&
        store_connect(pool.engine, STORE_ROLE_STREAM, &st->store, err, errcap) != STORE_OK) {
        st->store = NULL;
        goto fail;
    }
    store_scope(st->store, list);
    if (store_cursor_open(st->store, req, &st->cur) != STORE_OK) {
        snprintf(err, errcap, "%s", store_errmsg(st->store));
        store_read_end(st->store);
        goto fail;
    }
    st->counting = 1;
    st->total = st->made = 0;
    st->failed = 0;
    return st;
fail:
    pthread_mutex_lock(&pool.lock);
    st->in_use = 0;
    st->fd = -1;
    atomic_fetch_sub(&pool.used, 1);
    pthread_mutex_unlock(&pool.lock);
    return NULL;
}

/* Takes task lines into out until the slice is full. */
struct slice {
    struct stream *st;
    struct proto_buf *out;
    size_t stop; /* out->len at which the slice is full */
};

static int sink_line(void *arg, const struct proto_task *t)
{
    struct slice *k = arg;
    if (k->st->made == k->st->total || proto_task_encode(k->out, t) < 0) {
        k->st->failed = 1; /* more rows than counted, or no memory */
        return 1;
    }
    k->st->made++;
    return k->out->len >= k->stop;
}

enum stream_rc stream_turn(struct stream *st, struct proto_buf *out, int64_t now_ms)
{
    atomic_store_explicit(&st->progress, now_ms, memory_order_relaxed);
    if (st->counting) {
        int done = 0;
        if (store_cursor_count(st->cur, STREAM_COUNT_ROWS, &st->total, &done) != STORE_OK) {
            /* Nothing was sent yet: an error reply takes the list's place. */
            char why[300];
            log_error("LIST failed in the store: %s", store_errmsg(st->store));
            snprintf(why, sizeof(why), "%s", store_errmsg(st->store));
            if (proto_reply_err(out, PROTO_E_STORE, why) != 0)
                return STREAM_BROKEN;
            return STREAM_DONE;
        }
        if (!done)
            return STREAM_MORE;
        store_cursor_rewind(st->cur);
        st->counting = 0;
        if (proto_reply_data(out, st->total) != 0)
            return STREAM_BROKEN;
        if (st->total == 0)
            return STREAM_DONE;
    }
    struct slice k = {st, out, out->len + STREAM_SLICE};
    int rc = store_cursor_next(st->cur, sink_line, &k);
    if (rc == STORE_ERROR) {
        log_error("LIST failed in the store after %zu of %zu lines: %s; closing the connection",
                  st->made, st->total, store_errmsg(st->store));
        return STREAM_BROKEN;
    }
    if (st->failed)
        return STREAM_BROKEN;
    if (rc == STORE_OK)
        return st->made == st->total ? STREAM_DONE : STREAM_BROKEN;
    return st->made == st->total ? STREAM_DONE : STREAM_MORE;
}

void stream_end(struct stream *st)
{
    if (st->cur != NULL)
        store_cursor_close(st->cur);
    st->cur = NULL;
    store_read_end(st->store);
    pthread_mutex_lock(&pool.lock);
    st->in_use = 0;
    st->fd = -1;
    atomic_fetch_sub(&pool.used, 1);
    pthread_mutex_unlock(&pool.lock);
}

void streams_reap(int64_t now_ms)
{
    if (atomic_load_explicit(&pool.used, memory_order_relaxed) == 0)
        return;
    /* Twice a second is often enough, and only one thread looks. */
    int64_t last = atomic_load_explicit(&pool.reaped, memory_order_relaxed);
    if (now_ms - last < 500 || !atomic_compare_exchange_strong(&pool.reaped, &last, now_ms))
        return;
    pthread_mutex_lock(&pool.lock);
    for (int i = 0; i < STREAM_MAX; i++) {
        struct stream *st = &pool.s[i];
        /* The fd is still the client's: stream_end() (under this lock)
         * comes before the connection is closed (worker.c). */
        if (!st->in_use || st->shut ||
            now_ms - atomic_load_explicit(&st->progress, memory_order_relaxed) < STREAM_STALL_MS)
            continue;
        log_info("a client took nothing of its LIST reply for %d s; disconnecting it, so that "
                 "its snapshot does not hold the WAL back",
                 STREAM_STALL_MS / 1000);
        st->shut = 1;
        if (shutdown(st->fd, SHUT_RDWR) != 0 && errno != ENOTCONN)
            log_debug("shutdown(%d): %s", st->fd, strerror(errno));
    }
    pthread_mutex_unlock(&pool.lock);
}
