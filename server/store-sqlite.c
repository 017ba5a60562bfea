/*
 * store-sqlite.c - the store on SQLite: WAL mode, prepared statements, a
 * schema versioned with PRAGMA user_version and upgraded by migrations.
 *
 * Each worker thread opens its own connection for reads (SQLITE_OPEN_NOMUTEX:
 * used by that thread only), so statements are prepared once per thread and
 * reused; reads share one read transaction per event-loop pass. Writes all
 * go through the engine's one writer connection, used by one thread at a
 * time under the engine's write lock (store_write_begin). Automatic
 * checkpoints are off on the writer: the engine runs them on a thread of
 * its own (store-sqlite-ckpt.c).
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sqlite-mem.h"
#include "store-sqlite.h"
#include "wal-gather.h"

/* How long a connection waits for another process's lock (the server
 * keeps the database to itself, so this is a backup rather than a plan). */
#define BUSY_TIMEOUT_MS 5000
/* Page cache of a stream's connection: it reads each page of the list about
 * twice (the count, then the lines), in order, so a small cache does. */
#define STREAM_CACHE_KIB 512

/*
 * The schema, one step per version: migrations[i] takes a database from
 * user_version i to i + 1. Append new steps; never edit a released one.
 */
static const char *const migrations[] = {
    /* 1: tasks, their tags, and the counter behind ADD's ids. */
    "CREATE TABLE tasks("
    "  id TEXT PRIMARY KEY,"
    "  text TEXT NOT NULL,"
    "  done INTEGER NOT NULL DEFAULT 0,"
    "  pri INTEGER NOT NULL DEFAULT 0,"
    "  due TEXT,"
    "  created INTEGER NOT NULL,"
    "  updated INTEGER NOT NULL);"
    "CREATE INDEX tasks_by_done ON tasks(done, created);"
    "CREATE TABLE task_tags("
    "  task_id TEXT NOT NULL,"
    "  tag TEXT NOT NULL,"
    "  PRIMARY KEY(task_id, tag)) WITHOUT ROWID;"
    "CREATE INDEX task_tags_by_tag ON task_tags(tag);"
    "CREATE TABLE meta(next_id INTEGER NOT NULL);"
    "INSERT INTO meta(next_id) VALUES(1);",
    /* 2: each task's tags, joined by commas in name order, also in its own
     * row (task_tags stays the truth and serves tag searches), so that
     * reading a task does not look its tags up: that look-up was more
     * than half the SQL time of a LIST of 10,000 tasks. set_tags() keeps
     * the copy. */
    "ALTER TABLE tasks ADD COLUMN tags TEXT;"
    "UPDATE tasks SET tags ="
    " (SELECT group_concat(tag, ',') FROM"
    "   (SELECT tag FROM task_tags WHERE task_id = tasks.id ORDER BY tag));",
    /* 3: UNDO (store_undo). Each task row also holds the change that made
     * it what it is: ver, that change's number (0: none since this step),
     * u_kind, which write it was (STORE_UNDO_*; NULL: one UNDO does not
     * take back, such as the tutorial's POST/), and the task as it was
     * before it (u_b = 0: it did not exist), with u_ver, the number of the
     * change before that. A write copies the row's fields into the u_
     * columns in its own statement, so recording a change costs no
     * statement of its own. Only when the change a row holds is still one
     * UNDO may take back (in the undo stack) does a later write of that
     * task first move it to undo_old; a DEL moves the deleted task there
     * too, as the before-image of the DEL. */
    "ALTER TABLE tasks ADD COLUMN ver INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE tasks ADD COLUMN u_kind INTEGER;"
    "ALTER TABLE tasks ADD COLUMN u_b INTEGER;"
    "ALTER TABLE tasks ADD COLUMN u_text TEXT;"
    "ALTER TABLE tasks ADD COLUMN u_done INTEGER;"
    "ALTER TABLE tasks ADD COLUMN u_pri INTEGER;"
    "ALTER TABLE tasks ADD COLUMN u_due TEXT;"
    "ALTER TABLE tasks ADD COLUMN u_created INTEGER;"
    "ALTER TABLE tasks ADD COLUMN u_updated INTEGER;"
    "ALTER TABLE tasks ADD COLUMN u_tags TEXT;"
    "ALTER TABLE tasks ADD COLUMN u_ver INTEGER;"
    "CREATE TABLE undo_old("
    "  task_id TEXT NOT NULL,"
    "  seq INTEGER NOT NULL,"
    "  kind INTEGER NOT NULL,"
    "  b INTEGER NOT NULL,"
    "  text TEXT, done INTEGER, pri INTEGER, due TEXT,"
    "  created INTEGER, updated INTEGER, tags TEXT, ver INTEGER,"
    "  PRIMARY KEY(task_id, seq)) WITHOUT ROWID;",
    /* 4: accounts (issue 18): the people who may log in (store.h's users),
     * each with the salted, slow hash of their password that users_hash()
     * made, never the password, and their role. Whose tasks are whose
     * comes in a step of its own. */
    "CREATE TABLE users("
    "  name TEXT PRIMARY KEY,"
    "  hash TEXT NOT NULL,"
    "  admin INTEGER NOT NULL DEFAULT 0,"
    "  locked INTEGER NOT NULL DEFAULT 0,"
    "  created INTEGER NOT NULL) WITHOUT ROWID;",
    /* 5: lists (issue 18): whose tasks are whose (store.h's store_scope).
     * A task's key in id (and in task_tags.task_id, undo_old.task_id) is
     * its id in the default list "", which every task of an older database
     * is in, so that nothing is rewritten and the single-user path stays
     * as it was; in a user's list it is "LIST/ID" ('/' is in neither ids
     * nor names), so that GET, EDIT, DONE and DEL of one task stay one
     * look-up of the primary key. The list column serves LIST, TAGS and
     * COUNT of one list: the indexes lead with it, in the order the old
     * ones gave. A user's ADD counter is a row of lists; the default
     * list's stays in meta. */
    "ALTER TABLE tasks ADD COLUMN list TEXT NOT NULL DEFAULT '';"
    "DROP INDEX tasks_by_done;"
    "CREATE INDEX tasks_by_list ON tasks(list, done, created);"
    "ALTER TABLE task_tags ADD COLUMN list TEXT NOT NULL DEFAULT '';"
    "DROP INDEX task_tags_by_tag;"
    "CREATE INDEX task_tags_by_list ON task_tags(list, tag);"
    "ALTER TABLE undo_old ADD COLUMN list TEXT NOT NULL DEFAULT '';"
    /* Each list trims its own history (undo_trim): with many lists
     * undo_old holds many lists' rows, which a trim must not scan. */
    "CREATE INDEX undo_old_by_list ON undo_old(list, seq);"
    "CREATE TABLE lists(name TEXT PRIMARY KEY, next_id INTEGER NOT NULL) WITHOUT ROWID;"
    /* Who may use whose list besides its owner (store.h's shares). */
    "CREATE TABLE shares(list TEXT NOT NULL, user TEXT NOT NULL,"
    "  PRIMARY KEY(list, user)) WITHOUT ROWID;"
    "CREATE INDEX shares_by_user ON shares(user, list);",
    /* 6: undo_old keyed by list first (issue 18's users bench). With each
     * list keeping its own 100 changes, one random EDIT in ten of a
     * 1,000-task list copies a before-image here, and each copy paid for
     * two B-trees (the key and undo_old_by_list) and a trim through the
     * index. Keyed (list, seq, task_id), a copy is one B-tree insert and a
     * list's trim (and drop) one range of it. The columns keep their
     * order, so that the INSERT ... SELECTs that fill it stay as they are;
     * (list, seq, task_id) is as unique as (task_id, seq) was, the list
     * being part of the task's key. */
    "CREATE TABLE undo_old_6("
    "  task_id TEXT NOT NULL,"
    "  seq INTEGER NOT NULL,"
    "  kind INTEGER NOT NULL,"
    "  b INTEGER NOT NULL,"
    "  text TEXT, done INTEGER, pri INTEGER, due TEXT,"
    "  created INTEGER, updated INTEGER, tags TEXT, ver INTEGER,"
    "  list TEXT NOT NULL DEFAULT '',"
    "  PRIMARY KEY(list, seq, task_id)) WITHOUT ROWID;"
    "INSERT INTO undo_old_6 SELECT task_id, seq, kind, b, text, done, pri, due, created,"
    "  updated, tags, ver, list FROM undo_old;"
    "DROP TABLE undo_old;"
    "ALTER TABLE undo_old_6 RENAME TO undo_old;",
};
#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* The columns of a task line, and its rowid (LIST's order after created:
 * store_cursor_next merges two queries by both). */
#define TASK_COLS "t.id, t.text, t.done, t.pri, t.due, t.created, t.updated, t.tags, t.rowid"
/* The list a statement works in (store_scope) binds as this parameter,
 * numbered past any other's, so that it can be added to a statement
 * without renumbering the rest. */
#define LIST_PARAM 60
#define LIST_P "?60"
/* The columns of a user (user_row). */
#define USER_COLS "name, hash, admin, locked, created"
#define COL_CREATED 5
#define COL_ROWID 8

/* The kinds of change UNDO takes back, as tasks.u_kind and undo_old.kind
 * keep them (schema step 3), and their names in UNDO's reply. */
enum {
    STORE_UNDO_ADD = 1,
    STORE_UNDO_EDIT,
    STORE_UNDO_DONE,
    STORE_UNDO_UNDONE,
    STORE_UNDO_DEL,
    STORE_UNDO_IMPORT,
};
#define UNDO_ADD_SQL "1"
#define UNDO_EDIT_SQL "2"
#define UNDO_DEL_SQL "5"
#define UNDO_IMPORT_SQL "6"
#define UNDO_DEPTH_SQL "100" /* UNDO_STACK_DEPTH */
static const char *const undo_kind_name[] = {
    [STORE_UNDO_ADD] = "add",       [STORE_UNDO_EDIT] = "edit", [STORE_UNDO_DONE] = "done",
    [STORE_UNDO_UNDONE] = "undone", [STORE_UNDO_DEL] = "del",   [STORE_UNDO_IMPORT] = "import",
};
/* A write's first assignments: the row as it is, kept as the before-image
 * of the change the write makes (SET's expressions all read the old row). */
#define UNDO_KEEP_SQL                                                                              \
    "u_b = 1, u_text = text, u_done = done, u_pri = pri, u_due = due, u_created = created,"        \
    " u_updated = updated, u_tags = tags, u_ver = ver"

enum stmt_id {
    ST_BEGIN,
    ST_BEGIN_READ,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_SAVEPOINT,
    ST_RELEASE,
    ST_ROLLBACK_TO,
    ST_NEXT_ID,
    ST_SET_NEXT_ID,
    ST_GIVE_BACK_IDS,
    ST_INSERT,
    ST_ADD_TAG,
    ST_DEL_TAG,
    ST_COUNT_TAGS,
    ST_SET_TAGS,
    ST_GET,
    ST_EDIT,
    ST_SET_DONE,
    ST_DEL,
    ST_DEL_TAGS,
    ST_TAGS,
    ST_COUNT,
    ST_PUT,
    ST_EXISTS,
    ST_RESTORE,
    ST_REPLACE,
    ST_UNDO_SAVE,
    ST_UNDO_SAVE_DEL,
    ST_UNDO_ROW,
    ST_UNDO_OLD,
    ST_UNDO_BACK,
    ST_UNDO_REVIVE,
    ST_UNDO_FORGET,
    ST_UNDO_TRIM,
    ST_UNDO_LOAD,
    ST_UNDO_MAX,
    ST_USER_ADD,
    ST_USER_UPDATE,
    ST_USER_DEL,
    ST_USER_GET,
    ST_USERS,
    ST_LIST_NEXT,
    ST_LIST_SET_NEXT,
    ST_LIST_KEYS,
    ST_LIST_DROP_TASKS,
    ST_LIST_DROP_TAGS,
    ST_LIST_DROP_UNDO,
    ST_LIST_DROP_NEXT,
    ST_LIST_DROP_SHARES,
    ST_SHARE_ADD,
    ST_SHARE_DEL,
    ST_SHARE_GET,
    ST_SHARES,
    ST__COUNT
};

/* Long statements are split over lines as adjacent literals on purpose;
 * every entry has its designator, so a missing comma cannot go unseen. */
