/*
 * fuzz_route.c - libFuzzer target for the HTTP front end's routing
 * (http_route_request in server/http-front.c) over what the request parser
 * (server/http-parse.c) makes of arbitrary bytes.
 *
 * The input's first byte chooses who the server is (no site checks, or a
 * bind address with or without an --http-host name and an --http-cors
 * origin); the rest is a byte stream as a client might send it, parsed
 * whole, and every complete request in it is routed. What must hold, each
 * checked against a table of its own here rather than the router's code:
 *
 *   - the route is a pure function of the request: routed twice, the same;
 *   - the command a request runs is decided by its method and path alone,
 *     never by its body or query: the line the route builds is one line (no
 *     CR, LF or NUL), starts with the verb the method and path call for,
 *     names the path's id, and when libproto parses it, it is that command
 *     (a body cannot smuggle a second command or another verb in);
 *   - a request that runs a command with a body sent it as application/json
 *     (an HTML form cannot: the cross-protocol attack);
 *   - with site checks, a request is routed only when its Host names this
 *     server, and one that can change something is refused when its Origin
 *     or Sec-Fetch-Site says another site, unless that is the CORS origin;
 *   - refusals have a status of the documented set, a code and a sentence,
 *     and http_error_response makes a whole response of them.
 */
#include "fuzz_common.h"

#include <strings.h>

#include "http-front.h"
#include "http-parse.h"

static const char *const hosts[] = {"todo.lan"};

static int eq_nocase(const char *a, size_t n, const char *b)
{
    return strlen(b) == n && strncasecmp(a, b, n) == 0;
}

static int is_method(const struct http_request *r, const char *m)
{
    return strcmp(r->method, m) == 0;
}

/* The verb a request's method and path call for, or PROTO_CMD_NONE when
 * none may run (docs/HTTP.md's table, written out again). */
static enum proto_cmd expected_cmd(const struct http_request *r, struct proto_str path,
                                   struct proto_str *id)
{
    int get = is_method(r, "GET") || is_method(r, "HEAD"), post = is_method(r, "POST");
    const char *p = path.ptr;
    size_t n = path.len;
    id->ptr = "";
    id->len = 0;
#define IS(s) (n == sizeof(s) - 1 && memcmp(p, s, n) == 0)
    if (IS("/api/tasks"))
        return get ? PROTO_CMD_LIST : post ? PROTO_CMD_ADD : PROTO_CMD_NONE;
    if (IS("/api/tags"))
        return get ? PROTO_CMD_TAGS : PROTO_CMD_NONE;
    if (IS("/api/stats"))
        return get ? PROTO_CMD_STATS : PROTO_CMD_NONE;
    if (IS("/api/undo"))
        return post ? PROTO_CMD_UNDO : PROTO_CMD_NONE;
    if (IS("/api/events"))
        return is_method(r, "GET") ? PROTO_CMD_WATCH : PROTO_CMD_NONE;
    if (IS("/api/login"))
        return post ? PROTO_CMD_AUTH : PROTO_CMD_NONE;
    if (IS("/api/shares"))
        return get ? PROTO_CMD_SHARES : post ? PROTO_CMD_SHARE : PROTO_CMD_NONE;
#undef IS
    static const char shares[] = "/api/shares/";
    if (n > sizeof(shares) - 1 && memcmp(p, shares, sizeof(shares) - 1) == 0)
        return is_method(r, "DELETE") ? PROTO_CMD_UNSHARE : PROTO_CMD_NONE;
    static const char tasks[] = "/api/tasks/";
    size_t tl = sizeof(tasks) - 1;
    if (n <= tl || memcmp(p, tasks, tl) != 0)
        return PROTO_CMD_NONE;
    const char *rest = p + tl, *end = p + n;
    const char *slash = memchr(rest, '/', (size_t)(end - rest));
    id->ptr = rest;
    id->len = (size_t)((slash ? slash : end) - rest);
    if (slash == NULL) {
        if (get)
            return PROTO_CMD_GET;
        if (is_method(r, "DELETE"))
            return PROTO_CMD_DEL;
        if (is_method(r, "PATCH"))
            return PROTO_CMD_EDIT;
        return PROTO_CMD_NONE;
    }
    size_t tail = (size_t)(end - slash);
    if (post && tail == 5 && memcmp(slash, "/done", 5) == 0)
        return PROTO_CMD_DONE;
    if (post && tail == 7 && memcmp(slash, "/undone", 7) == 0)
        return PROTO_CMD_UNDONE;
    return PROTO_CMD_NONE;
}

/* Whether the Host header (without its port) names this server: an IP
 * literal, localhost, the bind address or an --http-host name. */
