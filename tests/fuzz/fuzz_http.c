/*
 * fuzz_http.c - libFuzzer target for the HTTP request parser
 * (server/http-parse.c over llhttp).
 *
 * The input's first byte chooses the limits; the rest is a byte stream as
 * a client might send it. It is fed three ways (all at once, byte by byte
 * and in pseudo-random chunks), each copied into an exact-size heap block
 * per call so that a read past what was fed crashes, and the three must
 * give the same requests and the same final status. Every request's
 * strings must lie within the parser's own copies, and within the limits.
 */
#include "fuzz_common.h"

#include "http-parse.h"

/* Writes every request fed as by next (NULL: all at once) to log, then
 * the final state. */
static void feed(const char *in, size_t len, const struct http_limits *lim, struct chunker *c,
                 int bytewise, struct proto_buf *log)
{
    struct http_parser p;
    struct http_request r;
    size_t start = 0, end = 0, used;
    http_parser_init(&p, lim);
    for (;;) {
        if (start == end) {
            if (end == len)
                break;
            size_t n = bytewise ? 1 : c ? chunker_next(c, len - end) : len - end;
            end += n < len - end ? n : len - end;
        }
        /* The bytes not taken yet, alone in a block of their own size. */
        char *buf = exact_alloc(end - start);
        memcpy(buf, in + start, end - start);
        enum proto_status st = http_parse(&p, buf, end - start, &used, &r);
        free(buf);
        CHECK(used <= end - start);
        start += used;
        if (st == PROTO_ERROR) {
            CHECK(p.status == 400 || p.status == 413 || p.status == 431 || p.status == 505 ||
                  p.status == 503);
            CHECK(p.err[0] != '\0');
            char e[32];
            int k = snprintf(e, sizeof(e), "E%d", p.status);
            log_append(log, e, (size_t)k);
            http_parser_free(&p);
            return;
        }
        if (st == PROTO_NEED_MORE) {
            CHECK(start == end);
            continue;
        }
        CHECK(r.method != NULL);
        CHECK(r.nheaders <= HTTP_MAX_HEADERS);
        CHECK(r.body.len <= p.lim.max_body);
        size_t head = r.target.len;
        log_str(log, 'M', r.method, strlen(r.method));
        log_str(log, 'T', r.target.ptr, r.target.len);
        char v[64];
        int k = snprintf(v, sizeof(v), "V%d.%d/%d%d%d", r.version_major, r.version_minor,
                         r.keep_alive, r.chunked, r.upgrade);
        log_append(log, v, (size_t)k);
        for (size_t i = 0; i < r.nheaders; i++) {
            head += r.headers[i].name.len + r.headers[i].value.len;
            CHECK(r.headers[i].name.len > 0);
            log_str(log, 'H', r.headers[i].name.ptr, r.headers[i].name.len);
            log_str(log, 'h', r.headers[i].value.ptr, r.headers[i].value.len);
        }
        CHECK(head <= p.lim.max_head);
        log_str(log, 'B', r.body.ptr, r.body.len);
    }
    log_append(log, "end", 3);
    http_parser_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    /* Small limits as often as the defaults, so that 413 and 431 are met. */
    struct http_limits lim = {0, 0};
    if (data[0] & 1)
        lim.max_head = 32 + (size_t)(data[0] >> 1) * 8;
    if (data[0] & 2)
        lim.max_body = 1 + (data[0] >> 2);
    const char *in = (const char *)data + 1;
    size_t len = size - 1;
    struct proto_buf whole, bytes, chunks;
    struct chunker c;
    proto_buf_init(&whole, 0);
    proto_buf_init(&bytes, 0);
    proto_buf_init(&chunks, 0);
    chunker_init(&c, data, size, 17);
    feed(in, len, &lim, NULL, 0, &whole);
    feed(in, len, &lim, &c, 0, &chunks);
    if (len <= 8192)
        feed(in, len, &lim, NULL, 1, &bytes);
    CHECK(whole.len == chunks.len && memcmp(whole.data, chunks.data, whole.len) == 0);
    if (len <= 8192)
        CHECK(whole.len == bytes.len && memcmp(whole.data, bytes.data, whole.len) == 0);
    proto_buf_free(&whole);
    proto_buf_free(&bytes);
    proto_buf_free(&chunks);
    return 0;
}