/* NOLINTBEGIN(bugprone-suspicious-missing-comma) */
static const char *const stmt_sql[ST__COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_BEGIN_READ] = "BEGIN",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_SAVEPOINT] = "SAVEPOINT cmd",
    [ST_RELEASE] = "RELEASE cmd",
    [ST_ROLLBACK_TO] = "ROLLBACK TO cmd",
    [ST_NEXT_ID] = "SELECT next_id FROM meta",
    [ST_SET_NEXT_ID] = "UPDATE meta SET next_id = ?1",
    [ST_GIVE_BACK_IDS] = "UPDATE meta SET next_id = ?1 WHERE next_id = ?2",
    [ST_INSERT] = "INSERT OR IGNORE INTO tasks(id, text, done, pri, due, created, updated, ver,"
                  " u_kind, u_b, list) VALUES(?1, ?2, 0, ?3, ?4, ?5, ?5, ?6, " UNDO_ADD_SQL
                  ", 0, " LIST_P ")",
    [ST_ADD_TAG] = "INSERT OR IGNORE INTO task_tags(task_id, tag, list) VALUES(?1, ?2, " LIST_P ")",
    [ST_DEL_TAG] = "DELETE FROM task_tags WHERE task_id = ?1 AND tag = ?2",
    [ST_COUNT_TAGS] = "SELECT count(*) FROM task_tags WHERE task_id = ?1",
    [ST_SET_TAGS] = "UPDATE tasks SET tags ="
                    " (SELECT group_concat(tag, ',') FROM"
                    "   (SELECT tag FROM task_tags WHERE task_id = ?1 ORDER BY tag))"
                    " WHERE id = ?1",
    [ST_GET] = "SELECT " TASK_COLS " FROM tasks t WHERE t.id = ?1",
    [ST_EDIT] = "UPDATE tasks SET " UNDO_KEEP_SQL ", u_kind = " UNDO_EDIT_SQL ", ver = ?8,"
                " text = CASE WHEN ?1 THEN ?2 ELSE text END,"
                " pri = CASE WHEN ?3 >= 0 THEN ?3 ELSE pri END,"
                " due = CASE ?4 WHEN 1 THEN ?5 WHEN -1 THEN NULL ELSE due END,"
                " updated = ?6"
                " WHERE id = ?7",
    [ST_SET_DONE] = "UPDATE tasks SET " UNDO_KEEP_SQL ", u_kind = ?4, ver = ?5, done = ?1,"
                    " updated = ?2 WHERE id = ?3",
    [ST_DEL] = "DELETE FROM tasks WHERE id = ?1",
    [ST_DEL_TAGS] = "DELETE FROM task_tags WHERE task_id = ?1",
    [ST_TAGS] =
        "SELECT tag, count(*) FROM task_tags WHERE list = " LIST_P " GROUP BY tag ORDER BY tag",
    [ST_COUNT] = "SELECT count(*) FROM tasks WHERE list = " LIST_P,
    /* Not kept for UNDO (u_kind NULL), but a change all the same (ver). */
    [ST_PUT] = "INSERT INTO tasks(id, text, done, pri, due, created, updated, ver, list)"
               " VALUES(?1, ?2, 0, 0, NULL, ?3, ?3, ?4, " LIST_P ")"
               " ON CONFLICT(id) DO UPDATE SET text = excluded.text, updated = excluded.updated,"
               " ver = excluded.ver, u_kind = NULL",
    [ST_EXISTS] = "SELECT 1 FROM tasks WHERE id = ?1",
    [ST_RESTORE] =
        "INSERT INTO tasks(id, text, done, pri, due, created, updated, ver, u_kind,"
        " u_b, list) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, " UNDO_IMPORT_SQL ", 0, " LIST_P ")",
    [ST_REPLACE] = "UPDATE tasks SET " UNDO_KEEP_SQL ", u_kind = " UNDO_IMPORT_SQL ", ver = ?8,"
                   " text = ?2, done = ?3, pri = ?4, due = ?5, created = ?6,"
                   " updated = ?7 WHERE id = ?1",
    /* The change a row holds, moved to undo_old (schema step 3). */
    [ST_UNDO_SAVE] = "INSERT OR REPLACE INTO undo_old SELECT id, ver, u_kind, u_b, u_text, u_done,"
                     " u_pri, u_due, u_created, u_updated, u_tags, u_ver, list FROM tasks"
                     " WHERE id = ?1 AND u_kind IS NOT NULL",
    /* The task a DEL (change ?2) deletes, as its before-image. */
    [ST_UNDO_SAVE_DEL] =
        "INSERT OR REPLACE INTO undo_old SELECT id, ?2, " UNDO_DEL_SQL ", 1, text,"
        " done, pri, due, created, updated, tags, ver, list FROM tasks WHERE id = ?1",
    [ST_UNDO_ROW] = "SELECT ver, u_b, u_tags, u_ver FROM tasks WHERE id = ?1",
    [ST_UNDO_OLD] =
        "SELECT tags, ver FROM undo_old WHERE list = " LIST_P " AND seq = ?2 AND task_id = ?1",
    /* The row as it was before the change it holds, which then holds the
     * change before (back from undo_old, or none). Every expression reads
     * the row as it was, so one statement does both. */
    [ST_UNDO_BACK] = "UPDATE tasks SET text = u_text, done = u_done, pri = u_pri, due = u_due,"
                     " created = u_created, updated = u_updated, tags = u_tags, ver = u_ver,"
                     " (u_kind, u_b, u_text, u_done, u_pri, u_due, u_created, u_updated, u_tags,"
                     " u_ver) = (SELECT o.kind, o.b, o.text, o.done, o.pri, o.due, o.created,"
                     " o.updated, o.tags, o.ver FROM undo_old o"
                     " WHERE o.list = tasks.list AND o.seq = tasks.u_ver AND o.task_id = tasks.id)"
                     " WHERE id = ?1",
    /* A deleted task (the DEL ?2's before-image) back, holding the change
     * before the DEL if undo_old has it. */
    [ST_UNDO_REVIVE] = "INSERT INTO tasks(id, text, done, pri, due, created, updated, tags, ver,"
                       " u_kind, u_b, u_text, u_done, u_pri, u_due, u_created, u_updated, u_tags,"
                       " u_ver, list) SELECT d.task_id, d.text, d.done, d.pri, d.due, d.created,"
                       " d.updated, d.tags, d.ver, o.kind, o.b, o.text, o.done, o.pri, o.due,"
                       " o.created, o.updated, o.tags, o.ver, d.list FROM undo_old d"
                       " LEFT JOIN undo_old o"
                       " ON o.list = d.list AND o.seq = d.ver AND o.task_id = d.task_id"
                       " WHERE d.list = " LIST_P " AND d.seq = ?2 AND d.task_id = ?1",
    [ST_UNDO_FORGET] = "DELETE FROM undo_old WHERE list = " LIST_P " AND seq = ?2 AND task_id = ?1",
    [ST_UNDO_TRIM] = "DELETE FROM undo_old WHERE list = " LIST_P " AND seq < ?1",
    /* The newest changes UNDO may take back in each list, oldest first,
     * for the undo stacks at open. */
    [ST_UNDO_LOAD] = "SELECT seq, kind, task_id, list FROM (SELECT seq, kind, task_id, list,"
                     " row_number() OVER (PARTITION BY list ORDER BY seq DESC) AS r FROM"
                     " (SELECT ver AS seq, u_kind AS kind, id AS task_id, list FROM tasks"
                     " WHERE u_kind IS NOT NULL"
                     " UNION ALL SELECT seq, kind, task_id, list FROM undo_old))"
                     " WHERE r <= " UNDO_DEPTH_SQL " ORDER BY list, seq",
    [ST_UNDO_MAX] = ("SELECT max(coalesce((SELECT max(ver) FROM tasks), 0),"
                     " coalesce((SELECT max(seq) FROM undo_old), 0))"),
    /* Users (schema step 4). */
    [ST_USER_ADD] = "INSERT OR IGNORE INTO users(name, hash, admin, locked, created)"
                    " VALUES(?1, ?2, ?3, ?4, ?5)",
    [ST_USER_UPDATE] = "UPDATE users SET hash = ?2, admin = ?3, locked = ?4 WHERE name = ?1",
    [ST_USER_DEL] = "DELETE FROM users WHERE name = ?1",
    [ST_USER_GET] = "SELECT " USER_COLS " FROM users WHERE name = ?1",
    [ST_USERS] = "SELECT " USER_COLS " FROM users ORDER BY name",
    /* A user's list (schema step 5): its ADD counter, and its drop. */
    [ST_LIST_NEXT] = "SELECT next_id FROM lists WHERE name = " LIST_P,
    [ST_LIST_SET_NEXT] = "INSERT INTO lists(name, next_id) VALUES(" LIST_P ", ?1)"
                         " ON CONFLICT(name) DO UPDATE SET next_id = excluded.next_id",
    [ST_LIST_KEYS] = "SELECT id FROM tasks WHERE list = " LIST_P,
    [ST_LIST_DROP_TASKS] = "DELETE FROM tasks WHERE list = " LIST_P,
    [ST_LIST_DROP_TAGS] = "DELETE FROM task_tags WHERE list = " LIST_P,
    [ST_LIST_DROP_UNDO] = "DELETE FROM undo_old WHERE list = " LIST_P,
    [ST_LIST_DROP_NEXT] = "DELETE FROM lists WHERE name = " LIST_P,
    [ST_LIST_DROP_SHARES] = "DELETE FROM shares WHERE list = " LIST_P " OR user = " LIST_P,
    [ST_SHARE_ADD] = "INSERT OR IGNORE INTO shares(list, user) VALUES(?1, ?2)",
    [ST_SHARE_DEL] = "DELETE FROM shares WHERE list = ?1 AND user = ?2",
    [ST_SHARE_GET] = "SELECT 1 FROM shares WHERE list = ?1 AND user = ?2",
    [ST_SHARES] = "SELECT list, user FROM shares WHERE list = ?1 OR user = ?1 ORDER BY list, user",
};
/* NOLINTEND(bugprone-suspicious-missing-comma) */

/* LIST statements differ by status filter, number of tag filters and
 * whether a word is given; each variant is prepared the first time it is
 * used and kept. */
#define LIST_VARIANTS (3 * (PROTO_MAX_TAGS + 1) * 2)

/* See store_cursor_open: one or two LIST statements, merged. */
struct store_cursor {
    int kind; /* STORE_KIND_SQLITE (store-engine.h): first */
    struct store *s;
    sqlite3_stmt *st[2];
    /* With tags, SQLite sorts the rows: they are counted by count(*) over
     * the same query, which does not sort (prepared for this cursor). */
    sqlite3_stmt *count;
    long long most; /* with tags: the first tag's tasks, as many as the list can have */
    int n;          /* statements in use */
    int has[2];     /* st[i] is on a row not handed out yet */
    int end[2];     /* st[i] has no rows left */
    int owned;      /* st[0] was made for this cursor (a custom list): finalize it */
    size_t strip;   /* bytes of "LIST/" before each key's id (store_scope) */
};

struct store {
    int kind; /* STORE_KIND_SQLITE (store-engine.h): first */
    sqlite3 *db;
    struct store_engine *e;
    int role;            /* ROLE_* (store-sqlite.h) */
    int reading;         /* a read transaction of ours is open (store_read_end ends it) */
    int pass_got;        /* store_get ran since store_read_end (see store_get) */
    uint64_t read_stamp; /* e->commits loaded just before it began */
    int sp_open;         /* the writer: sqlite_cmd_begin() opened a savepoint */
    /* The writer: the undo stack's journal mark at the savepoint and at
     * the command's start (store_cmd_begin), for a rollback to either. */
    size_t undo_sp_mark, undo_cmd_mark;
    int counted; /* in e->conns */
    int opened;  /* sqlite_conn_open() succeeded */
    /* ADD's ids [id_next, id_end) are reserved: meta.next_id is id_end
     * (committed or in the open transaction). Valid while ids_known. */
    int ids_known;
    int64_t id_next, id_end;
    /* The reservation as it was when the transaction began and when the
     * savepoint was opened: a rollback to either puts it back as it was,
     * with meta.next_id, so that a refused command or a failed batch does
     * not cost the rest of the block (ids stay consecutive). */
    struct id_mark {
        int known;
        int64_t next, end;
    } tx_mark, sp_mark;
    sqlite3_stmt *st[ST__COUNT];
    sqlite3_stmt *list[LIST_VARIANTS];
    struct store_cursor cur; /* the store's one cursor, while cur_open */
    sqlite3_stmt *tag_tasks; /* the tasks that carry a tag, counted (prepared when needed) */
    int cur_open;
    /* The list the task calls work in (store_scope), NUL-terminated. */
    char scope[STORE_MAX_LIST + 1];
    size_t scope_len;
    char err[256];
};

