/*
 * undo-stack.c - the newest changes UNDO may take back (undo-stack.h).
 */
#include "undo-stack.h"

#include <stdlib.h>
#include <string.h>

/* A journal record: what a push or pop changed, enough to take it back. */
struct undo_op {
    int pop;             /* 1: a pop (ent is what it removed); 0: a push */
    int dropped;         /* a push into a full stack dropped the oldest: ent is it */
    struct undo_ent ent; /* see above */
};

/* FNV-1a: ids are short, and this only has to spread them. */
static uint32_t id_hash(struct proto_str id)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < id.len; i++)
        h = (h ^ (unsigned char)id.ptr[i]) * 16777619u;
    return h;
}

static void held_add(struct undo_stack *st, const struct undo_ent *e, int d)
{
    st->held[e->hash % UNDO_STACK_BUCKETS] =
        (unsigned char)(st->held[e->hash % UNDO_STACK_BUCKETS] + d);
}

void undo_stack_init(struct undo_stack *st)
{
    memset(st, 0, sizeof(*st));
}

void undo_stack_free(struct undo_stack *st)
{
    free(st->journal);
    undo_stack_init(st);
}

static struct undo_op *journal_add(struct undo_stack *st)
{
    if (st->jn == st->jcap) {
        size_t cap = st->jcap ? st->jcap * 2 : 64;
        struct undo_op *j = realloc(st->journal, cap * sizeof(*j));
        if (j == NULL)
            return NULL;
        st->journal = j;
        st->jcap = cap;
    }
    struct undo_op *op = &st->journal[st->jn++];
    memset(op, 0, sizeof(*op));
    return op;
}

int undo_stack_push(struct undo_stack *st, int64_t seq, int64_t kind, struct proto_str id)
{
    struct undo_op *op = journal_add(st);
    if (op == NULL)
        return -1;
    struct undo_ent *e = &st->ring[st->head];
    if (st->n == UNDO_STACK_DEPTH) {
        op->dropped = 1;
        op->ent = *e;
        held_add(st, e, -1);
    } else {
        st->n++;
    }
    e->seq = seq;
    e->kind = kind;
    e->hash = id_hash(id);
    held_add(st, e, 1);
    size_t len = id.len < PROTO_MAX_ID ? id.len : PROTO_MAX_ID;
    memcpy(e->id, id.ptr, len);
    e->id[len] = '\0';
    st->head = (st->head + 1) % UNDO_STACK_DEPTH;
    return 0;
}

const struct undo_ent *undo_stack_top(const struct undo_stack *st)
{
    if (st->n == 0)
        return NULL;
    return &st->ring[(st->head + UNDO_STACK_DEPTH - 1) % UNDO_STACK_DEPTH];
}

int undo_stack_pop(struct undo_stack *st)
{
    struct undo_op *op = journal_add(st);
    if (op == NULL)
        return -1;
    op->pop = 1;
    st->head = (st->head + UNDO_STACK_DEPTH - 1) % UNDO_STACK_DEPTH;
    op->ent = st->ring[st->head];
    held_add(st, &op->ent, -1);
    st->n--;
    return 0;
}

const struct undo_ent *undo_stack_find(const struct undo_stack *st, struct proto_str id)
{
    uint32_t h = id_hash(id);
    if (st->held[h % UNDO_STACK_BUCKETS] == 0)
        return NULL;
    size_t i = st->head;
    for (size_t k = 0; k < st->n; k++) {
        i = (i + UNDO_STACK_DEPTH - 1) % UNDO_STACK_DEPTH;
        const struct undo_ent *e = &st->ring[i];
        if (e->hash == h && strlen(e->id) == id.len && memcmp(e->id, id.ptr, id.len) == 0)
            return e;
    }
    return NULL;
}

size_t undo_stack_mark(const struct undo_stack *st)
{
    return st->jn;
}

void undo_stack_rollback(struct undo_stack *st, size_t mark)
{
    while (st->jn > mark) {
        const struct undo_op *op = &st->journal[--st->jn];
        if (op->pop) {
            st->ring[st->head] = op->ent;
            held_add(st, &op->ent, 1);
            st->head = (st->head + 1) % UNDO_STACK_DEPTH;
            st->n++;
        } else {
            st->head = (st->head + UNDO_STACK_DEPTH - 1) % UNDO_STACK_DEPTH;
            held_add(st, &st->ring[st->head], -1);
            if (op->dropped) {
                st->ring[st->head] = op->ent;
                held_add(st, &op->ent, 1);
            } else {
                st->n--;
            }
        }
    }
}

void undo_stack_commit(struct undo_stack *st)
{
    st->jn = 0;
}

void undo_stack_commit_upto(struct undo_stack *st, size_t mark)
{
    if (mark >= st->jn) {
        st->jn = 0;
        return;
    }
    memmove(st->journal, st->journal + mark, (st->jn - mark) * sizeof(*st->journal));
    st->jn -= mark;
}

int undo_stack_reserve(struct undo_stack *st, size_t n)
{
    if (st->jcap - st->jn >= n)
        return 0;
    size_t cap = st->jcap ? st->jcap : 64;
    while (cap - st->jn < n)
        cap *= 2;
    struct undo_op *j = realloc(st->journal, cap * sizeof(*j));
    if (j == NULL)
        return -1;
    st->journal = j;
    st->jcap = cap;
    return 0;
}

