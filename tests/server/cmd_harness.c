/*
 * cmd_harness.c - the command layer run in-process (cmd_harness.h).
 *
 * It is the front end of one worker: what it does around commands_run
 * mirrors server/worker.c (handle_line, run_lines), and its writes go
 * through the server's own write batch (batch.c). When the command
 * layer's API changes, this file is the one test file to change with it.
 */
#include "cmd_harness.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "commands.h"
#include "config.h"
#include "guard.h"
#include "log.h"
#include "batch.h"
#include "reply-json.h"
#include "reply-line.h"
#include "stats.h"
#include "store.h"

struct harness;

struct hconn {
    struct harness *h;
    int authed;
    int64_t import_run; /* cmd_ctx.import_run between requests */
    int closed;         /* it quit: nothing more runs on it */
    int batched;        /* has replies in the open batch: it reads on the writer */
    struct guard_peer peer;
};

struct harness {
    struct server_config cfg;
    struct stats_counters *counters; /* the one worker's block (stats.h) */
    struct store_engine *engine;
    struct store *reader; /* the worker's own connection: committed data */
    struct cache *cache;  /* the worker's GET cache */
    int nconns;
    struct hconn conns[HARNESS_MAX_CONNS];

    int in_pass;         /* harness_pass_begin() was called */
    struct batch *batch; /* the worker's write batch (batch.h) */
    int committed_pass;  /* the batch's subscriber was told of a commit */
    /* Inside harness_run's own pass: the reply is still in out, and a
     * retracted one is rewritten there. */
    int own_pass;
    /* What the last pass changed, as harness_changes() gives it. */
    struct proto_buf committed;

    char *pscratch; /* proto_request_parse()'s scratch: max_line + 1 bytes */
    struct proto_buf out, scratch;
    struct proto_buf in; /* the line with its LF, for the reader */

    /* The last reply, decoded: its text and lines are copied into copy
     * (NUL-terminated), lines points into it. */
    struct harness_reply reply;
    char *copy;
    size_t copy_cap;
    const char **lines;
    size_t lines_cap;

    int memory;
    char dir[256], path[300];
    int json; /* harness_run_json: results go to the JSON encoder */
};

/* The open harness, for conns(): one at a time in a process, as STATS's
 * counters (stats.h) are the process's. */
static struct harness *current;

/* STATS's connection numbers, which the server's registry of open
 * connections gives (registry.c): here, the harness's connections. */
static void conns(struct stats_conns *out)
{
    memset(out, 0, sizeof(*out));
    if (current == NULL)
        return;
    for (int i = 0; i < current->nconns; i++)
        out->conns_current += !current->conns[i].closed;
    out->conns_total = (unsigned long long)current->nconns;
}

/* The batch's calls back into its front end (batch.h). A reply of a pass
 * that failed has been handed out already, unless it is the one reply of
 * harness_run's own pass, still in out: that one becomes the error the
 * server would send. */
static int retract(void *owner, size_t start, size_t end, const char *why)
{
    struct harness *h = ((struct hconn *)owner)->h;
    if (!h->own_pass)
        return 0;
    (void)start;
    (void)end;
    h->out.len = 0;
    if (h->json) {
        struct json_sink js;
        json_sink_init(&js, &h->out, &h->scratch, NULL, PROTO_CMD_NONE);
        return result_error(&js.base, PROTO_E_STORE, why);
    }
    return proto_reply_err(&h->out, PROTO_E_STORE, why);
}

static void drop(void *owner)
{
    struct hconn *c = owner;
    fprintf(stderr, "harness: a reply could not be taken back; the connection closes\n");
    c->closed = 1;
}

static void settled(void *owner)
{
    ((struct hconn *)owner)->batched = 0;
}

static const struct batch_replies harness_replies = {retract, drop, settled};

/* The batch's subscriber: formats its change log for harness_changes().
 * The batch has committed, so each record is a change that is in the
 * store. */
