/*
 * conn.h - one connection to a todo-server: connect (and AUTH) with a
 * timeout, queue requests, flush them, and read replies with a timeout.
 */
#ifndef TODO_CLI_CONN_H
#define TODO_CLI_CONN_H

#include <signal.h>
#include <stddef.h>

#include "todo/proto.h"

struct conn_cfg {
    const char *host;
    const char *port;
    const char *password; /* sent with AUTH after connecting; NULL for none */
    int timeout_ms;       /* bounds a connect and each reply */
};

enum conn_status {
    CONN_OK = 0,
    CONN_E_CONNECT, /* could not connect (refused, unknown host, timed out) */
    CONN_E_AUTH,    /* the server refused the password */
    CONN_E_TIMEOUT, /* no reply in time; the connection is closed */
    CONN_E_IO,      /* the connection broke or was closed; it is closed */
    CONN_E_PROTO,   /* the peer does not speak the protocol; it is closed */
    CONN_E_INTR,    /* interrupted by the user (Ctrl-C); it is closed */
    CONN_E_NOMEM
};

struct conn {
    struct conn_cfg cfg;
    int fd;                         /* -1 when not connected */
    long deadline;                  /* CLOCK_MONOTONIC ms that no wait may pass; 0 for none */
    char *in;                       /* received bytes */
    size_t in_len, in_cap, in_drop; /* in_drop: bytes of the last reply, dropped on the next read */
    struct proto_reply_decoder dec;
    struct proto_buf out;                /* queued requests */
    const volatile sig_atomic_t *cancel; /* when set and non-zero, a wait ends with CONN_E_INTR */
    char err[512]; /* the last failure as one sentence, e.g. "cannot connect to h:p: ..." */
};

void conn_init(struct conn *c, const struct conn_cfg *cfg);
/* Closes the socket and frees the buffers; c may be opened again. */
void conn_close(struct conn *c);
void conn_free(struct conn *c);
int conn_is_open(const struct conn *c);

/* Connects (trying each address of the host) and, when a password is set,
 * authenticates. CONN_OK or a status with c->err set. */
enum conn_status conn_open(struct conn *c);

/* 1 if an idle open connection still looks usable: the server has not
 * closed it while we were not looking. */
int conn_alive(struct conn *c);

/* Queues one request (no I/O). CONN_OK or CONN_E_NOMEM. */
enum conn_status conn_queue(struct conn *c, enum proto_cmd cmd, const struct proto_arg *args,
                            size_t nargs);
/* Writes every queued request, within the timeout. */
enum conn_status conn_flush(struct conn *c);
/* Flushes, then reads the next reply. *r points into the connection's buffer
 * and stays valid until the next call on c. */
enum conn_status conn_read(struct conn *c, struct proto_reply *r);
/* conn_queue + conn_read. */
enum conn_status conn_call(struct conn *c, enum proto_cmd cmd, const struct proto_arg *args,
                           size_t nargs, struct proto_reply *r);

/* Milliseconds on CLOCK_MONOTONIC, for deadlines. */
long conn_now_ms(void);

#endif
