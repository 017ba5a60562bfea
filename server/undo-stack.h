/*
 * undo-stack.h - the newest changes UNDO may take back, in memory.
 *
 * The SQLite engine keeps each change's before-image in the store (in the
 * task's own row, or in undo_old once a later change pushes it out), so
 * that recording a change costs no statement of its own; what it does not
 * keep in the store is the order of the changes across tasks, which this
 * stack holds: the newest STORE_UNDO_DEPTH changes, each as (seq, kind,
 * task id). The engine rebuilds it from the store when it opens.
 *
 * The stack follows the engine's transaction: every push and pop is
 * journaled, and undo_stack_rollback() takes back those made after a mark
 * (a savepoint, or the transaction's beginning), so that a write rolled
 * back leaves no entry and an UNDO rolled back leaves its entry in place.
 * undo_stack_commit() forgets the journal. Used under the engine's write
 * turn only: no lock of its own.
 */
#ifndef TODO_SERVER_UNDO_STACK_H
#define TODO_SERVER_UNDO_STACK_H

#include <stddef.h>
#include <stdint.h>

#include "todo/proto.h"

#define UNDO_STACK_DEPTH 100

struct undo_ent {
    int64_t seq;   /* the change's number: the task row's ver after it */
    int64_t kind;  /* STORE_UNDO_* (store-sqlite.c), with an import's run above 3 bits */
    uint32_t hash; /* of id */
    char id[PROTO_MAX_ID + 1];
};

/* Buckets of the ids' hashes: undo_stack_find() asks it of every write,
 * so a task the stack does not hold (the usual case) is told in a look-up
 * rather than a scan of the stack. */
#define UNDO_STACK_BUCKETS 1024

struct undo_op;

struct undo_stack {
    struct undo_ent ring[UNDO_STACK_DEPTH];
    size_t head;                            /* where the next push goes */
    size_t n;                               /* entries held, at most UNDO_STACK_DEPTH */
    unsigned char held[UNDO_STACK_BUCKETS]; /* entries held per bucket of hash */
    struct undo_op *journal;
    size_t jn, jcap;
};

void undo_stack_init(struct undo_stack *st);
void undo_stack_free(struct undo_stack *st);

/* Pushes a change; the oldest entry goes when the stack is full. 0, or -1
 * when the journal cannot grow (no memory: the caller fails the write). */
int undo_stack_push(struct undo_stack *st, int64_t seq, int64_t kind, struct proto_str id);
/* The newest entry, NULL when empty. */
const struct undo_ent *undo_stack_top(const struct undo_stack *st);
/* Removes the newest entry (there must be one). 0, or -1 as push. */
int undo_stack_pop(struct undo_stack *st);
/* The newest entry of task id, NULL if none is held. */
const struct undo_ent *undo_stack_find(const struct undo_stack *st, struct proto_str id);

/* Makes room in the journal for n more pushes or pops, so that they
 * cannot fail: 0, or -1 when out of memory. */
int undo_stack_reserve(struct undo_stack *st, size_t n);

/* A mark of the journal, for undo_stack_rollback(). */
size_t undo_stack_mark(const struct undo_stack *st);
/* Takes back every push and pop made after mark. */
void undo_stack_rollback(struct undo_stack *st, size_t mark);
/* The transaction committed: what it did stays; the journal is emptied. */
void undo_stack_commit(struct undo_stack *st);
/* The journal's first mark records committed: what they did stays and
 * only the later ones can still be taken back, from marks mark less
 * than before (a second transaction begun while the first commits). */
void undo_stack_commit_upto(struct undo_stack *st, size_t mark);

/*
 * The stacks of every list (store.h's store_scope): each list's newest
 * UNDO_STACK_DEPTH changes are its own, whatever other lists do. A stack
 * is made the first time its list writes, and found by name in a hash
 * table. The shelf remembers which stacks a transaction used, so that
 * undo_shelf_commit() and undo_shelf_rollback() cost those stacks, not
 * every list's. Under the engine's write turn only, as the stacks.
 *
 * A transaction may be held (undo_shelf_hold): its COMMIT is on its way
 * while the next transaction runs on top of it. Its records stay in the
 * journals, below the next one's, until undo_shelf_settle() says how it
 * ended; undo_shelf_rollback() meanwhile takes back the open
 * transaction's records only.
 */
#define UNDO_SHELF_NAME 64 /* bytes of a list's name: STORE_MAX_LIST */

struct undo_shelf_ent {
    char name[UNDO_SHELF_NAME + 1];
    size_t len;
    int used;    /* in the shelf's used list: the open transaction touched it */
    size_t held; /* journal records of the held transaction, at the bottom */
    struct undo_stack st;
};

struct undo_shelf {
    struct undo_shelf_ent **slot; /* open addressing, cap a power of two */
    size_t n, cap;
    struct undo_shelf_ent **used; /* those the open (or held) transaction touched */
    size_t nused, capused;
    int holding; /* a transaction is held */
};

void undo_shelf_init(struct undo_shelf *sh);
void undo_shelf_free(struct undo_shelf *sh);
/* The stack of list, made (empty) if it has none yet, and counted as used
 * by the open transaction; NULL when out of memory or the name is longer
 * than UNDO_SHELF_NAME. */
struct undo_stack *undo_shelf_use(struct undo_shelf *sh, struct proto_str list);
/* The stack of list if it has one, else NULL; not counted as used. */
struct undo_stack *undo_shelf_find(struct undo_shelf *sh, struct proto_str list);
/* undo_stack_commit / undo_stack_rollback(st, 0) of every stack the open
 * transaction used; it then has used none. */
void undo_shelf_commit(struct undo_shelf *sh);
void undo_shelf_rollback(struct undo_shelf *sh);
/* The open transaction's COMMIT goes out: it is held until settled, and a
 * new one opens above it. There must be none held already. */
void undo_shelf_hold(struct undo_shelf *sh);
/* How the held transaction ended: committed, its records stay; or not,
 * and every record goes, the open transaction's too (it ran on what the
 * held one did, and must roll back as well). */
void undo_shelf_settle(struct undo_shelf *sh, int committed);

#endif /* TODO_SERVER_UNDO_STACK_H */
