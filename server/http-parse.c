/*
 * http-parse.c - HTTP/1.x requests from arbitrary chunks, over llhttp
 * (http-parse.h).
 *
 * llhttp calls back with spans of the bytes fed (a method, a target, a
 * header's name or value may come in several pieces across chunks); each
 * is copied into the parser's head buffer, its bounds kept as offsets.
 * When a request ends, on_message_complete pauses llhttp, so that it
 * stops right after that request and the bytes of a pipelined one stay
 * unread; the next call resumes it.
 *
 * The head limit is exact: while the headers have not ended, llhttp is fed
 * at most the bytes that the limit leaves, so a request whose line and
 * headers would pass it is refused once it has sent that many.
 */
#include "http-parse.h"

#include <stdio.h>
#include <string.h>

static struct http_parser *of(llhttp_t *ll)
{
    return ll->data;
}

/* Records the error (the first one only) and stops llhttp with it. */
static int fail(struct http_parser *p, int status, const char *msg)
{
    if (p->status == 0) {
        p->status = status;
        snprintf(p->err, sizeof(p->err), "%s", msg);
    }
    return HPE_USER;
}

static int span(struct http_parser *p, const char *at, size_t n)
{
    /* Bounded by the fed bytes, which are bounded by max_head already;
     * this keeps the copy within it whatever llhttp hands us. */
    if (p->head.len + n > p->lim.max_head)
        return fail(p, 431, "the request line and headers are too long");
    if (proto_buf_append(&p->head, at, n) != 0)
        return fail(p, 503, "out of memory");
    return 0;
}

static int on_method(llhttp_t *ll, const char *at, size_t n)
{
    return span(of(ll), at, n);
}

static int on_method_complete(llhttp_t *ll)
{
    struct http_parser *p = of(ll);
    p->method_end = p->head.len;
    p->target_start = p->target_end = p->head.len;
    return 0;
}

static int on_url(llhttp_t *ll, const char *at, size_t n)
{
    return span(of(ll), at, n);
}

static int on_url_complete(llhttp_t *ll)
{
    of(ll)->target_end = of(ll)->head.len;
    return 0;
}

/*
 * No error may be decided in a span callback (on_method, on_url,
 * on_header_field, on_header_value) from what has come of the span so far:
 * llhttp hands a span over when it ends or when the bytes fed run out, and
 * when it meets a malformed byte inside a span it returns the error without
 * handing over the part before it. A check made on the first bytes of a
 * span would then run when the span is split across calls (the last call
 * ended inside it) and not when it comes whole, and the same bytes would
 * get two different answers. So the header count is checked once the name
 * has ended, in on_header_field_complete, which llhttp calls at the same
 * byte however the stream is split; the name of the header one past the
 * limit is kept meanwhile in the spare slot of the arrays (http-parse.h).
 */
static int on_header_field(llhttp_t *ll, const char *at, size_t n)
{
    struct http_parser *p = of(ll);
    if (!p->field_open) {
        p->name_start[p->nheaders] = p->head.len;
        p->nheaders++;
        p->field_open = 1;
    }
    return span(p, at, n);
}

/* RFC 9110's tchar: what a header's name is made of. llhttp 8 lets a
 * blank through ("Bad Header: x"), which two parsers could read as two
 * different headers; we refuse it. */
static int is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int on_header_field_complete(llhttp_t *ll)
{
    struct http_parser *p = of(ll);
    size_t i = p->nheaders - 1;
    p->field_open = 0;
    p->name_end[i] = p->head.len;
    if (p->name_end[i] == p->name_start[i])
        return fail(p, 400, "malformed request: a header without a name");
    for (size_t k = p->name_start[i]; k < p->name_end[i]; k++)
        if (!is_tchar((unsigned char)p->head.data[k]))
            return fail(p, 400, "malformed request: a header name holds a character it may not");
    /* After the name's own checks, so that a malformed name is a 400
     * whether llhttp or the loop above finds it. */
    if (p->nheaders > HTTP_MAX_HEADERS)
        return fail(p, 431, "more than 64 headers");
    /* A value may be empty, and then no span comes for it. */
    p->value_start[i] = p->value_end[i] = p->head.len;
    return 0;
}

