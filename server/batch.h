/*
 * batch.h - a worker's group-commit write batch.
 *
 * The writes of all connections in one pass of a worker's loop share one
 * transaction ("group commit") on the store's one writer, in its write
 * turn (store_write_begin ... store_write_end), and no reply made after the
 * pass's first write is sent before that COMMIT has succeeded: a client is
 * never told "OK" about a write that a crash could still take back. Once
 * the batch is open, the later reads of a connection that wrote in it run
 * on the writer store, so that it reads its own writes in order; every
 * other connection's reads run on the worker's store (committed data
 * only), and their replies leave at once, as do all replies made before
 * the first write. When COMMIT fails, every reply made inside the batch
 * (the writes', and those reads') is rewritten into ERR STORE before
 * anything is sent: no reply ever shows a change that was not committed.
 *
 * Each worker owns one batch (worker.c makes it at start) and is the only
 * thread that touches it; a handler reaches it through its cmd_ctx.
 *
 * The batch knows nothing of connections or of how replies are encoded:
 * the front end notes each reply made inside it by an owner pointer and a
 * byte range, and gives the batch, once, the calls that take such a reply
 * back (rewriting it into an error in the front end's own format) and
 * that tell an owner its replies are final. So every front end, and the
 * tests, can use the same batch.
 */
#ifndef TODO_SERVER_BATCH_H
#define TODO_SERVER_BATCH_H

#include <stddef.h>

struct batch;
struct change_log;
struct stats_counters;
struct store;
struct store_engine;

/* What the front end does with the replies it noted (batch_note). */
struct batch_replies {
    /* The batch failed: rewrite owner's reply bytes [start, end) into an
     * error saying why (a sentence). 0, or -1 when it cannot, in which case
     * the batch calls drop(owner): such a reply must never be sent. */
    int (*retract)(void *owner, size_t start, size_t end, const char *why);
    void (*drop)(void *owner);
    /* The batch has ended: owner's replies in it are final (committed, or
     * rewritten). Called once per note. */
    void (*settled)(void *owner);
};

/* Called after each COMMIT that succeeded, with what its writes changed,
 * before any of its replies is sent. */
typedef void (*batch_commit_fn)(void *arg, const struct change_log *changes);

/* A publisher of committed changes in commit order (WATCH's, watch.h):
 * prepare runs in the write turn, just before COMMIT, with the batch's
 * change log and the writer, which sees the batch's writes, so that what
 * it records takes its place in the order of commits; settle runs once
 * the batch has ended, with whether it committed (called only after
 * prepare). Both are called for every batch, and must cost next to
 * nothing when nobody listens. */
struct batch_publisher {
    void (*prepare)(void *arg, struct change_log *changes, struct store *writer);
    void (*settle)(void *arg, int committed);
};

/* A closed batch whose writes run on engine's writer, in its write turn
 * (store_write_begin, shared by every worker's batch and held from the
 * batch's opening to its end), and are counted in counters; replies says
 * how to take a noted reply back. NULL when out of memory. */
struct batch *batch_new(struct store_engine *engine, struct stats_counters *counters,
                        const struct batch_replies *replies);
/* Sets the one subscriber to committed changes (NULL: none). */
void batch_on_commit(struct batch *b, batch_commit_fn fn, void *arg);
/* Sets the one publisher (NULL: none). */
void batch_on_publish(struct batch *b, const struct batch_publisher *p, void *arg);
/* Frees a closed batch (NULL is fine). */
void batch_free(struct batch *b);

/* Opens the batch if it is not open yet: takes the write turn and begins
 * the transaction. Sets *writer to the writer; 0, or -1 with a sentence in
 * err when the batch cannot take writes. */
int batch_open(struct batch *b, struct store **writer, char *err, size_t errcap);

/* The writer, on which the open batch's writes run and which sees them. */
struct store *batch_writer(const struct batch *b);

/* The batch's change log (change.h): its writes append what they changed;
 * emptied when the batch ends. */
struct change_log *batch_changes(struct batch *b);

/* Whether the batch is open. */
int batch_is_open(const struct batch *b);

/* Notes that owner's reply bytes [start, end) were made inside the open
 * batch (wrote: by a write that changed the store), so they stand only if
 * the batch commits; until replies->settled(owner), the owner's replies
 * are not final and its reads must see its own writes (the front end
 * keeps that mark, which so implies that the batch is open). 1 when the
 * batch is not open (nothing to note). -1 when out of memory: the batch
 * is then broken and will roll back, and owner must be closed, since its
 * reply could not be rewritten. */
int batch_note(struct batch *b, void *owner, size_t start, size_t end, int wrote);

/* Marks the open batch as one that must roll back, not commit. */
void batch_break(struct batch *b);

/* Ends the pass's batch, if open: commits it and hands its change log to
 * the subscriber, or rolls it back and has each noted reply retracted.
 * Releases the write turn either way. */
void batch_end(struct batch *b);

#endif /* TODO_SERVER_BATCH_H */
