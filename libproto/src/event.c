/*
 * event.c - the event lines a watching connection is sent (WATCH): the
 * decoder the client uses and the encoder the server uses, so that both
 * ends share one reading of the line.
 */
#include <stdio.h>
#include <string.h>

#include "proto-internal.h"

static const char *const kind_names[] = {
    [PROTO_EVENT_ADD] = "add",   [PROTO_EVENT_EDIT] = "edit",
    [PROTO_EVENT_DONE] = "done", [PROTO_EVENT_UNDONE] = "undone",
    [PROTO_EVENT_DEL] = "del",   [PROTO_EVENT_OVERFLOW] = "overflow",
};

const char *proto_event_kind_name(int kind)
{
    if (kind < PROTO_EVENT_ADD || kind > PROTO_EVENT_OVERFLOW)
        return "?";
    return kind_names[kind];
}

/* The sequence number: 1 to 20 digits, no leading zero (so that one
 * number has one spelling), at most UINT64_MAX. 0 on success. */
static int parse_seq(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0 || n > 20 || (s[0] == '0' && n > 1))
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* The end of the word starting at from: the next space, or the line's end. */
static size_t word_end(const char *line, size_t len, size_t from)
{
    const char *sp = from < len ? memchr(line + from, ' ', len - from) : NULL;
    return sp ? (size_t)(sp - line) : len;
}

enum proto_err proto_event_decode(const char *line, size_t len, char *scratch, size_t scratch_cap,
                                  struct proto_event *ev, char *err, size_t errcap)
{
    char why[160], shown[64];

    memset(ev, 0, sizeof *ev);
    if (err != NULL && errcap > 0)
        err[0] = '\0';
    if (len < 6 || memcmp(line, "EVENT ", 6) != 0) {
        proto__errf(err, errcap, "bad event: the line does not start with 'EVENT '");
        return PROTO_E_SYNTAX;
    }
    if (proto__eq(line + 6, len - 6, "overflow")) {
        ev->kind = PROTO_EVENT_OVERFLOW;
        return PROTO_E_NONE;
    }

    size_t seq_end = word_end(line, len, 6);
    if (parse_seq(line + 6, seq_end - 6, &ev->seq) != 0) {
        proto__snippet(shown, sizeof shown, line + 6, seq_end - 6, 24);
        proto__errf(err, errcap,
                    "bad event: the sequence number '%s' is not 1 to 20 digits below 2^64", shown);
        return PROTO_E_SYNTAX;
    }
    if (seq_end + 1 >= len) {
        proto__errf(err, errcap, "bad event: no kind after the sequence number");
        return PROTO_E_SYNTAX;
    }
    size_t kind_at = seq_end + 1, kind_end = word_end(line, len, kind_at);
    int kind = 0;
    for (int k = PROTO_EVENT_ADD; k <= PROTO_EVENT_DEL; k++)
        if (proto__eq(line + kind_at, kind_end - kind_at, kind_names[k]))
            kind = k;
    if (kind == 0) {
        proto__snippet(shown, sizeof shown, line + kind_at, kind_end - kind_at, 24);
        proto__errf(err, errcap, "bad event: unknown kind '%s'", shown);
        return PROTO_E_SYNTAX;
    }
    ev->kind = (enum proto_event_kind)kind;
    if (kind_end + 1 >= len || line[kind_end + 1] == ' ') {
        proto__errf(err, errcap, "bad event: nothing (or more than one space) after '%s'",
                    kind_names[kind]);
        return PROTO_E_SYNTAX;
    }
    const char *rest = line + kind_end + 1;
    size_t rlen = len - kind_end - 1;

    if (ev->kind == PROTO_EVENT_DEL) {
        if (!proto_valid_id(rest, rlen)) {
            proto__errf(err, errcap, "bad event: del is not followed by exactly one valid id");
            return PROTO_E_SYNTAX;
        }
        ev->id.ptr = rest;
        ev->id.len = rlen;
        return PROTO_E_NONE;
    }
    /* The task's quoted fields are unescaped into scratch at their offset
     * in rest, which is shorter than line: scratch's len bytes suffice. */
    if (proto_task_decode(rest, rlen, scratch, scratch_cap, &ev->task, why, sizeof why) !=
        PROTO_E_NONE) {
        memset(&ev->task, 0, sizeof ev->task);
        proto__errf(err, errcap, "bad event: %s", why);
        return PROTO_E_SYNTAX;
    }
    if ((ev->kind == PROTO_EVENT_DONE && !ev->task.done) ||
        (ev->kind == PROTO_EVENT_UNDONE && ev->task.done)) {
        memset(&ev->task, 0, sizeof ev->task);
        proto__errf(err, errcap, "bad event: a %s event whose task is %s", kind_names[kind],
                    kind == PROTO_EVENT_DONE ? "pending" : "done");
        return PROTO_E_SYNTAX;
    }
    ev->id = ev->task.id;
    return PROTO_E_NONE;
}

int proto_event_encode(struct proto_buf *b, const struct proto_event *ev)
{
    char head[64];
    size_t old = b->len;

    if (ev->kind == PROTO_EVENT_OVERFLOW)
        return proto_buf_append(b, "EVENT overflow\r\n", 16);
    if (ev->kind < PROTO_EVENT_ADD || ev->kind > PROTO_EVENT_DEL)
        return -1;
    int n = snprintf(head, sizeof head, "EVENT %llu %s ", (unsigned long long)ev->seq,
                     kind_names[ev->kind]);
    if (n < 0 || (size_t)n >= sizeof head || proto_buf_append(b, head, (size_t)n) < 0)
        goto fail;
    if (ev->kind == PROTO_EVENT_DEL) {
        if (!proto_valid_id(ev->id.ptr, ev->id.len) ||
            proto_buf_append(b, ev->id.ptr, ev->id.len) < 0 || proto_buf_append(b, "\r\n", 2) < 0)
            goto fail;
        return 0;
    }
    if (proto_task_encode(b, &ev->task) < 0)
        goto fail;
    return 0;
fail:
    b->len = old;
    return -1;
}
