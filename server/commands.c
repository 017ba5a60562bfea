/*
 * commands.c - the dispatch table and one handler per command.
 *
 * A handler hands its result to x->sink (result.h) and returns CMD_DONE,
 * or CMD_REFUSED when its result is an error: a refused write changed
 * nothing, and what it may have begun to change is undone. It never sees
 * the bytes its result becomes: the front end's encoder makes them. A
 * write that succeeded also records what it changed in x->changes.
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
#include "stats.h"
#include "store.h"
#include "todo/net.h"
#include "users.h"
#include "watch.h"

enum cmd_rc { CMD_DONE = 0, CMD_REFUSED = 1 };

typedef enum cmd_rc (*cmd_fn)(struct cmd_ctx *x, const struct proto_request *req);

static void count(atomic_ullong *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

void commands_error(struct cmd_ctx *x, enum proto_err e, const char *msg)
{
    x->import_run = 0; /* a request that is not an IMPORT ends the run */
    result_error(x->sink, e, msg);
    if (x->sink->failed)
        x->out_full = 1;
}

static enum cmd_rc errorf(struct cmd_ctx *x, enum proto_err e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum cmd_rc errorf(struct cmd_ctx *x, enum proto_err e, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    result_error(x->sink, e, msg);
    return CMD_REFUSED;
}

/* The list the connection works in (cmd_ctx.list), whose length
 * commands_run measured: a GET of a server with accounts asks for it
 * three times. */
static struct proto_str list_of(const struct cmd_ctx *x)
{
    return x->list != NULL ? (struct proto_str){x->list, x->list_len} : (struct proto_str){"", 0};
}

static void set_name(char *dst, struct proto_str name)
{
    if (dst == NULL)
        return;
    size_t n = name.len < PROTO_MAX_USER ? name.len : PROTO_MAX_USER;
    memcpy(dst, name.ptr, n);
    dst[n] = '\0';
}

/* Sets the connection's list: a user's name, or "" (the default). */
static void set_list(struct cmd_ctx *x, struct proto_str name)
{
    set_name(x->list, name);
    x->list_len = x->list != NULL ? strlen(x->list) : 0;
}

/* The user the connection logged in as (cmd_ctx.user), "" for none. */
static struct proto_str user_of(const struct cmd_ctx *x)
{
    return x->user != NULL ? (struct proto_str){x->user, strlen(x->user)}
                           : (struct proto_str){"", 0};
}

static int same_name(struct proto_str a, struct proto_str b)
{
    return a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0;
}

static enum cmd_rc store_failed(struct cmd_ctx *x, const char *verb)
{
    const char *why = store_errmsg(x->store);
    log_error("%s failed in the store: %s", verb, why);
    return errorf(x, PROTO_E_STORE, "%s", why);
}

static enum cmd_rc not_found(struct cmd_ctx *x, struct proto_str id)
{
    return errorf(x, PROTO_E_NOTFOUND, "no task with id '%.*s'", (int)id.len, id.ptr);
}

struct keep_task {
    struct change_log *log;
    size_t i;
};

static int keep_task(void *arg, const struct proto_task *t)
{
    struct keep_task *k = arg;
    /* Without memory the record keeps no task, and the ring reads it at
     * the end of the batch (watch.c). */
    (void)change_log_set_task(k->log, k->i, t);
    return 0;
}

/* Records a write that succeeded. While anyone watches, the task is read
 * back from the writer now, as this change left it: a later write of the
 * batch may change it again before the ring records it. */
static void changed(struct cmd_ctx *x, enum change_kind kind, enum proto_cmd cmd, unsigned fields,
                    struct proto_str id, int existed)
{
    if (x->changes == NULL)
        return;
    size_t n = x->changes->n;
    change_log_add(x->changes, kind, cmd, fields, list_of(x), id);
    if (x->changes->n == n)
        return; /* not kept (no memory): the log says it lost one */
    x->changes->v[n].existed = existed;
    if (kind != CHANGE_DELETE && watch_active(x->watch)) {
        struct keep_task k = {x->changes, n};
        (void)store_get(x->store, id, keep_task, &k);
    }
}

static int noop_task(void *arg, const struct proto_task *t)
{
    (void)arg;
    (void)t;
    return 0;
}

static enum cmd_rc cmd_ping(struct cmd_ctx *x, const struct proto_request *req)
{
    (void)req;
    result_ok(x->sink, "PONG");
    return CMD_DONE;
}

static enum cmd_rc cmd_hello(struct cmd_ctx *x, const struct proto_request *req)
{
    (void)req;
    char text[128];
    snprintf(text, sizeof(text), "%s %d todo-server/%s", PROTO_NAME, PROTO_VERSION, TODO_VERSION);
    result_ok(x->sink, text);
    return CMD_DONE;
}

/* HELP lists the visible entries of libproto's command table, so it can
 * never drift from what the server accepts. */
static enum cmd_rc cmd_help(struct cmd_ctx *x, const struct proto_request *req)
{
    if (req->has_text) {
        enum proto_cmd c = proto_cmd_lookup(req->text.ptr, req->text.len);
        if (c == PROTO_CMD_NONE)
            return errorf(x, PROTO_E_UNKNOWN, "no command '%.*s'; send HELP for the list",
                          (int)(req->text.len > 32 ? 32 : req->text.len), req->text.ptr);
        result_begin(x->sink, RESULT_COMMANDS);
        if (result_command(x->sink, proto_cmd_info(c)) != 0)
            x->sink->failed = 1;
        result_end(x->sink);
        return CMD_DONE;
    }
    result_begin(x->sink, RESULT_COMMANDS);
    for (int i = PROTO_CMD_NONE + 1; i < PROTO_CMD__COUNT; i++) {
        const struct proto_cmd_info *c = proto_cmd_info((enum proto_cmd)i);
        if (!(c->flags & PROTO_CMDF_HIDDEN) && result_command(x->sink, c) != 0)
            x->sink->failed = 1;
    }
    result_end(x->sink);
    return CMD_DONE;
}

static enum cmd_rc cmd_add(struct cmd_ctx *x, const struct proto_request *req)
{
    char id[PROTO_MAX_ID + 1];
    int rc = store_add(x->store, req, (int64_t)time(NULL), id);
    if (rc != STORE_OK)
        return store_failed(x, "ADD");
    struct proto_str ids = {id, strlen(id)};
    unsigned fields = CHANGE_F_TEXT | CHANGE_F_DONE;
    if (req->ntags > 0)
        fields |= CHANGE_F_TAGS;
    if (req->pri != PROTO_PRI_NONE)
        fields |= CHANGE_F_PRI;
    if (req->due[0] != '\0')
        fields |= CHANGE_F_DUE;
    changed(x, CHANGE_ADD, req->cmd, fields, ids, 0);
    result_id(x->sink, NULL, ids);
    return CMD_DONE;
}

/* Hands the tasks a store call finds to the sink, as a list. */
struct task_run {
    struct result_sink *k;
    size_t cap;  /* stop once the list passes this many bytes (0: no cap) */
    int too_big; /* it passed cap */
    int full;    /* the sink could not take a task: past the reply limit */
};

static int run_task(void *arg, const struct proto_task *t)
{
    struct task_run *r = arg;
    if (result_task(r->k, t) != 0) {
        r->full = 1;
        return 1;
    }
    if (r->cap > 0 && r->k->list_bytes > r->cap) {
        r->too_big = 1;
        return 1;
    }
    return 0;
}

/*
 * GET is served from the shared cache (x->cache) while the store says
 * that no commit changed the task since the snapshot its entry was read in
 * (store_unchanged). Inside a write batch (x->in_batch) the store sees the
 * batch's uncommitted changes, so the cache is neither read nor filled
 * there. The cache keeps encoded replies, keyed by encoding, so only a
 * sink that can replay them (encoding and mark set) uses it. The
 * tutorial's GET/ is this command too: its sink makes the bare text of the
 * task of it.
 */
/* The cache's key of task id in the connection's list (cache.h): the id
 * itself in the default list. */
static struct proto_str cache_key(const struct cmd_ctx *x, struct proto_str id,
                                  char buf[CACHE_KEY_MAX])
{
    if (x->list == NULL || x->list[0] == '\0')
        return id;
    struct proto_str list = list_of(x);
    if (id.len > PROTO_MAX_ID)
        return (struct proto_str){"", 0}; /* the parser lets none through; not cached */
    memcpy(buf, list.ptr, list.len);
    buf[list.len] = '/';
    memcpy(buf + list.len + 1, id.ptr, id.len);
    return (struct proto_str){buf, list.len + 1 + id.len};
}

/* Whether x's GET reply may come from the cache, and go into it: the sink
 * can replay it, and it is not read inside the batch. */
static int get_cacheable(const struct cmd_ctx *x)
{
    return x->cache != NULL && !x->in_batch && x->sink->encoding != 0 && x->sink->ops->mark != NULL;
}

/* The reply the cache keeps for ck, copied into hit, when its task has not
 * changed since: its length, else 0. *stamp and *key as cache_get sets
 * them. */
static size_t cache_fresh(struct cmd_ctx *x, struct proto_str ck, uint64_t *stamp, uint32_t *key,
                          char hit[CACHE_ENTRY_BYTES])
{
    size_t len = cache_get(x->cache, ck, x->sink->encoding, stamp, key, hit);
    return len > 0 && store_unchanged_key(x->store, *key, *stamp) ? len : 0;
}

static enum cmd_rc cmd_get(struct cmd_ctx *x, const struct proto_request *req)
{
    struct result_sink *k = x->sink;
    char kb[CACHE_KEY_MAX];
    struct proto_str ck = cache_key(x, req->id, kb);
    struct task_run r = {.k = k};
    uint64_t stamp = 0;
    uint32_t key = 0;
    int cacheable = get_cacheable(x);
    if (cacheable) {
        char hit[CACHE_ENTRY_BYTES];
        size_t len = cache_fresh(x, ck, &stamp, &key, hit);
        if (len > 0) {
            count(&x->counters->cache_hits);
            if (k->ops->raw(k, hit, len) != 0)
                k->failed = 1;
            return CMD_DONE;
        }
        count(&x->counters->cache_misses);
        stamp = store_read_stamp(x->store);
    }
    size_t mark = cacheable ? k->ops->mark(k) : 0;
    result_begin(k, RESULT_TASKS);
    int rc = store_get(x->store, req->id, run_task, &r);
    if (rc == STORE_OK) {
        result_end(k);
        const char *p;
        size_t n;
        if (cacheable && !k->failed && k->ops->since(k, mark, &p, &n) == 0)
            cache_put(x->cache, ck, k->encoding, stamp, store_change_key(x->store, req->id), p, n);
        return CMD_DONE;
    }
    result_drop(k);
    if (rc == STORE_NOTFOUND)
        return not_found(x, req->id);
    if (rc == STORE_STOPPED)
        return errorf(x, PROTO_E_INTERNAL, "out of memory");
    return store_failed(x, req->cmd == PROTO_CMD_LEGACY_GET ? "GET/" : "GET");
}

/* The write commands that name one task. */
static enum cmd_rc finish_write(struct cmd_ctx *x, int rc, const struct proto_request *req,
                                enum change_kind kind, unsigned fields)
{
    if (rc == STORE_OK) {
        changed(x, kind, req->cmd, fields, req->id, 1);
        result_id(x->sink, NULL, req->id);
        return CMD_DONE;
    }
    if (rc == STORE_NOTFOUND)
        return not_found(x, req->id);
    if (rc == STORE_LIMIT)
        return errorf(x, PROTO_E_ARGS, "a task holds at most %d tags", PROTO_MAX_TAGS);
    return store_failed(x, proto_cmd_info(req->cmd)->name);
}

static enum cmd_rc cmd_edit(struct cmd_ctx *x, const struct proto_request *req)
{
    unsigned fields = 0;
    if (req->has_text)
        fields |= CHANGE_F_TEXT;
    if (req->pri != PROTO_PRI_KEEP)
        fields |= CHANGE_F_PRI;
    if (req->due_op != 0)
        fields |= CHANGE_F_DUE;
    if (req->ntags > 0 || req->nuntags > 0)
        fields |= CHANGE_F_TAGS;
    return finish_write(x, store_edit(x->store, req, (int64_t)time(NULL)), req, CHANGE_EDIT,
                        fields);
}

static enum cmd_rc cmd_done(struct cmd_ctx *x, const struct proto_request *req)
{
    return finish_write(x, store_set_done(x->store, req->id, 1, (int64_t)time(NULL)), req,
                        CHANGE_EDIT, CHANGE_F_DONE);
}

static enum cmd_rc cmd_undone(struct cmd_ctx *x, const struct proto_request *req)
{
    return finish_write(x, store_set_done(x->store, req->id, 0, (int64_t)time(NULL)), req,
                        CHANGE_EDIT, CHANGE_F_DONE);
}

static enum cmd_rc cmd_del(struct cmd_ctx *x, const struct proto_request *req)
{
    return finish_write(x, store_del(x->store, req->id), req, CHANGE_DELETE, 0);
}

/* IMPORT: "OK imported|skipped|replaced ID", or ERR EXISTS under fail. */
static enum cmd_rc cmd_import(struct cmd_ctx *x, const struct proto_request *req)
{
    static const char *const said[] = {
        [STORE_IMPORT_ADDED] = "imported",
        [STORE_IMPORT_SKIPPED] = "skipped",
        [STORE_IMPORT_REPLACED] = "replaced",
    };
    int outcome = STORE_IMPORT_ADDED;
    int rc = store_import(x->store, req, (int64_t)time(NULL), &x->import_run, &outcome);
    if (rc == STORE_EXISTS)
        return errorf(x, PROTO_E_EXISTS,
                      "a task with id '%.*s' exists; IMPORT skip or replace takes it",
                      (int)req->id.len, req->id.ptr);
    if (rc != STORE_OK)
        return store_failed(x, "IMPORT");
    if (outcome != STORE_IMPORT_SKIPPED)
        changed(x, outcome == STORE_IMPORT_ADDED ? CHANGE_ADD : CHANGE_EDIT, req->cmd, CHANGE_F_ALL,
                req->id, outcome != STORE_IMPORT_ADDED);
    result_id(x->sink, said[outcome], req->id);
    return CMD_DONE;
}

/*
 * LIST is made at once when it fits in CMD_LIST_INLINE_MAX bytes. A bigger
 * one is handed to the front end's stream (stream.h), which reads it again from a
 * snapshot of its own and sends it in slices; what was made here is
 * dropped (at most CMD_LIST_INLINE_MAX bytes' worth of work). Inside a write
 * batch the list must show the batch's uncommitted writes, which only the
 * writer store sees, and the batch ends with this pass: it is made at once
 * there, up to the server's reply limit.
 */
static enum cmd_rc cmd_list(struct cmd_ctx *x, const struct proto_request *req)
{
    struct task_run r = {.k = x->sink};
    int rc;
    result_begin(x->sink, RESULT_TASKS);
    if (x->in_batch || x->list_stream == NULL) {
        rc = store_list(x->store, req, run_task, &r);
    } else {
        struct store_cursor *cur;
        r.cap = CMD_LIST_INLINE_MAX;
        rc = store_cursor_open(x->store, req, &cur);
        /* With tags the store sorts the whole list before its first line
         * (store_cursor_most() is known then), so a stream costs two runs
         * of the query more (its count and its lines), and cuts no work
         * into slices: such a list is made at once up to
         * CMD_LIST_INLINE_SORTED_MAX (LIST of 10,000 tasks with a tag, 1 MB:
         * p50 29 ms at once, 55 ms streamed). One that may well be bigger
         * (a task line has 60 bytes at least) goes to the stream at once
         * rather than being sorted here too. */
        long long most = rc == STORE_OK ? store_cursor_most(cur) : -1;
        if (most >= 0)
            r.cap = CMD_LIST_INLINE_SORTED_MAX;
        if (most > CMD_LIST_INLINE_SORTED_MAX / 60) {
            r.too_big = 1;
            rc = STORE_STOPPED;
            store_cursor_close(cur);
        } else if (rc == STORE_OK) {
            rc = store_cursor_next(cur, run_task, &r);
            store_cursor_close(cur);
        }
    }
    if (rc == STORE_OK) {
        result_end(x->sink);
        return CMD_DONE;
    }
    result_drop(x->sink);
    if (rc == STORE_STOPPED && r.too_big && x->list_stream != NULL) {
        char err[256];
        int started = x->list_stream(x->list_stream_arg, req, err, sizeof(err));
        if (started == 1)
            return errorf(x, PROTO_E_BUSY, "%s", err);
        if (started < 0) {
            log_error("LIST failed in the store: %s", err);
            return errorf(x, PROTO_E_STORE, "%s", err);
        }
        return CMD_DONE;
    }
    if (rc == STORE_STOPPED)
        return errorf(x, PROTO_E_INTERNAL,
                      "the list is larger than the server's %u MiB reply limit; narrow it with "
                      "pending, done, +tag or a word",
                      SERVER_OUTPUT_MAX >> 20);
    return store_failed(x, "LIST");
}

static int run_tag(void *arg, struct proto_str tag, int64_t n)
{
    struct task_run *r = arg;
    char num[24];
    snprintf(num, sizeof(num), "%" PRId64, n);
    struct proto_str v = {num, strlen(num)};
    if (result_pair(r->k, tag, v) != 0) {
        r->full = 1;
        return 1;
    }
    return 0;
}

static enum cmd_rc cmd_tags(struct cmd_ctx *x, const struct proto_request *req)
{
    (void)req;
    struct task_run r = {.k = x->sink};
    result_begin(x->sink, RESULT_PAIRS);
    int rc = store_tags(x->store, run_tag, &r);
    if (rc == STORE_OK) {
        result_end(x->sink);
        return CMD_DONE;
    }
    result_drop(x->sink);
    if (rc == STORE_STOPPED)
        return errorf(x, PROTO_E_INTERNAL, "out of memory");
    return store_failed(x, "TAGS");
}

static int stat_pair(struct result_sink *k, const char *name, unsigned long long v)
{
    char num[24];
    snprintf(num, sizeof(num), "%llu", v);
    struct proto_str key = {name, strlen(name)}, val = {num, strlen(num)};
    return result_pair(k, key, val);
}

static int str_pair(struct result_sink *k, const char *name, const char *v)
{
    struct proto_str key = {name, strlen(name)}, val = {v, strlen(v)};
    return result_pair(k, key, val);
}

static enum cmd_rc cmd_stats(struct cmd_ctx *x, const struct proto_request *req)
{
    (void)req;
    struct server_stats st;
    int64_t tasks = 0;
    if (store_count(x->store, &tasks) != STORE_OK)
        return store_failed(x, "STATS");
    stats_collect(&st);
    struct guard_stats gs;
    guard_stats(&gs);
    struct cache_stats cs;
    cache_stats(x->cache, &cs);
    const char *engine, *state;
    store_facts(x->store, &engine, &state);
    struct result_sink *k = x->sink;
    struct proto_str ver = {"version", 7}, vv = {TODO_VERSION, strlen(TODO_VERSION)};
    result_begin(k, RESULT_PAIRS);
    int rc =
        stat_pair(k, "connections_current", st.conns_current) |
        stat_pair(k, "connections_total", st.conns_total) | stat_pair(k, "commands", st.commands) |
        stat_pair(k, "errors", st.errors) | stat_pair(k, "tasks", (unsigned long long)tasks) |
        stat_pair(k, "uptime_seconds", st.uptime) | stat_pair(k, "writes", st.writes) |
        stat_pair(k, "batches", st.batches) | stat_pair(k, "batch_failures", st.batch_failures) |
        stat_pair(k, "threads", st.threads) |
        stat_pair(k, "max_clients", (unsigned long long)x->cfg->max_clients) |
        stat_pair(k, "idle_closed", st.idle_closed) |
        stat_pair(k, "line_timeouts", st.line_timeouts) | stat_pair(k, "evicted", st.evicted) |
        stat_pair(k, "auth_failures", gs.auth_failures) |
        stat_pair(k, "auth_delayed", gs.auth_delayed) |
        stat_pair(k, "auth_closed", gs.auth_closed) | stat_pair(k, "http_closed", gs.http_closed) |
        stat_pair(k, "accounts", (unsigned long long)(x->cfg->accounts != 0)) |
        stat_pair(k, "auth_user_failures", gs.user_failures) |
        stat_pair(k, "auth_user_delayed", gs.user_delayed) |
        stat_pair(k, "auth_user_locked", gs.user_locked) |
        stat_pair(k, "watchers", watch_watchers(x->watch)) |
        stat_pair(k, "events_sent", st.events_sent) |
        stat_pair(k, "watch_overflows", st.watch_overflows) |

        stat_pair(k, "cache_hits", st.cache_hits) | stat_pair(k, "cache_misses", st.cache_misses) |
        stat_pair(k, "cache_entries", cs.entries) | stat_pair(k, "cache_bytes", cs.bytes) |
        stat_pair(k, "cache_max_bytes", cs.max_bytes) |
        stat_pair(k, "reads_ahead", store_reads_ahead_served(x->store)) |
        stat_pair(k, "writes_ahead", store_writes_ahead_served(x->store)) |
        stat_pair(k, "commits_overlapped", store_commits_overlapped(x->store)) |
        str_pair(k, "store", engine) | str_pair(k, "store_state", state) | result_pair(k, ver, vv);
    if (rc != 0) {
        result_drop(k);
        k->failed = 1;
        return CMD_DONE;
    }
    result_end(k);
    return CMD_DONE;
}

/* Bumped by each USER del and lock (cmd_user): a connection logged in
 * before it checks its user again at its next command (user_still_ok). */
static _Atomic unsigned users_epoch;

/*
 * AUTH USER PASSWORD: the user's hash from the store, checked (users.h).
 * A name that has been guessed at waits its turn first (guard.h, per
 * user), refused without its password being looked at; a name nobody has
 * costs the same check as one that exists (users_check), and both are
 * answered alike, so the reply tells nobody which names exist. Only the
 * right password learns that an account is locked. A wrong one counts for
 * the connection and its address as well, as AUTH PASSWORD's does.
 *
 * The check takes the time users_hash's costs set (about 0.1 s): the line
 * front end has it made on a thread of its own (auth-pool.h) and runs the
 * command again with x->auth_checked; any other caller waits for it here.
 */
static enum cmd_rc auth_user(struct cmd_ctx *x, const struct proto_request *req)
{
    struct proto_str name = req->user;
    int64_t now = net_now_ms();
    int checked = x->auth_checked;
    int64_t wait = checked ? 0 : guard_user_turn(name.ptr, name.len, now);
    if (wait > 0) {
        x->authed = 0;
        if (x->peer != NULL && guard_auth_failed(x->peer, now)) {
            x->quit = 1;
            return errorf(x, PROTO_E_AUTH,
                          "too many wrong passwords for %.*s; %d wrong in a row, closing the "
                          "connection",
                          (int)name.len, name.ptr, x->peer->auth_fails);
        }
        /* Rounded up to the tenth, so that the wait said is never 0. */
        return errorf(x, PROTO_E_AUTH, "too many wrong passwords for %.*s; try again in %.1f s",
                      (int)name.len, name.ptr, (double)((wait + 99) / 100) / 10);
    }
    struct store_user u;
    memset(&u, 0, sizeof(u));
    unsigned epoch = users_epoch; /* before the read: a lock after it is seen later */
    int rc = store_user_get(x->store, name, &u);
    if (rc != STORE_OK && rc != STORE_NOTFOUND)
        return store_failed(x, "AUTH");
    int ok = checked ? checked == CMD_AUTH_RIGHT && rc == STORE_OK
                     : users_check(rc == STORE_OK ? &u : NULL, req->text.ptr, req->text.len);
    int locked = u.locked;
    explicit_bzero(u.hash, sizeof(u.hash));
    if (!ok) {
        x->authed = 0;
        /* The delay runs from the end of the check, which took a while. */
        now = net_now_ms();
        guard_user_failed(name.ptr, name.len, now);
        if (x->peer != NULL && guard_auth_failed(x->peer, now)) {
            x->quit = 1;
            return errorf(x, PROTO_E_AUTH,
                          "wrong user or password; %d wrong in a row, closing the connection",
                          x->peer->auth_fails);
        }
        return errorf(x, PROTO_E_AUTH, "wrong user or password");
    }
    guard_user_ok(name.ptr, name.len);
    if (locked) {
        x->authed = 0;
        guard_user_locked();
        return errorf(x, PROTO_E_AUTH, "the account %.*s is locked", (int)name.len, name.ptr);
    }
    x->authed = 1;
    set_list(x, name); /* from now on the connection works in the user's own list */
    set_name(x->user, name);
    if (x->user_epoch != NULL)
        *x->user_epoch = epoch;
    result_ok(x->sink, NULL);
    return CMD_DONE;
}

static enum cmd_rc cmd_auth(struct cmd_ctx *x, const struct proto_request *req)
{
    /* Whatever the outcome, the list of an earlier login is left: a wrong
     * AUTH logs out, and the shared password works in the default list. */
    set_list(x, (struct proto_str){"", 0});
    set_name(x->user, (struct proto_str){"", 0});
    if (req->user.len > 0 && x->cfg->accounts)
        return auth_user(x, req);
    if (!x->cfg->auth.enabled && x->cfg->accounts)
        return errorf(x, PROTO_E_AUTH,
                      "this server has accounts and no shared password: send AUTH <user> "
                      "<password>");
    if (!x->cfg->auth.enabled)
        return errorf(x, PROTO_E_AUTH, "this server has no password; AUTH is not needed");
    /* A user's name to a server without accounts (they are read when it
     * starts) is a wrong password like any other. */
    if (req->user.len > 0 || !auth_check(&x->cfg->auth, req->text.ptr, req->text.len)) {
        x->authed = 0;
        /* The guard counts it, makes the connection's next request (and
         * its address's next AUTH) wait longer after each failure, and logs
         * at most a line a minute per address rather than one per guess. */
        if (x->peer != NULL && guard_auth_failed(x->peer, net_now_ms())) {
            x->quit = 1;
            return errorf(x, PROTO_E_AUTH,
                          "wrong password; %d wrong in a row, closing the connection",
                          x->peer->auth_fails);
        }
        return errorf(x, PROTO_E_AUTH,
                      req->user.len > 0 ? "wrong password (this server has no accounts: AUTH "
                                          "<password>)"
                                        : "wrong password");
    }
    x->authed = 1;
    result_ok(x->sink, NULL);
    return CMD_DONE;
}

static enum cmd_rc cmd_quit(struct cmd_ctx *x, const struct proto_request *req)
{
    (void)req;
    x->quit = 1;
    result_ok(x->sink, "bye");
    return CMD_DONE;
}

/*
 * UNDO: reverts the newest change in the server's undo history (store.h:
 * the history is the store's, one list for the one user there is while the
 * server has no accounts, so any client undoes any client's change, newest
 * first). "OK undid KIND ID"; ERR NOTFOUND when there is nothing to undo;
 * ERR CONFLICT when the task changed since by something the history does
 * not hold (the tutorial's POST/), since undoing would overwrite that
 * silently. It records a change of its own for the task, as any write.
 */
/* Each task UNDO put back is a change, as any write's. */
static void undone_one(void *arg, struct proto_str id, int existed, int exists)
{
    struct cmd_ctx *x = arg;
    if (!existed)
        changed(x, CHANGE_DELETE, PROTO_CMD_UNDO, 0, id, 1);
    else
        changed(x, exists ? CHANGE_EDIT : CHANGE_ADD, PROTO_CMD_UNDO, CHANGE_F_ALL, id, exists);
}

static enum cmd_rc cmd_undo(struct cmd_ctx *x, const struct proto_request *req)
{
    struct store_undone u;
    int rc = store_undo(x->store, &u, undone_one, x);
    if (rc == STORE_NOTFOUND)
        return errorf(x, PROTO_E_NOTFOUND, "nothing to undo (the server keeps the last %d changes)",
                      STORE_UNDO_DEPTH);
    if (rc == STORE_CONFLICT)
        return errorf(x, PROTO_E_CONFLICT,
                      "task %s was changed after that %s (by a change UNDO does not keep, such as "
                      "the tutorial's POST/); not undone",
                      u.id, u.kind);
    if (rc != STORE_OK)
        return store_failed(x, "UNDO");
    /* "undid KIND ID", and for an import of more than one task the count
     * after the id (its first task's). */
    char said[PROTO_MAX_ID + 48];
    if (u.count > 1)
        snprintf(said, sizeof(said), "undid %s %s", u.kind, u.id);
    else
        snprintf(said, sizeof(said), "undid %s", u.kind);
    char n[24];
    snprintf(n, sizeof(n), "%d", u.count);
    struct proto_str tail =
        u.count > 1 ? (struct proto_str){n, strlen(n)} : (struct proto_str){u.id, strlen(u.id)};
    (void)req;
    result_id(x->sink, said, tail);
    return CMD_DONE;
}

/* The tutorial's POST/<key>=<text>/<field>: create or replace the text;
 * its sink answers "submit success". */
static enum cmd_rc cmd_legacy_post(struct cmd_ctx *x, const struct proto_request *req)
{
    /* A watcher is told add or edit, so the key's existence is looked up
     * first, but only while anyone watches. */
    int existed = -1;
    if (watch_active(x->watch)) {
        int rc = store_get(x->store, req->id, noop_task, NULL);
        if (rc != STORE_OK && rc != STORE_NOTFOUND)
            return store_failed(x, "POST/");
        existed = rc == STORE_OK;
    }
    if (store_put(x->store, req->id, req->text, (int64_t)time(NULL)) != STORE_OK)
        return store_failed(x, "POST/");
    changed(x, CHANGE_PUT, req->cmd, CHANGE_F_TEXT, req->id, existed);
    result_id(x->sink, NULL, req->id);
    return CMD_DONE;
}

/*
 * Shared lists (docs/PROTOCOL.md, SHARE). Each user has one list, named
 * after them; SHARE lets another user USE it, and work in it as its owner
 * does; UNSHARE takes that back, which the other's connections find out at
 * their next command (commands_run checks the share of a list not the
 * caller's own at every command) and their watches at the next event.
 */
static enum cmd_rc need_user(struct cmd_ctx *x, const char *verb)
{
    return errorf(x, PROTO_E_AUTH,
                  x->cfg->accounts ? "%s is for users: log in with AUTH <user> <password>"
                                   : "%s is for users, and this server has none (todo-server user "
                                     "add NAME makes one)",
                  verb);
}

static enum cmd_rc cmd_share(struct cmd_ctx *x, const struct proto_request *req)
{
    const char *verb = proto_cmd_info(req->cmd)->name;
    struct proto_str me = user_of(x);
    if (me.len == 0)
        return need_user(x, verb);
    if (req->has_text && !same_name(req->text, me))
        return errorf(x, PROTO_E_AUTH, "you can %s only your own list, %.*s",
                      req->cmd == PROTO_CMD_SHARE ? "share" : "unshare", (int)me.len, me.ptr);
    if (same_name(req->user, me))
        return errorf(x, PROTO_E_ARGS, "your list is yours already");
    int rc;
    if (req->cmd == PROTO_CMD_SHARE) {
        struct store_user u;
        rc = store_user_get(x->store, req->user, &u);
        explicit_bzero(u.hash, sizeof(u.hash));
        if (rc == STORE_NOTFOUND)
            return errorf(x, PROTO_E_NOTFOUND, "no user is named %.*s", (int)req->user.len,
                          req->user.ptr);
        if (rc != STORE_OK)
            return store_failed(x, verb);
        rc = store_share_add(x->store, me, req->user);
        if (rc == STORE_EXISTS)
            rc = STORE_OK; /* shared already: the same outcome */
    } else {
        rc = store_share_del(x->store, me, req->user);
        if (rc == STORE_NOTFOUND)
            return errorf(x, PROTO_E_NOTFOUND, "your list is not shared with %.*s",
                          (int)req->user.len, req->user.ptr);
    }
    if (rc != STORE_OK)
        return store_failed(x, verb);
    result_ok(x->sink, NULL);
    return CMD_DONE;
}

static enum cmd_rc cmd_use(struct cmd_ctx *x, const struct proto_request *req)
{
    struct proto_str me = user_of(x);
    struct proto_str want = req->has_text ? req->text : me;
    if (me.len == 0 && want.len > 0)
        return need_user(x, "USE");
    if (!same_name(want, me)) {
        /* The same answer whether or not such a user exists. */
        int rc = store_share_get(x->store, want, me);
        if (rc == STORE_NOTFOUND)
            return errorf(x, PROTO_E_AUTH, "the list %.*s is not shared with you", (int)want.len,
                          want.ptr);
        if (rc != STORE_OK)
            return store_failed(x, "USE");
    }
    set_list(x, want);
    result_id(x->sink, NULL, want.len ? want : (struct proto_str){"-", 1});
    return CMD_DONE;
}

static int share_pair(void *arg, struct proto_str list, struct proto_str user)
{
    return result_pair(arg, list, user) != 0;
}

static enum cmd_rc cmd_shares(struct cmd_ctx *x, const struct proto_request *req)
{
    (void)req;
    struct proto_str me = user_of(x);
    if (me.len == 0)
        return need_user(x, "SHARES");
    result_begin(x->sink, RESULT_PAIRS);
    int rc = store_shares(x->store, me, share_pair, x->sink);
    if (rc == STORE_OK) {
        result_end(x->sink);
        return CMD_DONE;
    }
    result_drop(x->sink);
    if (rc == STORE_STOPPED)
        return errorf(x, PROTO_E_TOOLONG, "too many shares for one reply");
    return store_failed(x, "SHARES");
}

/*
 * USER: an admin manages users over the protocol, as `todo-server user`
 * does on the server's machine (docs/PROTOCOL.md, USER). The role is read
 * from the store at each USER, so that one taken away (or a lock) counts at
 * once. An admin manages the users who are not admins, and their own
 * password; other admins, and who is one, are for `todo-server user`, so
 * that one admin's password cannot take the others' accounts. Nobody
 * removes or locks themselves: the last admin cannot shut everyone out.
 *
 * add and passwd hash the password here, on the worker's thread: about
 * 0.1 s during which its other connections wait (users_hash's costs). An
 * admin's rare command is allowed that; a login, which anyone can send, is
 * checked off the worker (auth-pool.h).
 */

static int user_row(void *arg, const struct store_user *u)
{
    char when[PROTO_TIME_LEN + 1], v[80];
    proto_time_format(u->created, when);
    int n = snprintf(v, sizeof(v), "%s %s %s", u->admin ? "admin" : "user",
                     u->locked ? "locked" : "active", when);
    return result_pair(arg, (struct proto_str){u->name, strlen(u->name)},
                       (struct proto_str){v, (size_t)n}) != 0;
}

static enum cmd_rc user_list(struct cmd_ctx *x)
{
    result_begin(x->sink, RESULT_PAIRS);
    int rc = store_users(x->store, user_row, x->sink);
    if (rc == STORE_OK) {
        result_end(x->sink);
        return CMD_DONE;
    }
    result_drop(x->sink);
    if (rc == STORE_STOPPED)
        return errorf(x, PROTO_E_TOOLONG, "too many users for one reply");
    return store_failed(x, "USER");
}

static enum cmd_rc cmd_user(struct cmd_ctx *x, const struct proto_request *req)
{
    static const char *const did[] = {[PROTO_USER_ADD] = "added",
                                      [PROTO_USER_PASSWD] = "has a new password",
                                      [PROTO_USER_DEL] = "removed",
                                      [PROTO_USER_LOCK] = "locked",
                                      [PROTO_USER_UNLOCK] = "unlocked"};
    struct proto_str me = user_of(x), name = req->user;
    struct store_user u;
    enum cmd_rc out = CMD_REFUSED;
    char msg[128];
    int op = req->user_op, rc;
    memset(&u, 0, sizeof(u));
    if (me.len == 0)
        return need_user(x, "USER");
    rc = store_user_get(x->store, me, &u);
    if (rc != STORE_OK && rc != STORE_NOTFOUND) {
        out = store_failed(x, "USER");
        goto out;
    }
    if (rc == STORE_NOTFOUND || !u.admin || u.locked) {
        out = errorf(x, PROTO_E_AUTH,
                     "USER is for admins, and %.*s is not one (todo-server user add NAME "
                     "--admin makes one)",
                     (int)me.len, me.ptr);
        goto out;
    }
    if (op == PROTO_USER_LIST) {
        out = user_list(x);
        goto out;
    }
    int self = same_name(name, me);
    if (self && (op == PROTO_USER_DEL || op == PROTO_USER_LOCK)) {
        out = errorf(x, PROTO_E_ARGS, "you cannot %s yourself",
                     op == PROTO_USER_DEL ? "remove" : "lock");
        goto out;
    }
    explicit_bzero(&u, sizeof(u));
    rc = store_user_get(x->store, name, &u);
    if (rc != STORE_OK && rc != STORE_NOTFOUND) {
        out = store_failed(x, "USER");
        goto out;
    }
    if (op == PROTO_USER_ADD && rc == STORE_OK) {
        out = errorf(x, PROTO_E_EXISTS, "a user is named %.*s already", (int)name.len, name.ptr);
        goto out;
    }
    if (op != PROTO_USER_ADD && rc == STORE_NOTFOUND) {
        out = errorf(x, PROTO_E_NOTFOUND, "no user is named %.*s", (int)name.len, name.ptr);
        goto out;
    }
    if (op != PROTO_USER_ADD && u.admin && !self) {
        out = errorf(x, PROTO_E_AUTH,
                     "%.*s is an admin: admins are managed with todo-server user on the "
                     "server's machine",
                     (int)name.len, name.ptr);
        goto out;
    }
    if (op == PROTO_USER_ADD || op == PROTO_USER_PASSWD) {
        char err[256];
        if (req->text.len == 0 || req->text.len > USERS_PASSWORD_MAX) {
            out = errorf(x, PROTO_E_ARGS, "a password has 1 to %d bytes", USERS_PASSWORD_MAX);
            goto out;
        }
        if (users_hash(req->text.ptr, req->text.len, u.hash, err, sizeof(err)) != 0) {
            log_error("USER %s: %s", did[op], err);
            out = errorf(x, PROTO_E_INTERNAL, "%s", err);
            goto out;
        }
    }
    int64_t tasks = 0;
    switch (op) {
    case PROTO_USER_ADD:
        memcpy(u.name, name.ptr, name.len);
        u.name[name.len] = '\0';
        u.created = (int64_t)time(NULL);
        rc = store_user_add(x->store, &u);
        break;
    case PROTO_USER_DEL:
        rc = store_user_del(x->store, name);
        if (rc == STORE_OK)
            rc = store_list_drop(x->store, name, &tasks);
        break;
    default:
        u.locked = op == PROTO_USER_LOCK ? 1 : op == PROTO_USER_UNLOCK ? 0 : u.locked;
        rc = store_user_update(x->store, &u);
    }
    if (rc == STORE_EXISTS) {
        out = errorf(x, PROTO_E_EXISTS, "a user is named %.*s already", (int)name.len, name.ptr);
        goto out;
    }
    if (rc != STORE_OK) {
        out = store_failed(x, "USER");
        goto out;
    }
    /* The connections logged in as a removed or locked user find out at
     * their next command (commands_run). */
    if (op == PROTO_USER_DEL || op == PROTO_USER_LOCK)
        users_epoch++;
    log_info("%.*s: USER %s %.*s", (int)me.len, me.ptr, proto_user_op_name(op), (int)name.len,
             name.ptr);
    if (op == PROTO_USER_DEL)
        snprintf(msg, sizeof(msg), "removed %lld task%s", (long long)tasks, tasks == 1 ? "" : "s");
    else
        snprintf(msg, sizeof(msg), "%s", did[op]);
    result_ok(x->sink, msg);
    out = CMD_DONE;
out:
    explicit_bzero(&u, sizeof(u));
    return out;
}

/* Whether the user the connection logged in as may still be: after a USER
 * del or lock anywhere on this server, each connection logged in before it
 * reads its user again once. One removed or locked is logged out, told why,
 * and must AUTH again. */
static int user_still_ok(struct cmd_ctx *x)
{
    unsigned now = users_epoch;
    if (x->user_epoch == NULL || x->user == NULL || x->user[0] == '\0' || *x->user_epoch == now)
        return 1;
    struct store_user u;
    struct proto_str me = user_of(x);
    int rc = store_user_get(x->store, me, &u);
    int locked = u.locked;
    explicit_bzero(&u, sizeof(u));
    if (rc != STORE_OK && rc != STORE_NOTFOUND) {
        commands_error(x, PROTO_E_STORE, store_errmsg(x->store));
        return 0;
    }
    if (rc == STORE_OK && !locked) {
        *x->user_epoch = now;
        return 1;
    }
    commands_error(x, PROTO_E_AUTH,
                   rc == STORE_NOTFOUND ? "your account was removed; you are logged out"
                                        : "your account was locked; you are logged out");
    x->authed = 0;
    set_list(x, (struct proto_str){"", 0});
    set_name(x->user, (struct proto_str){"", 0});
    return 0;
}

/* Whether the connection may still work in its list: its own, the default
 * one, or one that is still shared with it. One that is not any more sends
 * it back to its own list, with an error that says why. */
static int list_allowed(struct cmd_ctx *x)
{
    if (x->list == NULL || x->list[0] == '\0')
        return 1; /* the default list: every GET of a server without users comes here */
    /* In the user's own list: the names are equal with their NULs (both
     * buffers hold PROTO_MAX_USER + 1 bytes), which costs no strlen. */
    struct proto_str list = list_of(x);
    if (list.len == 0 || (x->user != NULL && memcmp(x->list, x->user, list.len + 1) == 0))
        return 1;
    struct proto_str me = user_of(x);
    int rc = store_share_get(x->store, list, me);
    if (rc == STORE_OK)
        return 1;
    if (rc == STORE_NOTFOUND)
        commands_error(x, PROTO_E_AUTH,
                       "the list you were in is no longer shared with you; you "
                       "are back in your own");
    else
        commands_error(x, PROTO_E_STORE, store_errmsg(x->store));
    set_list(x, me);
    return 0;
}

/* WATCH and UNWATCH belong to the front end's connection (its watch, and
 * where its events go); the handler only words the reply: OK SEQ, or OK. */
static enum cmd_rc cmd_watch(struct cmd_ctx *x, const struct proto_request *req)
{
    char err[256], num[24];
    uint64_t seq = 0;
    if (x->watch_fn == NULL)
        return errorf(x, PROTO_E_INTERNAL, "%s is not offered on this connection",
                      proto_cmd_info(req->cmd)->name);
    enum proto_err e = x->watch_fn(x->watch_arg, req, &seq, err, sizeof(err));
    if (e != PROTO_E_NONE)
        return errorf(x, e, "%s", err);
    if (req->cmd == PROTO_CMD_UNWATCH) {
        result_ok(x->sink, NULL);
        return CMD_DONE;
    }
    snprintf(num, sizeof(num), "%" PRIu64, seq);
    result_ok(x->sink, num);
    return CMD_DONE;
}

/* Indexed by enum proto_cmd; PROTO_CMD_NONE (a blank line) has no handler
 * and no reply. The last entry fixes the array's size, so adding a command
 * to the enum without a handler here fails the static_assert below. */
static const cmd_fn handlers[] = {
    [PROTO_CMD_NONE] = NULL,          [PROTO_CMD_PING] = cmd_ping,
    [PROTO_CMD_HELLO] = cmd_hello,    [PROTO_CMD_HELP] = cmd_help,
    [PROTO_CMD_ADD] = cmd_add,        [PROTO_CMD_GET] = cmd_get,
    [PROTO_CMD_EDIT] = cmd_edit,      [PROTO_CMD_DONE] = cmd_done,
    [PROTO_CMD_UNDONE] = cmd_undone,  [PROTO_CMD_DEL] = cmd_del,
    [PROTO_CMD_IMPORT] = cmd_import,  [PROTO_CMD_LIST] = cmd_list,
    [PROTO_CMD_TAGS] = cmd_tags,      [PROTO_CMD_STATS] = cmd_stats,
    [PROTO_CMD_AUTH] = cmd_auth,      [PROTO_CMD_QUIT] = cmd_quit,
    [PROTO_CMD_UNDO] = cmd_undo,      [PROTO_CMD_WATCH] = cmd_watch,
    [PROTO_CMD_UNWATCH] = cmd_watch,  [PROTO_CMD_SHARE] = cmd_share,
    [PROTO_CMD_UNSHARE] = cmd_share,  [PROTO_CMD_USE] = cmd_use,
    [PROTO_CMD_SHARES] = cmd_shares,  [PROTO_CMD_USER] = cmd_user,
    [PROTO_CMD_LEGACY_GET] = cmd_get, [PROTO_CMD_LEGACY_POST] = cmd_legacy_post,
};
static_assert(sizeof(handlers) / sizeof(handlers[0]) == PROTO_CMD__COUNT,
              "every protocol command needs an entry in handlers[]");

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

/* Whether the server asks for a login that x's connection has not made. */
static int must_log_in(const struct cmd_ctx *x)
{
    return (x->cfg->auth.enabled || x->cfg->accounts) && !x->authed;
}

int commands_will_read(struct cmd_ctx *x, const struct proto_request *req, struct store_want *want)
{
    if (req->cmd != PROTO_CMD_GET && req->cmd != PROTO_CMD_LEGACY_GET)
        return 0;
    if (must_log_in(x))
        return 0; /* refused unread: a client that has not logged in costs no read */
    x->list_len = x->list != NULL ? strlen(x->list) : 0;
    if (get_cacheable(x)) {
        char kb[CACHE_KEY_MAX], hit[CACHE_ENTRY_BYTES];
        uint64_t stamp = 0;
        uint32_t key = 0;
        if (cache_fresh(x, cache_key(x, req->id, kb), &stamp, &key, hit) > 0)
            return 0;
    }
    want->list = list_of(x);
    want->id = req->id;
    return 1;
}

void commands_run(struct cmd_ctx *x, const struct proto_request *req)
{
    if (req->cmd != PROTO_CMD_IMPORT)
        x->import_run = 0; /* any other request ends a run of IMPORT lines */
    if (req->cmd <= PROTO_CMD_NONE || req->cmd >= PROTO_CMD__COUNT)
        return;
    const struct proto_cmd_info *info = proto_cmd_info(req->cmd);
    cmd_fn fn = handlers[req->cmd];
    x->list_len = x->list != NULL ? strlen(x->list) : 0;

    count(&x->counters->commands);
    x->wrote = 0;
    x->used_batch = 0;
    if (must_log_in(x) && !(info->flags & PROTO_CMDF_NOAUTH)) {
        commands_error(x, PROTO_E_AUTH,
                       x->cfg->accounts ? "authentication required; send AUTH <user> <password>"
                                        : "authentication required; send AUTH <password>");
        return;
    }
    if (fn == NULL) {
        errorf(x, PROTO_E_INTERNAL, "%s is not implemented", info->name);
        goto out;
    }
    /* Every store call below works in the connection's list, and in no
     * other: the store is the worker's, lent to each connection in turn.
     * A list shared with the caller is checked to be so still. */
    if (!(info->flags & PROTO_CMDF_NOAUTH) && !user_still_ok(x))
        goto out;
    if (!(info->flags & PROTO_CMDF_NOAUTH) && req->cmd != PROTO_CMD_USE && !list_allowed(x))
        goto out;
    store_scope(x->store, list_of(x));
    if (!(info->flags & PROTO_CMDF_WRITE)) {
        x->used_batch = x->in_batch && reads_store(req->cmd);
        fn(x, req);
        goto out;
    }

    /* A write joins the worker's batch, and the store undoes it alone if
     * it fails half-way (store_cmd_begin/end: a savepoint where the engine
     * needs one). */
    struct store *w = NULL;
    char err[300];
    if (x->batch_open(x->batch, &w, err, sizeof(err)) != 0) {
        log_error("%s failed in the store: %s", info->name, err);
        errorf(x, PROTO_E_STORE, "%s", err);
        goto out;
    }
    x->store = w;
    store_scope(w, list_of(x));
    if (store_cmd_begin(w, req) != STORE_OK) {
        store_failed(x, info->name);
        goto out;
    }
    size_t mark = x->changes != NULL ? x->changes->n : 0;
    x->in_batch = 1;
    /* Even a refused write (no such task) answered from the batch's view,
     * which other connections' uncommitted writes are part of. */
    x->used_batch = 1;
    int failed = fn(x, req) != CMD_DONE;
    if (store_cmd_end(w, failed) != STORE_OK) {
        /* The command could be neither kept nor undone on its own, so the
         * batch is in a state nobody can vouch for: the worker rolls all of
         * it back and answers each of its writes with ERR STORE. */
        log_error("%s: %s", info->name, store_errmsg(x->store));
        x->batch_broken = 1;
    }
    if (failed && x->changes != NULL)
        change_log_truncate(x->changes, mark);
    x->wrote = !failed;
out:
    if (x->sink->failed)
        x->out_full = 1;
}
