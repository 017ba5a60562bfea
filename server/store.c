/*
 * store.c - store.h's functions, handed to the engine that made the
 * object: PostgreSQL (store-pg.c) for a postgresql:// or postgres:// URI
 * when the server is built with it, else SQLite (store-sqlite.c).
 *
 * Each engine's objects begin with their kind (store-engine.h); a call
 * costs a load and a branch before the engine's own function, which keeps
 * SQLite's GET hit (store_change_key, store_unchanged_key) as it was.
 * Built without PostgreSQL, every call goes straight to SQLite.
 */
#include <stdio.h>
#include <string.h>

#include "store-engine.h"

#ifdef TODO_WITH_POSTGRES
/* Whose object p is: its first int (store-engine.h). */
static inline int is_pg(const void *p)
{
    int k;
    memcpy(&k, p, sizeof(k));
    return k == STORE_KIND_PG;
}
#define PG_E(x) ((struct pg_engine *)(void *)(x))
#define PG_S(x) ((struct pg_store *)(void *)(x))
#define PG_K(x) ((struct pg_cursor *)(void *)(x))
/* Calls pg_f(args) on a PostgreSQL object, else sqlite_f(args). */
#define DISPATCH(obj, f, cast, ...)                                                                \
    (is_pg(obj) ? pg_##f(cast(obj), __VA_ARGS__) : sqlite_##f((obj), __VA_ARGS__))
#define DISPATCH0(obj, f, cast) (is_pg(obj) ? pg_##f(cast(obj)) : sqlite_##f(obj))
#else
#define DISPATCH(obj, f, cast, ...) sqlite_##f((obj), __VA_ARGS__)
#define DISPATCH0(obj, f, cast) sqlite_##f(obj)
#endif

/* A URI of libpq's, though this server cannot open it. */
static int looks_pg(const char *path)
{
    return strncmp(path, "postgresql:", 11) == 0 || strncmp(path, "postgres:", 9) == 0;
}

int store_path_is_remote(const char *path)
{
    return looks_pg(path);
}

void store_path_shown(const char *path, char *out, size_t cap)
{
    if (cap == 0)
        return;
    size_t n = 0;
    /* Appends len bytes of p, as many as fit. */
#define PUT(p, len)                                                                                \
    do {                                                                                           \
        size_t l_ = (len);                                                                         \
        if (l_ > cap - 1 - n)                                                                      \
            l_ = cap - 1 - n;                                                                      \
        memcpy(out + n, (p), l_);                                                                  \
        n += l_;                                                                                   \
    } while (0)
    const char *sep = strstr(path, "://");
    if (sep == NULL) {
        PUT(path, strlen(path));
        out[n] = '\0';
        return;
    }
    const char *auth = sep + 3;
    const char *auth_end = auth + strcspn(auth, "/?");
    const char *at = NULL;
    for (const char *p = auth; p < auth_end; p++)
        if (*p == '@')
            at = p;
    const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    const char *p = path;
    if (colon != NULL) {
        PUT(p, (size_t)(colon + 1 - p));
        PUT("***", 3);
        p = at;
    }
    /* The query's parameters, one by one: password's value hidden. */
    const char *q = strchr(auth_end, '?');
    if (q == NULL) {
        PUT(p, strlen(p));
        out[n] = '\0';
        return;
    }
    PUT(p, (size_t)(q + 1 - p));
    p = q + 1;
    while (*p != '\0') {
        size_t len = strcspn(p, "&");
        if (strncmp(p, "password=", 9) == 0 && len >= 9) {
            PUT(p, 9);
            PUT("***", 3);
        } else {
            PUT(p, len);
        }
        p += len;
        if (*p == '&')
            PUT(p++, 1);
    }
    out[n] = '\0';
#undef PUT
}

int store_engine_open(struct store_engine **out, const struct store_options *o, char *err,
                      size_t errcap)
{
#ifdef TODO_WITH_POSTGRES
    if (pg_is_uri(o->path)) {
        struct pg_engine *pe = NULL;
        int rc = pg_engine_open(&pe, o, err, errcap);
        *out = (struct store_engine *)(void *)pe;
        return rc;
    }
#endif
    if (looks_pg(o->path)) {
        char shown[256];
        store_path_shown(o->path, shown, sizeof(shown));
        *out = NULL;
        snprintf(err, errcap,
                 "--db %s: this todo-server was built without PostgreSQL "
                 "(-DTODO_WITH_POSTGRES=ON needs libpq)",
                 shown);
        return STORE_ERROR;
    }
    return sqlite_engine_open(out, o, err, errcap);
}

void store_engine_close(struct store_engine *e)
{
    if (e == NULL)
        return;
    DISPATCH0(e, engine_close, PG_E);
}

const char *store_engine_describe(const struct store_engine *e)
{
    return DISPATCH0(e, engine_describe, PG_E);
}

int store_engine_streams(const struct store_engine *e)
{
    return DISPATCH0(e, engine_streams, PG_E);
}

void store_engine_maintain(struct store_engine *e)
{
    DISPATCH0(e, engine_maintain, PG_E);
}

int store_connect(struct store_engine *e, enum store_role role, struct store **out, char *err,
                  size_t errcap)
{
#ifdef TODO_WITH_POSTGRES
    if (is_pg(e)) {
        struct pg_store *ps = NULL;
        int rc = pg_connect(PG_E(e), role, &ps, err, errcap);
        *out = (struct store *)(void *)ps;
        return rc;
    }
#endif
    return sqlite_connect(e, role, out, err, errcap);
}

void store_close(struct store *s)
{
    if (s == NULL)
        return;
    DISPATCH0(s, close, PG_S);
}

const char *store_errmsg(struct store *s)
{
    return DISPATCH0(s, errmsg, PG_S);
}

void store_read_end(struct store *s)
{
    DISPATCH0(s, read_end, PG_S);
}

int store_write_begin(struct store_engine *e, struct store **w, char *err, size_t errcap)
{
#ifdef TODO_WITH_POSTGRES
    if (is_pg(e)) {
        struct pg_store *ps = NULL;
        int rc = pg_write_begin(PG_E(e), &ps, err, errcap);
        *w = (struct store *)(void *)ps;
        return rc;
    }
#endif
    return sqlite_write_begin(e, w, err, errcap);
}

int store_cmd_begin(struct store *w, const struct proto_request *req)
{
    return DISPATCH(w, cmd_begin, PG_S, req);
}

int store_cmd_end(struct store *w, int failed)
{
    return DISPATCH(w, cmd_end, PG_S, failed);
}

int store_write_ok(struct store *w)
{
    return DISPATCH0(w, write_ok, PG_S);
}

int store_write_end(struct store_engine *e, int commit, char *err, size_t errcap)
{
    return DISPATCH(e, write_end, PG_E, commit, err, errcap);
}

uint64_t store_read_stamp(struct store *s)
{
    return DISPATCH0(s, read_stamp, PG_S);
}

int store_unchanged(struct store *s, struct proto_str id, uint64_t stamp)
{
    return DISPATCH(s, unchanged, PG_S, id, stamp);
}

uint32_t store_change_key(struct store *s, struct proto_str id)
{
    return DISPATCH(s, change_key, PG_S, id);
}

int store_unchanged_key(struct store *s, uint32_t key, uint64_t stamp)
{
    return DISPATCH(s, unchanged_key, PG_S, key, stamp);
}

int store_add(struct store *s, const struct proto_request *req, int64_t now,
              char id[PROTO_MAX_ID + 1])
{
    return DISPATCH(s, add, PG_S, req, now, id);
}

int store_import(struct store *s, const struct proto_request *req, int64_t now, int64_t *run,
                 int *outcome)
{
    return DISPATCH(s, import, PG_S, req, now, run, outcome);
}

int store_edit(struct store *s, const struct proto_request *req, int64_t now)
{
    return DISPATCH(s, edit, PG_S, req, now);
}

int store_set_done(struct store *s, struct proto_str id, int done, int64_t now)
{
    return DISPATCH(s, set_done, PG_S, id, done, now);
}

int store_del(struct store *s, struct proto_str id)
{
    return DISPATCH(s, del, PG_S, id);
}

int store_put(struct store *s, struct proto_str id, struct proto_str text, int64_t now)
{
    return DISPATCH(s, put, PG_S, id, text, now);
}

int store_undo(struct store *s, struct store_undone *out, store_undone_fn each, void *arg)
{
    return DISPATCH(s, undo, PG_S, out, each, arg);
}

void store_scope(struct store *s, struct proto_str list)
{
    DISPATCH(s, scope, PG_S, list);
}

int store_list_drop(struct store *w, struct proto_str list, int64_t *n)
{
    return DISPATCH(w, list_drop, PG_S, list, n);
}

int store_get(struct store *s, struct proto_str id, store_task_fn fn, void *arg)
{
    return DISPATCH(s, get, PG_S, id, fn, arg);
}

int store_list(struct store *s, const struct proto_request *req, store_task_fn fn, void *arg)
{
    return DISPATCH(s, list, PG_S, req, fn, arg);
}

int store_cursor_open(struct store *s, const struct proto_request *req, struct store_cursor **out)
{
#ifdef TODO_WITH_POSTGRES
    if (is_pg(s)) {
        struct pg_cursor *pk = NULL;
        int rc = pg_cursor_open(PG_S(s), req, &pk);
        *out = (struct store_cursor *)(void *)pk;
        return rc;
    }
#endif
    return sqlite_cursor_open(s, req, out);
}

int store_cursor_count(struct store_cursor *k, size_t max, size_t *n, int *done)
{
    return DISPATCH(k, cursor_count, PG_K, max, n, done);
}

void store_cursor_rewind(struct store_cursor *k)
{
    DISPATCH0(k, cursor_rewind, PG_K);
}

int store_cursor_next(struct store_cursor *k, store_task_fn fn, void *arg)
{
    return DISPATCH(k, cursor_next, PG_K, fn, arg);
}

void store_cursor_close(struct store_cursor *k)
{
    DISPATCH0(k, cursor_close, PG_K);
}

long long store_cursor_most(const struct store_cursor *k)
{
    return DISPATCH0(k, cursor_most, PG_K);
}

int store_tags(struct store *s, store_tag_fn fn, void *arg)
{
    return DISPATCH(s, tags, PG_S, fn, arg);
}

void store_facts(struct store *s, const char **engine, const char **state)
{
    DISPATCH(s, facts, PG_S, engine, state);
}

int store_count(struct store *s, int64_t *n)
{
    return DISPATCH(s, count, PG_S, n);
}

/* Only PostgreSQL keeps a change log: SQLite's file has one server. */
int store_engine_follow(struct store_engine *e, store_follow_fn fn, void *arg, size_t backlog,
                        uint64_t *start, char *err, size_t errcap)
{
#ifdef TODO_WITH_POSTGRES
    if (is_pg(e))
        return pg_engine_follow(PG_E(e), fn, arg, backlog, start, err, errcap);
#endif
    (void)e, (void)fn, (void)arg, (void)backlog, (void)start, (void)err, (void)errcap;
    return 0;
}

void store_engine_unfollow(struct store_engine *e)
{
#ifdef TODO_WITH_POSTGRES
    if (e != NULL && is_pg(e))
        pg_engine_unfollow(PG_E(e));
#endif
    (void)e;
}

size_t store_engine_reads_ahead(const struct store_engine *e)
{
#ifdef TODO_WITH_POSTGRES
    if (e != NULL && is_pg(e))
        return pg_engine_reads_ahead(PG_E(e));
#endif
    (void)e;
    return 0;
}

void store_read_ahead(struct store *s, const struct store_want *v, size_t n)
{
#ifdef TODO_WITH_POSTGRES
    if (is_pg(s))
        pg_read_ahead(PG_S(s), v, n);
#endif
    (void)s, (void)v, (void)n;
}

unsigned long long store_reads_ahead_served(struct store *s)
{
#ifdef TODO_WITH_POSTGRES
    if (is_pg(s))
        return pg_reads_ahead_served(PG_S(s));
#endif
    (void)s;
    return 0;
}

size_t store_engine_writes_ahead(const struct store_engine *e)
{
#ifdef TODO_WITH_POSTGRES
    if (e != NULL && is_pg(e))
        return pg_engine_writes_ahead(PG_E(e));
#endif
    (void)e;
    return 0;
}

int store_write_ahead_add(struct store *w, struct proto_str list, const struct proto_request *req)
{
#ifdef TODO_WITH_POSTGRES
    if (is_pg(w))
        return pg_write_ahead_add(PG_S(w), list, req);
#endif
    (void)w, (void)list, (void)req;
    return STORE_ERROR;
}

void store_write_ahead_send(struct store *w, int64_t now)
{
#ifdef TODO_WITH_POSTGRES
    if (is_pg(w))
        pg_write_ahead_send(PG_S(w), now);
#endif
    (void)w, (void)now;
}

unsigned long long store_writes_ahead_served(struct store *s)
{
#ifdef TODO_WITH_POSTGRES
    if (is_pg(s))
        return pg_writes_ahead_served(PG_S(s));
#endif
    (void)s;
    return 0;
}

unsigned long long store_commits_overlapped(struct store *s)
{
#ifdef TODO_WITH_POSTGRES
    if (is_pg(s))
        return pg_commits_overlapped(PG_S(s));
#endif
    (void)s;
    return 0;
}

uint64_t store_engine_log_mine(struct store_engine *e)
{
#ifdef TODO_WITH_POSTGRES
    if (is_pg(e))
        return pg_engine_log_mine(PG_E(e));
#endif
    (void)e;
    return 0;
}

int store_user_add(struct store *w, const struct store_user *u)
{
    return DISPATCH(w, user_add, PG_S, u);
}

int store_user_update(struct store *w, const struct store_user *u)
{
    return DISPATCH(w, user_update, PG_S, u);
}

int store_user_del(struct store *w, struct proto_str name)
{
    return DISPATCH(w, user_del, PG_S, name);
}

int store_user_get(struct store *s, struct proto_str name, struct store_user *out)
{
    return DISPATCH(s, user_get, PG_S, name, out);
}

int store_users(struct store *s, store_user_fn fn, void *arg)
{
    return DISPATCH(s, users, PG_S, fn, arg);
}

#ifdef TODO_FAULT_INJECTION
void store_fault_set(struct store_engine *e, enum store_fault f)
{
    DISPATCH(e, fault_set, PG_E, f);
}
#endif

int store_share_add(struct store *w, struct proto_str list, struct proto_str user)
{
    return DISPATCH(w, share_add, PG_S, list, user);
}

int store_share_del(struct store *w, struct proto_str list, struct proto_str user)
{
    return DISPATCH(w, share_del, PG_S, list, user);
}

int store_share_get(struct store *s, struct proto_str list, struct proto_str user)
{
    return DISPATCH(s, share_get, PG_S, list, user);
}

int store_shares(struct store *s, struct proto_str name, store_share_fn fn, void *arg)
{
    return DISPATCH(s, shares, PG_S, name, fn, arg);
}
