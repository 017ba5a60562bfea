/*
 * reply-json.c - results (result.h) as JSON documents (reply-json.h).
 *
 * Each member of a list is encoded as it comes, into the scratch buffer,
 * so that list_bytes is the encoded size so far (a handler that would
 * rather stream a big list looks there) and a list never exists as a tree
 * of jansson objects; end() then wraps the members in [] or {} on the
 * output.
 */
#include "reply-json.h"

#include <string.h>

#include <jansson.h>

#include "todo/json.h"

/* As the line sink: a bigger scratch buffer left by one LIST is given back
 * rather than kept for the next request. */
#define SCRATCH_KEEP (256 * 1024)

#define DUMP_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY)

static struct json_sink *of(struct result_sink *k)
{
    return (struct json_sink *)k;
}

static void scratch_empty(struct json_sink *s)
{
    if (s->scratch->cap > SCRATCH_KEEP) {
        size_t max = s->scratch->max;
        proto_buf_free(s->scratch);
        proto_buf_init(s->scratch, max);
    }
    s->scratch->len = 0;
    s->n = 0;
}

static int dump_cb(const char *p, size_t n, void *arg)
{
    return proto_buf_append(arg, p, n);
}

/* Appends j's compact text to b (stealing the reference); -1 when j is
 * NULL (no memory) or b is full, with b as it was. */
static int put(struct proto_buf *b, json_t *j)
{
    size_t old = b->len;
    int rc = j != NULL ? json_dump_callback(j, dump_cb, b, DUMP_FLAGS) : -1;
    json_decref(j);
    if (rc != 0)
        b->len = old;
    return rc;
}

/* A whole document on the output: j and a newline. */
static int doc(struct json_sink *s, json_t *j)
{
    size_t old = s->out->len;
    if (put(s->out, j) != 0 || proto_buf_append(s->out, "\n", 1) != 0) {
        s->out->len = old;
        return -1;
    }
    return 0;
}

void json_sink_init(struct json_sink *s, struct proto_buf *out, struct proto_buf *scratch,
                    atomic_ullong *errors, enum proto_cmd cmd)
{
    s->base.ops = &reply_json_ops;
    /* Only GET's replies are cached, and only GET's JSON is one object:
     * any other command's sink says 0, do not cache. */
    s->base.encoding = cmd == PROTO_CMD_GET ? REPLY_JSON_ENCODING : 0;
    s->base.list_bytes = 0;
    s->base.failed = 0;
    s->out = out;
    s->scratch = scratch;
    s->errors = errors;
    s->cmd = cmd;
    s->n = 0;
}

static int json_ok(struct result_sink *k, const char *text)
{
    return doc(of(k), json_pack("{s:s}", "reply", text ? text : "OK"));
}

static int json_id(struct result_sink *k, const char *outcome, struct proto_str id)
{
    json_t *j = json_pack("{s:s%}", "id", id.ptr, id.len);
    if (j && outcome && json_object_set_new(j, "outcome", json_string(outcome)) != 0) {
        json_decref(j);
        j = NULL;
    }
    return doc(of(k), j);
}

/* The length of the UTF-8 sequence that lead begins, 1 for a byte that
 * begins none. */
static size_t seq_len(unsigned char lead)
{
    return lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
}

/* msg as a JSON string. A sentence cut at the end of its buffer may end
 * inside a UTF-8 character, which jansson refuses to take: the bytes that
 * are not UTF-8 become '?', so that the error is still answered. */
static json_t *message(const char *msg)
{
    json_t *j = json_string(msg ? msg : "");
    if (j != NULL || msg == NULL)
        return j;
    char buf[1024];
    size_t n = 0, left = strlen(msg);
    const char *p = msg;
    while (left > 0 && n + 4 < sizeof(buf)) {
        size_t k = seq_len((unsigned char)*p);
        if (k <= left && proto_valid_utf8(p, k)) {
            memcpy(buf + n, p, k);
            n += k;
        } else {
            buf[n++] = '?';
            k = 1;
        }
        p += k;
        left -= k;
    }
    buf[n] = '\0';
    return json_string(buf);
}