static int failf(struct store *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void conn_close(struct store *s);
static int set_cache(struct store *s, int kib);
static int undo_load(struct store *s);

/* Records "what: sqlite's message" as the store's last error, with
 * SQLite's extended code when it says more than the message (which of the
 * many "disk I/O error"s it was: 522 is a short read, 778 a failed write). */
static int failf(struct store *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(s->err, sizeof(s->err), fmt, ap);
    va_end(ap);
    int code = sqlite3_extended_errcode(s->db);
    if (n >= 0 && (size_t)n < sizeof(s->err)) {
        if (code != (code & 0xff))
            snprintf(s->err + n, sizeof(s->err) - (size_t)n, ": %s (SQLite code %d)",
                     sqlite3_errmsg(s->db), code);
        else
            snprintf(s->err + n, sizeof(s->err) - (size_t)n, ": %s", sqlite3_errmsg(s->db));
    }
    return STORE_ERROR;
}

const char *sqlite_errmsg(struct store *s)
{
    return s->err;
}

static int bind_str(sqlite3_stmt *st, int i, struct proto_str v)
{
    /* An empty string must still bind as '' (not NULL). */
    return sqlite3_bind_text(st, i, v.len ? v.ptr : "", (int)v.len, SQLITE_STATIC);
}

/* ---- lists (store_scope; schema step 5) ---- */

/* A task's key: its id in the default list, "LIST/ID" in a named one. */
static struct proto_str key_of(const struct store *s, struct proto_str id, struct store_key *k)
{
    return store_key_of(s->scope, s->scope_len, id, k);
}

/* How many bytes of a key of s's list come before the id. */
static size_t key_strip(const struct store *s)
{
    return s->scope_len ? s->scope_len + 1 : 0;
}

static void bind_list(struct store *s, sqlite3_stmt *st)
{
    sqlite3_bind_text(st, LIST_PARAM, s->scope, (int)s->scope_len, SQLITE_STATIC);
}

/* The writer's undo stack of s's list, made on first use (NULL: no
 * memory, which store_cmd_begin finds out before a write is made). */
static struct undo_stack *undo_of(struct store *s)
{
    return undo_shelf_use(&s->e->undo, (struct proto_str){s->scope, s->scope_len});
}

void sqlite_scope(struct store *s, struct proto_str list)
{
    s->scope_len = store_scope_copy(s->scope, list);
}

/* Steps a statement that returns no rows, then resets it. */
static int exec_stmt(struct store *s, enum stmt_id id, const char *what)
{
    sqlite3_stmt *st = s->st[id];
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return failf(s, "%s", what);
    return STORE_OK;
}

/* Runs SQL text that returns no rows (used only while opening). */
static int exec_sql(struct store *s, const char *sql, char *err, size_t errcap)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errcap, "%s", msg ? msg : sqlite3_errmsg(s->db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

/* Reads a one-value pragma as text into out. */
static int pragma_text(struct store *s, const char *sql, char *out, size_t cap)
{
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        goto out;
    if (sqlite3_step(st) != SQLITE_ROW)
        goto out;
    const unsigned char *v = sqlite3_column_text(st, 0);
    snprintf(out, cap, "%s", v ? (const char *)v : "");
    rc = 0;
out:
    sqlite3_finalize(st);
    return rc;
}

/* todo_words(text, words): LIST's word filter, as libproto defines it
 * (proto_text_has_words), so that the server and the protocol's document
 * cannot disagree on what a word is. */
static void sql_words(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const char *t = (const char *)sqlite3_value_text(argv[0]);
    size_t tl = t ? (size_t)sqlite3_value_bytes(argv[0]) : 0;
    const char *w = (const char *)sqlite3_value_text(argv[1]);
    size_t wl = w ? (size_t)sqlite3_value_bytes(argv[1]) : 0;
    sqlite3_result_int(ctx, proto_text_has_words(t ? t : "", tl, w ? w : "", wl));
}

/*
 * Brings the schema to SCHEMA_VERSION. The version is read again inside
 * the write transaction because another process may have upgraded the
 * file in between; the steps and the new user_version commit together, so
 * a failed upgrade leaves the old database untouched.
 */
static int migrate(struct store *s, const char *path, char *err, size_t errcap)
{
    char v[32], msg[256];
    int from;

    if (pragma_text(s, "PRAGMA user_version", v, sizeof(v)) != 0) {
        snprintf(err, errcap, "cannot read database %s: %s", path, sqlite3_errmsg(s->db));
        return -1;
    }
    from = atoi(v);
    if (from > SCHEMA_VERSION)
        goto too_new;
    if (from == SCHEMA_VERSION)
        return 0;
    if (exec_sql(s, "BEGIN IMMEDIATE", msg, sizeof(msg)) != 0) {
        snprintf(err, errcap, "cannot upgrade database %s: %s", path, msg);
        return -1;
    }
    if (pragma_text(s, "PRAGMA user_version", v, sizeof(v)) != 0) {
        snprintf(err, errcap, "cannot read database %s: %s", path, sqlite3_errmsg(s->db));
        goto fail;
    }
    from = atoi(v);
    if (from > SCHEMA_VERSION) {
        exec_sql(s, "ROLLBACK", msg, sizeof(msg));
        goto too_new;
    }
    for (int i = from; i < SCHEMA_VERSION; i++) {
        if (exec_sql(s, migrations[i], msg, sizeof(msg)) != 0) {
            snprintf(err, errcap, "cannot upgrade database %s to schema version %d: %s", path,
                     i + 1, msg);
            goto fail;
        }
    }
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", SCHEMA_VERSION);
    if (exec_sql(s, sql, msg, sizeof(msg)) != 0 || exec_sql(s, "COMMIT", msg, sizeof(msg)) != 0) {
        snprintf(err, errcap, "cannot upgrade database %s: %s", path, msg);
        goto fail;
    }
    if (from == 0)
        log_info("database %s: created with schema version %d", path, SCHEMA_VERSION);
    else
        log_info("database %s: schema upgraded from version %d to %d", path, from, SCHEMA_VERSION);
    return 0;
fail:
    exec_sql(s, "ROLLBACK", msg, sizeof(msg));
    return -1;
too_new:
    snprintf(err, errcap,
             "database %s has schema version %d, but this todo-server knows versions up to %d; "
             "run a newer todo-server, or pick another --db",
             path, from, SCHEMA_VERSION);
    return -1;
}

/* The WAL's size in frames after each of the writer's commits. */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
    struct store_engine *e = arg;
    (void)db;
    (void)name;
    atomic_store(&e->wal_frames, frames);
    return SQLITE_OK;
}

/* SQLite's memory statistics take a global mutex on every allocation, and
 * nothing here reads them; this must run before SQLite's first use, as
 * must the allocator that keeps small blocks per thread (sqlite-mem.h).
 * The WAL-gathering VFS (wal-gather.h) halves a commit's system calls. */
static void sqlite_setup(void)
{
    if (sqlite_mem_install() != 0)
        log_debug("SQLite keeps its own memory allocator");
    if (sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) != SQLITE_OK)
        log_debug("SQLite was initialized already; its memory statistics stay on");
    int rc = wal_gather_register();
    if (rc != SQLITE_OK)
        log_warn("WAL writes are not gathered: %s", sqlite3_errstr(rc));
}

/* A connection of e. The writer is opened first (store_engine_open) and
 * creates or upgrades the schema; the others find it done. */
int sqlite_conn_open(struct store_engine *e, int role, struct store **out, char *err, size_t errcap)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    char msg[256], mode[32];
    int mem = e->mem, writer = role == ROLE_WRITER;

    *out = NULL;
    struct store *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(err, errcap, "out of memory");
        return STORE_ERROR;
    }
    s->kind = STORE_KIND_SQLITE;
    s->e = e;
    s->role = role;
    if (mem)
        flags |= SQLITE_OPEN_URI;
    int rc = sqlite3_open_v2(e->uri, &s->db, flags, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errcap, "cannot open database %s: %s", e->path,
                 s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        goto fail;
    }
    /* The first connection finds out at once whether another process has
     * the database (see the fail label); the others of this process share
     * its lock and wait for each other's transactions as usual. */
    sqlite3_busy_timeout(s->db, writer ? 0 : BUSY_TIMEOUT_MS);
    if (!mem) {
        /* 1 KiB pages for a new database (an existing one keeps its own):
         * the WAL stores whole pages, so an EDIT of one task appends a
         * quarter of what 4 KiB pages cost. It must precede journal_mode,
         * which creates the file. */
        if (exec_sql(s, "PRAGMA page_size=1024", msg, sizeof(msg)) != 0) {
            snprintf(err, errcap, "cannot set up database %s: %s", e->path, msg);
            goto fail;
        }
        /* WAL: readers never block the writer and a commit is one append;
         * the mode is stored in the file, so this is needed once. */
        if (pragma_text(s, "PRAGMA journal_mode=WAL", mode, sizeof(mode)) != 0) {
            snprintf(err, errcap, "cannot open database %s: %s", e->path, sqlite3_errmsg(s->db));
            goto fail;
        }
        if (strcmp(mode, "wal") != 0) {
            snprintf(err, errcap, "database %s cannot use WAL mode (journal mode is %s)", e->path,
                     mode);
            goto fail;
        }
    }
    /* NORMAL in WAL mode: a commit is written to the WAL (the OS has it, so
     * it survives the process dying) and fsync'd at checkpoints. FULL also
     * fsyncs the WAL at every commit, so it survives power loss. */
    if (exec_sql(s, e->durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL", msg,
                 sizeof(msg)) != 0) {
        snprintf(err, errcap, "cannot set up database %s: %s", e->path, msg);
        goto fail;
    }
    if (migrate(s, e->path, err, errcap) != 0)
        goto fail;
    sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
    if (sqlite3_create_function_v2(s->db, "todo_words", 2,
                                   SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
                                   sql_words, NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errcap, "cannot set up database %s: %s", e->path, sqlite3_errmsg(s->db));
        goto fail;
    }
    if (writer && !mem) {
        /* Checkpoints are run by the engine's thread (store-sqlite-ckpt.c),
         * not inside whichever commit crosses SQLite's mark while every other
         * writer waits for it. */
        if (exec_sql(s, "PRAGMA wal_autocheckpoint=0", msg, sizeof(msg)) != 0) {
            snprintf(err, errcap, "cannot set up database %s: %s", e->path, msg);
            goto fail;
        }
        sqlite3_wal_hook(s->db, wal_hook, e);
    }
    for (int i = 0; i < ST__COUNT; i++) {
        if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i],
                               NULL) != SQLITE_OK) {
            snprintf(err, errcap, "cannot prepare a statement on %s: %s", e->path,
                     sqlite3_errmsg(s->db));
            goto fail;
        }
    }
    if (role == ROLE_STREAM && set_cache(s, STREAM_CACHE_KIB) != STORE_OK)
        log_debug("%s", s->err);
    if (role == ROLE_READ || role == ROLE_STREAM) {
        s->counted = 1;
        atomic_fetch_add(&e->conns, 1);
    }
    s->opened = 1;
    *out = s;
    return STORE_OK;
fail:
    /* The VFS (wal-gather.h) keeps the database to this process while it
     * is open, so a lock held elsewhere means another process has it. */
    if (s->db != NULL && sqlite3_errcode(s->db) == SQLITE_BUSY)
        snprintf(err, errcap,
                 "database %s is in use by another process (another todo-server?); "
                 "the server needs it to itself",
                 e->path);
    conn_close(s);
    return STORE_ERROR;
}

/* On a clean close, ids reserved but not handed out go back to the
 * counter, so that a restart goes on from the next id; after a crash they
 * are skipped (never reused). */
static void give_back_ids(struct store *s)
{
    if (!s->ids_known || s->id_next >= s->id_end || !sqlite3_get_autocommit(s->db))
        return;
    sqlite3_stmt *st = s->st[ST_GIVE_BACK_IDS];
    sqlite3_bind_int64(st, 1, s->id_next);
    sqlite3_bind_int64(st, 2, s->id_end);
    if (exec_stmt(s, ST_GIVE_BACK_IDS, "cannot give back unused ids") != STORE_OK)
        log_debug("%s", s->err);
    s->ids_known = 0;
}

/*
 * The writer is the last connection the server closes. Its close folds the
 * WAL into the database and truncates it (TRUNCATE waits for nobody: every
 * other connection is closed by then), so that a stopped server leaves
 * one self-contained file behind. SQLite's own checkpoint at the last close
 * would do the same, but silently gives up when the database cannot grow
 * (a full disk): the -wal file then stays, and on a disk still full the
 * sqlite3 shell cannot even open the database ("disk I/O error", as it
 * has to create the index of that WAL). The WAL is intact and the next
 * todo-server to open the database folds it in; the warning says so.
 */
static void fold_wal(struct store *s)
{
    int log = 0, done = 0;
    int rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log, &done);
    if (rc == SQLITE_OK && log <= 0)
        return;
    if (rc == SQLITE_OK) /* frames left behind: a reader was still open */
        snprintf(s->err, sizeof(s->err), "the write-ahead log was still in use at stop");
    else
        failf(s, "cannot fold the write-ahead log into the database at stop");
    log_warn("%s; the -wal file beside the database is kept and holds the latest writes: free "
             "space on its disk, then start todo-server on it again (or run sqlite3 on it), "
             "which folds it in",
             s->err);
}

/* Closes any connection of the engine's, the writer too. */
static void conn_close(struct store *s)
{
    if (s == NULL)
        return;
    if (s->cur_open)
        sqlite_cursor_close(&s->cur);
    sqlite_read_end(s);
    if (s->st[ST_GIVE_BACK_IDS] != NULL)
        give_back_ids(s);
    if (s->role == ROLE_WRITER && s->opened && !s->e->mem && sqlite3_get_autocommit(s->db))
        fold_wal(s);
    if (s->counted)
        atomic_fetch_sub(&s->e->conns, 1);
    for (int i = 0; i < ST__COUNT; i++)
        sqlite3_finalize(s->st[i]);
    for (int i = 0; i < LIST_VARIANTS; i++)
        sqlite3_finalize(s->list[i]);
    sqlite3_finalize(s->tag_tasks);
    if (s->db != NULL && sqlite3_close(s->db) != SQLITE_OK)
        log_warn("closing the database: %s", sqlite3_errmsg(s->db));
    free(s);
}

void sqlite_close(struct store *s)
{
    if (s != NULL && s->role == ROLE_WRITER) {
        log_error("sqlite_close() of the writer; sqlite_engine_close() closes it");
        return;
    }
    conn_close(s);
}

