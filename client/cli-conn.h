/*
 * cli-conn.h - one connection to a todo-server: connect (and AUTH) with a
 * timeout, queue requests, flush them, and read replies with a timeout.
 */
#ifndef TODO_CLI_CLI_CONN_H
#define TODO_CLI_CLI_CONN_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "todo/proto.h"

struct cli_conn_cfg {
    const char *host;
    const char *port;
    const char *password; /* sent with AUTH after connecting; NULL for none */
    int timeout_ms;       /* bounds a connect and each reply */
    const char
        *user; /* AUTH USER PASSWORD when set (a server with accounts); NULL: AUTH PASSWORD */
    const char *list; /* USE LIST after logging in when set (a list shared with user) */
};

enum cli_conn_status {
    CLI_CONN_OK = 0,
    CLI_CONN_E_CONNECT, /* could not connect (refused, unknown host, timed out) */
    CLI_CONN_E_AUTH,    /* the server refused the password */
    CLI_CONN_E_TIMEOUT, /* no reply in time; the connection is closed */
    CLI_CONN_E_IO,      /* the connection broke or was closed; it is closed */
    CLI_CONN_E_PROTO,   /* the peer does not speak the protocol; it is closed */
    CLI_CONN_E_INTR,    /* interrupted by the user (Ctrl-C); it is closed */
    CLI_CONN_E_NOMEM,
    CLI_CONN_E_VERSION /* the server's protocol is older than the request needs; it stays open */
};

/* Called for each event line (WATCH) that arrives, decoded; the event's
 * strings live until the handler returns. It may print, but must not use
 * the connection. */
typedef void (*cli_conn_event_fn)(void *ctx, const struct proto_event *ev);

struct cli_conn {
    struct cli_conn_cfg cfg;
    int fd;                         /* -1 when not connected */
    int64_t deadline;               /* CLOCK_MONOTONIC ms that no wait may pass; 0 for none */
    char *in;                       /* received bytes */
    size_t in_len, in_cap, in_drop; /* in_drop: bytes of the last reply, dropped on the next read */
    struct proto_reply_decoder dec;
    struct proto_buf out; /* queued requests */
    const volatile sig_atomic_t
        *cancel;   /* when set and non-zero, a wait ends with CLI_CONN_E_INTR */
    char err[512]; /* the last failure as one sentence, e.g. "cannot connect to h:p: ..." */
    /* The protocol version the server gave in its HELLO reply; 0 until
     * cli_conn_call_min() asked (once per connection). */
    int version;
    /* Events that arrive while a reply is awaited go to on_event and the
     * wait goes on; with no handler they are dropped. */
    cli_conn_event_fn on_event;
    void *event_ctx;
    char *ev_scratch; /* proto_event_decode()'s scratch area */
    size_t ev_scratch_cap;
    /* When set, the signal mask to wait with (pselect): the caller blocks
     * the signals that set *cancel, so that one arriving just before a wait
     * cannot be missed. */
    const sigset_t *wait_mask;
    /* Counts the connections opened: one that was closed and opened again
     * has a new number, and none of the old one's state (a WATCH). */
    unsigned long opened;
};

void cli_conn_init(struct cli_conn *c, const struct cli_conn_cfg *cfg);
/* Closes the socket and frees the buffers; c may be opened again. */
void cli_conn_close(struct cli_conn *c);
void cli_conn_free(struct cli_conn *c);
int cli_conn_is_open(const struct cli_conn *c);

/* Connects (trying each address of the host) and, when a password is set,
 * authenticates. CLI_CONN_OK or a status with c->err set. */
enum cli_conn_status cli_conn_open(struct cli_conn *c);

/* 1 if an idle open connection still looks usable: the server has not
 * closed it while we were not looking. With an event handler set, events
 * that came meanwhile are handed to it first (cli_conn_pump()). */
int cli_conn_alive(struct cli_conn *c);

/* Queues one request (no I/O). CLI_CONN_OK or CLI_CONN_E_NOMEM. */
enum cli_conn_status cli_conn_queue(struct cli_conn *c, enum proto_cmd cmd,
                                    const struct proto_arg *args, size_t nargs);
/* Writes every queued request, within the timeout. */
enum cli_conn_status cli_conn_flush(struct cli_conn *c);
/* Flushes, then reads the next reply. *r points into the connection's buffer
 * and stays valid until the next call on c. */
enum cli_conn_status cli_conn_read(struct cli_conn *c, struct proto_reply *r);
/* Waits for events alone (a watching connection), at most timeout_ms
 * (-1: no limit): hands every event that has come to on_event, and returns
 * CLI_CONN_OK once at least one has. CLI_CONN_E_TIMEOUT when none came in
 * time (the connection stays open); CLI_CONN_E_PROTO when a reply came
 * that nobody asked for; otherwise as cli_conn_read(). */
enum cli_conn_status cli_conn_wait_events(struct cli_conn *c, int timeout_ms);
/* The same without waiting: handles what the socket holds now. CLI_CONN_OK
 * (events or none), or a failure (the connection is then closed). */
enum cli_conn_status cli_conn_pump(struct cli_conn *c);

/* cli_conn_queue + cli_conn_read. */
enum cli_conn_status cli_conn_call(struct cli_conn *c, enum proto_cmd cmd,
                                   const struct proto_arg *args, size_t nargs,
                                   struct proto_reply *r);

/* cli_conn_call for a request that means what it should only to a server
 * of protocol version min or later (an older server may take its words as
 * something else: version 2 reads LIST's sort:next as a word to search for,
 * and answers an empty list). The first such call on a connection sends
 * HELLO in the same write as the request, so asking costs the server one
 * more line but no extra round trip; the version is then kept for the
 * connection. When the server is older, the request's reply is read and
 * dropped, and the call fails with CLI_CONN_E_VERSION and c->err naming
 * both versions and what needs the newer one (what: "todo-cli list");
 * the connection stays usable. */
enum cli_conn_status cli_conn_call_min(struct cli_conn *c, int min, const char *what,
                                       enum proto_cmd cmd, const struct proto_arg *args,
                                       size_t nargs, struct proto_reply *r);

#endif
