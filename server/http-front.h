/*
 * http-front.h - the HTTP front end's pure half (issue 17, docs/HTTP.md):
 * which route a parsed request (http-parse.h) takes, the line-protocol
 * request it stands for, and the bytes of a response. No sockets, no
 * clock, no globals: worker.c reads the connection and runs the request
 * through the command layer as it runs a line's.
 *
 * A request never reaches the command layer as bytes of its own: the
 * route picks the command, and the JSON body's or query's values become
 * that command's arguments, quoted (proto_request_encode), then parsed
 * by libproto as a line of the line protocol would be. So a body can
 * never hold a command that runs (a form posting "DEL 1" as text/plain is
 * refused before anything runs), and every value gets the checks that a
 * line's would.
 */
#ifndef TODO_SERVER_HTTP_FRONT_H
#define TODO_SERVER_HTTP_FRONT_H

#include <stddef.h>

#include "http-parse.h"
#include "todo/proto.h"

enum http_route {
    HTTP_R_ERROR = 0, /* answer status with the error code and message */
    HTTP_R_COMMAND,   /* run the line's command; the reply is JSON */
    HTTP_R_LEGACY,    /* the tutorial's GET/ or POST/: the bare reply, text/plain */
    HTTP_R_ASSET,     /* a file of the page (web-assets.h), for GET and HEAD */
    HTTP_R_EVENTS,    /* GET /api/events: Server-Sent Events (the line is a WATCH) */
    HTTP_R_LOGIN,     /* POST /api/login: password in the route's text */
    HTTP_R_SESSION,   /* GET /api/session */
    HTTP_R_OPTIONS,   /* a CORS preflight */
};

/* What to do with one request. */
struct http_action {
    enum http_route route;
    int status;          /* success status (200, 201), or the error's */
    enum proto_err code; /* HTTP_R_ERROR: the error code (PROTO_E_NONE: none of libproto's) */
    const char *errname; /* HTTP_R_ERROR with code NONE: the code word ("METHOD", "ORIGIN") */
    char msg[160];       /* HTTP_R_ERROR: the sentence */
    /* The task to answer with after the command (ADD, EDIT, DONE,
     * UNDONE: their reply is the task, not its id); the id comes from the
     * command's result. */
    int then_get;
    /* PATCH's "tags": the whole new set, which takes the place of the
     * task's tags (worker.c reads the old ones and adds -old words). */
    int replace_tags;
    struct proto_buf line; /* the request as a line of the line protocol, without CRLF */
    struct proto_str path; /* the target's path, without the query */
    struct proto_str id;   /* /api/tasks/{id}: the id; else empty */
    /* ?list=NAME on a route that works in a list: the list to work in
     * (proto_valid_user's name, decoded), or empty for the caller's own.
     * worker.c runs USE NAME before the route's command, so that the
     * command layer decides whether the caller may. */
    char list[PROTO_MAX_USER + 1];
    /* The route means nothing without a user (list=, /api/shares): the
     * caller with no user of its own is refused before a command runs. */
    int needs_user;
    int cors;          /* the request's Origin is site->cors: answer with CORS headers */
    const char *allow; /* HTTP_R_ERROR 405: the methods the path takes, for Allow */
};

/* Percent-decodes s[0..n) into out (at most n bytes); '+' is a blank when
 * plus (query strings). Returns the decoded length, or -1 for a bad
 * escape ("%zz", a cut "%4"), a NUL or a control byte, which no text may
 * hold. */
long http_pct_decode(const char *s, size_t n, char *out, int plus);

/* Who this server is, for the checks of every request (docs/HTTP.md,
 * Security): the Host header must name it (its bind address, localhost,
 * an IP literal or one of hosts), which stops DNS rebinding; a request
 * that changes anything and comes from a page of another origin (Origin,
 * or Sec-Fetch-Site: cross-site) is refused, but for cors. */
struct http_site {
    const char *bind;
    const char *const *hosts;
    size_t nhosts;
    const char *cors; /* NULL: none */
};

/* Decides what r asks for (site: NULL skips the checks). a->line must have been initialized
 * (proto_buf_init) by the caller, and is emptied first. max_body bounds
 * the line as the body is bounded. */
void http_route_request(const struct http_request *r, const struct http_site *site,
                        struct http_action *a);

/* The HTTP status for a command's error code (docs/HTTP.md). */
int http_status_of(enum proto_err e);

/* Appends a response head: status line, Content-Type (NULL: none),
 * Content-Length, Connection: close when !keep, extra header lines
 * (each ending in CRLF; NULL: none), the empty line. 0, or -1 when out of
 * memory or past out's max. */
int http_head(struct proto_buf *out, int status, const char *type, size_t length, int keep,
              const char *extra);

/* Appends a whole JSON error response ({"error":{"code","message"}}),
 * without the body for HEAD; bytes of msg that are not valid UTF-8 are
 * sent as '?'. 0 or -1 as http_head. */
int http_error_response(struct proto_buf *out, int status, const char *code, const char *msg,
                        int keep, int head_only);

/* The same with extra header lines (each ending in CRLF; NULL: none). */
int http_error_response_extra(struct proto_buf *out, int status, const char *code, const char *msg,
                              int keep, int head_only, const char *extra);

/* Turns the EVENT lines of lines[0..n) (each ending in CRLF, as
 * watch_deliver makes them) into Server-Sent Events on out:
 *   id: SEQ
 *   event: change
 *   data: {"seq": "SEQ", "kind": "add", "id": "7", "task": {...}}
 * ("task" for add, edit, done and undone, in todo-cli --json's schema);
 * "EVENT overflow" becomes "event: reload" (the page reloads its list).
 * scratch (cap bytes) is the decoder's. 0, or -1 when out cannot grow or
 * a line does not decode. */
int http_sse_events(struct proto_buf *out, const char *lines, size_t n, char *scratch, size_t cap);

/* The reason phrase of status ("Not Found"). */
const char *http_reason(int status);

#endif /* TODO_SERVER_HTTP_FRONT_H */