/* Sets the page cache of s to kib KiB (SQLite's default is 2 MiB). */
static int set_cache(struct store *s, int kib)
{
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA cache_size=-%d", kib);
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return failf(s, "cannot set the page cache");
    return STORE_OK;
}

/* ---- the engine ---- */

static void engine_free(struct store_engine *e)
{
    undo_shelf_free(&e->undo);
    pthread_mutex_destroy(&e->write_lock);
    pthread_mutex_destroy(&e->ckpt.lock);
    pthread_cond_destroy(&e->ckpt.cond);
    pthread_cond_destroy(&e->ckpt.idle);
    free(e->path);
    free(e);
}

int sqlite_engine_open(struct store_engine **out, const struct store_options *o, char *err,
                       size_t errcap)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    static atomic_uint engines; /* in this process: each ":memory:" its own */
    pthread_once(&once, sqlite_setup);

    *out = NULL;
    struct store_engine *e = calloc(1, sizeof(*e));
    if (e == NULL || (e->path = strdup(o->path)) == NULL) {
        free(e);
        snprintf(err, errcap, "out of memory");
        return STORE_ERROR;
    }
    e->kind = STORE_KIND_SQLITE;
    pthread_mutex_init(&e->write_lock, NULL);
    pthread_mutex_init(&e->ckpt.lock, NULL);
    pthread_cond_init(&e->ckpt.cond, NULL);
    pthread_cond_init(&e->ckpt.idle, NULL);
    e->durable = o->durable != 0;
    e->mem = strcmp(o->path, ":memory:") == 0;
    e->uri = e->path;
    /* A plain ":memory:" would give every connection a database of its
     * own. The memdb VFS shares one in-memory database among the
     * connections of this process that name it (names starting with '/');
     * it disappears when the last of them (the writer) closes. */
    if (e->mem) {
        snprintf(e->memname, sizeof(e->memname), "file:/todo-server-%ld-%u?vfs=memdb",
                 (long)getpid(), atomic_fetch_add(&engines, 1));
        e->uri = e->memname;
        snprintf(e->describe, sizeof(e->describe), "in memory, kept nothing");
    } else {
        snprintf(e->describe, sizeof(e->describe), "WAL, synchronous=%s",
                 e->durable ? "FULL" : "NORMAL");
    }
    /* The writer first: it creates or upgrades the schema before any
     * other connection opens, finds out whether another process has the
     * database, and holds an in-memory database open. */
    if (sqlite_conn_open(e, ROLE_WRITER, &e->writer, err, errcap) != STORE_OK)
        goto fail;
    if (undo_load(e->writer) != STORE_OK) {
        snprintf(err, errcap, "database %s: %s", e->path, e->writer->err);
        goto fail;
    }
    /* (An in-memory database has no WAL, and its checkpoint thread is
     * never asked for anything; it runs all the same, so that every
     * server has the same threads.) */
    if (ckpt_start(e, err, errcap) != 0)
        goto fail;
    *out = e;
    return STORE_OK;
fail:
    conn_close(e->writer);
    engine_free(e);
    return STORE_ERROR;
}

void sqlite_engine_close(struct store_engine *e)
{
    if (e == NULL)
        return;
    ckpt_stop(e);
    int open = atomic_load(&e->conns);
    if (open != 0)
        log_warn("closing the store with %d connections still open; the write-ahead log "
                 "may not be folded in",
                 open);
    conn_close(e->writer);
    engine_free(e);
}

const char *sqlite_engine_describe(const struct store_engine *e)
{
    return e->describe;
}

int sqlite_engine_streams(const struct store_engine *e)
{
    return !e->mem;
}

int sqlite_connect(struct store_engine *e, enum store_role role, struct store **out, char *err,
                   size_t errcap)
{
    return sqlite_conn_open(e, role == STORE_ROLE_STREAM ? ROLE_STREAM : ROLE_READ, out, err,
                            errcap);
}

#ifdef TODO_FAULT_INJECTION
/* Whether the engine's fault f is on: its call then fails with a sentence
 * that says so, in s's error. */
static int fault(struct store *s, enum store_fault f, const char *what)
{
    if (atomic_load_explicit(&s->e->fault, memory_order_relaxed) != (int)f)
        return 0;
    snprintf(s->err, sizeof(s->err), "%s: injected fault", what);
    return 1;
}
#else
#define fault(s, f, what) 0
#endif

#ifdef TODO_FAULT_INJECTION
void sqlite_fault_set(struct store_engine *e, enum store_fault f)
{
    atomic_store(&e->fault, (int)f);
    /* The VFS is the process's. */
    wal_gather_fault(f == STORE_FAULT_COMMIT_FULL    ? SQLITE_FULL
                     : f == STORE_FAULT_COMMIT_IOERR ? SQLITE_IOERR_WRITE
                                                     : SQLITE_OK,
                     f == STORE_FAULT_READ_IOERR ? SQLITE_IOERR_READ : SQLITE_OK);
}
#endif

/* Opens a read transaction unless one (or a write transaction) is open:
 * the reads that follow share one snapshot and one set of SQLite's file
 * locks, instead of taking and dropping them for each statement. The
 * stamp is loaded before the snapshot is taken (at the first step). */
static void read_open(struct store *s)
{
    if (s->reading || !sqlite3_get_autocommit(s->db))
        return;
    s->read_stamp = atomic_load(&s->e->commits);
    if (exec_stmt(s, ST_BEGIN_READ, "cannot begin reading") == STORE_OK)
        s->reading = 1;
}

void sqlite_read_end(struct store *s)
{
    s->pass_got = 0;
    if (!s->reading)
        return;
    s->reading = 0;
    if (!sqlite3_get_autocommit(s->db) &&
        exec_stmt(s, ST_COMMIT, "cannot end a read transaction") != STORE_OK) {
        log_warn("%s", s->err);
        if (exec_stmt(s, ST_ROLLBACK, "cannot roll back a read transaction") != STORE_OK)
            log_warn("%s", s->err);
    }
}

/* FNV-1a: which of the change counter's slots id has. */
static size_t change_slot(struct proto_str id)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < id.len; i++)
        h = (h ^ (unsigned char)id.ptr[i]) * 16777619u;
    return h & (CHANGE_SLOTS - 1);
}

uint64_t sqlite_read_stamp(struct store *s)
{
    /* Before a pass's first GET no snapshot is opened: that GET runs on
     * its own (store_get), and its snapshot, taken at its first step,
     * comes after this load, so it holds every commit up to the stamp. */
    if (!s->reading && !s->pass_got && sqlite3_get_autocommit(s->db))
        return atomic_load(&s->e->commits);
    read_open(s);
    /* In a write transaction (the writer) there is no snapshot to stamp:
     * what it reads there may yet be rolled back, and no cache may keep
     * it whatever the stamp. */
    return s->reading ? s->read_stamp : atomic_load(&s->e->commits);
}

int sqlite_unchanged(struct store *s, struct proto_str id, uint64_t stamp)
{
    struct store_key k;
    return atomic_load(&s->e->slot[change_slot(key_of(s, id, &k))]) <= stamp;
}

uint32_t sqlite_change_key(struct store *s, struct proto_str id)
{
    struct store_key k;
    return (uint32_t)change_slot(key_of(s, id, &k));
}

int sqlite_unchanged_key(struct store *s, uint32_t key, uint64_t stamp)
{
    return atomic_load(&s->e->slot[key & (CHANGE_SLOTS - 1)]) <= stamp;
}

/* The writer is writing task id in the open transaction: its slot is set
 * at the commit. Any other store writes nothing (nor may). */
static void touch(struct store *s, struct proto_str id)
{
    struct store_engine *e = s->e;
    if (s->role != ROLE_WRITER)
        return;
    size_t i = change_slot(id);
    if (e->touched_bit[i / 8] & (1u << (i % 8)))
        return;
    e->touched_bit[i / 8] |= (unsigned char)(1u << (i % 8));
    e->touched[e->ntouched++] = (uint32_t)i;
}

/* After a COMMIT: the commit's number to every slot it wrote, then to the
 * counter (store.h says why in that order). Under the write turn. */
static void touched_publish(struct store_engine *e)
{
    uint64_t n = atomic_load(&e->commits) + 1;
    for (size_t k = 0; k < e->ntouched; k++)
        atomic_store(&e->slot[e->touched[k]], n);
    atomic_store(&e->commits, n);
}

/* After a commit or a rollback: nothing is touched yet. */
static void touched_clear(struct store_engine *e)
{
    for (size_t k = 0; k < e->ntouched; k++)
        e->touched_bit[e->touched[k] / 8] = 0;
    e->ntouched = 0;
}

long sqlite_wal_frames(struct store_engine *e)
{
    return atomic_load(&e->wal_frames);
}

int sqlite_checkpoint(struct store *s)
{
    int log = 0, done = 0;
    sqlite_read_end(s);
    int rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY && rc != SQLITE_INTERRUPT)
        return failf(s, "cannot checkpoint");
    return STORE_OK;
}

void sqlite_interrupt(struct store *s)
{
    sqlite3_interrupt(s->db);
}

static struct id_mark id_mark_take(const struct store *s)
{
    return (struct id_mark){s->ids_known, s->id_next, s->id_end};
}

static void id_mark_restore(struct store *s, const struct id_mark *m)
{
    s->ids_known = m->known;
    s->id_next = m->next;
    s->id_end = m->end;
}

static int store_begin(struct store *s)
{
    sqlite_read_end(s);
    s->tx_mark = id_mark_take(s);
    if (s->role == ROLE_WRITER)
        undo_shelf_commit(&s->e->undo); /* nothing of an earlier one is pending */
    return exec_stmt(s, ST_BEGIN, "cannot begin a transaction");
}

/* The rollback undoes every reservation made in the transaction (and
 * SQLite may have rolled it back already, after a full disk): the ids
 * reserved when it began are the ones still reserved. */
static int store_rollback(struct store *s)
{
    id_mark_restore(s, &s->tx_mark);
    if (s->role == ROLE_WRITER)
        undo_shelf_rollback(&s->e->undo);
    if (sqlite3_get_autocommit(s->db))
        return STORE_OK;
    return exec_stmt(s, ST_ROLLBACK, "cannot roll back");
}

static int store_savepoint(struct store *s)
{
    s->sp_mark = id_mark_take(s);
    struct undo_stack *u = undo_of(s); /* made by store_cmd_begin */
    s->undo_sp_mark = u ? undo_stack_mark(u) : 0;
    return exec_stmt(s, ST_SAVEPOINT, "cannot open a savepoint");
}

static int store_release(struct store *s)
{
    return exec_stmt(s, ST_RELEASE, "cannot release a savepoint");
}

/* ROLLBACK TO leaves the savepoint open; RELEASE closes it. */
static int store_rollback_to(struct store *s)
{
    int rc = exec_stmt(s, ST_ROLLBACK_TO, "cannot roll back to a savepoint");
    if (rc == STORE_OK) {
        /* meta.next_id is back where it was at the savepoint, and so is
         * the block in memory. Had the ROLLBACK TO failed, the caller
         * rolls the whole batch back, which restores tx_mark. */
        id_mark_restore(s, &s->sp_mark);
        struct undo_stack *u = undo_of(s);
        if (u != NULL)
            undo_stack_rollback(u, s->undo_sp_mark);
        rc = exec_stmt(s, ST_RELEASE, "cannot release a savepoint");
    }
    return rc;
}

/* ---- the write batch: the engine's transaction and savepoint policy ---- */

int sqlite_write_begin(struct store_engine *e, struct store **w, char *err, size_t errcap)
{
    pthread_mutex_lock(&e->write_lock);
    struct store *s = e->writer;
    *w = s;
    s->sp_open = 0;
    sqlite_scope(s, (struct proto_str){"", 0});
    if (fault(s, STORE_FAULT_BEGIN, "cannot begin a write")) {
        snprintf(err, errcap, "%s", s->err);
        pthread_mutex_unlock(&e->write_lock);
        return STORE_ERROR;
    }
    if (store_begin(s) != STORE_OK) {
        snprintf(err, errcap, "%s", s->err);
        /* A BEGIN that failed may still have left one open. */
        if (store_rollback(s) != STORE_OK)
            log_debug("%s", s->err);
        pthread_mutex_unlock(&e->write_lock);
        return STORE_ERROR;
    }
    return STORE_OK;
}

/* Whether a write may change more than one row: those run in a savepoint.
 * A write made of one statement needs none: SQLite undoes a failed
 * statement by itself, and the savepoint's two statements cost about a
 * tenth of such a write. ADD's occasional second change (moving the id
 * counter past a block of ids) may stay even if its INSERT fails: the
 * counter is then past a block that the next ADD starts handing out.
 * A write's entry in the undo stack is taken back by store_cmd_end when
 * the command failed, savepoint or not. */
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