static void on_commit(void *arg, const struct change_log *l)
{
    static const char *const kinds[] = {[CHANGE_ADD] = "add",
                                        [CHANGE_EDIT] = "edit",
                                        [CHANGE_DELETE] = "delete",
                                        [CHANGE_PUT] = "put"};
    static const char *const names[] = {"text", "done", "pri", "due", "tags"};
    struct harness *h = arg;
    struct proto_buf *b = &h->committed;
    char one[PROTO_MAX_ID + 128];
    h->committed_pass = 1;
    b->len = 0;
    for (size_t i = 0; i < l->n; i++) {
        const struct change *c = &l->v[i];
        size_t n = (size_t)snprintf(one, sizeof(one), "%s%s %s %s", i ? "; " : "",
                                    proto_cmd_info(c->cmd)->name, kinds[c->kind], c->id);
        const char *sep = " ";
        for (size_t f = 0; f < sizeof(names) / sizeof(names[0]); f++) {
            if (c->fields & (1u << f)) {
                n += (size_t)snprintf(one + n, sizeof(one) - n, "%s%s", sep, names[f]);
                sep = ",";
            }
        }
        if (proto_buf_append(b, one, n) != 0)
            break;
    }
    if (l->lost && proto_buf_append(b, "; (lost)", 8) != 0)
        b->len = 0;
    /* NUL-terminated, not counted. */
    if (proto_buf_append(b, "", 1) == 0)
        b->len--;
}

/* Makes the engine's commits fail from now on, as on a full disk (on
 * 1), or work again (on 0). -1 when the engine cannot be made to fail. */
static int fault_commits(struct harness *h, int on)
{
#ifdef TODO_FAULT_INJECTION
    if (h->memory)
        return -1;
    store_fault_set(h->engine, on ? STORE_FAULT_COMMIT_FULL : STORE_FAULT_NONE);
    return 0;
#else
    (void)h;
    (void)on;
    return -1;
#endif
}

static void set_peer(struct hconn *c, int index)
{
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    /* 127.0.0.N: each connection an address of its own, so the guard's
     * per-address counts of one do not hold up another. */
    sa.sin_addr.s_addr = htonl(0x7f000001u + (uint32_t)index);
    memset(&c->peer, 0, sizeof(c->peer));
    guard_addr_from(&c->peer.addr, (const struct sockaddr *)&sa);
}

void harness_conn_reset(struct harness *h, int conn, int authed)
{
    struct hconn *c = &h->conns[conn];
    c->h = h;
    c->authed = authed && h->cfg.auth.enabled;
    c->import_run = 0;
    c->closed = 0;
    c->batched = 0;
    set_peer(c, conn);
}

int harness_conn_authed(const struct harness *h, int conn)
{
    return h->conns[conn].authed;
}

static void remove_files(struct harness *h)
{
    static const char *const ext[] = {"", "-wal", "-shm", "-journal"};
    char p[320];
    if (h->memory || h->dir[0] == '\0')
        return;
    for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
        snprintf(p, sizeof(p), "%s%s", h->path, ext[i]);
        if (unlink(p) != 0 && errno != ENOENT)
            fprintf(stderr, "harness: cannot remove %s: %s\n", p, strerror(errno));
    }
    if (rmdir(h->dir) != 0)
        fprintf(stderr, "harness: cannot remove %s: %s\n", h->dir, strerror(errno));
}