static int host_ok(const struct proto_str *h, const struct http_site *site)
{
    size_t n = h->len;
    if (n > 0 && h->ptr[0] == '[') {
        const char *rb = memchr(h->ptr, ']', n);
        if (rb != NULL && (size_t)(rb - h->ptr) + 1 <= n)
            n = (size_t)(rb - h->ptr) + 1;
        if (n >= 2 && h->ptr[n - 1] == ']')
            return 1;
    } else {
        const char *colon = memchr(h->ptr, ':', n);
        if (colon != NULL)
            n = (size_t)(colon - h->ptr);
    }
    int digits = n > 0;
    for (size_t i = 0; i < n; i++)
        digits &= (h->ptr[i] >= '0' && h->ptr[i] <= '9') || h->ptr[i] == '.';
    if (digits || eq_nocase(h->ptr, n, "localhost") || eq_nocase(h->ptr, n, site->bind))
        return 1;
    for (size_t i = 0; i < site->nhosts; i++)
        if (eq_nocase(h->ptr, n, site->hosts[i]))
            return 1;
    return 0;
}

static void check_route(const struct http_request *r, const struct http_site *site,
                        struct http_action *a, struct http_action *b)
{
    http_route_request(r, site, a);
    http_route_request(r, site, b);
    CHECK(a->route == b->route && a->status == b->status && a->code == b->code);
    CHECK(a->line.len == b->line.len &&
          (a->line.len == 0 || memcmp(a->line.data, b->line.data, a->line.len) == 0));
    CHECK(a->then_get == b->then_get && a->replace_tags == b->replace_tags && a->cors == b->cors);
    CHECK(a->route >= HTTP_R_ERROR && a->route <= HTTP_R_OPTIONS);
    CHECK(strcmp(a->list, b->list) == 0 && a->needs_user == b->needs_user);
    /* A list= that got through is a user's name, and asks for a user. */
    CHECK(a->list[0] == '\0' || (proto_valid_user(a->list, strlen(a->list)) && a->needs_user));

    /* What the route points at lies in the request's target. */
    const char *t0 = r->target.ptr, *t1 = r->target.ptr + r->target.len;
    CHECK(a->path.len == 0 || (a->path.ptr >= t0 && a->path.ptr + a->path.len <= t1));
    CHECK(a->id.len == 0 || (a->id.ptr >= t0 && a->id.ptr + a->id.len <= t1));

    if (a->route == HTTP_R_ERROR) {
        CHECK(a->status == 400 || a->status == 404 || a->status == 405 || a->status == 413 ||
              a->status == 415 || (a->status == 403 && site != NULL));
        CHECK(a->code != PROTO_E_NONE || a->errname != NULL);
        CHECK(a->msg[0] != '\0');
        CHECK((a->status == 405) == (a->allow != NULL)); /* a 405 names what the path takes */
        struct proto_buf out;
        proto_buf_init(&out, 0);
        const char *name = a->errname ? a->errname : proto_err_name(a->code);
        CHECK(http_error_response(&out, a->status, name, a->msg, 1, 0) == 0);
        char head[32];
        int k = snprintf(head, sizeof(head), "HTTP/1.1 %d ", a->status);
        CHECK(out.len > (size_t)k && memcmp(out.data, head, (size_t)k) == 0);
        proto_buf_free(&out);
        return;
    }

    /* Past the site checks: the Host names this server, and a change from
     * another site's page was refused (but for the CORS origin). */
    int changes = !(is_method(r, "GET") || is_method(r, "HEAD") || is_method(r, "OPTIONS"));
    if (site != NULL) {
        const struct proto_str *host = http_header_get(r, "Host");
        CHECK(host != NULL ? host_ok(host, site) : r->version_minor == 0);
        const struct proto_str *origin = http_header_get(r, "Origin");
        const struct proto_str *fetch = http_header_get(r, "Sec-Fetch-Site");
        int cors =
            origin != NULL && site->cors != NULL && eq_nocase(origin->ptr, origin->len, site->cors);
        CHECK(a->cors == cors);
        if (changes && !cors) {
            CHECK(fetch == NULL || !eq_nocase(fetch->ptr, fetch->len, "cross-site"));
            if (origin != NULL) {
                CHECK(host != NULL && origin->len == 7 + host->len &&
                      strncasecmp(origin->ptr, "http://", 7) == 0 &&
                      strncasecmp(origin->ptr + 7, host->ptr, host->len) == 0);
            }
        }
    }

