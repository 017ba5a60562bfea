/*
 * server.h - the listener and acceptor (the main thread).
 */
#ifndef TODO_SERVER_SERVER_H
#define TODO_SERVER_SERVER_H

#include <stddef.h>

struct server_config;

/* 1 if addr (numeric or a name) resolves only to loopback addresses; 0 if
 * not; -1 with a sentence in err if it does not resolve. */
int server_bind_is_loopback(const char *addr, char *err, size_t errcap);

/* Opens the store (upgrading it, loading --demo data), listens, prints
 * "listening on ADDR:PORT", starts the workers and accepts until SIGINT or
 * SIGTERM. Returns the process exit status: 0 after a clean stop, 2 when
 * it cannot listen (before any database file is created), 1 when anything
 * else failed (said on stderr). */
int server_run(struct server_config *cfg);

#endif /* TODO_SERVER_SERVER_H */
