/*
 * cmd_harness.h - the server's command layer run in-process, without
 * sockets: a store of its own, a few "connections", and request lines in,
 * decoded replies out.
 *
 * This header and cmd_harness.c are the only test code that knows the
 * command layer's API (commands.h, store.h, the batch it writes in): when
 * that API changes, only cmd_harness.c changes, and test_commands.c and
 * the fuzz target (tests/fuzz/fuzz_commands.c) keep working.
 *
 * It plays the part of one worker of todo-server: reads run on a store
 * connection of their own (committed data only) and writes in a batch on
 * the writer connection, one transaction per pass, as the worker's group
 * commit does. A connection whose writes are in the open batch reads on
 * the writer, where it sees them, as in the server; every other one reads
 * what was committed. Outside harness_pass_begin()/_end() every request is
 * a pass of its own, committed at once.
 *
 * What the worker does around the command layer and that is not here: the
 * AUTH delays (the guard's waits are the event loop's), the HTTP-looking
 * first lines the worker closes at once, LIST replies streamed in slices.
 */
#ifndef TODO_CMD_HARNESS_H
#define TODO_CMD_HARNESS_H

#include <stddef.h>

#include "todo/proto.h"

#define HARNESS_MAX_CONNS 8

struct harness;

struct harness_options {
    /* The server's password (--password-file); NULL: none, nobody needs AUTH. */
    const char *password;
    int nconns; /* connections, 1 to HARNESS_MAX_CONNS (0: 1) */
    /* The store: in memory (SQLite's memdb, no file, no WAL; a commit
     * cannot be made to fail there) or, with 0, a database file in a new
     * directory under dir (NULL: $TMPDIR, else /tmp), removed by
     * harness_close(). */
    int memory;
    const char *dir;
    size_t max_line; /* longest request line (--max-line); 0: the protocol's default */
    int quiet;       /* the server's log says errors only (--log-level error) */
};

/* 0, or -1 with a sentence on stderr. */
int harness_open(struct harness **out, const struct harness_options *o);
/* Ends an open pass (committing it), closes the store, removes its files. */
void harness_close(struct harness *h);

/* A new connection in slot conn, as if the old one had closed: not
 * authenticated (or, with authed, as if it had sent the right password),
 * no wrong passwords counted. */
void harness_conn_reset(struct harness *h, int conn, int authed);
/* 1 when connection conn has sent the right password and not a wrong one
 * since (always 0 without a password). */
int harness_conn_authed(const struct harness *h, int conn);

enum harness_kind {
    HARNESS_NONE = 0, /* a blank line: the server sends nothing */
    HARNESS_OK,       /* "OK" or "OK text" */
    HARNESS_ERR,      /* "ERR CODE sentence" */
    HARNESS_DATA,     /* "DATA n" and n lines */
    HARNESS_BARE,     /* the tutorial's GET/ and POST/ answers: one bare line */
    HARNESS_CLOSED,   /* the connection had quit (QUIT, or too many wrong passwords) */
    HARNESS_JSON,     /* harness_run_json: one JSON document */
};

/* One reply, as a client would decode it. Valid until the next call on
 * the harness. */
struct harness_reply {
    enum harness_kind kind;
    enum proto_err err; /* ERR: its code */
    /* OK: the text after "OK " ("" for a bare OK); ERR: the sentence; BARE:
     * the line; JSON: the document without its newline; NUL-terminated, ""
     * for the others. */
    const char *text;
    size_t nlines;            /* DATA: n */
    const char *const *lines; /* DATA: the n lines, without CRLF, NUL-terminated */
    const char *raw;          /* the reply's bytes as they would go on the wire */
    size_t raw_len;
    /* The reply was made inside the pass's write batch (a write, or a read
     * of this connection's own uncommitted writes): it stands only if the
     * pass commits; if it does not, the server sends ERR STORE instead. */
    int in_batch;
    /* The command was a write that succeeded (it waits for the commit). */
    int wrote;
    /* The server closes the connection after this reply (QUIT, or the last
     * wrong password it takes); its next requests get HARNESS_CLOSED until
     * harness_conn_reset(). */
    int quit;
};

/* Runs line[0..len) (one request line, without its LF; a trailing CR is
 * dropped as the server does, and a line longer than max_line is answered
 * ERR TOOLONG) from connection conn. The reply of a write inside an
 * explicit pass is what the command answered; whether it stands is told
 * by harness_pass_end(). Outside a pass, the write is committed before
 * harness_run returns, and a failed commit turns the reply into ERR STORE
 * as the server would. */
const struct harness_reply *harness_run_n(struct harness *h, int conn, const char *line,
                                          size_t len);
/* The same for a NUL-terminated line. */
const struct harness_reply *harness_run(struct harness *h, int conn, const char *line);
/* harness_run, with the result encoded by the JSON encoder of the HTTP
 * front end (server/reply-json.h) instead of the line protocol's: the
 * reply is HARNESS_JSON, its text the document (or HARNESS_NONE, or
 * HARNESS_CLOSED). A failed commit makes the document the STORE error. */
const struct harness_reply *harness_run_json(struct harness *h, int conn, const char *line);

/* A pass of the worker's loop: the writes of every connection between
 * begin and end share one transaction (the group commit). */
void harness_pass_begin(struct harness *h);
enum harness_end {
    HARNESS_COMMIT,      /* commit, as the worker does */
    HARNESS_ROLLBACK,    /* roll the batch back instead */
    HARNESS_FAIL_COMMIT, /* make the commit fail (a full disk), where the store can */
};
/* Ends the pass: 1 if its writes (if any) were committed, 0 if they were
 * not (rolled back, or the commit failed). Every reply with in_batch set
 * stands only when it returns 1. */
int harness_pass_end(struct harness *h, enum harness_end how);

/*
 * What the writes of the last pass changed, as the command
 * layer recorded it (change.h), one record per write that succeeded, in
 * order, joined by "; ":
 *   "ADD add 7 text,done,tags"   CMD KIND ID FIELDS
 * KIND is add, edit, delete or put (the tutorial's POST/); FIELDS names
 * those the write set, among text, done, pri, due and tags, in that order
 * (IMPORT: all five); a delete has none. "" when the last pass changed nothing: it
 * wrote nothing, its writes were refused, or it did not commit. Valid
 * until the next call on the harness.
 */
const char *harness_changes(const struct harness *h);

#endif /* TODO_CMD_HARNESS_H */
