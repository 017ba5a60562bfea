/*
 * change.c - the change log of a write batch (change.h).
 */
#include "change.h"

#include <stdlib.h>
#include <string.h>

/* A log longer than this after a batch is freed rather than kept. */
#define CHANGE_KEEP 4096

/* Task text longer than this after a batch is freed rather than kept. */
#define CHANGE_TEXT_KEEP (256 * 1024)

void change_log_init(struct change_log *l)
{
    memset(l, 0, sizeof(*l));
    proto_buf_init(&l->text, 0);
}

void change_log_free(struct change_log *l)
{
    free(l->v);
    proto_buf_free(&l->text);
    change_log_init(l);
}

void change_log_clear(struct change_log *l)
{
    if (l->cap > CHANGE_KEEP)
        change_log_free(l);
    if (l->text.cap > CHANGE_TEXT_KEEP)
        proto_buf_free(&l->text);
    l->n = 0;
    l->lost = 0;
    l->text.len = 0;
}

int change_log_set_task(struct change_log *l, size_t i, const struct proto_task *t)
{
    struct change *c = &l->v[i];
    size_t old = l->text.len;
    if (proto_task_encode(&l->text, t) != 0)
        return -1;
    size_t line_len = l->text.len - old;
    if (t->tags.len > 0 && proto_buf_append(&l->text, t->tags.ptr, t->tags.len) != 0) {
        l->text.len = old;
        return -1;
    }
    c->has_task = 1;
    c->done = t->done != 0;
    c->line_off = old;
    c->line_len = line_len;
    c->tags_off = old + line_len;
    c->tags_len = t->tags.len;
    return 0;
}

void change_log_add(struct change_log *l, enum change_kind kind, enum proto_cmd cmd,
                    unsigned fields, struct proto_str list, struct proto_str id)
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
    c->existed = -1;
    c->has_task = 0;
    c->done = 0;
    memcpy(c->id, id.ptr, n);
    c->id[n] = '\0';
    n = list.len < PROTO_MAX_USER ? list.len : PROTO_MAX_USER;
    memcpy(c->list, list.ptr, n);
    c->list[n] = '\0';
}

void change_log_truncate(struct change_log *l, size_t mark)
{
    if (mark < l->n)
        l->n = mark;
}
