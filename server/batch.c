/*
 * batch.c - a worker's group-commit write batch (batch.h).
 *
 * Only the worker that owns a batch touches it. What it shares with the
 * other workers is the store's writer and its write turn: the writer is
 * used only while the turn is held, from store_write_begin() to
 * store_write_end().
 */
#include "batch.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "change.h"
#include "log.h"
#include "stats.h"
#include "store.h"

/* A reply made inside the batch. */
struct batch_rec {
    void *owner;
    size_t start, end; /* the reply's bytes, in the owner's output */
};

/* The write batch of this pass: which replies were made inside it (the
 * writes, and the reads of connections whose own writes it holds), and so
 * stand only if it commits. */
struct batch {
    struct store_engine *engine;
    struct store *writer; /* the engine's, while open */
    struct stats_counters *counters;
    const struct batch_replies *replies;
    batch_commit_fn on_commit;
    void *on_commit_arg;
    const struct batch_publisher *pub;
    void *pub_arg;
    int open;
    int broken;
    struct batch_rec *rec;
    size_t n, cap;
    size_t writes;             /* of the n replies, those of writes that changed the store */
    struct change_log changes; /* what its writes changed (change.h) */
};

struct batch *batch_new(struct store_engine *engine, struct stats_counters *counters,
                        const struct batch_replies *replies)
{
    struct batch *b = calloc(1, sizeof(*b));
    if (b == NULL)
        return NULL;
    b->engine = engine;
    b->counters = counters;
    b->replies = replies;
    change_log_init(&b->changes);
    return b;
}

void batch_on_commit(struct batch *b, batch_commit_fn fn, void *arg)
{
    b->on_commit = fn;
    b->on_commit_arg = arg;
}

void batch_on_publish(struct batch *b, const struct batch_publisher *p, void *arg)
{
    b->pub = p;
    b->pub_arg = arg;
}

void batch_free(struct batch *b)
{
    if (b == NULL)
        return;
    free(b->rec);
    change_log_free(&b->changes);
    free(b);
}

/* Commits the transaction, unless the batch is broken, or rolls it back;
 * releases the write turn either way. 1 committed; 0 rolled back, with the
 * reason for the clients in why. */
static int write_end(struct batch *b, char *why, size_t cap)
{
    char err[256];
    int rc = store_write_end(b->engine, !b->broken, err, sizeof(err));
    if (rc == STORE_OK && !b->broken)
        return 1;
    snprintf(why, cap, "the write was not saved: %s",
             b->broken ? "a write could not be undone on its own" : err);
    log_error("write batch of %zu commands rolled back: %s", b->writes, why);
    return 0;
}

int batch_open(struct batch *b, struct store **writer, char *err, size_t errcap)
{
    if (b->open) {
        *writer = b->writer;
        /* A batch that went wrong, or whose transaction the store ended on
         * its own, takes no more writes: they could otherwise run (and
         * commit) outside it. The pass's writes all get ERR STORE. */
        if (b->broken || !store_write_ok(b->writer)) {
            b->broken = 1;
            snprintf(err, errcap, "%s", store_errmsg(b->writer));
            return -1;
        }
        return 0;
    }
    /* The store's write turn, taken here rather than spinning in the
     * engine's busy handler: see store_write_begin (store.h). */
    if (store_write_begin(b->engine, &b->writer, err, errcap) != STORE_OK) {
        b->writer = NULL;
        *writer = NULL;
        return -1;
    }
    *writer = b->writer;
    b->open = 1;
    return 0;
}

struct store *batch_writer(const struct batch *b)
{
    return b->writer;
}

struct change_log *batch_changes(struct batch *b)
{
    return &b->changes;
}

int batch_is_open(const struct batch *b)
{
    return b->open;
}

int batch_note(struct batch *b, void *owner, size_t start, size_t end, int wrote)
{
    if (!b->open)
        return 1;
    if (wrote)
        b->writes++;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        struct batch_rec *r = realloc(b->rec, cap * sizeof(*r));
        if (r == NULL) {
            /* This reply could not be rewritten if the commit failed, so
             * it must never be sent: roll the batch back and drop c. */
            log_error("out of memory recording a write; rolling the batch back");
            b->broken = 1;
            return -1;
        }
        b->rec = r;
        b->cap = cap;
    }
    b->rec[b->n++] = (struct batch_rec){owner, start, end};
    return 0;
}

void batch_break(struct batch *b)
{
    b->broken = 1;
}

/* Commits the pass's writes, or rolls them back and has each of their
 * replies taken back. Releases the write turn either way. */
void batch_end(struct batch *b)
{
    char why[300];
    if (!b->open)
        return;
    /* A broken batch rolls back: it has nothing to publish. */
    int published = b->pub != NULL && !b->broken;
    if (published)
        b->pub->prepare(b->pub_arg, &b->changes, b->writer);
    int committed = write_end(b, why, sizeof(why));
    if (published)
        b->pub->settle(b->pub_arg, committed);
    if (committed) {
        atomic_fetch_add_explicit(&b->counters->batches, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&b->counters->writes, b->writes, memory_order_relaxed);
        /* An incomplete log would tell a subscriber less than happened;
         * saying so is all it can do (the writes are committed). */
        if (b->changes.lost)
            log_error("out of memory recording what a batch of %zu writes changed", b->writes);
        if (b->on_commit != NULL)
            b->on_commit(b->on_commit_arg, &b->changes);
    } else {
        /* Backwards, so a rewrite never moves a reply still to rewrite.
         * Reads made inside the batch are answered ERR STORE too, rather
         * than run again on committed data: they came after writes of the
         * same client that are now refused, and a client that pipelined a
         * write and a read of it is best told that neither happened (the
         * request lines are gone by now, too). */
        for (size_t i = b->n; i-- > 0;) {
            struct batch_rec *r = &b->rec[i];
            if (b->replies->retract(r->owner, r->start, r->end, why) != 0)
                b->replies->drop(r->owner);
        }
        atomic_fetch_add_explicit(&b->counters->errors, b->n, memory_order_relaxed);
        atomic_fetch_add_explicit(&b->counters->batch_failures, 1, memory_order_relaxed);
    }
    for (size_t i = 0; i < b->n; i++)
        b->replies->settled(b->rec[i].owner);
    change_log_clear(&b->changes);
    b->open = 0;
    b->writer = NULL;
    b->broken = 0;
    b->n = 0;
    b->writes = 0;
    if (b->cap > 4096) {
        free(b->rec);
        b->rec = NULL;
        b->cap = 0;
    }
}
