/*
 * commands.c - the dispatch table and one handler per command.
 *
 * Handlers write their whole reply into x->out. Every append is checked:
 * when one fails (the client's output passed its cap), x->out_full tells
 * the worker to drop the connection, since a reply cut in the middle
 * cannot be repaired.
 */
#include "commands.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cache.h"
#include "config.h"
#include "guard.h"
#include "log.h"
#include "store.h"
#include "stream.h"
#include "worker.h"

typedef void (*cmd_fn)(struct cmd_ctx *x, const struct proto_request *req);

static void count(atomic_ullong *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static void check(struct cmd_ctx *x, int rc)
{
    if (rc != 0)
        x->out_full = 1;
}

void commands_error(struct cmd_ctx *x, enum proto_err e, const char *msg)
{
    count(&x->counters->errors);
    check(x, proto_reply_err(x->out, e, msg));
}

static void errorf(struct cmd_ctx *x, enum proto_err e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void errorf(struct cmd_ctx *x, enum proto_err e, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    commands_error(x, e, msg);
}

static void store_failed(struct cmd_ctx *x, const char *verb)
{
    const char *why = store_errmsg(x->store);
    log_error("%s failed in the store: %s", verb, why);
    errorf(x, PROTO_E_STORE, "%s", why);
}

static void not_found(struct cmd_ctx *x, struct proto_str id)
{
    errorf(x, PROTO_E_NOTFOUND, "no task with id '%.*s'", (int)id.len, id.ptr);
}

/* Replies "OK <id>". */
static void ok_id(struct cmd_ctx *x, struct proto_str id)
{
    char text[PROTO_MAX_ID + 1];
    size_t n = id.len < PROTO_MAX_ID ? id.len : PROTO_MAX_ID;
    memcpy(text, id.ptr, n);
    text[n] = '\0';
    check(x, proto_reply_ok(x->out, text));
}

static void cmd_ping(struct cmd_ctx *x, const struct proto_request *req)
{
    (void)req;
    check(x, proto_reply_ok(x->out, "PONG"));
}

static void cmd_hello(struct cmd_ctx *x, const struct proto_request *req)
{
    (void)req;
    char text[128];
    snprintf(text, sizeof(text), "%s %d todo-server/%s", PROTO_NAME, PROTO_VERSION, TODO_VERSION);
    check(x, proto_reply_ok(x->out, text));
}

/* One HELP line: NAME "usage" "summary", both always quoted so that the
 * line has three fields even when the usage is empty. */
static int help_line(struct proto_buf *b, const struct proto_cmd_info *c)
{
    if (proto_buf_append(b, c->name, strlen(c->name)) < 0 || proto_buf_append(b, " ", 1) < 0 ||
        proto_quote_append(b, c->usage, strlen(c->usage), 1) < 0 ||
        proto_buf_append(b, " ", 1) < 0 ||
        proto_quote_append(b, c->summary, strlen(c->summary), 1) < 0 ||
        proto_buf_append(b, "\r\n", 2) < 0)
        return -1;
    return 0;
}

/* HELP lists the visible entries of libproto's command table, so it can
 * never drift from what the server accepts. */
static void cmd_help(struct cmd_ctx *x, const struct proto_request *req)
{
    if (req->has_text) {
        enum proto_cmd c = proto_cmd_lookup(req->text.ptr, req->text.len);
        if (c == PROTO_CMD_NONE) {
            errorf(x, PROTO_E_UNKNOWN, "no command '%.*s'; send HELP for the list",
                   (int)(req->text.len > 32 ? 32 : req->text.len), req->text.ptr);
            return;
        }
        check(x, proto_reply_data(x->out, 1));
        check(x, help_line(x->out, proto_cmd_info(c)));
        return;
    }
    size_t n = 0;
    for (int i = PROTO_CMD_NONE + 1; i < PROTO_CMD__COUNT; i++)
        if (!(proto_cmd_info((enum proto_cmd)i)->flags & PROTO_CMDF_HIDDEN))
            n++;
    check(x, proto_reply_data(x->out, n));
    for (int i = PROTO_CMD_NONE + 1; i < PROTO_CMD__COUNT; i++) {
        const struct proto_cmd_info *c = proto_cmd_info((enum proto_cmd)i);
        if (!(c->flags & PROTO_CMDF_HIDDEN))
            check(x, help_line(x->out, c));
    }
}

static void cmd_add(struct cmd_ctx *x, const struct proto_request *req)
{
    char id[PROTO_MAX_ID + 1];
    int rc = store_add(x->store, req, (int64_t)time(NULL), id);
    if (rc != STORE_OK) {
        store_failed(x, "ADD");
        return;
    }
    struct proto_str ids = {id, strlen(id)};
    ok_id(x, ids);
}

/* Collects task lines in the scratch buffer, so LIST can say how many
 * there are before it sends them. */
struct task_sink {
    struct proto_buf *b;
    size_t n;
    size_t cap;  /* LIST: stop once the lines pass this many bytes (0: no cap) */
    int too_big; /* the lines passed cap */
};

static int sink_task(void *arg, const struct proto_task *t)
{
    struct task_sink *k = arg;
    if (proto_task_encode(k->b, t) < 0)
        return 1;
    k->n++;
    if (k->cap > 0 && k->b->len > k->cap) {
        k->too_big = 1;
        return 1;
    }
    return 0;
}

/* Sends the sink as "DATA n" and its lines. */
static void send_sink(struct cmd_ctx *x, struct task_sink *k)
{
    if (proto_reply_data(x->out, k->n) < 0 || proto_buf_append(x->out, k->b->data, k->b->len) < 0)
        x->out_full = 1;
}

static void scratch_done(struct cmd_ctx *x)
{
    /* A big LIST may have grown the scratch buffer; do not keep megabytes
     * around for the next PING. */
    if (x->scratch->cap > 256 * 1024) {
        size_t max = x->scratch->max;
        proto_buf_free(x->scratch);
        proto_buf_init(x->scratch, max);
    }
    x->scratch->len = 0;
}

/*
 * GET is served from the worker's cache when the entry's generation is
 * still the store's (nothing was committed since its snapshot began).
 * Inside a write batch (x->in_batch) the store sees the batch's
 * uncommitted changes, so the cache is neither read nor filled there.
 */
static void cmd_get(struct cmd_ctx *x, const struct proto_request *req)
{
    struct task_sink k = {.b = x->scratch};
    unsigned long gen = 0;
    if (!x->in_batch) {
        size_t len;
        const char *hit = cache_get(req->id, store_generation(), &len);
        if (hit != NULL) {
            check(x, proto_buf_append(x->out, hit, len));
            return;
        }
        gen = store_read_generation(x->store);
    }
    size_t before = x->out->len;
    int rc = store_get(x->store, req->id, sink_task, &k);
    if (rc == STORE_OK) {
        send_sink(x, &k);
        if (!x->in_batch && !x->out_full)
            cache_put(req->id, gen, x->out->data + before, x->out->len - before);
    } else if (rc == STORE_NOTFOUND)
        not_found(x, req->id);
    else if (rc == STORE_STOPPED)
        errorf(x, PROTO_E_INTERNAL, "out of memory");
    else
        store_failed(x, "GET");
    scratch_done(x);
}

/* The write commands that name one task. */
static void finish_write(struct cmd_ctx *x, int rc, const char *verb, struct proto_str id)
{
    if (rc == STORE_OK)
        ok_id(x, id);
    else if (rc == STORE_NOTFOUND)
        not_found(x, id);
    else if (rc == STORE_LIMIT)
        errorf(x, PROTO_E_ARGS, "a task holds at most %d tags", PROTO_MAX_TAGS);
    else
        store_failed(x, verb);
}

static void cmd_edit(struct cmd_ctx *x, const struct proto_request *req)
{
    finish_write(x, store_edit(x->store, req, (int64_t)time(NULL)), "EDIT", req->id);
}

static void cmd_done(struct cmd_ctx *x, const struct proto_request *req)
{
    finish_write(x, store_set_done(x->store, req->id, 1, (int64_t)time(NULL)), "DONE", req->id);
}

static void cmd_undone(struct cmd_ctx *x, const struct proto_request *req)
{
    finish_write(x, store_set_done(x->store, req->id, 0, (int64_t)time(NULL)), "UNDONE", req->id);
}

static void cmd_del(struct cmd_ctx *x, const struct proto_request *req)
{
    finish_write(x, store_del(x->store, req->id), "DEL", req->id);
}

/* IMPORT: "OK imported|skipped|replaced ID", or ERR EXISTS under fail. */
static void cmd_import(struct cmd_ctx *x, const struct proto_request *req)
{
    static const char *const said[] = {
        [STORE_IMPORT_ADDED] = "imported",
        [STORE_IMPORT_SKIPPED] = "skipped",
        [STORE_IMPORT_REPLACED] = "replaced",
    };
    int outcome = STORE_IMPORT_ADDED;
    int rc = store_import(x->store, req, (int64_t)time(NULL), &outcome);
    if (rc == STORE_EXISTS) {
        errorf(x, PROTO_E_EXISTS, "a task with id '%.*s' exists; IMPORT skip or replace takes it",
               (int)req->id.len, req->id.ptr);
        return;
    }
    if (rc != STORE_OK) {
        store_failed(x, "IMPORT");
        return;
    }
    char text[PROTO_MAX_ID + 16];
    snprintf(text, sizeof(text), "%s %.*s", said[outcome], (int)req->id.len, req->id.ptr);
    check(x, proto_reply_ok(x->out, text));
}

/*
 * LIST is made at once when it fits in STREAM_INLINE_MAX bytes. A bigger
 * one is handed to a stream (stream.h), which reads it again from a
 * snapshot of its own and sends it in slices; what was made here is
 * dropped (at most STREAM_INLINE_MAX bytes' worth of work). Inside a write
 * batch the list must show the batch's uncommitted writes, which only the
 * writer store sees, and the batch ends with this pass: it is made at once
 * there, up to the server's reply limit.
 */
static void cmd_list(struct cmd_ctx *x, const struct proto_request *req)
{
    struct task_sink k = {.b = x->scratch};
    int rc;
    if (x->in_batch || x->list_stream == NULL) {
        rc = store_list(x->store, req, sink_task, &k);
    } else {
        struct store_cursor *cur;
        k.cap = STREAM_INLINE_MAX;
        rc = store_cursor_open(x->store, req, &cur);
        /* With tags SQLite sorts the whole list before its first line, so a
         * stream costs two runs of the query more (its count and its lines),
         * and cuts no work into slices: such a list is made at once up to
         * STREAM_INLINE_SORTED_MAX (LIST of 10,000 tasks with a tag, 1 MB:
         * p50 29 ms at once, 55 ms streamed). One that may well be bigger
         * (a task line has 60 bytes at least) goes to the stream at once
         * rather than being sorted here too. */
        long long most = rc == STORE_OK ? store_cursor_most(cur) : -1;
        if (most >= 0)
            k.cap = STREAM_INLINE_SORTED_MAX;
        if (most > STREAM_INLINE_SORTED_MAX / 60) {
            k.too_big = 1;
            rc = STORE_STOPPED;
            store_cursor_close(cur);
        } else if (rc == STORE_OK) {
            rc = store_cursor_next(cur, sink_task, &k);
            store_cursor_close(cur);
        }
    }
    if (rc == STORE_STOPPED && k.too_big && x->list_stream != NULL) {
        char err[256];
        int started = x->list_stream(req, err, sizeof(err));
        if (started == 1)
            errorf(x, PROTO_E_BUSY,
                   "%d long LIST replies are being sent already; try again shortly, or narrow "
                   "the list with pending, done, +tag or a word",
                   STREAM_MAX);
        else if (started < 0) {
            log_error("LIST failed in the store: %s", err);
            errorf(x, PROTO_E_STORE, "%s", err);
        }
    } else if (rc == STORE_OK)
        send_sink(x, &k);
    else if (rc == STORE_STOPPED)
        errorf(x, PROTO_E_INTERNAL,
               "the list is larger than the server's %u MiB reply limit; narrow it with "
               "pending, done, +tag or a word",
               SERVER_OUTPUT_MAX >> 20);
    else
        store_failed(x, "LIST");
    scratch_done(x);
}

static int sink_tag(void *arg, struct proto_str tag, int64_t n)
{
    struct task_sink *k = arg;
    char num[24];
    snprintf(num, sizeof(num), "%" PRId64, n);
    struct proto_str f[2] = {tag, {num, strlen(num)}};
    if (proto_reply_fields(k->b, f, 2) < 0)
        return 1;
    k->n++;
    return 0;
}

static void cmd_tags(struct cmd_ctx *x, const struct proto_request *req)
{
    (void)req;
    struct task_sink k = {.b = x->scratch};
    int rc = store_tags(x->store, sink_tag, &k);
    if (rc == STORE_OK)
        send_sink(x, &k);
    else if (rc == STORE_STOPPED)
        errorf(x, PROTO_E_INTERNAL, "out of memory");
    else
        store_failed(x, "TAGS");
    scratch_done(x);
}

static int stat_line(struct task_sink *k, const char *name, unsigned long long v)
{
    char num[24];
    snprintf(num, sizeof(num), "%llu", v);
    struct proto_str f[2] = {{name, strlen(name)}, {num, strlen(num)}};
    if (proto_reply_fields(k->b, f, 2) < 0)
        return -1;
    k->n++;
    return 0;
}

static void cmd_stats(struct cmd_ctx *x, const struct proto_request *req)
{
    (void)req;
    struct server_stats st;
    int64_t tasks = 0;
    if (store_count(x->store, &tasks) != STORE_OK) {
        store_failed(x, "STATS");
        return;
    }
    workers_stats(&st);
    struct guard_stats gs;
    guard_stats(&gs);
    struct task_sink k = {.b = x->scratch};
    struct proto_str ver = {"version", 7}, vv = {TODO_VERSION, strlen(TODO_VERSION)};
    int rc =
        stat_line(&k, "connections_current", st.conns_current) |
        stat_line(&k, "connections_total", st.conns_total) |
        stat_line(&k, "commands", st.commands) | stat_line(&k, "errors", st.errors) |
        stat_line(&k, "tasks", (unsigned long long)tasks) |
        stat_line(&k, "uptime_seconds", st.uptime) | stat_line(&k, "writes", st.writes) |
        stat_line(&k, "batches", st.batches) | stat_line(&k, "batch_failures", st.batch_failures) |
        stat_line(&k, "threads", st.threads) |
        stat_line(&k, "max_clients", (unsigned long long)x->cfg->max_clients) |
        stat_line(&k, "idle_closed", st.idle_closed) |
        stat_line(&k, "line_timeouts", st.line_timeouts) | stat_line(&k, "evicted", st.evicted) |
        stat_line(&k, "auth_failures", gs.auth_failures) |
        stat_line(&k, "auth_delayed", gs.auth_delayed) |
        stat_line(&k, "auth_closed", gs.auth_closed) | stat_line(&k, "http_closed", gs.http_closed);
    struct proto_str f[2] = {ver, vv};
    rc |= proto_reply_fields(k.b, f, 2);
    k.n++;
    if (rc != 0)
        x->out_full = 1;
    else
        send_sink(x, &k);
    scratch_done(x);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void cmd_auth(struct cmd_ctx *x, const struct proto_request *req)
{
    if (!x->cfg->auth.enabled) {
        errorf(x, PROTO_E_AUTH, "this server has no password; AUTH is not needed");
        return;
    }
    if (!auth_check(&x->cfg->auth, req->text.ptr, req->text.len)) {
        x->authed = 0;
        /* The guard counts it, makes the connection's next request (and
         * its address's next AUTH) wait longer after each failure, and logs
         * at most a line a minute per address rather than one per guess. */
        if (x->peer != NULL && guard_auth_failed(x->peer, mono_ms())) {
            errorf(x, PROTO_E_AUTH, "wrong password; %d wrong in a row, closing the connection",
                   x->peer->auth_fails);
            x->quit = 1;
            return;
        }
        errorf(x, PROTO_E_AUTH, "wrong password");
        return;
    }
    x->authed = 1;
    check(x, proto_reply_ok(x->out, NULL));
}

static void cmd_quit(struct cmd_ctx *x, const struct proto_request *req)
{
    (void)req;
    x->quit = 1;
    check(x, proto_reply_ok(x->out, "bye"));
}

/* The tutorial's GET/<key>/<field>: the bare text, or "no key match". */
static int sink_bare(void *arg, const struct proto_task *t)
{
    struct cmd_ctx *x = arg;
    check(x, proto_reply_bare(x->out, t->text.ptr, t->text.len));
    return 0;
}

static void cmd_legacy_get(struct cmd_ctx *x, const struct proto_request *req)
{
    int rc = store_get(x->store, req->id, sink_bare, x);
    if (rc == STORE_NOTFOUND)
        check(x, proto_reply_bare(x->out, "no key match", 12));
    else if (rc != STORE_OK)
        store_failed(x, "GET/");
}

/* The tutorial's POST/<key>=<text>/<field>: create or replace, then
 * "submit success". */
static void cmd_legacy_post(struct cmd_ctx *x, const struct proto_request *req)
{
    if (store_put(x->store, req->id, req->text, (int64_t)time(NULL)) != STORE_OK) {
        store_failed(x, "POST/");
        return;
    }
    check(x, proto_reply_bare(x->out, "submit success", 14));
}

/* Indexed by enum proto_cmd; PROTO_CMD_NONE (a blank line) has no handler
 * and no reply. The last entry fixes the array's size, so adding a command
 * to the enum without a handler here fails the static_assert below. */
static const cmd_fn handlers[] = {
    [PROTO_CMD_NONE] = NULL,
    [PROTO_CMD_PING] = cmd_ping,
    [PROTO_CMD_HELLO] = cmd_hello,
    [PROTO_CMD_HELP] = cmd_help,
    [PROTO_CMD_ADD] = cmd_add,
    [PROTO_CMD_GET] = cmd_get,
    [PROTO_CMD_EDIT] = cmd_edit,
    [PROTO_CMD_DONE] = cmd_done,
    [PROTO_CMD_UNDONE] = cmd_undone,
    [PROTO_CMD_DEL] = cmd_del,
    [PROTO_CMD_IMPORT] = cmd_import,
    [PROTO_CMD_LIST] = cmd_list,
    [PROTO_CMD_TAGS] = cmd_tags,
    [PROTO_CMD_STATS] = cmd_stats,
    [PROTO_CMD_AUTH] = cmd_auth,
    [PROTO_CMD_QUIT] = cmd_quit,
    [PROTO_CMD_LEGACY_GET] = cmd_legacy_get,
    [PROTO_CMD_LEGACY_POST] = cmd_legacy_post,
};
static_assert(sizeof(handlers) / sizeof(handlers[0]) == PROTO_CMD__COUNT,
              "every protocol command needs an entry in handlers[]");

/* Whether a write may change more than one row: those run in a savepoint.
 * ADD's occasional second change (moving the id counter past a block of
 * ids) may stay even if its INSERT fails: the block's ids are then skipped,
 * never reused, as after a crash. */
static int needs_savepoint(const struct proto_request *req)
{
    switch (req->cmd) {
    case PROTO_CMD_ADD:
        return req->ntags > 0;
    case PROTO_CMD_EDIT:
        return req->ntags > 0 || req->nuntags > 0;
    case PROTO_CMD_DONE:
    case PROTO_CMD_UNDONE:
    case PROTO_CMD_LEGACY_POST:
        return 0;
    default:
        return 1;
    }
}

/* Whether a command that writes nothing reads the store, so that its reply
 * made inside a write batch depends on that batch. */
static int reads_store(enum proto_cmd c)
{
    switch (c) {
    case PROTO_CMD_GET:
    case PROTO_CMD_LIST:
    case PROTO_CMD_TAGS:
    case PROTO_CMD_STATS:
    case PROTO_CMD_LEGACY_GET:
        return 1;
    default:
        return 0;
    }
}

void commands_run(struct cmd_ctx *x, const struct proto_request *req)
{
    if (req->cmd <= PROTO_CMD_NONE || req->cmd >= PROTO_CMD__COUNT)
        return;
    const struct proto_cmd_info *info = proto_cmd_info(req->cmd);
    cmd_fn fn = handlers[req->cmd];

    count(&x->counters->commands);
    x->wrote = 0;
    x->used_batch = 0;
    if (x->cfg->auth.enabled && !x->authed && !(info->flags & PROTO_CMDF_NOAUTH)) {
        commands_error(x, PROTO_E_AUTH, "authentication required; send AUTH <password>");
        return;
    }
    if (fn == NULL) {
        errorf(x, PROTO_E_INTERNAL, "%s is not implemented", info->name);
        return;
    }
    if (!(info->flags & PROTO_CMDF_WRITE)) {
        x->used_batch = x->in_batch && reads_store(req->cmd);
        fn(x, req);
        return;
    }

    /* A write joins the worker's batch in a savepoint of its own, so that
     * if it fails half-way only its own changes are undone. A write made
     * of one statement needs none: SQLite undoes a failed statement by
     * itself, and the savepoint's two statements cost about a tenth of
     * such a write. */
    struct store *w = NULL;
    int rc = x->batch_open(&w);
    int sp = needs_savepoint(req);
    x->store = w;
    if (rc != 0 || (sp && store_savepoint(x->store) != STORE_OK)) {
        store_failed(x, info->name);
        return;
    }
    unsigned long long errors = atomic_load_explicit(&x->counters->errors, memory_order_relaxed);
    x->in_batch = 1;
    /* Even a refused write (no such task) answered from the batch's view,
     * which other connections' uncommitted writes are part of. */
    x->used_batch = 1;
    fn(x, req);
    int failed = atomic_load_explicit(&x->counters->errors, memory_order_relaxed) != errors;
    if (!sp)
        rc = STORE_OK;
    else
        rc = failed ? store_rollback_to(x->store) : store_release(x->store);
    if (rc != STORE_OK) {
        /* The savepoint could not be closed, so the batch is in a state
         * nobody can vouch for: the worker rolls all of it back and answers
         * each of its writes with ERR STORE. */
        log_error("%s: %s", info->name, store_errmsg(x->store));
        x->batch_broken = 1;
    }
    x->wrote = !failed;
}
