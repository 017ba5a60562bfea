/*
 * http-front.c - routing HTTP requests to line-protocol requests, and
 * making responses (http-front.h). Pure: no I/O, no clock, no globals.
 */
#include "http-front.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "todo/json.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long http_pct_decode(const char *s, size_t n, char *out, int plus)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            if (n - i < 3)
                return -1;
            int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = (unsigned char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus) {
            c = ' ';
        }
        /* Control bytes have no place in a text, a tag or a path, and a
         * CR or LF would end a line of the line protocol. */
        if (c < 0x20 || c == 0x7f)
            return -1;
        out[o++] = (char)c;
    }
    return (long)o;
}

const char *http_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 413:
        return "Content Too Large";
    case 415:
        return "Unsupported Media Type";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

int http_status_of(enum proto_err e)
{
    switch (e) {
    case PROTO_E_NONE:
        return 200;
    case PROTO_E_SYNTAX:
    case PROTO_E_ARGS:
    case PROTO_E_ENCODING:
    case PROTO_E_UNKNOWN:
        return 400;
    case PROTO_E_AUTH:
        return 401;
    case PROTO_E_NOTFOUND:
        return 404;
    case PROTO_E_EXISTS:
    case PROTO_E_CONFLICT:
        return 409;
    case PROTO_E_TOOLONG:
        return 413;
    case PROTO_E_EXPIRED:
        return 410;
    case PROTO_E_TIMEOUT:
        return 408;
    case PROTO_E_BUSY:
    case PROTO_E_STORE:
        return 503;
    default:
        return 500;
    }
}

int http_head(struct proto_buf *out, int status, const char *type, size_t length, int keep,
              const char *extra)
{
    char h[512];
    int n = snprintf(h, sizeof(h), "HTTP/1.1 %d %s\r\n%s%s%sContent-Length: %zu\r\n%s", status,
                     http_reason(status), type ? "Content-Type: " : "", type ? type : "",
                     type ? "\r\n" : "", length,
                     keep == 0   ? "Connection: close\r\n"
                     : keep == 2 ? "Connection: keep-alive\r\n"
                                 : "");
    if (n < 0 || (size_t)n >= sizeof(h))
        return -1;
    size_t old = out->len;
    if (proto_buf_append(out, h, (size_t)n) != 0 ||
        (extra && proto_buf_append(out, extra, strlen(extra)) != 0) ||
        proto_buf_append(out, "\r\n", 2) != 0) {
        out->len = old;
        return -1;
    }
    return 0;
}

int http_error_response(struct proto_buf *out, int status, const char *code, const char *msg,
                        int keep, int head_only)
{
    return http_error_response_extra(out, status, code, msg, keep, head_only, NULL);
}

int http_error_response_extra(struct proto_buf *out, int status, const char *code, const char *msg,
                              int keep, int head_only, const char *extra)
{
    /* A message may quote the client's bytes ("unknown query parameter:
     * x"), which need not be UTF-8, and JSON strings must be: such bytes
     * become '?', or there would be no response at all. */
    char clean[256];
    size_t ml = strlen(msg);
    if (!proto_valid_utf8(msg, ml)) {
        size_t n = ml < sizeof(clean) - 1 ? ml : sizeof(clean) - 1;
        for (size_t i = 0; i < n; i++)
            clean[i] = (unsigned char)msg[i] < 0x80 ? msg[i] : '?';
        clean[n] = '\0';
        msg = clean;
    }
    json_t *j = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg);
    char *body = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    if (body == NULL)
        return -1;
    size_t n = strlen(body);
    size_t old = out->len;
    char headers[512];
    int hn =
        snprintf(headers, sizeof(headers), "Cache-Control: no-store\r\n%s", extra ? extra : "");
    int rc = hn < 0 || (size_t)hn >= sizeof(headers)
                 ? -1
                 : http_head(out, status, "application/json", n + 1, keep, headers);
    if (rc == 0 && !head_only &&
        (proto_buf_append(out, body, n) != 0 || proto_buf_append(out, "\n", 1) != 0)) {
        out->len = old;
        rc = -1;
    }
    free(body);
    return rc;
}

