/*
 * todo/json.h - a task, and a value of TAGS or STATS, as JSON (jansson):
 * the one schema that todo-cli --json prints and the server's JSON encoder
 * (server/reply-json.c) answers, so that a task reads the same whichever
 * side wrote it.
 *
 * A task is {"id", "text", "status": "pending"|"done", "priority":
 * "low"|"med"|"high"|null, "due": "YYYY-MM-DD"|null, "tags": [...],
 * "created", "updated"} (times as YYYY-MM-DDTHH:MM:SSZ), in that order.
 *
 * Kept apart from libproto, which stays libc only.
 */
#ifndef TODO_JSON_H
#define TODO_JSON_H

#include <jansson.h>

#include "todo/proto.h"

/* A new reference, or NULL when out of memory or a string is not UTF-8. */
json_t *todo_json_task(const struct proto_task *t);

/* A value of a TAGS or STATS pair: a JSON integer when it is a whole
 * decimal number, else a string (NULL: out of memory, or not UTF-8). */
json_t *todo_json_value(struct proto_str v);

#endif /* TODO_JSON_H */
