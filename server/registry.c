/*
 * registry.c - the registry of open connections (registry.h): the list of
 * every open connection, the counts, the idle sweep, eviction when full
 * and the final drain.
 *
 * Threads: the acceptor opens connections, sweeps and evicts; the worker
 * that owns a connection forgets it when it closes it; STATS, on any
 * worker, reads the counts; the main thread drains once the workers have
 * stopped. Each field of the state below says what guards it.
 */
#include "registry.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "conn.h"
#include "log.h"
#include "todo/net.h"

/* Events taken at once by the drain's epoll_wait. */
#define DRAIN_EVENTS 256
/* On SIGTERM, how long replies already made may take to leave. */
#define STOP_GRACE_MS 2000
/* A connection told to go (conn.doom) that is still open this long after
 * is shut down both ways: its client does not read the reason. */
#define DOOM_GRACE_MS 2000

static struct {
    /* Set by registry_init, before the threads start; read-only after. */
    const struct server_config *cfg;
    /* Every open connection (conn.reg_prev/reg_next), for the idle sweep
     * and the final drain. A connection is closed under this lock, so the
     * sweep never shuts down a descriptor number that was reused. */
    pthread_mutex_t reg_lock;
    struct conn *reg_head;
    /* The acceptor's: when the idle sweep ran last (monotonic seconds), and
     * before when no connection can have been idle long enough to be
     * evicted (registry_evict). */
    int64_t last_sweep;
    int64_t evict_not_before;
    /* Connections told to go (conn.doom) and not closed yet: the acceptor
     * adds, registry_forget() subtracts (both under reg_lock); they no
     * longer count against --max-clients. And what the acceptor told them,
     * for STATS. */
    atomic_uint doomed;
    atomic_ullong idle_closed, line_timeouts, evicted;
    /* Atomics: the acceptor adds, the worker that closes a connection
     * subtracts; STATS reads. */
    atomic_uint conns_current;
    atomic_ullong conns_total;
} reg = {
    .reg_lock = PTHREAD_MUTEX_INITIALIZER,
};

void registry_init(const struct server_config *cfg)
{
    reg.cfg = cfg;
}

/* reg.reg_lock held. */
static void reg_unlink(struct conn *c)
{
    if (c->reg_prev)
        c->reg_prev->reg_next = c->reg_next;
    else
        reg.reg_head = c->reg_next;
    if (c->reg_next)
        c->reg_next->reg_prev = c->reg_prev;
    c->reg_prev = c->reg_next = NULL;
}

/* reg.reg_lock held. */
static void reg_push(struct conn *c)
{
    c->reg_prev = NULL;
    c->reg_next = reg.reg_head;
    if (reg.reg_head)
        reg.reg_head->reg_prev = c;
    reg.reg_head = c;
}

struct conn *registry_open(int fd, size_t max_line, const struct sockaddr *addr)
{
    atomic_fetch_add(&reg.conns_current, 1);
    atomic_fetch_add(&reg.conns_total, 1);
    struct conn *c = conn_new(fd, max_line, addr);
    if (c == NULL) {
        atomic_fetch_sub(&reg.conns_current, 1);
        return NULL;
    }
    atomic_store_explicit(&c->last_active, net_now_ms(), memory_order_relaxed);
    pthread_mutex_lock(&reg.reg_lock);
    reg_push(c);
    pthread_mutex_unlock(&reg.reg_lock);
    return c;
}

void registry_forget(struct conn *c)
{
    pthread_mutex_lock(&reg.reg_lock);
    if (atomic_load_explicit(&c->doom, memory_order_relaxed) != CONN_DOOM_NONE)
        atomic_fetch_sub(&reg.doomed, 1);
    reg_unlink(c);
    conn_free(c); /* close() also drops it from the epoll set */
    pthread_mutex_unlock(&reg.reg_lock);
    atomic_fetch_sub(&reg.conns_current, 1);
}

unsigned registry_connections(void)
{
    /* Those told to go are on their way out: they do not hold a place. */
    unsigned n = atomic_load(&reg.conns_current), d = atomic_load(&reg.doomed);
    return n > d ? n - d : 0;
}

/*
 * Telling a connection to go, the acceptor's. It cannot close it, since a
 * worker may own it right now, nor write to it. shutdown(SHUT_RD) makes the
 * socket report the end of input, so that the worker that takes it next
 * sees conn.doom, tells the client why and closes it (worker.c, tell_doom).
 * Should the client not read that (its socket full), the sweep shuts it
 * down both ways DOOM_GRACE_MS later and the worker's next send fails.
 * reg.reg_lock held.
 */
static void doom(struct conn *c, int why, int64_t now)
{
    if (log_enabled(LOG_DEBUG)) {
        char peer[64];
        conn_peer(c, peer, sizeof(peer));
        log_debug("client %s: closing it (%s)", peer,
                  why == CONN_DOOM_IDLE   ? "idle"
                  : why == CONN_DOOM_LINE ? "request line too slow"
                                          : "idle longest, for a new client");
    }
    c->doomed_at = now;
    atomic_store_explicit(&c->doom, why, memory_order_release);
    atomic_fetch_add(&reg.doomed, 1);
    atomic_fetch_add_explicit(why == CONN_DOOM_IDLE   ? &reg.idle_closed
                              : why == CONN_DOOM_LINE ? &reg.line_timeouts
                                                      : &reg.evicted,
                              1, memory_order_relaxed);
    if (shutdown(c->fd, SHUT_RD) != 0 && errno != ENOTCONN)
        log_debug("shutdown(%d): %s", c->fd, strerror(errno));
}

