/*
 * store-sqlite.h - the SQLite engine's insides, shared by store-sqlite.c
 * (connections, statements, transactions) and store-sqlite-ckpt.c (the
 * checkpoint thread). Nothing outside those two files includes it.
 */
#ifndef TODO_SERVER_STORE_SQLITE_H
#define TODO_SERVER_STORE_SQLITE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "store-engine.h"
#include "store.h"
#include "undo-stack.h"

/* The change counter's slots (store.h): a power of two. Tasks that share
 * a slot are stale in the cache together when one of them changes, so
 * there are more slots than the default cache holds entries (about
 * 250,000, cache.h): 262,144 slots of 8 bytes, 2 MiB. With 16,384, each
 * EDIT among 100,000 tasks made 6 tasks' entries stale, and a 90/10 mix of
 * GET and EDIT kept 60 % hits (docs/PERFORMANCE.md, issue 15). */
#define CHANGE_SLOTS 262144

/* Connections: store_connect's roles, and the engine's own two. */
enum {
    ROLE_READ = STORE_ROLE_READ,
    ROLE_STREAM = STORE_ROLE_STREAM,
    ROLE_WRITER, /* the one that makes every write (store_write_begin) */
    ROLE_CKPT,   /* the checkpoint thread's */
};

/* The checkpoint thread and its hand-off with the workers
 * (store-sqlite-ckpt.c says how they work together). */
struct ckpt {
    pthread_t thread;
    /* Its connection, for sqlite_interrupt(). */
    struct store *store;
    int started;
    /* lock guards want and quit; mark (the WAL's size in frames when the
     * last checkpoint ran) is written by the thread only. */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int want, quit;
    /* running: 1 while the thread is in a checkpoint (SQLite lets one run
     * at a time), idle signalled when it leaves it; held: 1 while a worker
     * runs one (restart_wal), and the thread starts none. Under lock. */
    int running, held;
    pthread_cond_t idle;
    /* Set (under lock, idle signalled) once the thread has taken its low
     * priority: the engine is open only after that, as the server says it
     * is listening only once every worker is set up. */
    int ready;
    atomic_long mark;
    /* Set by the thread when the WAL has passed CKPT_HARD_FRAMES and should
     * start over; taken (exchanged for 0) by the worker that does it.
     * restart_forced: the WAL's size when a worker last did it without
     * being asked (CKPT_FORCE_FRAMES), so that it does so once. */
    atomic_int restart_due;
    atomic_long restart_forced;
};

struct store_engine {
    int kind;          /* STORE_KIND_SQLITE (store-engine.h): first */
    char *path;        /* as the caller gave it */
    const char *uri;   /* what SQLite opens: path, or memname */
    char memname[96];  /* ":memory:": the memdb database shared by e's connections */
    int mem;           /* path is ":memory:" */
    int durable;       /* synchronous=FULL */
    char describe[64]; /* store_engine_describe() */

    /* The one writer connection: every write batch runs on it, only while
     * write_lock is held, so its page cache stays warm. write_lock is
     * held from store_write_begin() to store_write_end() (and by a worker
     * for a checkpoint that must restart the WAL). SQLite allows one
     * writer anyway; taking the turn here, instead of spinning in SQLite's
     * busy handler (which sleeps in steps of up to 100 ms), hands the lock
     * over at once and keeps SQLITE_BUSY away from clients. */
    pthread_mutex_t write_lock;
    struct store *writer;
#ifdef TODO_FAULT_INJECTION
    /* enum store_fault, of those in the engine's own calls (tests only). */
    atomic_int fault;
#endif

    /* Frames in the WAL after the writer's last commit (its WAL hook). */
    atomic_long wal_frames;

    /* The change counter (store.h): commits counts the commits; slot[i]
     * is the number of the last commit that wrote a task whose id hashes
     * to i. Written by the writer under write_lock, read by anyone. */
    _Atomic uint64_t commits;
    _Atomic uint64_t slot[CHANGE_SLOTS];
    /* The slots the open transaction wrote to, each once (touched_bit),
     * published at its COMMIT; under write_lock. */
    uint32_t touched[CHANGE_SLOTS];
    size_t ntouched;
    unsigned char touched_bit[CHANGE_SLOTS / 8];

    /* UNDO's order of changes, a stack per list (undo-stack.h), the next
     * change number (tasks.ver), and the saves to undo_old since its last
     * trim; the writer's, under write_lock. */
    struct undo_shelf undo;
    int64_t undo_next;
    unsigned undo_saves;

    /* store_connect() connections open. */
    atomic_int conns;

    struct ckpt ckpt;
};

/* Opens a connection of e in one of the roles above. */
int sqlite_conn_open(struct store_engine *e, int role, struct store **out, char *err,
                     size_t errcap);
/* Frames in the WAL after the writer's last commit (0 without a WAL). */
long sqlite_wal_frames(struct store_engine *e);
/* A PASSIVE checkpoint through s (ends s's read transaction first): copies
 * what it can of the WAL into the database without waiting for anyone.
 * One that another checkpoint kept out, or that sqlite_interrupt()
 * stopped, did nothing and is not an error. */
int sqlite_checkpoint(struct store *s);
/* Makes s's checkpoint in progress, if any, stop soon (from any thread). */
void sqlite_interrupt(struct store *s);

/* The checkpoint thread (store-sqlite-ckpt.c): started by
 * store_engine_open() for a database file, stopped by
 * store_engine_close(). */
int ckpt_start(struct store_engine *e, char *err, size_t errcap);
void ckpt_stop(struct store_engine *e);

#endif /* TODO_SERVER_STORE_SQLITE_H */
