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

/* Called by the acceptor only: registers fd (non-blocking), from the
 * client at addr, in the registry (registry.h, which counts it) and with
 * the workers, the first free one of which will serve it; the workers
 * close it. */
void workers_hand(int fd, const struct sockaddr *addr);

/* Asks every worker to finish what it has read, send what it can within a
 * short grace period, close its connections and its store; then joins them. */
void workers_stop(void);

#endif /* TODO_SERVER_WORKER_H */
