/*
 * reply-json.h - results (result.h) as JSON documents, for the HTTP front
 * end (issue 17): one document per result, compact, followed by a newline.
 *
 *   ok(text)          {"reply": "PONG"}       (AUTH's bare OK: "OK")
 *   id(outcome, id)   {"id": "7"}, IMPORT's {"id": "7", "outcome": "imported"}
 *   a list of tasks   [task, ...], each as todo-cli --json prints it
 *                     (todo/json.h: one schema); GET's list of one is the
 *                     task object itself
 *   TAGS              [{"tag": "home", "count": 2}, ...]
 *   STATS             {"tasks": 3, "version": "0.1.0", ...}
 *   HELP              [{"command": "ADD", "usage": "...", "summary": "..."}, ...]
 *   error(code, msg)  {"error": {"code": "NOTFOUND", "message": "..."}}
 *                     (the code is libproto's error name, proto_err_name)
 *
 * The shapes follow todo-cli --json, so a script reads the same document
 * from either. Which one a list takes depends on the command, which the
 * front end knows and the sink is told (a handler only says "pairs").
 */
#ifndef TODO_SERVER_REPLY_JSON_H
#define TODO_SERVER_REPLY_JSON_H

#include <stdatomic.h>

#include "result.h"

/* Beside reply-line.h's encodings, for the GET cache: a JSON GET reply is
 * kept apart from a line one of the same task. */
enum { REPLY_JSON_ENCODING = 3 };

struct json_sink {
    struct result_sink base;
    struct proto_buf *out;     /* where documents go */
    struct proto_buf *scratch; /* a list's members, until it ends */
    atomic_ullong *errors;     /* error documents made, counted here (may be NULL) */
    enum proto_cmd cmd;        /* the command whose result this is: it shapes lists */
    size_t n;                  /* members of the list begun */
};

extern const struct result_sink_ops reply_json_ops;

/* A sink appending to out for a result of cmd; scratch must be empty and
 * stays the caller's (emptied again at the end of each list); its max
 * (proto_buf_init) bounds a list, as the line sink's does. */
void json_sink_init(struct json_sink *s, struct proto_buf *out, struct proto_buf *scratch,
                    atomic_ullong *errors, enum proto_cmd cmd);

#endif /* TODO_SERVER_REPLY_JSON_H */
