/*
 * http-parse.h - HTTP/1.x requests read from arbitrary chunks of a byte
 * stream, for the HTTP front end (issue 17). A wrapper over llhttp (Node's
 * parser): we do not parse HTTP by hand.
 *
 * Feed it whatever arrived, as often as it arrives: it answers complete (a
 * whole request: method, target, version, headers, body), need more (every
 * byte was taken; feed the next ones), or error (with the HTTP status to
 * answer and a sentence; the connection must then be closed). A complete
 * request does not take the bytes after it: a pipelined request that
 * follows is fed again, from *used on.
 *
 * Limits, each answered with its status:
 *   - the request line and headers: at most max_head bytes (431), and at
 *     most HTTP_MAX_HEADERS headers (431);
 *   - the body, Content-Length or chunked: at most max_body bytes (413),
 *     refused as soon as a Content-Length says so, before the body comes.
 * Malformed requests are 400, an HTTP version other than 1.x is 505.
 *
 * No I/O, no clock, no globals: the parser holds copies of what it needs
 * (bytes fed need not be kept), bounded by the limits above.
 */
#ifndef TODO_SERVER_HTTP_PARSE_H
#define TODO_SERVER_HTTP_PARSE_H

#include <stddef.h>

#include <llhttp.h>

#include "todo/proto.h"

#define HTTP_MAX_HEADERS 64
#define HTTP_MAX_HEAD_DEFAULT (8 * 1024) /* request line and headers */

struct http_limits {
    size_t max_head; /* 0: HTTP_MAX_HEAD_DEFAULT */
    size_t max_body; /* 0: PROTO_MAX_LINE_DEFAULT, the line protocol's --max-line */
};

struct http_header {
    struct proto_str name, value; /* value without surrounding blanks */
};

/* A whole request. Its strings point into the parser, and stay valid
 * until the next call on it. */
struct http_request {
    const char *method; /* "GET", "HEAD", "POST", ... */
    struct proto_str target;
    int version_major, version_minor;
    struct http_header headers[HTTP_MAX_HEADERS];
    size_t nheaders;
    struct proto_str body; /* the body (chunked bodies joined), empty when none */
    int keep_alive;        /* HTTP/1.1 without "Connection: close", 1.0 with keep-alive */
    int chunked;           /* the body came with Transfer-Encoding: chunked */
    int upgrade;           /* CONNECT or Upgrade: the parser takes no more after it */
};

struct http_parser {
    llhttp_t ll;
    llhttp_settings_t settings;
    struct http_limits lim;
    /* Copies of the current request's method, target, header names and
     * values (head, bounded by max_head) and body (bounded by max_body);
     * spans are offsets, as the buffers may move while they grow. */
    struct proto_buf head, body;
    size_t method_end, target_start, target_end;
    /* One slot more than the limit: the name of a header past it is read
     * to its end before the request is refused (see on_header_field). */
    size_t name_start[HTTP_MAX_HEADERS + 1], name_end[HTTP_MAX_HEADERS + 1];
    size_t value_start[HTTP_MAX_HEADERS + 1], value_end[HTTP_MAX_HEADERS + 1];
    size_t nheaders;
    int field_open;      /* a header name has begun and not ended */
    size_t head_fed;     /* bytes of the current request fed before its headers ended */
    int headers_done;    /* the current request's headers have ended */
    int message_done;    /* a whole request was answered: start afresh on the next call */
    int expect_continue; /* the current request has "Expect: 100-continue" (see below) */
    int upgraded;
    /* Sticky after an error. */
    int status;
    char err[128];
};

/* A parser for requests under lim (NULL: the defaults). */
void http_parser_init(struct http_parser *p, const struct http_limits *lim);
void http_parser_free(struct http_parser *p);

/* Feeds data[0..len): see the top of the file. PROTO_COMPLETE fills *req;
 * *used is the bytes taken (for PROTO_NEED_MORE, all of them). On
 * PROTO_ERROR, p->status is the status to answer (400, 413, 431, 505) and
 * p->err the sentence, and every later call answers the same. */
enum proto_status http_parse(struct http_parser *p, const char *data, size_t len, size_t *used,
                             struct http_request *req);

/* 1 once the headers of the request being read have ended, it asked for
 * "Expect: 100-continue" and its body has not all arrived: the front end
 * then sends "100 Continue" (once) so that the client sends the body. */
int http_parse_wants_continue(const struct http_parser *p);

/* The value of the first header named name (ASCII case ignored), or NULL. */
const struct proto_str *http_header_get(const struct http_request *r, const char *name);

#endif /* TODO_SERVER_HTTP_PARSE_H */