static int json_error(struct result_sink *k, enum proto_err e, const char *msg)
{
    struct json_sink *s = of(k);
    if (s->errors != NULL)
        atomic_fetch_add_explicit(s->errors, 1, memory_order_relaxed);
    return doc(
        s, json_pack("{s:{s:s,s:o}}", "error", "code", proto_err_name(e), "message", message(msg)));
}

static int json_begin(struct result_sink *k, enum result_list kind)
{
    (void)kind;
    scratch_empty(of(k));
    return 0;
}

/* Appends one member of the list: a comma first unless it is the first.
 * GET's one task is the document itself, so it takes no comma and no
 * brackets. */
static int member(struct json_sink *s, const char *key, json_t *j)
{
    struct proto_buf *b = s->scratch;
    size_t old = b->len;
    int rc = j == NULL ? -1 : 0;
    if (rc == 0 && s->n > 0)
        rc = proto_buf_append(b, ",", 1);
    if (rc == 0 && key != NULL && (rc = put(b, json_string(key))) == 0)
        rc = proto_buf_append(b, ":", 1);
    if (rc == 0) {
        rc = put(b, j); /* takes j */
        j = NULL;
    }
    json_decref(j);
    if (rc != 0) {
        b->len = old;
        return -1;
    }
    s->n++;
    s->base.list_bytes = b->len;
    return 0;
}

static int json_task(struct result_sink *k, const struct proto_task *t)
{
    return member(of(k), NULL, todo_json_task(t));
}

static int json_pair(struct result_sink *k, struct proto_str key, struct proto_str value)
{
    struct json_sink *s = of(k);
    if (s->cmd == PROTO_CMD_STATS) {
        char name[128];
        if (key.len >= sizeof(name))
            return -1;
        memcpy(name, key.ptr, key.len);
        name[key.len] = '\0';
        return member(s, name, todo_json_value(value));
    }
    if (s->cmd == PROTO_CMD_SHARES)
        /* SHARES's pairs are names, never numbers: LIST is shared with USER. */
        return member(
            s, NULL,
            json_pack("{s:s%,s:s%}", "list", key.ptr, key.len, "user", value.ptr, value.len));
    const char *kn = s->cmd == PROTO_CMD_TAGS ? "tag" : "name";
    const char *vn = s->cmd == PROTO_CMD_TAGS ? "count" : "value";
    return member(s, NULL,
                  json_pack("{s:s%,s:o}", kn, key.ptr, key.len, vn, todo_json_value(value)));
}

static int json_command(struct result_sink *k, const struct proto_cmd_info *c)
{
    return member(
        of(k), NULL,
        json_pack("{s:s,s:s,s:s}", "command", c->name, "usage", c->usage, "summary", c->summary));
}

static int json_end(struct result_sink *k)
{
    struct json_sink *s = of(k);
    struct proto_buf *o = s->out;
    size_t old = o->len;
    int one = s->cmd == PROTO_CMD_GET && s->n == 1;
    const char *open = one ? "" : s->cmd == PROTO_CMD_STATS ? "{" : "[";
    const char *close = one ? "\n" : s->cmd == PROTO_CMD_STATS ? "}\n" : "]\n";
    int rc = proto_buf_append(o, open, strlen(open)) != 0 ||
             proto_buf_append(o, s->scratch->data, s->scratch->len) != 0 ||
             proto_buf_append(o, close, strlen(close)) != 0;
    if (rc)
        o->len = old;
    scratch_empty(s);
    return rc ? -1 : 0;
}

static void json_drop(struct result_sink *k)
{
    scratch_empty(of(k));
}

static size_t json_mark(struct result_sink *k)
{
    return of(k)->out->len;
}

static int json_since(struct result_sink *k, size_t mark, const char **p, size_t *n)
{
    struct proto_buf *out = of(k)->out;
    if (mark > out->len)
        return -1;
    *p = out->data + mark;
    *n = out->len - mark;
    return 0;
}

static int json_raw(struct result_sink *k, const char *p, size_t n)
{
    return proto_buf_append(of(k)->out, p, n);
}

const struct result_sink_ops reply_json_ops = {
    .ok = json_ok,
    .id = json_id,
    .error = json_error,
    .begin = json_begin,
    .task = json_task,
    .pair = json_pair,
    .command = json_command,
    .end = json_end,
    .drop = json_drop,
    .mark = json_mark,
    .since = json_since,
    .raw = json_raw,
};
