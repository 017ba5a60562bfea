/*
 * worker.h - the pool of worker threads. The workers run epoll loops over
 * one shared epoll instance; a ready connection is owned by the worker
 * that epoll handed it to until that worker has answered it (worker.c).
 */
#ifndef TODO_SERVER_WORKER_H
#define TODO_SERVER_WORKER_H

#include <stddef.h>

struct server_config;
struct sockaddr;

struct store_engine;

/* Starts cfg->threads workers, each with its own read connection to the
 * store of engine and its own GET cache, and waits until all are ready.
 * Every write batch runs on the engine's writer, under its write turn
 * (store_write_begin), and the engine's maintenance between passes. 0,
 * or -1 with a sentence in err. cfg and engine must outlive the pool. */
int workers_start(const struct server_config *cfg, struct store_engine *engine, char *err,
                  size_t errcap);

/* Called by the acceptor only. The number of client connections open now. */
unsigned workers_connections(void);
/* Called by the acceptor only: counts the connection and registers fd
 * (non-blocking), from the client at addr, with the workers, the first free
 * one of which will serve it; the workers close it. */
void workers_hand(int fd, const struct sockaddr *addr);
/* Called by the acceptor at least once a second: tells connections idle
 * for cfg->idle_timeout, or with a request line unfinished for
 * cfg->line_timeout, to go (their worker says why to the client and closes
 * them), and shuts down those told a while ago that are still open. */
void workers_sweep(void);
/* Called by the acceptor when --max-clients are connected: tells the
 * connection idle longest to go, if it has been idle for at least
 * SERVER_EVICT_MIN_IDLE_MS and has no request line or reply under way.
 * 1 if one was (a newcomer may be let in), 0 if none could be. */
int workers_evict(void);

/* Asks every worker to finish what it has read, send what it can within a
 * short grace period, close its connections and its store; then joins them. */
void workers_stop(void);

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
    unsigned long long uptime;        /* seconds since start */
    unsigned long long idle_closed;   /* connections closed by --idle-timeout */
    unsigned long long line_timeouts; /* connections closed by --line-timeout */
    unsigned long long evicted;       /* idle connections closed to let a new client in */
};
void workers_stats(struct server_stats *st);

#endif /* TODO_SERVER_WORKER_H */
