/*
 * test_http_parse.c - server/http-parse.c fed requests whole, byte by byte
 * and in random chunks: each way must give the same requests, the same
 * limits and the same errors, since a client's bytes may arrive cut
 * anywhere. Limits are checked at their edges (a head of exactly the
 * limit passes, one byte more is 431).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cmocka_analyzer.h"

#include "http-parse.h"

/* How the input is cut: 0 whole, 1 byte by byte, else a seed for chunks
 * of 1 to 64 bytes. */
struct cut {
    int how;
    uint64_t rng;
};

static size_t next_chunk(struct cut *c, size_t left)
{
    size_t n = left;
    if (c->how == 1)
        n = 1;
    else if (c->how > 1) {
        c->rng ^= c->rng << 13;
        c->rng ^= c->rng >> 7;
        c->rng ^= c->rng << 17;
        n = 1 + (size_t)(c->rng % 64);
    }
    return n < left ? n : left;
}

/* Appends a request as one line of text: what a test compares. */
static void describe(char *out, size_t cap, const struct http_request *r)
{
    size_t o = strlen(out);
    o += (size_t)snprintf(out + o, cap - o, "%s %.*s %d.%d ka=%d ch=%d up=%d", r->method,
                          (int)r->target.len, r->target.ptr, r->version_major, r->version_minor,
                          r->keep_alive, r->chunked, r->upgrade);
    for (size_t i = 0; i < r->nheaders && o < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, " [%.*s=%.*s]", (int)r->headers[i].name.len,
                              r->headers[i].name.ptr, (int)r->headers[i].value.len,
                              r->headers[i].value.ptr);
    if (o < cap)
        snprintf(out + o, cap - o, " body=%.*s\n", (int)r->body.len, r->body.ptr);
}

/* Feeds in[0..len) cut as c says, as a connection would: bytes a
 * complete request did not take are fed again with the next ones.
 * Writes every request, then "error STATUS" or "more" (bytes of an
 * unfinished request were taken) or "end". */
static void feed(const char *in, size_t len, const struct http_limits *lim, struct cut c, char *out,
                 size_t cap)
{
    struct http_parser p;
    struct http_request r;
    size_t start = 0, end = 0, used;
    int partial = 0;
    out[0] = '\0';
    http_parser_init(&p, lim);
    for (;;) {
        if (start == end) {
            if (end == len)
                break;
            end += next_chunk(&c, len - end);
        }
        enum proto_status st = http_parse(&p, in + start, end - start, &used, &r);
        assert_true(used <= end - start);
        start += used;
        if (st == PROTO_COMPLETE) {
            describe(out, cap, &r);
            partial = 0;
            continue;
        }
        if (st == PROTO_ERROR) {
            size_t o = strlen(out);
            snprintf(out + o, cap - o, "error %d", p.status);
            assert_true(p.err[0] != '\0');
            /* Sticky. */
            assert_int_equal(http_parse(&p, "GET / HTTP/1.1\r\n\r\n", 18, &used, &r), PROTO_ERROR);
            assert_int_equal(used, 0);
            http_parser_free(&p);
            return;
        }
        assert_int_equal(start, end); /* need more: everything was taken */
        partial = 1;
    }
    size_t o = strlen(out);
    snprintf(out + o, cap - o, "%s", partial && start > 0 ? "more" : "end");
    http_parser_free(&p);
}

/* Feeds in whole, byte by byte and in 300 random cuts; each must give
 * want. */
static void expect_cut(const char *in, size_t len, const struct http_limits *lim, const char *want)
{
    static char got[16384];
    for (int how = 0; how < 302; how++) {
        struct cut c = {how, 0x9e3779b97f4a7c15ull * (uint64_t)(how + 1)};
        feed(in, len, lim, c, got, sizeof(got));
        if (strcmp(got, want) != 0)
            fail_msg("cut %d of [%.*s]:\n got: %s\nwant: %s", how, (int)len, in, got, want);
    }
}