/*
 * The acceptor's, once a second: tells connections idle for the idle
 * timeout, or whose request line has taken longer than the line timeout,
 * to go; and shuts down for good those told a while ago that are still
 * open.
 */
void registry_sweep(void)
{
    int64_t idle = (int64_t)reg.cfg->idle_timeout * 1000;
    int64_t line = (int64_t)reg.cfg->line_timeout * 1000;
    int64_t now = net_now_ms();
    if (now / 1000 == reg.last_sweep)
        return;
    reg.last_sweep = now / 1000;
    pthread_mutex_lock(&reg.reg_lock);
    for (struct conn *c = reg.reg_head; c; c = c->reg_next) {
        if (atomic_load_explicit(&c->doom, memory_order_relaxed) != CONN_DOOM_NONE) {
            if (!c->forced && now - c->doomed_at >= DOOM_GRACE_MS) {
                c->forced = 1;
                if (shutdown(c->fd, SHUT_RDWR) != 0 && errno != ENOTCONN)
                    log_debug("shutdown(%d): %s", c->fd, strerror(errno));
            }
            continue;
        }
        int64_t since = atomic_load_explicit(&c->line_since, memory_order_relaxed);
        if (line > 0 && since != 0 && now - since >= line)
            doom(c, CONN_DOOM_LINE, now);
        else if (idle > 0 && !atomic_load_explicit(&c->watching, memory_order_relaxed) &&
                 now - atomic_load_explicit(&c->last_active, memory_order_relaxed) >= idle)
            doom(c, CONN_DOOM_IDLE, now);
    }
    pthread_mutex_unlock(&reg.reg_lock);
}

/*
 * The policy when full (nginx, likewise, closes idle keep-alive connections
 * when it runs out): the connection idle longest goes, if it has been idle
 * at least SERVER_EVICT_MIN_IDLE_MS and has no request line under way. A
 * client in the middle of a conversation is never the one. Scans every
 * connection, but only when the server is full.
 */
int registry_evict(void)
{
    int64_t now = net_now_ms(), best_idle = 0;
    struct conn *best = NULL;
    /* A scan that found none idle long enough also says how soon one can
     * be: until then, a crowd at the door costs no scan each. */
    if (now < reg.evict_not_before)
        return 0;
    pthread_mutex_lock(&reg.reg_lock);
    for (struct conn *c = reg.reg_head; c; c = c->reg_next) {
        if (atomic_load_explicit(&c->doom, memory_order_relaxed) != CONN_DOOM_NONE ||
            atomic_load_explicit(&c->line_since, memory_order_relaxed) != 0)
            continue;
        int64_t idle = now - atomic_load_explicit(&c->last_active, memory_order_relaxed);
        if (idle > best_idle) {
            best_idle = idle;
            best = c;
        }
    }
    int found = best != NULL && best_idle >= SERVER_EVICT_MIN_IDLE_MS;
    if (found) {
        best->doom_idle_s = (int)(best_idle / 1000);
        doom(best, CONN_DOOM_EVICT, now);
    } else {
        /* None can reach the limit before the idlest has: no scan till
         * then, and 20 a second at most while the server stays full. */
        int64_t soon = SERVER_EVICT_MIN_IDLE_MS - best_idle;
        reg.evict_not_before = now + (soon > 50 ? 50 : soon);
    }
    pthread_mutex_unlock(&reg.reg_lock);
    return found;
}

/* SIGTERM, once the workers have stopped (so this thread owns every
 * connection): give the replies already made a short while to leave, then
 * close every connection. */
void registry_drain(void (*release)(struct conn *c))
{
    struct epoll_event evs[DRAIN_EVENTS];
    int64_t deadline = net_now_ms() + STOP_GRACE_MS;
    size_t pending = 0;
    int dep = epoll_create1(EPOLL_CLOEXEC);

    if (dep < 0)
        log_warn("epoll_create1: %s; closing connections at once", strerror(errno));
    pthread_mutex_lock(&reg.reg_lock);
    for (struct conn *c = reg.reg_head; dep >= 0 && c; c = c->reg_next) {
        atomic_load_explicit(&c->handoff, memory_order_acquire);
        struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
        if (conn_out_pending(c) > 0 && epoll_ctl(dep, EPOLL_CTL_ADD, c->fd, &ev) == 0)
            pending++;
    }
    while (pending > 0 && net_now_ms() < deadline) {
        int n = epoll_wait(dep, evs, DRAIN_EVENTS, 100);
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (conn_flush(c) != CONN_IO_AGAIN) {
                if (epoll_ctl(dep, EPOLL_CTL_DEL, c->fd, NULL) != 0)
                    log_debug("epoll_ctl: %s", strerror(errno));
                pending--;
            }
        }
    }
    while (reg.reg_head) {
        struct conn *c = reg.reg_head;
        reg_unlink(c);
        release(c);
        conn_free(c);
        atomic_fetch_sub(&reg.conns_current, 1);
    }
    atomic_store(&reg.doomed, 0);
    pthread_mutex_unlock(&reg.reg_lock);
    if (dep >= 0)
        close(dep);
}

void registry_counts(struct stats_conns *rc)
{
    rc->conns_current = atomic_load(&reg.conns_current);
    rc->conns_total = atomic_load(&reg.conns_total);
    rc->idle_closed = atomic_load_explicit(&reg.idle_closed, memory_order_relaxed);
    rc->line_timeouts = atomic_load_explicit(&reg.line_timeouts, memory_order_relaxed);
    rc->evicted = atomic_load_explicit(&reg.evicted, memory_order_relaxed);
}
