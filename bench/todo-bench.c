/*
 * todo-bench - a load generator for todo-server, in the manner of
 * redis-benchmark and memtier.
 *
 * Each worker thread owns a share of the connections and drives them from
 * its own epoll loop over non-blocking sockets, keeping up to PIPELINE
 * requests in flight on each. Replies are read with libproto's incremental
 * reply decoder, so a DATA reply counts as done only once it is whole. With
 * --raw the same loop sends any text line and counts a reply when the bytes
 * received contain a given string, which is enough to drive Redis's inline
 * protocol or memcached's text protocol for a side-by-side comparison.
 * With --http the get test goes over HTTP/1.1 instead (GET /api/tasks/ID,
 * keep-alive), its responses read by Content-Length and their status
 * checked; --http-path GETs one fixed path, which loads any web server
 * (nginx serving a file) with the same client, and --watch-http makes the
 * watchers Server-Sent Events streams (GET /api/events).
 *
 * Latencies are kept in a log-linear histogram (hist.h): recording is
 * constant time and percentiles come from one pass over fixed buckets.
 */
/* memmem() and POLLRDHUP are GNU extensions; this tool is Linux-only anyway (epoll). */
#define _GNU_SOURCE

#include "hist.h"

#include <todo/net.h>
#include <todo/proto.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Exit statuses, so scripts can tell what went wrong. */
#define EXIT_OK 0
#define EXIT_FAIL 1    /* a test could not run (I/O failure, stalled server) */
#define EXIT_USAGE 2   /* bad command line */
#define EXIT_CONNECT 3 /* cannot connect to the server */
#define EXIT_ERRORS 4  /* every test ran, but some replies were errors */

/* A test that has not finished after this long is stopped, whatever -n
 * says, and one that sees no reply at all for STALL_NS is abandoned: the
 * benchmark is always bounded in time even against a wedged server. */
#define HARD_CAP_SECONDS 600.0
#define STALL_NS (10ull * 1000000000ull)

#define IN_CHUNK (64 * 1024)          /* bytes asked of each read() */
#define IN_MAX (256u * 1024u * 1024u) /* largest reply we are willing to buffer */
#define PREPARE_BATCH 512             /* ADDs in flight while preparing */
#define MAX_ERR_MESSAGES 3            /* error replies shown per test */

enum test_kind { T_PING, T_GET, T_ADD, T_EDIT, T_DONE, T_LIST, T_MIXED, T_TGET, T_RAW, T__COUNT };

static const char *const test_names[T__COUNT] = {"ping", "get",   "add",  "edit", "done",
                                                 "list", "mixed", "tget", "raw"};

/* What a reply to each kind of request must look like. OP_TGET: the
 * tutorial's bare line; OP_RAW_WRITE: --raw-write's reply; OP_HTTP: an
 * HTTP/1.x response, whose status must be 200. */
enum op {
    OP_PING,
    OP_GET,
    OP_ADD,
    OP_EDIT,
    OP_DONE,
    OP_LIST,
    OP_RAW,
    OP_TGET,
    OP_RAW_WRITE,
    OP_HTTP
};

/* The longest --http-path, and the most bytes of an HTTP response's head
 * this bench waits for before it calls the response malformed. */
#define HTTP_PATH_MAX 512
#define HTTP_HEAD_MAX (16 * 1024)

struct options {
    const char *host;
    const char *port;
    int conns;
    int pipeline;
    double seconds;    /* 0 when -n is used */
    uint64_t requests; /* 0 when -d is used */
    enum test_kind order[T__COUNT];
    int ntests;
    uint64_t keyspace;
    long idle;
    int csv;
    char *raw;   /* --raw, unescaped: the line template, without CRLF */
    char *until; /* --reply-until, unescaped */
    size_t until_len;
    const char *name; /* row label for --raw */
    int threads;
    uint64_t list_size;
    int list_all;    /* the list test sends LIST all (every task), not LIST all +TAG */
    int write_pct;   /* mixed: percentage of EDITs; with --raw-write, of its lines */
    char *raw_write; /* --raw-write, unescaped: the write line of a raw mix */
    char *write_until;
    size_t write_until_len;
    size_t text_size;      /* --text-size: bytes of the prepared and edited texts; 0 as before */
    int tags;              /* --tags: tags on each prepared task */
    int existing;          /* --existing: tasks 1..KEYSPACE are there; prepare none */
    int load_only;         /* --load-only: prepare KEYSPACE tasks and stop */
    const char *acc;       /* --accumulate: results are added to FILE.<test> */
    int watchers;          /* --watchers: connections that WATCH during each test */
    int stalled;           /* --stalled-watcher: one more that WATCHes and never reads */
    int http;              /* --http, --http-path: the get test over HTTP/1.1 */
    const char *http_path; /* --http-path: GET this path, not /api/tasks/ID */
    int watch_http;        /* --watch-http: the watchers read GET /api/events */
    char http_host[300];   /* the Host header's value: HOST:PORT */
    /* --users N: connection i (and the loading) logs in as user u(i mod N),
     * each with --user-password, and works in that user's own list: the
     * keyspace is KEYSPACE / N tasks per user, ids 1.. in each list. */
    unsigned users;
    const char *user_password;
};

/*
 * With --watchers, each write of a test takes a number from one counter
 * shared by every worker and puts it in the task's text ("bench edited N"),
 * so a watcher can tell from an event which write it reports. The writer
 * keeps the write's send time and, once answered, its OK's arrival time in
 * a ring indexed by the number; the watcher looks them up when it reads the
 * event. A slot holds its number too: a watcher that comes to a slot
 * already reused (it is WRITE_RING writes behind) takes no sample from it.
 */
#define WRITE_RING (1u << 20)
struct write_ring {
    _Atomic uint64_t *n; /* the write in the slot; stored last, with release */
    _Atomic uint64_t *sent_ns;
    _Atomic uint64_t *ok_ns; /* 0 until the OK has been read */
};

/* Task ids returned by the preparing ADDs, kept in one arena. */
struct ids {
    char *arena;
    size_t len, cap;
    uint32_t *off; /* start of id i in arena; ids are NUL-terminated */
    uint64_t n, ncap;
};

/* Everything a test shares between its workers; read-only while it runs. */
struct test {
    enum test_kind kind;
    const struct options *o;
    const struct ids *ids;
    const char *list_tag;
    atomic_int stop; /* set by any worker that must end the test early */
    /* --watchers: the write numbers handed out and their times. */
    _Atomic uint64_t wseq;
    struct write_ring *ring;
    int watched; /* --watchers or --stalled-watcher: count the writes answered OK */
};

struct bench_conn {
    int fd;
    int dead;
    int want_out; /* EPOLLOUT is registered */
    char *in;
    size_t in_len, in_cap;
    struct proto_buf out;
    size_t out_off; /* bytes of out already written */
    uint64_t *ts;   /* send time of each request in flight, a ring */
    uint8_t *ops;   /* and what it was */
    uint64_t *wn;   /* --watchers: its write number, 0 for none */
    unsigned head, count;
    struct proto_reply_decoder dec;
};

struct bench_worker {
    pthread_t tid;
    struct test *t;
    pthread_barrier_t *go;
    int epfd;
    struct bench_conn *conns;
    int nconns;
    int live;
    uint64_t rng;
    uint64_t quota; /* -n: requests this worker may still send */
    uint64_t seq;
    uint64_t last_wn;   /* the write number append_request() last gave, or 0 */
    int draining;       /* past the end: replies are awaited, not counted */
    uint64_t writes_ok; /* --watchers, --stalled-watcher: writes answered OK, drained ones too */
    uint64_t done, errors;
    uint64_t start, end;
    int failed;
    char why[256];
    int shown; /* error replies already printed */
    struct hist hist;
};

static const char *progname = "todo-bench";

static void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void msg(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", progname);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* Nanoseconds on the monotonic clock, as the histograms count them. */
static uint64_t now_ns(void)
{
    return (uint64_t)net_now_ns();
}

/* xorshift64*: fast, and good enough to spread keys uniformly. */
static uint64_t rnd(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static uint64_t rnd_below(uint64_t *s, uint64_t n)
{
    return n ? rnd(s) % n : 0;
}

/* ------------------------------------------------------------------------
 * Connecting.
 * ---------------------------------------------------------------------- */

static struct addrinfo *resolve(const struct options *o)
{
    struct addrinfo *res = NULL;
    int rc = net_resolve(o->host, o->port, 0, &res);
    if (rc != 0) {
        msg("cannot resolve %s:%s: %s", o->host, o->port, gai_strerror(rc));
        return NULL;
    }
    return res;
}

/* A connected socket with TCP_NODELAY (small requests must leave at once,
 * not wait for Nagle), blocking unless nonblock is set, or -1 with errno set. */
static int dial(const struct addrinfo *ai, int nonblock)
{
    return net_dial(ai, NET_DIAL_NODELAY | (nonblock ? NET_DIAL_NONBLOCK : 0u));
}

/* Room for every connection we will open, or -1 with a message. */
static int raise_nofile(rlim_t need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
        msg("getrlimit: %s", strerror(errno));
        return -1;
    }
    if (rl.rlim_cur >= need)
        return 0;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
        msg("need %llu file descriptors but the hard limit is %llu (raise it with ulimit -Hn)",
            (unsigned long long)need, (unsigned long long)rl.rlim_max);
        return -1;
    }
    rl.rlim_cur = need;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
        msg("setrlimit(%llu): %s", (unsigned long long)need, strerror(errno));
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * Blocking helpers for the untimed preparation.
 * ---------------------------------------------------------------------- */

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int ids_push(struct ids *ids, const char *s, size_t len)
{
    if (ids->n == ids->ncap) {
        uint64_t ncap = ids->ncap ? ids->ncap * 2 : 1024;
        uint32_t *off = realloc(ids->off, ncap * sizeof(*off));
        if (!off)
            return -1;
        ids->off = off;
        ids->ncap = ncap;
    }
    if (ids->len + len + 1 > ids->cap) {
        size_t cap = ids->cap ? ids->cap * 2 : 16384;
        while (cap < ids->len + len + 1)
            cap *= 2;
        if (cap > UINT32_MAX)
            return -1;
        char *a = realloc(ids->arena, cap);
        if (!a)
            return -1;
        ids->arena = a;
        ids->cap = cap;
    }
    memcpy(ids->arena + ids->len, s, len);
    ids->arena[ids->len + len] = '\0';
    ids->off[ids->n++] = (uint32_t)ids->len;
    ids->len += len + 1;
    return 0;
}

static const char *ids_get(const struct ids *ids, uint64_t i)
{
    return ids->arena + ids->off[i];
}

/* The longest --text-size. */
#define TEXT_MAX 1024

/* A task text: "WHAT N", padded with letters to --text-size bytes when
 * that is set (a bigger number only makes it longer than asked). */
static void bench_text(const struct options *o, const char *what, uint64_t n, char *out)
{
    int len = snprintf(out, TEXT_MAX + 1, "%s %" PRIu64, what, n);
    while (o->text_size > 0 && (size_t)len < o->text_size && len < TEXT_MAX) {
        out[len] = (char)('a' + len % 26);
        len++;
    }
    out[len] = '\0';
}

/* --existing: the ids 1..n, which a fresh server gave the tasks an earlier
 * --load-only run added. 0, or -1 out of memory. */
static int ids_counting(struct ids *ids, uint64_t n)
{
    for (uint64_t i = 1; i <= n; i++) {
        char id[24];
        int len = snprintf(id, sizeof(id), "%" PRIu64, i);
        if (ids_push(ids, id, (size_t)len) < 0)
            return -1;
    }
    return 0;
}

/* Adds n tasks over one connection, PREPARE_BATCH at a time, and keeps
 * their ids in ids (when not NULL). tag, when set, is given to every task.
 * 0, or -1 with a message. */
/* --users: logs the blocking socket fd in as user u<user>, before any
 * other request (an Argon2id check on the server: about 0.1 s). 0, or -1
 * with a message. */
static int login(int fd, const struct options *o, unsigned user)
{
    char line[512], in[512];
    int len = snprintf(line, sizeof(line), "AUTH u%u \"%s\"\r\n", user, o->user_password);
    struct timeval tv = {.tv_sec = 30, .tv_usec = 0};
    if (len <= 0 || (size_t)len >= sizeof(line) ||
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
        write_all(fd, line, (size_t)len) < 0) {
        msg("cannot log in as u%u: %s", user, strerror(errno));
        return -1;
    }
    size_t n = 0;
    while (n < sizeof(in) - 1 && (n < 2 || memcmp(in + n - 2, "\r\n", 2) != 0)) {
        ssize_t r = read(fd, in + n, 1); /* one byte at a time: nothing after the reply is ours */
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            msg("no reply to AUTH u%u: %s", user, r == 0 ? "connection closed" : strerror(errno));
            return -1;
        }
        n++;
    }
    in[n] = '\0';
    if (strcmp(in, "OK\r\n") != 0) {
        msg("AUTH u%u was answered %s", user, in);
        return -1;
    }
    return 0;
}

