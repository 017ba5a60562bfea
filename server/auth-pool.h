/*
 * auth-pool.h - a thread that checks users' password hashes (users.h), so
 * that a worker does not stop serving its other connections for the tenth
 * of a second an Argon2id check takes. A worker hands it a job and sets
 * the connection aside (held, as for an AUTH delay); done(conn, ok) is
 * called on the pool's thread when the check is over, and must wake the
 * connection.
 */
#ifndef TODO_SERVER_AUTH_POOL_H
#define TODO_SERVER_AUTH_POOL_H

#include <stddef.h>

#include "store.h"
#include "users.h"

/* Jobs waiting at most; past it, auth_pool_submit refuses and the worker
 * checks the password itself (slower for its other connections, never
 * wrong). */
#define AUTH_POOL_QUEUE 64

/* Starts the thread. 0, or -1 with a sentence in err. */
int auth_pool_start(void (*done)(void *conn, int ok), char *err, size_t errcap);
/* Checks password (len bytes) against u's hash (u NULL: a name nobody has,
 * checked against users_check's random hash, and never ok), then calls
 * done(conn, ok). The job is copied; the password is wiped once checked.
 * 0, or -1 when the queue is full or the pool is not running: the caller
 * checks it itself. */
int auth_pool_submit(void *conn, const struct store_user *u, const char *password, size_t len);
/* Forgets conn's job: drops it if it is still queued, or waits for the
 * check under way to end (its done() has run then). No done(conn) runs
 * after it returns: call it before freeing a connection with a job. */
void auth_pool_cancel(void *conn);
/* Stops the thread after the job it is on; jobs still queued are dropped
 * (their connections are closed by the caller's shutdown). No done() runs
 * after it returns. */
void auth_pool_stop(void);

#endif /* TODO_SERVER_AUTH_POOL_H */
