/*
 * store-engine.h - what store.c (the dispatch behind store.h) knows of the
 * engines: each engine implements store.h's functions under its own
 * prefix (sqlite_ in store-sqlite.c, pg_ in store-pg.c), and each of its
 * objects (engine, connection, cursor) begins with an int that says whose
 * it is, so that store.c can hand a call to the engine that made the
 * object. Nothing but store.c and the engines includes it.
 */
#ifndef TODO_SERVER_STORE_ENGINE_H
#define TODO_SERVER_STORE_ENGINE_H

#include <string.h>

#include "store.h"

/* The first member of every engine's objects. */
enum store_kind {
    STORE_KIND_SQLITE = 0x5117e001,
    STORE_KIND_PG = 0x5117e002,
};

/* A task's key in an engine's tables, for store_scope: its id in the
 * default list, "LIST/ID" in a named one ('/' is in neither ids nor
 * names), so that one task of any list is one look-up of the primary key
 * and one slot of the change counter. Both engines key alike. */
#define STORE_KEY_MAX (STORE_MAX_LIST + 1 + PROTO_MAX_ID)
struct store_key {
    char buf[STORE_KEY_MAX + 1];
};

/* The key of id in list scope (scope_len <= STORE_MAX_LIST), made in k
 * when it is not id itself. An id longer than any (the parser lets none
 * through) becomes "/", which no task has. */
static inline struct proto_str store_key_of(const char *scope, size_t scope_len,
                                            struct proto_str id, struct store_key *k)
{
    if (scope_len == 0)
        return id;
    if (id.len > PROTO_MAX_ID)
        return (struct proto_str){"/", 1};
    memcpy(k->buf, scope, scope_len);
    k->buf[scope_len] = '/';
    memcpy(k->buf + scope_len + 1, id.ptr, id.len);
    return (struct proto_str){k->buf, scope_len + 1 + id.len};
}

/* Copies list into an engine's scope (NUL-terminated); its length. A
 * name longer than any (a caller's bug) becomes "/", a list nobody has. */
static inline size_t store_scope_copy(char scope[STORE_MAX_LIST + 1], struct proto_str list)
{
    if (list.len > STORE_MAX_LIST)
        list = (struct proto_str){"/", 1};
    memcpy(scope, list.ptr, list.len);
    scope[list.len] = '\0';
    return list.len;
}

/* store.h's functions, with prefix P and the engine's own types E (the
 * engine), S (a connection) and K (a cursor). */