int http_sse_events(struct proto_buf *out, const char *lines, size_t n, char *scratch, size_t cap)
{
    struct proto_str all = {lines, n}, line;
    while (proto_body_next(&all, &line)) {
        struct proto_event ev;
        char err[128];
        if (proto_event_decode(line.ptr, line.len, scratch, cap, &ev, err, sizeof(err)) !=
            PROTO_E_NONE)
            return -1;
        if (ev.kind == PROTO_EVENT_OVERFLOW) {
            static const char reload[] = "event: reload\ndata: {\"kind\":\"overflow\"}\n\n";
            if (proto_buf_append(out, reload, sizeof(reload) - 1) != 0)
                return -1;
            continue;
        }
        char seq[24];
        snprintf(seq, sizeof(seq), "%llu", (unsigned long long)ev.seq);
        json_t *j = json_pack("{s:s,s:s,s:s#}", "seq", seq, "kind", proto_event_kind_name(ev.kind),
                              "id", ev.id.ptr, (int)ev.id.len);
        if (j != NULL && ev.kind != PROTO_EVENT_DEL)
            json_object_set_new(j, "task", todo_json_task(&ev.task));
        char *text = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(j);
        if (text == NULL)
            return -1;
        char head[64];
        int hn = snprintf(head, sizeof(head), "id: %s\nevent: change\ndata: ", seq);
        int rc = proto_buf_append(out, head, (size_t)hn) != 0 ||
                         proto_buf_append(out, text, strlen(text)) != 0 ||
                         proto_buf_append(out, "\n\n", 2) != 0
                     ? -1
                     : 0;
        free(text);
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* ---- routing ---- */

/* Refuses the request with status, code (or, for PROTO_E_NONE, the code
 * word name) and the sentence msg, followed by arg when not NULL. */
static void refuse(struct http_action *a, int status, enum proto_err code, const char *name,
                   const char *msg, const char *arg)
{
    a->route = HTTP_R_ERROR;
    a->status = status;
    a->code = code;
    a->errname = code != PROTO_E_NONE ? proto_err_name(code) : name;
    snprintf(a->msg, sizeof(a->msg), "%s%s", msg, arg ? arg : "");
}

static int verb(struct http_action *a, enum proto_cmd cmd)
{
    const struct proto_cmd_info *ci = proto_cmd_info(cmd);
    return proto_buf_append(&a->line, ci->name, strlen(ci->name));
}

/* One word after the verb: prefix and s[0..n) as one token (force: always
 * quoted, so that it is read as text, never as a +tag or a keyword). */
static int word(struct http_action *a, const char *prefix, const char *s, size_t n, int force)
{
    char w[PROTO_MAX_TAG + 16];
    if (prefix[0] != '\0') {
        size_t pl = strlen(prefix);
        if (pl + n > sizeof(w))
            return -1;
        memcpy(w, prefix, pl);
        memcpy(w + pl, s, n);
        s = w;
        n += pl;
    }
    if (proto_buf_append(&a->line, " ", 1) != 0)
        return -1;
    return proto_quote_append(&a->line, s, n, force);
}

static int method_is(const struct http_request *r, const char *m)
{
    return strcmp(r->method, m) == 0;
}

static int path_is(struct proto_str p, const char *s)
{
    return p.len == strlen(s) && memcmp(p.ptr, s, p.len) == 0;
}

/* 405, with the methods the path takes (allow: "GET, HEAD"), which the
 * response names in its Allow header too (RFC 9110 15.5.6). */
static void not_allowed(struct http_action *a, const char *allow)
{
    refuse(a, 405, PROTO_E_NONE, "METHOD", "this path takes only ", allow);
    a->allow = allow;
}

/* The body as a JSON object, or NULL with a refused a. Only
 * application/json is read: an HTML form cannot send it without the page
 * being this server's. */
static json_t *json_body(const struct http_request *r, struct http_action *a)
{
    const struct proto_str *ct = http_header_get(r, "Content-Type");
    static const char want[] = "application/json";
    if (ct == NULL || ct->len < sizeof(want) - 1 ||
        strncasecmp(ct->ptr, want, sizeof(want) - 1) != 0 ||
        (ct->len > sizeof(want) - 1 && ct->ptr[sizeof(want) - 1] != ';' &&
         ct->ptr[sizeof(want) - 1] != ' ')) {
        refuse(a, 415, PROTO_E_NONE, "MEDIA", "the body must be application/json", NULL);
        return NULL;
    }
    json_error_t je;
    json_t *j = json_loadb(r->body.ptr, r->body.len, JSON_REJECT_DUPLICATES, &je);
    if (j == NULL || !json_is_object(j)) {
        json_decref(j);
        refuse(a, 400, PROTO_E_SYNTAX, NULL, "the body is not a JSON object", NULL);
        return NULL;
    }
    return j;
}

/* A body that is there must be JSON even where none is needed, so that a
 * form's text/plain body is refused rather than ignored. */
static int no_foreign_body(const struct http_request *r, struct http_action *a)
{
    if (r->body.len == 0)
        return 0;
    json_t *j = json_body(r, a);
    if (j == NULL)
        return -1;
    json_decref(j);
    return 0;
}

/* The fields of ADD and PATCH: text, tags, due, priority. edit: PATCH,
 * where null clears and tags replace the task's. -1 with a refused. */
static int task_fields(json_t *j, struct http_action *a, int edit)
{
    json_t *v;
    int changes = 0;
    if ((v = json_object_get(j, "text")) != NULL) {
        if (!json_is_string(v))
            return refuse(a, 400, PROTO_E_ARGS, NULL, "text must be a string", NULL), -1;
        if (word(a, "", json_string_value(v), json_string_length(v), 1) != 0)
            goto toolong;
        changes++;
    }
    if ((v = json_object_get(j, "tags")) != NULL) {
        size_t i;
        json_t *t;
        if (!json_is_array(v))
            return refuse(a, 400, PROTO_E_ARGS, NULL, "tags must be an array of strings", NULL), -1;
        json_array_foreach(v, i, t)
        {
            if (!json_is_string(t) || !proto_valid_tag(json_string_value(t), json_string_length(t)))
                return refuse(a, 400, PROTO_E_ARGS, NULL,
                              "a tag is letters, digits, '_', '.' or '-'", NULL),
                       -1;
            if (word(a, "+", json_string_value(t), json_string_length(t), 0) != 0)
                goto toolong;
        }
        if (edit)
            a->replace_tags = 1;
        changes++;
    }
    if ((v = json_object_get(j, "due")) != NULL) {
        if (json_is_null(v)) {
            if (edit && word(a, "due:", "none", 4, 0) != 0)
                goto toolong;
        } else if (!json_is_string(v) ||
                   !(proto_valid_date(json_string_value(v), json_string_length(v)) ||
                     proto_date_word_valid(json_string_value(v), json_string_length(v)))) {
            return refuse(a, 400, PROTO_E_ARGS, NULL, "due must be YYYY-MM-DD or null", NULL), -1;
        } else if (word(a, "due:", json_string_value(v), json_string_length(v), 0) != 0) {
            goto toolong;
        }
        changes++;
    }
    if ((v = json_object_get(j, "priority")) != NULL) {
        if (json_is_null(v)) {
            if (edit && word(a, "pri:", "none", 4, 0) != 0)
                goto toolong;
        } else if (!json_is_string(v) ||
                   proto_pri_parse(json_string_value(v), json_string_length(v)) < 0) {
            return refuse(a, 400, PROTO_E_ARGS, NULL,
                          "priority must be \"low\", \"med\", \"high\" or null", NULL),
                   -1;
        } else if (word(a, "pri:", json_string_value(v), json_string_length(v), 0) != 0) {
            goto toolong;
        }
        changes++;
    }
    return changes;
toolong:
    refuse(a, 413, PROTO_E_TOOLONG, NULL, "the request is too long", NULL);
    return -1;
}

/* The query of a list (and of events): status=, tag= (any number), q=.
 * WATCH takes no words, so for it q is refused. */
static int list_query(struct proto_str q, struct http_action *a, int watch)
{
    const char *p = q.ptr, *end = q.ptr + q.len;
    char key[16], val[1024];
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        const char *vs = eq ? eq + 1 : stop;
        size_t kl = (size_t)((eq ? eq : stop) - p), vl = (size_t)(stop - vs);
        long kn = kl < sizeof(key) ? http_pct_decode(p, kl, key, 1) : -1;
        long vn = vl <= sizeof(val) ? http_pct_decode(vs, vl, val, 1) : -1;
        if (kn < 0 || vn < 0)
            return refuse(a, 400, PROTO_E_ARGS, NULL, "a bad query string", NULL), -1;
        key[kn] = '\0';
        if (kn == 0 && vn == 0) {
            /* "a&&b", a trailing "&": nothing */
        } else if (strcmp(key, "status") == 0) {
            if (!((vn == 7 && memcmp(val, "pending", 7) == 0) ||
                  (vn == 4 && memcmp(val, "done", 4) == 0) ||
                  (vn == 3 && memcmp(val, "all", 3) == 0)))
                return refuse(a, 400, PROTO_E_ARGS, NULL, "status is pending, done or all", NULL),
                       -1;
            if (word(a, "", val, (size_t)vn, 0) != 0)
                goto toolong;
        } else if (strcmp(key, "tag") == 0) {
            if (!proto_valid_tag(val, (size_t)vn))
                return refuse(a, 400, PROTO_E_ARGS, NULL,
                              "a tag is letters, digits, '_', '.' or '-'", NULL),
                       -1;
            if (word(a, "+", val, (size_t)vn, 0) != 0)
                goto toolong;
        } else if (strcmp(key, "list") == 0) {
            /* list_param's, read on its own for every route in a list */
        } else if (strcmp(key, "q") == 0 && !watch) {
            if (vn > 0 && word(a, "", val, (size_t)vn, 1) != 0)
                goto toolong;
        } else {
            return refuse(a, 400, PROTO_E_ARGS, NULL, "unknown query parameter: ", key), -1;
        }
        p = amp ? amp + 1 : end;
    }
    return 0;
toolong:
    refuse(a, 413, PROTO_E_TOOLONG, NULL, "the request is too long", NULL);
    return -1;
}

/* The query's list=NAME, on a route that works in a list: a->list, for
 * worker.c to USE before the route's command. The name is checked here
 * with the users' one rule, so that a bad one is a 400 of its own and
 * never reaches a line; whether the caller may work in it is the command
 * layer's to say. Other keys are the route's (list_query) or, on routes
 * that take no query, ignored as before. 0, or -1 with a refused. */
static int list_param(struct proto_str q, struct http_action *a)
{
    const char *p = q.ptr, *end = q.ptr + q.len;
    static const char key[] = "list=";
    const size_t kl = sizeof(key) - 1;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        size_t n = (size_t)(stop - p);
        if (n >= kl && memcmp(p, key, kl) == 0) {
            char name[PROTO_MAX_USER * 3 + 1];
            long vn = n - kl <= sizeof(name) ? http_pct_decode(p + kl, n - kl, name, 1) : -1;
            if (a->list[0] != '\0')
                return refuse(a, 400, PROTO_E_ARGS, NULL, "list= is given more than once", NULL),
                       -1;
            if (vn < 0 || !proto_valid_user(name, (size_t)vn))
                return refuse(a, 400, PROTO_E_ARGS, NULL,
                              "list= names a user's list: 1 to 64 letters, digits, '.', '_' or "
                              "'-', beginning with a letter or a digit",
                              NULL),
                       -1;
            memcpy(a->list, name, (size_t)vn);
            a->list[vn] = '\0';
            a->needs_user = 1;
        }
        p = amp ? amp + 1 : end;
    }
    return 0;
}

