/*
 * reply-line.h - the line protocol's encoder of results (result.h), and
 * the tutorial's: "OK ...", "ERR CODE sentence", "DATA n" and n lines
 * (docs/PROTOCOL.md); or, for the tutorial's GET/ and POST/ forms, the
 * bare lines it answered ("read book", "no key match", "submit success").
 */
#ifndef TODO_SERVER_REPLY_LINE_H
#define TODO_SERVER_REPLY_LINE_H

#include <stdatomic.h>

#include "result.h"

/* The encodings' ids (result_sink.encoding), for the GET cache. */
enum { REPLY_LINE_ENCODING = 1, REPLY_LEGACY_ENCODING = 2 };

struct line_sink {
    struct result_sink base;
    struct proto_buf *out;     /* where replies go */
    struct proto_buf *scratch; /* a list's lines, until "DATA n" can go first */
    atomic_ullong *errors;     /* ERR replies made, counted here (may be NULL) */
    size_t n;                  /* lines of the list begun */
    int legacy;                /* the tutorial's bare replies */
};

extern const struct result_sink_ops reply_line_ops;

/* A sink appending to out; scratch must be empty and stays the caller's
 * (emptied again at the end of each list). legacy picks the tutorial's
 * replies. Inline, field by field: it runs for every request. */
static inline void line_sink_init(struct line_sink *s, struct proto_buf *out,
                                  struct proto_buf *scratch, atomic_ullong *errors, int legacy)
{
    s->base.ops = &reply_line_ops;
    s->base.encoding = legacy ? REPLY_LEGACY_ENCODING : REPLY_LINE_ENCODING;
    s->base.list_bytes = 0;
    s->base.failed = 0;
    s->out = out;
    s->scratch = scratch;
    s->errors = errors;
    s->n = 0;
    s->legacy = legacy != 0;
}

#endif /* TODO_SERVER_REPLY_LINE_H */
