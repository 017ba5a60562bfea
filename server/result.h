/*
 * result.h - what a command produces, and the sink it hands it to.
 *
 * A handler (commands.c) knows nothing of bytes on a wire: it hands its
 * result to a sink, one call per part (an id, a task, a key and a value,
 * an error with its code and sentence), and a front end's encoder turns
 * those calls into its own format. reply-line.h holds the line protocol's
 * encoder and the tutorial's bare replies; an HTTP/JSON front end adds a
 * third encoder without touching a handler.
 *
 * A result is exactly one of:
 *   - ok(text)              a plain success: PING's PONG, AUTH, QUIT's bye
 *   - id(outcome, id)       the task a write made or changed (outcome:
 *                           NULL, or IMPORT's "imported", "skipped", ...)
 *   - begin(kind) ... end() a list: tasks (GET is a list of one, LIST),
 *                           pairs (TAGS: tag and count; STATS: name and
 *                           value), commands (HELP)
 *   - error(code, sentence)
 * A list that the handler cannot finish (the store failed half-way) is
 * dropped with drop() and followed by an error instead.
 *
 * The ops return 0, or -1 when the encoder could not take the part. For
 * the parts of a list (task, pair, command) that means the list grew past
 * what a reply may hold: the handler stops, drops it and answers an error
 * instead. For anything else it means the reply itself could not be made
 * (the client's output passed its cap, or no memory): the sink sets
 * failed, takes nothing more, and the front end drops the connection,
 * since a reply cut in the middle cannot be repaired. Handlers need not
 * check those.
 */
#ifndef TODO_SERVER_RESULT_H
#define TODO_SERVER_RESULT_H

#include <stddef.h>

#include "todo/proto.h"

enum result_list {
    RESULT_TASKS,    /* task() parts */
    RESULT_PAIRS,    /* pair() parts */
    RESULT_COMMANDS, /* command() parts */
};

struct result_sink;

struct result_sink_ops {
    int (*ok)(struct result_sink *k, const char *text);
    int (*id)(struct result_sink *k, const char *outcome, struct proto_str id);
    int (*error)(struct result_sink *k, enum proto_err e, const char *msg);
    int (*begin)(struct result_sink *k, enum result_list kind);
    int (*task)(struct result_sink *k, const struct proto_task *t);
    int (*pair)(struct result_sink *k, struct proto_str key, struct proto_str value);
    int (*command)(struct result_sink *k, const struct proto_cmd_info *c);
    int (*end)(struct result_sink *k);
    void (*drop)(struct result_sink *k);
    /* For the GET cache, which keeps encoded replies keyed by encoding:
     * mark() says where the next result begins in the encoder's output,
     * since() gives the bytes made after a mark, raw() appends bytes that
     * since() gave earlier. NULL in a sink whose encoding is 0. */
    size_t (*mark)(struct result_sink *k);
    int (*since)(struct result_sink *k, size_t mark, const char **p, size_t *n);
    int (*raw)(struct result_sink *k, const char *p, size_t n);
};

struct result_sink {
    const struct result_sink_ops *ops;
    /* Which encoding the sink makes, so that cached bytes are only ever
     * replayed into a sink of the same one; 0: do not cache. */
    int encoding;
    /* Bytes of the list begun, so far, as encoded: a handler that would
     * rather stream a big list than make it at once looks here. */
    size_t list_bytes;
    int failed; /* an op returned -1 */
};

/* The calls handlers make: each returns what the op did; on -1 all but
 * result_task, result_pair and result_command set k->failed, and a failed
 * sink takes nothing more. Inline: they sit on every request's path, and a
 * call each would cost PING about 1 % more instructions (bench/instructions). */
static inline int result_whole_(struct result_sink *k, int rc)
{
    if (rc != 0)
        k->failed = 1;
    return rc;
}

static inline int result_ok(struct result_sink *k, const char *text)
{
    return k->failed ? -1 : result_whole_(k, k->ops->ok(k, text));
}

static inline int result_id(struct result_sink *k, const char *outcome, struct proto_str id)
{
    return k->failed ? -1 : result_whole_(k, k->ops->id(k, outcome, id));
}

static inline int result_error(struct result_sink *k, enum proto_err e, const char *msg)
{
    return k->failed ? -1 : result_whole_(k, k->ops->error(k, e, msg));
}

static inline int result_begin(struct result_sink *k, enum result_list kind)
{
    k->list_bytes = 0;
    return k->failed ? -1 : result_whole_(k, k->ops->begin(k, kind));
}

/* A list's parts may fail without harm: the list is dropped and an error
 * answered in its place. */
static inline int result_task(struct result_sink *k, const struct proto_task *t)
{
    return k->failed ? -1 : k->ops->task(k, t);
}

static inline int result_pair(struct result_sink *k, struct proto_str key, struct proto_str value)
{
    return k->failed ? -1 : k->ops->pair(k, key, value);
}

static inline int result_command(struct result_sink *k, const struct proto_cmd_info *c)
{
    return k->failed ? -1 : k->ops->command(k, c);
}

static inline int result_end(struct result_sink *k)
{
    return k->failed ? -1 : result_whole_(k, k->ops->end(k));
}

static inline void result_drop(struct result_sink *k)
{
    k->ops->drop(k);
    k->list_bytes = 0;
}

#endif /* TODO_SERVER_RESULT_H */