static void expect_all(const char *in, const struct http_limits *lim, const char *want)
{
    expect_cut(in, strlen(in), lim, want);
}

static void test_simple(void **state)
{
    (void)state;
    expect_all("GET /api/tasks?status=all&tag=a HTTP/1.1\r\nHost: 127.0.0.1:9000\r\n"
               "Accept:  application/json  \r\nX-Empty:\r\n\r\n",
               NULL,
               "GET /api/tasks?status=all&tag=a 1.1 ka=1 ch=0 up=0 [Host=127.0.0.1:9000] "
               "[Accept=application/json] [X-Empty=] body=\nend");
    expect_all("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", NULL,
               "HEAD / 1.1 ka=1 ch=0 up=0 [Host=x] body=\nend");
    /* HTTP/1.0 closes unless asked not to; 1.1 keeps unless asked to close. */
    expect_all("GET / HTTP/1.0\r\n\r\n", NULL, "GET / 1.0 ka=0 ch=0 up=0 body=\nend");
    expect_all("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", NULL,
               "GET / 1.0 ka=1 ch=0 up=0 [Connection=keep-alive] body=\nend");
    expect_all("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", NULL,
               "GET / 1.1 ka=0 ch=0 up=0 [Connection=close] body=\nend");
    /* Nothing fed, or half a request: no request yet. */
    expect_all("", NULL, "end");
    expect_all("GET /api/tasks HTTP/1.1\r\nHost: x\r\n", NULL, "more");
}

static void test_bodies(void **state)
{
    (void)state;
    expect_all("POST /api/tasks HTTP/1.1\r\nContent-Type: application/json\r\n"
               "Content-Length: 19\r\n\r\n{\"text\":\"buy milk\"}",
               NULL,
               "POST /api/tasks 1.1 ka=1 ch=0 up=0 [Content-Type=application/json] "
               "[Content-Length=19] body={\"text\":\"buy milk\"}\nend");
    expect_all("PATCH /api/tasks/3 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
               "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n",
               NULL,
               "PATCH /api/tasks/3 1.1 ka=1 ch=1 up=0 [Transfer-Encoding=chunked] "
               "[X-Trailer=t] body=hello, world\nend");
    /* A body cut short is an unfinished request. */
    expect_all("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc", NULL, "more");
}

/* Requests one after another in the same bytes: each whole, in order. */
static void test_pipelined(void **state)
{
    (void)state;
    expect_all("GET /a HTTP/1.1\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi"
               "DELETE /api/tasks/7 HTTP/1.1\r\n\r\nGET /c HTTP/1.0\r\n\r\n",
               NULL,
               "GET /a 1.1 ka=1 ch=0 up=0 body=\n"
               "POST /b 1.1 ka=1 ch=0 up=0 [Content-Length=2] body=hi\n"
               "DELETE /api/tasks/7 1.1 ka=1 ch=0 up=0 body=\n"
               "GET /c 1.0 ka=0 ch=0 up=0 body=\nend");
    /* A bad request after a good one: the good one is served first. */
    expect_all("GET /a HTTP/1.1\r\n\r\nFROB\r\n\r\n", NULL,
               "GET /a 1.1 ka=1 ch=0 up=0 body=\nerror 400");
}

/* Expect: 100-continue is seen once the headers are in, until the body is. */
static void test_continue(void **state)
{
    (void)state;
    struct http_parser p;
    struct http_request r;
    size_t used;
    const char *head = "POST /api/tasks HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 4\r\n";
    http_parser_init(&p, NULL);
    assert_int_equal(http_parse(&p, head, strlen(head), &used, &r), PROTO_NEED_MORE);
    assert_false(http_parse_wants_continue(&p)); /* the headers have not ended */
    assert_int_equal(http_parse(&p, "\r\n", 2, &used, &r), PROTO_NEED_MORE);
    assert_true(http_parse_wants_continue(&p));
    assert_int_equal(http_parse(&p, "ab", 2, &used, &r), PROTO_NEED_MORE);
    assert_true(http_parse_wants_continue(&p));
    assert_int_equal(http_parse(&p, "cd", 2, &used, &r), PROTO_COMPLETE);
    assert_false(http_parse_wants_continue(&p));
    assert_int_equal(r.body.len, 4);
    assert_non_null(http_header_get(&r, "EXPECT"));
    assert_null(http_header_get(&r, "Host"));
    /* The next request starts afresh. */
    assert_int_equal(http_parse(&p, "GET / HTTP/1.1\r\n\r\n", 18, &used, &r), PROTO_COMPLETE);
    assert_false(http_parse_wants_continue(&p));
    assert_int_equal(r.nheaders, 0);
    assert_int_equal(r.body.len, 0);
    http_parser_free(&p);
}

