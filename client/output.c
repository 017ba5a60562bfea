/*
 * output.c - printing tasks, tags and stats as a table, plain lines or JSON.
 */
#include "output.h"

#include <stdlib.h>
#include <string.h>

#define C_RESET "\033[0m"
#define C_BOLD "\033[1m"
#define C_DIM "\033[2m"
#define C_RED "\033[31m"
#define C_GREEN "\033[32m"
#define C_YELLOW "\033[33m"
#define C_CYAN "\033[36m"

int out_escape(FILE *fp, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *e = NULL;
        switch (s[i]) {
        case '\t':
            e = "\\t";
            break;
        case '\n':
            e = "\\n";
            break;
        case '\r':
            e = "\\r";
            break;
        case '\\':
            e = "\\\\";
            break;
        }
        if (e ? fputs(e, fp) == EOF : putc(s[i], fp) == EOF)
            return -1;
    }
    return 0;
}

static int put_str(FILE *fp, struct proto_str s, const char *empty)
{
    if (s.len == 0)
        return fputs(empty, fp) == EOF ? -1 : 0;
    return fwrite(s.ptr, 1, s.len, fp) == s.len ? 0 : -1;
}

/* ---- JSON ---------------------------------------------------------- */

static json_t *jstr(struct proto_str s)
{
    return json_stringn(s.ptr, s.len);
}

json_t *out_task_json(const struct proto_task *t)
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