static void command(const struct http_request *r, struct http_action *a, enum proto_cmd cmd,
                    struct proto_str id)
{
    a->route = HTTP_R_COMMAND;
    a->status = 200;
    if (verb(a, cmd) != 0 || (id.len > 0 && word(a, "", id.ptr, id.len, 0) != 0)) {
        refuse(a, 413, PROTO_E_TOOLONG, NULL, "the request is too long", NULL);
        return;
    }
    (void)r;
}

/* /api/tasks/{id}[/done|/undone] */
static void task_path(const struct http_request *r, struct http_action *a, struct proto_str rest)
{
    const char *slash = memchr(rest.ptr, '/', rest.len);
    struct proto_str id = {rest.ptr, slash ? (size_t)(slash - rest.ptr) : rest.len};
    struct proto_str tail = {slash ? slash : rest.ptr + rest.len, slash ? rest.len - id.len : 0};
    a->id = id;
    if (!proto_valid_id(id.ptr, id.len)) {
        refuse(a, 404, PROTO_E_NOTFOUND, NULL, "no such task", NULL);
        return;
    }
    if (tail.len > 0) {
        int done = path_is(tail, "/done");
        if (!done && !path_is(tail, "/undone")) {
            refuse(a, 404, PROTO_E_NONE, "NOTFOUND", "no such path", NULL);
            return;
        }
        if (!method_is(r, "POST")) {
            not_allowed(a, "POST");
            return;
        }
        if (no_foreign_body(r, a) != 0)
            return;
        command(r, a, done ? PROTO_CMD_DONE : PROTO_CMD_UNDONE, id);
        a->then_get = 1;
        return;
    }
    if (method_is(r, "GET") || method_is(r, "HEAD")) {
        command(r, a, PROTO_CMD_GET, id);
    } else if (method_is(r, "DELETE")) {
        if (no_foreign_body(r, a) == 0)
            command(r, a, PROTO_CMD_DEL, id);
    } else if (method_is(r, "PATCH")) {
        json_t *j = json_body(r, a);
        if (j == NULL)
            return;
        command(r, a, PROTO_CMD_EDIT, id);
        if (a->route == HTTP_R_COMMAND && task_fields(j, a, 1) >= 0)
            a->then_get = 1;
        json_decref(j);
    } else {
        not_allowed(a, "GET, HEAD, PATCH, DELETE");
    }
}