/* ---- the shelf: one stack per list ---- */

void undo_shelf_init(struct undo_shelf *sh)
{
    memset(sh, 0, sizeof(*sh));
}

void undo_shelf_free(struct undo_shelf *sh)
{
    for (size_t i = 0; i < sh->cap; i++) {
        if (sh->slot[i] != NULL) {
            undo_stack_free(&sh->slot[i]->st);
            free(sh->slot[i]);
        }
    }
    free(sh->slot);
    free(sh->used);
    undo_shelf_init(sh);
}

/* The slot where list is, or the empty one where it would go. */
static size_t shelf_slot(const struct undo_shelf *sh, struct proto_str list)
{
    size_t i = id_hash(list) & (sh->cap - 1);
    while (sh->slot[i] != NULL &&
           !(sh->slot[i]->len == list.len && memcmp(sh->slot[i]->name, list.ptr, list.len) == 0))
        i = (i + 1) & (sh->cap - 1);
    return i;
}

struct undo_stack *undo_shelf_find(struct undo_shelf *sh, struct proto_str list)
{
    if (sh->cap == 0)
        return NULL;
    struct undo_shelf_ent *e = sh->slot[shelf_slot(sh, list)];
    return e != NULL ? &e->st : NULL;
}

/* Doubles the table (or makes its first): 0, or -1 out of memory. */
static int shelf_grow(struct undo_shelf *sh)
{
    size_t cap = sh->cap ? sh->cap * 2 : 16;
    struct undo_shelf_ent **slot = calloc(cap, sizeof(*slot));
    if (slot == NULL)
        return -1;
    struct undo_shelf old = *sh;
    sh->slot = slot;
    sh->cap = cap;
    for (size_t i = 0; i < old.cap; i++) {
        if (old.slot[i] != NULL) {
            struct proto_str name = {old.slot[i]->name, old.slot[i]->len};
            sh->slot[shelf_slot(sh, name)] = old.slot[i];
        }
    }
    free(old.slot);
    return 0;
}

struct undo_stack *undo_shelf_use(struct undo_shelf *sh, struct proto_str list)
{
    if (list.len > UNDO_SHELF_NAME)
        return NULL;
    struct undo_shelf_ent *e = sh->cap ? sh->slot[shelf_slot(sh, list)] : NULL;
    if (e != NULL && e->used)
        return &e->st; /* the usual case: nothing to allocate */
    /* Room in the used list first, so that nothing below fails half-way. */
    if (sh->nused == sh->capused) {
        size_t cap = sh->capused ? sh->capused * 2 : 8;
        struct undo_shelf_ent **u = realloc(sh->used, cap * sizeof(*u));
        if (u == NULL)
            return NULL;
        sh->used = u;
        sh->capused = cap;
    }
    if (e == NULL) {
        /* At most three quarters full, so that probes stay short. */
        if ((sh->n + 1) * 4 > sh->cap * 3 && shelf_grow(sh) != 0)
            return NULL;
        e = calloc(1, sizeof(*e));
        if (e == NULL)
            return NULL;
        memcpy(e->name, list.ptr, list.len);
        e->len = list.len;
        undo_stack_init(&e->st);
        sh->slot[shelf_slot(sh, list)] = e;
        sh->n++;
    }
    e->used = 1;
    sh->used[sh->nused++] = e;
    return &e->st;
}

void undo_shelf_commit(struct undo_shelf *sh)
{
    for (size_t i = 0; i < sh->nused; i++) {
        undo_stack_commit(&sh->used[i]->st);
        sh->used[i]->used = 0;
        sh->used[i]->held = 0;
    }
    sh->nused = 0;
    sh->holding = 0;
}

/* Keeps in the used list only the stacks whose journal still holds
 * records (of a held transaction). */
static void shelf_prune(struct undo_shelf *sh)
{
    size_t k = 0;
    for (size_t i = 0; i < sh->nused; i++) {
        if (sh->used[i]->st.jn > 0)
            sh->used[k++] = sh->used[i];
        else
            sh->used[i]->used = 0;
    }
    sh->nused = k;
}

void undo_shelf_rollback(struct undo_shelf *sh)
{
    for (size_t i = 0; i < sh->nused; i++)
        undo_stack_rollback(&sh->used[i]->st, sh->used[i]->held);
    shelf_prune(sh);
}

void undo_shelf_hold(struct undo_shelf *sh)
{
    for (size_t i = 0; i < sh->nused; i++)
        sh->used[i]->held = sh->used[i]->st.jn;
    sh->holding = 1;
}

void undo_shelf_settle(struct undo_shelf *sh, int committed)
{
    if (!sh->holding)
        return;
    for (size_t i = 0; i < sh->nused; i++) {
        struct undo_shelf_ent *e = sh->used[i];
        if (committed)
            undo_stack_commit_upto(&e->st, e->held);
        else
            undo_stack_rollback(&e->st, 0);
        e->held = 0;
    }
    sh->holding = 0;
    shelf_prune(sh);
}
