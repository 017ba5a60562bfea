/*
 * stats.c - the workers' counter blocks and their sums (stats.h).
 */
#include "stats.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Set by stats_init before the workers start and by stats_fini after they
 * have stopped (both on the main thread); read-only in between, so the
 * workers read them without a lock. */
static struct {
    struct stats_counters *w;
    int n;
    struct timespec started;
    stats_conns_fn conns;
} stats;

int stats_init(int nworkers, stats_conns_fn conns)
{
    stats.conns = conns;
    /* aligned_alloc, for the blocks' cache-line alignment; their size is a
     * multiple of it, as aligned_alloc asks. */
    size_t size = (size_t)nworkers * sizeof(struct stats_counters);
    stats.w = aligned_alloc(_Alignof(struct stats_counters), size);
    if (stats.w == NULL)
        return -1;
    for (int i = 0; i < nworkers; i++) {
        struct stats_counters *c = &stats.w[i];
        atomic_init(&c->commands, 0);
        atomic_init(&c->errors, 0);
        atomic_init(&c->writes, 0);
        atomic_init(&c->batches, 0);
        atomic_init(&c->batch_failures, 0);
        atomic_init(&c->events_sent, 0);
        atomic_init(&c->watch_overflows, 0);
        atomic_init(&c->cache_hits, 0);
        atomic_init(&c->cache_misses, 0);
    }
    stats.n = nworkers;
    clock_gettime(CLOCK_MONOTONIC, &stats.started);
    return 0;
}

struct stats_counters *stats_worker(int i)
{
    return &stats.w[i];
}

void stats_fini(void)
{
    free(stats.w);
    stats.w = NULL;
    stats.n = 0;
}

void stats_collect(struct server_stats *st)
{
    struct timespec now;
    struct stats_conns rc;
    memset(st, 0, sizeof(*st));
    memset(&rc, 0, sizeof(rc));
    for (int i = 0; i < stats.n; i++) {
        struct stats_counters *c = &stats.w[i];
        st->commands += atomic_load_explicit(&c->commands, memory_order_relaxed);
        st->errors += atomic_load_explicit(&c->errors, memory_order_relaxed);
        st->writes += atomic_load_explicit(&c->writes, memory_order_relaxed);
        st->batches += atomic_load_explicit(&c->batches, memory_order_relaxed);
        st->batch_failures += atomic_load_explicit(&c->batch_failures, memory_order_relaxed);
        st->events_sent += atomic_load_explicit(&c->events_sent, memory_order_relaxed);
        st->watch_overflows += atomic_load_explicit(&c->watch_overflows, memory_order_relaxed);
        st->cache_hits += atomic_load_explicit(&c->cache_hits, memory_order_relaxed);
        st->cache_misses += atomic_load_explicit(&c->cache_misses, memory_order_relaxed);
    }
    if (stats.conns != NULL)
        stats.conns(&rc);
    st->conns_current = rc.conns_current;
    st->conns_total = rc.conns_total;
    st->threads = (unsigned long long)stats.n;
    st->idle_closed = rc.idle_closed;
    st->line_timeouts = rc.line_timeouts;
    st->evicted = rc.evicted;
    clock_gettime(CLOCK_MONOTONIC, &now);
    st->uptime = (unsigned long long)(now.tv_sec - stats.started.tv_sec);
}