static int prepare_tasks_as(const struct addrinfo *ai, const struct options *o, uint64_t n,
                            const char *tag, struct ids *ids, unsigned user);

/* Prepares n tasks, or with --users n / USERS in each user's list (the
 * ids, the same in every list, are kept from the first). */
static int prepare_tasks(const struct addrinfo *ai, const struct options *o, uint64_t n,
                         const char *tag, struct ids *ids)
{
    if (o->users == 0)
        return prepare_tasks_as(ai, o, n, tag, ids, 0);
    for (unsigned u = 0; u < o->users; u++)
        if (prepare_tasks_as(ai, o, n / o->users, tag, u == 0 ? ids : NULL, u) < 0)
            return -1;
    return 0;
}

static int prepare_tasks_as(const struct addrinfo *ai, const struct options *o, uint64_t n,
                            const char *tag, struct ids *ids, unsigned user)
{
    int rc = -1;
    struct proto_buf out;
    char *in = NULL;
    size_t in_len = 0, in_cap = 0;
    struct proto_reply_decoder dec;
    char err[128];
    int fd = dial(ai, 0);

    proto_buf_init(&out, 0);
    proto_reply_decoder_init(&dec, PROTO_MAX_LINE_DEFAULT);
    if (fd < 0) {
        msg("cannot connect to %s:%s: %s", o->host, o->port, strerror(errno));
        goto out;
    }
    /* The input buffer exists before the first reply is decoded, so the
     * memmove() that drops a decoded reply never sees a NULL buffer. */
    in = malloc(IN_CHUNK);
    if (!in) {
        msg("out of memory");
        goto out;
    }
    in_cap = IN_CHUNK;
    /* A server that stops answering must not hang the preparation. */
    struct timeval tv = {.tv_sec = 30, .tv_usec = 0};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
        msg("setsockopt: %s", strerror(errno));
        goto out;
    }
    if (o->users > 0 && login(fd, o, user) < 0)
        goto out;
    for (uint64_t sent = 0; sent < n;) {
        uint64_t batch = n - sent < PREPARE_BATCH ? n - sent : PREPARE_BATCH;
        out.len = 0;
        for (uint64_t i = 0; i < batch; i++) {
            char line[PROTO_MAX_LINE_DEFAULT];
            int len;
            if (tag) {
                len = snprintf(line, sizeof(line), "ADD \"bench list task %" PRIu64 "\" +%s\r\n",
                               sent + i, tag);
            } else {
                char text[TEXT_MAX + 1];
                bench_text(o, "bench task", sent + i, text);
                len = snprintf(line, sizeof(line), "ADD \"%s\"", text);
                /* --tags: distinct within a task, a few over all of them,
                 * as a real list has. */
                for (int k = 0; k < o->tags; k++)
                    len += snprintf(line + len, sizeof(line) - (size_t)len, " +tag%02d",
                                    (int)((sent + i + (uint64_t)k) % 16));
                len += snprintf(line + len, sizeof(line) - (size_t)len, "\r\n");
            }
            if (proto_buf_append(&out, line, (size_t)len) < 0) {
                msg("out of memory");
                goto out;
            }
        }
        if (write_all(fd, out.data, out.len) < 0) {
            msg("write to %s:%s: %s", o->host, o->port, strerror(errno));
            goto out;
        }
        for (uint64_t got = 0; got < batch;) {
            size_t consumed;
            struct proto_reply r;
            enum proto_status st =
                proto_reply_decode(&dec, in, in_len, &consumed, &r, err, sizeof(err));
            if (st == PROTO_ERROR) {
                msg("%s:%s does not speak the todo protocol: %s", o->host, o->port, err);
                goto out;
            }
            if (st == PROTO_COMPLETE) {
                if (r.kind != PROTO_REPLY_OK || r.text.len == 0 || r.text.len > PROTO_MAX_ID) {
                    msg("ADD while preparing was answered %.*s %.*s", (int)r.code.len,
                        r.code.ptr ? r.code.ptr : "", (int)r.text.len,
                        r.text.ptr ? r.text.ptr : "");
                    goto out;
                }
                if (ids && ids_push(ids, r.text.ptr, r.text.len) < 0) {
                    msg("out of memory");
                    goto out;
                }
                memmove(in, in + consumed, in_len - consumed);
                in_len -= consumed;
                got++;
                continue;
            }
            if (in_cap - in_len < IN_CHUNK) {
                char *p = realloc(in, in_cap + IN_CHUNK);
                if (!p) {
                    msg("out of memory");
                    goto out;
                }
                in = p;
                in_cap += IN_CHUNK;
            }
            ssize_t r2 = read(fd, in + in_len, in_cap - in_len);
            if (r2 < 0 && errno == EINTR)
                continue;
            if (r2 <= 0) {
                msg("reading from %s:%s while preparing: %s", o->host, o->port,
                    r2 == 0 ? "connection closed by the server" : strerror(errno));
                goto out;
            }
            in_len += (size_t)r2;
        }
        sent += batch;
    }
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    free(in);
    proto_buf_free(&out);
    return rc;
}

/* ------------------------------------------------------------------------
 * The timed loop.
 * ---------------------------------------------------------------------- */

static void fail(struct bench_worker *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void fail(struct bench_worker *w, const char *fmt, ...)
{
    if (w->failed)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->why, sizeof(w->why), fmt, ap);
    va_end(ap);
    w->failed = 1;
}

static void bench_conn_kill(struct bench_worker *w, struct bench_conn *c)
{
    if (c->dead)
        return;
    /* Removing a socket from epoll cannot fail while it is registered; closing
     * it below removes it anyway. */
    epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    c->dead = 1;
    w->live--;
}

/* May this worker send one more request? Takes it from the quota under -n. */
static int may_send(struct bench_worker *w, uint64_t now)
{
    const struct options *o = w->t->o;
    if (atomic_load_explicit(&w->t->stop, memory_order_relaxed))
        return 0;
    if (o->requests) {
        if (w->quota == 0)
            return 0;
        w->quota--;
        return 1;
    }
    return now < w->start + (uint64_t)(o->seconds * 1e9);
}

/* Appends "__rand__"-substituted template to out. */
static int append_raw(struct bench_worker *w, struct proto_buf *b, const char *p)
{
    const struct options *o = w->t->o;
    for (;;) {
        const char *q = strstr(p, "__rand__");
        if (!q)
            break;
        char num[24];
        int n = snprintf(num, sizeof(num), "%" PRIu64, rnd_below(&w->rng, o->keyspace));
        if (proto_buf_append(b, p, (size_t)(q - p)) < 0 || proto_buf_append(b, num, (size_t)n) < 0)
            return -1;
        p = q + 8;
    }
    if (proto_buf_append(b, p, strlen(p)) < 0 || proto_buf_append(b, "\r\n", 2) < 0)
        return -1;
    return 0;
}

/* Appends the next request of this test to c's output; returns its op. */
static int append_request(struct bench_worker *w, struct bench_conn *c)
{
    const struct test *t = w->t;
    char line[TEXT_MAX + 128];
    int len;
    int op;
    enum test_kind k = t->kind;
    const char *id = NULL;

    /* An HTTP GET's request line and Host header fit the line buffer. */
    _Static_assert(HTTP_PATH_MAX + sizeof(t->o->http_host) + 64 <= sizeof(line),
                   "the line buffer holds an HTTP request");
    if (k == T_MIXED)
        k = (int)rnd_below(&w->rng, 100) < t->o->write_pct ? T_EDIT : T_GET;
    if ((k == T_GET && !t->o->http_path) || k == T_EDIT || k == T_DONE || k == T_TGET)
        id = ids_get(t->ids, rnd_below(&w->rng, t->ids->n));
    w->seq++;
    /* With watchers, an ADD's or EDIT's text carries its write number (the
     * struct write_ring comment); without them the texts stay as they were. */
    uint64_t n = w->seq;
    w->last_wn = 0;
    if (t->ring && (k == T_ADD || k == T_EDIT)) {
        n = atomic_fetch_add_explicit(&w->t->wseq, 1, memory_order_relaxed) + 1;
        w->last_wn = n;
    }
    switch (k) {
    case T_PING:
        len = snprintf(line, sizeof(line), "PING\r\n");
        op = OP_PING;
        break;
    case T_GET:
        if (t->o->http_path) {
            len = snprintf(line, sizeof(line), "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n",
                           t->o->http_path, t->o->http_host);
            op = OP_HTTP;
        } else if (t->o->http) {
            len = snprintf(line, sizeof(line), "GET /api/tasks/%s HTTP/1.1\r\nHost: %s\r\n\r\n", id,
                           t->o->http_host);
            op = OP_HTTP;
        } else {
            len = snprintf(line, sizeof(line), "GET %s\r\n", id);
            op = OP_GET;
        }
        break;
    case T_ADD:
        len = snprintf(line, sizeof(line), "ADD \"bench added %" PRIu64 "\"\r\n", n);
        op = OP_ADD;
        break;
    case T_EDIT: {
        char text[TEXT_MAX + 1];
        bench_text(t->o, "bench edited", n, text);
        len = snprintf(line, sizeof(line), "EDIT %s \"%s\"\r\n", id, text);
        op = OP_EDIT;
        break;
    }
    case T_DONE:
        len = snprintf(line, sizeof(line), "DONE %s\r\n", id);
        op = OP_DONE;
        break;
    case T_LIST:
        len = t->o->list_all ? snprintf(line, sizeof(line), "LIST all\r\n")
                             : snprintf(line, sizeof(line), "LIST all +%s\r\n", t->list_tag);
        op = OP_LIST;
        break;
    case T_TGET:
        len = snprintf(line, sizeof(line), "GET/%s/status\r\n", id);
        op = OP_TGET;
        break;
    case T_RAW:
        if (t->o->raw_write && (int)rnd_below(&w->rng, 100) < t->o->write_pct)
            return append_raw(w, &c->out, t->o->raw_write) < 0 ? -1 : OP_RAW_WRITE;
        return append_raw(w, &c->out, t->o->raw) < 0 ? -1 : OP_RAW;
    default:
        return -1;
    }
    if (proto_buf_append(&c->out, line, (size_t)len) < 0)
        return -1;
    return op;
}

/* The writer's side of the write ring: write n was sent at now ... */
static void ring_sent(struct write_ring *r, uint64_t n, uint64_t now)
{
    size_t i = n & (WRITE_RING - 1);
    atomic_store_explicit(&r->ok_ns[i], 0, memory_order_relaxed);
    atomic_store_explicit(&r->sent_ns[i], now, memory_order_relaxed);
    atomic_store_explicit(&r->n[i], n, memory_order_release);
}

/* ... and its OK was read at now. */
static void ring_ok(struct write_ring *r, uint64_t n, uint64_t now)
{
    size_t i = n & (WRITE_RING - 1);
    if (atomic_load_explicit(&r->n[i], memory_order_relaxed) == n)
        atomic_store_explicit(&r->ok_ns[i], now, memory_order_release);
}