static int on_header_value(llhttp_t *ll, const char *at, size_t n)
{
    return span(of(ll), at, n);
}

static int on_header_value_complete(llhttp_t *ll)
{
    struct http_parser *p = of(ll);
    p->value_end[p->nheaders - 1] = p->head.len;
    return 0;
}

static int eq_nocase(const char *a, size_t n, const char *b)
{
    if (strlen(b) != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char x = a[i] >= 'A' && a[i] <= 'Z' ? (char)(a[i] - 'A' + 'a') : a[i];
        char y = b[i] >= 'A' && b[i] <= 'Z' ? (char)(b[i] - 'A' + 'a') : b[i];
        if (x != y)
            return 0;
    }
    return 1;
}

/* The value of header i without the blanks llhttp leaves at its end. */
static struct proto_str value_of(const struct http_parser *p, size_t i)
{
    size_t s = p->value_start[i], e = p->value_end[i];
    while (e > s && (p->head.data[e - 1] == ' ' || p->head.data[e - 1] == '\t'))
        e--;
    return (struct proto_str){p->head.data ? p->head.data + s : "", e - s};
}

static int on_headers_complete(llhttp_t *ll)
{
    struct http_parser *p = of(ll);
    p->headers_done = 1;
    if (ll->http_major != 1)
        return fail(p, 505, "only HTTP/1.0 and HTTP/1.1 are served");
    /* Refused before the body comes, so a client that waits for "100
     * Continue" never sends it. */
    if ((ll->flags & F_CONTENT_LENGTH) && ll->content_length > p->lim.max_body)
        return fail(p, 413, "the body is larger than the server takes");
    for (size_t i = 0; i < p->nheaders; i++) {
        struct proto_str v = value_of(p, i);
        if (eq_nocase(p->head.data + p->name_start[i], p->name_end[i] - p->name_start[i],
                      "expect") &&
            eq_nocase(v.ptr, v.len, "100-continue"))
            p->expect_continue = 1;
    }
    return 0;
}

static int on_body(llhttp_t *ll, const char *at, size_t n)
{
    struct http_parser *p = of(ll);
    if (p->body.len + n > p->lim.max_body)
        return fail(p, 413, "the body is larger than the server takes");
    if (proto_buf_append(&p->body, at, n) != 0)
        return fail(p, 503, "out of memory");
    return 0;
}

static int on_message_complete(llhttp_t *ll)
{
    of(ll)->message_done = 1;
    /* Stop right after this request: what follows is the next one's. */
    return HPE_PAUSED;
}

void http_parser_init(struct http_parser *p, const struct http_limits *lim)
{
    memset(p, 0, sizeof(*p));
    p->lim.max_head = lim && lim->max_head ? lim->max_head : HTTP_MAX_HEAD_DEFAULT;
    p->lim.max_body = lim && lim->max_body ? lim->max_body : PROTO_MAX_LINE_DEFAULT;
    llhttp_settings_init(&p->settings);
    p->settings.on_method = on_method;
    p->settings.on_method_complete = on_method_complete;
    p->settings.on_url = on_url;
    p->settings.on_url_complete = on_url_complete;
    p->settings.on_header_field = on_header_field;
    p->settings.on_header_field_complete = on_header_field_complete;
    p->settings.on_header_value = on_header_value;
    p->settings.on_header_value_complete = on_header_value_complete;
    p->settings.on_headers_complete = on_headers_complete;
    p->settings.on_body = on_body;
    p->settings.on_message_complete = on_message_complete;
    llhttp_init(&p->ll, HTTP_REQUEST, &p->settings);
    p->ll.data = p;
    proto_buf_init(&p->head, 0);
    proto_buf_init(&p->body, 0);
}

void http_parser_free(struct http_parser *p)
{
    proto_buf_free(&p->head);
    proto_buf_free(&p->body);
}