#define STORE_ENGINE_API(P, E, S, K)                                                               \
    int P##engine_open(E **out, const struct store_options *o, char *err, size_t errcap);          \
    void P##engine_close(E *e);                                                                    \
    const char *P##engine_describe(const E *e);                                                    \
    int P##engine_streams(const E *e);                                                             \
    void P##engine_maintain(E *e);                                                                 \
    int P##connect(E *e, enum store_role role, S **out, char *err, size_t errcap);                 \
    void P##close(S *s);                                                                           \
    const char *P##errmsg(S *s);                                                                   \
    void P##read_end(S *s);                                                                        \
    int P##write_begin(E *e, S **w, char *err, size_t errcap);                                     \
    int P##cmd_begin(S *w, const struct proto_request *req);                                       \
    int P##cmd_end(S *w, int failed);                                                              \
    int P##write_ok(S *w);                                                                         \
    int P##write_end(E *e, int commit, char *err, size_t errcap);                                  \
    uint64_t P##read_stamp(S *s);                                                                  \
    int P##unchanged(S *s, struct proto_str id, uint64_t stamp);                                   \
    uint32_t P##change_key(S *s, struct proto_str id);                                             \
    int P##unchanged_key(S *s, uint32_t key, uint64_t stamp);                                      \
    int P##add(S *s, const struct proto_request *req, int64_t now, char id[PROTO_MAX_ID + 1]);     \
    int P##import(S *s, const struct proto_request *req, int64_t now, int64_t *run, int *outcome); \
    int P##edit(S *s, const struct proto_request *req, int64_t now);                               \
    int P##set_done(S *s, struct proto_str id, int done, int64_t now);                             \
    int P##del(S *s, struct proto_str id);                                                         \
    int P##put(S *s, struct proto_str id, struct proto_str text, int64_t now);                     \
    int P##undo(S *s, struct store_undone *out, store_undone_fn each, void *arg);                  \
    void P##scope(S *s, struct proto_str list);                                                    \
    int P##list_drop(S *w, struct proto_str list, int64_t *n);                                     \
    int P##get(S *s, struct proto_str id, store_task_fn fn, void *arg);                            \
    int P##list(S *s, const struct proto_request *req, store_task_fn fn, void *arg);               \
    int P##cursor_open(S *s, const struct proto_request *req, K **out);                            \
    int P##cursor_count(K *k, size_t max, size_t *n, int *done);                                   \
    void P##cursor_rewind(K *k);                                                                   \
    int P##cursor_next(K *k, store_task_fn fn, void *arg);                                         \
    void P##cursor_close(K *k);                                                                    \
    long long P##cursor_most(const K *k);                                                          \
    int P##tags(S *s, store_tag_fn fn, void *arg);                                                 \
    int P##count(S *s, int64_t *n);                                                                \
    int P##user_add(S *w, const struct store_user *u);                                             \
    int P##user_update(S *w, const struct store_user *u);                                          \
    int P##user_del(S *w, struct proto_str name);                                                  \
    int P##user_get(S *s, struct proto_str name, struct store_user *out);                          \
    int P##users(S *s, store_user_fn fn, void *arg);                                               \
    int P##share_add(S *w, struct proto_str list, struct proto_str user);                          \
    int P##share_del(S *w, struct proto_str list, struct proto_str user);                          \
    int P##share_get(S *s, struct proto_str list, struct proto_str user);                          \
    int P##shares(S *s, struct proto_str name, store_share_fn fn, void *arg);                      \
    void P##facts(S *s, const char **engine, const char **state)

/* The SQLite engine keeps store.h's own type names (store-sqlite.h). */
STORE_ENGINE_API(sqlite_, struct store_engine, struct store, struct store_cursor);
#ifdef TODO_FAULT_INJECTION
void sqlite_fault_set(struct store_engine *e, enum store_fault f);
#endif

#ifdef TODO_WITH_POSTGRES
struct pg_engine;
struct pg_store;
struct pg_cursor;
STORE_ENGINE_API(pg_, struct pg_engine, struct pg_store, struct pg_cursor);
#ifdef TODO_FAULT_INJECTION
void pg_fault_set(struct pg_engine *e, enum store_fault f);
#endif
/* The change log (store.h's store_engine_follow): PostgreSQL's only. */
int pg_engine_follow(struct pg_engine *e, store_follow_fn fn, void *arg, size_t backlog,
                     uint64_t *start, char *err, size_t errcap);
void pg_engine_unfollow(struct pg_engine *e);
uint64_t pg_engine_log_mine(struct pg_engine *e);
/* Reading ahead (store.h's store_read_ahead): PostgreSQL's only. */
size_t pg_engine_reads_ahead(const struct pg_engine *e);
void pg_read_ahead(struct pg_store *s, const struct store_want *v, size_t n);
unsigned long long pg_reads_ahead_served(struct pg_store *s);
/* Writing ahead (store.h's store_write_ahead_add/_send). */
size_t pg_engine_writes_ahead(const struct pg_engine *e);
int pg_write_ahead_add(struct pg_store *w, struct proto_str list, const struct proto_request *req);
void pg_write_ahead_send(struct pg_store *w, int64_t now);
unsigned long long pg_writes_ahead_served(struct pg_store *s);
unsigned long long pg_commits_overlapped(struct pg_store *s);
/* 1 when path names a PostgreSQL database: a postgresql:// or postgres://
 * URI (libpq's), or "postgresql:" alone for the PG* environment. */
int pg_is_uri(const char *path);
#endif

#endif /* TODO_SERVER_STORE_ENGINE_H */