/* Writes what c has pending; arms EPOLLOUT when the socket is full. */
static void flush(struct bench_worker *w, struct bench_conn *c)
{
    while (c->out_off < c->out.len) {
        ssize_t n = write(c->fd, c->out.data + c->out_off, c->out.len - c->out_off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            fail(w, "write: %s", strerror(errno));
            w->errors += c->count;
            bench_conn_kill(w, c);
            return;
        }
        c->out_off += (size_t)n;
    }
    if (c->out_off == c->out.len) {
        c->out.len = 0;
        c->out_off = 0;
    }
    int want = c->out.len > 0;
    if (want != c->want_out) {
        struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0u), .data.ptr = c};
        if (epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) {
            fail(w, "epoll_ctl: %s", strerror(errno));
            bench_conn_kill(w, c);
            return;
        }
        c->want_out = want;
    }
}

/* Tops c up to PIPELINE requests in flight and sends them. */
static void fill(struct bench_worker *w, struct bench_conn *c)
{
    int P = w->t->o->pipeline;
    uint64_t now = now_ns();
    while ((int)c->count < P && may_send(w, now)) {
        int op = append_request(w, c);
        if (op < 0) {
            fail(w, "out of memory");
            bench_conn_kill(w, c);
            return;
        }
        unsigned slot = (c->head + c->count) % (unsigned)P;
        c->ts[slot] = now;
        c->ops[slot] = (uint8_t)op;
        c->wn[slot] = w->last_wn;
        if (w->last_wn)
            ring_sent(w->t->ring, w->last_wn, now);
        c->count++;
    }
    flush(w, c);
}

static void show_error(struct bench_worker *w, const char *what, const struct proto_reply *r)
{
    const char *name = w->t->o->http ? "http-get" : test_names[w->t->kind];
    if (w->shown >= MAX_ERR_MESSAGES)
        return;
    w->shown++;
    if (r && r->kind == PROTO_REPLY_ERR)
        msg("%s: error reply: ERR %.*s %.*s", name, (int)r->code.len, r->code.ptr, (int)r->text.len,
            r->text.ptr);
    else
        msg("%s: %s", name, what);
}

/* Is r the reply op expects? Counts and shows it if not. */
static void check_reply(struct bench_worker *w, int op, const struct proto_reply *r)
{
    int good;
    switch (op) {
    case OP_GET:
        good = r->kind == PROTO_REPLY_DATA && r->nlines == 1;
        break;
    case OP_LIST:
        good = r->kind == PROTO_REPLY_DATA && (w->t->o->list_all ? r->nlines >= w->t->o->list_size
                                                                 : r->nlines == w->t->o->list_size);
        break;
    default:
        good = r->kind == PROTO_REPLY_OK;
        break;
    }
    if (good)
        return;
    w->errors++;
    if (r->kind == PROTO_REPLY_DATA) {
        char what[96];
        snprintf(what, sizeof(what), "unexpected reply DATA %zu", r->nlines);
        show_error(w, what, r);
    } else {
        show_error(w, "unexpected reply", r);
    }
}

/*
 * One HTTP/1.x response at p[0..n), read by its Content-Length: 1 when it
 * is whole (*status its status, *len its bytes, head and body), 0 when
 * more must come, -1 when it is not a response this bench can frame (a
 * malformed status line, a head past HTTP_HEAD_MAX, a chunked body, or no
 * Content-Length where a body may follow). A pure function over the
 * buffer, as libproto's decoders are.
 */
static int http_response(const char *p, size_t n, int *status, size_t *len)
{
    const char *end = memmem(p, n, "\r\n\r\n", 4);
    if (!end)
        return n > HTTP_HEAD_MAX ? -1 : 0;
    size_t head = (size_t)(end - p) + 4;
    if (head < 17 || memcmp(p, "HTTP/1.", 7) != 0 || p[8] != ' ' || p[9] < '1' || p[9] > '5' ||
        p[10] < '0' || p[10] > '9' || p[11] < '0' || p[11] > '9' || (p[12] != ' ' && p[12] != '\r'))
        return -1;
    *status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    uint64_t body = 0;
    int have_length = 0;
    const char *line = (const char *)memchr(p, '\n', head) + 1;
    while (line < end) {
        const char *eol = memchr(line, '\n', (size_t)(end + 2 - line));
        size_t ll = (size_t)(eol - line);
        if (ll >= 15 && strncasecmp(line, "Content-Length:", 15) == 0) {
            const char *v = line + 15;
            while (*v == ' ' || *v == '\t')
                v++;
            if (*v < '0' || *v > '9')
                return -1;
            for (body = 0; *v >= '0' && *v <= '9'; v++) {
                if (body > IN_MAX)
                    return -1;
                body = body * 10 + (uint64_t)(*v - '0');
            }
            have_length = 1;
        } else if (ll >= 18 && strncasecmp(line, "Transfer-Encoding:", 18) == 0) {
            return -1;
        }
        line = eol + 1;
    }
    /* 1xx, 204 and 304 have no body whatever their head says. */
    if (*status < 200 || *status == 204 || *status == 304)
        body = 0;
    else if (!have_length)
        return -1;
    if (n - head < body)
        return 0;
    *len = head + (size_t)body;
    return 1;
}

/* Takes whole replies off the front of c->in; returns bytes used, or -1
 * when the connection must be dropped. */
static ssize_t parse_replies(struct bench_worker *w, struct bench_conn *c, uint64_t now)
{
    const struct options *o = w->t->o;
    size_t off = 0;
    while (off < c->in_len) {
        if (c->count == 0) {
            w->errors++;
            show_error(w, "reply to a request never sent (out of step with the server)", NULL);
            return -1;
        }
        int op = c->ops[c->head];
        if (op == OP_RAW || op == OP_RAW_WRITE) {
            const char *u = op == OP_RAW ? o->until : o->write_until;
            size_t ulen = op == OP_RAW ? o->until_len : o->write_until_len;
            const char *hit = memmem(c->in + off, c->in_len - off, u, ulen);
            if (!hit)
                break;
            off = (size_t)(hit - c->in) + ulen;
        } else if (op == OP_HTTP) {
            int status = 0;
            size_t rlen = 0;
            int st = http_response(c->in + off, c->in_len - off, &status, &rlen);
            if (st == 0)
                break;
            if (st < 0) {
                w->errors++;
                show_error(w, "a response that is not HTTP/1.x with a Content-Length", NULL);
                return -1;
            }
            if (status != 200) {
                char what[96];
                w->errors++;
                snprintf(what, sizeof(what), "HTTP status %d", status);
                show_error(w, what, NULL);
            }
            off += rlen;
        } else if (op == OP_TGET) {
            /* One bare line: the task's text, or the tutorial's "no key
             * match", which is an error here (every id was prepared). */
            const char *end = memmem(c->in + off, c->in_len - off, "\r\n", 2);
            if (!end)
                break;
            size_t n = (size_t)(end - (c->in + off));
            if ((n == 12 && memcmp(c->in + off, "no key match", 12) == 0) ||
                (n >= 4 && memcmp(c->in + off, "ERR ", 4) == 0)) {
                w->errors++;
                show_error(w, "GET/ answered no key match or ERR", NULL);
            }
            off = (size_t)(end - c->in) + 2;
        } else {
            size_t consumed;
            struct proto_reply r;
            char err[128];
            enum proto_status st = proto_reply_decode(&c->dec, c->in + off, c->in_len - off,
                                                      &consumed, &r, err, sizeof(err));
            if (st == PROTO_NEED_MORE)
                break;
            if (st == PROTO_ERROR) {
                char what[200];
                snprintf(what, sizeof(what), "protocol error: %s", err);
                w->errors++;
                show_error(w, what, NULL);
                return -1;
            }
            check_reply(w, op, &r);
            off += consumed;
            /* Every write answered OK is an event each watcher must get. */
            if (w->t->watched && r.kind == PROTO_REPLY_OK &&
                (op == OP_ADD || op == OP_EDIT || op == OP_DONE)) {
                w->writes_ok++;
                if (w->t->ring && c->wn[c->head])
                    ring_ok(w->t->ring, c->wn[c->head], now);
            }
        }
        if (!w->draining) {
            hist_record(&w->hist, now - c->ts[c->head]);
            w->done++;
        }
        c->head = (c->head + 1) % (unsigned)o->pipeline;
        c->count--;
    }
    return (ssize_t)off;
}

static void on_readable(struct bench_worker *w, struct bench_conn *c)
{
    if (c->in_cap - c->in_len < IN_CHUNK) {
        size_t cap = c->in_cap ? c->in_cap * 2 : 2 * IN_CHUNK;
        if (cap > IN_MAX) {
            fail(w, "a reply is larger than %u bytes", IN_MAX);
            bench_conn_kill(w, c);
            return;
        }
        char *p = realloc(c->in, cap);
        if (!p) {
            fail(w, "out of memory");
            bench_conn_kill(w, c);
            return;
        }
        c->in = p;
        c->in_cap = cap;
    }
    ssize_t n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return;
        w->errors += c->count ? c->count : 1;
        show_error(w, strerror(errno), NULL);
        bench_conn_kill(w, c);
        return;
    }
    if (n == 0) {
        w->errors += c->count ? c->count : 1;
        show_error(w, "connection closed by the server", NULL);
        bench_conn_kill(w, c);
        return;
    }
    uint64_t now = now_ns();
    c->in_len += (size_t)n;
    ssize_t used = parse_replies(w, c, now);
    if (used < 0) {
        bench_conn_kill(w, c);
        return;
    }
    if (used > 0) {
        memmove(c->in, c->in + used, c->in_len - (size_t)used);
        c->in_len -= (size_t)used;
    }
    fill(w, c);
}

static int worker_busy(const struct bench_worker *w)
{
    for (int i = 0; i < w->nconns; i++)
        if (!w->conns[i].dead && w->conns[i].count > 0)
            return 1;
    return 0;
}