int sqlite_cmd_begin(struct store *w, const struct proto_request *req)
{
    w->sp_open = 0;
    /* A write pushes or pops one entry: room for it now, so that it cannot
     * fail for memory once the write is made. */
    if (fault(w, STORE_FAULT_UNDO, "out of memory for the undo history"))
        return STORE_ERROR;
    struct undo_stack *u = undo_of(w);
    if (u == NULL || undo_stack_reserve(u, 2) != 0)
        return failf(w, "out of memory for the undo history");
    w->undo_cmd_mark = undo_stack_mark(u);
    /* A user's ADD also writes its list's id counter (list_set_next). */
    if (!needs_savepoint(req) && !(w->scope_len > 0 && req->cmd == PROTO_CMD_ADD))
        return STORE_OK;
    if (fault(w, STORE_FAULT_SAVEPOINT, "cannot open a savepoint"))
        return STORE_ERROR;
    int rc = store_savepoint(w);
    if (rc == STORE_OK)
        w->sp_open = 1;
    return rc;
}

int sqlite_cmd_end(struct store *w, int failed)
{
    if (fault(w, STORE_FAULT_TX_LOST, "the transaction ended after an error")) {
        if (store_rollback(w) != STORE_OK)
            log_debug("%s", w->err);
        w->sp_open = 0;
        return STORE_OK; /* as SQLite's own: the next statement finds out */
    }
    struct undo_stack *u = undo_of(w);
    if (failed && u != NULL)
        undo_stack_rollback(u, w->undo_cmd_mark);
    if (!w->sp_open)
        return STORE_OK;
    w->sp_open = 0;
    if (fault(w, STORE_FAULT_RELEASE, "cannot close a savepoint"))
        return STORE_ERROR;
    return failed ? store_rollback_to(w) : store_release(w);
}

int sqlite_write_ok(struct store *w)
{
    return !sqlite3_get_autocommit(w->db);
}

int sqlite_write_end(struct store_engine *e, int commit, char *err, size_t errcap)
{
    struct store *s = e->writer;
    int rc = STORE_OK;
    if (commit) {
        if (sqlite3_get_autocommit(s->db)) {
            /* SQLite ended it after an error (a full disk, an I/O error):
             * what the batch wrote before that is gone. */
            snprintf(s->err, sizeof(s->err),
                     "cannot commit: the transaction was rolled back after an earlier error");
            rc = STORE_ERROR;
        } else {
            rc = exec_stmt(s, ST_COMMIT, "cannot commit");
        }
        if (rc == STORE_OK) {
            touched_publish(e);
            undo_shelf_commit(&e->undo);
        } else if (err != NULL)
            snprintf(err, errcap, "%s", s->err);
    }
    if (!commit || rc != STORE_OK) {
        if (store_rollback(s) != STORE_OK)
            log_debug("rollback: %s", s->err);
    }
    touched_clear(e);
    s->sp_open = 0;
    pthread_mutex_unlock(&e->write_lock);
    return rc;
}

static struct proto_str col_str(sqlite3_stmt *st, int i)
{
    struct proto_str v;
    v.ptr = (const char *)sqlite3_column_text(st, i);
    v.len = v.ptr ? (size_t)sqlite3_column_bytes(st, i) : 0;
    if (v.ptr == NULL)
        v.ptr = "";
    return v;
}

/* Hands the current row (TASK_COLS) to fn, its id without the first
 * strip bytes of its key (key_strip). */
static int emit_task(sqlite3_stmt *st, size_t strip, store_task_fn fn, void *arg)
{
    struct proto_task t;
    memset(&t, 0, sizeof(t));
    t.id = col_str(st, 0);
    if (t.id.len > strip) {
        t.id.ptr += strip;
        t.id.len -= strip;
    }
    t.text = col_str(st, 1);
    t.done = sqlite3_column_int(st, 2) != 0;
    t.pri = sqlite3_column_int(st, 3);
    if (t.pri < PROTO_PRI_NONE || t.pri > PROTO_PRI_HIGH)
        t.pri = PROTO_PRI_NONE;
    struct proto_str due = col_str(st, 4);
    if (due.len == PROTO_DATE_LEN)
        memcpy(t.due, due.ptr, PROTO_DATE_LEN);
    t.due[due.len == PROTO_DATE_LEN ? PROTO_DATE_LEN : 0] = '\0';
    t.created = sqlite3_column_int64(st, 5);
    t.updated = sqlite3_column_int64(st, 6);
    t.tags = col_str(st, 7);
    return fn(arg, &t);
}

/* Steps a query, handing each task row to fn. Resets the statement. */
static int each_task(struct store *s, sqlite3_stmt *st, store_task_fn fn, void *arg, int *found)
{
    int rc, n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        n++;
        int stop = emit_task(st, key_strip(s), fn, arg);
        if (stop) {
            sqlite3_reset(st);
            return STORE_STOPPED;
        }
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return failf(s, "cannot read tasks");
    if (found)
        *found = n;
    return STORE_OK;
}

static int changed(struct store *s)
{
    return sqlite3_changes(s->db) > 0;
}

static int tag_change(struct store *s, enum stmt_id which, struct proto_str id,
                      struct proto_str tag)
{
    sqlite3_stmt *st = s->st[which];
    bind_str(st, 1, id);
    bind_str(st, 2, tag);
    if (which == ST_ADD_TAG)
        bind_list(s, st);
    return exec_stmt(s, which, "cannot change a task's tags");
}

/* Copies the task's tags from task_tags into its row (schema step 2),
 * after every change to them. */
static int set_tags(struct store *s, struct proto_str id)
{
    bind_str(s->st[ST_SET_TAGS], 1, id);
    return exec_stmt(s, ST_SET_TAGS, "cannot change a task's tags");
}

/*
 * ADD's id is the next unused number, skipping ids that exist already (the
 * legacy POST may have created "5"). Ids are reserved ID_BLOCK at a time:
 * meta.next_id is moved past the block in the transaction of the ADD that
 * first needs it, and the rest of the block is handed out from memory, so
 * most ADDs do not rewrite the meta page. An id is never handed out twice,
 * even after a DEL or a crash (which skips the rest of the block). A
 * rollback (of a savepoint or of the transaction) puts the reservation in
 * memory back as it was when the savepoint or transaction began, as it
 * does meta.next_id: a refused command gives its id back, and the next
 * ADD gets the next number.
 */
#define ID_BLOCK 1000

/* Reads meta.next_id into the reservation when it is not known. */
static int ids_load(struct store *s)
{
    if (s->ids_known)
        return STORE_OK;
    sqlite3_stmt *st = s->st[ST_NEXT_ID];
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        return failf(s, "cannot read the id counter");
    }
    int64_t m = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (m < 1)
        m = 1;
    s->id_next = s->id_end = m;
    s->ids_known = 1;
    return STORE_OK;
}

/* A user's list counts its ids in its row of lists, read and written in
 * the transaction (no block in memory: a user's ADDs are few beside the
 * whole server's, and the row's page is hot). 1 when it has no row. */
static int list_next(struct store *s, int64_t *next)
{
    sqlite3_stmt *st = s->st[ST_LIST_NEXT];
    bind_list(s, st);
    int rc = sqlite3_step(st);
    *next = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 1;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return failf(s, "cannot read the list's id counter");
    if (*next < 1)
        *next = 1;
    return STORE_OK;
}

static int list_set_next(struct store *s, int64_t next)
{
    sqlite3_stmt *st = s->st[ST_LIST_SET_NEXT];
    bind_list(s, st);
    sqlite3_bind_int64(st, 1, next);
    return exec_stmt(s, ST_LIST_SET_NEXT, "cannot advance the list's id counter");
}

static int add_do(struct store *s, const struct proto_request *req, int64_t now, int64_t seq,
                  char id[PROTO_MAX_ID + 1])
{
    sqlite3_stmt *st;
    int rc;
    int64_t next;
    if (s->scope_len == 0) {
        if ((rc = ids_load(s)) != STORE_OK)
            return rc;
        next = s->id_next;
    } else if ((rc = list_next(s, &next)) != STORE_OK) {
        return rc;
    }
    st = s->st[ST_INSERT];
    bind_list(s, st);
    bind_str(st, 2, req->text);
    sqlite3_bind_int(st, 3, req->pri);
    if (req->due_op == 1)
        sqlite3_bind_text(st, 4, req->due, PROTO_DATE_LEN, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 4);
    sqlite3_bind_int64(st, 5, now);
    sqlite3_bind_int64(st, 6, seq);
    /* INSERT OR IGNORE changes nothing when the id exists (a POST made
     * it): then the next number is tried. One statement in the usual case,
     * instead of a look-up and an insert. */
    struct store_key k;
    struct proto_str ids;
    for (;; next++) {
        if (s->scope_len == 0 && next >= s->id_end) {
            sqlite3_stmt *adv = s->st[ST_SET_NEXT_ID];
            sqlite3_bind_int64(adv, 1, next + ID_BLOCK);
            if ((rc = exec_stmt(s, ST_SET_NEXT_ID, "cannot advance the id counter")) != STORE_OK)
                return rc;
            s->id_end = next + ID_BLOCK;
        }
        snprintf(id, PROTO_MAX_ID + 1, "%lld", (long long)next);
        ids = key_of(s, (struct proto_str){id, strlen(id)}, &k);
        bind_str(st, 1, ids);
        if ((rc = exec_stmt(s, ST_INSERT, "cannot add the task")) != STORE_OK)
            return rc;
        if (changed(s))
            break;
    }
    touch(s, ids);
    for (size_t i = 0; i < req->ntags; i++)
        if ((rc = tag_change(s, ST_ADD_TAG, ids, req->tags[i])) != STORE_OK)
            return rc;
    if (req->ntags > 0 && (rc = set_tags(s, ids)) != STORE_OK)
        return rc;
    if (s->scope_len > 0)
        return list_set_next(s, next + 1);
    s->id_next = next + 1;
    return STORE_OK;
}

/* The number an id is, if ADD could have made it: decimal digits without
 * a leading zero, below 10^18. -1 for any other id. */
static int64_t id_number(struct proto_str id)
{
    if (id.len == 0 || id.len > 18 || id.ptr[0] == '0')
        return -1;
    int64_t n = 0;
    for (size_t i = 0; i < id.len; i++) {
        if (id.ptr[i] < '0' || id.ptr[i] > '9')
            return -1;
        n = n * 10 + (id.ptr[i] - '0');
    }
    return n;
}

/* ADD never hands out n once a task "n" is imported: the counter moves
 * past it (and no block is reserved until the next ADD needs one). */
static int ids_pass(struct store *s, int64_t n)
{
    if (s->scope_len > 0) {
        int64_t next;
        int rc = list_next(s, &next);
        return rc != STORE_OK || n < next ? rc : list_set_next(s, n + 1);
    }
    int rc = ids_load(s);
    if (rc != STORE_OK || n < s->id_next)
        return rc;
    s->id_next = n + 1;
    if (n + 1 > s->id_end) {
        sqlite3_bind_int64(s->st[ST_SET_NEXT_ID], 1, n + 1);
        if ((rc = exec_stmt(s, ST_SET_NEXT_ID, "cannot advance the id counter")) != STORE_OK)
            return rc;
        s->id_end = n + 1;
    }
    return STORE_OK;
}

static int import_do(struct store *s, const struct proto_request *req, struct proto_str key,
                     int64_t now, int64_t seq, int *outcome)
{
    sqlite3_stmt *st = s->st[ST_EXISTS];
    int rc;
    touch(s, key);
    bind_str(st, 1, key);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return failf(s, "cannot look the task up");
    int exists = rc == SQLITE_ROW;
    if (exists && req->import_mode == PROTO_IMPORT_SKIP) {
        *outcome = STORE_IMPORT_SKIPPED;
        return STORE_OK;
    }
    if (exists && req->import_mode != PROTO_IMPORT_REPLACE)
        return STORE_EXISTS;

    enum stmt_id which = exists ? ST_REPLACE : ST_RESTORE;
    st = s->st[which];
    bind_str(st, 1, key);
    bind_str(st, 2, req->text);
    sqlite3_bind_int(st, 3, req->done != 0);
    sqlite3_bind_int(st, 4, req->pri);
    if (req->due_op == 1)
        sqlite3_bind_text(st, 5, req->due, PROTO_DATE_LEN, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 5);
    sqlite3_bind_int64(st, 6, req->created == PROTO_TIME_NOW ? now : req->created);
    sqlite3_bind_int64(st, 7, req->updated == PROTO_TIME_NOW ? now : req->updated);
    sqlite3_bind_int64(st, 8, seq);
    if (which == ST_RESTORE)
        bind_list(s, st);
    if ((rc = exec_stmt(s, which, "cannot import the task")) != STORE_OK)
        return rc;
    if (exists) {
        bind_str(s->st[ST_DEL_TAGS], 1, key);
        if ((rc = exec_stmt(s, ST_DEL_TAGS, "cannot replace the task's tags")) != STORE_OK)
            return rc;
    }
    for (size_t i = 0; i < req->ntags; i++)
        if ((rc = tag_change(s, ST_ADD_TAG, key, req->tags[i])) != STORE_OK)
            return rc;
    if ((exists || req->ntags > 0) && (rc = set_tags(s, key)) != STORE_OK)
        return rc;
    int64_t n = id_number(req->id);
    if (n > 0 && (rc = ids_pass(s, n)) != STORE_OK)
        return rc;
    *outcome = exists ? STORE_IMPORT_REPLACED : STORE_IMPORT_ADDED;
    return STORE_OK;
}

