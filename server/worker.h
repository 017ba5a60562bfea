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

struct store;

/* Starts cfg->threads workers, each with its own store connection for
 * reads, and waits until all are ready. Every write batch runs on writer
 * (opened with store_options.writer), under the pool's write lock. 0, or
 * -1 with a sentence in err. cfg and writer must outlive the pool. */
int workers_start(const struct server_config *cfg, struct store *writer, char *err, size_t errcap);

/* Called by the acceptor only: registers fd (non-blocking), from the
 * client at addr, in the registry (registry.h, which counts it) and with
 * the workers, the first free one of which will serve it; the workers
 * close it. */
void workers_hand(int fd, const struct sockaddr *addr);

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