int harness_open(struct harness **out, const struct harness_options *o)
{
    char err[256];
    *out = NULL;
    struct harness *h = calloc(1, sizeof(*h));
    if (h == NULL) {
        fprintf(stderr, "harness: out of memory\n");
        return -1;
    }
    /* Quiet: below the log's lowest level, so that not even the error
     * line of each batch a fuzz run makes fail is printed. */
    if (o->quiet)
        log_set_level((enum log_level)(LOG_ERROR - 1));
    if (stats_init(1, conns) != 0) {
        fprintf(stderr, "harness: out of memory\n");
        free(h);
        return -1;
    }
    h->counters = stats_worker(0);
    current = h;
    h->nconns = o->nconns > 0 ? o->nconns : 1;
    if (h->nconns > HARNESS_MAX_CONNS)
        h->nconns = HARNESS_MAX_CONNS;
    h->memory = o->memory;
    h->cfg.bind = SERVER_DEFAULT_BIND;
    h->cfg.threads = 1;
    h->cfg.max_clients = SERVER_DEFAULT_MAX_CLIENTS;
    h->cfg.max_line = o->max_line > 0 ? o->max_line : PROTO_MAX_LINE_DEFAULT;
    if (o->password != NULL) {
        size_t n = strlen(o->password);
        if (n > AUTH_MAX)
            n = AUTH_MAX;
        h->cfg.auth.enabled = 1;
        h->cfg.auth.len = n;
        memcpy(h->cfg.auth.secret, o->password, n);
    }
    for (int i = 0; i < h->nconns; i++)
        harness_conn_reset(h, i, 0);
    proto_buf_init(&h->out, SERVER_OUTPUT_MAX);
    proto_buf_init(&h->scratch, SERVER_OUTPUT_MAX);
    proto_buf_init(&h->in, 0);
    proto_buf_init(&h->committed, 0);
    h->pscratch = malloc(h->cfg.max_line + 1);
    if (h->pscratch == NULL) {
        fprintf(stderr, "harness: out of memory\n");
        goto fail;
    }

    if (h->memory) {
        snprintf(h->path, sizeof(h->path), ":memory:");
    } else {
        const char *base = o->dir;
        if (base == NULL)
            base = getenv("TMPDIR");
        if (base == NULL || base[0] == '\0')
            base = "/tmp";
        snprintf(h->dir, sizeof(h->dir), "%s/todo-harness-XXXXXX", base);
        if (mkdtemp(h->dir) == NULL) {
            fprintf(stderr, "harness: mkdtemp %s: %s\n", h->dir, strerror(errno));
            h->dir[0] = '\0';
            goto fail;
        }
        snprintf(h->path, sizeof(h->path), "%s/todo.db", h->dir);
    }
    h->cfg.db = h->path;
    /* As server.c and worker.c: the engine (which creates the schema),
     * then the worker's own connection and cache. */
    struct store_options so = {h->path, 0};
    if (store_engine_open(&h->engine, &so, err, sizeof(err)) != STORE_OK ||
        store_connect(h->engine, STORE_ROLE_READ, &h->reader, err, sizeof(err)) != STORE_OK) {
        fprintf(stderr, "harness: %s\n", err);
        goto fail;
    }
    /* A small cache (a fuzz run opens one per input) whose entries evict
     * each other often. */
    h->cache = cache_new(32 * 1024);
    h->batch = batch_new(h->engine, h->counters, &harness_replies);
    if (h->cache == NULL || h->batch == NULL) {
        fprintf(stderr, "harness: out of memory\n");
        goto fail;
    }
    batch_on_commit(h->batch, on_commit, h);
    *out = h;
    return 0;
fail:
    harness_close(h);
    return -1;
}

void harness_close(struct harness *h)
{
    if (h == NULL)
        return;
    if (h->in_pass)
        harness_pass_end(h, HARNESS_COMMIT);
    batch_free(h->batch);
    cache_free(h->cache);
    stats_fini();
    current = NULL;
    store_close(h->reader);
    store_engine_close(h->engine);
    remove_files(h);
    proto_buf_free(&h->out);
    proto_buf_free(&h->scratch);
    proto_buf_free(&h->in);
    proto_buf_free(&h->committed);
    free(h->pscratch);
    free(h->copy);
    free(h->lines);
    free(h);
}

const char *harness_changes(const struct harness *h)
{
    return h->committed.data != NULL ? h->committed.data : "";
}

void harness_pass_begin(struct harness *h)
{
    if (h->in_pass)
        harness_pass_end(h, HARNESS_COMMIT);
    h->in_pass = 1;
}

int harness_pass_end(struct harness *h, enum harness_end how)
{
    int ok = 1;
    h->in_pass = 0;
    h->committed.len = 0;
    if (h->committed.data != NULL)
        h->committed.data[0] = '\0';
    /* As the worker: no snapshot outlives the pass, and none may hold up
     * the commit (in memory, a reader would block it). */
    store_read_end(h->reader);
    if (batch_is_open(h->batch)) {
        int armed = how == HARNESS_FAIL_COMMIT && fault_commits(h, 1) == 0;
        if (how != HARNESS_COMMIT && !armed)
            batch_break(h->batch);
        h->committed_pass = 0;
        batch_end(h->batch);
        if (armed)
            fault_commits(h, 0);
        ok = h->committed_pass;
    }
    return ok;
}

/* Room for n bytes in h->copy. */
static int copy_reserve(struct harness *h, size_t n)
{
    if (n <= h->copy_cap)
        return 0;
    size_t cap = h->copy_cap ? h->copy_cap : 256;
    while (cap < n)
        cap *= 2;
    char *p = realloc(h->copy, cap);
    if (p == NULL)
        return -1;
    h->copy = p;
    h->copy_cap = cap;
    return 0;
}