/*
 * A pass's first GET runs as a statement of its own (autocommit), not in a
 * read transaction: a pass of one request (a lone client, or one that
 * waits for each reply) then runs one statement instead of BEGIN, the
 * SELECT and COMMIT, which took a fifth of a GET that missed the cache
 * (docs/PERFORMANCE.md, issue 15). The second GET of a pass opens the read
 * transaction as every other read does, so that a run of pipelined GETs
 * shares one snapshot and one set of locks. Its snapshot is no older than
 * the first's, so a connection never reads back in time.
 */
int sqlite_get(struct store *s, struct proto_str id, store_task_fn fn, void *arg)
{
    sqlite3_stmt *st = s->st[ST_GET];
    if (s->pass_got || s->role == ROLE_WRITER)
        read_open(s);
    s->pass_got = 1;
    struct store_key k;
    bind_str(st, 1, key_of(s, id, &k));
    /* Ids are unique: one step finds the task or says there is none, and
     * the statement is reset without the step that would only find the
     * end. */
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        int stop = emit_task(st, key_strip(s), fn, arg);
        sqlite3_reset(st);
        return stop ? STORE_STOPPED : STORE_OK;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return failf(s, "cannot read tasks");
    return STORE_NOTFOUND;
}

/* The statement's changes: 0 rows means no such task. */
static int edit_do(struct store *s, const struct proto_request *req, struct proto_str key,
                   int64_t now, int64_t seq)
{
    sqlite3_stmt *st = s->st[ST_EDIT];
    int rc;
    touch(s, key);

    sqlite3_bind_int(st, 1, req->has_text);
    if (req->has_text)
        bind_str(st, 2, req->text);
    else
        sqlite3_bind_null(st, 2);
    sqlite3_bind_int(st, 3, req->pri);
    sqlite3_bind_int(st, 4, req->due_op);
    if (req->due_op == 1)
        sqlite3_bind_text(st, 5, req->due, PROTO_DATE_LEN, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 5);
    sqlite3_bind_int64(st, 6, now);
    bind_str(st, 7, key);
    sqlite3_bind_int64(st, 8, seq);
    if ((rc = exec_stmt(s, ST_EDIT, "cannot edit the task")) != STORE_OK)
        return rc;
    if (!changed(s))
        return STORE_NOTFOUND;
    for (size_t i = 0; i < req->nuntags; i++)
        if ((rc = tag_change(s, ST_DEL_TAG, key, req->untags[i])) != STORE_OK)
            return rc;
    for (size_t i = 0; i < req->ntags; i++)
        if ((rc = tag_change(s, ST_ADD_TAG, key, req->tags[i])) != STORE_OK)
            return rc;
    if (req->ntags > 0) {
        st = s->st[ST_COUNT_TAGS];
        bind_str(st, 1, key);
        rc = sqlite3_step(st);
        int64_t n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
        sqlite3_reset(st);
        if (rc != SQLITE_ROW)
            return failf(s, "cannot count the task's tags");
        if (n > PROTO_MAX_TAGS)
            return STORE_LIMIT;
    }
    if (req->ntags > 0 || req->nuntags > 0)
        return set_tags(s, key);
    return STORE_OK;
}

static int set_done_do(struct store *s, struct proto_str id, int done, int64_t now, int kind,
                       int64_t seq)
{
    sqlite3_stmt *st = s->st[ST_SET_DONE];
    touch(s, id);
    sqlite3_bind_int(st, 1, done);
    sqlite3_bind_int64(st, 2, now);
    bind_str(st, 3, id);
    sqlite3_bind_int(st, 4, kind);
    sqlite3_bind_int64(st, 5, seq);
    int rc = exec_stmt(s, ST_SET_DONE, "cannot change the task");
    if (rc != STORE_OK)
        return rc;
    return changed(s) ? STORE_OK : STORE_NOTFOUND;
}

static int del_do(struct store *s, struct proto_str id)
{
    sqlite3_stmt *st = s->st[ST_DEL];
    touch(s, id);
    bind_str(st, 1, id);
    int rc = exec_stmt(s, ST_DEL, "cannot delete the task");
    if (rc != STORE_OK)
        return rc;
    if (!changed(s))
        return STORE_NOTFOUND;
    st = s->st[ST_DEL_TAGS];
    bind_str(st, 1, id);
    return exec_stmt(s, ST_DEL_TAGS, "cannot delete the task's tags");
}

/*
 * The undo history (schema step 3). A write gives the task's row the next
 * change number (ver) and, in the same statement, keeps the row as it was
 * in its u_ columns; the engine's undo stack (undo-stack.h) keeps the order
 * of the newest changes. Before a write replaces the change a row holds
 * while that change is still in the stack, undo_keep() moves it to
 * undo_old, so that UNDO can go back further than one change of a task:
 * with writes spread over many tasks that is rare, and the usual write
 * costs no statement more than it did. A DEL keeps the deleted task in
 * undo_old. The stack's entry is pushed before the write; store_cmd_end
 * takes it back if the command fails.
 */

/* The next change number, for a write about to be made. */
static int64_t undo_seq(struct store *s)
{
    return s->e->undo_next++;
}

/* Drops from undo_old what s's list's stack no longer holds, when it is
 * full. */
static int undo_trim(struct store *s)
{
    const struct undo_stack *u = undo_of(s);
    if (u == NULL || u->n < UNDO_STACK_DEPTH)
        return STORE_OK;
    const struct undo_ent *oldest = &u->ring[u->head]; /* full: head is the oldest */
    sqlite3_bind_int64(s->st[ST_UNDO_TRIM], 1, oldest->seq);
    bind_list(s, s->st[ST_UNDO_TRIM]);
    return exec_stmt(s, ST_UNDO_TRIM, "cannot trim the undo history");
}

/* Moves the change task id's row (key) holds to undo_old if UNDO may
 * still take it back. Trims undo_old of changes the stack no longer holds
 * now and then. */
static int undo_keep(struct store *s, struct proto_str id, struct proto_str key)
{
    struct store_engine *e = s->e;
    const struct undo_stack *u = undo_of(s);
    if (u == NULL || undo_stack_find(u, id) == NULL)
        return STORE_OK;
    bind_str(s->st[ST_UNDO_SAVE], 1, key);
    int rc = exec_stmt(s, ST_UNDO_SAVE, "cannot keep the change for UNDO");
    if (rc == STORE_OK && ++e->undo_saves >= 64) {
        e->undo_saves = 0;
        rc = undo_trim(s);
    }
    return rc;
}

static void undo_push(struct store *s, int64_t seq, int64_t kind, struct proto_str id)
{
    /* Room was made by store_cmd_begin. */
    struct undo_stack *u = undo_of(s);
    if (u == NULL || undo_stack_push(u, seq, kind, id) != 0)
        log_error("undo stack: no room for a change (a bug)");
}

/* Loads the undo stack and the change counter from the store (at open). */
static int undo_load(struct store *s)
{
    struct store_engine *e = s->e;
    sqlite3_stmt *st = s->st[ST_UNDO_MAX];
    int rc = sqlite3_step(st);
    e->undo_next = (rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0) + 1;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW)
        return failf(s, "cannot read the undo history");
    /* Each list's newest changes, oldest first: pushed in that order. */
    undo_shelf_free(&e->undo);
    st = s->st[ST_UNDO_LOAD];
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct proto_str id = col_str(st, 2), list = col_str(st, 3);
        int64_t kind = sqlite3_column_int64(st, 1);
        size_t strip = list.len ? list.len + 1 : 0;
        if ((kind & 7) < STORE_UNDO_ADD || (kind & 7) > STORE_UNDO_IMPORT || id.len <= strip ||
            id.len - strip > PROTO_MAX_ID)
            continue;
        id.ptr += strip;
        id.len -= strip;
        struct undo_stack *u = undo_shelf_use(&e->undo, list);
        if (u == NULL || undo_stack_reserve(u, 1) != 0) {
            sqlite3_reset(st);
            return failf(s, "out of memory for the undo history");
        }
        undo_stack_push(u, sqlite3_column_int64(st, 0), kind, id);
    }
    sqlite3_reset(st);
    undo_shelf_commit(&e->undo);
    if (rc != SQLITE_DONE)
        return failf(s, "cannot read the undo history");
    return STORE_OK;
}

int sqlite_add(struct store *s, const struct proto_request *req, int64_t now,
               char id[PROTO_MAX_ID + 1])
{
    int64_t seq = undo_seq(s);
    int rc = add_do(s, req, now, seq, id);
    if (rc == STORE_OK)
        undo_push(s, seq, STORE_UNDO_ADD, (struct proto_str){id, strlen(id)});
    return rc;
}

int sqlite_import(struct store *s, const struct proto_request *req, int64_t now, int64_t *run,
                  int *outcome)
{
    int rc = STORE_OK;
    struct store_key k;
    struct proto_str key = key_of(s, req->id, &k);
    if (req->import_mode == PROTO_IMPORT_REPLACE)
        rc = undo_keep(s, req->id, key);
    if (rc != STORE_OK)
        return rc;
    int64_t seq = undo_seq(s);
    rc = import_do(s, req, key, now, seq, outcome);
    if (rc == STORE_OK && *outcome != STORE_IMPORT_SKIPPED) {
        /* The run's number rides in the kind (tasks.u_kind, undo_old.kind)
         * above its three low bits, so that it survives a restart with no
         * column of its own. */
        int64_t r = seq;
        if (run != NULL) {
            if (*run == 0)
                *run = seq;
            r = *run;
        }
        undo_push(s, seq, (int64_t)STORE_UNDO_IMPORT + (r << 3), req->id);
    }
    return rc;
}

int sqlite_edit(struct store *s, const struct proto_request *req, int64_t now)
{
    struct store_key k;
    struct proto_str key = key_of(s, req->id, &k);
    int rc = undo_keep(s, req->id, key);
    if (rc != STORE_OK)
        return rc;
    int64_t seq = undo_seq(s);
    /* Pushed first: a failure after the row changed (a tag) is taken back
     * with the savepoint, and store_cmd_end takes the entry back. */
    undo_push(s, seq, STORE_UNDO_EDIT, req->id);
    return edit_do(s, req, key, now, seq);
}

int sqlite_set_done(struct store *s, struct proto_str id, int done, int64_t now)
{
    struct store_key k;
    struct proto_str key = key_of(s, id, &k);
    int rc = undo_keep(s, id, key);
    if (rc != STORE_OK)
        return rc;
    int64_t seq = undo_seq(s);
    int kind = done ? STORE_UNDO_DONE : STORE_UNDO_UNDONE;
    rc = set_done_do(s, key, done, now, kind, seq);
    if (rc == STORE_OK)
        undo_push(s, seq, kind, id);
    return rc;
}

int sqlite_del(struct store *s, struct proto_str id)
{
    struct store_key k;
    struct proto_str key = key_of(s, id, &k);
    int rc = undo_keep(s, id, key);
    if (rc != STORE_OK)
        return rc;
    int64_t seq = undo_seq(s);
    sqlite3_stmt *st = s->st[ST_UNDO_SAVE_DEL];
    bind_str(st, 1, key);
    sqlite3_bind_int64(st, 2, seq);
    if ((rc = exec_stmt(s, ST_UNDO_SAVE_DEL, "cannot keep the task for UNDO")) != STORE_OK)
        return rc;
    if (!changed(s))
        return STORE_NOTFOUND;
    undo_push(s, seq, STORE_UNDO_DEL, id);
    return del_do(s, key);
}

/* Gives task id exactly the tags of list, a comma-joined list as the tags
 * column keeps them. */
static int tags_restore(struct store *s, struct proto_str id, struct proto_str list)
{
    int rc;
    bind_str(s->st[ST_DEL_TAGS], 1, id);
    if ((rc = exec_stmt(s, ST_DEL_TAGS, "cannot restore the task's tags")) != STORE_OK)
        return rc;
    size_t i = 0;
    while (i < list.len) {
        size_t j = i;
        while (j < list.len && list.ptr[j] != ',')
            j++;
        if (j > i) {
            struct proto_str tag = {list.ptr + i, j - i};
            if ((rc = tag_change(s, ST_ADD_TAG, id, tag)) != STORE_OK)
                return rc;
        }
        i = j + 1;
    }
    return set_tags(s, id);
}

/* Forgets undo_old's copy of change seq of task id (none is fine). */
static int undo_forget(struct store *s, struct proto_str id, int64_t seq)
{
    sqlite3_stmt *st = s->st[ST_UNDO_FORGET];
    bind_str(st, 1, id);
    sqlite3_bind_int64(st, 2, seq);
    bind_list(s, st);
    return exec_stmt(s, ST_UNDO_FORGET, "cannot update the undo history");
}

/* Undoes DEL seq of id: the task back as it was, unless the id has been
 * taken since. */
