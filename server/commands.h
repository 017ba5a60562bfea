/*
 * commands.h - the command layer: one handler per protocol command, each
 * handing its result to a sink (result.h) that the front end encodes, and
 * recording what a write changed (change.h).
 */
#ifndef TODO_SERVER_COMMANDS_H
#define TODO_SERVER_COMMANDS_H

#include <stddef.h>
#include <stdint.h>

#include "change.h"
#include "result.h"
#include "todo/proto.h"

struct store_want;

struct batch;
struct cache;
/* A LIST reply up to this size is made at once on the worker's store; up
 * to the second with tags, which SQLite sorts in one step anyway
 * (commands.c, cmd_list); a bigger one goes to ctx.list_stream. */
#define CMD_LIST_INLINE_MAX (64 * 1024)
#define CMD_LIST_INLINE_SORTED_MAX (2 * 1024 * 1024)

struct store;
struct server_config;
struct guard_peer;
struct stats_counters;
struct watch_ring;

/* What a handler may touch: one connection's view of its worker. */
struct cmd_ctx {
    struct result_sink *sink; /* where the result goes: the front end encodes it */
    /* The worker's own store for reads (committed data only); the writer
     * store (which sees the batch's uncommitted changes) for a connection
     * whose own writes are in the pass's open batch, so that it reads them
     * in order. */
    struct store *store;
    /* The GET cache all workers share (cache.h); NULL: none. */
    struct cache *cache;
    const struct server_config *cfg;
    struct stats_counters *counters; /* the worker's (stats.h) */
    /* The worker's write batch (batch.h): one transaction shared by every
     * write of this event-loop pass, on the store's writer, under its write
     * turn (store_write_begin). batch_open(batch, &writer, err, errcap)
     * opens it if it is not open yet (a pointer, so that this layer links
     * without the event loop) and sets *writer to the writer; 0, or -1 with
     * a sentence in err when the batch cannot take writes. */
    struct batch *batch;
    int (*batch_open)(struct batch *b, struct store **writer, char *err, size_t errcap);
    /* The open batch's change log: a write that succeeds appends what it
     * changed; the batch publishes it after COMMIT, or drops it. */
    struct change_log *changes;
    /* Hands req's LIST, too big to make at once, to the front end, which
     * makes and sends it in slices (the line protocol's stream.h), with
     * list_stream_arg: 0 started (the handler makes no reply), 1 busy (try
     * later), -1 failed; a sentence in err for either. NULL: the front end
     * cannot, and every LIST is made at once. */
    int (*list_stream)(void *arg, const struct proto_request *req, char *err, size_t errcap);
    void *list_stream_arg;
    /* The server's ring of changes for WATCH (watch.h); NULL: none. While
     * anyone watches, a write keeps its task as it is right after the
     * change with its change log record, read from the writer. */
    const struct watch_ring *watch;
    /* WATCH and UNWATCH, which belong to the front end's connection:
     * watch_fn(watch_arg, req, &seq, err, errcap) starts, changes or (for
     * UNWATCH) ends the connection's watch and, for WATCH, sets seq for the
     * reply; PROTO_E_NONE, or an error code with a sentence in err. NULL:
     * the front end has no watches, and both are refused. */
    enum proto_err (*watch_fn)(void *arg, const struct proto_request *req, uint64_t *seq, char *err,
                               size_t errcap);
    void *watch_arg;
    int in_batch; /* in/out: x->store is the writer, inside the open batch */
    /* in: AUTH USER PASSWORD's password was checked already, off the
     * worker's thread (auth-pool.h), after the user's turn was taken:
     * CMD_AUTH_WRONG or CMD_AUTH_RIGHT; 0 (CMD_AUTH_UNCHECKED): the handler
     * takes the turn and checks it itself. */
    int auth_checked;
    int authed; /* in/out: this connection sent the right password */
    /* in/out: the list the connection's commands work in (store.h's
     * store_scope), NUL-terminated in PROTO_MAX_USER + 1 bytes that the
     * front end keeps: a right AUTH USER PASSWORD sets it to the user's
     * name, a right AUTH PASSWORD (or any wrong AUTH) to the default list
     * "". NULL: always the default list. */
    char *list;
    /* commands.c's own: list's length, measured once per command by
     * commands_run and kept by what changes list (nothing to set). */
    size_t list_len;
    /* in/out: the user the connection logged in as (AUTH USER), or ""; the
     * same kind of buffer as list, which differs from it only after USE of
     * a list shared with the user. NULL: no user. */
    char *user;
    /* in/out: the users' epoch (commands.c's users_epoch) when the
     * connection's user was last known to exist, unlocked; the front end
     * keeps it with user. NULL: not checked after AUTH. */
    unsigned *user_epoch;
    /* in/out: the run of IMPORT lines this connection is sending (store.h's
     * store_import), which UNDO takes back as one step; any other request
     * ends it (0). */
    int64_t import_run;
    /* The connection's address and wrong passwords (AUTH counts them, the
     * guard slows them down); NULL: none are counted. */
    struct guard_peer *peer;
    int quit;         /* out: QUIT was answered; close once the replies are sent */
    int out_full;     /* out: the sink could not take the reply (past its cap, or no memory) */
    int wrote;        /* out: the command changed the store and waits for the commit */
    int batch_broken; /* out: the batch must be rolled back, not committed */
    /* out: the reply was made on the writer store inside the open batch (a
     * write, whatever its outcome, or a read of this connection's own
     * uncommitted writes), so it stands only if the batch commits. */
    int used_batch;
};

enum { CMD_AUTH_UNCHECKED = 0, CMD_AUTH_WRONG, CMD_AUTH_RIGHT };

/* Runs one parsed request: checks authentication, finds the handler in the
 * table and lets it hand its result to x->sink. A write command runs inside
 * the worker's batch, in a savepoint of its own where the store needs one,
 * and sets x->wrote; its reply must not be sent before the batch commits. */
void commands_run(struct cmd_ctx *x, const struct proto_request *req);

/* Whether req, were commands_run to run it in x now, would read a task
 * from x->store that the GET cache cannot answer: a GET of a connection
 * that may read, whose reply the cache does not hold or holds stale. Then
 * *want names the task, for store_read_ahead (store.h), which the front
 * end calls with a pass's wants before it runs them. Nothing is run,
 * counted or answered; x->sink is only asked which encoding it makes. */
int commands_will_read(struct cmd_ctx *x, const struct proto_request *req, struct store_want *want);

/* Hands the error to x->sink (for requests that did not parse, which never
 * reach commands_run). */
void commands_error(struct cmd_ctx *x, enum proto_err e, const char *msg);

#endif /* TODO_SERVER_COMMANDS_H */