/* Decodes h->out (one reply) into h->reply. bare: the request was a
 * legacy form answered without an error, whose line is not a reply of the
 * native protocol. -1 when the bytes are no reply at all. */
static int decode(struct harness *h, int bare)
{
    struct harness_reply *r = &h->reply;
    r->raw = h->out.data;
    r->raw_len = h->out.len;
    if (h->out.len == 0) {
        r->kind = HARNESS_NONE;
        return 0;
    }
    if (copy_reserve(h, h->out.len + 1) != 0)
        return -1;
    if (h->json) {
        /* One document and its newline, nothing after. */
        size_t n = h->out.len;
        if (h->out.data[n - 1] != '\n' || memchr(h->out.data, '\n', n - 1) != NULL) {
            fprintf(stderr, "harness: not one JSON document: %.*s\n", (int)n, h->out.data);
            return -1;
        }
        memcpy(h->copy, h->out.data, n - 1);
        h->copy[n - 1] = '\0';
        r->kind = HARNESS_JSON;
        r->text = h->copy;
        return 0;
    }
    if (bare) {
        size_t n = h->out.len;
        if (n >= 2 && memcmp(h->out.data + n - 2, "\r\n", 2) == 0)
            n -= 2;
        memcpy(h->copy, h->out.data, n);
        h->copy[n] = '\0';
        r->kind = HARNESS_BARE;
        r->text = h->copy;
        return 0;
    }
    struct proto_reply_decoder d;
    struct proto_reply rep;
    size_t used;
    char err[128];
    proto_reply_decoder_init(&d, 0);
    if (proto_reply_decode(&d, h->out.data, h->out.len, &used, &rep, err, sizeof(err)) !=
            PROTO_COMPLETE ||
        used != h->out.len) {
        fprintf(stderr, "harness: not one reply (%s): %.*s\n", err, (int)h->out.len, h->out.data);
        return -1;
    }
    if (rep.kind == PROTO_REPLY_DATA) {
        if (rep.nlines > h->lines_cap) {
            const char **l = realloc(h->lines, rep.nlines * sizeof(*l));
            if (l == NULL)
                return -1;
            h->lines = l;
            h->lines_cap = rep.nlines;
        }
        /* The body's lines, each NUL-terminated in place of its CRLF. */
        struct proto_str body = rep.body, line;
        size_t off = 0, i = 0;
        while (proto_body_next(&body, &line)) {
            memcpy(h->copy + off, line.ptr, line.len);
            h->copy[off + line.len] = '\0';
            h->lines[i++] = h->copy + off;
            off += line.len + 1;
        }
        r->kind = HARNESS_DATA;
        r->nlines = i;
        r->lines = h->lines;
        return 0;
    }
    memcpy(h->copy, rep.text.ptr, rep.text.len);
    h->copy[rep.text.len] = '\0';
    r->text = h->copy;
    r->kind = rep.kind == PROTO_REPLY_OK ? HARNESS_OK : HARNESS_ERR;
    r->err = rep.err;
    return 0;
}

/* Runs one line as handle_line() in worker.c does. Returns 1 if the reply
 * is a legacy bare line. */
static int handle_line(struct harness *h, struct hconn *c, const char *line, size_t len)
{
    struct proto_request req;
    char err[256];
    int on_writer = batch_is_open(h->batch) && c->batched;
    struct line_sink sink;
    struct json_sink js;
    struct cmd_ctx x = {
        .sink = h->json ? &js.base : &sink.base,
        .store = on_writer ? batch_writer(h->batch) : h->reader,
        .cache = h->cache,
        .cfg = &h->cfg,
        .counters = h->counters,
        .batch = h->batch,
        .batch_open = batch_open,
        .changes = batch_changes(h->batch),
        .list_stream = NULL,
        .in_batch = on_writer,
        .authed = c->authed,
        .import_run = c->import_run,
        .peer = &c->peer,
    };
    int bare = 0;
    enum proto_err e =
        proto_request_parse(line, len, h->pscratch, h->cfg.max_line + 1, &req, err, sizeof(err));
    if (e != PROTO_E_NONE) {
        line_sink_init(&sink, &h->out, &h->scratch, &h->counters->errors, 0);
        json_sink_init(&js, &h->out, &h->scratch, &h->counters->errors, PROTO_CMD_NONE);
        atomic_fetch_add(&h->counters->commands, 1);
        commands_error(&x, e, err);
    } else if (req.cmd == PROTO_CMD_NONE) {
        return 0;
    } else {
        /* The tutorial's forms get its bare replies, but for errors, which
         * are native ERR lines: the encoder counts those. */
        int legacy = req.cmd == PROTO_CMD_LEGACY_GET || req.cmd == PROTO_CMD_LEGACY_POST;
        unsigned long long errors = atomic_load(&h->counters->errors);
        line_sink_init(&sink, &h->out, &h->scratch, &h->counters->errors, legacy);
        json_sink_init(&js, &h->out, &h->scratch, &h->counters->errors, req.cmd);
        commands_run(&x, &req);
        bare = !h->json && legacy && atomic_load(&h->counters->errors) == errors;
    }
    c->authed = x.authed != 0;
    c->import_run = x.import_run;
    if (x.quit)
        c->closed = 1;
    if (x.batch_broken)
        batch_break(h->batch);
    if (x.used_batch) {
        /* The reply is all of out, which harness_run empties first. */
        if (batch_note(h->batch, c, 0, h->out.len, x.wrote) != 0)
            drop(c);
        c->batched = 1;
    }
    h->reply.in_batch = x.used_batch;
    h->reply.wrote = x.wrote;
    h->reply.quit = x.quit;
    if (x.out_full)
        fprintf(stderr, "harness: a reply did not fit in the connection's output\n");
    return bare;
}

