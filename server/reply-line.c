/*
 * reply-line.c - results (result.h) as the line protocol's replies, and as
 * the tutorial's bare lines.
 *
 * A list is made in the scratch buffer, since "DATA n" must say how many
 * lines follow before the first of them; end() then appends both to the
 * output at once.
 */
#include "reply-line.h"

#include <stdio.h>
#include <string.h>

/* A list's lines are kept until this size; a bigger scratch buffer left
 * by one LIST is given back rather than kept for the next PING. */
#define SCRATCH_KEEP (256 * 1024)

static struct line_sink *of(struct result_sink *k)
{
    return (struct line_sink *)k;
}

static void scratch_empty(struct line_sink *s)
{
    if (s->scratch->cap > SCRATCH_KEEP) {
        size_t max = s->scratch->max;
        proto_buf_free(s->scratch);
        proto_buf_init(s->scratch, max);
    }
    s->scratch->len = 0;
    s->n = 0;
}

static int line_ok(struct result_sink *k, const char *text)
{
    return proto_reply_ok(of(k)->out, text);
}

static int line_id(struct result_sink *k, const char *outcome, struct proto_str id)
{
    struct line_sink *s = of(k);
    if (s->legacy) /* the tutorial's POST/ made or replaced the task */
        return proto_reply_bare(s->out, "submit success", 14);
    char text[PROTO_MAX_ID + 32];
    size_t n = id.len < PROTO_MAX_ID ? id.len : PROTO_MAX_ID;
    if (outcome != NULL)
        snprintf(text, sizeof(text), "%s %.*s", outcome, (int)n, id.ptr);
    else {
        memcpy(text, id.ptr, n);
        text[n] = '\0';
    }
    return proto_reply_ok(s->out, text);
}

static int line_error(struct result_sink *k, enum proto_err e, const char *msg)
{
    struct line_sink *s = of(k);
    /* The tutorial's GET/ of a key that does not exist. */
    if (s->legacy && e == PROTO_E_NOTFOUND)
        return proto_reply_bare(s->out, "no key match", 12);
    if (s->errors != NULL)
        atomic_fetch_add_explicit(s->errors, 1, memory_order_relaxed);
    return proto_reply_err(s->out, e, msg);
}

static int line_begin(struct result_sink *k, enum result_list kind)
{
    (void)kind;
    scratch_empty(of(k));
    return 0;
}

static int grew(struct line_sink *s, int rc)
{
    if (rc == 0) {
        s->n++;
        s->base.list_bytes = s->scratch->len;
    }
    return rc;
}

static int line_task(struct result_sink *k, const struct proto_task *t)
{
    struct line_sink *s = of(k);
    /* The tutorial's GET/ answers the bare text of the one task. */
    if (s->legacy)
        return grew(s, proto_reply_bare(s->scratch, t->text.ptr, t->text.len));
    return grew(s, proto_task_encode(s->scratch, t));
}

static int line_pair(struct result_sink *k, struct proto_str key, struct proto_str value)
{
    struct proto_str f[2] = {key, value};
    return grew(of(k), proto_reply_fields(of(k)->scratch, f, 2));
}

/* One HELP line: NAME "usage" "summary", both always quoted so that the
 * line has three fields even when the usage is empty. */
static int line_command(struct result_sink *k, const struct proto_cmd_info *c)
{
    struct proto_buf *b = of(k)->scratch;
    size_t old = b->len;
    if (proto_buf_append(b, c->name, strlen(c->name)) < 0 || proto_buf_append(b, " ", 1) < 0 ||
        proto_quote_append(b, c->usage, strlen(c->usage), 1) < 0 ||
        proto_buf_append(b, " ", 1) < 0 ||
        proto_quote_append(b, c->summary, strlen(c->summary), 1) < 0 ||
        proto_buf_append(b, "\r\n", 2) < 0) {
        b->len = old;
        return -1;
    }
    return grew(of(k), 0);
}

static int line_end(struct result_sink *k)
{
    struct line_sink *s = of(k);
    int rc = 0;
    if (!s->legacy)
        rc = proto_reply_data(s->out, s->n);
    if (rc == 0)
        rc = proto_buf_append(s->out, s->scratch->data, s->scratch->len);
    scratch_empty(s);
    return rc;
}

static void line_drop(struct result_sink *k)
{
    scratch_empty(of(k));
}

static size_t line_mark(struct result_sink *k)
{
    return of(k)->out->len;
}

static int line_since(struct result_sink *k, size_t mark, const char **p, size_t *n)
{
    struct proto_buf *out = of(k)->out;
    if (mark > out->len)
        return -1;
    *p = out->data + mark;
    *n = out->len - mark;
    return 0;
}

static int line_raw(struct result_sink *k, const char *p, size_t n)
{
    return proto_buf_append(of(k)->out, p, n);
}

const struct result_sink_ops reply_line_ops = {
    .ok = line_ok,
    .id = line_id,
    .error = line_error,
    .begin = line_begin,
    .task = line_task,
    .pair = line_pair,
    .command = line_command,
    .end = line_end,
    .drop = line_drop,
    .mark = line_mark,
    .since = line_since,
    .raw = line_raw,
};
