/*
 * task.c - tasks and pair values as JSON (todo/json.h).
 */
#include "todo/json.h"

#include <stdlib.h>
#include <string.h>

static json_t *jstr(struct proto_str s)
{
    return json_stringn(s.ptr, s.len);
}

json_t *todo_json_task(const struct proto_task *t)
{
    char created[PROTO_TIME_LEN + 1], updated[PROTO_TIME_LEN + 1];
    json_t *o = json_object(), *tags = json_array();

    if (!o || !tags)
        goto fail;
    proto_time_format(t->created, created);
    proto_time_format(t->updated, updated);
    /* Tags travel joined by commas; JSON gives them as an array. */
    for (size_t i = 0; i < t->tags.len;) {
        size_t j = i;
        while (j < t->tags.len && t->tags.ptr[j] != ',')
            j++;
        if (j > i && json_array_append_new(tags, json_stringn(t->tags.ptr + i, j - i)) != 0)
            goto fail;
        i = j + 1;
    }
    /* json_stringn() refuses bytes that are not UTF-8, so check each. */
    if (json_object_set_new(o, "id", jstr(t->id)) != 0 ||
        json_object_set_new(o, "text", jstr(t->text)) != 0)
        goto fail;
    if (json_object_set_new(o, "status", json_string(t->done ? "done" : "pending")) != 0 ||
        json_object_set_new(o, "priority",
                            t->pri == PROTO_PRI_NONE ? json_null()
                                                     : json_string(proto_pri_name(t->pri))) != 0 ||
        json_object_set_new(o, "due", t->due[0] ? json_string(t->due) : json_null()) != 0 ||
        json_object_set_new(o, "tags", tags) != 0 ||
        json_object_set_new(o, "created", json_string(created)) != 0 ||
        json_object_set_new(o, "updated", json_string(updated)) != 0)
        goto fail_notags;
    return o;
fail:
    json_decref(tags);
fail_notags:
    json_decref(o);
    return NULL;
}

json_t *todo_json_value(struct proto_str v)
{
    char buf[32];
    if (v.len > 0 && v.len < sizeof(buf)) {
        memcpy(buf, v.ptr, v.len);
        buf[v.len] = '\0';
        char *end;
        long long n = strtoll(buf, &end, 10);
        if (*end == '\0' && (buf[0] == '-' || (buf[0] >= '0' && buf[0] <= '9')))
            return json_integer(n);
    }
    return jstr(v);
}