static int eq_nocase(const char *a, size_t n, const char *b)
{
    return b != NULL && strlen(b) == n && strncasecmp(a, b, n) == 0;
}

/* An IP literal ("127.0.0.1", "[::1]"): no name a DNS answer could move. */
static int ip_literal(const char *h, size_t n)
{
    if (n >= 2 && h[0] == '[' && h[n - 1] == ']')
        return 1;
    for (size_t i = 0; i < n; i++)
        if (!((h[i] >= '0' && h[i] <= '9') || h[i] == '.'))
            return 0;
    return n > 0;
}

/* The Host header and the origin of the request (see struct
 * http_site); 0, or -1 with a refused. */
static int check_site(const struct http_request *r, const struct http_site *site,
                      struct http_action *a, int changes)
{
    const struct proto_str *host = http_header_get(r, "Host");
    const struct proto_str *origin = http_header_get(r, "Origin");
    const struct proto_str *fetch = http_header_get(r, "Sec-Fetch-Site");
    if (origin != NULL && site->cors != NULL && eq_nocase(origin->ptr, origin->len, site->cors))
        a->cors = 1;
    if (host == NULL) {
        if (r->version_minor >= 1) {
            refuse(a, 400, PROTO_E_SYNTAX, NULL, "HTTP/1.1 needs a Host header", NULL);
            return -1;
        }
    } else {
        /* The name without its port. */
        size_t n = host->len;
        const char *h = host->ptr;
        const char *colon = NULL;
        if (n > 0 && h[0] == '[') {
            const char *rb = memchr(h, ']', n);
            colon = rb != NULL && (size_t)(rb - h) + 1 < n ? rb + 1 : NULL;
        } else {
            colon = memchr(h, ':', n);
        }
        size_t hn = colon ? (size_t)(colon - h) : n;
        int ok = ip_literal(h, hn) || eq_nocase(h, hn, "localhost") || eq_nocase(h, hn, site->bind);
        for (size_t i = 0; !ok && i < site->nhosts; i++)
            ok = eq_nocase(h, hn, site->hosts[i]);
        if (!ok) {
            refuse(a, 403, PROTO_E_NONE, "FORBIDDEN",
                   "the Host header does not name this server (see --http-host)", NULL);
            return -1;
        }
    }
    if (!changes || a->cors)
        return 0;
    int foreign = fetch != NULL && eq_nocase(fetch->ptr, fetch->len, "cross-site");
    if (origin != NULL) {
        /* Same origin: "http://" and the Host header, exactly. */
        static const char scheme[] = "http://";
        size_t sl = sizeof(scheme) - 1;
        if (host == NULL || origin->len != sl + host->len ||
            strncasecmp(origin->ptr, scheme, sl) != 0 ||
            strncasecmp(origin->ptr + sl, host->ptr, host->len) != 0)
            foreign = 1;
    }
    if (foreign) {
        refuse(a, 403, PROTO_E_NONE, "FORBIDDEN",
               "a page of another origin may not change tasks here (see --http-cors)", NULL);
        return -1;
    }
    return 0;
}

