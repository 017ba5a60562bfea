/*
 * store-sqlite-ckpt.c - the SQLite engine's maintenance: checkpoints,
 * which copy the WAL into the database, and restarts of the WAL.
 *
 * PASSIVE checkpoints run on a thread of their own, at the lowest priority
 * (nice 19, SCHED_BATCH): it gives way to the workers and to clients on
 * the same machine. At the normal priority it put a tail on write latency:
 * a checkpoint is a few milliseconds of copying and an fdatasync every
 * 12,000 frames, and whichever thread it displaced held up every client
 * waiting on it (one worker, EDIT at 50 connections: p99 0.9-1.0 ms,
 * 0.61-0.74 ms at nice 19, 0.55-0.70 ms with no checkpoints at all;
 * docs/PERFORMANCE.md). SCHED_IDLE did as well for latency, but with every
 * core busy such a thread gets next to nothing (a weight of 3 against nice
 * 19's 15 and nice 0's 1024), and no other checkpoint can run while one is
 * under way: under ThreadSanitizer the WAL grew past 130 MB (test
 * wal_stays_bounded), before writers were made to wait for it (below).
 *
 * A PASSIVE checkpoint does not stop writers, but under continuous writes
 * it never catches up with the end of the WAL, and SQLite starts the WAL
 * over only once a checkpoint has. So when the WAL passes CKPT_HARD_FRAMES
 * the thread asks for a checkpoint under the write lock, which a worker
 * runs between two passes (restart_wal, from store_engine_maintain): it
 * has only what was appended since the last PASSIVE one to copy, and the
 * next write transaction starts the WAL over. A worker does it, not the
 * checkpoint thread, because writers wait for it: they must not wait for a
 * thread that anything may keep off the CPU (and an unprivileged thread
 * cannot raise its priority again). The WAL thus stays under about
 * CKPT_HARD_FRAMES plus what is written during one checkpoint. Should the
 * checkpoint thread fall far behind (every core or the disk busy), a
 * worker restarts the WAL at CKPT_FORCE_FRAMES without being asked,
 * stopping the thread's checkpoint and waiting for it to end while writes
 * wait: the WAL stays under about 100 MB whatever the load (two servers
 * under test on 2 cores had reached 200 MB without the wait).
 */
/* SCHED_BATCH (sched.h), gettid (unistd.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "store-sqlite.h"
#include "todo/net.h"

/* Checkpoints (see above): a PASSIVE one, outside the write lock, each
 * time the WAL has grown by CKPT_FRAMES; one under the write lock, so that
 * the next write can start the WAL over, once it passes CKPT_HARD_FRAMES
 * (48,000 frames of one page each: a WAL of about 48 MiB at most with the
 * 1 KiB pages of a database this server created, 192 MiB with 4 KiB pages).
 * Should the checkpoint thread fall that far behind (every core or the
 * disk busy), a worker restarts the WAL itself at CKPT_FORCE_FRAMES, and
 * writes wait for it: about 100 MB at most.
 * A checkpoint copies each page once however often it was written since the
 * last one, so a longer interval copies less for the same writes: 12,000
 * rather than 1,000 frames took EDIT from 8.3 to 7.6 us of server CPU a
 * request (docs/PERFORMANCE.md). */
#define CKPT_FRAMES 12000
#define CKPT_HARD_FRAMES 48000
#define CKPT_FORCE_FRAMES (2 * CKPT_HARD_FRAMES)

static void restart_wal(struct store_engine *e, long frames, int hurry)
{
    struct ckpt *k = &e->ckpt;
    int64_t t0 = net_now_us();
    pthread_mutex_lock(&e->write_lock);
    /* A checkpoint of the thread's that is under way would make this one
     * do nothing (SQLite runs one at a time and does not wait for the
     * other), so wait for it to end: writers wait meanwhile, which is what
     * bounds the WAL when the disk or the CPU cannot keep up. In a hurry,
     * stop it first (it notices at its next page; an fdatasync it is in
     * still takes its time). */
    pthread_mutex_lock(&k->lock);
    k->held = 1;
    if (hurry && k->running)
        sqlite_interrupt(k->store);
    while (k->running)
        pthread_cond_wait(&k->idle, &k->lock);
    pthread_mutex_unlock(&k->lock);
    if (sqlite_checkpoint(e->writer) != STORE_OK)
        log_warn("checkpoint: %s", sqlite_errmsg(e->writer));
    pthread_mutex_lock(&k->lock);
    k->held = 0;
    pthread_mutex_unlock(&k->lock);
    pthread_mutex_unlock(&e->write_lock);
    log_debug("checkpoint of a %ld-frame WAL holding writes: %.1f ms", frames,
              (double)(net_now_us() - t0) / 1e3);
}

