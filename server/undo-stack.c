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
