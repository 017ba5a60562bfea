/*
 * store.h - where tasks are kept. One struct store is one connection to the
 * storage engine; it is used by one thread at a time (a worker's own store
 * by that worker only; the writer store by whichever thread holds the
 * server's write lock). Today's engine is SQLite (store-sqlite.c).
 *
 * Writes happen between store_begin() and store_commit(); each write may be
 * wrapped in a savepoint so that a failing one is undone alone.
 */
#ifndef TODO_SERVER_STORE_H
#define TODO_SERVER_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "todo/proto.h"

struct store;

enum store_rc {
    STORE_OK = 0,
    STORE_NOTFOUND = 1, /* no task with that id */
    STORE_LIMIT = 2,    /* the change would give a task more than PROTO_MAX_TAGS tags */
    STORE_STOPPED = 3,  /* a callback asked to stop */
    STORE_EXISTS = 4,   /* IMPORT fail: a task with that id exists */
    STORE_ERROR = -1    /* the engine failed; store_errmsg() says why */
};

struct store_options {
    const char *path; /* a file, or ":memory:" for a store that keeps nothing */
    int sync_full;    /* make every commit durable against power loss */
    int busy_ms;      /* how long to wait for another process's lock */
    /* The one connection that makes every write (the server's, used under
     * its write lock): SQLite's automatic checkpoints are off on it, and
     * store_wal_frames() follows its commits; checkpoints are run with
     * store_checkpoint() instead. */
    int writer;
};

/* Opens the store, creating it or upgrading its schema when needed.
 * STORE_OK, or STORE_ERROR with a sentence in err (e.g. a database made by
 * a newer server). */
int store_open(struct store **out, const struct store_options *o, char *err, size_t errcap);
void store_close(struct store *s);
/* Sets the page cache of s to kib KiB (SQLite's default is 2 MiB). */
int store_set_cache(struct store *s, int kib);
/* The last error, as a sentence; valid until the next call on s. */
const char *store_errmsg(struct store *s);

/* Transactions: begin takes the write lock at once (so a busy database is
 * seen here, not half-way through a batch). */
int store_begin(struct store *s);
/* Commit and rollback also bump the store's generation (see below). */
int store_commit(struct store *s);
int store_rollback(struct store *s);

/* Reads (get, list, tags, count) outside a write transaction share one
 * read transaction, opened by the first of them, until store_read_end().
 * Call it before waiting for anything: an open snapshot keeps checkpoints
 * from finishing and the WAL from being reused. store_begin() ends it too. */
void store_read_end(struct store *s);

/* The generation: a counter shared by all connections of this process,
 * bumped after every commit or rollback of a write transaction. An answer
 * read in a snapshot is current for as long as store_generation() still
 * equals the store_read_generation() of that snapshot. */
unsigned long store_generation(void);
/* Opens s's read transaction if none is open (outside a write transaction)
 * and returns the generation loaded just before its snapshot was taken. */
unsigned long store_read_generation(struct store *s);

/* Frames in the WAL after the writer connection's last commit (0 for a
 * store without a WAL). */
long store_wal_frames(void);
/* A PASSIVE checkpoint through s (ends s's read transaction first): copies
 * what it can of the WAL into the database without waiting for anyone.
 * One that another checkpoint kept out, or that store_interrupt() stopped,
 * did nothing and is not an error. */
int store_checkpoint(struct store *s);
/* Makes s's checkpoint in progress, if any, stop soon (from any thread). */
void store_interrupt(struct store *s);
/* 1 while a transaction is open. SQLite may end one by itself after some
 * errors (disk full, I/O error), which the batching code must notice. */
int store_in_transaction(struct store *s);
/* One savepoint at a time, inside a transaction. A write that fails may
 * have made part of its change: roll back to the savepoint to undo it. */
int store_savepoint(struct store *s);
int store_release(struct store *s);
int store_rollback_to(struct store *s);

/* Called for each task (or tag) found; its strings live until it returns.
 * Return nonzero to stop: the store call then returns STORE_STOPPED. */
typedef int (*store_task_fn)(void *arg, const struct proto_task *t);
typedef int (*store_tag_fn)(void *arg, struct proto_str tag, int64_t count);

/* ADD: text, tags, pri, due from req. The new id (a decimal number never
 * handed out before) is written to id. */
int store_add(struct store *s, const struct proto_request *req, int64_t now,
              char id[PROTO_MAX_ID + 1]);
/* IMPORT: the task of req (id, text, done, pri, due, tags, created and
 * updated, PROTO_TIME_NOW meaning now) as it was exported. When the id
 * exists, req->import_mode decides: skip it (STORE_OK, outcome SKIPPED),
 * replace the whole task, or STORE_EXISTS. A decimal id such as ADD makes
 * moves ADD's counter past it, so that ADD never collides with it. */
enum { STORE_IMPORT_ADDED = 0, STORE_IMPORT_SKIPPED, STORE_IMPORT_REPLACED };
int store_import(struct store *s, const struct proto_request *req, int64_t now, int *outcome);
int store_get(struct store *s, struct proto_str id, store_task_fn fn, void *arg);
/* EDIT: the changes in req (has_text/text, pri unless PROTO_PRI_KEEP,
 * due_op/due, tags to add, untags to remove). */
int store_edit(struct store *s, const struct proto_request *req, int64_t now);
int store_set_done(struct store *s, struct proto_str id, int done, int64_t now);
int store_del(struct store *s, struct proto_str id);
/* LIST: req's filter, tags (all must match) and words (each must be in the
 * text as a word, see proto_text_has_words), ordered by creation. */
int store_list(struct store *s, const struct proto_request *req, store_task_fn fn, void *arg);
/* LIST a slice at a time: the tasks store_list would hand out, in its
 * order, from the read transaction open (or opened) on s, over as many
 * calls as the caller likes; while the cursor is open, s runs nothing
 * else. A store has one cursor: opening another closes the first.
 * count steps through up to max more rows without handing them out, adds
 * them to *n and sets *done at the end; rewind goes back to the first row
 * (same snapshot, so count and the rows agree); next hands rows to fn
 * until fn returns nonzero (STORE_STOPPED: the row was handed out, the
 * next call goes on after it) or the end (STORE_OK). close ends the
 * cursor, not the read transaction (store_read_end does). */
struct store_cursor;
int store_cursor_open(struct store *s, const struct proto_request *req, struct store_cursor **out);
int store_cursor_count(struct store_cursor *k, size_t max, size_t *n, int *done);
void store_cursor_rewind(struct store_cursor *k);
int store_cursor_next(struct store_cursor *k, store_task_fn fn, void *arg);
void store_cursor_close(struct store_cursor *k);
/* As many tasks as the cursor's list can have, when that is known cheaply
 * (LIST with tags: the first tag's tasks), else -1. */
long long store_cursor_most(const struct store_cursor *k);
/* Every tag in use with the number of tasks that carry it, by name. */
int store_tags(struct store *s, store_tag_fn fn, void *arg);
int store_count(struct store *s, int64_t *n);
/* The tutorial's POST: sets the text of id, creating the task if needed. */
int store_put(struct store *s, struct proto_str id, struct proto_str text, int64_t now);

#endif /* TODO_SERVER_STORE_H */
