/*
 * server_proc.h - start and stop a real todo-server for integration tests.
 *
 * The server is started with --bind 127.0.0.1 --port 0 so that tests never
 * collide on a port; the port is read from its "listening on ADDR:PORT" line.
 */
#ifndef TODO_TESTS_SERVER_PROC_H
#define TODO_TESTS_SERVER_PROC_H

#include <sys/types.h>

struct server_proc {
    pid_t pid;
    int port;
    int out_fd; /* the server's stdout, after the "listening on" line */
};

/* Starts server_bin with "--bind 127.0.0.1 --port 0" followed by extra
 * (NULL-terminated, may be NULL), then "--threads $TODO_TEST_THREADS" if that
 * is set; a --db is mapped by server_test_db() (and one is added when
 * TODO_TEST_DB_URI is set and extra has none). Waits up to 10 s for the listening line.
 * Returns 0, or -1 with a message on stderr. */
int server_start(struct server_proc *sp, const char *server_bin, const char *const *extra);

/* The database a test's --db becomes when TODO_TEST_DB_URI gives a
 * PostgreSQL URI (the postgres stage of scripts/test): a schema of that
 * database, named after db, so that a server started again on the same
 * file finds its data and two tests never share one; ":memory:" gets a
 * fresh schema at every start, as it keeps nothing. Without
 * TODO_TEST_DB_URI, db itself. The result lives until the 8th call after. */
const char *server_test_db(const char *db);

/* The worker count TODO_TEST_THREADS imposes on every server a test
 * starts, or NULL when it is not set. */
const char *server_test_threads(void);

/* Sends sig (SIGTERM for a clean stop, SIGKILL for a crash) and reaps the
 * process. Returns its exit status as waitpid() reports it, or -1. */
int server_stop(struct server_proc *sp, int sig);

/* Connects to 127.0.0.1:port; returns the fd or -1. */
int server_connect(int port);

/* Sends all of s (n bytes). 0 or -1. */
int sock_send_all(int fd, const char *s, size_t n);

/* Reads until the bytes received end with `until` or timeout_ms passes;
 * returns bytes read into buf (NUL-terminated, cap includes the NUL), or -1
 * on error. The connection closing also ends the read. */
long sock_read_until(int fd, char *buf, size_t cap, const char *until, int timeout_ms);

#endif