/* Forgets the request answered, for the next one. */
static void next_request(struct http_parser *p)
{
    p->head.len = 0;
    p->body.len = 0;
    p->method_end = p->target_start = p->target_end = 0;
    p->nheaders = 0;
    p->field_open = 0;
    p->head_fed = 0;
    p->headers_done = 0;
    p->message_done = 0;
    p->expect_continue = 0;
}

static void fill(const struct http_parser *p, struct http_request *r)
{
    const char *h = p->head.data ? p->head.data : "";
    memset(r, 0, sizeof(*r));
    r->method = llhttp_method_name((llhttp_method_t)p->ll.method);
    r->target = (struct proto_str){h + p->target_start, p->target_end - p->target_start};
    r->version_major = p->ll.http_major;
    r->version_minor = p->ll.http_minor;
    for (size_t i = 0; i < p->nheaders; i++) {
        r->headers[i].name =
            (struct proto_str){h + p->name_start[i], p->name_end[i] - p->name_start[i]};
        r->headers[i].value = value_of(p, i);
    }
    r->nheaders = p->nheaders;
    r->body = (struct proto_str){p->body.data ? p->body.data : "", p->body.len};
    r->keep_alive = llhttp_should_keep_alive(&p->ll) != 0;
    r->chunked = (p->ll.flags & F_CHUNKED) != 0;
    r->upgrade = p->ll.upgrade != 0;
}

/* Turns llhttp's error into ours (unless a callback set one). */
static enum proto_status failed(struct http_parser *p, llhttp_errno_t e)
{
    if (p->status == 0) {
        p->status = e == HPE_INVALID_VERSION ? 505 : 400;
        const char *why = llhttp_get_error_reason(&p->ll);
        snprintf(p->err, sizeof(p->err), "malformed request: %s%s%s", llhttp_errno_name(e),
                 why && *why ? ": " : "", why ? why : "");
    }
    return PROTO_ERROR;
}

enum proto_status http_parse(struct http_parser *p, const char *data, size_t len, size_t *used,
                             struct http_request *req)
{
    *used = 0;
    if (p->status != 0)
        return PROTO_ERROR;
    if (p->upgraded) {
        fail(p, 400, "nothing may follow CONNECT or an upgrade");
        return PROTO_ERROR;
    }
    if (p->message_done) {
        next_request(p);
        llhttp_resume(&p->ll);
    }
    while (*used < len) {
        const char *at = data + *used;
        size_t n = len - *used;
        int head = !p->headers_done;
        if (head) {
            size_t room = p->lim.max_head - p->head_fed;
            if (room == 0)
                break;
            if (n > room)
                n = room;
        }
        llhttp_errno_t e = llhttp_execute(&p->ll, at, n);
        size_t took = n;
        if (e == HPE_PAUSED || e == HPE_PAUSED_UPGRADE)
            took = (size_t)(llhttp_get_error_pos(&p->ll) - at);
        else if (e != HPE_OK)
            return failed(p, e);
        if (head)
            p->head_fed += took;
        *used += took;
        if (e == HPE_PAUSED_UPGRADE) {
            p->upgraded = 1;
            fill(p, req);
            req->upgrade = 1;
            return PROTO_COMPLETE;
        }
        if (p->message_done) {
            fill(p, req);
            /* What follows an upgrade is another protocol's, not ours. */
            p->upgraded = req->upgrade;
            return PROTO_COMPLETE;
        }
    }
    if (!p->headers_done && p->head_fed >= p->lim.max_head) {
        fail(p, 431, "the request line and headers are too long");
        return PROTO_ERROR;
    }
    return PROTO_NEED_MORE;
}

int http_parse_wants_continue(const struct http_parser *p)
{
    return p->expect_continue && p->headers_done && !p->message_done && p->status == 0;
}

const struct proto_str *http_header_get(const struct http_request *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (eq_nocase(r->headers[i].name.ptr, r->headers[i].name.len, name))
            return &r->headers[i].value;
    return NULL;
}
