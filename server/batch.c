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
#include "conn.h"
#include "log.h"
#include "stats.h"
#include "store.h"
#include "todo/proto.h"

/* A reply made inside the batch. */
struct batch_rec {
    struct conn *c;
    size_t start, end; /* the reply's bytes in c->out */
};

/* The write batch of this pass: which replies were made inside it (the
 * writes, and the reads of connections whose own writes it holds), and so
 * stand only if it commits. */
struct batch {
    struct store_engine *engine;
    struct store *writer; /* the engine's, while open */
    struct stats_counters *counters;
    int open;
    int broken;
    struct batch_rec *rec;
    size_t n, cap;
    size_t writes;             /* of the n replies, those of writes that changed the store */
    struct change_log changes; /* what its writes changed (change.h) */
};

struct batch *batch_new(struct store_engine *engine, struct stats_counters *counters)
{
    struct batch *b = calloc(1, sizeof(*b));
    if (b == NULL)
        return NULL;
    b->engine = engine;
    b->counters = counters;
    change_log_init(&b->changes);
    return b;
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

int batch_holds(const struct batch *b, const struct conn *c)
{
    return b->open && c->batched;
}

int batch_note(struct batch *b, struct conn *c, size_t start, size_t end, int wrote)
{
    if (wrote)
        b->writes++;
    c->batched = 1;
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
    b->rec[b->n++] = (struct batch_rec){c, start, end};
    return 0;
}

void batch_break(struct batch *b)
{
    b->broken = 1;
}

/* Commits the pass's writes, or rolls them back and turns each of their
 * replies into ERR STORE. Releases the write turn either way. */
void batch_end(struct batch *b, void (*drop)(struct conn *c))
{
    char why[300];
    if (!b->open)
        return;
    if (write_end(b, why, sizeof(why))) {
        atomic_fetch_add_explicit(&b->counters->batches, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&b->counters->writes, b->writes, memory_order_relaxed);
    } else {
        struct proto_buf msg;
        proto_buf_init(&msg, 0);
        if (proto_reply_err(&msg, PROTO_E_STORE, why) != 0)
            msg.len = 0;
        /* Backwards, so a rewrite never moves a reply still to rewrite.
         * Reads made inside the batch are answered ERR STORE too, rather
         * than run again on committed data: they came after writes of the
         * same client that are now refused, and a client that pipelined a
         * write and a read of it is best told that neither happened (the
         * request lines are gone by now, too). */
        for (size_t i = b->n; i-- > 0;) {
            struct batch_rec *r = &b->rec[i];
            if (r->c->closing)
                continue;
            if (msg.len == 0 || conn_out_splice(r->c, r->start, r->end, msg.data, msg.len) != 0)
                drop(r->c);
        }
        proto_buf_free(&msg);
        atomic_fetch_add_explicit(&b->counters->errors, b->n, memory_order_relaxed);
        atomic_fetch_add_explicit(&b->counters->batch_failures, 1, memory_order_relaxed);
    }
    for (size_t i = 0; i < b->n; i++)
        b->rec[i].c->batched = 0;
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