static int undo_del(struct store *s, struct proto_str id, int64_t seq)
{
    char tags[PROTO_MAX_TAGS * (PROTO_MAX_TAG + 1) + 1];
    int64_t prev = 0;
    sqlite3_stmt *st = s->st[ST_EXISTS];
    bind_str(st, 1, id);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return STORE_CONFLICT;
    if (rc != SQLITE_DONE)
        return failf(s, "cannot look the task up");
    st = s->st[ST_UNDO_OLD];
    bind_str(st, 1, id);
    sqlite3_bind_int64(st, 2, seq);
    bind_list(s, st);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        struct proto_str t = col_str(st, 0);
        snprintf(tags, sizeof(tags), "%.*s", (int)t.len, t.ptr);
        prev = sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    if (rc == SQLITE_DONE) /* its copy is gone: nothing to put back */
        return STORE_CONFLICT;
    if (rc != SQLITE_ROW)
        return failf(s, "cannot read the undo history");
    st = s->st[ST_UNDO_REVIVE];
    bind_str(st, 1, id);
    sqlite3_bind_int64(st, 2, seq);
    bind_list(s, st);
    if ((rc = exec_stmt(s, ST_UNDO_REVIVE, "cannot restore the task")) != STORE_OK)
        return rc;
    if ((rc = tags_restore(s, id, (struct proto_str){tags, strlen(tags)})) != STORE_OK)
        return rc;
    if ((rc = undo_forget(s, id, seq)) != STORE_OK)
        return rc;
    return undo_forget(s, id, prev);
}

/* Undoes change seq (not a DEL) of id, if the task is as it left it. */
static int undo_change(struct store *s, struct proto_str id, int64_t seq, int *existed)
{
    char tags[PROTO_MAX_TAGS * (PROTO_MAX_TAG + 1) + 1];
    int64_t ver = 0, prev = 0;
    int b = 0;
    sqlite3_stmt *st = s->st[ST_UNDO_ROW];
    bind_str(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        ver = sqlite3_column_int64(st, 0);
        b = sqlite3_column_int(st, 1);
        struct proto_str t = col_str(st, 2);
        snprintf(tags, sizeof(tags), "%.*s", (int)t.len, t.ptr);
        prev = sqlite3_column_int64(st, 3);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return failf(s, "cannot read the undo history");
    /* Gone, or changed since by a write the stack does not hold (the
     * tutorial's POST/): undoing would overwrite that silently. */
    if (rc == SQLITE_DONE || ver != seq)
        return STORE_CONFLICT;
    *existed = b != 0;
    if (!b) /* it made the task: the task goes */
        return del_do(s, id);
    bind_str(s->st[ST_UNDO_BACK], 1, id);
    if ((rc = exec_stmt(s, ST_UNDO_BACK, "cannot restore the task")) != STORE_OK)
        return rc;
    if ((rc = tags_restore(s, id, (struct proto_str){tags, strlen(tags)})) != STORE_OK)
        return rc;
    return undo_forget(s, id, prev);
}

/* Undoes the newest entry; *e is set to it. */
static int undo_one(struct store *s, struct undo_stack *u, struct undo_ent *e, int *existed,
                    int *exists)
{
    *e = *undo_stack_top(u);
    struct store_key k;
    struct proto_str id = key_of(s, (struct proto_str){e->id, strlen(e->id)}, &k);
    int rc;
    touch(s, id);
    *existed = 1;
    if ((e->kind & 7) == STORE_UNDO_DEL) {
        *exists = 0;
        rc = undo_del(s, id, e->seq);
    } else {
        *exists = 1;
        rc = undo_change(s, id, e->seq, existed);
    }
    if (rc == STORE_OK && undo_stack_pop(u) != 0)
        rc = failf(s, "out of memory for the undo history");
    return rc;
}

int sqlite_undo(struct store *s, struct store_undone *out, store_undone_fn each, void *arg)
{
    memset(out, 0, sizeof(*out));
    struct undo_stack *u = undo_of(s);
    if (u == NULL)
        return failf(s, "out of memory for the undo history");
    const struct undo_ent *top = undo_stack_top(u);
    if (top == NULL)
        return STORE_NOTFOUND;
    int64_t kind = top->kind;
    /* An import's lines are one step: every entry of its run, newest
     * first, while they are on top. A refusal of any of them refuses the
     * whole (the command's savepoint takes back what was undone). */
    do {
        struct undo_ent e;
        int existed, exists;
        int rc = undo_one(s, u, &e, &existed, &exists);
        snprintf(out->kind, sizeof(out->kind), "%s", undo_kind_name[e.kind & 7]);
        snprintf(out->id, sizeof(out->id), "%s", e.id);
        if (rc != STORE_OK)
            return rc;
        out->existed = existed;
        out->exists = exists;
        out->count++;
        if (each != NULL)
            each(arg, (struct proto_str){out->id, strlen(out->id)}, existed, exists);
        if (undo_stack_reserve(u, 1) != 0)
            return failf(s, "out of memory for the undo history");
        top = undo_stack_top(u);
    } while ((kind & 7) == STORE_UNDO_IMPORT && top != NULL && top->kind == kind);
    return STORE_OK;
}

int sqlite_put(struct store *s, struct proto_str id, struct proto_str text, int64_t now)
{
    struct store_key k;
    struct proto_str key = key_of(s, id, &k);
    int rc = undo_keep(s, id, key);
    if (rc != STORE_OK)
        return rc;
    sqlite3_stmt *st = s->st[ST_PUT];
    touch(s, key);
    bind_str(st, 1, key);
    bind_str(st, 2, text);
    bind_list(s, st);
    sqlite3_bind_int64(st, 3, now);
    sqlite3_bind_int64(st, 4, undo_seq(s));
    return exec_stmt(s, ST_PUT, "cannot store the task");
}

/* What a LIST asks for, in the bounds the statements are made for: its
 * status filter (pending when out of range), how many tags (at most
 * PROTO_MAX_TAGS) and whether words are given; and whether it sorts or
 * filters by due date or priority, which the kept statements do not. */
struct list_shape {
    int filter;
    size_t ntags;
    int word;
    int custom;
};

static struct list_shape list_shape_of(const struct proto_request *req)
{
    struct list_shape sh = {req->filter, req->ntags, req->has_text && req->text.len > 0, 0};
    if (sh.filter < PROTO_FILTER_PENDING || sh.filter > PROTO_FILTER_ALL)
        sh.filter = PROTO_FILTER_PENDING;
    if (sh.ntags > PROTO_MAX_TAGS)
        sh.ntags = PROTO_MAX_TAGS;
    sh.custom = req->nsort > 0 || req->due_before[0] || req->due_after[0] || req->overdue ||
                req->pri_match > 0;
    return sh;
}

/* Writes the LIST query for sh into sql: tags bind as ?1..?n and the words
 * as ?n+1, matched each on its own by todo_words() (so '%' and '_' in them
 * mean themselves); a custom list's filters bind by name (:before, :after,
 * :pri) and its sort fields come from req. */
static void list_sql(char *sql, size_t cap, struct list_shape sh, const struct proto_request *req)
{
    size_t n = 0;
#define SQL_ADD(...)                                                                               \
    do {                                                                                           \
        int k_ = snprintf(sql + n, n < cap ? cap - n : 0, __VA_ARGS__);                            \
        n += k_ > 0 ? (size_t)k_ : 0;                                                              \
    } while (0)
    /* With tags, the first one drives the query through the tag index
     * (CROSS JOIN fixes that order), so a LIST +tag costs the tasks that
     * carry the tag, not every task. */
    if (sh.ntags > 0)
        SQL_ADD("SELECT " TASK_COLS " FROM task_tags g0 CROSS JOIN tasks t"
                " ON t.id = g0.task_id WHERE g0.list = " LIST_P " AND g0.tag = ?1");
    else
        SQL_ADD("SELECT " TASK_COLS " FROM tasks t WHERE t.list = " LIST_P);
    if (sh.filter == PROTO_FILTER_PENDING || (sh.custom && req->overdue))
        SQL_ADD(" AND t.done = 0");
    else if (sh.filter == PROTO_FILTER_DONE)
        SQL_ADD(" AND t.done = 1");
    for (size_t i = 1; i < sh.ntags; i++)
        SQL_ADD(" AND EXISTS(SELECT 1 FROM task_tags g WHERE g.task_id = t.id AND g.tag = ?%zu)",
                i + 1);
    if (sh.word)
        SQL_ADD(" AND todo_words(t.text, ?%zu)", sh.ntags + 1);
    if (!sh.custom) {
        SQL_ADD(" ORDER BY t.created, t.rowid");
        return;
    }
    if (req->due_before[0])
        SQL_ADD(" AND t.due < :before");
    if (req->due_after[0])
        SQL_ADD(" AND t.due > :after");
    if (req->pri_match > 0)
        SQL_ADD(" AND t.pri = :pri");
    SQL_ADD(" ORDER BY");
    for (size_t i = 0; i < req->nsort && i < PROTO_MAX_SORT; i++) {
        int f = req->sort[i] < 0 ? -req->sort[i] : req->sort[i];
        const char *up = req->sort[i] < 0 ? " DESC" : "";
        const char *down = req->sort[i] < 0 ? "" : " DESC";
        switch (f) {
        case PROTO_SORT_DUE: /* tasks without a due date last, either way */
            SQL_ADD(" t.due IS NULL, t.due%s,", up);
            break;
        case PROTO_SORT_PRI: /* high first: the levels count up to high */
            SQL_ADD(" t.pri%s,", down);
            break;
        case PROTO_SORT_CREATED:
            SQL_ADD(" t.created%s,", up);
            break;
        case PROTO_SORT_UPDATED:
            SQL_ADD(" t.updated%s,", up);
            break;
        case PROTO_SORT_ID: /* numeric ids as numbers: shorter first */
            SQL_ADD(" length(t.id)%s, t.id%s,", up, up);
            break;
        default:
            break;
        }
    }
    /* Equal keys keep creation order: the sort is stable. */
    SQL_ADD(" t.created, t.rowid");
#undef SQL_ADD
}

/* Prepares the LIST statement for req. The plain shapes are kept (built the
 * first time they are used); a custom one (sort:, due:before:, ...) is made
 * for this request, and *owned tells the caller to finalize it. */
static sqlite3_stmt *list_stmt_for(struct store *s, struct list_shape sh,
                                   const struct proto_request *req, int *owned)
{
    char sql[4096];
    *owned = 0;
    if (sh.custom) {
        sqlite3_stmt *st = NULL;
        list_sql(sql, sizeof(sql), sh, req);
        if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
            failf(s, "cannot prepare LIST");
            sqlite3_finalize(st);
            return NULL;
        }
        *owned = 1;
        return st;
    }
    size_t idx = ((size_t)sh.filter * (PROTO_MAX_TAGS + 1) + sh.ntags) * 2 + (size_t)(sh.word != 0);
    if (s->list[idx] != NULL)
        return s->list[idx];
    list_sql(sql, sizeof(sql), sh, req);
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->list[idx], NULL) !=
        SQLITE_OK) {
        failf(s, "cannot prepare LIST");
        s->list[idx] = NULL;
    }
    return s->list[idx];
}

/* The kept statement for a plain shape (the cursor's halves of LIST all). */
static sqlite3_stmt *list_stmt(struct store *s, int filter, size_t ntags, int word)
{
    struct list_shape sh = {filter, ntags, word, 0};
    int owned;
    return list_stmt_for(s, sh, NULL, &owned);
}

/* Binds a custom list's named filters (copies: a cursor outlives req). */
static void bind_custom(sqlite3_stmt *st, const struct proto_request *req)
{
    int i;
    if ((i = sqlite3_bind_parameter_index(st, ":before")) > 0)
        sqlite3_bind_text(st, i, req->due_before, PROTO_DATE_LEN, SQLITE_TRANSIENT);
    if ((i = sqlite3_bind_parameter_index(st, ":after")) > 0)
        sqlite3_bind_text(st, i, req->due_after, PROTO_DATE_LEN, SQLITE_TRANSIENT);
    if ((i = sqlite3_bind_parameter_index(st, ":pri")) > 0)
        sqlite3_bind_int(st, i, req->pri_match - 1);
}

int sqlite_list(struct store *s, const struct proto_request *req, store_task_fn fn, void *arg)
{
    struct list_shape sh = list_shape_of(req);
    int owned;
    sqlite3_stmt *st = list_stmt_for(s, sh, req, &owned);
    if (st == NULL)
        return STORE_ERROR;
    read_open(s);
    for (size_t i = 0; i < sh.ntags; i++)
        bind_str(st, (int)i + 1, req->tags[i]);
    if (sh.word)
        bind_str(st, (int)sh.ntags + 1, req->text);
    bind_custom(st, req);
    bind_list(s, st);
    int rc = each_task(s, st, fn, arg, NULL);
    if (owned)
        sqlite3_finalize(st);
    return rc;
}

