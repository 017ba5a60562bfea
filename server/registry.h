/*
 * registry.h - the registry of open connections: every client connection
 * from the moment the acceptor takes it until it is closed, for the count
 * that --max-clients is checked against, the idle sweep, eviction when the
 * server is full, and the drain at shutdown.
 *
 * The registry never owns a connection's contents: a worker does, while it
 * handles it (worker.c). The registry only links connections together
 * (conn.reg_prev/reg_next), under a lock of its own, and reads the fields
 * conn.h marks as readable by the sweep.
 */
#ifndef TODO_SERVER_REGISTRY_H
#define TODO_SERVER_REGISTRY_H

#include <stddef.h>

#include "stats.h"

struct conn;
struct server_config;
struct sockaddr;

/* Sets the timeouts the sweep applies (cfg->idle_timeout, line_timeout).
 * Called once, before any other call; cfg must outlive the registry. */
void registry_init(const struct server_config *cfg);

/* The acceptor's: counts a new connection and makes its struct for fd,
 * from the client at addr (conn_new), registered and marked active now.
 * NULL when out of memory: fd is then the caller's to close. */
struct conn *registry_open(int fd, size_t max_line, const struct sockaddr *addr);

/* Closes c (conn_free) and drops it from the registry and the count, under
 * the registry's lock, so that the sweep never shuts down a descriptor
 * number that close() has just freed for reuse. Called by c's owner. */
void registry_forget(struct conn *c);

/* Called by the acceptor only. The number of client connections open now,
 * those told to go (conn.doom) not counted: they are on their way out. */
unsigned registry_connections(void);

/* Called by the acceptor at least once a second: tells connections idle
 * for cfg->idle_timeout, or with a request line unfinished for
 * cfg->line_timeout, to go (their worker says why to the client and closes
 * them), and shuts down those told a while ago that are still open. */
void registry_sweep(void);

/* Called by the acceptor when --max-clients are connected: tells the
 * connection idle longest to go, if it has been idle for at least
 * SERVER_EVICT_MIN_IDLE_MS and has no request line or reply under way.
 * 1 if one was (a newcomer may be let in), 0 if none could be. */
int registry_evict(void);

/* At shutdown, once no worker runs any more (so the caller owns every
 * connection): gives the replies already made a short grace period to
 * leave, then closes every connection, calling release(c) on each just
 * before conn_free. */
void registry_drain(void (*release)(struct conn *c));

/* The registry's numbers, for STATS (stats_init's source of them). */
void registry_counts(struct stats_conns *rc);

#endif /* TODO_SERVER_REGISTRY_H */