void sqlite_engine_maintain(struct store_engine *e)
{
    struct ckpt *k = &e->ckpt;
    if (!k->started)
        return;
    long frames = sqlite_wal_frames(e);
    if (atomic_load_explicit(&k->restart_due, memory_order_relaxed) &&
        atomic_exchange(&k->restart_due, 0)) {
        if (frames >= CKPT_FRAMES) /* else it was started over meanwhile */
            restart_wal(e, frames, 0);
        return;
    }
    if (frames >= CKPT_FORCE_FRAMES) {
        long last = atomic_load(&k->restart_forced);
        if (last != frames && atomic_compare_exchange_strong(&k->restart_forced, &last, frames))
            restart_wal(e, frames, 1);
        return;
    }
    long mark = atomic_load(&k->mark);
    if (frames >= mark && frames - mark < CKPT_FRAMES)
        return;
    if (frames < mark && frames < CKPT_FRAMES)
        return; /* the WAL was started over and is small */
    pthread_mutex_lock(&k->lock);
    if (!k->want) {
        k->want = 1;
        pthread_cond_signal(&k->cond);
    }
    pthread_mutex_unlock(&k->lock);
}

static void *ckpt_main(void *arg)
{
    struct store_engine *e = arg;
    struct ckpt *k = &e->ckpt;
    struct sched_param sp = {0};
    int src = pthread_setschedparam(pthread_self(), SCHED_BATCH, &sp);
    if (src != 0)
        log_debug("checkpoint thread: cannot use SCHED_BATCH: %s", strerror(src));
    if (setpriority(PRIO_PROCESS, (id_t)gettid(), 19) != 0)
        log_debug("checkpoint thread: cannot lower its priority: %s", strerror(errno));

    pthread_mutex_lock(&k->lock);
    k->ready = 1;
    pthread_cond_broadcast(&k->idle);
    for (;;) {
        while (!k->want && !k->quit)
            pthread_cond_wait(&k->cond, &k->lock);
        if (k->quit)
            break;
        k->want = 0;

        /* The mark moves before the checkpoint, not after: the writes made
         * while it runs must not ask for another one at once (they did, and
         * every checkpoint ran twice, the second for a tenth of the frames). */
        long frames = sqlite_wal_frames(e);
        atomic_store(&k->mark, frames);
        /* Fallen that far behind, it leaves the WAL to the workers, which
         * run at a normal priority; and none while a worker runs one. */
        if (frames >= CKPT_FORCE_FRAMES || k->held)
            continue;
        k->running = 1;
        pthread_mutex_unlock(&k->lock);
        int64_t t0 = net_now_us();
        if (sqlite_checkpoint(k->store) != STORE_OK)
            log_warn("checkpoint: %s", sqlite_errmsg(k->store));
        log_debug("checkpoint of a %ld-frame WAL: %.1f ms", frames,
                  (double)(net_now_us() - t0) / 1e3);
        if (frames >= CKPT_HARD_FRAMES)
            atomic_store(&k->restart_due, 1);
        pthread_mutex_lock(&k->lock);
        k->running = 0;
        pthread_cond_broadcast(&k->idle);
    }
    pthread_mutex_unlock(&k->lock);
    return NULL;
}

/* Opens the checkpoint thread's own connection here, so that a failure is
 * reported when the engine opens. */
int ckpt_start(struct store_engine *e, char *err, size_t errcap)
{
    struct ckpt *k = &e->ckpt;
    if (sqlite_conn_open(e, ROLE_CKPT, &k->store, err, errcap) != STORE_OK)
        return -1;
    int rc = pthread_create(&k->thread, NULL, ckpt_main, e);
    if (rc != 0) {
        snprintf(err, errcap, "cannot start the checkpoint thread: %s", strerror(rc));
        sqlite_close(k->store);
        k->store = NULL;
        return -1;
    }
    k->started = 1;
    pthread_mutex_lock(&k->lock);
    while (!k->ready)
        pthread_cond_wait(&k->idle, &k->lock);
    pthread_mutex_unlock(&k->lock);
    return 0;
}

void ckpt_stop(struct store_engine *e)
{
    struct ckpt *k = &e->ckpt;
    if (!k->started)
        return;
    pthread_mutex_lock(&k->lock);
    k->quit = 1;
    pthread_cond_signal(&k->cond);
    pthread_mutex_unlock(&k->lock);
    pthread_join(k->thread, NULL);
    sqlite_close(k->store);
    k->started = 0;
    k->store = NULL;
    k->quit = 0;
}