int sqlite_tags(struct store *s, store_tag_fn fn, void *arg)
{
    sqlite3_stmt *st = s->st[ST_TAGS];
    int rc;
    read_open(s);
    bind_list(s, st);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (fn(arg, col_str(st, 0), sqlite3_column_int64(st, 1)) != 0) {
            sqlite3_reset(st);
            return STORE_STOPPED;
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? STORE_OK : failf(s, "cannot read tags");
}

int sqlite_count(struct store *s, int64_t *n)
{
    sqlite3_stmt *st = s->st[ST_COUNT];
    read_open(s);
    bind_list(s, st);
    int rc = sqlite3_step(st);
    *n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? STORE_OK : failf(s, "cannot count tasks");
}

/*
 * LIST a slice at a time. The cursor runs the very statements store_list
 * runs (list_stmt), so both answer alike; but LIST all without tags is run
 * as its two halves, the pending and the done tasks, each in the order of
 * the tasks_by_done index (done, created, rowid), merged here by (created,
 * rowid): SQLite would otherwise sort every task before handing out the
 * first (a temporary b-tree, some 30 ms for 100,000 tasks, in one step
 * that cannot be cut into slices). With tags the first tag's index drives
 * the query and SQLite still sorts that tag's tasks at the first step.
 */
/* A cursor that could not be opened lets go of the statement it made. */
static int cursor_fail(struct store_cursor *k)
{
    if (k->owned)
        sqlite3_finalize(k->st[0]);
    k->owned = 0;
    k->st[0] = NULL;
    k->n = 0;
    return STORE_ERROR;
}

int sqlite_cursor_open(struct store *s, const struct proto_request *req, struct store_cursor **out)
{
    struct list_shape sh = list_shape_of(req);
    int filter = sh.filter, word = sh.word;
    size_t ntags = sh.ntags;
    if (s->cur_open)
        sqlite_cursor_close(&s->cur);
    struct store_cursor *k = &s->cur;
    memset(k, 0, sizeof(*k));
    k->kind = STORE_KIND_SQLITE;
    k->s = s;
    k->strip = key_strip(s);
    if (sh.custom) {
        /* A list in another order is sorted by SQLite at its first step,
         * as a list with tags is; the halves below only help creation order. */
        k->st[0] = list_stmt_for(s, sh, req, &k->owned);
        k->n = 1;
    } else if (filter == PROTO_FILTER_ALL && ntags == 0) {
        k->st[0] = list_stmt(s, PROTO_FILTER_PENDING, 0, word);
        k->st[1] = list_stmt(s, PROTO_FILTER_DONE, 0, word);
        k->n = 2;
    } else {
        k->st[0] = list_stmt(s, filter, ntags, word);
        k->n = 1;
    }
    for (int i = 0; i < k->n; i++)
        if (k->st[i] == NULL)
            return cursor_fail(k);
    read_open(s);
    k->most = -1;
    if (ntags > 0) {
        /* The first tag's tasks, from its index alone: no list is longer. */
        if (s->tag_tasks == NULL &&
            sqlite3_prepare_v3(s->db, "SELECT count(*) FROM task_tags WHERE list = ?2 AND tag = ?1",
                               -1, SQLITE_PREPARE_PERSISTENT, &s->tag_tasks, NULL) != SQLITE_OK) {
            s->tag_tasks = NULL;
            failf(s, "cannot prepare LIST's count");
            return cursor_fail(k);
        }
        read_open(s);
        sqlite3_bind_text(s->tag_tasks, 1, req->tags[0].ptr, (int)req->tags[0].len, SQLITE_STATIC);
        sqlite3_bind_text(s->tag_tasks, 2, s->scope, (int)s->scope_len, SQLITE_STATIC);
        if (sqlite3_step(s->tag_tasks) == SQLITE_ROW)
            k->most = sqlite3_column_int64(s->tag_tasks, 0);
        sqlite3_reset(s->tag_tasks);
        char sql[4200];
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM (%s)", sqlite3_sql(k->st[0]));
        if (sqlite3_prepare_v2(s->db, sql, -1, &k->count, NULL) != SQLITE_OK) {
            failf(s, "cannot prepare LIST's count");
            sqlite3_finalize(k->count);
            k->count = NULL;
            return cursor_fail(k);
        }
    }
    /* Bound as copies: the cursor outlives the request. */
    sqlite3_stmt *bound[3] = {k->st[0], k->n > 1 ? k->st[1] : NULL, k->count};
    for (int i = 0; i < 3; i++) {
        if (bound[i] == NULL)
            continue;
        for (size_t j = 0; j < ntags; j++)
            sqlite3_bind_text(bound[i], (int)j + 1, req->tags[j].len ? req->tags[j].ptr : "",
                              (int)req->tags[j].len, SQLITE_TRANSIENT);
        if (word)
            sqlite3_bind_text(bound[i], (int)ntags + 1, req->text.ptr, (int)req->text.len,
                              SQLITE_TRANSIENT);
        bind_custom(bound[i], req);
        sqlite3_bind_text(bound[i], LIST_PARAM, s->scope, (int)s->scope_len, SQLITE_TRANSIENT);
    }
    s->cur_open = 1;
    *out = k;
    return STORE_OK;
}

/* Steps st[i] onto its next row unless it is on one or at its end. */
static int cursor_fill(struct store_cursor *k, int i)
{
    if (k->has[i] || k->end[i])
        return STORE_OK;
    int rc = sqlite3_step(k->st[i]);
    if (rc == SQLITE_ROW)
        k->has[i] = 1;
    else if (rc == SQLITE_DONE)
        k->end[i] = 1;
    else
        return failf(k->s, "cannot read tasks");
    return STORE_OK;
}

int sqlite_cursor_count(struct store_cursor *k, size_t max, size_t *n, int *done)
{
    if (k->count != NULL) {
        int rc = sqlite3_step(k->count);
        if (rc != SQLITE_ROW) {
            sqlite3_reset(k->count);
            return failf(k->s, "cannot count tasks");
        }
        *n += (size_t)sqlite3_column_int64(k->count, 0);
        sqlite3_reset(k->count);
        *done = 1;
        return STORE_OK;
    }
    size_t got = 0;
    for (int i = 0; i < k->n; i++) {
        while (got < max && !k->end[i]) {
            k->has[i] = 0;
            if (cursor_fill(k, i) != STORE_OK)
                return STORE_ERROR;
            got += (size_t)k->has[i];
        }
        k->has[i] = 0;
    }
    *n += got;
    *done = 1;
    for (int i = 0; i < k->n; i++)
        *done &= k->end[i];
    return STORE_OK;
}

void sqlite_cursor_rewind(struct store_cursor *k)
{
    for (int i = 0; i < k->n; i++) {
        sqlite3_reset(k->st[i]);
        k->has[i] = k->end[i] = 0;
    }
}

int sqlite_cursor_next(struct store_cursor *k, store_task_fn fn, void *arg)
{
    for (;;) {
        int best = -1;
        for (int i = 0; i < k->n; i++) {
            if (cursor_fill(k, i) != STORE_OK)
                return STORE_ERROR;
            if (!k->has[i])
                continue;
            if (best < 0) {
                best = i;
                continue;
            }
            sqlite3_int64 c = sqlite3_column_int64(k->st[i], COL_CREATED);
            sqlite3_int64 bc = sqlite3_column_int64(k->st[best], COL_CREATED);
            if (c < bc || (c == bc && sqlite3_column_int64(k->st[i], COL_ROWID) <
                                          sqlite3_column_int64(k->st[best], COL_ROWID)))
                best = i;
        }
        if (best < 0)
            return STORE_OK;
        k->has[best] = 0;
        if (emit_task(k->st[best], k->strip, fn, arg) != 0)
            return STORE_STOPPED;
    }
}

void sqlite_cursor_close(struct store_cursor *k)
{
    for (int i = 0; i < k->n; i++) {
        sqlite3_reset(k->st[i]);
        sqlite3_clear_bindings(k->st[i]);
    }
    if (k->owned)
        sqlite3_finalize(k->st[0]);
    k->owned = 0;
    sqlite3_finalize(k->count);
    k->count = NULL;
    k->n = 0;
    k->s->cur_open = 0;
}

long long sqlite_cursor_most(const struct store_cursor *k)
{
    return k->most;
}

void sqlite_facts(struct store *s, const char **engine, const char **state)
{
    (void)s;
    *engine = "sqlite";
    *state = "ok";
}

/* ---- users (schema step 4) ---- */

static void user_bind(sqlite3_stmt *st, const struct store_user *u)
{
    sqlite3_bind_text(st, 1, u->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, u->hash, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, u->admin != 0);
    sqlite3_bind_int(st, 4, u->locked != 0);
}

/* The current row (USER_COLS) as a user. A name or hash longer than the
 * struct holds cannot have come from store_user_add; it is cut, and so
 * never matches. */
static void user_row(sqlite3_stmt *st, struct store_user *u)
{
    struct proto_str name = col_str(st, 0), hash = col_str(st, 1);
    memset(u, 0, sizeof(*u));
    snprintf(u->name, sizeof(u->name), "%.*s", (int)name.len, name.ptr);
    snprintf(u->hash, sizeof(u->hash), "%.*s", (int)hash.len, hash.ptr);
    u->admin = sqlite3_column_int(st, 2) != 0;
    u->locked = sqlite3_column_int(st, 3) != 0;
    u->created = sqlite3_column_int64(st, 4);
}

int sqlite_user_add(struct store *w, const struct store_user *u)
{
    sqlite3_stmt *st = w->st[ST_USER_ADD];
    user_bind(st, u);
    sqlite3_bind_int64(st, 5, u->created);
    int rc = exec_stmt(w, ST_USER_ADD, "cannot add the user");
    if (rc != STORE_OK)
        return rc;
    return changed(w) ? STORE_OK : STORE_EXISTS;
}

int sqlite_user_update(struct store *w, const struct store_user *u)
{
    user_bind(w->st[ST_USER_UPDATE], u);
    int rc = exec_stmt(w, ST_USER_UPDATE, "cannot change the user");
    if (rc != STORE_OK)
        return rc;
    return changed(w) ? STORE_OK : STORE_NOTFOUND;
}

int sqlite_user_del(struct store *w, struct proto_str name)
{
    bind_str(w->st[ST_USER_DEL], 1, name);
    int rc = exec_stmt(w, ST_USER_DEL, "cannot remove the user");
    if (rc != STORE_OK)
        return rc;
    return changed(w) ? STORE_OK : STORE_NOTFOUND;
}

int sqlite_user_get(struct store *s, struct proto_str name, struct store_user *out)
{
    sqlite3_stmt *st = s->st[ST_USER_GET];
    read_open(s);
    bind_str(st, 1, name);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        user_row(st, out);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return STORE_OK;
    return rc == SQLITE_DONE ? STORE_NOTFOUND : failf(s, "cannot read users");
}

int sqlite_users(struct store *s, store_user_fn fn, void *arg)
{
    sqlite3_stmt *st = s->st[ST_USERS];
    struct store_user u;
    int rc;
    read_open(s);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        user_row(st, &u);
        if (fn(arg, &u) != 0) {
            sqlite3_reset(st);
            return STORE_STOPPED;
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? STORE_OK : failf(s, "cannot read users");
}

/* Every key of the list counts as changed (touch) before the rows go, so
 * that no cache answers for them afterwards; the undo stack is emptied by
 * pops, which the transaction's rollback would take back as the rows. */
int sqlite_list_drop(struct store *w, struct proto_str list, int64_t *n)
{
    *n = 0;
    if (list.len == 0)
        return failf(w, "the default list cannot be dropped");
    sqlite_scope(w, list);
    sqlite3_stmt *st = w->st[ST_LIST_KEYS];
    bind_list(w, st);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        touch(w, col_str(st, 0));
        (*n)++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return failf(w, "cannot read the list's tasks");
    static const enum stmt_id drops[] = {ST_LIST_DROP_TASKS, ST_LIST_DROP_TAGS, ST_LIST_DROP_UNDO,
                                         ST_LIST_DROP_NEXT, ST_LIST_DROP_SHARES};
    for (size_t i = 0; i < sizeof(drops) / sizeof(drops[0]); i++) {
        bind_list(w, w->st[drops[i]]);
        if ((rc = exec_stmt(w, drops[i], "cannot drop the list")) != STORE_OK)
            return rc;
    }
    struct undo_stack *u = undo_of(w);
    if (u == NULL || undo_stack_reserve(u, u->n) != 0)
        return failf(w, "out of memory for the undo history");
    while (u->n > 0)
        undo_stack_pop(u);
    return STORE_OK;
}

/* ---- shares (schema step 5) ---- */

static int share_write(struct store *w, enum stmt_id id, struct proto_str list,
                       struct proto_str user)
{
    sqlite3_stmt *st = w->st[id];
    bind_str(st, 1, list);
    bind_str(st, 2, user);
    int rc = exec_stmt(w, id, "cannot change the list's shares");
    if (rc != STORE_OK)
        return rc;
    if (!changed(w))
        return id == ST_SHARE_ADD ? STORE_EXISTS : STORE_NOTFOUND;
    return STORE_OK;
}

int sqlite_share_add(struct store *w, struct proto_str list, struct proto_str user)
{
    return share_write(w, ST_SHARE_ADD, list, user);
}

int sqlite_share_del(struct store *w, struct proto_str list, struct proto_str user)
{
    return share_write(w, ST_SHARE_DEL, list, user);
}

int sqlite_share_get(struct store *s, struct proto_str list, struct proto_str user)
{
    sqlite3_stmt *st = s->st[ST_SHARE_GET];
    read_open(s);
    bind_str(st, 1, list);
    bind_str(st, 2, user);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return STORE_OK;
    return rc == SQLITE_DONE ? STORE_NOTFOUND : failf(s, "cannot read the list's shares");
}

int sqlite_shares(struct store *s, struct proto_str name, store_share_fn fn, void *arg)
{
    sqlite3_stmt *st = s->st[ST_SHARES];
    read_open(s);
    bind_str(st, 1, name);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (fn(arg, col_str(st, 0), col_str(st, 1)) != 0) {
            sqlite3_reset(st);
            return STORE_STOPPED;
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? STORE_OK : failf(s, "cannot read the shares");
}