void http_route_request(const struct http_request *r, const struct http_site *site,
                        struct http_action *a)
{
    a->line.len = 0;
    a->route = HTTP_R_ERROR;
    a->status = 200;
    a->code = PROTO_E_NONE;
    a->errname = NULL;
    a->msg[0] = '\0';
    a->then_get = 0;
    a->replace_tags = 0;
    a->id = (struct proto_str){"", 0};
    a->cors = 0;
    a->allow = NULL;
    a->list[0] = '\0';
    a->needs_user = 0;

    const char *q = memchr(r->target.ptr, '?', r->target.len);
    struct proto_str path = {r->target.ptr, q ? (size_t)(q - r->target.ptr) : r->target.len};
    struct proto_str query = {q ? q + 1 : "", q ? r->target.len - path.len - 1 : 0};
    a->path = path;
    if (path.len == 0 || path.ptr[0] != '/') {
        refuse(a, 400, PROTO_E_SYNTAX, NULL, "the target must be a path", NULL);
        return;
    }
    int changes = !(method_is(r, "GET") || method_is(r, "HEAD") || method_is(r, "OPTIONS"));
    if (site != NULL && check_site(r, site, a, changes) != 0)
        return;
    if (method_is(r, "OPTIONS")) {
        a->route = HTTP_R_OPTIONS;
        a->status = 204;
        return;
    }
    static const char api[] = "/api/";
    if (path.len < sizeof(api) - 1 || memcmp(path.ptr, api, sizeof(api) - 1) != 0) {
        /* The page's files, or the tutorial's GET/key/field and
         * POST/key=text/field (worker.c tries the files first). */
        if (method_is(r, "GET") || method_is(r, "HEAD"))
            a->route = HTTP_R_ASSET;
        else if (method_is(r, "POST"))
            a->route = HTTP_R_LEGACY;
        else
            not_allowed(a, "GET, HEAD, POST");
        return;
    }
    struct proto_str sub = {path.ptr + sizeof(api) - 1, path.len - (sizeof(api) - 1)};
    int get = method_is(r, "GET") || method_is(r, "HEAD"), post = method_is(r, "POST");
    static const struct proto_str none = {"", 0};
    int in_list = 1; /* the route works in a list, and takes list= */