static void *worker_main(void *arg)
{
    struct bench_worker *w = arg;
    const struct options *o = w->t->o;
    struct epoll_event evs[256];
    uint64_t last_progress, last_done = 0;

    pthread_barrier_wait(w->go);
    w->start = now_ns();
    last_progress = w->start;
    uint64_t deadline = o->requests ? UINT64_MAX : w->start + (uint64_t)(o->seconds * 1e9);
    uint64_t hard = w->start + (uint64_t)(HARD_CAP_SECONDS * 1e9);

    for (int i = 0; i < w->nconns; i++)
        fill(w, &w->conns[i]);

    for (;;) {
        uint64_t now = now_ns();
        if (now >= deadline)
            break;
        if (o->requests && w->quota == 0 && !worker_busy(w))
            break;
        if (w->live == 0 || atomic_load_explicit(&w->t->stop, memory_order_relaxed))
            break;
        if (w->done != last_done) {
            last_done = w->done;
            last_progress = now;
        } else if (now - last_progress > STALL_NS) {
            fail(w, "no reply from the server for %llu s", STALL_NS / 1000000000ull);
            break;
        }
        if (now >= hard) {
            fail(w, "stopped at the hard cap of %.0f s", HARD_CAP_SECONDS);
            break;
        }
        uint64_t left = deadline - now;
        int timeout = left > 100000000ull ? 100 : (int)(left / 1000000ull) + 1;
        int n = epoll_wait(w->epfd, evs, 256, timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fail(w, "epoll_wait: %s", strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            struct bench_conn *c = evs[i].data.ptr;
            if (c->dead)
                continue;
            if (evs[i].events & EPOLLOUT)
                flush(w, c);
            if (!c->dead && (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
                on_readable(w, c);
        }
    }
    w->end = now_ns();
    /* With watchers, the writes still in flight at the end are awaited (not
     * counted in the rate): each one that commits is an event the watchers
     * must get, so the count to check is known only once they are answered. */
    if (w->t->watched && !w->failed) {
        w->draining = 1;
        uint64_t since = now_ns();
        while (worker_busy(w) && w->live > 0 && now_ns() - since < STALL_NS) {
            int n = epoll_wait(w->epfd, evs, 256, 100);
            if (n < 0 && errno != EINTR) {
                fail(w, "epoll_wait: %s", strerror(errno));
                break;
            }
            for (int i = 0; i < n; i++) {
                struct bench_conn *c = evs[i].data.ptr;
                if (c->dead)
                    continue;
                if (evs[i].events & EPOLLOUT)
                    flush(w, c);
                if (!c->dead && (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
                    on_readable(w, c);
            }
        }
        if (!w->failed && worker_busy(w))
            fail(w, "writes in flight at the end were not answered within %llu s",
                 STALL_NS / 1000000000ull);
    }
    if (w->failed)
        atomic_store(&w->t->stop, 1);
    return NULL;
}

/* ------------------------------------------------------------------------
 * Watchers (--watchers, --stalled-watcher).
 * ---------------------------------------------------------------------- */

#define WATCH_BUF (256 * 1024)                 /* a watcher's input buffer: many event lines */
#define WATCH_SETTLE_NS (5ull * 1000000000ull) /* after the writes: time to catch up */

struct watch_conn {
    int fd;
    int dead;
    int overflowed; /* the server sent EVENT overflow: the watch has ended */
    char *in;
    size_t in_len;
    uint64_t events; /* EVENT lines read, overflow not counted */
};

struct watch_thread {
    pthread_t tid;
    struct test *t;
    int epfd;
    struct watch_conn *conns;
    int nconns;
    _Atomic uint64_t *expected; /* writes answered OK; set once every writer has ended */
    atomic_int *writers_done;
    uint64_t unmatched; /* events whose write was not found in the ring */
    int failed;
    char why[256];
    struct hist from_ok;   /* OK read by the writer -> event read here */
    struct hist from_sent; /* write sent -> event read here */
};

/* A blocking connection that has sent WATCH and read its OK, or -1 with a
 * message. Events that came with the OK stay in *in. With --watch-http it
 * sends GET /api/events and reads the response's head instead: the server
 * sends that head only once the WATCH behind it has run, so the stream is
 * watching from then on, as a line WATCH is from its OK. */
static int watch_open(const struct addrinfo *ai, const struct options *o, char *in, size_t *in_len)
{
    char req[sizeof(o->http_host) + 64];
    int rl = o->watch_http ? snprintf(req, sizeof(req),
                                      "GET /api/events HTTP/1.1\r\nHost: %s\r\n\r\n", o->http_host)
                           : snprintf(req, sizeof(req), "WATCH\r\n");
    const char *eoh = o->watch_http ? "\r\n\r\n" : "\r\n";
    int fd = dial(ai, 0);
    if (fd < 0) {
        msg("cannot connect a watcher to %s:%s: %s", o->host, o->port, strerror(errno));
        return -1;
    }
    /* A server that does not answer WATCH must not hang the benchmark. */
    struct timeval tv = {.tv_sec = 10, .tv_usec = 0};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
        msg("setsockopt: %s", strerror(errno));
        goto bad;
    }
    if (write_all(fd, req, (size_t)rl) < 0) {
        msg("sending WATCH: %s", strerror(errno));
        goto bad;
    }
    *in_len = 0;
    for (;;) {
        char *eol = memmem(in, *in_len, eoh, strlen(eoh));
        if (eol && o->watch_http) {
            if (*in_len < 12 || memcmp(in, "HTTP/1.1 200", 12) != 0) {
                char *cr = memchr(in, '\r', *in_len);
                msg("GET /api/events was answered '%.*s'", (int)(cr - in), in);
                goto bad;
            }
            size_t used = (size_t)(eol - in) + 4;
            memmove(in, in + used, *in_len - used);
            *in_len -= used;
            return fd;
        }
        if (eol) {
            if (*in_len < 3 || memcmp(in, "OK ", 3) != 0) {
                msg("WATCH was answered '%.*s' (a server of protocol 4 or later is needed)",
                    (int)(eol - in), in);
                goto bad;
            }
            size_t used = (size_t)(eol - in) + 2;
            memmove(in, in + used, *in_len - used);
            *in_len -= used;
            return fd;
        }
        if (*in_len == WATCH_BUF) {
            msg("WATCH's reply is not a line");
            goto bad;
        }
        ssize_t n = read(fd, in + *in_len, WATCH_BUF - *in_len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            msg("reading WATCH's reply: %s",
                n == 0 ? "connection closed by the server" : strerror(errno));
            goto bad;
        }
        *in_len += (size_t)n;
    }
bad:
    close(fd);
    return -1;
}

/* The write number in an add or edit event's text ("bench added N",
 * "bench edited N"), or 0 for another event: a DONE keeps the text an
 * earlier test's EDIT gave, whose number is not this test's. line is an
 * EVENT line, or with sse the data line of a Server-Sent Event, a JSON
 * object whose "kind" says what the event is and whose task's "text" is
 * the same quoted text. */
static uint64_t event_write(const char *line, size_t len, int sse)
{
    static const char *const marks[] = {"\"bench edited ", "\"bench added "};
    if (sse) {
        if (!memmem(line, len, "\"kind\":\"add\"", 12) &&
            !memmem(line, len, "\"kind\":\"edit\"", 13))
            return 0;
    } else {
        const char *kind = memchr(line + 6, ' ', len - 6);
        if (!kind || (size_t)(line + len - kind) < 6 ||
            (memcmp(kind, " add ", 5) != 0 && memcmp(kind, " edit ", 6) != 0))
            return 0;
    }
    for (size_t k = 0; k < 2; k++) {
        size_t ml = strlen(marks[k]);
        const char *p = memmem(line, len, marks[k], ml);
        if (!p)
            continue;
        p += ml;
        uint64_t n = 0;
        while (p < line + len && *p >= '0' && *p <= '9')
            n = n * 10 + (uint64_t)(*p++ - '0');
        return n;
    }
    return 0;
}

/* Takes the whole event lines off c->in, timing each against its write. */
static void watch_lines(struct watch_thread *wt, struct watch_conn *c, uint64_t now)
{
    struct write_ring *r = wt->t->ring;
    char *p = c->in, *end = c->in + c->in_len;
    for (;;) {
        char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            break;
        size_t len = (size_t)(eol - p);
        if (len > 0 && p[len - 1] == '\r')
            len--;
        /* A Server-Sent Event is "id:", "event:" and one "data:" line (the
         * JSON is one line); only its data line is looked at. A reload
         * event (the stream's EVENT overflow, or a since: no longer kept)
         * ends the stream. */
        int sse = wt->t->o->watch_http;
        int is_event =
            sse ? len > 6 && memcmp(p, "data: ", 6) == 0 : len > 6 && memcmp(p, "EVENT ", 6) == 0;
        if (sse && is_event &&
            (memmem(p, len, "\"kind\":\"overflow\"", 17) ||
             memmem(p, len, "\"kind\":\"expired\"", 16))) {
            is_event = 0;
            c->overflowed = 1;
        }
        if (!sse && len == 14 && memcmp(p, "EVENT overflow", 14) == 0) {
            c->overflowed = 1;
        } else if (is_event) {
            c->events++;
            uint64_t n = event_write(p, len, sse);
            size_t i = n & (WRITE_RING - 1);
            if (n && atomic_load_explicit(&r->n[i], memory_order_acquire) == n) {
                uint64_t sent = atomic_load_explicit(&r->sent_ns[i], memory_order_relaxed);
                uint64_t ok = atomic_load_explicit(&r->ok_ns[i], memory_order_acquire);
                hist_record(&wt->from_sent, now > sent ? now - sent : 0);
                /* An event read before its writer read the OK came no later
                 * than the OK: a delay of 0. */
                hist_record(&wt->from_ok, ok && now > ok ? now - ok : 0);
            } else if (n) {
                wt->unmatched++;
            }
        }
        p = eol + 1;
    }
    size_t used = (size_t)(p - c->in);
    memmove(c->in, p, c->in_len - used);
    c->in_len -= used;
}

/* Gives up on watcher c: the test fails, and its missing events count. */
static void watch_conn_kill(struct watch_thread *wt, struct watch_conn *c, const char *why)
{
    if (!wt->failed)
        snprintf(wt->why, sizeof(wt->why), "a watcher's connection: %s", why);
    wt->failed = 1;
    c->dead = 1;
    /* Removing a registered socket from epoll cannot fail; it is closed at
     * the end anyway. */
    epoll_ctl(wt->epfd, EPOLL_CTL_DEL, c->fd, NULL);
}

static void watch_readable(struct watch_thread *wt, struct watch_conn *c)
{
    for (;;) {
        if (c->in_len == WATCH_BUF) {
            watch_conn_kill(wt, c, "an event line longer than the input buffer");
            return;
        }
        ssize_t n = read(c->fd, c->in + c->in_len, WATCH_BUF - c->in_len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
        }
        if (n == 0 && c->overflowed) {
            /* An event stream ends after its reload event: the overflow
             * is already counted, and the close is the server's due. */
            c->dead = 1;
            epoll_ctl(wt->epfd, EPOLL_CTL_DEL, c->fd, NULL);
            return;
        }
        if (n <= 0) {
            watch_conn_kill(wt, c, n == 0 ? "closed by the server" : strerror(errno));
            return;
        }
        c->in_len += (size_t)n;
        watch_lines(wt, c, now_ns());
        /* A short read emptied the socket: back to epoll. A long one may
         * have left more, which is read now rather than after a wait. */
        if ((size_t)n < WATCH_BUF / 2)
            return;
    }
}

/* Has every watcher of wt got every event (or lost its watch)? */
static int watch_caught_up(const struct watch_thread *wt, uint64_t expected)
{
    for (int i = 0; i < wt->nconns; i++) {
        const struct watch_conn *c = &wt->conns[i];
        if (!c->dead && !c->overflowed && c->events < expected)
            return 0;
    }
    return 1;
}

/* Reads events until the writers have ended and every watcher has caught
 * up, or WATCH_SETTLE_NS after the writers' end, or the hard cap. */
static void *watch_main(void *arg)
{
    struct watch_thread *wt = arg;
    struct epoll_event evs[256];
    uint64_t t0 = now_ns(), ended = 0;
    for (;;) {
        uint64_t now = now_ns();
        if (atomic_load(wt->writers_done)) {
            if (ended == 0)
                ended = now;
            if (watch_caught_up(wt, atomic_load(wt->expected)) || now - ended > WATCH_SETTLE_NS)
                break;
        }
        if (now - t0 > (uint64_t)(HARD_CAP_SECONDS * 1e9)) {
            snprintf(wt->why, sizeof(wt->why), "watchers stopped at the hard cap of %.0f s",
                     HARD_CAP_SECONDS);
            wt->failed = 1;
            break;
        }
        int n = epoll_wait(wt->epfd, evs, 256, 50);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            snprintf(wt->why, sizeof(wt->why), "epoll_wait: %s", strerror(errno));
            wt->failed = 1;
            break;
        }
        for (int i = 0; i < n; i++) {
            struct watch_conn *c = evs[i].data.ptr;
            if (!c->dead)
                watch_readable(wt, c);
        }
    }
    return NULL;
}

/* --stalled-watcher, after the test: reads what the server queued for the
 * watcher that never read, up to 10 s, and tells whether it ends in EVENT
 * overflow. *events gets the events before it. 1 if it came, 0 if not. */
static int stalled_overflowed(int fd, uint64_t *events)
{
    static const char ov[] = "EVENT overflow\r\n";
    char *buf = malloc(IN_CHUNK + sizeof(ov));
    size_t keep = 0;
    int seen = 0;
    uint64_t t0 = now_ns();
    *events = 0;
    if (!buf) {
        msg("out of memory");
        return 0;
    }
    /* The overflow line ends the watch, so nothing more follows it. */
    while (!seen && now_ns() - t0 < 10ull * 1000000000ull) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int pr = poll(&p, 1, 1000);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            break;
        ssize_t n = read(fd, buf + keep, IN_CHUNK);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            break;
        size_t len = keep + (size_t)n;
        for (size_t i = keep; i < len; i++)
            if (buf[i] == '\n')
                (*events)++;
        seen = memmem(buf, len, ov, sizeof(ov) - 1) != NULL;
        /* A line split between two reads is found in the next. */
        keep = len < sizeof(ov) - 1 ? len : sizeof(ov) - 1;
        memmove(buf, buf + len - keep, keep);
    }
    free(buf);
    if (seen && *events > 0)
        (*events)--;
    return seen;
}

/* The watchers of one test: o->watchers connections spread over up to
 * o->threads threads of their own (so that reading events never delays the
 * writers' loops), and the stalled one. */
struct watch_set {
    struct watch_thread *wts;
    int nwt;
    int started;
    int stalled_fd;
    _Atomic uint64_t expected;
    atomic_int writers_done;
};

static void watch_set_free(struct watch_set *s)
{
    for (int i = 0; s->wts && i < s->nwt; i++) {
        struct watch_thread *wt = &s->wts[i];
        for (int j = 0; wt->conns && j < wt->nconns; j++) {
            if (wt->conns[j].fd >= 0)
                close(wt->conns[j].fd);
            free(wt->conns[j].in);
        }
        free(wt->conns);
        if (wt->epfd >= 0)
            close(wt->epfd);
    }
    free(s->wts);
    s->wts = NULL;
    if (s->stalled_fd >= 0)
        close(s->stalled_fd);
    s->stalled_fd = -1;
}

/* Opens and starts the watchers of test t. 0, or -1 with a message. */
static int watch_set_open(struct watch_set *s, struct test *t, const struct addrinfo *ai)
{
    const struct options *o = t->o;
    memset(s, 0, sizeof(*s));
    s->stalled_fd = -1;
    atomic_init(&s->expected, 0);
    atomic_init(&s->writers_done, 0);
    if (o->stalled) {
        char *in = malloc(WATCH_BUF);
        size_t len;
        if (!in) {
            msg("out of memory");
            return -1;
        }
        s->stalled_fd = watch_open(ai, o, in, &len);
        free(in);
        if (s->stalled_fd < 0)
            return -1;
    }
    if (o->watchers == 0)
        return 0;
    s->nwt = o->threads < o->watchers ? o->threads : o->watchers;
    s->wts = calloc((size_t)s->nwt, sizeof(*s->wts));
    if (!s->wts) {
        msg("out of memory");
        return -1;
    }
    for (int i = 0; i < s->nwt; i++)
        s->wts[i].epfd = -1;
    for (int i = 0; i < s->nwt; i++) {
        struct watch_thread *wt = &s->wts[i];
        int n = o->watchers / s->nwt + (i < o->watchers % s->nwt);
        wt->t = t;
        wt->expected = &s->expected;
        wt->writers_done = &s->writers_done;
        hist_init(&wt->from_ok);
        hist_init(&wt->from_sent);
        wt->conns = calloc((size_t)n, sizeof(*wt->conns));
        if (!wt->conns) {
            msg("out of memory");
            return -1;
        }
        for (int j = 0; j < n; j++)
            wt->conns[j].fd = -1;
        wt->nconns = n;
        wt->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (wt->epfd < 0) {
            msg("epoll_create1: %s", strerror(errno));
            return -1;
        }
        for (int j = 0; j < n; j++) {
            struct watch_conn *c = &wt->conns[j];
            c->in = malloc(WATCH_BUF);
            if (!c->in) {
                msg("out of memory");
                return -1;
            }
            c->fd = watch_open(ai, o, c->in, &c->in_len);
            if (c->fd < 0)
                return -1;
            int fl = fcntl(c->fd, F_GETFL);
            if (fl < 0 || fcntl(c->fd, F_SETFL, fl | O_NONBLOCK) < 0) {
                msg("fcntl: %s", strerror(errno));
                return -1;
            }
            struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
            if (epoll_ctl(wt->epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
                msg("epoll_ctl: %s", strerror(errno));
                return -1;
            }
        }
    }
    for (; s->started < s->nwt; s->started++) {
        int e = pthread_create(&s->wts[s->started].tid, NULL, watch_main, &s->wts[s->started]);
        if (e != 0) {
            msg("pthread_create: %s", strerror(e));
            return -1;
        }
    }
    return 0;
}

/* Tells the watcher threads the writers have ended after `expected` writes
 * answered OK, and waits for them. */
static void watch_set_join(struct watch_set *s, uint64_t expected)
{
    atomic_store(&s->expected, expected);
    atomic_store(&s->writers_done, 1);
    for (int i = 0; i < s->started; i++)
        pthread_join(s->wts[i].tid, NULL);
    s->started = 0;
}

/* ------------------------------------------------------------------------
 * Running a test and reporting it.
 * ---------------------------------------------------------------------- */

struct result {
    const char *name;
    uint64_t done, errors;
    double seconds;
    struct hist hist;
    /* 0 a test's requests; else a watchers' row (WR_OK + 1 .. WR_STALLED + 1),
     * whose done counts events and whose latencies are delays. */
    int watch;
};

static void free_workers(struct bench_worker *ws, int nw)
{
    for (int i = 0; i < nw; i++) {
        struct bench_worker *w = &ws[i];
        /* A worker whose setup failed has no connection array. */
        for (int j = 0; w->conns && j < w->nconns; j++) {
            struct bench_conn *c = &w->conns[j];
            if (c->fd >= 0)
                close(c->fd);
            free(c->in);
            free(c->ts);
            free(c->ops);
            free(c->wn);
            proto_buf_free(&c->out);
        }
        free(w->conns);
        if (w->epfd >= 0)
            close(w->epfd);
    }
    free(ws);
}

/* The results of a test's watchers: from the OK, from the send, stalled. */
enum { WR_OK, WR_SENT, WR_STALLED, WR__COUNT };
static const char *const watch_suffix[WR__COUNT] = {"watch", "watch-sent", "stalled"};

static void watch_results(const struct options *o, const struct result *res, struct watch_set *s,
                          uint64_t expected, struct result wres[WR__COUNT]);

/* Runs one test. Returns EXIT_OK, EXIT_FAIL or EXIT_CONNECT (with a message).
 * With --watchers or --stalled-watcher, wres[] gets their results (a name
 * of NULL for none). */
static int run_test(struct test *t, const struct addrinfo *ai, struct result *res,
                    struct result wres[WR__COUNT])
{
    const struct options *o = t->o;
    int nw = o->threads < o->conns ? o->threads : o->conns;
    int rc = EXIT_FAIL;
    int started = 0;
    struct watch_set wset = {.stalled_fd = -1};
    pthread_barrier_t go;
    struct bench_worker *ws = calloc((size_t)nw, sizeof(*ws));
    if (!ws) {
        msg("out of memory");
        return EXIT_FAIL;
    }
    for (int i = 0; i < nw; i++)
        ws[i].epfd = -1;
    if (pthread_barrier_init(&go, NULL, (unsigned)nw + 1) != 0) {
        msg("pthread_barrier_init failed");
        free(ws);
        return EXIT_FAIL;
    }

    for (int i = 0; i < nw; i++) {
        struct bench_worker *w = &ws[i];
        w->t = t;
        w->go = &go;
        int nconns = o->conns / nw + (i < o->conns % nw);
        w->live = nconns;
        w->rng = 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1) ^ (uint64_t)now_ns();
        if (w->rng == 0)
            w->rng = 1;
        w->quota = o->requests
                       ? o->requests / (uint64_t)nw + ((uint64_t)i < o->requests % (uint64_t)nw)
                       : 0;
        hist_init(&w->hist);
        /* w->nconns is set only once every fd in the array is -1, so
         * free_workers() never closes the fd 0 that calloc() left in it. */
        w->conns = calloc((size_t)nconns, sizeof(*w->conns));
        if (!w->conns) {
            msg("cannot set up worker %d: %s", i, strerror(errno));
            goto out;
        }
        for (int j = 0; j < nconns; j++)
            w->conns[j].fd = -1;
        w->nconns = nconns;
        w->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (w->epfd < 0) {
            msg("cannot set up worker %d: %s", i, strerror(errno));
            goto out;
        }
        for (int j = 0; j < w->nconns; j++) {
            struct bench_conn *c = &w->conns[j];
            c->fd = dial(ai, o->users == 0);
            if (c->fd < 0) {
                msg("cannot connect to %s:%s: %s", o->host, o->port, strerror(errno));
                rc = EXIT_CONNECT;
                goto out;
            }
            /* --users: the connections take the users in turn, across the
             * workers (i + nw * j is this connection's number). */
            if (o->users > 0) {
                int fl;
                if (login(c->fd, o, (unsigned)(i + nw * j) % o->users) < 0 ||
                    (fl = fcntl(c->fd, F_GETFL)) < 0 ||
                    fcntl(c->fd, F_SETFL, fl | O_NONBLOCK) < 0) {
                    rc = EXIT_CONNECT;
                    goto out;
                }
            }
            proto_buf_init(&c->out, 0);
            proto_reply_decoder_init(&c->dec, PROTO_MAX_LINE_DEFAULT);
            c->ts = calloc((size_t)o->pipeline, sizeof(*c->ts));
            c->ops = calloc((size_t)o->pipeline, sizeof(*c->ops));
            c->wn = calloc((size_t)o->pipeline, sizeof(*c->wn));
            if (!c->ts || !c->ops || !c->wn) {
                msg("out of memory");
                goto out;
            }
            struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
            if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
                msg("epoll_ctl: %s", strerror(errno));
                goto out;
            }
        }
    }

    /* The watchers are watching before the first write is sent. */
    if ((o->watchers > 0 || o->stalled) && watch_set_open(&wset, t, ai) < 0) {
        atomic_store(&wset.writers_done, 1);
        goto out;
    }
    for (; started < nw; started++) {
        int e = pthread_create(&ws[started].tid, NULL, worker_main, &ws[started]);
        if (e != 0) {
            msg("pthread_create: %s", strerror(e));
            /* Let the threads already waiting go; they stop at once. */
            atomic_store(&t->stop, 1);
            break;
        }
    }
    if (started == nw)
        pthread_barrier_wait(&go);
    else
        goto out;
    for (int i = 0; i < nw; i++)
        pthread_join(ws[i].tid, NULL);
    started = 0;
    uint64_t expected = 0;
    for (int i = 0; i < nw; i++)
        expected += ws[i].writes_ok;
    watch_set_join(&wset, expected);

    res->name = o->raw ? (o->name ? o->name : "raw") : o->http ? "http-get" : test_names[t->kind];
    res->done = res->errors = 0;
    res->seconds = 0;
    hist_init(&res->hist);
    rc = EXIT_OK;
    for (int i = 0; i < nw; i++) {
        struct bench_worker *w = &ws[i];
        res->done += w->done;
        res->errors += w->errors;
        double s = (double)(w->end - w->start) / 1e9;
        if (s > res->seconds)
            res->seconds = s;
        hist_merge(&res->hist, &w->hist);
        if (w->failed) {
            msg("%s: %s", res->name, w->why);
            rc = EXIT_FAIL;
        }
    }
    if (o->watchers > 0 || o->stalled)
        watch_results(o, res, &wset, expected, wres);
    for (int i = 0; i < wset.nwt; i++) {
        if (wset.wts[i].failed) {
            msg("%s: %s", res->name, wset.wts[i].why);
            rc = EXIT_FAIL;
        }
    }
out:
    /* Watcher threads started before a failure are let go and waited for. */
    watch_set_join(&wset, 0);
    watch_set_free(&wset);
    if (started > 0) {
        /* Only reached when a later pthread_create failed: the barrier can
         * never fill, so these threads are left blocked; exit soon follows. */
        msg("giving up");
        exit(EXIT_FAIL);
    }
    pthread_barrier_destroy(&go);
    free_workers(ws, nw);
    return rc;
}

/* Fills wres[] from the watchers of the test res reports. Each watcher's
 * count must be `expected`: the writes answered OK. */
static void watch_results(const struct options *o, const struct result *res, struct watch_set *s,
                          uint64_t expected, struct result wres[WR__COUNT])
{
    static char names[WR__COUNT][64];
    uint64_t got = 0, missing = 0, extra = 0, overflows = 0, unmatched = 0;
    for (int k = 0; k < WR__COUNT; k++) {
        snprintf(names[k], sizeof(names[k]), "%s-%s", res->name, watch_suffix[k]);
        wres[k].name = NULL;
        wres[k].watch = k + 1;
        wres[k].seconds = res->seconds;
        hist_init(&wres[k].hist);
    }
    for (int i = 0; i < s->nwt; i++) {
        struct watch_thread *wt = &s->wts[i];
        for (int j = 0; j < wt->nconns; j++) {
            const struct watch_conn *c = &wt->conns[j];
            got += c->events;
            if (c->events < expected)
                missing += expected - c->events;
            else
                extra += c->events - expected;
            overflows += (uint64_t)c->overflowed;
        }
        unmatched += wt->unmatched;
        hist_merge(&wres[WR_OK].hist, &wt->from_ok);
        hist_merge(&wres[WR_SENT].hist, &wt->from_sent);
    }
    if (o->watchers > 0) {
        for (int k = WR_OK; k <= WR_SENT; k++) {
            wres[k].name = names[k];
            wres[k].done = got;
            /* Each event missed, each one too many, each overflow is an
             * error, counted once (in the row from the OK). */
            wres[k].errors = k == WR_OK ? missing + extra + overflows : 0;
        }
        if (missing || extra || overflows)
            msg("%s: %d watchers should each have got %" PRIu64 " events: %" PRIu64
                " missing, %" PRIu64 " too many, %" PRIu64 " watches ended by %s",
                res->name, o->watchers, expected, missing, extra, overflows,
                o->watch_http ? "a reload event" : "EVENT overflow");
        if (unmatched)
            msg("%s: %" PRIu64 " events came too late to be timed (their write's slot had been "
                "reused)",
                res->name, unmatched);
    }
    if (o->stalled) {
        uint64_t ev;
        int seen = stalled_overflowed(s->stalled_fd, &ev);
        wres[WR_STALLED].name = names[WR_STALLED];
        wres[WR_STALLED].done = ev;
        wres[WR_STALLED].errors = seen ? 0 : 1;
        if (!seen)
            msg("%s: the watcher that never read got no EVENT overflow (%" PRIu64
                " events were queued for it, %" PRIu64 " writes answered OK)",
                res->name, ev, expected);
    }
}

static double us(uint64_t ns)
{
    return (double)ns / 1000.0;
}

/*
 * --accumulate: FILE.<test> keeps the sums of earlier runs as text: a
 * header line, then "requests errors seconds count min max", then one
 * "bucket count" line for each bucket that is not empty. The run's result
 * becomes the sum, and the file is rewritten with it. 0, or -1 with a
 * message (the result is then this run's alone).
 */
#define ACC_MAGIC "todo-bench-accumulate 1"
static int accumulate(const char *file, struct result *r)
{
    char path[4096];
    struct result *old = calloc(1, sizeof(*old));
    FILE *f;
    int rc = -1;

    if (old == NULL) {
        msg("out of memory");
        return -1;
    }
    hist_init(&old->hist);
    snprintf(path, sizeof(path), "%s.%s", file, r->name);
    if ((f = fopen(path, "r")) != NULL) {
        char magic[64];
        unsigned long long done, errors, count, min, max, b, n;
        if (!fgets(magic, sizeof(magic), f) || strncmp(magic, ACC_MAGIC, strlen(ACC_MAGIC)) != 0 ||
            fscanf(f, "%llu %llu %lf %llu %llu %llu", &done, &errors, &old->seconds, &count, &min,
                   &max) != 6) {
            msg("%s: not a file of --accumulate", path);
            fclose(f);
            goto out;
        }
        old->done = done;
        old->errors = errors;
        old->hist.count = count;
        old->hist.min = min;
        old->hist.max = max;
        while (fscanf(f, "%llu %llu", &b, &n) == 2)
            if (b < HIST_BUCKETS)
                old->hist.buckets[b] = n;
        fclose(f);
        r->done += old->done;
        r->errors += old->errors;
        r->seconds += old->seconds;
        hist_merge(&r->hist, &old->hist);
    } else if (errno != ENOENT) {
        msg("%s: %s", path, strerror(errno));
        goto out;
    }
    if ((f = fopen(path, "w")) == NULL) {
        msg("%s: %s", path, strerror(errno));
        goto out;
    }
    fprintf(f, "%s\n%" PRIu64 " %" PRIu64 " %.9f %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", ACC_MAGIC,
            r->done, r->errors, r->seconds, r->hist.count, r->hist.min, r->hist.max);
    for (unsigned i = 0; i < HIST_BUCKETS; i++)
        if (r->hist.buckets[i])
            fprintf(f, "%u %" PRIu64 "\n", i, r->hist.buckets[i]);
    if (fclose(f) != 0) {
        msg("%s: %s", path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    free(old);
    return rc;
}

static void report(const struct options *o, const struct result *r)
{
    double rps = r->seconds > 0 ? (double)r->done / r->seconds : 0;
    uint64_t p50 = hist_quantile(&r->hist, 0.50), p99 = hist_quantile(&r->hist, 0.99),
             p999 = hist_quantile(&r->hist, 0.999);
    int conns = r->watch == WR_STALLED + 1 ? 1 : r->watch ? o->watchers : o->conns;
    if (o->csv) {
        printf("%s,%d,%d,%" PRIu64 ",%.3f,%.1f,%.1f,%.1f,%.1f,%.1f,%" PRIu64 "\n", r->name, conns,
               o->pipeline, r->done, r->seconds, rps, us(p50), us(p99), us(p999), us(r->hist.max),
               r->errors);
    } else if (r->watch == WR_STALLED + 1) {
        printf("====== %s ======\n", r->name);
        printf("  a watcher that never read: %s after %" PRIu64 " events queued for it\n\n",
               r->errors ? "NO EVENT overflow" : "EVENT overflow", r->done);
    } else if (r->watch) {
        printf("====== %s ======\n", r->name);
        printf("  %" PRIu64 " events read by %d watchers in %.2f s, %.1f events/s, %" PRIu64
               " errors (events missed or extra, overflows)\n",
               r->done, o->watchers, r->seconds, rps, r->errors);
        printf("  delay us from the write's %s to the event: p50 %.1f  p99 %.1f  p99.9 %.1f  "
               "max %.1f\n\n",
               r->watch == WR_OK + 1 ? "OK" : "send", us(p50), us(p99), us(p999), us(r->hist.max));
    } else {
        printf("====== %s ======\n", r->name);
        printf("  %" PRIu64 " requests in %.2f s, %d connections, pipeline %d", r->done, r->seconds,
               o->conns, o->pipeline);
        if (o->idle)
            printf(", %ld idle connections", o->idle);
        printf("\n  %.1f requests/s, %" PRIu64 " errors\n", rps, r->errors);
        printf("  latency us: p50 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n\n", us(p50), us(p99),
               us(p999), us(r->hist.max));
    }
    fflush(stdout);
}

/* ------------------------------------------------------------------------
 * Idle connections.
 * ---------------------------------------------------------------------- */

/* Opens o->idle connections, up to IDLE_WINDOW handshakes at once: one
 * blocking connect() after another spends most of its time waiting for the
 * peer's SYN-ACK. ai must be a single address that is known to answer. */
#define IDLE_WINDOW 256
static int open_idle(const struct addrinfo *ai, const struct options *o, int *fds)
{
    struct epoll_event evs[IDLE_WINDOW];
    long opened = 0, done = 0, inflight = 0;
    int err = 0;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) {
        msg("epoll_create1: %s", strerror(errno));
        return -1;
    }
    while (done < o->idle && !err) {
        while (inflight < IDLE_WINDOW && opened < o->idle) {
            int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                            ai->ai_protocol);
            if (fd < 0) {
                err = errno;
                break;
            }
            fds[opened++] = fd;
            if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
                done++;
                continue;
            }
            if (errno != EINPROGRESS) {
                err = errno;
                break;
            }
            struct epoll_event ev = {.events = EPOLLOUT, .data.fd = fd};
            if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
                err = errno;
                break;
            }
            inflight++;
        }
        if (err || inflight == 0)
            continue;
        int n = epoll_wait(ep, evs, IDLE_WINDOW, 10000);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            err = n == 0 ? ETIMEDOUT : errno;
            break;
        }
        for (int i = 0; i < n && !err; i++) {
            int soerr = 0;
            socklen_t len = sizeof(soerr);
            /* The connect's own error, else the error reading it, else the
             * error taking the now open socket out of the set; 0 if none. */
            if (getsockopt(evs[i].data.fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
                soerr = errno;
            if (soerr == 0 && epoll_ctl(ep, EPOLL_CTL_DEL, evs[i].data.fd, NULL) < 0)
                soerr = errno;
            err = soerr;
            inflight--;
            done++;
        }
    }
    close(ep);
    if (err) {
        msg("cannot open idle connection %ld of %ld to %s:%s: %s", opened, o->idle, o->host,
            o->port, strerror(err));
        for (long j = 0; j < opened; j++)
            close(fds[j]);
        return -1;
    }
    return 0;
}

