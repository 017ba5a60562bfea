/*
 * change.c - the change log of a write batch (change.h).
 */
#include "change.h"

#include <stdlib.h>
#include <string.h>

/* A log longer than this after a batch is freed rather than kept. */
#define CHANGE_KEEP 4096

void change_log_init(struct change_log *l)
{
    memset(l, 0, sizeof(*l));
}

void change_log_free(struct change_log *l)
{
    free(l->v);
    change_log_init(l);
}

void change_log_clear(struct change_log *l)
{
    if (l->cap > CHANGE_KEEP)
        change_log_free(l);
    l->n = 0;
    l->lost = 0;
}

void change_log_add(struct change_log *l, enum change_kind kind, enum proto_cmd cmd,
                    unsigned fields, struct proto_str id)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        struct change *v = realloc(l->v, cap * sizeof(*v));
        if (v == NULL) {
            l->lost = 1;
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    struct change *c = &l->v[l->n++];
    size_t n = id.len < PROTO_MAX_ID ? id.len : PROTO_MAX_ID;
    c->kind = kind;
    c->cmd = cmd;
    c->fields = fields;
    memcpy(c->id, id.ptr, n);
    c->id[n] = '\0';
}

void change_log_truncate(struct change_log *l, size_t mark)
{
    if (mark < l->n)
        l->n = mark;
}
