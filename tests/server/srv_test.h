/*
 * srv_test.h - helpers for the todo-server integration tests: a line-based
 * client over a raw socket, and running the server binary to completion.
 *
 * cmocka wants <stdarg.h>, <stddef.h>, <stdint.h> and <setjmp.h> before
 * <cmocka.h>; every test includes this header first so that order holds.
 */
#ifndef TODO_SRV_TEST_H
#define TODO_SRV_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cmocka_analyzer.h"

#include "server_proc.h"

/* The todo-server binary under test: argv[1] of every test program. */
extern const char *srv_bin;

/* A client connection with its own read buffer. */
struct cli {
    int fd;
    size_t len;
    char buf[256 * 1024];
};

/* Connects to 127.0.0.1:port; NULL on failure. Free with cli_close(). */
struct cli *cli_open(int port);
void cli_close(struct cli *c);
/* Sends a string as is. 0 or -1. */
int cli_send(struct cli *c, const char *s);
/* Reads one line, CRLF included, into out (NUL-terminated). Returns its
 * length, 0 when the server closed the connection, -1 on timeout/error. */
long cli_line(struct cli *c, char *out, size_t cap, int timeout_ms);
/* Reads one whole reply (OK / ERR line, or DATA n and n lines), CRLFs
 * included. Length, 0 on close, -1 on timeout or overflow. */
long cli_reply(struct cli *c, char *out, size_t cap, int timeout_ms);
/* Sends req (a line ending in \n) and returns the reply in a static
 * per-thread buffer ("" on failure). */
const char *cli_cmd(struct cli *c, const char *req);
/* 1 when the server has closed the connection (read gives EOF or reset)
 * within timeout_ms. */
int cli_closed(struct cli *c, int timeout_ms);

/* Starts todo-server with extra args (NULL-terminated) on a free port;
 * fails the test if it does not come up. */
void srv_start(struct server_proc *sp, const char *const *extra);
/* Kills (SIGKILL) every server srv_start() started that is still running:
 * for a teardown, after a failed assertion skipped the test's own stop. */
void srv_kill_left(void);
/* Reads one STATS value; -1 if missing. */
long long srv_stat(struct cli *c, const char *name);

/* The workers a server started with "--threads asked" has: TODO_TEST_THREADS
 * overrides what a test asks for (common/server_proc.h). */
int srv_threads(int asked);

/* Runs todo-server with argv[1..] = args (NULL-terminated) to completion,
 * within timeout_ms. Captures stdout and stderr (NUL-terminated, cut to
 * cap). Returns the wait status, or -1. */
int srv_run(const char *const *args, char *out, size_t outcap, char *err, size_t errcap,
            int timeout_ms);

/* A fresh temporary directory (mkdtemp); removed with rm_tree(). */
void make_tmpdir(char *path, size_t cap);
void rm_tree(const char *path);
/* Makes a temporary directory in dir (dircap bytes) holding a password
 * file "pw" (mode 0600) whose first line is SRV_TEST_PASSWORD, and writes
 * that file's path to path. 0, or -1 if the file could not be written. */
#define SRV_TEST_PASSWORD "open sesame"
int write_password_file(char *dir, size_t dircap, char *path, size_t pathcap);

/* The main() of every server test program: takes the path of todo-server
 * from argv[1] into srv_bin and runs the tests as one group named after the
 * program. Returns the exit status for main(). */
int srv_test_main(int argc, char **argv, const struct CMUnitTest *tests, size_t n);

#endif /* TODO_SRV_TEST_H */