    if (path_is(sub, "tasks")) {
        if (get) {
            command(r, a, PROTO_CMD_LIST, none);
            if (a->route == HTTP_R_COMMAND)
                (void)list_query(query, a, 0);
        } else if (post) {
            json_t *j = json_body(r, a);
            if (j == NULL)
                return;
            command(r, a, PROTO_CMD_ADD, none);
            if (a->route == HTTP_R_COMMAND && task_fields(j, a, 0) >= 0) {
                a->status = 201;
                a->then_get = 1;
            }
            json_decref(j);
        } else {
            not_allowed(a, "GET, HEAD, POST");
        }
    } else if (sub.len > 6 && memcmp(sub.ptr, "tasks/", 6) == 0) {
        task_path(r, a, (struct proto_str){sub.ptr + 6, sub.len - 6});
    } else if (path_is(sub, "tags") || path_is(sub, "stats")) {
        if (get)
            command(r, a, path_is(sub, "tags") ? PROTO_CMD_TAGS : PROTO_CMD_STATS, none);
        else
            not_allowed(a, "GET, HEAD");
    } else if (path_is(sub, "undo")) {
        if (!post)
            not_allowed(a, "POST");
        else if (no_foreign_body(r, a) == 0)
            command(r, a, PROTO_CMD_UNDO, none);
    } else if (path_is(sub, "events")) {
        if (!method_is(r, "GET")) {
            not_allowed(a, "GET");
            return;
        }
        command(r, a, PROTO_CMD_WATCH, none);
        if (a->route == HTTP_R_COMMAND && list_query(query, a, 1) == 0)
            a->route = HTTP_R_EVENTS;
    } else if (path_is(sub, "login")) {
        if (!post) {
            not_allowed(a, "POST");
            return;
        }
        json_t *j = json_body(r, a);
        if (j == NULL)
            return;
        json_t *pw = json_object_get(j, "password");
        /* With "user", as AUTH USER PASSWORD: a user of a server with
         * accounts (the name is checked by AUTH's parser: 400 if it is no
         * name). */
        json_t *user = json_object_get(j, "user");
        if (!json_is_string(pw) || (user != NULL && !json_is_string(user))) {
            refuse(a, 400, PROTO_E_ARGS, NULL,
                   "the body is {\"password\": \"...\"}, or {\"user\": \"...\", \"password\": "
                   "\"...\"}",
                   NULL);
        } else {
            command(r, a, PROTO_CMD_AUTH, none);
            if (a->route == HTTP_R_COMMAND &&
                (user == NULL ||
                 word(a, "", json_string_value(user), json_string_length(user), 1) == 0) &&
                word(a, "", json_string_value(pw), json_string_length(pw), 1) == 0)
                a->route = HTTP_R_LOGIN;
        }
        json_decref(j);
    } else if (path_is(sub, "session")) {
        if (get)
            a->route = HTTP_R_SESSION;
        else
            not_allowed(a, "GET, HEAD");
    } else if (path_is(sub, "shares")) {
        /* SHARES, and SHARE USER: the caller's own list is the one shared,
         * whatever list= says, so these take none. */
        in_list = 0;
        if (get) {
            command(r, a, PROTO_CMD_SHARES, none);
        } else if (post) {
            json_t *j = json_body(r, a);
            if (j == NULL)
                return;
            json_t *u = json_object_get(j, "user");
            if (!json_is_string(u) ||
                !proto_valid_user(json_string_value(u), json_string_length(u)))
                refuse(a, 400, PROTO_E_ARGS, NULL,
                       "the body is {\"user\": \"...\"}, the name of a user", NULL);
            else
                command(r, a, PROTO_CMD_SHARE,
                        (struct proto_str){json_string_value(u), json_string_length(u)});
            json_decref(j);
        } else {
            not_allowed(a, "GET, HEAD, POST");
        }
        a->needs_user = a->route == HTTP_R_COMMAND;
    } else if (sub.len > 7 && memcmp(sub.ptr, "shares/", 7) == 0) {
        /* /api/shares/{user}: DELETE is UNSHARE USER. */
        struct proto_str u = {sub.ptr + 7, sub.len - 7};
        in_list = 0;
        if (!proto_valid_user(u.ptr, u.len)) {
            refuse(a, 404, PROTO_E_NOTFOUND, NULL, "no such share", NULL);
        } else if (!method_is(r, "DELETE")) {
            not_allowed(a, "DELETE");
        } else if (no_foreign_body(r, a) == 0) {
            command(r, a, PROTO_CMD_UNSHARE, u);
            a->needs_user = a->route == HTTP_R_COMMAND;
        }
    } else {
        refuse(a, 404, PROTO_E_NONE, "NOTFOUND", "no such path", NULL);
    }
    if (in_list && (a->route == HTTP_R_COMMAND || a->route == HTTP_R_EVENTS))
        (void)list_param(query, a);
}