    struct proto_str id;
    enum proto_cmd want = expected_cmd(r, a->path, &id);
    if (a->route == HTTP_R_OPTIONS) {
        CHECK(is_method(r, "OPTIONS") && a->status == 204);
        return;
    }
    if (a->route == HTTP_R_ASSET || a->route == HTTP_R_LEGACY || a->route == HTTP_R_SESSION) {
        /* No command is built here: the page's files, the tutorial's two
         * (worker.c lets only those through), whether a login is needed. */
        CHECK(a->line.len == 0);
        if (a->route == HTTP_R_SESSION)
            CHECK(a->path.len == 12 && memcmp(a->path.ptr, "/api/session", 12) == 0);
        else
            CHECK(a->path.len < 5 || memcmp(a->path.ptr, "/api/", 5) != 0);
        CHECK(a->route != HTTP_R_LEGACY || is_method(r, "POST"));
        CHECK(a->route != HTTP_R_ASSET || is_method(r, "GET") || is_method(r, "HEAD"));
        return;
    }

    /* A command: the one the method and path call for, in one line. */
    CHECK(want != PROTO_CMD_NONE);
    CHECK((a->route == HTTP_R_EVENTS) == (want == PROTO_CMD_WATCH));
    CHECK((a->route == HTTP_R_LOGIN) == (want == PROTO_CMD_AUTH));
    CHECK(a->status == (want == PROTO_CMD_ADD ? 201 : 200));
    CHECK(a->line.len > 0);
    for (size_t i = 0; i < a->line.len; i++)
        CHECK(a->line.data[i] != '\r' && a->line.data[i] != '\n' && a->line.data[i] != '\0');
    const char *verb = proto_cmd_info(want)->name;
    size_t vl = strlen(verb);
    CHECK(a->line.len >= vl && memcmp(a->line.data, verb, vl) == 0 &&
          (a->line.len == vl || a->line.data[vl] == ' '));
    if (id.len > 0) {
        CHECK(a->id.len == id.len && memcmp(a->id.ptr, id.ptr, id.len) == 0);
        CHECK(a->line.len >= vl + 1 + id.len && memcmp(a->line.data + vl + 1, id.ptr, id.len) == 0);
    }
    if (r->body.len > 0 && want != PROTO_CMD_LIST && want != PROTO_CMD_GET &&
        want != PROTO_CMD_TAGS && want != PROTO_CMD_STATS && want != PROTO_CMD_WATCH &&
        want != PROTO_CMD_SHARES) {
        const struct proto_str *ct = http_header_get(r, "Content-Type");
        CHECK(ct != NULL && ct->len >= 16 && strncasecmp(ct->ptr, "application/json", 16) == 0);
    }
    /* libproto reads the line as that command, or refuses it; never as
     * another. */
    static char scratch[4 * PROTO_MAX_LINE_DEFAULT + 4096];
    struct proto_request req;
    char err[256];
    enum proto_err e = proto_request_parse_dated(
        a->line.data, a->line.len, scratch, sizeof(scratch), "2026-12-03", &req, err, sizeof(err));
    if (e == PROTO_E_NONE) {
        CHECK(req.cmd == want);
        if (id.len > 0)
            CHECK(req.id.len == id.len && memcmp(req.id.ptr, id.ptr, id.len) == 0);
    } else {
        CHECK(err[0] != '\0');
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct http_site site = {.bind = "127.0.0.1", .hosts = hosts, .nhosts = 0, .cors = NULL};
    if (data[0] & 2)
        site.nhosts = 1;
    if (data[0] & 4)
        site.cors = "https://app.example";
    if (data[0] & 8)
        site.bind = "0.0.0.0";
    const struct http_site *s = (data[0] & 1) ? NULL : &site;
    const char *in = (const char *)data + 1;
    size_t len = size - 1, off = 0;

    struct http_parser p;
    struct http_request r;
    struct http_action a, b;
    http_parser_init(&p, NULL);
    proto_buf_init(&a.line, 4 * PROTO_MAX_LINE_DEFAULT + 4096);
    proto_buf_init(&b.line, 4 * PROTO_MAX_LINE_DEFAULT + 4096);
    while (off < len) {
        size_t used;
        enum proto_status st = http_parse(&p, in + off, len - off, &used, &r);
        off += used;
        if (st != PROTO_COMPLETE)
            break;
        check_route(&r, s, &a, &b);
        if (r.upgrade)
            break;
    }
    /* Percent-decoding, which the query and the tutorial's path go through:
     * never longer than what it decodes, never a control byte. */
    char *dec = malloc(len + 1);
    CHECK(dec != NULL);
    long n = http_pct_decode(in, len, dec, data[0] & 16);
    CHECK(n >= -1 && n <= (long)len);
    for (long i = 0; i < n; i++)
        CHECK((unsigned char)dec[i] >= 0x20 && (unsigned char)dec[i] != 0x7f);
    free(dec);
    proto_buf_free(&a.line);
    proto_buf_free(&b.line);
    http_parser_free(&p);
    return 0;
}