/* How many idle connections the server has closed or written to (a BUSY
 * line, say): either means it did not simply hold them. */
static long idle_lost(const int *fds, long n)
{
    long lost = 0;
    for (long i = 0; i < n; i++) {
        struct pollfd p = {.fd = fds[i], .events = POLLIN | POLLRDHUP};
        if (poll(&p, 1, 0) > 0)
            lost++;
    }
    return lost;
}

/* ------------------------------------------------------------------------
 * Command line.
 * ---------------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: %s [-H HOST] [-p PORT] [-c CONNECTIONS] [-P PIPELINE]\n"
            "       [-d SECONDS | -n REQUESTS] [-t TESTS] [-r KEYSPACE] [--idle N] [--csv]\n"
            "       [--raw 'LINE' --reply-until STRING] [--threads N]\n"
            "       [--watchers N [--watch-http]] [--stalled-watcher]\n"
            "       [--http | --http-path PATH] [--help]\n"
            "\n"
            "Load generator for todo-server (or, with --raw, any line protocol).\n"
            "\n"
            "  -H, --host HOST        server address, a loopback one: todo-bench loads\n"
            "                         only servers on this machine (default 127.0.0.1)\n"
            "  -p, --port PORT        server port (default 9000)\n"
            "  -c, --connections N    busy connections (default 50)\n"
            "  -P, --pipeline N       requests in flight per connection (default 1)\n"
            "  -d, --duration SECONDS run each test this long (default 10)\n"
            "  -n, --requests N       or send exactly N requests per test\n"
            "  -t, --tests LIST       comma-separated: ping,get,add,edit,done,list,mixed,\n"
            "                         tget (the tutorial's GET/ID/status) (default: all\n"
            "                         but tget, in that order)\n"
            "  -r, --keyspace N       tasks prepared for get/edit/done/mixed/tget, whose\n"
            "                         ids they pick at random, and the range of __rand__\n"
            "                         in --raw (default 10000)\n"
            "      --text-size N      prepared tasks' and EDIT's texts are N bytes long\n"
            "                         (default: as short as \"bench task 17\")\n"
            "      --tags N           prepared tasks have N tags each (default 0)\n"
            "      --load-only        ADD KEYSPACE tasks (with --text-size, --tags), run no\n"
            "                         test, exit: load a fresh server once\n"
            "      --existing         prepare nothing: tasks 1..KEYSPACE exist (a fresh\n"
            "                         server loaded by --load-only)\n"
            "      --list-size N      tasks in the list test's LIST reply (default 100)\n"
            "      --list-all         the list test sends LIST all (every task of the\n"
            "                         server, at least LIST-SIZE) instead of LIST all +TAG\n"
            "      --write-pct N      mixed: percentage of EDITs among GETs (default 10)\n"
            "      --idle N           also hold N idle connections open for the whole run\n"
            "      --csv              one CSV row per test (after a header row)\n"
            "      --accumulate FILE  add each test's requests, errors, time and latencies\n"
            "                         to those kept in FILE.<test> (made if missing) and\n"
            "                         report the sums: short runs against two servers,\n"
            "                         taken in turns, add up to one run of each\n"
            "      --raw LINE         send LINE (CRLF appended; __rand__ becomes a random\n"
            "                         key number below KEYSPACE; the escapes of\n"
            "                         --reply-until, e.g. \\r\\n between two lines) instead\n"
            "                         of the tests\n"
            "      --reply-until STR  with --raw: a reply is complete when the bytes received\n"
            "                         contain STR (escapes \\r \\n \\t \\\\ \\xHH allowed)\n"
            "      --name NAME        with --raw: the test's name in the report (default raw)\n"
            "      --raw-write LINE   with --raw: send LINE instead of --raw's in WRITE-PCT\n"
            "                         %% of the requests (a mixed load of another server)\n"
            "      --write-reply-until STR  with --raw-write: the end of its reply\n"
            "      --threads N        client threads sharing the connections (default 1);\n"
            "                         the watchers have as many threads of their own\n",
            progname);
    /* In two parts: C17 promises string literals of 4095 bytes only. */
    fputs("      --watchers N       N more connections send WATCH before each test and\n"
          "                         read its events; reported as two more rows per test:\n"
          "                         TEST-watch (requests = events read by all of them,\n"
          "                         latencies = the delay from the writer reading its OK\n"
          "                         to a watcher reading the event, 0 when the event came\n"
          "                         first; errors = events missed or extra, overflows:\n"
          "                         each watcher must get one event per write answered\n"
          "                         OK) and TEST-watch-sent (the delay from the send);\n"
          "                         add and edit events are timed, done's only counted\n"
          "      --stalled-watcher  one more connection sends WATCH and reads nothing\n"
          "                         until the test ends; row TEST-stalled: requests = the\n"
          "                         events queued for it, errors = 1 if they do not end\n"
          "                         in EVENT overflow\n"
          "      --http             the get test over HTTP/1.1: keep-alive GET\n"
          "                         /api/tasks/ID with a Host header, pipelined with -P;\n"
          "                         responses read by Content-Length, any status but 200\n"
          "                         an error; row http-get\n"
          "      --http-path PATH   the same, but GET PATH every time and prepare no task:\n"
          "                         loads any web server (nginx serving a file)\n"
          "      --watch-http       the --watchers read GET /api/events (Server-Sent\n"
          "                         Events) instead of a line WATCH, and are checked alike\n"
          "      --users N          a server with accounts: connection i logs in as user\n"
          "                         u(i mod N) (made with todo-server user add) and works\n"
          "                         in that user's list, KEYSPACE / N tasks each\n"
          "      --user-password PW the users' password (a benchmark's, not a secret)\n"
          "  -h, --help             this text\n"
          "\n"
          "Before the timed part, get/edit/done/mixed ADD KEYSPACE tasks and list adds\n"
          "LIST-SIZE tasks under a fresh tag; their ids are used by the tests.\n"
          "Latencies are in microseconds. Exit status: 0 success, 1 a test failed to run,\n"
          "2 usage, 3 cannot connect, 4 some replies were errors.\n",
          f);
}

