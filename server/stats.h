/*
 * stats.h - the server's counters and their sums for STATS.
 *
 * Each worker counts into a block of its own (struct stats_counters): only
 * that worker writes it, with relaxed atomic adds, so counting takes no
 * lock and shares no cache line; STATS, on any worker, reads every block
 * and sums them on demand (as memcached sums its per-thread statistics),
 * with the registry's numbers (registry.h). The handlers (commands.c) and
 * the write batch (batch.c) count; the worker pool (worker.c) sets the
 * module up and tears it down.
 */
#ifndef TODO_SERVER_STATS_H
#define TODO_SERVER_STATS_H

#include <stdatomic.h>

/* One worker's counters. Written by that worker only; read by any thread.
 * Aligned to a cache line, so that two workers' blocks never share one. */
struct stats_counters {
    _Alignas(64) atomic_ullong commands; /* requests answered (blank lines are not requests) */
    atomic_ullong errors;                /* ERR replies (counted by the encoder that makes them) */
    atomic_ullong writes;                /* write commands committed (counted by the batch) */
    atomic_ullong batches;               /* committed write transactions */
    atomic_ullong batch_failures;        /* batches rolled back */
    atomic_ullong events_sent;           /* EVENT lines put in watchers' output (worker.c) */
    atomic_ullong watch_overflows;       /* watches ended by EVENT overflow */
    atomic_ullong cache_hits;            /* GETs answered from the cache (commands.c) */
    atomic_ullong cache_misses;          /* GETs that could use it but read the store */
};

/* The connection numbers, which the front end's registry of connections
 * keeps (registry.h). */
struct stats_conns {
    unsigned long long conns_current; /* open now, those told to go included */
    unsigned long long conns_total;   /* taken by the acceptor since the start */
    unsigned long long idle_closed;   /* told to go by --idle-timeout */
    unsigned long long line_timeouts; /* told to go by --line-timeout */
    unsigned long long evicted;       /* idle ones told to go to let a new client in */
};
typedef void (*stats_conns_fn)(struct stats_conns *out);

/* Makes nworkers blocks of counters, all zero, and starts the uptime
 * clock; conns (may be NULL: all zero) gives the connection numbers, so
 * that this module depends on no front end. Called once by the main
 * thread before any worker starts. 0, or -1 when out of memory. */
int stats_init(int nworkers, stats_conns_fn conns);
/* Worker i's block (0 <= i < nworkers); valid until stats_fini. */
struct stats_counters *stats_worker(int i);
/* Frees the blocks. Called by the main thread once no worker runs. */
void stats_fini(void);

/* Summed over all workers, on demand (for STATS). */
struct server_stats {
    unsigned long long conns_current;
    unsigned long long conns_total;
    unsigned long long commands;
    unsigned long long errors;
    unsigned long long writes;
    unsigned long long batches;        /* committed write transactions */
    unsigned long long batch_failures; /* batches rolled back */
    unsigned long long threads;
    unsigned long long uptime;          /* seconds since start */
    unsigned long long idle_closed;     /* connections closed by --idle-timeout */
    unsigned long long line_timeouts;   /* connections closed by --line-timeout */
    unsigned long long evicted;         /* idle connections closed to let a new client in */
    unsigned long long events_sent;     /* EVENT lines for watchers */
    unsigned long long watch_overflows; /* watches ended by EVENT overflow */
    unsigned long long cache_hits;
    unsigned long long cache_misses;
};
/* Fills st: the workers' counters summed, the registry's numbers, the
 * worker count and the uptime. Safe on any thread. */
void stats_collect(struct server_stats *st);

#endif /* TODO_SERVER_STATS_H */