/* The head limit, exactly: a head of max_head bytes passes, one more is
 * 431, however the bytes are cut; and at most HTTP_MAX_HEADERS headers. */
static void test_head_limit(void **state)
{
    (void)state;
    struct http_limits lim = {.max_head = 256, .max_body = 64};
    char in[2048], want[1024];
    const char *pre = "GET / HTTP/1.1\r\nX-Pad: ";
    size_t fixed = strlen(pre) + 4; /* the value's CRLF and the final CRLF */
    for (size_t total = 250; total <= 258; total++) {
        size_t pad = total - fixed;
        snprintf(
            in, sizeof(in), "%s%.*s\r\n\r\n", pre, (int)pad,
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
        assert_int_equal(strlen(in), total);
        if (total <= 256)
            snprintf(want, sizeof(want), "GET / 1.1 ka=1 ch=0 up=0 [X-Pad=%.*s] body=\nend",
                     (int)pad, in + strlen(pre));
        else
            snprintf(want, sizeof(want), "error 431");
        expect_all(in, &lim, want);
    }
    /* A head that never ends is refused once it passes the limit. */
    memset(in, 'a', 1000);
    memcpy(in, "GET /", 5);
    expect_cut(in, 1000, &lim, "error 431");
    /* 64 headers pass, 65 do not, however the bytes are cut. */
    struct http_limits big = {.max_head = 4096};
    for (int n = 64; n <= 65; n++) {
        size_t o = (size_t)snprintf(in, sizeof(in), "GET / HTTP/1.1\r\n");
        size_t w = (size_t)snprintf(want, sizeof(want), "GET / 1.1 ka=1 ch=0 up=0");
        for (int i = 0; i < n; i++) {
            o += (size_t)snprintf(in + o, sizeof(in) - o, "H%d: v\r\n", i);
            w += (size_t)snprintf(want + w, sizeof(want) - w, " [H%d=v]", i);
        }
        snprintf(in + o, sizeof(in) - o, "\r\n");
        if (n == 64)
            snprintf(want + w, sizeof(want) - w, " body=\nend");
        else
            snprintf(want, sizeof(want), "error 431");
        expect_all(in, &big, want);
    }
}

/*
 * Found by fuzz_http (tests/fuzz/corpus/http/too-many-headers): 64 headers,
 * then a 65th whose name holds a byte no name may (0xff). Fed whole, llhttp
 * met the bad byte before handing over any of the name, and the answer was
 * 400; fed byte by byte, the name's first byte came alone, and the 65th
 * header was counted on it: 431. The count now waits for the name's end, so
 * a malformed 65th name is a 400 however it is cut, and a well-formed one a
 * 431 (test_head_limit).
 */
static void test_header_count_cut(void **state)
{
    (void)state;
    char in[1024];
    size_t o = (size_t)snprintf(in, sizeof(in), "GET / HTTP/1.1\r\n");
    for (int i = 0; i < 64; i++)
        o += (size_t)snprintf(in + o, sizeof(in) - o, "a:b\r\n");
    size_t at65 = o;
    /* The fuzzer's case (the seed without its limits byte). */
    snprintf(in + at65, sizeof(in) - at65, "c\xff:d\r\n\r\n");
    expect_all(in, NULL, "error 400");
    /* The bad byte later in the name, and a blank (which llhttp lets
     * through and http-parse.c refuses) in it: the same. */
    snprintf(in + at65, sizeof(in) - at65, "Connection-X\xff: d\r\n\r\n");
    expect_all(in, NULL, "error 400");
    snprintf(in + at65, sizeof(in) - at65, "Bad Header: d\r\n\r\n");
    expect_all(in, NULL, "error 400");
    /* A well-formed 65th name, its value malformed: the count comes first. */
    snprintf(in + at65, sizeof(in) - at65, "c: d\x01\r\n\r\n");
    expect_all(in, NULL, "error 431");
    /* The head ends inside the 65th name: no answer yet, then the count
     * once the name has ended. */
    snprintf(in + at65, sizeof(in) - at65, "Connecti");
    expect_all(in, NULL, "more");
    snprintf(in + at65, sizeof(in) - at65, "Connection:");
    expect_all(in, NULL, "error 431");
}

/* The body limit: a Content-Length past it is refused before the body
 * comes; a chunked body when it passes it; a body of exactly the limit
 * passes. */
static void test_body_limit(void **state)
{
    (void)state;
    struct http_limits lim = {.max_body = 8};
    expect_all("POST / HTTP/1.1\r\nContent-Length: 9\r\n\r\n", &lim, "error 413");
    expect_all("POST / HTTP/1.1\r\nContent-Length: 99999999999999999\r\n\r\n", &lim, "error 413");
    expect_all("POST / HTTP/1.1\r\nContent-Length: 8\r\n\r\n12345678", &lim,
               "POST / 1.1 ka=1 ch=0 up=0 [Content-Length=8] body=12345678\nend");
    expect_all(
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n1234\r\n4\r\n5678\r\n0\r\n\r\n",
        &lim, "POST / 1.1 ka=1 ch=1 up=0 [Transfer-Encoding=chunked] body=12345678\nend");
    expect_all(
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n1234\r\n5\r\n56789\r\n0\r\n\r\n",
        &lim, "error 413");
}

static void test_malformed(void **state)
{
    (void)state;
    /* The tutorial's line and native commands are not HTTP. */
    expect_all("GET/task_01/status\r\n", NULL, "error 400");
    expect_all("GET 7\r\n", NULL, "error 400");
    expect_all("FROB / HTTP/1.1\r\n\r\n", NULL, "error 400");
    expect_all("GET / HTTP/1.1\r\nBad Header: x\r\n\r\n", NULL, "error 400");
    expect_all("GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n", NULL, "error 400");
    /* Request smuggling: both framings, or two lengths. */
    expect_all("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
               "0\r\n\r\n",
               NULL, "error 400");
    expect_all("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", NULL,
               "error 400");
    expect_all("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", NULL, "error 400");
    /* Only HTTP/1.x. */
    expect_all("GET / HTTP/2.0\r\n\r\n", NULL, "error 505");
    /* HTTP/2's preface: no HTTP/1 method (llhttp says so before the version). */
    expect_all("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", NULL, "error 400");
}

/* CONNECT and Upgrade end the parser's part: the request is whole, and
 * nothing after it is read as HTTP. */
static void test_upgrade(void **state)
{
    (void)state;
    expect_all("GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", NULL,
               "GET /ws 1.1 ka=1 ch=0 up=1 [Connection=Upgrade] [Upgrade=websocket] body=\nend");
    expect_all("GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nGET / "
               "HTTP/1.1\r\n\r\n",
               NULL,
               "GET /ws 1.1 ka=1 ch=0 up=1 [Connection=Upgrade] [Upgrade=websocket] body=\n"
               "error 400");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple),           cmocka_unit_test(test_bodies),
        cmocka_unit_test(test_pipelined),        cmocka_unit_test(test_continue),
        cmocka_unit_test(test_head_limit),       cmocka_unit_test(test_body_limit),
        cmocka_unit_test(test_malformed),        cmocka_unit_test(test_upgrade),
        cmocka_unit_test(test_header_count_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