json_t *out_tasks_json(const struct proto_task *t, size_t n)
{
    json_t *a = json_array();
    if (!a)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        json_t *o = out_task_json(&t[i]);
        if (!o || json_array_append_new(a, o) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

int out_json(FILE *fp, json_t *j)
{
    if (!j)
        return -1;
    int r = json_dumpf(j, fp, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (r != 0 || putc('\n', fp) == EOF)
        return -1;
    return 0;
}

/* ---- plain lines ----------------------------------------------------- */

static int plain_task(FILE *fp, const struct proto_task *t)
{
    char created[PROTO_TIME_LEN + 1], updated[PROTO_TIME_LEN + 1];
    proto_time_format(t->created, created);
    proto_time_format(t->updated, updated);
    if (out_escape(fp, t->id.ptr, t->id.len) != 0 ||
        fprintf(fp, "\t%s\t%s\t%s\t", t->done ? "done" : "pending", proto_pri_name(t->pri),
                t->due[0] ? t->due : "-") < 0 ||
        put_str(fp, t->tags, "-") != 0 || fprintf(fp, "\t%s\t%s\t", created, updated) < 0 ||
        out_escape(fp, t->text.ptr, t->text.len) != 0 || putc('\n', fp) == EOF)
        return -1;
    return 0;
}

/* ---- the table ----------------------------------------------------- */

static size_t max_sz(size_t a, size_t b)
{
    return a > b ? a : b;
}

static const char *pri_color(int pri)
{
    switch (pri) {
    case PROTO_PRI_HIGH:
        return C_BOLD C_RED;
    case PROTO_PRI_MED:
        return C_YELLOW;
    case PROTO_PRI_LOW:
        return C_CYAN;
    default:
        return "";
    }
}

/* One padded cell; colour codes do not count towards the width. */
static int cell(FILE *fp, const char *color, const char *s, size_t len, size_t width, int use_color)
{
    int on = use_color && color && *color;
    if ((on && fputs(color, fp) == EOF) || fwrite(s, 1, len, fp) != len ||
        (on && fputs(C_RESET, fp) == EOF))
        return -1;
    for (size_t i = len; i < width + 2; i++)
        if (putc(' ', fp) == EOF)
            return -1;
    return 0;
}

static int table_tasks(const struct out *o, const struct proto_task *t, size_t n)
{
    FILE *fp = o->fp;
    size_t wid = 2, wst = 6, wpri = 3, wdue = 3, wtags = 4;

    if (n == 0)
        return fputs("(no tasks)\n", fp) == EOF ? -1 : 0;
    for (size_t i = 0; i < n; i++) {
        wid = max_sz(wid, t[i].id.len);
        wst = max_sz(wst, t[i].done ? 4 : 7);
        wpri = max_sz(wpri, strlen(proto_pri_name(t[i].pri)));
        wdue = max_sz(wdue, t[i].due[0] ? strlen(t[i].due) : 1);
        wtags = max_sz(wtags, t[i].tags.len ? t[i].tags.len : 1);
    }
    const char *hc = C_BOLD;
    if (cell(fp, hc, "ID", 2, wid, o->color) || cell(fp, hc, "STATUS", 6, wst, o->color) ||
        cell(fp, hc, "PRI", 3, wpri, o->color) || cell(fp, hc, "DUE", 3, wdue, o->color) ||
        cell(fp, hc, "TAGS", 4, wtags, o->color) ||
        (o->color ? fputs(C_BOLD "TEXT" C_RESET "\n", fp) : fputs("TEXT\n", fp)) == EOF)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const struct proto_task *k = &t[i];
        const char *st = k->done ? "done" : "pending";
        const char *pri = proto_pri_name(k->pri);
        const char *due = k->due[0] ? k->due : "-";
        const char *tags = k->tags.len ? k->tags.ptr : "-";
        size_t tags_len = k->tags.len ? k->tags.len : 1;
        if (cell(fp, NULL, k->id.ptr, k->id.len, wid, 0) ||
            cell(fp, k->done ? C_GREEN : "", st, strlen(st), wst, o->color) ||
            cell(fp, pri_color(k->pri), pri, strlen(pri), wpri, o->color) ||
            cell(fp, NULL, due, strlen(due), wdue, 0) ||
            cell(fp, C_CYAN, tags, tags_len, wtags, o->color))
            return -1;
        /* Done tasks are dimmed so the pending ones stand out. */
        if (o->color && k->done && fputs(C_DIM, fp) == EOF)
            return -1;
        if (out_escape(fp, k->text.ptr, k->text.len) != 0)
            return -1;
        if (o->color && k->done && fputs(C_RESET, fp) == EOF)
            return -1;
        if (putc('\n', fp) == EOF)
            return -1;
    }
    return 0;
}

/* ---- the public printers ---------------------------------------------- */

int out_tasks(const struct out *o, const struct proto_task *t, size_t n)
{
    switch (o->mode) {
    case OUT_JSON:
        return out_json(o->fp, out_tasks_json(t, n));
    case OUT_PLAIN:
        for (size_t i = 0; i < n; i++)
            if (plain_task(o->fp, &t[i]) != 0)
                return -1;
        return 0;
    default:
        return table_tasks(o, t, n);
    }
}

int out_task(const struct out *o, const struct proto_task *t)
{
    if (o->mode == OUT_JSON)
        return out_json(o->fp, out_task_json(t));
    if (o->mode == OUT_PLAIN)
        return plain_task(o->fp, t);
    return table_tasks(o, t, 1);
}

/* Values that are whole numbers become JSON numbers, others strings. */
static json_t *json_value(struct proto_str v)
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

static int pairs_text(const struct out *o, const struct out_pair *p, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        w = max_sz(w, p[i].name.len);
    for (size_t i = 0; i < n; i++) {
        if (out_escape(o->fp, p[i].name.ptr, p[i].name.len) != 0)
            return -1;
        if (o->mode == OUT_PLAIN) {
            if (putc('\t', o->fp) == EOF)
                return -1;
        } else {
            for (size_t k = p[i].name.len; k < w + 2; k++)
                if (putc(' ', o->fp) == EOF)
                    return -1;
        }
        if (out_escape(o->fp, p[i].value.ptr, p[i].value.len) != 0 || putc('\n', o->fp) == EOF)
            return -1;
    }
    return 0;
}

int out_tags(const struct out *o, const struct out_pair *p, size_t n)
{
    if (o->mode != OUT_JSON) {
        if (n == 0 && o->mode == OUT_TABLE)
            return fputs("(no tags)\n", o->fp) == EOF ? -1 : 0;
        return pairs_text(o, p, n);
    }
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        json_t *e = json_pack("{s:o,s:o}", "tag", jstr(p[i].name), "count", json_value(p[i].value));
        if (!e || json_array_append_new(a, e) != 0) {
            json_decref(a);
            a = NULL;
        }
    }
    return out_json(o->fp, a);
}

int out_stats(const struct out *o, const struct out_pair *p, size_t n)
{
    if (o->mode != OUT_JSON)
        return pairs_text(o, p, n);
    json_t *obj = json_object();
    for (size_t i = 0; obj && i < n; i++) {
        char key[128];
        snprintf(key, sizeof(key), "%.*s", (int)p[i].name.len, p[i].name.ptr);
        if (json_object_set_new(obj, key, json_value(p[i].value)) != 0) {
            json_decref(obj);
            obj = NULL;
        }
    }
    return out_json(o->fp, obj);
}

int out_id(const struct out *o, const char *id, size_t len)
{
    if (o->mode == OUT_JSON)
        return out_json(o->fp, json_pack("{s:s%}", "id", id, len));
    if (fwrite(id, 1, len, o->fp) != len || putc('\n', o->fp) == EOF)
        return -1;
    return 0;
}

int out_text(const struct out *o, const char *key, const char *text, size_t len)
{
    if (o->mode == OUT_JSON)
        return out_json(o->fp, json_pack("{s:s%}", key, text, len));
    if (fwrite(text, 1, len, o->fp) != len || putc('\n', o->fp) == EOF)
        return -1;
    return 0;
}

int out_error(const struct out *o, const char *code, const char *msg)
{
    if (o->mode != OUT_JSON)
        return 0;
    return out_json(o->fp, json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg));
}