static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    if (!s || *s == '\0' || *s == '-')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Unescapes \r \n \t \\ \xHH into a new string; -1 on a bad escape. */
static int unescape(const char *s, char **out, size_t *outlen)
{
    size_t n = strlen(s), j = 0;
    char *d = malloc(n + 1);
    if (!d)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\\') {
            d[j++] = s[i];
            continue;
        }
        if (++i == n)
            goto bad;
        switch (s[i]) {
        case 'r':
            d[j++] = '\r';
            break;
        case 'n':
            d[j++] = '\n';
            break;
        case 't':
            d[j++] = '\t';
            break;
        case '\\':
            d[j++] = '\\';
            break;
        case 'x': {
            if (i + 2 >= n)
                goto bad;
            int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0)
                goto bad;
            d[j++] = (char)(hi * 16 + lo);
            i += 2;
            break;
        }
        default:
            goto bad;
        }
    }
    d[j] = '\0';
    *out = d;
    *outlen = j;
    return 0;
bad:
    free(d);
    return -1;
}

static int parse_tests(const char *s, struct options *o)
{
    o->ntests = 0;
    const char *p = s;
    while (*p) {
        size_t len = strcspn(p, ",");
        int found = -1;
        for (int k = 0; k < T_RAW; k++)
            if (strlen(test_names[k]) == len && strncmp(p, test_names[k], len) == 0)
                found = k;
        if (found < 0) {
            msg("unknown test '%.*s' (known: ping,get,add,edit,done,list,mixed,tget)", (int)len, p);
            return -1;
        }
        for (int i = 0; i < o->ntests; i++)
            if ((int)o->order[i] == found)
                found = -2;
        if (found >= 0) {
            if (o->ntests == T__COUNT)
                return -1;
            o->order[o->ntests++] = (enum test_kind)found;
        }
        p += len;
        if (*p == ',')
            p++;
    }
    if (o->ntests == 0) {
        msg("no tests given");
        return -1;
    }
    return 0;
}