static const struct harness_reply *failed(struct harness *h)
{
    static const char *const none[1];
    memset(&h->reply, 0, sizeof(h->reply));
    h->reply.kind = HARNESS_ERR;
    h->reply.err = PROTO_E_INTERNAL;
    h->reply.text = "the harness failed";
    h->reply.lines = none;
    h->reply.raw = "";
    return &h->reply;
}

const struct harness_reply *harness_run_n(struct harness *h, int conn, const char *line, size_t len)
{
    static const char *const none[1];
    struct hconn *c = &h->conns[conn];
    struct harness_reply *r = &h->reply;
    memset(r, 0, sizeof(*r));
    r->text = "";
    r->lines = none;
    r->raw = "";
    h->out.len = 0;
    if (c->closed) {
        r->kind = HARNESS_CLOSED;
        return r;
    }
    /* Framed as the worker frames a connection's bytes, so that CRLF and
     * the line limit are the server's. */
    h->in.len = 0;
    if (proto_buf_append(&h->in, line, len) != 0 || proto_buf_append(&h->in, "\n", 1) != 0)
        return failed(h);
    int own_pass = !h->in_pass;
    if (own_pass)
        harness_pass_begin(h);
    struct proto_reader rd;
    const char *l;
    size_t llen, used;
    proto_reader_init(&rd, h->cfg.max_line);
    enum proto_status st = proto_reader_next(&rd, h->in.data, h->in.len, &l, &llen, &used);
    int bare = 0;
    if (st == PROTO_COMPLETE) {
        bare = handle_line(h, c, l, llen);
    } else {
        char msg[128];
        struct line_sink sink;
        struct json_sink js;
        line_sink_init(&sink, &h->out, &h->scratch, &h->counters->errors, 0);
        json_sink_init(&js, &h->out, &h->scratch, &h->counters->errors, PROTO_CMD_NONE);
        struct cmd_ctx x = {.sink = h->json ? &js.base : &sink.base, .counters = h->counters};
        snprintf(msg, sizeof(msg), "request line longer than %zu bytes", h->cfg.max_line);
        c->import_run = 0; /* a request that is not an IMPORT ends the run */
        atomic_fetch_add(&h->counters->commands, 1);
        commands_error(&x, PROTO_E_TOOLONG, msg);
    }

    if (own_pass) {
        /* The batch retracts the reply if the commit fails: ERR STORE. */
        h->own_pass = 1;
        if (harness_pass_end(h, HARNESS_COMMIT) == 0 && r->in_batch) {
            bare = 0;
            r->wrote = 0;
        }
        h->own_pass = 0;
    }
    if (decode(h, bare) != 0)
        return failed(h);
    return r;
}

const struct harness_reply *harness_run(struct harness *h, int conn, const char *line)
{
    return harness_run_n(h, conn, line, strlen(line));
}

const struct harness_reply *harness_run_json(struct harness *h, int conn, const char *line)
{
    h->json = 1;
    const struct harness_reply *r = harness_run_n(h, conn, line, strlen(line));
    h->json = 0;
    return r;
}