enum {
    OPT_IDLE = 256,
    OPT_CSV,
    OPT_RAW,
    OPT_UNTIL,
    OPT_THREADS,
    OPT_LIST,
    OPT_LIST_ALL,
    OPT_WPCT,
    OPT_NAME,
    OPT_RAW_WRITE,
    OPT_WRITE_UNTIL,
    OPT_TEXT_SIZE,
    OPT_TAGS,
    OPT_EXISTING,
    OPT_LOAD_ONLY,
    OPT_ACC,
    OPT_WATCHERS,
    OPT_STALLED,
    OPT_HTTP,
    OPT_HTTP_PATH,
    OPT_WATCH_HTTP,
    OPT_USERS,
    OPT_USER_PASSWORD
};

static int parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longs[] = {
        {"host", required_argument, NULL, 'H'},
        {"port", required_argument, NULL, 'p'},
        {"connections", required_argument, NULL, 'c'},
        {"pipeline", required_argument, NULL, 'P'},
        {"duration", required_argument, NULL, 'd'},
        {"requests", required_argument, NULL, 'n'},
        {"tests", required_argument, NULL, 't'},
        {"keyspace", required_argument, NULL, 'r'},
        {"idle", required_argument, NULL, OPT_IDLE},
        {"csv", no_argument, NULL, OPT_CSV},
        {"accumulate", required_argument, NULL, OPT_ACC},
        {"raw", required_argument, NULL, OPT_RAW},
        {"reply-until", required_argument, NULL, OPT_UNTIL},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"list-size", required_argument, NULL, OPT_LIST},
        {"list-all", no_argument, NULL, OPT_LIST_ALL},
        {"write-pct", required_argument, NULL, OPT_WPCT},
        {"name", required_argument, NULL, OPT_NAME},
        {"raw-write", required_argument, NULL, OPT_RAW_WRITE},
        {"write-reply-until", required_argument, NULL, OPT_WRITE_UNTIL},
        {"text-size", required_argument, NULL, OPT_TEXT_SIZE},
        {"tags", required_argument, NULL, OPT_TAGS},
        {"existing", no_argument, NULL, OPT_EXISTING},
        {"load-only", no_argument, NULL, OPT_LOAD_ONLY},
        {"watchers", required_argument, NULL, OPT_WATCHERS},
        {"stalled-watcher", no_argument, NULL, OPT_STALLED},
        {"http", no_argument, NULL, OPT_HTTP},
        {"http-path", required_argument, NULL, OPT_HTTP_PATH},
        {"watch-http", no_argument, NULL, OPT_WATCH_HTTP},
        {"users", required_argument, NULL, OPT_USERS},
        {"user-password", required_argument, NULL, OPT_USER_PASSWORD},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    uint64_t v;
    size_t v_len = 0;
    int have_d = 0, have_n = 0, have_t = 0;

    memset(o, 0, sizeof(*o));
    o->host = "127.0.0.1";
    o->port = "9000";
    o->conns = 50;
    o->pipeline = 1;
    o->seconds = 10;
    o->keyspace = 10000;
    o->threads = 1;
    o->list_size = 100;
    o->write_pct = 10;

    int ch;
    while ((ch = getopt_long(argc, argv, "H:p:c:P:d:n:t:r:h", longs, NULL)) != -1) {
        switch (ch) {
        case 'H':
            o->host = optarg;
            break;
        case 'p':
            if (parse_u64(optarg, 1, 65535, &v) < 0) {
                msg("bad port '%s'", optarg);
                return -1;
            }
            o->port = optarg;
            break;
        case 'c':
            if (parse_u64(optarg, 1, 100000, &v) < 0) {
                msg("bad connection count '%s' (1..100000)", optarg);
                return -1;
            }
            o->conns = (int)v;
            break;
        case 'P':
            if (parse_u64(optarg, 1, 4096, &v) < 0) {
                msg("bad pipeline depth '%s' (1..4096)", optarg);
                return -1;
            }
            o->pipeline = (int)v;
            break;
        case 'd': {
            char *end;
            errno = 0;
            double s = strtod(optarg, &end);
            if (errno || *end != '\0' || !(s > 0) || s > 3600) {
                msg("bad duration '%s' (seconds, up to 3600)", optarg);
                return -1;
            }
            o->seconds = s;
            have_d = 1;
            break;
        }
        case 'n':
            if (parse_u64(optarg, 1, UINT64_MAX / 2, &v) < 0) {
                msg("bad request count '%s'", optarg);
                return -1;
            }
            o->requests = v;
            have_n = 1;
            break;
        case 't':
            if (parse_tests(optarg, o) < 0)
                return -1;
            have_t = 1;
            break;
        case 'r':
            if (parse_u64(optarg, 1, 100000000, &v) < 0) {
                msg("bad keyspace '%s' (1..100000000)", optarg);
                return -1;
            }
            o->keyspace = v;
            break;
        case OPT_IDLE:
            if (parse_u64(optarg, 0, 1000000, &v) < 0) {
                msg("bad idle connection count '%s'", optarg);
                return -1;
            }
            o->idle = (long)v;
            break;
        case OPT_ACC:
            o->acc = optarg;
            break;
        case OPT_CSV:
            o->csv = 1;
            break;
        case OPT_RAW: {
            /* Escapes let one request span lines (memcached's set is a
             * command line and a data line); the template is a C string,
             * so it cannot hold a NUL byte. */
            size_t len = 0;
            free(o->raw);
            o->raw = NULL;
            if (strchr(optarg, '\n') || strchr(optarg, '\r')) {
                msg("--raw LINE must be one line (CRLF is appended; write \\r\\n for line "
                    "breaks inside it)");
                return -1;
            }
            if (unescape(optarg, &o->raw, &len) < 0 || len == 0 || strlen(o->raw) != len) {
                msg("bad --raw '%s' (a non-empty line; escapes \\r \\n \\t \\\\ \\xHH, "
                    "but not \\x00)",
                    optarg);
                return -1;
            }
            break;
        }
        case OPT_UNTIL:
            free(o->until);
            o->until = NULL;
            if (unescape(optarg, &o->until, &o->until_len) < 0 || o->until_len == 0) {
                msg("bad --reply-until '%s' (a non-empty string; escapes \\r \\n \\t \\\\ \\xHH)",
                    optarg);
                return -1;
            }
            break;
        case OPT_THREADS:
            if (parse_u64(optarg, 1, 256, &v) < 0) {
                msg("bad thread count '%s' (1..256)", optarg);
                return -1;
            }
            o->threads = (int)v;
            break;
        case OPT_LIST_ALL:
            o->list_all = 1;
            break;
        case OPT_LIST:
            if (parse_u64(optarg, 1, 10000000, &v) < 0) {
                msg("bad list size '%s'", optarg);
                return -1;
            }
            o->list_size = v;
            break;
        case OPT_WPCT:
            if (parse_u64(optarg, 0, 100, &v) < 0) {
                msg("bad write percentage '%s' (0..100)", optarg);
                return -1;
            }
            o->write_pct = (int)v;
            break;
        case OPT_NAME:
            o->name = optarg;
            break;
        case OPT_RAW_WRITE:
            free(o->raw_write);
            o->raw_write = NULL;
            if (strchr(optarg, '\n') || strchr(optarg, '\r') ||
                unescape(optarg, &o->raw_write, &v_len) < 0 || v_len == 0 ||
                strlen(o->raw_write) != v_len) {
                msg("bad --raw-write '%s' (one non-empty line, escapes as --raw)", optarg);
                return -1;
            }
            break;
        case OPT_WRITE_UNTIL:
            free(o->write_until);
            o->write_until = NULL;
            if (unescape(optarg, &o->write_until, &o->write_until_len) < 0 ||
                o->write_until_len == 0) {
                msg("bad --write-reply-until '%s'", optarg);
                return -1;
            }
            break;
        case OPT_TEXT_SIZE:
            if (parse_u64(optarg, 0, TEXT_MAX, &v) < 0) {
                msg("bad text size '%s' (0..%d)", optarg, TEXT_MAX);
                return -1;
            }
            o->text_size = (size_t)v;
            break;
        case OPT_TAGS:
            if (parse_u64(optarg, 0, PROTO_MAX_TAGS, &v) < 0) {
                msg("bad tag count '%s' (0..%d)", optarg, PROTO_MAX_TAGS);
                return -1;
            }
            o->tags = (int)v;
            break;
        case OPT_EXISTING:
            o->existing = 1;
            break;
        case OPT_LOAD_ONLY:
            o->load_only = 1;
            break;
        case OPT_WATCHERS:
            if (parse_u64(optarg, 0, 100000, &v) < 0) {
                msg("bad watcher count '%s' (0..100000)", optarg);
                return -1;
            }
            o->watchers = (int)v;
            break;
        case OPT_STALLED:
            o->stalled = 1;
            break;
        case OPT_USERS:
            if (parse_u64(optarg, 1, 100000, &v) < 0) {
                msg("bad user count '%s' (1..100000)", optarg);
                return -1;
            }
            o->users = (unsigned)v;
            break;
        case OPT_USER_PASSWORD:
            o->user_password = optarg;
            break;
        case OPT_HTTP:
            o->http = 1;
            break;
        case OPT_HTTP_PATH:
            /* One path, sent as it is: it must be a request target that
             * cannot split the request (no blank, no control byte). */
            for (const char *q = optarg; *q; q++)
                if ((unsigned char)*q <= ' ' || *q == 0x7f)
                    optarg = NULL;
            if (!optarg || optarg[0] != '/' || strlen(optarg) > HTTP_PATH_MAX) {
                msg("bad --http-path (a path beginning with /, without blanks, up to %d bytes)",
                    HTTP_PATH_MAX);
                return -1;
            }
            o->http = 1;
            o->http_path = optarg;
            break;
        case OPT_WATCH_HTTP:
            o->watch_http = 1;
            break;
        case 'h':
            usage(stdout);
            exit(EXIT_OK);
        default:
            usage(stderr);
            return -1;
        }
    }
    if (optind < argc) {
        msg("unexpected argument '%s'", argv[optind]);
        return -1;
    }
    if (have_d && have_n) {
        msg("give -d or -n, not both");
        return -1;
    }
    if (have_n)
        o->seconds = 0;
    if (o->raw && !o->until) {
        msg("--raw needs --reply-until STRING");
        return -1;
    }
    if (!o->raw && o->until) {
        msg("--reply-until only makes sense with --raw");
        return -1;
    }
    if (o->raw && have_t) {
        msg("--raw replaces the tests; drop -t");
        return -1;
    }
    if ((o->raw_write != NULL) != (o->write_until != NULL) || (o->raw_write && !o->raw)) {
        msg("--raw-write needs --raw and --write-reply-until, and they it");
        return -1;
    }
    if (o->raw && (o->watchers || o->stalled)) {
        msg("--watchers and --stalled-watcher need todo-server's tests, not --raw");
        return -1;
    }
    if (o->http && (o->raw || (have_t && (o->ntests != 1 || o->order[0] != T_GET)))) {
        msg("--http and --http-path run the get test only (-t get, or no -t), not --raw");
        return -1;
    }
    if (o->watch_http && (o->watchers == 0 || o->stalled)) {
        msg("--watch-http needs --watchers N (the stalled watcher stays a line WATCH: drop "
            "--stalled-watcher)");
        return -1;
    }
    if (o->http_path && o->watchers) {
        msg("--http-path loads any web server; --watchers needs todo-server's tests");
        return -1;
    }
    /* The Host header todo-server checks (docs/HTTP.md): the address
     * given, an IPv6 one in brackets, and the port. */
    if (strchr(o->host, ':'))
        snprintf(o->http_host, sizeof(o->http_host), "[%s]:%s", o->host, o->port);
    else
        snprintf(o->http_host, sizeof(o->http_host), "%s:%s", o->host, o->port);
    if (o->existing && o->load_only) {
        msg("give --existing or --load-only, not both");
        return -1;
    }
    if (o->users > 0 && (!o->user_password || o->watchers || o->stalled || o->http || o->raw ||
                         o->keyspace < o->users)) {
        msg("--users needs --user-password and at least one task per user, and goes with "
            "neither --watchers, --stalled-watcher, --http nor --raw");
        return -1;
    }
    if (o->raw) {
        o->order[0] = T_RAW;
        o->ntests = 1;
    } else if (o->http) {
        o->order[0] = T_GET;
        o->ntests = 1;
    } else if (!have_t) {
        /* tget, the tutorial's form, only when asked for: the default
         * run stays what it was. */
        o->ntests = 0;
        for (int k = 0; k < T_RAW; k++)
            if (k != T_TGET)
                o->order[o->ntests++] = (enum test_kind)k;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct options o;
    struct ids ids = {0};
    struct addrinfo *ai = NULL;
    int *idle = NULL;
    struct write_ring ring = {0};
    int rc = EXIT_USAGE;
    int need_keys = 0, need_list = 0, any_errors = 0;
    char list_tag[PROTO_MAX_TAG + 1];

    if (parse_options(argc, argv, &o) < 0)
        goto out;
    rc = EXIT_FAIL;
    /* A server that closes on us must not kill the benchmark. */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
        msg("signal: %s", strerror(errno));
        goto out;
    }
    if (raise_nofile((rlim_t)o.conns + (rlim_t)o.idle + (rlim_t)o.watchers + 64) < 0)
        goto out;
    ai = resolve(&o);
    if (!ai) {
        rc = EXIT_CONNECT;
        goto out;
    }
    /* Fail early, with a clear message, when nothing listens there; from
     * then on use only the address that answered. */
    struct addrinfo *good = ai;
    int probe = -1, loopback = 0;
    for (; good; good = good->ai_next) {
        /* todo-bench loads only servers on this machine, so that a
         * mistyped -H cannot turn it on someone else's server. */
        if (!net_addr_is_loopback(good->ai_addr, good->ai_addrlen))
            continue;
        loopback = 1;
        struct addrinfo one = *good;
        one.ai_next = NULL;
        probe = dial(&one, 0);
        if (probe >= 0)
            break;
    }
    if (!loopback) {
        char a[NI_MAXHOST];
        if (getnameinfo(ai->ai_addr, ai->ai_addrlen, a, sizeof(a), NULL, 0, NI_NUMERICHOST) != 0)
            snprintf(a, sizeof(a), "%s", "an address");
        if (strcmp(a, o.host) == 0)
            msg("%s is not a loopback address: todo-bench only loads a server on this machine "
                "(-H 127.0.0.1, ::1 or localhost)",
                o.host);
        else
            msg("%s is %s, not a loopback address: todo-bench only loads a server on this "
                "machine (-H 127.0.0.1, ::1 or localhost)",
                o.host, a);
        rc = EXIT_USAGE;
        goto out;
    }
    if (probe < 0) {
        msg("cannot connect to %s:%s: %s", o.host, o.port, strerror(errno));
        rc = EXIT_CONNECT;
        goto out;
    }
    close(probe);
    struct addrinfo addr = *good;
    addr.ai_next = NULL;

    for (int i = 0; i < o.ntests; i++) {
        enum test_kind k = o.order[i];
        need_keys |= (k == T_GET && !o.http_path) || k == T_EDIT || k == T_DONE || k == T_MIXED ||
                     k == T_TGET;
        need_list |= k == T_LIST;
    }
    /* A tag no earlier run can have used, so LIST returns exactly our tasks. */
    snprintf(list_tag, sizeof(list_tag), "bench%lx%llx", (unsigned long)getpid(),
             (unsigned long long)(now_ns() % 0xFFFFFFFFFFull));
    uint64_t t0 = now_ns();
    if (o.load_only) {
        if (prepare_tasks(&addr, &o, o.keyspace, NULL, NULL) < 0)
            goto out;
        fprintf(stderr, "%s: loaded %" PRIu64 " tasks in %.2f s\n", progname, o.keyspace,
                (double)(now_ns() - t0) / 1e9);
        rc = EXIT_OK;
        goto out;
    }
    if (need_keys && o.existing &&
        ids_counting(&ids, o.users ? o.keyspace / o.users : o.keyspace) < 0) {
        msg("out of memory");
        goto out;
    }
    if (need_keys && !o.existing && prepare_tasks(&addr, &o, o.keyspace, NULL, &ids) < 0)
        goto out;
    if (need_list && prepare_tasks(&addr, &o, o.list_size, list_tag, NULL) < 0)
        goto out;
    if ((need_keys || need_list) && !o.csv)
        fprintf(stderr, "%s: prepared %" PRIu64 " tasks in %.2f s\n", progname,
                (need_keys ? o.keyspace : 0) + (need_list ? o.list_size : 0),
                (double)(now_ns() - t0) / 1e9);

    if (o.idle > 0) {
        idle = calloc((size_t)o.idle, sizeof(*idle));
        if (!idle) {
            msg("out of memory");
            goto out;
        }
        t0 = now_ns();
        if (open_idle(&addr, &o, idle) < 0) {
            free(idle);
            idle = NULL;
            rc = EXIT_CONNECT;
            goto out;
        }
        if (!o.csv)
            fprintf(stderr, "%s: opened %ld idle connections in %.2f s\n", progname, o.idle,
                    (double)(now_ns() - t0) / 1e9);
    }

    if (o.watchers > 0) {
        ring.n = calloc(WRITE_RING, sizeof(*ring.n));
        ring.sent_ns = calloc(WRITE_RING, sizeof(*ring.sent_ns));
        ring.ok_ns = calloc(WRITE_RING, sizeof(*ring.ok_ns));
        if (!ring.n || !ring.sent_ns || !ring.ok_ns) {
            msg("out of memory");
            goto out;
        }
    }
    if (o.csv)
        printf("test,connections,pipeline,requests,seconds,rps,p50_us,p99_us,p999_us,max_us,"
               "errors\n");
    rc = EXIT_OK;
    for (int i = 0; i < o.ntests; i++) {
        struct test t = {.kind = o.order[i],
                         .o = &o,
                         .ids = &ids,
                         .list_tag = list_tag,
                         .ring = o.watchers > 0 ? &ring : NULL,
                         .watched = o.watchers > 0 || o.stalled};
        atomic_init(&t.stop, 0);
        atomic_init(&t.wseq, 0);
        /* No slot may still hold a number of the test before. */
        if (ring.n)
            memset((void *)ring.n, 0, WRITE_RING * sizeof(*ring.n));
        struct result *r = calloc(1 + WR__COUNT, sizeof(*r));
        if (!r) {
            msg("out of memory");
            rc = EXIT_FAIL;
            break;
        }
        int trc = run_test(&t, &addr, r, r + 1);
        if (trc == EXIT_OK || trc == EXIT_FAIL) {
            for (int k = 0; k < 1 + WR__COUNT; k++) {
                if (r[k].name && o.acc && accumulate(o.acc, &r[k]) != 0)
                    trc = EXIT_FAIL;
                if (r[k].name)
                    report(&o, &r[k]);
            }
        }
        for (int k = 1; k < 1 + WR__COUNT; k++)
            any_errors |= r[k].errors > 0;
        /* A run in which nothing was answered measured nothing: with --raw
         * the usual cause is a reply that never contains the string. */
        if (trc == EXIT_OK && r->done == 0) {
            msg("%s: no reply was complete in %.1f s%s", r->name ? r->name : "test", r->seconds,
                o.raw ? "; does every reply contain the --reply-until string?" : "");
            trc = EXIT_FAIL;
        }
        any_errors |= r->errors > 0;
        free(r);
        if (trc != EXIT_OK) {
            rc = trc;
            break;
        }
        if (idle) {
            long lost = idle_lost(idle, o.idle);
            if (lost > 0)
                msg("warning: %ld of %ld idle connections were closed or answered by the "
                    "server",
                    lost, o.idle);
        }
    }
    if (rc == EXIT_OK && any_errors)
        rc = EXIT_ERRORS;
out:
    if (idle) {
        for (long i = 0; i < o.idle; i++)
            close(idle[i]);
        free(idle);
    }
    if (ai)
        freeaddrinfo(ai);
    free(ring.n);
    free(ring.sent_ns);
    free(ring.ok_ns);
    free(ids.arena);
    free(ids.off);
    free(o.until);
    free(o.raw);
    free(o.raw_write);
    free(o.write_until);
    return rc;
}
