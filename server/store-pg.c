/*
 * store-pg.c - the store on PostgreSQL, through libpq: chosen by a --db of
 * postgresql://... or postgres://... (any libpq URI; "postgresql:" alone
 * takes everything from the PG* environment).
 *
 * The same design as the SQLite engine (store-sqlite.c), so that both pass
 * one contract (tests/server/test_store.c): one writer connection, used
 * under the engine's write turn; one read connection per worker or
 * stream, whose reads share a REPEATABLE READ snapshot until
 * store_read_end; the undo history in the tasks' u_ columns and undo_old,
 * its order in the engine's undo stack (undo-stack.h); the change counter
 * in memory (store.h), which holds while one server writes the database.
 *
 * What PostgreSQL asks for in addition: a failed statement aborts its
 * whole transaction, so every command of a batch runs in a savepoint of
 * its own; ADD's ids come in blocks from a sequence (nextval is atomic and
 * never handed out twice, whichever server asks), so that servers sharing
 * the database never take the same id; and a connection can be lost (the
 * database restarting): the call that finds it so fails (ERR STORE), and
 * the next call on that connection reconnects (PQreset) and prepares its
 * statements again.
 */
/* pipe2() is a GNU extension. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "change.h"
#include "log.h"
#include "store-engine.h"
#include "undo-stack.h"

/* As in store-sqlite.h: slots of the change counter, a power of two. */
#define CHANGE_SLOTS 262144
/* ADD's ids reserved per nextval: the sequence counts in these steps. */
#define ID_BLOCK 1000
#define ID_BLOCK_SQL "1000"
/* The writer's connections: one batch commits on one while the next runs
 * on the other (pg_write_end). A third would never be used: a batch waits
 * for the one before it to be answered before it commits itself. */
#define PG_WRITERS 2

/* The kinds of change UNDO takes back (as store-sqlite.c keeps them). */
enum {
    UNDO_ADD = 1,
    UNDO_EDIT,
    UNDO_DONE,
    UNDO_UNDONE,
    UNDO_DEL,
    UNDO_IMPORT,
};
static const char *const undo_kind_name[] = {
    [UNDO_ADD] = "add",       [UNDO_EDIT] = "edit", [UNDO_DONE] = "done",
    [UNDO_UNDONE] = "undone", [UNDO_DEL] = "del",   [UNDO_IMPORT] = "import",
};

/*
 * The schema, one step per version: migrations[i] takes the database from
 * version i to i + 1, recorded in todo_schema. Append steps; never edit a
 * released one.
 *
 * Step 1 is SQLite's three steps at once: tasks with their tags joined in
 * name order (task_tags stays the truth for tag searches), the undo
 * columns, undo_old; rid is LIST's order after created (SQLite's rowid);
 * text columns compare bytewise (COLLATE "C") as SQLite's do, so that
 * tags and ids sort alike on both engines whatever the database's locale.
 */
static const char *const migrations[] = {
    "CREATE SEQUENCE task_ids START 1 INCREMENT " ID_BLOCK_SQL " MINVALUE 1;"
    "CREATE TABLE tasks("
    "  rid bigint GENERATED ALWAYS AS IDENTITY,"
    "  id text COLLATE \"C\" PRIMARY KEY,"
    "  text text NOT NULL,"
    "  done integer NOT NULL DEFAULT 0,"
    "  pri integer NOT NULL DEFAULT 0,"
    "  due text COLLATE \"C\","
    "  created bigint NOT NULL,"
    "  updated bigint NOT NULL,"
    "  tags text COLLATE \"C\","
    "  ver bigint NOT NULL DEFAULT 0,"
    "  u_kind bigint, u_b integer, u_text text, u_done integer, u_pri integer,"
    "  u_due text, u_created bigint, u_updated bigint, u_tags text, u_ver bigint);"
    "CREATE INDEX tasks_by_done ON tasks(done, created, rid);"
    "CREATE INDEX tasks_by_created ON tasks(created, rid);"
    "CREATE TABLE task_tags("
    "  task_id text COLLATE \"C\" NOT NULL,"
    "  tag text COLLATE \"C\" NOT NULL,"
    "  PRIMARY KEY(task_id, tag));"
    "CREATE INDEX task_tags_by_tag ON task_tags(tag);"
    "CREATE TABLE undo_old("
    "  task_id text COLLATE \"C\" NOT NULL,"
    "  seq bigint NOT NULL,"
    "  kind bigint NOT NULL,"
    "  b integer NOT NULL,"
    "  text text, done integer, pri integer, due text,"
    "  created bigint, updated bigint, tags text, ver bigint,"
    "  PRIMARY KEY(task_id, seq));",

    /* ---- step 2: the change log (issue 19, many servers on one
     * database). One row per changed task, written by the batch in its
     * own transaction (ST_LOG_WRITE), numbered from todo_change_head:
     * its one row is updated by every batch that logs, so that the row
     * lock, held to COMMIT, orders the batches of every server, and a
     * batch rolled back gives its numbers back: the numbers come in
     * commit order, without holes. They start at the database's creation
     * time in ms << 20, as a ring of one server's does (watch.h), so that
     * a since: of another database, or of a server on SQLite, is below
     * them and refused (EXPIRED), never taken for one of these. The task's columns are copied from
     * tasks as the batch leaves them. A statement trigger notifies the
     * schema's channel in the same transaction (delivered on COMMIT
     * only). Its own block, so that a step of another branch (accounts)
     * can be numbered before or after it. ---- */
    "CREATE TABLE todo_change_head(seq bigint NOT NULL);"
    "INSERT INTO todo_change_head"
    " VALUES((extract(epoch FROM clock_timestamp()) * 1000)::bigint << 20);"
    "CREATE TABLE todo_changes("
    "  seq bigint PRIMARY KEY,"
    "  task_id text COLLATE \"C\" NOT NULL,"
    "  kind smallint NOT NULL,"
    "  fields smallint NOT NULL,"
    "  text text, done integer, pri integer, due text,"
    "  created bigint, updated bigint, tags text);"
    "CREATE FUNCTION todo_changes_notify() RETURNS trigger LANGUAGE plpgsql AS"
    " $$BEGIN PERFORM pg_notify(left('todo_' || TG_TABLE_SCHEMA, 63), ''); RETURN NULL; END$$;"
    "CREATE TRIGGER todo_changes_notify AFTER INSERT ON todo_changes"
    " FOR EACH STATEMENT EXECUTE FUNCTION todo_changes_notify();",
    /* ---- step 3: accounts (issue 18), SQLite's step 4: the people who may log in
     * (store.h's users), each with the salted, slow hash of their
     * password that users_hash() made, never the password, and their
     * role. Whose tasks are whose comes in a step of its own. ---- */
    "CREATE TABLE users("
    "  name text COLLATE \"C\" PRIMARY KEY,"
    "  hash text NOT NULL,"
    "  admin integer NOT NULL DEFAULT 0,"
    "  locked integer NOT NULL DEFAULT 0,"
    "  created bigint NOT NULL);",

    /* ---- step 4, the versions (issue 19, UNDO with many servers on one
     * database), after the change log's: the changes' numbers from a
     * sequence. A change's number (the task row's ver, undo_old's seq)
     * is what UNDO checks to tell that nothing touched the task since the
     * change it takes back; numbered from one server's counter, another
     * server's change could carry the very number expected. nextval
     * never hands a number out twice, whichever server asks; the
     * sequence starts past every number already kept. Its own block, as the change log's, so that a
     * step of another branch (accounts' users) can be numbered before it. ---- */
    "CREATE SEQUENCE task_vers MINVALUE 1;"
    "SELECT setval('task_vers', greatest(coalesce((SELECT max(ver) FROM tasks), 0),"
    " coalesce((SELECT max(seq) FROM undo_old), 0)) + 1, false);",

    /* ---- step 5: lists (issue 18), SQLite's step 5: whose tasks are
     * whose (store.h's store_scope). A task's key in id (and in
     * task_tags.task_id, undo_old.task_id, todo_changes.task_id) is its
     * id in the default list "", which every task of an older database
     * is in, so that nothing is rewritten; in a user's list it is
     * "LIST/ID" ('/' is in neither ids nor names), so that GET, EDIT,
     * DONE and DEL of one task stay one look-up of the primary key, and
     * the change log's task_id still names one task across servers. The
     * list column serves LIST, TAGS and COUNT of one list (the indexes
     * lead with it) and tells a follower whose change a log row is. A
     * user's ADD counter is a row of lists (the default list keeps the
     * sequence task_ids); shares are who may use whose list besides its
     * owner ("user" is a reserved word: member). ---- */
    "ALTER TABLE tasks ADD COLUMN list text COLLATE \"C\" NOT NULL DEFAULT '';"
    "DROP INDEX tasks_by_done;"
    "DROP INDEX tasks_by_created;"
    "CREATE INDEX tasks_by_list ON tasks(list, done, created, rid);"
    "CREATE INDEX tasks_by_list_created ON tasks(list, created, rid);"
    "ALTER TABLE task_tags ADD COLUMN list text COLLATE \"C\" NOT NULL DEFAULT '';"
    "DROP INDEX task_tags_by_tag;"
    "CREATE INDEX task_tags_by_list ON task_tags(list, tag);"
    "ALTER TABLE undo_old ADD COLUMN list text COLLATE \"C\" NOT NULL DEFAULT '';"
    "CREATE INDEX undo_old_by_list ON undo_old(list, seq);"
    "ALTER TABLE todo_changes ADD COLUMN list text COLLATE \"C\" NOT NULL DEFAULT '';"
    "CREATE TABLE lists(name text COLLATE \"C\" PRIMARY KEY, next_id bigint NOT NULL);"
    "CREATE TABLE shares(list text COLLATE \"C\" NOT NULL, member text COLLATE \"C\" NOT NULL,"
    "  PRIMARY KEY(list, member));"
    "CREATE INDEX shares_by_member ON shares(member, list);",
};
#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))
/* pg_advisory_xact_lock's key for migrations: servers opening one
 * database at once upgrade it one after the other. */
#define MIGRATE_LOCK "7415662301"

/* store.h's STORE_LOGGED_DEL, as the log's SQL writes it. */
#define LOG_KIND_DEL_SQL "4"
/* The log keeps the newest this many rows (WATCH_RING_DEFAULT, watch.h),
 * or store_engine_follow's backlog (--watch-ring): as many as WATCH's
 * ring, so that the ring holds whatever the log still does. */
#define LOG_KEEP_DEFAULT 65536
/* The follower reads the log this many rows at a time. */
#define LOG_READ_ROWS 512
/* Own commits the follower is told of (struct pg_engine's own). */
#define OWN_RANGES 256
#define LOG_READ_ROWS_SQL "512"

#define TASK_COLS "t.id, t.text, t.done, t.pri, t.due, t.created, t.updated, t.tags"
/* The columns of a user (user_row). */
#define USER_COLS "name, hash, admin, locked, created"
#define UNDO_KEEP_SQL                                                                              \
    "u_b = 1, u_text = text, u_done = done, u_pri = pri, u_due = due, u_created = created,"        \
    " u_updated = updated, u_tags = tags, u_ver = ver"
#define UNDO_OLD_UPSERT                                                                            \
    " ON CONFLICT (task_id, seq) DO UPDATE SET kind = excluded.kind, b = excluded.b,"              \
    " text = excluded.text, done = excluded.done, pri = excluded.pri, due = excluded.due,"         \
    " created = excluded.created, updated = excluded.updated, tags = excluded.tags,"               \
    " ver = excluded.ver"
#define UNDO_OLD_COLS                                                                              \
    "(task_id, seq, kind, b, text, done, pri, due, created, updated, tags, ver, list)"
/* Keeps the before-image of the task's newest change (its u_ columns,
 * under its number) in undo_old, in the statement of the write that
 * overwrites them: whichever server's history holds that change, so that
 * it can still be taken back once this write is undone. A CTE reads the
 * row as the statement found it, before the write's own part. Only a
 * change less than UNDO_SAVE_WINDOW numbers older than this write's own
 * (SEQ): the numbers count every server's changes, so an older one is
 * past the newest STORE_UNDO_DEPTH changes of the database ten times
 * over, and keeping it for every write would cost an undo_old row each. */
#define UNDO_SAVE_WINDOW 1000
#define UNDO_SAVE_WINDOW_SQL "1000"
#define UNDO_SAVE_CTE_OR(ID, SEQ, OR) "WITH " UNDO_SAVE_K(ID, SEQ, OR)
#define UNDO_SAVE_K(ID, SEQ, OR)                                                                   \
    "k AS (INSERT INTO undo_old " UNDO_OLD_COLS " SELECT id, ver, u_kind, u_b, u_text,"            \
    " u_done, u_pri, u_due, u_created, u_updated, u_tags, u_ver, list FROM tasks"                  \
    " WHERE id = " ID " AND u_kind IS NOT NULL AND (ver > " SEQ "::bigint - " UNDO_SAVE_WINDOW_SQL \
    " OR " OR ")" UNDO_OLD_UPSERT ") "
#define UNDO_SAVE_CTE(ID, SEQ) UNDO_SAVE_CTE_OR(ID, SEQ, "false")
/* EDIT, DONE and UNDONE: the number of the write is the one the
 * command's pipeline took just before (pipe_send), so that they need no
 * round trip of their own to learn it; and the parameter MINE (1 when
 * this server's undo stack holds a change of the task) keeps the newest
 * change's before-image whatever its age, which is what undo_keep_old's
 * own statement does for the other writes: a change of this server's
 * history is one this server may be asked to undo. */
#define SEQ_NOW "currval('task_vers')"
#define UNDO_SAVE_MINE_CTE(ID, MINE) UNDO_SAVE_CTE_OR(ID, SEQ_NOW, MINE "::int <> 0")
/* The same statements written ahead (pg_write_ahead_send): the number is
 * taken in the statement itself (once, by the materialized v) and given
 * back by RETURNING, one statement less for each write. */
#define SEQ_OWN "(SELECT n FROM v)"
#define UNDO_SAVE_OWN_CTE(ID, MINE)                                                                \
    "WITH v AS MATERIALIZED (SELECT nextval('task_vers') AS n), " UNDO_SAVE_K(ID, SEQ_OWN,         \
                                                                              MINE "::int <> 0")
#define EDIT_SQL(CTE, SEQ)                                                                         \
    CTE("$7", "$8")                                                                                \
    "UPDATE tasks SET " UNDO_KEEP_SQL ", u_kind = 2, ver = " SEQ ","                               \
    " text = CASE WHEN $1::int <> 0 THEN $2::text ELSE text END,"                                  \
    " pri = CASE WHEN $3::int >= 0 THEN $3::int ELSE pri END,"                                     \
    " due = CASE $4::int WHEN 1 THEN $5::text WHEN -1 THEN NULL ELSE due END,"                     \
    " updated = $6::bigint WHERE id = $7"
#define SET_DONE_SQL(CTE, SEQ)                                                                     \
    CTE("$3", "$5")                                                                                \
    "UPDATE tasks SET " UNDO_KEEP_SQL ", u_kind = $4::bigint, ver = " SEQ ","                      \
    " done = $1::int, updated = $2::bigint WHERE id = $3"

enum stmt_id {
    ST_NEXT_ID,
    ST_IDS_PASS,
    ST_GIVE_BACK_IDS,
    ST_INSERT,
    ST_ADD_TAG,
    ST_DEL_TAG,
    ST_COUNT_TAGS,
    ST_SET_TAGS,
    ST_GET,
    ST_EDIT,
    ST_SET_DONE,
    ST_EDIT_AHEAD,
    ST_SET_DONE_AHEAD,
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
    ST_NEXT_VER,
    ST_TAG_TASKS,
    ST_LOG_WRITE,
    ST_LOG_WRITE_SWEEP,
    ST_USER_ADD,
    ST_USER_UPDATE,
    ST_USER_DEL,
    ST_USER_GET,
    ST_USERS,
    ST_LIST_ADD,
    ST_LIST_PASS,
    ST_LIST_DROP,
    ST_SHARE_ADD,
    ST_SHARE_DEL,
    ST_SHARE_GET,
    ST_SHARES,
    ST__COUNT
};

/* NOLINTBEGIN(bugprone-suspicious-missing-comma) */
/* The change log's rows of a batch (ST_LOG_WRITE): numbered from
 * todo_change_head, their tasks copied from tasks unless captured, and the
 * log pruned to its newest $13 rows. Each batch deletes the rows its own
 * numbers push out, (base - keep, base + n - keep]: the earlier batches
 * deleted all below, and a delete bounded below need not walk over their
 * dead index entries first (unbounded, it does, until VACUUM comes by:
 * most of a batch's time in PostgreSQL once the log is full). Every
 * LOG_SWEEP_EVERY-th batch deletes without the bound (ST_LOG_WRITE_SWEEP),
 * for rows a server with a longer log_keep left behind. */
#define LOG_SWEEP_EVERY 1024
#define LOG_WRITE_SQL(LOW)                                                                         \
    "WITH h AS (UPDATE todo_change_head SET seq = seq + $1::bigint"                                \
    " RETURNING seq - $1::bigint AS base),"                                                        \
    " u AS (SELECT * FROM unnest($2::text[], $3::int[], $4::int[], $5::bool[], $6::text[],"        \
    " $7::int[], $8::int[], $9::text[], $10::bigint[], $11::bigint[], $12::text[],"                \
    " $14::text[]) WITH ORDINALITY AS x(id, kind, fields, cap, text, done, pri, due, created,"     \
    " updated, tags, list, ord)),"                                                                 \
    " ins AS (INSERT INTO todo_changes(seq, task_id, kind, fields, text, done, pri, due,"          \
    " created, updated, tags, list) SELECT h.base + u.ord, u.id, u.kind, u.fields,"                \
    " CASE WHEN u.cap THEN u.text ELSE t.text END,"                                                \
    " CASE WHEN u.cap THEN u.done ELSE t.done END,"                                                \
    " CASE WHEN u.cap THEN u.pri ELSE t.pri END,"                                                  \
    " CASE WHEN u.cap THEN u.due ELSE t.due END,"                                                  \
    " CASE WHEN u.cap THEN u.created ELSE t.created END,"                                          \
    " CASE WHEN u.cap THEN u.updated ELSE t.updated END,"                                          \
    " CASE WHEN u.cap THEN u.tags ELSE t.tags END, u.list FROM h CROSS JOIN u"                     \
    " LEFT JOIN tasks t ON t.id = u.id AND NOT u.cap AND u.kind <> " LOG_KIND_DEL_SQL              \
    " RETURNING seq),"                                                                             \
    " old AS (DELETE FROM todo_changes WHERE" LOW                                                  \
    " seq <= (SELECT base FROM h) + $1::bigint - $13::bigint)"                                     \
    " SELECT max(seq) FROM ins"

static const char *const stmt_sql[ST__COUNT] = {
    [ST_NEXT_ID] = "SELECT nextval('task_ids')",
    /* The next block starts past $1 (an id IMPORT took). */
    [ST_IDS_PASS] = "SELECT setval('task_ids', greatest($1::bigint, CASE WHEN is_called THEN"
                    " last_value + " ID_BLOCK_SQL " ELSE last_value END), false) FROM task_ids",
    /* At a clean close: the rest of the block back, if no block was
     * handed out after it (to this server or another). */
    [ST_GIVE_BACK_IDS] = "SELECT setval('task_ids', $1::bigint, false) FROM task_ids"
                         " WHERE is_called AND last_value = $2::bigint",
    /* An ADD in the default list, whose ids come from task_ids. */
    [ST_INSERT] = "INSERT INTO tasks(id, text, done, pri, due, created, updated, ver, u_kind, u_b)"
                  " VALUES($1, $2, 0, $3::int, $4, $5::bigint, $5::bigint, " SEQ_NOW ", 1, 0)"
                  " ON CONFLICT (id) DO NOTHING",
    /* An ADD in a user's list $5: its next id from the list's row of
     * lists, taken and counted on in the statement that inserts (one
     * round trip; the row's lock orders two servers' ADDs to one list
     * until COMMIT, and a rollback puts the counter back with the task).
     * No row back: the id was taken (an IMPORT), and the next is tried. */
    [ST_LIST_ADD] = "WITH n AS (INSERT INTO lists(name, next_id) VALUES($5, 2)"
                    " ON CONFLICT (name) DO UPDATE SET next_id = lists.next_id + 1"
                    " RETURNING next_id - 1 AS id)"
                    " INSERT INTO tasks(id, text, done, pri, due, created, updated, ver, u_kind,"
                    " u_b, list) SELECT $5 || '/' || n.id, $1, 0, $2::int, $3, $4::bigint,"
                    " $4::bigint, " SEQ_NOW ", 1, 0, $5 FROM n ON CONFLICT (id) DO NOTHING"
                    " RETURNING id",
    /* ADD in list $1 never hands out $2 once it is imported. */
    [ST_LIST_PASS] = "INSERT INTO lists(name, next_id) VALUES($1, $2::bigint + 1)"
                     " ON CONFLICT (name) DO UPDATE"
                     " SET next_id = greatest(lists.next_id, excluded.next_id)",
    /* A user's list $1 and all that is kept of it, in one round trip;
     * the keys of its tasks back, for the change log and the counter. */
    [ST_LIST_DROP] = "WITH g AS (DELETE FROM task_tags WHERE list = $1),"
                     " o AS (DELETE FROM undo_old WHERE list = $1),"
                     " n AS (DELETE FROM lists WHERE name = $1),"
                     " m AS (DELETE FROM shares WHERE list = $1 OR member = $1)"
                     " DELETE FROM tasks WHERE list = $1 RETURNING id",
    [ST_SHARE_ADD] = "INSERT INTO shares(list, member) VALUES($1, $2) ON CONFLICT DO NOTHING",
    [ST_SHARE_DEL] = "DELETE FROM shares WHERE list = $1 AND member = $2",
    [ST_SHARE_GET] = "SELECT 1 FROM shares WHERE list = $1 AND member = $2",
    [ST_SHARES] = "SELECT list, member FROM shares WHERE list = $1 OR member = $1"
                  " ORDER BY list, member",
    [ST_ADD_TAG] = "INSERT INTO task_tags(task_id, tag, list) VALUES($1, $2, $3)"
                   " ON CONFLICT DO NOTHING",
    [ST_DEL_TAG] = "DELETE FROM task_tags WHERE task_id = $1 AND tag = $2",
    [ST_COUNT_TAGS] = "SELECT count(*) FROM task_tags WHERE task_id = $1",
    [ST_SET_TAGS] = "UPDATE tasks SET tags = (SELECT string_agg(tag, ',' ORDER BY tag)"
                    " FROM task_tags WHERE task_id = $1) WHERE id = $1",
    [ST_GET] = "SELECT " TASK_COLS " FROM tasks t WHERE t.id = $1",
    [ST_EDIT] = EDIT_SQL(UNDO_SAVE_MINE_CTE, SEQ_NOW),
    [ST_SET_DONE] = SET_DONE_SQL(UNDO_SAVE_MINE_CTE, SEQ_NOW),
    [ST_EDIT_AHEAD] = EDIT_SQL(UNDO_SAVE_OWN_CTE, SEQ_OWN) " RETURNING ver",
    [ST_SET_DONE_AHEAD] = SET_DONE_SQL(UNDO_SAVE_OWN_CTE, SEQ_OWN) " RETURNING ver",
    [ST_DEL] = "DELETE FROM tasks WHERE id = $1",
    [ST_DEL_TAGS] = "DELETE FROM task_tags WHERE task_id = $1",
    [ST_TAGS] = "SELECT tag, count(*) FROM task_tags WHERE list = $1 GROUP BY tag ORDER BY tag",
    [ST_COUNT] = "SELECT count(*) FROM tasks WHERE list = $1",
    [ST_PUT] = "INSERT INTO tasks(id, text, done, pri, due, created, updated, ver, list)"
               " VALUES($1, $2, 0, 0, NULL, $3::bigint, $3::bigint, " SEQ_NOW ", $4)"
               " ON CONFLICT (id) DO UPDATE SET text = excluded.text, updated = excluded.updated,"
               " ver = excluded.ver, u_kind = NULL RETURNING xmax = 0",
    [ST_EXISTS] = "SELECT 1 FROM tasks WHERE id = $1",
    [ST_RESTORE] =
        "INSERT INTO tasks(id, text, done, pri, due, created, updated, ver, u_kind, u_b, list)"
        " VALUES($1, $2, $3::int, $4::int, $5, $6::bigint, $7::bigint, $8::bigint, 6, 0, $9)",
    [ST_REPLACE] = UNDO_SAVE_CTE(
        "$1", "$8") "UPDATE tasks SET " UNDO_KEEP_SQL ", u_kind = 6, ver = $8::bigint,"
                    " text = $2, done = $3::int, pri = $4::int, due = $5, created = $6::bigint,"
                    " updated = $7::bigint WHERE id = $1",
    [ST_UNDO_SAVE] = "INSERT INTO undo_old " UNDO_OLD_COLS " SELECT id, ver, u_kind, u_b, u_text,"
                     " u_done, u_pri, u_due, u_created, u_updated, u_tags, u_ver, list FROM tasks"
                     " WHERE id = $1 AND u_kind IS NOT NULL" UNDO_OLD_UPSERT,
    [ST_UNDO_SAVE_DEL] =
        UNDO_SAVE_MINE_CTE("$1", "$2") "INSERT INTO undo_old " UNDO_OLD_COLS " SELECT id, " SEQ_NOW
                                       ", 5, 1,"
                                       " text, done, pri, due, created, updated, tags, ver, list"
                                       " FROM tasks"
                                       " WHERE id = $1" UNDO_OLD_UPSERT,
    /* FOR UPDATE: another server's write of the task waits for this
     * UNDO, or this UNDO sees its change (READ COMMITTED reads the newest
     * committed row once the lock is had) and refuses. */
    [ST_UNDO_ROW] = "SELECT ver, u_b, u_tags, u_ver, u_kind IS NULL FROM tasks WHERE id = $1"
                    " FOR UPDATE",
    [ST_UNDO_OLD] = "SELECT tags, ver FROM undo_old WHERE task_id = $1 AND seq = $2::bigint",
    [ST_UNDO_BACK] = "UPDATE tasks SET text = u_text, done = u_done, pri = u_pri, due = u_due,"
                     " created = u_created, updated = u_updated, tags = u_tags, ver = u_ver,"
                     " (u_kind, u_b, u_text, u_done, u_pri, u_due, u_created, u_updated, u_tags,"
                     " u_ver) = (SELECT o.kind, o.b, o.text, o.done, o.pri, o.due, o.created,"
                     " o.updated, o.tags, o.ver FROM undo_old o"
                     " WHERE o.task_id = tasks.id AND o.seq = tasks.u_ver)"
                     " WHERE id = $1",
    [ST_UNDO_REVIVE] = "INSERT INTO tasks(id, text, done, pri, due, created, updated, tags, ver,"
                       " u_kind, u_b, u_text, u_done, u_pri, u_due, u_created, u_updated, u_tags,"
                       " u_ver, list) SELECT d.task_id, d.text, d.done, d.pri, d.due, d.created,"
                       " d.updated, d.tags, d.ver, o.kind, o.b, o.text, o.done, o.pri, o.due,"
                       " o.created, o.updated, o.tags, o.ver, d.list FROM undo_old d"
                       " LEFT JOIN undo_old o"
                       " ON o.task_id = d.task_id AND o.seq = d.ver"
                       " WHERE d.task_id = $1 AND d.seq = $2::bigint ON CONFLICT (id) DO NOTHING",
    [ST_UNDO_FORGET] = "DELETE FROM undo_old WHERE task_id = $1 AND seq = $2::bigint",
    /* Each list trims its own history (undo_trim). */
    [ST_UNDO_TRIM] = "DELETE FROM undo_old WHERE list = $2 AND seq < $1::bigint",
    /* The newest changes UNDO may take back in each list, oldest first,
     * for the undo stacks at open. */
    [ST_UNDO_LOAD] = "SELECT seq, kind, task_id, list FROM (SELECT seq, kind, task_id, list,"
                     " row_number() OVER (PARTITION BY list ORDER BY seq DESC) AS r FROM"
                     " (SELECT ver AS seq, u_kind AS kind, id AS task_id, list FROM tasks"
                     " WHERE u_kind IS NOT NULL"
                     " UNION ALL SELECT seq, kind, task_id, list FROM undo_old) AS h) AS w"
                     " WHERE r <= 100 ORDER BY list, seq",
    /* A change's number, when pg_cmd_begin did not take it (the
     * versions' schema step). */
    [ST_NEXT_VER] = "SELECT nextval('task_vers')",
    [ST_TAG_TASKS] = "SELECT count(*) FROM task_tags WHERE list = $2 AND tag = $1",
    /* The batch's log rows, $1 of them ($2 keys, $3 kinds, $4 fields, as
     * arrays; $5 whether $6 .. $12 hold the task, captured, or it is to
     * be copied from tasks as the batch leaves it; $14 their lists),
     * numbered after the head; the rows older than the newest $13 go;
     * the last number. */
    [ST_LOG_WRITE] = LOG_WRITE_SQL(" seq > (SELECT base FROM h) - $13::bigint AND"),
    [ST_LOG_WRITE_SWEEP] = LOG_WRITE_SQL(""),
    /* Users (schema step 3). */
    [ST_USER_ADD] = "INSERT INTO users(name, hash, admin, locked, created)"
                    " VALUES($1, $2, $3::int, $4::int, $5::bigint) ON CONFLICT (name) DO NOTHING",
    [ST_USER_UPDATE] =
        "UPDATE users SET hash = $2, admin = $3::int, locked = $4::int WHERE name = $1",
    [ST_USER_DEL] = "DELETE FROM users WHERE name = $1",
    [ST_USER_GET] = "SELECT " USER_COLS " FROM users WHERE name = $1",
    [ST_USERS] = "SELECT " USER_COLS " FROM users ORDER BY name",
};
/* NOLINTEND(bugprone-suspicious-missing-comma) */

enum { ROLE_READ = STORE_ROLE_READ, ROLE_STREAM = STORE_ROLE_STREAM, ROLE_WRITER };

struct pg_cursor {
    int kind; /* STORE_KIND_PG: first (store-engine.h) */
    struct pg_store *s;
    PGresult *res; /* the rows fetched: n of them, pos the next to hand out */
    int n, pos;
    char *words; /* LIST's words (a copy), or NULL */
    size_t wlen;
    unsigned gen; /* s->tx_gen when it was declared */
    long long most;
    size_t strip; /* bytes of "LIST/" before each key's id (store_scope) */
};

struct id_mark {
    int64_t next, block;
};

struct pg_store {
    int kind; /* STORE_KIND_PG: first (store-engine.h) */
    PGconn *c;
    struct pg_engine *e;
    int role;
    int reading; /* a read transaction of ours is open */
    /* Reads sent ahead of the pass's GETs (pg_read_ahead), made on first
     * use; ra_live from sending them to pg_read_end. */
    struct read_ahead *ra;
    int ra_live;
    /* The writer: the batch's first writes sent ahead (pg_write_ahead_*),
     * made on first use; wa_live while some of them are still to be
     * served, wa_serving while the command of entry wa_cur runs. */
    struct write_ahead *wa;
    int wa_live, wa_serving;
    size_t wa_cur;
    int pass_got; /* pg_get ran since pg_read_end */
    uint64_t read_stamp;
    int in_tx;   /* the writer: a batch's transaction is open */
    int sp_open; /* the writer: the command's savepoint is open */
    /* The writer's statements that wait to go with the next one (pipe_send):
     * the batch's BEGIN, the command's SAVEPOINT (after the RELEASE of the
     * last one's, when release_due) and its change's number (into
     * ver_next). */
    int begin_due, sp_due, ver_due;
    /* A pipeline that could not be ended cleanly: the connection is made
     * again before its next transaction (ensure). */
    int pipe_broken;
    /* The writer: the last command's savepoint is to be released, which
     * the next SAVEPOINT does in the same round trip (COMMIT releases it
     * anyway). */
    int release_due;
    size_t undo_sp_mark, undo_cmd_mark;
    /* The writer: the number of the command's change (task_vers), taken
     * by pg_cmd_begin in its SAVEPOINT's round trip for a command that
     * writes, so that numbering a change costs no round trip of its own;
     * 0 when none is taken (undo_seq asks the sequence then). */
    int64_t ver_next;
    struct id_mark tx_mark, sp_mark;
    /* A writer: the slots of the tasks its batch changed (touch), to be
     * published after its COMMIT; touched_bit says which are in. */
    uint32_t *touched;
    size_t ntouched;
    unsigned char *touched_bit;
    /* A writer whose batch's COMMIT is on its way (the engine's pend):
     * committing until its answer came, commit_rc then its outcome.
     * Under the engine's commit_lock. */
    int committing, commit_rc;
    int counted;
    unsigned tx_gen; /* counts the transactions begun (cursors live in one) */
    struct pg_cursor cur;
    int cur_open;
    /* The list the task calls work in (store_scope), NUL-terminated. */
    char scope[STORE_MAX_LIST + 1];
    size_t scope_len;
    char err[384];
};

struct pg_engine {
    int kind; /* STORE_KIND_PG: first (store-engine.h) */
    char *uri;
    int durable; /* the writer's commits wait for the WAL flush (session_setup) */
    char describe[160];
    /* The write turn: one batch runs its commands at a time, on the
     * writer it took (writer). Its COMMIT goes on after the turn is
     * handed on, so that the next batch runs while PostgreSQL commits this
     * one: two connections (writers), the batch committing (pend, until
     * the turn's next holder settles its outcome) and the one running. */
    pthread_mutex_t write_lock;
    struct pg_store *writer;
    struct pg_store *writers[PG_WRITERS];
    struct pg_store *pend;
    pthread_mutex_t commit_lock;
    pthread_cond_t commit_done;
    /* ADD's ids [next, end) are ours, from the block that nextval gave at
     * block, shared by the writers under the write turn. The sequence is
     * not rolled back with a transaction, so a rollback keeps the block
     * and only puts next back (when it is still the same block). */
    struct {
        int known;
        int64_t next, end, block;
    } ids;
#ifdef TODO_FAULT_INJECTION
    atomic_int fault;
#endif
    _Atomic uint64_t commits;
    _Atomic uint64_t slot[CHANGE_SLOTS];
    struct undo_shelf undo; /* this server's history, one stack per list */
    unsigned undo_saves;
    atomic_int conns;
    /* 1 from the writer finding its connection lost to its reconnecting
     * (STATS's store_state). */
    atomic_int lost;
    /* Orders the two publishers of the change counter, the writer after
     * its COMMIT and the follower after reading other servers' changes:
     * each sets its slots to commits + 1 and then commits, and commits
     * must never go back. Held for those stores only. */
    pthread_mutex_t stamp_lock;
    /* Under stamp_lock: the log numbers of this server's own newest
     * commits, oldest first, whose slots the writer has published itself
     * and the follower leaves alone (a second bump would only drop cache
     * entries made since). When the follower is behind by more, the
     * oldest are forgotten and it bumps them again: a false alarm. */
    struct {
        uint64_t first, last;
    } own[OWN_RANGES];
    size_t own_head, own_n;
    /* The change log's rows of the batch under way: the writer's, under
     * the write turn. log_cmd_mark: where the command's own begin. */
    struct log_rec *logv;
    size_t logn, logcap, log_cmd_mark;
    struct proto_buf log_text; /* the captured tasks' texts and tags */
    int log_broken;            /* a row could not be kept (no memory): the batch must not commit */
    size_t log_keep;
    unsigned log_batches;       /* the batches that logged, for LOG_SWEEP_EVERY */
    _Atomic uint64_t log_mine;  /* the last number our own commits took */
    struct pg_follow *follow;   /* store_engine_follow's thread, or NULL */
    atomic_ullong ahead_served; /* GETs answered from reads sent ahead (ra_take) */
    atomic_ullong ahead_writes; /* writes answered from writes sent ahead (wa_serve) */
    atomic_ullong overlapped;   /* batches begun while the one before committed */
};

/* One row of the change log, as the writer keeps it until its COMMIT. Its
 * task is copied from tasks at the COMMIT, unless a later write of the
 * same batch was about to change it: then it was captured (log_capture)
 * as this change left it, its strings in the engine's log_text. */
struct log_rec {
    char id[STORE_KEY_MAX + 1]; /* the task's key (store_key_of) */
    unsigned char kind;         /* enum store_logged_kind */
    unsigned char fields;
    unsigned char captured; /* 1: the task below; 2: captured, but gone */
    unsigned char done, has_due;
    int pri;
    int64_t created, updated;
    char due[PROTO_DATE_LEN + 1];
    size_t text_off, text_len, tags_off, tags_len;
};

/* The follower: a thread with a connection of its own in LISTEN, which
 * reads the log past the last row it has seen when notified, after
 * reconnecting, and once a second in any case. */
struct pg_follow {
    struct pg_engine *e;
    pthread_t thread;
    int stop_fd[2]; /* a pipe: a byte written asks the thread to stop */
    PGconn *c;
    store_follow_fn fn;
    void *arg;
    uint64_t last; /* the last row read */
    char listen_sql[160];
    /* What one read hands to fn. */
    struct store_logged rows[LOG_READ_ROWS];
    struct proto_task tasks[LOG_READ_ROWS];
};

int pg_is_uri(const char *path)
{
    return strncmp(path, "postgresql:", 11) == 0 || strncmp(path, "postgres:", 9) == 0;
}

static int failf(struct pg_store *s, const PGresult *r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records "what: PostgreSQL's message" as s's last error. */
static int failf(struct pg_store *s, const PGresult *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(s->err, sizeof(s->err), fmt, ap);
    va_end(ap);
    const char *m = r != NULL ? PQresultErrorMessage(r) : "";
    if (m == NULL || *m == '\0')
        m = s->c != NULL ? PQerrorMessage(s->c) : "";
    if (n >= 0 && (size_t)n < sizeof(s->err) && m != NULL && *m != '\0') {
        snprintf(s->err + n, sizeof(s->err) - (size_t)n, ": %s", m);
        size_t l = strlen(s->err);
        while (l > 0 && (s->err[l - 1] == '\n' || s->err[l - 1] == ' '))
            s->err[--l] = '\0';
    }
    return STORE_ERROR;
}

const char *pg_errmsg(struct pg_store *s)
{
    return s->err;
}

/* A statement's parameters: numbers as text, strings in binary format,
 * which for text is the bytes themselves, with their length (text format
 * would need them NUL-terminated, and a request's strings point into
 * its line). */
struct params {
    const char *v[16];
    int len[16];
    int fmt[16];
    char buf[16][24];
    int n;
};

static void p_str(struct params *p, struct proto_str v)
{
    p->v[p->n] = v.len ? v.ptr : "";
    p->len[p->n] = (int)v.len;
    p->fmt[p->n] = 1;
    p->n++;
}

static void p_text(struct params *p, const char *v, size_t len)
{
    p_str(p, (struct proto_str){v, len});
}

static void p_int(struct params *p, long long v)
{
    snprintf(p->buf[p->n], sizeof(p->buf[p->n]), "%lld", v);
    p->v[p->n] = p->buf[p->n];
    p->len[p->n] = (int)strlen(p->buf[p->n]);
    p->fmt[p->n] = 0;
    p->n++;
}

/* A NUL-terminated value in PostgreSQL's text format (an array's). */
static void p_literal(struct params *p, const char *v)
{
    p->v[p->n] = v;
    p->len[p->n] = 0;
    p->fmt[p->n] = 0;
    p->n++;
}

static void p_null(struct params *p)
{
    p->v[p->n] = NULL;
    p->len[p->n] = 0;
    p->fmt[p->n] = 0;
    p->n++;
}

/* ST_EDIT's parameters (and ST_EDIT_AHEAD's): what EDIT sets, its time,
 * the task's key and whether this server's history holds the task. */
static void edit_params(struct params *p, int has_text, struct proto_str text, int pri, int due_op,
                        const char *due, int64_t now, struct proto_str key, int mine)
{
    p_int(p, has_text);
    if (has_text)
        p_str(p, text);
    else
        p_null(p);
    p_int(p, pri);
    p_int(p, due_op);
    if (due_op == 1)
        p_text(p, due, PROTO_DATE_LEN);
    else
        p_null(p);
    p_int(p, now);
    p_str(p, key);
    p_int(p, mine);
}

/* ST_SET_DONE's parameters (and ST_SET_DONE_AHEAD's); kind is UNDO's. */
static void done_params(struct params *p, int done, int64_t now, struct proto_str key, int kind,
                        int mine)
{
    p_int(p, done);
    p_int(p, now);
    p_str(p, key);
    p_int(p, kind);
    p_int(p, mine);
}

/* ---- the writer's pipeline ----
 *
 * A batch's BEGIN, each command's SAVEPOINT (with the RELEASE of the one
 * before) and the number of its change need no answer of their own
 * before the command's first statement: they wait (begin_due, sp_due,
 * ver_due) and go with that statement in one pipeline (libpq's pipeline
 * mode, one Sync), which costs one round trip to PostgreSQL where they
 * used to cost one each. A statement that fails makes PostgreSQL skip the
 * rest up to the Sync, so a failed SAVEPOINT is never followed by a
 * statement run outside it. The connection is in pipeline mode only
 * inside pipe_send: every other call on it is the plain blocking kind. */

static int64_t col_int(const PGresult *r, int row, int col);
static int ensure(struct pg_store *s);

/* One statement of a pipeline: prepared statement name, or sql text,
 * with p (NULL: none); res is its result after pipe_send (NULL when it
 * was never run). */
struct pipe_stmt {
    const char *name;
    const char *sql;
    const struct params *p;
    PGresult *res;
};

enum due { DUE_BEGIN, DUE_RELEASE, DUE_SAVEPOINT, DUE_VER };
static const char *const due_sql[] = {
    [DUE_BEGIN] = "BEGIN",
    [DUE_RELEASE] = "RELEASE SAVEPOINT cmd",
    [DUE_SAVEPOINT] = "SAVEPOINT cmd",
    [DUE_VER] = "SELECT nextval('task_vers')",
};
static const char *const due_what[] = {
    [DUE_BEGIN] = "cannot begin a transaction",
    [DUE_RELEASE] = "cannot close a savepoint",
    [DUE_SAVEPOINT] = "cannot open a savepoint",
    [DUE_VER] = "cannot number the change",
};

static int due_any(const struct pg_store *s)
{
    return s->begin_due || s->sp_due || s->ver_due;
}

static void due_clear(struct pg_store *s)
{
    s->begin_due = s->sp_due = s->ver_due = 0;
}

/* Sends sent[0..ns) (what is due) and the n statements of v as one
 * pipeline, ended by a Sync, without waiting for any answer; *got is how
 * many were sent, whose answers pipe_finish must read. STORE_ERROR, with
 * s's error set, when not all of it could be sent. */
static int pipe_start(struct pg_store *s, const enum due *sent, size_t ns, struct pipe_stmt *v,
                      size_t n, size_t *got)
{
    size_t total = ns + n;
    int rc = STORE_OK;
    *got = 0;
    for (size_t i = 0; i < n; i++)
        v[i].res = NULL;
    if (PQenterPipelineMode(s->c) != 1)
        return failf(s, NULL, "cannot send statements to PostgreSQL");
    char ver_name[16];
    /* The number is a prepared statement's, which PostgreSQL need not
     * parse and plan again each time. */
    snprintf(ver_name, sizeof(ver_name), "s%d", (int)ST_NEXT_VER);
    for (size_t i = 0; i < total && rc == STORE_OK; i++) {
        int ok;
        if (i < ns && sent[i] == DUE_VER)
            ok = PQsendQueryPrepared(s->c, ver_name, 0, NULL, NULL, NULL, 0);
        else if (i < ns)
            ok = PQsendQueryParams(s->c, due_sql[sent[i]], 0, NULL, NULL, NULL, NULL, 0);
        else if (v[i - ns].name != NULL) {
            const struct params *p = v[i - ns].p;
            ok = PQsendQueryPrepared(s->c, v[i - ns].name, p ? p->n : 0, p ? p->v : NULL,
                                     p ? p->len : NULL, p ? p->fmt : NULL, 0);
        } else {
            const struct params *p = v[i - ns].p;
            ok = PQsendQueryParams(s->c, v[i - ns].sql, p ? p->n : 0, NULL, p ? p->v : NULL,
                                   p ? p->len : NULL, p ? p->fmt : NULL, 0);
        }
        if (ok != 1)
            rc = failf(s, NULL, "cannot send statements to PostgreSQL");
        else
            *got = i + 1; /* sent, so an answer is to be read */
    }
    if (PQpipelineSync(s->c) != 1 && rc == STORE_OK)
        rc = failf(s, NULL, "cannot send statements to PostgreSQL");
    return rc;
}

/* Reads the answers to the got statements pipe_start sent (and the
 * Sync's), and leaves pipeline mode; rc is pipe_start's. Each of v gets
 * its result; what was due is checked here. STORE_ERROR, with s's error
 * set, when something due failed, or the pipeline itself (v then has no
 * results); a statement of v that failed has its own failed result, for
 * the caller to word. */
static int pipe_finish(struct pg_store *s, const enum due *sent, size_t ns, struct pipe_stmt *v,
                       size_t n, size_t got, int rc)
{
    /* Each statement's answer is its result and then NULL; the Sync's is
     * PGRES_PIPELINE_SYNC. A lost connection answers NULL early. */
    int synced = 0;
    for (size_t i = 0; i < got; i++) {
        PGresult *r = PQgetResult(s->c);
        if (r == NULL) {
            if (rc == STORE_OK)
                rc = failf(s, NULL, "the connection to PostgreSQL is lost");
            break;
        }
        if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
            synced = 1;
            PQclear(r);
            if (rc == STORE_OK)
                rc = failf(s, NULL, "PostgreSQL answered fewer statements than were sent");
            break;
        }
        if (i >= ns) {
            v[i - ns].res = r;
        } else {
            ExecStatusType st = PQresultStatus(r);
            if (sent[i] == DUE_VER && st == PGRES_TUPLES_OK && PQntuples(r) == 1)
                s->ver_next = col_int(r, 0, 0);
            else if ((sent[i] == DUE_VER || st != PGRES_COMMAND_OK) && rc == STORE_OK)
                rc = failf(s, r, "%s", due_what[sent[i]]);
            PQclear(r);
        }
        PGresult *z;
        while ((z = PQgetResult(s->c)) != NULL) { /* the NULL that ends this answer */
            int sync = PQresultStatus(z) == PGRES_PIPELINE_SYNC;
            PQclear(z);
            if (sync) {
                synced = 1;
                break;
            }
        }
        if (synced)
            break;
    }
    for (int k = 0; !synced && k < 4 && PQstatus(s->c) == CONNECTION_OK; k++) {
        PGresult *r = PQgetResult(s->c);
        if (r == NULL)
            continue;
        synced = PQresultStatus(r) == PGRES_PIPELINE_SYNC;
        PQclear(r);
    }
    if (PQexitPipelineMode(s->c) != 1) {
        /* Answers are left unread: nothing more can be asked on this
         * connection until it is made again. */
        s->pipe_broken = 1;
        if (rc == STORE_OK)
            rc = failf(s, NULL, "cannot end a pipeline of statements");
    }
    if (rc != STORE_OK) {
        for (size_t i = 0; i < n; i++) {
            PQclear(v[i].res);
            v[i].res = NULL;
        }
    }
    return rc;
}

/* Sends what is due and the n statements of v in one pipeline, and
 * reads every answer (pipe_finish says what comes back). */
static int pipe_once(struct pg_store *s, struct pipe_stmt *v, size_t n)
{
    enum due sent[4];
    size_t ns = 0, got = 0;
    if (s->begin_due)
        sent[ns++] = DUE_BEGIN;
    if (s->sp_due && s->release_due)
        sent[ns++] = DUE_RELEASE;
    if (s->sp_due)
        sent[ns++] = DUE_SAVEPOINT;
    if (s->ver_due)
        sent[ns++] = DUE_VER;
    int rc = pipe_start(s, sent, ns, v, n, &got);
    if ((rc = pipe_finish(s, sent, ns, v, n, got, rc)) != STORE_OK)
        return rc;
    if (s->sp_due) {
        s->sp_open = 1;
        s->release_due = 0;
    }
    due_clear(s);
    return STORE_OK;
}

/* pipe_once, and once more when the batch's BEGIN was in it and the
 * connection turned out lost (PostgreSQL restarted since the last
 * batch): nothing was open on it, so the batch can start again on a new
 * one, and the first write after a restart is served, not refused. */
static int settle(struct pg_store *s);

static int pipe_send(struct pg_store *s, struct pipe_stmt *v, size_t n)
{
    if (settle(s) != STORE_OK)
        return STORE_ERROR;
    int began = s->begin_due;
    int rc = pipe_once(s, v, n);
    if (rc == STORE_OK || !began || PQstatus(s->c) != CONNECTION_BAD)
        return rc;
    int sp = s->sp_due, ver = s->ver_due;
    if (ensure(s) != STORE_OK)
        return STORE_ERROR;
    s->in_tx = 1; /* ensure forgot it: the batch goes on */
    s->begin_due = 1;
    s->sp_due = sp;
    s->ver_due = ver;
    s->release_due = 0;
    return pipe_once(s, v, n);
}

/* Sends what is due on its own, before a statement that cannot go in a
 * pipeline (a PQexec's). */
static int due_flush(struct pg_store *s)
{
    return due_any(s) ? pipe_send(s, NULL, 0) : STORE_OK;
}

/* ---- faults, for the tests (store.h's store_fault_set) ---- */

#ifdef TODO_FAULT_INJECTION
static int fault(struct pg_store *s, enum store_fault f, const char *what)
{
    if (atomic_load_explicit(&s->e->fault, memory_order_relaxed) != (int)f)
        return 0;
    snprintf(s->err, sizeof(s->err), "%s: injected fault", what);
    return 1;
}

void pg_fault_set(struct pg_engine *e, enum store_fault f)
{
    atomic_store(&e->fault, (int)f);
}
#else
/* s is used, so that a function whose only use of it is a fault (read_fault)
 * builds without TODO_FAULT_INJECTION (-DTODO_BUILD_TESTS=OFF). */
#define fault(s, f, what) ((void)(s), 0)
#endif

/* ---- reading ahead (store.h's store_read_ahead) ----
 *
 * A reader's GETs of one pass, when the worker names them before it runs
 * them: their SELECTs go in one pipeline (no BEGIN: each statement of it
 * reads in a snapshot of its own, taken after ra->stamp was), whose
 * answers are read when the first of them is asked for, so that N GETs
 * cost one round trip where they cost N, and the SELECTs run in
 * PostgreSQL while the worker answers the pass's other requests. The
 * connection is in pipeline mode from pg_read_ahead to ra_collect, and
 * every other statement on it collects first (run, exec_raw, exec_params,
 * exec_sql). */

/* The most reads sent ahead at once (store_engine_reads_ahead). */
#define READ_AHEAD_MAX 64

struct read_ahead {
    struct pipe_stmt st[READ_AHEAD_MAX];
    struct params p[READ_AHEAD_MAX];
    struct {
        char buf[STORE_KEY_MAX + 1];
        size_t len;
        int taken;
    } key[READ_AHEAD_MAX];
    size_t n, got;
    int sent;       /* answers still to be read (ra_collect) */
    int rc;         /* pipe_start's */
    uint64_t stamp; /* the engine's commits before they were sent */
    char get_name[16];
};

/* Reads the answers of the reads sent ahead, if they are still to read. */
static void ra_collect(struct pg_store *s)
{
    struct read_ahead *a = s->ra;
    if (a == NULL || !a->sent)
        return;
    a->sent = 0;
    if (pipe_finish(s, NULL, 0, a->st, a->n, a->got, a->rc) != STORE_OK)
        log_debug("PostgreSQL: reads sent ahead: %s", s->err);
}

/* Drops the reads sent ahead (the pass is over, or the connection is
 * being made again), answered or not. */
static void ra_drop(struct pg_store *s)
{
    struct read_ahead *a = s->ra;
    s->ra_live = 0;
    if (a == NULL)
        return;
    if (a->sent && PQstatus(s->c) == CONNECTION_OK)
        ra_collect(s);
    a->sent = 0;
    for (size_t i = 0; i < a->n; i++) {
        PQclear(a->st[i].res);
        a->st[i].res = NULL;
    }
    a->n = 0;
}

size_t pg_engine_reads_ahead(const struct pg_engine *e)
{
    (void)e;
    return READ_AHEAD_MAX;
}

void pg_read_ahead(struct pg_store *s, const struct store_want *v, size_t n)
{
    if (s->role == ROLE_WRITER || s->reading || s->in_tx || s->ra_live || n < 2)
        return; /* one read gains nothing: it is one round trip either way */
    if (s->ra == NULL && (s->ra = calloc(1, sizeof(*s->ra))) == NULL)
        return;
    if (ensure(s) != STORE_OK)
        return;
    struct read_ahead *a = s->ra;
    size_t m = 0;
    snprintf(a->get_name, sizeof(a->get_name), "s%d", (int)ST_GET);
    for (size_t i = 0; i < n && m < READ_AHEAD_MAX; i++) {
        struct store_key k;
        if (v[i].list.len > STORE_MAX_LIST || v[i].id.len > PROTO_MAX_ID)
            continue;
        struct proto_str key = store_key_of(v[i].list.ptr, v[i].list.len, v[i].id, &k);
        memcpy(a->key[m].buf, key.ptr, key.len);
        a->key[m].len = key.len;
        a->key[m].taken = 0;
        a->p[m].n = 0;
        p_text(&a->p[m], a->key[m].buf, key.len);
        a->st[m] = (struct pipe_stmt){.name = a->get_name, .p = &a->p[m]};
        m++;
    }
    if (m < 2)
        return;
    /* Taken before the snapshots are: a reply cached from them is then
     * stamped no later than what it shows (store_read_stamp). */
    a->stamp = atomic_load(&s->e->commits);
    a->n = m;
    a->rc = pipe_start(s, NULL, 0, a->st, m, &a->got);
    a->sent = 1;
    s->ra_live = 1;
    if (a->rc != STORE_OK)
        ra_collect(s); /* out of pipeline mode again; the GETs read on their own */
}

unsigned long long pg_reads_ahead_served(struct pg_store *s)
{
    return atomic_load_explicit(&s->e->ahead_served, memory_order_relaxed);
}

/* The answer sent ahead for key, or NULL when there is none (the caller
 * then reads it itself); taken, so that a second GET of it reads again. */
static PGresult *ra_take(struct pg_store *s, struct proto_str key)
{
    struct read_ahead *a = s->ra;
    if (!s->ra_live || a == NULL)
        return NULL;
    for (size_t i = 0; i < a->n; i++) {
        if (a->key[i].taken || a->key[i].len != key.len ||
            memcmp(a->key[i].buf, key.ptr, key.len) != 0)
            continue;
        a->key[i].taken = 1;
        ra_collect(s);
        PGresult *r = a->st[i].res;
        a->st[i].res = NULL;
        if (r != NULL && PQresultStatus(r) == PGRES_TUPLES_OK) {
            atomic_fetch_add_explicit(&s->e->ahead_served, 1, memory_order_relaxed);
            return r;
        }
        PQclear(r);
        return NULL;
    }
    return NULL;
}

/* ---- writing ahead (store.h's store_write_ahead) ----
 *
 * The writer's side of the same idea: the batch's first writes, when the
 * worker names them before it runs them (EDITs without tags, DONE and
 * UNDONE, of different tasks, the first statements of the batch), go to
 * PostgreSQL in one pipeline with the batch's BEGIN: for each, a
 * savepoint of its own (w0, w1, ..., left open, so that any of them can
 * still be taken back with all that came after it) and its UPDATE, which
 * numbers the change itself and gives the number back (ST_EDIT_AHEAD,
 * ST_SET_DONE_AHEAD). Then each command, as it runs, is answered from
 * its entry (pg_cmd_begin finds it): OK or NOTFOUND, its number for
 * UNDO, its row in the change log. N such writes cost one round trip
 * where they cost N.
 *
 * What was sent but is not served in its turn (its client went, a
 * command came that the worker did not foresee) is taken back before
 * anything else runs on the writer (settle: ROLLBACK TO the first
 * unserved entry's savepoint), and those commands, if they come, run the
 * ordinary way; so does an entry that failed in PostgreSQL, and every
 * one after it (wa_collect). A write sent ahead is thus never committed
 * unless its command ran and was answered from it. */

/* The most writes sent ahead at once (store_engine_writes_ahead): each
 * holds a savepoint open until the COMMIT. */
#define WRITE_AHEAD_MAX 32

struct wa_ent {
    enum proto_cmd cmd;
    char key[STORE_KEY_MAX + 1];
    size_t key_len;
    int has_text, pri, due_op, mine;
    char due[PROTO_DATE_LEN];
    size_t text_off, text_len; /* in write_ahead.text */
    int changed;               /* its UPDATE found the task */
    int64_t ver;               /* the number of its change */
};

struct write_ahead {
    struct wa_ent e[WRITE_AHEAD_MAX];
    struct proto_buf text;
    struct params p[WRITE_AHEAD_MAX];
    char sp_sql[WRITE_AHEAD_MAX][32];
    struct pipe_stmt st[2 * WRITE_AHEAD_MAX];
    char edit_name[16], done_name[16];
    size_t n;    /* entries named */
    size_t ok;   /* once answered: entries [0, ok) ran and stand */
    size_t next; /* the first entry not yet served */
    size_t got;
    int sent; /* answers still to be read (wa_collect) */
    int rc;   /* pipe_start's */
};

static const enum due wa_due[] = {DUE_BEGIN};

/* Forgets the writes sent ahead without a statement: the transaction is
 * being rolled back, or the connection made again. */
static void wa_forget(struct pg_store *w)
{
    w->wa_live = 0;
    w->wa_serving = 0;
    if (w->wa == NULL)
        return;
    w->wa->sent = 0;
    w->wa->n = w->wa->ok = w->wa->next = 0;
    for (size_t i = 0; i < 2 * WRITE_AHEAD_MAX; i++) {
        PQclear(w->wa->st[i].res);
        w->wa->st[i].res = NULL;
    }
}

/* Runs sql (savepoint statements) on w, once the pipeline is over. */
static int wa_exec(struct pg_store *w, const char *sql, const char *what)
{
    PGresult *r = PQexec(w->c, sql);
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? STORE_OK : failf(w, r, "%s", what);
    PQclear(r);
    return rc;
}

/* Reads the answers of the writes sent ahead. Those before the first that
 * failed (if any) stand; that one and the rest are taken back (PostgreSQL
 * skipped the rest anyway), to run the ordinary way when they come. */
static void wa_collect(struct pg_store *w)
{
    struct write_ahead *a = w->wa;
    if (a == NULL || !a->sent)
        return;
    a->sent = 0;
    size_t nst = 2 * a->n, k;
    if (pipe_finish(w, wa_due, 1, a->st, nst, a->got, a->rc) != STORE_OK) {
        /* The BEGIN or the pipeline failed: nothing of it stands. */
        log_debug("PostgreSQL: writes sent ahead: %s", w->err);
        if (PQstatus(w->c) == CONNECTION_OK && PQtransactionStatus(w->c) != PQTRANS_IDLE)
            (void)wa_exec(w, "ROLLBACK", "cannot roll back");
        w->begin_due = 1; /* the batch begins again with its next statement */
        a->ok = 0;
        w->wa_live = 0;
        return;
    }
    w->begin_due = 0;
    for (k = 0; k < a->n; k++) {
        const PGresult *sp = a->st[2 * k].res, *up = a->st[2 * k + 1].res;
        if (PQresultStatus(sp) != PGRES_COMMAND_OK || PQresultStatus(up) != PGRES_TUPLES_OK)
            break;
        a->e[k].changed = PQntuples(up) > 0;
        a->e[k].ver = a->e[k].changed ? col_int(up, 0, 0) : 0;
    }
    a->ok = k;
    if (k < a->n) {
        char sql[128];
        log_debug("PostgreSQL: a write sent ahead failed: %s",
                  PQresultErrorMessage(a->st[2 * k + 1].res));
        if (PQresultStatus(a->st[2 * k].res) == PGRES_COMMAND_OK) {
            snprintf(sql, sizeof(sql), "ROLLBACK TO SAVEPOINT w%zu; RELEASE SAVEPOINT w%zu", k, k);
        } else if (k > 0) {
            a->ok = --k; /* its savepoint was not made: back to the one before */
            snprintf(sql, sizeof(sql), "ROLLBACK TO SAVEPOINT w%zu; RELEASE SAVEPOINT w%zu", k, k);
        } else {
            snprintf(sql, sizeof(sql), "ROLLBACK");
            w->begin_due = 1;
        }
        /* When even this fails, the transaction stays in error, and
         * pg_write_ok says so to the batch. */
        if (wa_exec(w, sql, "cannot take back the writes sent ahead") != STORE_OK)
            log_warn("%s", w->err);
    }
    for (size_t i = 0; i < nst; i++) {
        PQclear(a->st[i].res);
        a->st[i].res = NULL;
    }
    if (a->ok == 0)
        w->wa_live = 0;
}

/* Takes back the writes sent ahead that were not served (their commands
 * did not come in their turn), before anything else runs on w. */
static int wa_abandon(struct pg_store *w)
{
    struct write_ahead *a = w->wa;
    w->wa_live = 0;
    if (a->next >= a->ok)
        return STORE_OK;
    char sql[128];
    snprintf(sql, sizeof(sql), "ROLLBACK TO SAVEPOINT w%zu; RELEASE SAVEPOINT w%zu", a->next,
             a->next);
    a->ok = a->next;
    return wa_exec(w, sql, "cannot take back the writes sent ahead");
}

/* Before any other statement on s: the reads sent ahead are read, and so
 * are the writes, whose unserved rest is taken back unless the command
 * of one of them is running. */
static int settle(struct pg_store *s)
{
    ra_collect(s);
    if (s->wa == NULL)
        return STORE_OK;
    wa_collect(s);
    if (s->wa_live && !s->wa_serving)
        return wa_abandon(s);
    return STORE_OK;
}

unsigned long long pg_writes_ahead_served(struct pg_store *s)
{
    return atomic_load_explicit(&s->e->ahead_writes, memory_order_relaxed);
}

unsigned long long pg_commits_overlapped(struct pg_store *s)
{
    return atomic_load_explicit(&s->e->overlapped, memory_order_relaxed);
}

size_t pg_engine_writes_ahead(const struct pg_engine *e)
{
    (void)e;
    return WRITE_AHEAD_MAX;
}

static struct undo_stack *undo_of(struct pg_store *s);
static const struct undo_ent *undo_mine(struct pg_store *s, struct proto_str id);
static size_t change_slot(struct proto_str id);
static int slot_in(const struct pg_store *w, size_t i);
static void pend_wait(struct pg_engine *e);

int pg_write_ahead_add(struct pg_store *w, struct proto_str list, const struct proto_request *req)
{
    if (w->role != ROLE_WRITER || !w->in_tx || !w->begin_due || w->wa_live)
        return STORE_ERROR; /* only the first statements of a batch */
    int edit = req->cmd == PROTO_CMD_EDIT && req->ntags == 0 && req->nuntags == 0;
    if (!edit && req->cmd != PROTO_CMD_DONE && req->cmd != PROTO_CMD_UNDONE)
        return STORE_ERROR;
    if (list.len > STORE_MAX_LIST || req->id.len > PROTO_MAX_ID)
        return STORE_ERROR;
    if (w->wa == NULL) {
        if ((w->wa = calloc(1, sizeof(*w->wa))) == NULL)
            return STORE_ERROR;
        proto_buf_init(&w->wa->text, 0);
    }
    struct write_ahead *a = w->wa;
    if (a->n == WRITE_AHEAD_MAX)
        return STORE_ERROR;
    struct store_key k;
    struct proto_str key = store_key_of(list.ptr, list.len, req->id, &k);
    for (size_t i = 0; i < a->n; i++)
        if (a->e[i].key_len == key.len && memcmp(a->e[i].key, key.ptr, key.len) == 0)
            return STORE_ERROR; /* a task twice: the second reads what the first left */
    struct wa_ent *e = &a->e[a->n];
    memset(e, 0, sizeof(*e));
    e->cmd = req->cmd;
    memcpy(e->key, key.ptr, key.len);
    e->key_len = key.len;
    if (edit) {
        e->has_text = req->has_text;
        e->pri = req->pri;
        e->due_op = req->due_op;
        if (req->due_op == 1)
            memcpy(e->due, req->due, PROTO_DATE_LEN);
        e->text_off = a->text.len;
        e->text_len = req->has_text ? req->text.len : 0;
        if (e->text_len > 0 && proto_buf_append(&a->text, req->text.ptr, e->text_len) != 0)
            return STORE_ERROR;
    }
    /* Whether this server's history of the list holds the task (the
     * statement keeps its before-image then), in the entry's list. */
    char scope[STORE_MAX_LIST + 1];
    size_t scope_len = w->scope_len;
    memcpy(scope, w->scope, scope_len + 1);
    w->scope_len = store_scope_copy(w->scope, list);
    e->mine = undo_mine(w, req->id) != NULL;
    memcpy(w->scope, scope, scope_len + 1);
    w->scope_len = scope_len;
    a->n++;
    return STORE_OK;
}

void pg_write_ahead_send(struct pg_store *w, int64_t now)
{
    struct write_ahead *a = w->wa;
    if (a == NULL || a->n == 0)
        return;
    if (!w->in_tx || !w->begin_due || w->wa_live) {
        a->n = 0;
        return;
    }
    /* A task the committing batch changed: as in touch. */
    for (size_t k = 0; w->e->pend != NULL && k < a->n; k++)
        if (slot_in(w->e->pend, change_slot((struct proto_str){a->e[k].key, a->e[k].key_len})))
            pend_wait(w->e);
    snprintf(a->edit_name, sizeof(a->edit_name), "s%d", (int)ST_EDIT_AHEAD);
    snprintf(a->done_name, sizeof(a->done_name), "s%d", (int)ST_SET_DONE_AHEAD);
    for (size_t k = 0; k < a->n; k++) {
        const struct wa_ent *e = &a->e[k];
        struct params *p = &a->p[k];
        struct proto_str key = {e->key, e->key_len};
        p->n = 0;
        if (e->cmd == PROTO_CMD_EDIT) {
            struct proto_str text = {a->text.data + e->text_off, e->text_len};
            edit_params(p, e->has_text, text, e->pri, e->due_op, e->due, now, key, e->mine);
        } else {
            int done = e->cmd == PROTO_CMD_DONE;
            done_params(p, done, now, key, done ? UNDO_DONE : UNDO_UNDONE, e->mine);
        }
        snprintf(a->sp_sql[k], sizeof(a->sp_sql[k]), "SAVEPOINT w%zu", k);
        a->st[2 * k] = (struct pipe_stmt){.sql = a->sp_sql[k]};
        a->st[2 * k + 1] = (struct pipe_stmt){
            .name = e->cmd == PROTO_CMD_EDIT ? a->edit_name : a->done_name, .p = p};
        if (k == 1 && fault(w, STORE_FAULT_AHEAD, "a write sent ahead fails"))
            a->st[2 * k + 1] = (struct pipe_stmt){.sql = "SELECT 1 / 0"};
    }
    a->ok = a->next = 0;
    a->rc = pipe_start(w, wa_due, 1, a->st, 2 * a->n, &a->got);
    a->sent = 1;
    w->wa_live = 1;
    if (a->rc != STORE_OK)
        wa_collect(w);
}

/* Whether req, whose command begins on w, is the next write sent ahead:
 * then it is served from it (wa_serving). */
static int wa_serve(struct pg_store *w, const struct proto_request *req)
{
    struct write_ahead *a = w->wa;
    wa_collect(w);
    if (!w->wa_live || a->next >= a->ok)
        return 0;
    const struct wa_ent *e = &a->e[a->next];
    struct store_key k;
    struct proto_str key = store_key_of(w->scope, w->scope_len, req->id, &k);
    if (req->cmd != e->cmd || key.len != e->key_len || memcmp(key.ptr, e->key, key.len) != 0)
        return 0;
    if (req->cmd == PROTO_CMD_EDIT) {
        size_t tl = req->has_text ? req->text.len : 0;
        if (req->ntags > 0 || req->nuntags > 0 || req->has_text != e->has_text ||
            req->pri != e->pri || req->due_op != e->due_op || tl != e->text_len ||
            (tl > 0 && memcmp(req->text.ptr, a->text.data + e->text_off, tl) != 0) ||
            (e->due_op == 1 && memcmp(req->due, e->due, PROTO_DATE_LEN) != 0))
            return 0;
    }
    w->wa_cur = a->next++;
    w->wa_serving = 1;
    atomic_fetch_add_explicit(&w->e->ahead_writes, 1, memory_order_relaxed);
    w->ver_next = e->ver;
    return 1;
}

/* The served write's outcome, as EDIT, DONE and UNDONE record it. */
static void undo_push(struct pg_store *s, int64_t seq, int64_t kind, struct proto_str id);
static int undo_kept(struct pg_store *s);
static int undo_seq(struct pg_store *s, int64_t *seq);
static void log_add(struct pg_store *s, int kind, unsigned fields, struct proto_str id);
static void touch(struct pg_store *s, struct proto_str id);

static int wa_served(struct pg_store *s, struct proto_str id, struct proto_str key, int undo_kind,
                     int log_kind, unsigned fields)
{
    int64_t seq;
    int rc = undo_kept(s);
    if (rc != STORE_OK)
        return rc;
    touch(s, key);
    if (!s->wa->e[s->wa_cur].changed)
        return STORE_NOTFOUND;
    if ((rc = undo_seq(s, &seq)) != STORE_OK)
        return rc;
    undo_push(s, seq, undo_kind, id);
    log_add(s, log_kind, fields, key);
    return STORE_OK;
}

/* Runs prepared statement id: its result (the caller PQclears it), or
 * NULL with s's error set. */
static PGresult *run(struct pg_store *s, enum stmt_id id, const struct params *p, const char *what)
{
    char name[16];
    if (settle(s) != STORE_OK)
        return NULL;
    snprintf(name, sizeof(name), "s%d", (int)id);
    PGresult *r;
    if (due_any(s)) {
        struct pipe_stmt st = {.name = name, .p = p};
        if (pipe_send(s, &st, 1) != STORE_OK)
            return NULL;
        r = st.res;
    } else {
        r = PQexecPrepared(s->c, name, p ? p->n : 0, p ? p->v : NULL, p ? p->len : NULL,
                           p ? p->fmt : NULL, 0);
    }
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return r;
    failf(s, r, "%s", what);
    PQclear(r);
    return NULL;
}

/* Runs a statement and says how many rows it changed (or returned), or -1. */
static long run_n(struct pg_store *s, enum stmt_id id, const struct params *p, const char *what)
{
    PGresult *r = run(s, id, p, what);
    if (r == NULL)
        return -1;
    long n = PQresultStatus(r) == PGRES_TUPLES_OK ? PQntuples(r) : atol(PQcmdTuples(r));
    PQclear(r);
    return n;
}

/* PQexec, after what is due (NULL, with s's error set, when that failed). */
static PGresult *exec_raw(struct pg_store *s, const char *sql)
{
    if (settle(s) != STORE_OK)
        return NULL;
    if (due_flush(s) != STORE_OK)
        return NULL;
    return PQexec(s->c, sql);
}

/* PQexecParams, after what is due. */
static PGresult *exec_params(struct pg_store *s, const char *sql, const struct params *p)
{
    if (settle(s) != STORE_OK)
        return NULL;
    if (due_flush(s) != STORE_OK)
        return NULL;
    return PQexecParams(s->c, sql, p->n, NULL, p->v, p->len, p->fmt, 0);
}

/* Runs SQL text that returns no rows. */
static int exec_sql(struct pg_store *s, const char *sql, const char *what)
{
    if (settle(s) != STORE_OK)
        return STORE_ERROR;
    if (due_flush(s) != STORE_OK)
        return STORE_ERROR;
    PGresult *r = PQexec(s->c, sql);
    ExecStatusType st = PQresultStatus(r);
    int rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? STORE_OK : failf(s, r, "%s", what);
    PQclear(r);
    return rc;
}

static int prepare_all(struct pg_store *s)
{
    for (int i = 0; i < ST__COUNT; i++) {
        char name[16];
        snprintf(name, sizeof(name), "s%d", i);
        PGresult *r = PQprepare(s->c, name, stmt_sql[i], 0, NULL);
        int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok)
            failf(s, r, "cannot prepare a statement");
        PQclear(r);
        if (!ok)
            return STORE_ERROR;
    }
    return STORE_OK;
}

/* The session as the engine wants it: no notices on stderr, times and
 * text as the engine reads them. */
static void notice_quiet(void *arg, const char *msg)
{
    (void)arg;
    log_debug("PostgreSQL: %s", msg);
}

static int session_setup(struct pg_store *s);

/* A lost connection (the database restarted, say) is made again here,
 * before the next statement: its statements are prepared again, and what
 * was open on it (a snapshot) is gone. STORE_OK with the connection up. */
static int ensure(struct pg_store *s)
{
    if (PQstatus(s->c) == CONNECTION_OK && !s->pipe_broken)
        return STORE_OK;
    ra_drop(s);
    wa_forget(s);
    s->reading = 0;
    s->in_tx = 0;
    s->sp_open = 0;
    s->pipe_broken = 0;
    due_clear(s);
    if (s->role == ROLE_WRITER)
        atomic_store(&s->e->lost, 1);
    PQreset(s->c);
    if (PQstatus(s->c) != CONNECTION_OK) {
        snprintf(s->err, sizeof(s->err), "the connection to PostgreSQL is lost: %s",
                 PQerrorMessage(s->c));
        size_t l = strlen(s->err);
        while (l > 0 && s->err[l - 1] == '\n')
            s->err[--l] = '\0';
        return STORE_ERROR;
    }
    if (session_setup(s) != STORE_OK || prepare_all(s) != STORE_OK) {
        PQfinish(s->c);
        s->c = PQconnectdb(s->e->uri);
        return STORE_ERROR;
    }
    if (s->role == ROLE_WRITER)
        atomic_store(&s->e->lost, 0);
    log_info("PostgreSQL: connection made again");
    return STORE_OK;
}

/* The first schema of search_path, created if it does not exist (a URI
 * with options=-csearch_path=NAME picks a schema of its own: the tests
 * give each server one). */
static int schema_ensure(struct pg_store *s, char *err, size_t errcap)
{
    PGresult *r = PQexec(s->c, "SELECT current_schema() IS NULL, "
                               "format('CREATE SCHEMA IF NOT EXISTS %I', "
                               "trim(both '\" ' from split_part(current_setting('search_path'), "
                               "',', 1)))");
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        snprintf(err, errcap, "cannot read the search path: %s", PQresultErrorMessage(r));
        PQclear(r);
        return -1;
    }
    int missing = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    char sql[256];
    snprintf(sql, sizeof(sql), "%s", PQgetvalue(r, 0, 1));
    PQclear(r);
    if (!missing)
        return 0;
    if (exec_sql(s, sql, "cannot create the schema") != STORE_OK) {
        snprintf(err, errcap, "%s", s->err);
        return -1;
    }
    return 0;
}

/* Brings the schema to SCHEMA_VERSION, in one transaction under an
 * advisory lock, so that two servers starting at once upgrade it once. */
static int migrate(struct pg_store *s, char *err, size_t errcap)
{
    if (schema_ensure(s, err, errcap) != 0)
        return -1;
    if (exec_sql(s, "BEGIN", "cannot begin") != STORE_OK ||
        exec_sql(s, "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK ")", "cannot lock") != STORE_OK ||
        exec_sql(s, "CREATE TABLE IF NOT EXISTS todo_schema(version integer NOT NULL)",
                 "cannot create todo_schema") != STORE_OK)
        goto fail;
    PGresult *r = PQexec(s->c, "SELECT max(version) FROM todo_schema");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        failf(s, r, "cannot read the schema version");
        PQclear(r);
        goto fail;
    }
    int from = PQgetisnull(r, 0, 0) ? 0 : atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    if (from > SCHEMA_VERSION) {
        exec_sql(s, "ROLLBACK", "cannot roll back");
        snprintf(err, errcap,
                 "the PostgreSQL database has todo schema version %d, but this todo-server "
                 "knows versions up to %d; run a newer todo-server, or pick another --db",
                 from, SCHEMA_VERSION);
        return -1;
    }
    for (int i = from; i < SCHEMA_VERSION; i++) {
        if (exec_sql(s, migrations[i], "cannot upgrade the schema") != STORE_OK) {
            snprintf(err, errcap, "schema version %d: %s", i + 1, s->err);
            exec_sql(s, "ROLLBACK", "cannot roll back");
            return -1;
        }
    }
    char sql[96];
    snprintf(sql, sizeof(sql), "DELETE FROM todo_schema; INSERT INTO todo_schema VALUES(%d)",
             SCHEMA_VERSION);
    if (exec_sql(s, sql, "cannot record the schema version") != STORE_OK ||
        exec_sql(s, "COMMIT", "cannot commit the schema") != STORE_OK)
        goto fail;
    if (from == 0)
        log_info("PostgreSQL database: created with schema version %d", SCHEMA_VERSION);
    else if (from < SCHEMA_VERSION)
        log_info("PostgreSQL database: schema upgraded from version %d to %d", from,
                 SCHEMA_VERSION);
    return 0;
fail:
    snprintf(err, errcap, "%s", s->err);
    exec_sql(s, "ROLLBACK", "cannot roll back");
    return -1;
}

static void conn_close(struct pg_store *s);

/* What a session needs, at connect and again after a reconnect (PQreset
 * keeps the connection's parameters, not what SET changed): text in
 * UTF-8, and for a durable server (--sync full) every commit of the writer
 * waiting for its WAL to be flushed, whatever the database's default. */
static int session_setup(struct pg_store *s)
{
    if (exec_sql(s, "SET client_encoding = 'UTF8'", "cannot set up the session") != STORE_OK)
        return STORE_ERROR;
    if (s->role == ROLE_WRITER && s->e->durable &&
        exec_sql(s, "SET synchronous_commit = on", "cannot set up the session") != STORE_OK)
        return STORE_ERROR;
    return STORE_OK;
}

/* "postgresql:" alone: every setting from the PG* environment. */
static const char *conninfo_of(const struct pg_engine *e)
{
    return strcmp(e->uri, "postgresql:") == 0 || strcmp(e->uri, "postgres:") == 0 ? "" : e->uri;
}

static int conn_open(struct pg_engine *e, int role, struct pg_store **out, char *err, size_t errcap)
{
    *out = NULL;
    struct pg_store *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(err, errcap, "out of memory");
        return STORE_ERROR;
    }
    s->kind = STORE_KIND_PG;
    s->e = e;
    s->role = role;
    if (role == ROLE_WRITER && ((s->touched = malloc(CHANGE_SLOTS * sizeof(*s->touched))) == NULL ||
                                (s->touched_bit = calloc(CHANGE_SLOTS / 8, 1)) == NULL)) {
        snprintf(err, errcap, "out of memory");
        goto fail;
    }
    s->c = PQconnectdb(conninfo_of(e));
    if (s->c == NULL || PQstatus(s->c) != CONNECTION_OK) {
        snprintf(err, errcap, "cannot connect to PostgreSQL: %s",
                 s->c ? PQerrorMessage(s->c) : "out of memory");
        size_t l = strlen(err);
        while (l > 0 && err[l - 1] == '\n')
            err[--l] = '\0';
        goto fail;
    }
    PQsetNoticeProcessor(s->c, notice_quiet, NULL);
    if (session_setup(s) != STORE_OK) {
        snprintf(err, errcap, "%s", s->err);
        goto fail;
    }
    /* The first writer brings the schema up to date, before any other
     * connection prepares its statements. */
    if (role == ROLE_WRITER && e->writers[0] == NULL && migrate(s, err, errcap) != 0)
        goto fail;
    if (prepare_all(s) != STORE_OK) {
        snprintf(err, errcap, "%s", s->err);
        goto fail;
    }
    if (role != ROLE_WRITER) {
        s->counted = 1;
        atomic_fetch_add(&e->conns, 1);
    }
    *out = s;
    return STORE_OK;
fail:
    conn_close(s);
    return STORE_ERROR;
}

/* On a clean close, the writer gives back the ids of its block that it
 * did not hand out, so that a restart goes on from the next id. */
static void give_back_ids(struct pg_store *s)
{
    if (!s->e->ids.known || s->e->ids.next >= s->e->ids.end || PQstatus(s->c) != CONNECTION_OK)
        return;
    struct params p = {.n = 0};
    p_int(&p, s->e->ids.next);
    p_int(&p, s->e->ids.block);
    if (run_n(s, ST_GIVE_BACK_IDS, &p, "cannot give back unused ids") < 0)
        log_debug("%s", s->err);
    s->e->ids.known = 0;
}

static void conn_close(struct pg_store *s)
{
    if (s == NULL)
        return;
    if (s->cur_open)
        pg_cursor_close(&s->cur);
    if (s->c != NULL && PQstatus(s->c) == CONNECTION_OK) {
        pg_read_end(s);
        if (s->role == ROLE_WRITER)
            give_back_ids(s);
    }
    if (s->counted)
        atomic_fetch_sub(&s->e->conns, 1);
    ra_drop(s);
    free(s->ra);
    if (s->wa != NULL) {
        wa_forget(s);
        proto_buf_free(&s->wa->text);
        free(s->wa);
    }
    free(s->touched);
    free(s->touched_bit);
    PQfinish(s->c);
    free(s);
}

void pg_close(struct pg_store *s)
{
    if (s != NULL && s->role == ROLE_WRITER) {
        log_error("store_close() of the writer; store_engine_close() closes it");
        return;
    }
    conn_close(s);
}

/* ---- the engine ---- */

static int undo_load(struct pg_store *s);
static int pend_settle(struct pg_engine *e, struct pg_store *cur);

static void engine_free(struct pg_engine *e)
{
    undo_shelf_free(&e->undo);
    free(e->logv);
    proto_buf_free(&e->log_text);
    pthread_mutex_destroy(&e->stamp_lock);
    pthread_mutex_destroy(&e->write_lock);
    pthread_mutex_destroy(&e->commit_lock);
    pthread_cond_destroy(&e->commit_done);
    free(e->uri);
    free(e);
}

int pg_engine_open(struct pg_engine **out, const struct store_options *o, char *err, size_t errcap)
{
    *out = NULL;
    struct pg_engine *e = calloc(1, sizeof(*e));
    if (e == NULL || (e->uri = strdup(o->path)) == NULL) {
        free(e);
        snprintf(err, errcap, "out of memory");
        return STORE_ERROR;
    }
    e->kind = STORE_KIND_PG;
    e->durable = o->durable != 0;
    pthread_mutex_init(&e->write_lock, NULL);
    pthread_mutex_init(&e->stamp_lock, NULL);
    pthread_mutex_init(&e->commit_lock, NULL);
    pthread_cond_init(&e->commit_done, NULL);
    e->log_keep = LOG_KEEP_DEFAULT;
    proto_buf_init(&e->log_text, 0);
    for (size_t i = 0; i < PG_WRITERS; i++)
        if (conn_open(e, ROLE_WRITER, &e->writers[i], err, errcap) != STORE_OK)
            goto fail;
    e->writer = e->writers[0];
    if (undo_load(e->writer) != STORE_OK) {
        snprintf(err, errcap, "PostgreSQL database: %s", e->writer->err);
        goto fail;
    }
    PGconn *c = e->writer->c;
    const char *host = PQhost(c);
    const char *sync = PQparameterStatus(c, "synchronous_commit");
    PGresult *r = PQexec(c, "SHOW synchronous_commit");
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        sync = PQgetvalue(r, 0, 0);
    snprintf(e->describe, sizeof(e->describe),
             "PostgreSQL %d.%d, database %s on %s%s, synchronous_commit=%s",
             PQserverVersion(c) / 10000, PQserverVersion(c) % 10000, PQdb(c),
             host && *host == '/' ? "socket " : "", host ? host : "", sync ? sync : "?");
    PQclear(r);
    *out = e;
    return STORE_OK;
fail:
    for (size_t i = 0; i < PG_WRITERS; i++)
        conn_close(e->writers[i]);
    engine_free(e);
    return STORE_ERROR;
}

void pg_engine_close(struct pg_engine *e)
{
    if (e == NULL)
        return;
    int open = atomic_load(&e->conns);
    if (open != 0)
        log_warn("closing the store with %d connections still open", open);
    pg_engine_unfollow(e);
    /* The last batch's COMMIT was answered before its write_end returned;
     * what is left is its outcome, for the undo history being freed. */
    pthread_mutex_lock(&e->write_lock);
    pend_settle(e, NULL);
    pthread_mutex_unlock(&e->write_lock);
    for (size_t i = 0; i < PG_WRITERS; i++)
        conn_close(e->writers[i]); /* the first gives back the unused ids */
    engine_free(e);
}

const char *pg_engine_describe(const struct pg_engine *e)
{
    return e->describe;
}

/* A REPEATABLE READ snapshot holds no write back. */
int pg_engine_streams(const struct pg_engine *e)
{
    (void)e;
    return 1;
}

/* PostgreSQL runs its own maintenance (autovacuum, checkpoints). */
void pg_engine_maintain(struct pg_engine *e)
{
    (void)e;
}

int pg_connect(struct pg_engine *e, enum store_role role, struct pg_store **out, char *err,
               size_t errcap)
{
    return conn_open(e, role == STORE_ROLE_STREAM ? ROLE_STREAM : ROLE_READ, out, err, errcap);
}

/* ---- reads: snapshots and the change counter ---- */

/* A connection that PostgreSQL closed (a restart) looks fine to libpq
 * until a statement on it fails. When that statement is the first of a
 * transaction, or a read on its own, nothing was open on the connection
 * and nothing is lost: it is made again and the statement run once more,
 * so that the first request after a restart is served, not answered ERR
 * STORE. 1 when s may retry so. */
static int retry_lost(struct pg_store *s)
{
    return PQstatus(s->c) == CONNECTION_BAD && !s->reading && !s->in_tx && ensure(s) == STORE_OK;
}

/* BEGIN (sql) on s, reconnecting first when needed (retry_lost). */
static int begin_tx(struct pg_store *s, const char *sql, const char *what)
{
    if (ensure(s) != STORE_OK)
        return STORE_ERROR;
    if (exec_sql(s, sql, what) == STORE_OK)
        return STORE_OK;
    return retry_lost(s) ? exec_sql(s, sql, what) : STORE_ERROR;
}

static int read_open(struct pg_store *s)
{
    if (s->reading || s->in_tx)
        return STORE_OK;
    s->read_stamp = atomic_load(&s->e->commits);
    if (begin_tx(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "cannot begin reading") !=
        STORE_OK)
        return STORE_ERROR;
    s->reading = 1;
    s->tx_gen++; /* a cursor of the last one is gone (pg_cursor_close) */
    return STORE_OK;
}

void pg_read_end(struct pg_store *s)
{
    ra_drop(s);
    s->pass_got = 0;
    if (!s->reading)
        return;
    s->reading = 0;
    if (PQstatus(s->c) == CONNECTION_OK &&
        exec_sql(s, "COMMIT", "cannot end a read transaction") != STORE_OK)
        log_warn("%s", s->err);
}

static size_t change_slot(struct proto_str id)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < id.len; i++)
        h = (h ^ (unsigned char)id.ptr[i]) * 16777619u;
    return h & (CHANGE_SLOTS - 1);
}

/* ---- lists (store_scope; schema step 5) ---- */

static struct proto_str key_of(const struct pg_store *s, struct proto_str id, struct store_key *k)
{
    return store_key_of(s->scope, s->scope_len, id, k);
}

/* How many bytes of a key of s's list come before the id. */
static size_t key_strip(const struct pg_store *s)
{
    return s->scope_len ? s->scope_len + 1 : 0;
}

static struct proto_str scope_of(const struct pg_store *s)
{
    return (struct proto_str){s->scope, s->scope_len};
}

/* The writer's undo stack of s's list, made on first use (NULL: no
 * memory, which pg_cmd_begin finds out before a write is made). */
static struct undo_stack *undo_of(struct pg_store *s)
{
    return undo_shelf_use(&s->e->undo, scope_of(s));
}

void pg_scope(struct pg_store *s, struct proto_str list)
{
    s->scope_len = store_scope_copy(s->scope, list);
}

uint64_t pg_read_stamp(struct pg_store *s)
{
    if (s->ra_live)
        return s->ra->stamp; /* the snapshots of the reads sent ahead are later */
    if (!s->reading && !s->pass_got && !s->in_tx)
        return atomic_load(&s->e->commits);
    read_open(s);
    return s->reading ? s->read_stamp : atomic_load(&s->e->commits);
}

int pg_unchanged(struct pg_store *s, struct proto_str id, uint64_t stamp)
{
    struct store_key k;
    return atomic_load(&s->e->slot[change_slot(key_of(s, id, &k))]) <= stamp;
}

uint32_t pg_change_key(struct pg_store *s, struct proto_str id)
{
    struct store_key k;
    return (uint32_t)change_slot(key_of(s, id, &k));
}

int pg_unchanged_key(struct pg_store *s, uint32_t key, uint64_t stamp)
{
    return atomic_load(&s->e->slot[key & (CHANGE_SLOTS - 1)]) <= stamp;
}

static void log_capture(struct pg_store *s, struct proto_str id);
static int get_key(struct pg_store *s, struct proto_str key, store_task_fn fn, void *arg);

static int slot_in(const struct pg_store *w, size_t i)
{
    return (w->touched_bit[i / 8] & (1u << (i % 8))) != 0;
}

/* Waits for the answer to the COMMIT on its way (the engine's pend), if
 * any: what the running batch reads of the tasks it changed is then
 * what that COMMIT left, and so is the before-image its write keeps. */
static void pend_wait(struct pg_engine *e)
{
    struct pg_store *p = e->pend;
    if (p == NULL)
        return;
    pthread_mutex_lock(&e->commit_lock);
    while (p->committing)
        pthread_cond_wait(&e->commit_done, &e->commit_lock);
    pthread_mutex_unlock(&e->commit_lock);
}

/* Called by every write before it changes task id (its key). A task the
 * committing batch changed too waits for its COMMIT's answer first: in
 * READ COMMITTED an UPDATE would wait for its row anyway, but a
 * statement's other reads (the before-image kept for UNDO) would see the
 * task as it was before. */
static void touch(struct pg_store *s, struct proto_str id)
{
    if (s->role != ROLE_WRITER)
        return;
    size_t i = change_slot(id);
    if (slot_in(s, i)) {
        log_capture(s, id);
        return;
    }
    if (s->e->pend != NULL && slot_in(s->e->pend, i))
        pend_wait(s->e);
    s->touched_bit[i / 8] |= (unsigned char)(1u << (i % 8));
    s->touched[s->ntouched++] = (uint32_t)i;
}

/* After w's COMMIT: the slots of the tasks it changed, and its log
 * numbers [first, last] (none when last is 0) for the follower. */
static void touched_publish(struct pg_engine *e, const struct pg_store *w, uint64_t first,
                            uint64_t last)
{
    pthread_mutex_lock(&e->stamp_lock);
    if (last > 0) {
        if (e->own_n == OWN_RANGES) {
            e->own_head = (e->own_head + 1) % OWN_RANGES;
            e->own_n--;
        }
        size_t k = (e->own_head + e->own_n++) % OWN_RANGES;
        e->own[k].first = first;
        e->own[k].last = last;
    }
    uint64_t n = atomic_load(&e->commits) + 1;
    for (size_t k = 0; k < w->ntouched; k++)
        atomic_store(&e->slot[w->touched[k]], n);
    atomic_store(&e->commits, n);
    pthread_mutex_unlock(&e->stamp_lock);
}

static void touched_clear(struct pg_store *w)
{
    for (size_t k = 0; k < w->ntouched; k++)
        w->touched_bit[w->touched[k] / 8] = 0;
    w->ntouched = 0;
}

static int64_t col_int(const PGresult *r, int row, int col);

/* ---- the change log: writing it ---- */

/* Notes that the batch's write of task key id is a change of kind: a
 * row of the log at COMMIT. Only the writer logs (the follower and reads never
 * write). */
static void log_add(struct pg_store *s, int kind, unsigned fields, struct proto_str id)
{
    struct pg_engine *e = s->e;
    if (s->role != ROLE_WRITER)
        return;
    if (e->logn == e->logcap) {
        size_t cap = e->logcap ? e->logcap * 2 : 64;
        struct log_rec *v = realloc(e->logv, cap * sizeof(*v));
        if (v == NULL) {
            /* A change that other servers would never hear of must not
             * commit: the batch fails (pg_write_end). */
            e->log_broken = 1;
            return;
        }
        e->logv = v;
        e->logcap = cap;
    }
    struct log_rec *r = &e->logv[e->logn++];
    memset(r, 0, sizeof(*r));
    size_t n = id.len < STORE_KEY_MAX ? id.len : STORE_KEY_MAX;
    memcpy(r->id, id.ptr, n);
    r->id[n] = '\0';
    r->kind = (unsigned char)kind;
    r->fields = (unsigned char)fields;
}

/* A capture's copy of the task that a write is about to change. */
struct capture {
    struct pg_engine *e;
    struct log_rec *r;
};

static int capture_task(void *arg, const struct proto_task *t)
{
    struct capture *k = arg;
    struct log_rec *r = k->r;
    struct proto_buf *b = &k->e->log_text;
    r->text_off = b->len;
    r->text_len = t->text.len;
    r->tags_off = b->len + t->text.len;
    r->tags_len = t->tags.len;
    if (proto_buf_append(b, t->text.ptr, t->text.len) != 0 ||
        proto_buf_append(b, t->tags.ptr, t->tags.len) != 0) {
        k->e->log_broken = 1;
        return 0;
    }
    r->captured = 1;
    r->done = t->done != 0;
    r->pri = t->pri;
    r->created = t->created;
    r->updated = t->updated;
    r->has_due = t->due[0] != '\0';
    memcpy(r->due, t->due, sizeof(r->due));
    return 0;
}

/* A write is about to change task id, which the batch changed before:
 * the log row of that earlier change takes the task as it is now (as
 * that change left it), since COMMIT would see only the last state. One
 * read, only for a task written twice in one batch. */
static void log_capture(struct pg_store *s, struct proto_str id)
{
    struct pg_engine *e = s->e;
    for (size_t i = e->logn; i-- > 0;) {
        struct log_rec *r = &e->logv[i];
        if (strlen(r->id) != id.len || memcmp(r->id, id.ptr, id.len) != 0)
            continue;
        if (r->captured || r->kind == STORE_LOGGED_DEL)
            return;
        struct capture k = {e, r};
        int rc = get_key(s, id, capture_task, &k);
        if (rc == STORE_NOTFOUND)
            r->captured = 2;
        else if (rc != STORE_OK)
            e->log_broken = 1; /* the batch fails: its log would be wrong */
        return;
    }
}

static void log_clear(struct pg_engine *e)
{
    e->log_text.len = 0;
    e->logn = 0;
    e->log_cmd_mark = 0;
    e->log_broken = 0;
    if (e->logcap > 4096) {
        free(e->logv);
        e->logv = NULL;
        e->logcap = 0;
    }
}

/* Appends an array element to b: len bytes of v in double quotes, with
 * " and \ escaped, as PostgreSQL's array input reads them; v NULL is
 * the element NULL. */
static int array_text(struct proto_buf *b, const char *v, size_t len, int first)
{
    if (!first && proto_buf_append(b, ",", 1) != 0)
        return -1;
    if (v == NULL)
        return proto_buf_append(b, "NULL", 4);
    if (proto_buf_append(b, "\"", 1) != 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if ((v[i] == '"' || v[i] == '\\') && proto_buf_append(b, "\\", 1) != 0)
            return -1;
        if (proto_buf_append(b, v + i, 1) != 0)
            return -1;
    }
    return proto_buf_append(b, "\"", 1);
}

/* An integer element; null makes it NULL. */
static int array_int(struct proto_buf *b, long long v, int null, int first)
{
    char num[24];
    int n = null ? snprintf(num, sizeof(num), "%sNULL", first ? "" : ",")
                 : snprintf(num, sizeof(num), "%s%lld", first ? "" : ",", v);
    return proto_buf_append(b, num, (size_t)n);
}

/* The arrays of ST_LOG_WRITE's parameters $2 .. $12. */
enum {
    LA_ID,
    LA_KIND,
    LA_FIELDS,
    LA_CAPTURED,
    LA_TEXT,
    LA_DONE,
    LA_PRI,
    LA_DUE,
    LA_CREATED,
    LA_UPDATED,
    LA_TAGS,
    LA_LIST,
    LA__COUNT
};

static int log_arrays(const struct pg_engine *e, struct proto_buf *a)
{
    for (int k = 0; k < LA__COUNT; k++)
        if (proto_buf_append(&a[k], "{", 1) != 0)
            return -1;
    const char *text = e->log_text.data;
    for (size_t i = 0; i < e->logn; i++) {
        const struct log_rec *r = &e->logv[i];
        int f = i == 0, c = r->captured == 1;
        /* The key's list: what comes before its '/', if it has one. */
        const char *slash = strchr(r->id, '/');
        size_t list_len = slash != NULL ? (size_t)(slash - r->id) : 0;
        if (array_text(&a[LA_ID], r->id, strlen(r->id), f) != 0 ||
            array_int(&a[LA_KIND], r->kind, 0, f) != 0 ||
            array_int(&a[LA_FIELDS], r->fields, 0, f) != 0 ||
            array_int(&a[LA_CAPTURED], r->captured != 0, 0, f) != 0 ||
            array_text(&a[LA_TEXT], c ? text + r->text_off : NULL, r->text_len, f) != 0 ||
            array_int(&a[LA_DONE], r->done, !c, f) != 0 ||
            array_int(&a[LA_PRI], r->pri, !c, f) != 0 ||
            array_text(&a[LA_DUE], c && r->has_due ? r->due : NULL, strlen(r->due), f) != 0 ||
            array_int(&a[LA_CREATED], r->created, !c, f) != 0 ||
            array_int(&a[LA_UPDATED], r->updated, !c, f) != 0 ||
            array_text(&a[LA_TAGS], c && r->tags_len > 0 ? text + r->tags_off : NULL, r->tags_len,
                       f) != 0 ||
            array_text(&a[LA_LIST], r->id, list_len, f) != 0)
            return -1;
    }
    /* "}" with its NUL: the parameters are sent as C strings. */
    for (int k = 0; k < LA__COUNT; k++)
        if (proto_buf_append(&a[k], "}", 2) != 0)
            return -1;
    return 0;
}

/* The batch's change log and COMMIT, as commit_prepare makes them under
 * the write turn and commit_send sends them after it. */
struct commit_msg {
    struct proto_buf a[LA__COUNT];
    struct params p;
    char name[16];
    struct pipe_stmt v[2];
    struct pipe_stmt *commit;
    size_t n;
};

static void commit_free(struct commit_msg *m)
{
    for (size_t i = 0; i < m->n; i++)
        PQclear(m->v[i].res);
    for (int k = 0; k < LA__COUNT; k++)
        proto_buf_free(&m->a[k]);
}

/* The statements of the batch's end from its log rows (the engine's,
 * under the write turn): STORE_ERROR with s's error when out of memory. */
static int commit_prepare(struct pg_store *s, struct commit_msg *m)
{
    struct pg_engine *e = s->e;
    memset(m, 0, sizeof(*m));
    snprintf(m->name, sizeof(m->name), "s%d",
             (int)(++e->log_batches % LOG_SWEEP_EVERY == 0 ? ST_LOG_WRITE_SWEEP : ST_LOG_WRITE));
    m->v[0] = (struct pipe_stmt){.name = m->name, .p = &m->p};
    m->v[1] = (struct pipe_stmt){.sql = "COMMIT"};
    m->commit = &m->v[1];
    m->n = 2;
    for (int k = 0; k < LA__COUNT; k++)
        proto_buf_init(&m->a[k], 0);
    if (e->logn == 0) {
        m->commit = &m->v[0];
        m->v[0] = m->v[1];
        m->n = 1;
        return STORE_OK;
    }
    if (log_arrays(e, m->a) != 0) {
        commit_free(m);
        return failf(s, NULL, "out of memory for the change log");
    }
    p_int(&m->p, (long long)e->logn);
    for (int k = 0; k < LA_LIST; k++)
        p_literal(&m->p, m->a[k].data);
    p_int(&m->p, (long long)e->log_keep);
    p_literal(&m->p, m->a[LA_LIST].data);
    return STORE_OK;
}

/* The COMMIT of the batch, in one pipeline (one round trip) with the
 * statement that writes its rows to the change log when it has any
 * (e->logn > 0): one statement, whose update of todo_change_head makes
 * every other batch that logs (this server's next one, every other
 * server's) wait for this one's COMMIT, so that the numbers come in the
 * order of the commits, and which prunes the log to the newest log_keep
 * rows (as many as it adds, once full). *last: the last log number
 * taken. The COMMIT of a transaction that failed answers ROLLBACK, so only
 * the tag COMMIT says that it committed; a connection lost on the way
 * leaves it unknown, and is reported as a failure: never an OK for a
 * write that may not be kept. */
static int commit_send(struct pg_store *s, struct commit_msg *m, uint64_t *last)
{
    if (pipe_send(s, m->v, m->n) != STORE_OK)
        return STORE_ERROR;
    if (m->n == 2) {
        if (PQresultStatus(m->v[0].res) != PGRES_TUPLES_OK || PQntuples(m->v[0].res) != 1)
            return failf(s, m->v[0].res, "cannot write the change log");
        *last = (uint64_t)col_int(m->v[0].res, 0, 0);
    }
    if (PQresultStatus(m->commit->res) != PGRES_COMMAND_OK ||
        strcmp(PQcmdStatus(m->commit->res), "COMMIT") != 0)
        return failf(s, m->commit->res, "cannot commit");
    return STORE_OK;
}

/* ---- the write batch ---- */

static struct id_mark id_mark_take(const struct pg_store *s)
{
    return (struct id_mark){s->e->ids.next, s->e->ids.known ? s->e->ids.block : -1};
}

/* Back to a mark: the ids handed out since are free again, if they are
 * still of the block we hold (a block taken since stays ours). */
static void id_mark_restore(struct pg_store *s, const struct id_mark *m)
{
    if (s->e->ids.known && m->block == s->e->ids.block)
        s->e->ids.next = m->next;
}

/* The writer's own part of a rollback: its connection's transaction
 * and what was sent ahead on it. */
static void conn_rollback(struct pg_store *s)
{
    if (s->wa != NULL && s->wa->sent && PQstatus(s->c) == CONNECTION_OK)
        wa_collect(s); /* out of pipeline mode: the ROLLBACK takes it all back */
    wa_forget(s);
    if (PQstatus(s->c) != CONNECTION_OK)
        atomic_store(&s->e->lost, 1);
    s->in_tx = 0;
    s->sp_open = 0;
    s->release_due = 0;
    due_clear(s); /* what was never sent needs no taking back */
    if (PQstatus(s->c) == CONNECTION_OK && PQtransactionStatus(s->c) != PQTRANS_IDLE &&
        exec_sql(s, "ROLLBACK", "cannot roll back") != STORE_OK)
        log_debug("%s", s->err);
}

/* Under the write turn: the batch's rollback, and the engine's ids and
 * undo history back to before it. */
static void tx_rollback(struct pg_store *s)
{
    conn_rollback(s);
    id_mark_restore(s, &s->tx_mark);
    undo_shelf_rollback(&s->e->undo);
}

/* Whether the COMMIT on its way has been answered. */
static int pend_done(struct pg_engine *e)
{
    pthread_mutex_lock(&e->commit_lock);
    int done = !e->pend->committing;
    pthread_mutex_unlock(&e->commit_lock);
    return done;
}

/* Under the write turn: the outcome of the COMMIT on its way, waited for
 * and taken into the undo history and the ids. 1 when it failed: what ran
 * on top of it since (cur's batch, when not NULL) must roll back too. */
static int pend_settle(struct pg_engine *e, struct pg_store *cur)
{
    struct pg_store *p = e->pend;
    if (p == NULL)
        return 0;
    pend_wait(e);
    e->pend = NULL;
    touched_clear(p);
    int failed = p->commit_rc != STORE_OK;
    undo_shelf_settle(&e->undo, !failed);
    if (failed) {
        id_mark_restore(p, &p->tx_mark);
        if (cur != NULL)
            cur->tx_mark = p->tx_mark;
    }
    return failed;
}

int pg_write_begin(struct pg_engine *e, struct pg_store **w, char *err, size_t errcap)
{
    pthread_mutex_lock(&e->write_lock);
    if (e->pend != NULL && pend_done(e))
        pend_settle(e, NULL);
    if (e->pend != NULL)
        atomic_fetch_add_explicit(&e->overlapped, 1, memory_order_relaxed);
    /* The writer not committing: there is one, as only the batch before
     * this one can still be committing (pg_write_end settles the one
     * before it first). */
    struct pg_store *s = e->writers[e->pend == e->writers[0] ? 1 : 0];
    e->writer = s;
    *w = s;
    s->sp_open = 0;
    s->release_due = 0;
    s->tx_mark = id_mark_take(s);
    due_clear(s);
    /* The BEGIN goes with the batch's first statement (pipe_send), which
     * makes the connection again if PostgreSQL restarted since. */
    if (fault(s, STORE_FAULT_BEGIN, "cannot begin a write") || ensure(s) != STORE_OK) {
        snprintf(err, errcap, "%s", s->err);
        tx_rollback(s);
        pthread_mutex_unlock(&e->write_lock);
        return STORE_ERROR;
    }
    if (e->pend == NULL)
        undo_shelf_commit(&e->undo);
    log_clear(e);
    s->tx_gen++;
    s->in_tx = 1;
    s->begin_due = 1;
    wa_forget(s);
    return STORE_OK;
}

/* Every command has its savepoint: in PostgreSQL a failed statement
 * aborts the whole transaction, and only ROLLBACK TO a savepoint saves
 * the batch's other commands. The SAVEPOINT (and the RELEASE of the last
 * command's, which the COMMIT does otherwise) goes in the pipeline of the
 * command's first statement, so it costs no round trip of its own; a
 * command that failed rolls back to it and releases it in one round trip.
 * A command that ran no statement never had one. */
/* Whether the command writes a change that gets a number (undo_seq):
 * UNDO puts a task's old number back instead. */
static int cmd_numbered(const struct proto_request *req)
{
    if (req == NULL)
        return 0;
    switch (req->cmd) {
    case PROTO_CMD_ADD:
    case PROTO_CMD_EDIT:
    case PROTO_CMD_DONE:
    case PROTO_CMD_UNDONE:
    case PROTO_CMD_DEL:
    case PROTO_CMD_IMPORT:
    case PROTO_CMD_LEGACY_POST:
        return 1;
    default:
        return 0;
    }
}

int pg_cmd_begin(struct pg_store *w, const struct proto_request *req)
{
    w->sp_open = 0;
    w->ver_next = 0;
    if (fault(w, STORE_FAULT_UNDO, "out of memory for the undo history"))
        return STORE_ERROR;
    struct undo_stack *u = undo_of(w);
    if (u == NULL || undo_stack_reserve(u, 2) != 0)
        return failf(w, NULL, "out of memory for the undo history");
    w->undo_cmd_mark = undo_stack_mark(u);
    w->e->log_cmd_mark = w->e->logn;
    if (fault(w, STORE_FAULT_SAVEPOINT, "cannot open a savepoint"))
        return STORE_ERROR;
    w->sp_mark = id_mark_take(w);
    w->undo_sp_mark = w->undo_cmd_mark;
    /* A write sent ahead ran already, in a savepoint of its own. */
    if (w->wa_live && wa_serve(w, req)) {
        w->sp_due = 0;
        w->ver_due = 0;
        return STORE_OK;
    }
    if (settle(w) != STORE_OK)
        return STORE_ERROR;
    /* Both go with the command's first statement (pipe_send), which sets
     * sp_open; a command that writes takes its change's number there too. */
    w->sp_due = 1;
    w->ver_due = cmd_numbered(req);
    return STORE_OK;
}

int pg_cmd_end(struct pg_store *w, int failed)
{
    if (fault(w, STORE_FAULT_TX_LOST, "the transaction ended after an error")) {
        tx_rollback(w);
        return STORE_OK;
    }
    w->ver_next = 0;
    struct undo_stack *u = undo_of(w);
    if (failed && u != NULL)
        undo_stack_rollback(u, w->undo_cmd_mark);
    if (failed) {
        w->e->logn = w->e->log_cmd_mark;
    }
    /* A savepoint and a number never sent are dropped: the command ran
     * no statement. The last command's savepoint stays to be released. */
    w->sp_due = 0;
    w->ver_due = 0;
    if (w->wa_serving) {
        struct write_ahead *a = w->wa;
        w->wa_serving = 0;
        if (a->next >= a->ok)
            w->wa_live = 0; /* all served: nothing left to take back */
        if (!failed || !a->e[w->wa_cur].changed)
            return STORE_OK; /* a task not found changed nothing */
        /* Failed after its row changed: back to before it, which takes
         * the later ones back too (they run the ordinary way). */
        a->next = w->wa_cur;
        return wa_abandon(w);
    }
    if (!w->sp_open)
        return STORE_OK;
    w->sp_open = 0;
    if (fault(w, STORE_FAULT_RELEASE, "cannot close a savepoint"))
        return STORE_ERROR;
    if (!failed) {
        w->release_due = 1;
        return STORE_OK;
    }
    if (exec_sql(w, "ROLLBACK TO SAVEPOINT cmd; RELEASE SAVEPOINT cmd",
                 "cannot roll back to a savepoint") != STORE_OK)
        return STORE_ERROR;
    id_mark_restore(w, &w->sp_mark);
    return STORE_OK;
}

int pg_write_ok(struct pg_store *w)
{
    wa_collect(w); /* out of pipeline mode, and what failed in it taken back */
    /* A BEGIN still due: nothing of the batch stands, so nothing can have
     * failed, even when writes sent ahead found the connection lost (the
     * batch's first statement makes it again, pipe_send). */
    if (w->in_tx && w->begin_due)
        return 1;
    return w->in_tx && PQstatus(w->c) == CONNECTION_OK && !w->pipe_broken &&
           PQtransactionStatus(w->c) == PQTRANS_INTRANS;
}

/* The batch's COMMIT, made (m) under the write turn, is sent after the
 * turn is handed on, so that the next batch runs its commands while
 * PostgreSQL commits this one. Only its own connection is used after the
 * turn is gone; the undo history and the ids learn its outcome from the
 * turn's next holder (pend_settle). */
static int commit_async(struct pg_engine *e, struct pg_store *s, struct commit_msg *m,
                        size_t logged, char *err, size_t errcap)
{
    uint64_t last = 0;
    undo_shelf_hold(&e->undo);
    log_clear(e);
    pthread_mutex_lock(&e->commit_lock);
    s->committing = 1;
    pthread_mutex_unlock(&e->commit_lock);
    e->pend = s;
    pthread_mutex_unlock(&e->write_lock);

    int rc = commit_send(s, m, &last);
    commit_free(m);
    if (rc == STORE_OK) {
        s->in_tx = 0;
        if (last > 0)
            atomic_store(&e->log_mine, last);
        touched_publish(e, s, last > 0 ? last - logged + 1 : 0, last);
    } else {
        if (err != NULL)
            snprintf(err, errcap, "%s", s->err);
        conn_rollback(s);
    }
    s->in_tx = 0;
    s->sp_open = 0;
    due_clear(s);
    wa_forget(s);
    pthread_mutex_lock(&e->commit_lock);
    s->commit_rc = rc;
    s->committing = 0;
    pthread_cond_broadcast(&e->commit_done);
    pthread_mutex_unlock(&e->commit_lock);
    return rc;
}

int pg_write_end(struct pg_engine *e, int commit, char *err, size_t errcap)
{
    struct pg_store *s = e->writer;
    int rc = STORE_OK;
    size_t logged = e->logn;
    /* The batch before this one commits first, or this one cannot. */
    int before_failed = pend_settle(e, s);
    if (commit) {
        if (!pg_write_ok(s)) {
            snprintf(s->err, sizeof(s->err),
                     "cannot commit: the transaction was rolled back after an earlier error");
            rc = STORE_ERROR;
        } else if (fault(s, STORE_FAULT_COMMIT_FULL, "cannot commit: database or disk is full") ||
                   fault(s, STORE_FAULT_COMMIT_IOERR, "cannot commit: disk I/O error")) {
            rc = STORE_ERROR;
        } else if (e->log_broken) {
            rc = failf(s, NULL, "cannot commit: out of memory for the change log");
        } else if (s->begin_due && e->logn == 0) {
            /* A batch whose BEGIN is still due sent nothing, and has
             * nothing to commit. */
            s->in_tx = 0;
            touched_publish(e, s, 0, 0);
            undo_shelf_commit(&e->undo);
        } else if (before_failed) {
            snprintf(s->err, sizeof(s->err),
                     "cannot commit: the batch before it could not commit, and it ran on "
                     "what that one wrote");
            rc = STORE_ERROR;
        } else {
            struct commit_msg m;
            if ((rc = commit_prepare(s, &m)) == STORE_OK)
                return commit_async(e, s, &m, logged, err, errcap);
        }
        if (rc != STORE_OK && err != NULL)
            snprintf(err, errcap, "%s", s->err);
    }
    if (!commit || rc != STORE_OK)
        tx_rollback(s);
    s->in_tx = 0;
    touched_clear(s);
    log_clear(e);
    s->sp_open = 0;
    due_clear(s);
    wa_forget(s);
    pthread_mutex_unlock(&e->write_lock);
    return rc;
}

/* ---- tasks ---- */

static struct proto_str col_str(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return (struct proto_str){"", 0};
    return (struct proto_str){PQgetvalue(r, row, col), (size_t)PQgetlength(r, row, col)};
}

static int64_t col_int(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* The task of row (TASK_COLS's order from column 0); its strings point
 * into r. */
static void task_of_row(const PGresult *r, int row, struct proto_task *out)
{
    struct proto_task t;
    memset(&t, 0, sizeof(t));
    t.id = col_str(r, row, 0);
    t.text = col_str(r, row, 1);
    t.done = col_int(r, row, 2) != 0;
    t.pri = (int)col_int(r, row, 3);
    if (t.pri < PROTO_PRI_NONE || t.pri > PROTO_PRI_HIGH)
        t.pri = PROTO_PRI_NONE;
    struct proto_str due = col_str(r, row, 4);
    if (due.len == PROTO_DATE_LEN)
        memcpy(t.due, due.ptr, PROTO_DATE_LEN);
    t.due[due.len == PROTO_DATE_LEN ? PROTO_DATE_LEN : 0] = '\0';
    t.created = col_int(r, row, 5);
    t.updated = col_int(r, row, 6);
    t.tags = col_str(r, row, 7);
    *out = t;
}

/* Hands row to fn, its id without the first strip bytes of its key
 * (key_strip). */
static int emit_task(const PGresult *r, int row, size_t strip, store_task_fn fn, void *arg)
{
    struct proto_task t;
    task_of_row(r, row, &t);
    if (t.id.len > strip) {
        t.id.ptr += strip;
        t.id.len -= strip;
    }
    return fn(arg, &t);
}

static int read_fault(struct pg_store *s)
{
    return fault(s, STORE_FAULT_READ_IOERR, "cannot read tasks: disk I/O error");
}

static int tag_change(struct pg_store *s, enum stmt_id which, struct proto_str id,
                      struct proto_str tag)
{
    struct params p = {.n = 0};
    p_str(&p, id);
    p_str(&p, tag);
    if (which == ST_ADD_TAG)
        p_str(&p, scope_of(s));
    return run_n(s, which, &p, "cannot change a task's tags") < 0 ? STORE_ERROR : STORE_OK;
}

static int set_tags(struct pg_store *s, struct proto_str id)
{
    struct params p = {.n = 0};
    p_str(&p, id);
    return run_n(s, ST_SET_TAGS, &p, "cannot change a task's tags") < 0 ? STORE_ERROR : STORE_OK;
}

/* A new block of ids from the sequence. */
static int ids_block(struct pg_store *s)
{
    PGresult *r = run(s, ST_NEXT_ID, NULL, "cannot take ids from the sequence");
    if (r == NULL)
        return STORE_ERROR;
    int64_t v = col_int(r, 0, 0);
    PQclear(r);
    s->e->ids.known = 1;
    s->e->ids.block = v;
    s->e->ids.next = v;
    s->e->ids.end = v + ID_BLOCK;
    return STORE_OK;
}

/* ADD's new task, as both its statements take it: text, priority, due
 * date, time, change number. */
/* The statement numbers the task itself (SEQ_NOW: pg_add). */
static void add_params(struct params *p, const struct proto_request *req, int64_t now)
{
    p_str(p, req->text);
    p_int(p, req->pri);
    if (req->due_op == 1)
        p_text(p, req->due, PROTO_DATE_LEN);
    else
        p_null(p);
    p_int(p, now);
}

/* An ADD in a user's list (ST_LIST_ADD): its key in key, its id in id. */
static int list_add(struct pg_store *s, const struct proto_request *req, int64_t now,
                    char id[PROTO_MAX_ID + 1], struct store_key *key)
{
    for (int tries = 0;; tries++) {
        struct params p = {.n = 0};
        add_params(&p, req, now);
        p_str(&p, scope_of(s));
        PGresult *r = run(s, ST_LIST_ADD, &p, "cannot add the task");
        if (r == NULL)
            return STORE_ERROR;
        struct proto_str k = PQntuples(r) == 1 ? col_str(r, 0, 0) : (struct proto_str){"", 0};
        size_t strip = key_strip(s);
        if (k.len > strip && k.len <= STORE_KEY_MAX && k.len - strip <= PROTO_MAX_ID) {
            memcpy(key->buf, k.ptr, k.len);
            key->buf[k.len] = '\0';
            memcpy(id, k.ptr + strip, k.len - strip);
            id[k.len - strip] = '\0';
            PQclear(r);
            return STORE_OK;
        }
        PQclear(r);
        /* The id was taken by an IMPORT: the counter moved past it, so
         * the next try takes the next; a list of only taken ids would
         * be a bug, not a reason to loop for ever. */
        if (tries >= 1000)
            return failf(s, NULL, "cannot add the task: no free id in the list");
    }
}

static int add_do(struct pg_store *s, const struct proto_request *req, int64_t now,
                  char id[PROTO_MAX_ID + 1])
{
    int rc;
    struct proto_str ids;
    struct store_key key;
    if (s->scope_len > 0) {
        if ((rc = list_add(s, req, now, id, &key)) != STORE_OK)
            return rc;
        ids = (struct proto_str){key.buf, strlen(key.buf)};
    } else {
        for (;;) {
            if ((!s->e->ids.known || s->e->ids.next >= s->e->ids.end) &&
                (rc = ids_block(s)) != STORE_OK)
                return rc;
            snprintf(id, PROTO_MAX_ID + 1, "%lld", (long long)s->e->ids.next);
            ids = (struct proto_str){id, strlen(id)};
            struct params p = {.n = 0};
            p_str(&p, ids);
            add_params(&p, req, now);
            long n = run_n(s, ST_INSERT, &p, "cannot add the task");
            if (n < 0)
                return STORE_ERROR;
            s->e->ids.next++;
            if (n > 0)
                break; /* else the id was taken (a POST, an IMPORT): the next one */
        }
    }
    touch(s, ids);
    for (size_t i = 0; i < req->ntags; i++)
        if ((rc = tag_change(s, ST_ADD_TAG, ids, req->tags[i])) != STORE_OK)
            return rc;
    if (req->ntags > 0 && (rc = set_tags(s, ids)) != STORE_OK)
        return rc;
    return STORE_OK;
}

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

/* ADD never hands out n once "n" is imported: inside our block, the block
 * goes on after it; past it, the sequence's next block starts after n. */
static int ids_pass(struct pg_store *s, int64_t n)
{
    if (s->scope_len > 0) {
        struct params q = {.n = 0};
        p_str(&q, scope_of(s));
        p_int(&q, n);
        return run_n(s, ST_LIST_PASS, &q, "cannot advance the list's id counter") < 0 ? STORE_ERROR
                                                                                      : STORE_OK;
    }
    if (s->e->ids.known && n < s->e->ids.next)
        return STORE_OK;
    if (s->e->ids.known && n < s->e->ids.end) {
        s->e->ids.next = n + 1;
        return STORE_OK;
    }
    struct params p = {.n = 0};
    p_int(&p, n + 1);
    if (run_n(s, ST_IDS_PASS, &p, "cannot advance the id sequence") < 0)
        return STORE_ERROR;
    s->e->ids.known = 0;
    return STORE_OK;
}

static int exists_id(struct pg_store *s, struct proto_str id)
{
    struct params p = {.n = 0};
    p_str(&p, id);
    long n = run_n(s, ST_EXISTS, &p, "cannot look the task up");
    return n < 0 ? -1 : n > 0;
}

static int import_do(struct pg_store *s, const struct proto_request *req, struct proto_str key,
                     int64_t now, int64_t seq, int *outcome)
{
    int rc;
    touch(s, key);
    int exists = exists_id(s, key);
    if (exists < 0)
        return STORE_ERROR;
    if (exists && req->import_mode == PROTO_IMPORT_SKIP) {
        *outcome = STORE_IMPORT_SKIPPED;
        return STORE_OK;
    }
    if (exists && req->import_mode != PROTO_IMPORT_REPLACE)
        return STORE_EXISTS;
    struct params p = {.n = 0};
    p_str(&p, key);
    p_str(&p, req->text);
    p_int(&p, req->done != 0);
    p_int(&p, req->pri);
    if (req->due_op == 1)
        p_text(&p, req->due, PROTO_DATE_LEN);
    else
        p_null(&p);
    p_int(&p, req->created == PROTO_TIME_NOW ? now : req->created);
    p_int(&p, req->updated == PROTO_TIME_NOW ? now : req->updated);
    p_int(&p, seq);
    if (!exists)
        p_str(&p, scope_of(s));
    if (run_n(s, exists ? ST_REPLACE : ST_RESTORE, &p, "cannot import the task") < 0)
        return STORE_ERROR;
    if (exists) {
        struct params q = {.n = 0};
        p_str(&q, key);
        if (run_n(s, ST_DEL_TAGS, &q, "cannot replace the task's tags") < 0)
            return STORE_ERROR;
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

/* A pass's first GET runs on its own (one round trip instead of three,
 * BEGIN, SELECT, COMMIT), as in the SQLite engine; the later ones share
 * the pass's snapshot. */
static int get_key(struct pg_store *s, struct proto_str key, store_task_fn fn, void *arg)
{
    PGresult *r = ra_take(s, key);
    if (r != NULL) {
        if (read_fault(s)) {
            PQclear(r);
            return STORE_ERROR;
        }
        goto answer;
    }
    if (s->pass_got || s->role == ROLE_WRITER) {
        if (read_open(s) != STORE_OK)
            return STORE_ERROR;
    } else if (ensure(s) != STORE_OK) {
        return STORE_ERROR;
    }
    s->pass_got = 1;
    if (read_fault(s))
        return STORE_ERROR;
    struct params p = {.n = 0};
    p_str(&p, key);
    r = run(s, ST_GET, &p, "cannot read tasks");
    if (r == NULL && retry_lost(s))
        r = run(s, ST_GET, &p, "cannot read tasks");
    if (r == NULL)
        return STORE_ERROR;
answer:;
    int rc = STORE_NOTFOUND;
    if (PQntuples(r) > 0)
        rc = emit_task(r, 0, key_strip(s), fn, arg) ? STORE_STOPPED : STORE_OK;
    PQclear(r);
    return rc;
}

int pg_get(struct pg_store *s, struct proto_str id, store_task_fn fn, void *arg)
{
    struct store_key k;
    return get_key(s, key_of(s, id, &k), fn, arg);
}

static int edit_do(struct pg_store *s, const struct proto_request *req, struct proto_str key,
                   int64_t now, int mine)
{
    int rc;
    touch(s, key);
    struct params p = {.n = 0};
    edit_params(&p, req->has_text, req->text, req->pri, req->due_op, req->due, now, key, mine);
    long n = run_n(s, ST_EDIT, &p, "cannot edit the task");
    if (n < 0)
        return STORE_ERROR;
    if (n == 0)
        return STORE_NOTFOUND;
    for (size_t i = 0; i < req->nuntags; i++)
        if ((rc = tag_change(s, ST_DEL_TAG, key, req->untags[i])) != STORE_OK)
            return rc;
    for (size_t i = 0; i < req->ntags; i++)
        if ((rc = tag_change(s, ST_ADD_TAG, key, req->tags[i])) != STORE_OK)
            return rc;
    if (req->ntags > 0) {
        struct params q = {.n = 0};
        p_str(&q, key);
        PGresult *r = run(s, ST_COUNT_TAGS, &q, "cannot count the task's tags");
        if (r == NULL)
            return STORE_ERROR;
        int64_t k = col_int(r, 0, 0);
        PQclear(r);
        if (k > PROTO_MAX_TAGS)
            return STORE_LIMIT;
    }
    if (req->ntags > 0 || req->nuntags > 0)
        return set_tags(s, key);
    return STORE_OK;
}

/* Deletes the task of key id. */
static int del_do(struct pg_store *s, struct proto_str id)
{
    touch(s, id);
    struct params p = {.n = 0};
    p_str(&p, id);
    long n = run_n(s, ST_DEL, &p, "cannot delete the task");
    if (n < 0)
        return STORE_ERROR;
    if (n == 0)
        return STORE_NOTFOUND;
    return run_n(s, ST_DEL_TAGS, &p, "cannot delete the task's tags") < 0 ? STORE_ERROR : STORE_OK;
}

/* ---- the undo history (as store-sqlite.c keeps it) ---- */

/* The number of a change, in *seq: the task row's ver after it, which
 * UNDO checks. From the sequence task_vers (the versions' schema step),
 * so that no two servers sharing the database number two changes alike,
 * and the numbers grow with time across them (undo_trim, undo_load and
 * UNDO_SAVE_WINDOW rely on it): pg_cmd_begin took it already, or it is
 * asked for here. */
static int undo_seq(struct pg_store *s, int64_t *seq)
{
    if (s->ver_due && due_flush(s) != STORE_OK)
        return STORE_ERROR;
    if (s->ver_next > 0) {
        *seq = s->ver_next;
        s->ver_next = 0;
        return STORE_OK;
    }
    PGresult *r = run(s, ST_NEXT_VER, NULL, "cannot number the change");
    if (r == NULL)
        return STORE_ERROR;
    *seq = col_int(r, 0, 0);
    PQclear(r);
    return STORE_OK;
}

/* Drops from undo_old what s's list's stack no longer holds, when it is
 * full. */
static int undo_trim(struct pg_store *s)
{
    const struct undo_stack *u = undo_of(s);
    if (u == NULL || u->n < UNDO_STACK_DEPTH)
        return STORE_OK;
    struct params p = {.n = 0};
    p_int(&p, u->ring[u->head].seq);
    p_str(&p, scope_of(s));
    return run_n(s, ST_UNDO_TRIM, &p, "cannot trim the undo history") < 0 ? STORE_ERROR : STORE_OK;
}

/* Counts a before-image kept in undo_old; every 64th trims it. */
static int undo_kept(struct pg_store *s)
{
    struct pg_engine *e = s->e;
    if (++e->undo_saves >= 64) {
        e->undo_saves = 0;
        return undo_trim(s);
    }
    return STORE_OK;
}

/* The entry of this server's stack of s's list for task id, or NULL. */
static const struct undo_ent *undo_mine(struct pg_store *s, struct proto_str id)
{
    const struct undo_stack *u = undo_of(s);
    return u != NULL ? undo_stack_find(u, id) : NULL;
}

/* Before a write of task id (its key) that keeps no before-image itself
 * (POST/): the before-image of the task's newest change, if this server's
 * stack holds it. EDIT, DONE, UNDONE, DEL and IMPORT's replace keep it in
 * their own statement (UNDO_SAVE_CTE), for another server's history too. */
static int undo_keep(struct pg_store *s, struct proto_str id, struct proto_str key)
{
    if (undo_mine(s, id) == NULL)
        return STORE_OK;
    struct params p = {.n = 0};
    p_str(&p, key);
    if (run_n(s, ST_UNDO_SAVE, &p, "cannot keep the change for UNDO") < 0)
        return STORE_ERROR;
    return undo_kept(s);
}

/* Before EDIT, DONE, UNDONE, DEL or IMPORT's replace of task id, numbered
 * seq: their statement keeps the before-image of the task's newest change
 * if it is in UNDO_SAVE_WINDOW; an entry of this server's stack older
 * than that (numbers burnt by failed commands) is kept here, as on one
 * server, by a statement of its own. */
static int undo_keep_old(struct pg_store *s, struct proto_str id, struct proto_str key, int64_t seq)
{
    const struct undo_ent *mine = undo_mine(s, id);
    if (mine != NULL && mine->seq <= seq - UNDO_SAVE_WINDOW)
        return undo_keep(s, id, key);
    return undo_kept(s);
}

/* Before a write whose statement takes its number from the sequence's
 * currval (SEQ_NOW): that a number is taken in the statement's pipeline,
 * unless the command took one already. undo_seq then reads it. */
static void number_take(struct pg_store *s)
{
    if (s->ver_next == 0)
        s->ver_due = 1;
}

/* number_take before EDIT, DONE or UNDONE, which keep the before-image in
 * their own statement (UNDO_SAVE_MINE_CTE), and the count of undo_kept. */
static int number_due(struct pg_store *s)
{
    number_take(s);
    return undo_kept(s);
}

static void undo_push(struct pg_store *s, int64_t seq, int64_t kind, struct proto_str id)
{
    /* Room was made by pg_cmd_begin. */
    struct undo_stack *u = undo_of(s);
    if (u == NULL || undo_stack_push(u, seq, kind, id) != 0)
        log_error("undo stack: no room for a change (a bug)");
}

static int undo_load(struct pg_store *s)
{
    struct pg_engine *e = s->e;
    PGresult *r = run(s, ST_UNDO_LOAD, NULL, "cannot read the undo history");
    if (r == NULL)
        return STORE_ERROR;
    /* Each list's newest changes, oldest first: pushed in that order. */
    undo_shelf_free(&e->undo);
    int n = PQntuples(r);
    for (int i = 0; i < n; i++) {
        struct proto_str id = col_str(r, i, 2), list = col_str(r, i, 3);
        int64_t kind = col_int(r, i, 1);
        size_t strip = list.len ? list.len + 1 : 0;
        if ((kind & 7) < UNDO_ADD || (kind & 7) > UNDO_IMPORT || id.len <= strip ||
            id.len - strip > PROTO_MAX_ID)
            continue;
        id.ptr += strip;
        id.len -= strip;
        struct undo_stack *u = undo_shelf_use(&e->undo, list);
        if (u == NULL || undo_stack_reserve(u, 1) != 0) {
            PQclear(r);
            return failf(s, NULL, "out of memory for the undo history");
        }
        undo_stack_push(u, col_int(r, i, 0), kind, id);
    }
    PQclear(r);
    undo_shelf_commit(&e->undo);
    return STORE_OK;
}

int pg_add(struct pg_store *s, const struct proto_request *req, int64_t now,
           char id[PROTO_MAX_ID + 1])
{
    int64_t seq;
    number_take(s);
    int rc = add_do(s, req, now, id);
    if (rc == STORE_OK && (rc = undo_seq(s, &seq)) == STORE_OK) {
        struct store_key k;
        struct proto_str ids = {id, strlen(id)};
        undo_push(s, seq, UNDO_ADD, ids);
        log_add(s, STORE_LOGGED_ADD, CHANGE_F_ALL, key_of(s, ids, &k));
    }
    return rc;
}

int pg_import(struct pg_store *s, const struct proto_request *req, int64_t now, int64_t *run_no,
              int *outcome)
{
    int rc = STORE_OK;
    int64_t seq;
    struct store_key k;
    struct proto_str key = key_of(s, req->id, &k);
    if ((rc = undo_seq(s, &seq)) != STORE_OK)
        return rc;
    if (req->import_mode == PROTO_IMPORT_REPLACE &&
        (rc = undo_keep_old(s, req->id, key, seq)) != STORE_OK)
        return rc;
    rc = import_do(s, req, key, now, seq, outcome);
    if (rc == STORE_OK && *outcome != STORE_IMPORT_SKIPPED) {
        int64_t r = seq;
        if (run_no != NULL) {
            if (*run_no == 0)
                *run_no = seq;
            r = *run_no;
        }
        undo_push(s, seq, (int64_t)UNDO_IMPORT + (r << 3), req->id);
        log_add(s, *outcome == STORE_IMPORT_ADDED ? STORE_LOGGED_ADD : STORE_LOGGED_EDIT,
                CHANGE_F_ALL, key);
    }
    return rc;
}

int pg_edit(struct pg_store *s, const struct proto_request *req, int64_t now)
{
    int64_t seq;
    struct store_key k;
    struct proto_str key = key_of(s, req->id, &k);
    unsigned fields = (req->has_text ? CHANGE_F_TEXT : 0) |
                      (req->pri != PROTO_PRI_KEEP ? CHANGE_F_PRI : 0) |
                      (req->due_op != 0 ? CHANGE_F_DUE : 0) |
                      (req->ntags > 0 || req->nuntags > 0 ? CHANGE_F_TAGS : 0);
    if (s->wa_serving)
        return wa_served(s, req->id, key, UNDO_EDIT, STORE_LOGGED_EDIT, fields);
    int mine = undo_mine(s, req->id) != NULL;
    int rc = number_due(s);
    if (rc != STORE_OK || (rc = edit_do(s, req, key, now, mine)) != STORE_OK ||
        (rc = undo_seq(s, &seq)) != STORE_OK)
        return rc;
    undo_push(s, seq, UNDO_EDIT, req->id);
    log_add(s, STORE_LOGGED_EDIT, fields, key);
    return STORE_OK;
}

int pg_set_done(struct pg_store *s, struct proto_str id, int done, int64_t now)
{
    int64_t seq;
    struct store_key k;
    struct proto_str key = key_of(s, id, &k);
    int kind = done ? UNDO_DONE : UNDO_UNDONE;
    if (s->wa_serving)
        return wa_served(s, id, key, kind, done ? STORE_LOGGED_DONE : STORE_LOGGED_UNDONE,
                         CHANGE_F_DONE);
    int rc = number_due(s);
    if (rc != STORE_OK)
        return rc;
    touch(s, key);
    struct params p = {.n = 0};
    done_params(&p, done, now, key, kind, undo_mine(s, id) != NULL);
    long n = run_n(s, ST_SET_DONE, &p, "cannot change the task");
    if (n < 0)
        return STORE_ERROR;
    if (n == 0)
        return STORE_NOTFOUND;
    if ((rc = undo_seq(s, &seq)) != STORE_OK)
        return rc;
    undo_push(s, seq, kind, id);
    log_add(s, done ? STORE_LOGGED_DONE : STORE_LOGGED_UNDONE, CHANGE_F_DONE, key);
    return STORE_OK;
}

/* DEL: the task's copy for UNDO (numbered with currval, and keeping the
 * before-image of its newest change as EDIT does), its row and its tags,
 * the three statements in one pipeline: when the task does not exist the
 * copy finds no row and the other two change nothing. */
int pg_del(struct pg_store *s, struct proto_str id)
{
    int64_t seq;
    struct store_key k;
    struct proto_str key = key_of(s, id, &k);
    int mine = undo_mine(s, id) != NULL;
    int rc = number_due(s);
    if (rc != STORE_OK)
        return rc;
    touch(s, key);
    struct params save = {.n = 0}, del = {.n = 0};
    p_str(&save, key);
    p_int(&save, mine);
    p_str(&del, key);
    char names[3][16];
    snprintf(names[0], sizeof(names[0]), "s%d", (int)ST_UNDO_SAVE_DEL);
    snprintf(names[1], sizeof(names[1]), "s%d", (int)ST_DEL);
    snprintf(names[2], sizeof(names[2]), "s%d", (int)ST_DEL_TAGS);
    struct pipe_stmt v[3] = {{.name = names[0], .p = &save},
                             {.name = names[1], .p = &del},
                             {.name = names[2], .p = &del}};
    static const char *const what[3] = {"cannot keep the task for UNDO", "cannot delete the task",
                                        "cannot delete the task's tags"};
    if (pipe_send(s, v, 3) != STORE_OK)
        return STORE_ERROR;
    long n = 0;
    for (int i = 0; i < 3 && rc == STORE_OK; i++) {
        ExecStatusType st = PQresultStatus(v[i].res);
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
            rc = failf(s, v[i].res, "%s", what[i]);
        else if (i == 0)
            n = atol(PQcmdTuples(v[i].res));
    }
    for (int i = 0; i < 3; i++)
        PQclear(v[i].res);
    if (rc != STORE_OK)
        return rc;
    if (n == 0)
        return STORE_NOTFOUND;
    if ((rc = undo_seq(s, &seq)) != STORE_OK)
        return rc;
    undo_push(s, seq, UNDO_DEL, id);
    log_add(s, STORE_LOGGED_DEL, 0, key);
    return STORE_OK;
}

/* Gives task id (its key) the tags of list, a comma-separated string. */
static int tags_restore(struct pg_store *s, struct proto_str id, struct proto_str list)
{
    int rc;
    struct params p = {.n = 0};
    p_str(&p, id);
    if (run_n(s, ST_DEL_TAGS, &p, "cannot restore the task's tags") < 0)
        return STORE_ERROR;
    size_t i = 0;
    while (i < list.len) {
        size_t j = i;
        while (j < list.len && list.ptr[j] != ',')
            j++;
        if (j > i && (rc = tag_change(s, ST_ADD_TAG, id,
                                      (struct proto_str){list.ptr + i, j - i})) != STORE_OK)
            return rc;
        i = j + 1;
    }
    return set_tags(s, id);
}

static int undo_forget(struct pg_store *s, struct proto_str id, int64_t seq)
{
    struct params p = {.n = 0};
    p_str(&p, id);
    p_int(&p, seq);
    return run_n(s, ST_UNDO_FORGET, &p, "cannot update the undo history") < 0 ? STORE_ERROR
                                                                              : STORE_OK;
}

static int undo_del(struct pg_store *s, struct proto_str id, int64_t seq)
{
    char tags[PROTO_MAX_TAGS * (PROTO_MAX_TAG + 1) + 1];
    int ex = exists_id(s, id);
    if (ex < 0)
        return STORE_ERROR;
    if (ex)
        return STORE_CONFLICT;
    struct params p = {.n = 0};
    p_str(&p, id);
    p_int(&p, seq);
    PGresult *r = run(s, ST_UNDO_OLD, &p, "cannot read the undo history");
    if (r == NULL)
        return STORE_ERROR;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return STORE_CONFLICT;
    }
    struct proto_str t = col_str(r, 0, 0);
    snprintf(tags, sizeof(tags), "%.*s", (int)t.len, t.ptr);
    int64_t prev = col_int(r, 0, 1);
    PQclear(r);
    int rc;
    /* ON CONFLICT DO NOTHING: a task of that id made meanwhile (through
     * another server) is not overwritten; UNDO refuses instead. */
    long n = run_n(s, ST_UNDO_REVIVE, &p, "cannot restore the task");
    if (n < 0)
        return STORE_ERROR;
    if (n == 0)
        return STORE_CONFLICT;
    if ((rc = tags_restore(s, id, (struct proto_str){tags, strlen(tags)})) != STORE_OK)
        return rc;
    if ((rc = undo_forget(s, id, seq)) != STORE_OK)
        return rc;
    return undo_forget(s, id, prev);
}

static int undo_change(struct pg_store *s, struct proto_str id, int64_t seq, int *existed)
{
    char tags[PROTO_MAX_TAGS * (PROTO_MAX_TAG + 1) + 1];
    struct params p = {.n = 0};
    p_str(&p, id);
    PGresult *r = run(s, ST_UNDO_ROW, &p, "cannot read the undo history");
    if (r == NULL)
        return STORE_ERROR;
    /* The row is at the change's number, or another change came since.
     * Its before-image can be missing though the number matches: the
     * task's change was written by another server, whose undo stack did
     * not hold it and so did not keep the before-image in undo_old, and
     * then undone there (or undo_old was trimmed past it). Taking the
     * change back without it would lose the task (u_b NULL reads as an
     * add), so UNDO refuses. */
    if (PQntuples(r) == 0 || col_int(r, 0, 0) != seq || strcmp(PQgetvalue(r, 0, 4), "t") == 0) {
        PQclear(r);
        return STORE_CONFLICT;
    }
    int b = col_int(r, 0, 1) != 0;
    struct proto_str t = col_str(r, 0, 2);
    snprintf(tags, sizeof(tags), "%.*s", (int)t.len, t.ptr);
    int64_t prev = col_int(r, 0, 3);
    PQclear(r);
    *existed = b;
    if (!b)
        return del_do(s, id);
    int rc;
    if (run_n(s, ST_UNDO_BACK, &p, "cannot restore the task") < 0)
        return STORE_ERROR;
    if ((rc = tags_restore(s, id, (struct proto_str){tags, strlen(tags)})) != STORE_OK)
        return rc;
    return undo_forget(s, id, prev);
}

static int undo_one(struct pg_store *s, struct undo_stack *u, struct undo_ent *e, int *existed,
                    int *exists)
{
    *e = *undo_stack_top(u);
    struct store_key k;
    struct proto_str id = key_of(s, (struct proto_str){e->id, strlen(e->id)}, &k);
    int rc;
    touch(s, id);
    *existed = 1;
    if ((e->kind & 7) == UNDO_DEL) {
        *exists = 0;
        rc = undo_del(s, id, e->seq);
    } else {
        *exists = 1;
        rc = undo_change(s, id, e->seq, existed);
    }
    if (rc == STORE_OK && undo_stack_pop(u) != 0)
        rc = failf(s, NULL, "out of memory for the undo history");
    if (rc == STORE_OK) {
        /* Undoing a del brings the task back; undoing an add removes it. */
        if (!*exists)
            log_add(s, STORE_LOGGED_ADD, CHANGE_F_ALL, id);
        else if (!*existed)
            log_add(s, STORE_LOGGED_DEL, 0, id);
        else
            log_add(s, STORE_LOGGED_EDIT, CHANGE_F_ALL, id);
    }
    return rc;
}

int pg_undo(struct pg_store *s, struct store_undone *out, store_undone_fn each, void *arg)
{
    memset(out, 0, sizeof(*out));
    struct undo_stack *u = undo_of(s);
    if (u == NULL)
        return failf(s, NULL, "out of memory for the undo history");
    const struct undo_ent *top = undo_stack_top(u);
    if (top == NULL)
        return STORE_NOTFOUND;
    /* The newest change may be the committing batch's, whose rows this
     * transaction sees only once it committed. */
    if (s->role == ROLE_WRITER)
        pend_wait(s->e);
    int64_t kind = top->kind;
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
            return failf(s, NULL, "out of memory for the undo history");
        top = undo_stack_top(u);
    } while ((kind & 7) == UNDO_IMPORT && top != NULL && top->kind == kind);
    return STORE_OK;
}

int pg_put(struct pg_store *s, struct proto_str id, struct proto_str text, int64_t now)
{
    int64_t seq;
    struct store_key k;
    struct proto_str key = key_of(s, id, &k);
    int rc = undo_keep(s, id, key);
    if (rc != STORE_OK)
        return rc;
    number_take(s); /* ST_PUT numbers itself (SEQ_NOW) */
    touch(s, key);
    struct params p = {.n = 0};
    p_str(&p, key);
    p_str(&p, text);
    p_int(&p, now);
    p_str(&p, scope_of(s));
    PGresult *r = run(s, ST_PUT, &p, "cannot store the task");
    if (r == NULL || undo_seq(s, &seq) != STORE_OK) {
        PQclear(r);
        return STORE_ERROR;
    }
    /* RETURNING xmax = 0: the row is new (an insert, not an update). */
    int made = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    log_add(s, made ? STORE_LOGGED_ADD : STORE_LOGGED_EDIT, CHANGE_F_TEXT, key);
    return STORE_OK;
}

/* ---- LIST ---- */

/*
 * The LIST query for req, with its parameters: tags as $1..$n, then a
 * custom list's due and priority filters. The word filter is not SQL:
 * rows are matched by proto_text_has_words as they are handed out, so
 * that both engines and the protocol's document agree on what a word is.
 */
static void list_query(const struct pg_store *s, const struct proto_request *req, char *sql,
                       size_t cap, struct params *p)
{
    size_t n = 0;
#define SQL_ADD(...)                                                                               \
    do {                                                                                           \
        int k_ = snprintf(sql + n, n < cap ? cap - n : 0, __VA_ARGS__);                            \
        n += k_ > 0 ? (size_t)k_ : 0;                                                              \
    } while (0)
    int filter = req->filter;
    if (filter < PROTO_FILTER_PENDING || filter > PROTO_FILTER_ALL)
        filter = PROTO_FILTER_PENDING;
    size_t ntags = req->ntags > PROTO_MAX_TAGS ? PROTO_MAX_TAGS : req->ntags;
    int custom = req->nsort > 0 || req->due_before[0] || req->due_after[0] || req->overdue ||
                 req->pri_match > 0;
    p->n = 0;
    p_str(p, scope_of(s)); /* $1: the list (store_scope) */
    if (ntags > 0) {
        SQL_ADD("SELECT " TASK_COLS " FROM task_tags g0 JOIN tasks t ON t.id = g0.task_id"
                " WHERE g0.list = $1 AND g0.tag = $2");
        p_str(p, req->tags[0]);
    } else {
        SQL_ADD("SELECT " TASK_COLS " FROM tasks t WHERE t.list = $1");
    }
    if (filter == PROTO_FILTER_PENDING || (custom && req->overdue))
        SQL_ADD(" AND t.done = 0");
    else if (filter == PROTO_FILTER_DONE)
        SQL_ADD(" AND t.done = 1");
    for (size_t i = 1; i < ntags; i++) {
        SQL_ADD(" AND EXISTS(SELECT 1 FROM task_tags g WHERE g.task_id = t.id AND g.tag = $%d)",
                p->n + 1);
        p_str(p, req->tags[i]);
    }
    if (!custom) {
        SQL_ADD(" ORDER BY t.created, t.rid");
        return;
    }
    if (req->due_before[0]) {
        SQL_ADD(" AND t.due < $%d", p->n + 1);
        p_text(p, req->due_before, PROTO_DATE_LEN);
    }
    if (req->due_after[0]) {
        SQL_ADD(" AND t.due > $%d", p->n + 1);
        p_text(p, req->due_after, PROTO_DATE_LEN);
    }
    if (req->pri_match > 0) {
        SQL_ADD(" AND t.pri = $%d::int", p->n + 1);
        p_int(p, req->pri_match - 1);
    }
    SQL_ADD(" ORDER BY");
    for (size_t i = 0; i < req->nsort && i < PROTO_MAX_SORT; i++) {
        int f = req->sort[i] < 0 ? -req->sort[i] : req->sort[i];
        const char *up = req->sort[i] < 0 ? " DESC" : "";
        const char *down = req->sort[i] < 0 ? "" : " DESC";
        switch (f) {
        case PROTO_SORT_DUE:
            SQL_ADD(" t.due IS NULL, t.due%s,", up);
            break;
        case PROTO_SORT_PRI:
            SQL_ADD(" t.pri%s,", down);
            break;
        case PROTO_SORT_CREATED:
            SQL_ADD(" t.created%s,", up);
            break;
        case PROTO_SORT_UPDATED:
            SQL_ADD(" t.updated%s,", up);
            break;
        case PROTO_SORT_ID:
            SQL_ADD(" length(t.id)%s, t.id%s,", up, up);
            break;
        default:
            break;
        }
    }
    SQL_ADD(" t.created, t.rid");
#undef SQL_ADD
}

/* The rows of LIST req, read whole (NULL: s's error says why). */
static PGresult *list_run(struct pg_store *s, const struct proto_request *req)
{
    char sql[4096];
    struct params p;
    if (read_open(s) != STORE_OK)
        return NULL;
    if (read_fault(s))
        return NULL;
    list_query(s, req, sql, sizeof(sql), &p);
    PGresult *r = exec_params(s, sql, &p);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        failf(s, r, "cannot read tasks");
        PQclear(r);
        return NULL;
    }
    return r;
}

static int word_match(const struct proto_request *req, const PGresult *r, int row)
{
    if (!req->has_text || req->text.len == 0)
        return 1;
    struct proto_str t = col_str(r, row, 1);
    return proto_text_has_words(t.ptr, t.len, req->text.ptr, req->text.len);
}

int pg_list(struct pg_store *s, const struct proto_request *req, store_task_fn fn, void *arg)
{
    PGresult *r = list_run(s, req);
    if (r == NULL)
        return STORE_ERROR;
    int rc = STORE_OK;
    for (int i = 0; i < PQntuples(r); i++) {
        if (word_match(req, r, i) && emit_task(r, i, key_strip(s), fn, arg) != 0) {
            rc = STORE_STOPPED;
            break;
        }
    }
    PQclear(r);
    return rc;
}

int pg_tags(struct pg_store *s, store_tag_fn fn, void *arg)
{
    if (read_open(s) != STORE_OK || read_fault(s))
        return STORE_ERROR;
    struct params p = {.n = 0};
    p_str(&p, scope_of(s));
    PGresult *r = run(s, ST_TAGS, &p, "cannot read tags");
    if (r == NULL)
        return STORE_ERROR;
    int rc = STORE_OK;
    for (int i = 0; i < PQntuples(r); i++) {
        if (fn(arg, col_str(r, i, 0), col_int(r, i, 1)) != 0) {
            rc = STORE_STOPPED;
            break;
        }
    }
    PQclear(r);
    return rc;
}

int pg_count(struct pg_store *s, int64_t *n)
{
    *n = 0;
    if (read_open(s) != STORE_OK || read_fault(s))
        return STORE_ERROR;
    struct params p = {.n = 0};
    p_str(&p, scope_of(s));
    PGresult *r = run(s, ST_COUNT, &p, "cannot count tasks");
    if (r == NULL)
        return STORE_ERROR;
    *n = col_int(r, 0, 0);
    PQclear(r);
    return STORE_OK;
}

/*
 * The cursor is a server-side SCROLL cursor in the read transaction,
 * fetched CURSOR_FETCH rows at a time, so that a stream holds a slice of
 * its list in memory, not the whole of it; rewind goes back to its start
 * in the same snapshot. The word filter is applied to the rows fetched.
 */
#define CURSOR_FETCH 256

static int cursor_fetch(struct pg_cursor *k, int rows)
{
    char sql[64];
    PQclear(k->res);
    k->pos = 0;
    k->n = 0;
    snprintf(sql, sizeof(sql), "FETCH FORWARD %d FROM todo_cur", rows);
    k->res = exec_raw(k->s, sql);
    if (PQresultStatus(k->res) != PGRES_TUPLES_OK) {
        failf(k->s, k->res, "cannot read tasks");
        PQclear(k->res);
        k->res = NULL;
        return STORE_ERROR;
    }
    k->n = PQntuples(k->res);
    return STORE_OK;
}

static int cursor_match(const struct pg_cursor *k, int row)
{
    if (k->words == NULL)
        return 1;
    struct proto_str t = col_str(k->res, row, 1);
    return proto_text_has_words(t.ptr, t.len, k->words, k->wlen);
}

int pg_cursor_open(struct pg_store *s, const struct proto_request *req, struct pg_cursor **out)
{
    if (s->cur_open)
        pg_cursor_close(&s->cur);
    struct pg_cursor *k = &s->cur;
    memset(k, 0, sizeof(*k));
    k->kind = STORE_KIND_PG;
    k->s = s;
    k->most = -1;
    k->strip = key_strip(s);
    if (read_open(s) != STORE_OK || read_fault(s))
        return STORE_ERROR;
    if (req->has_text && req->text.len > 0) {
        k->words = malloc(req->text.len + 1);
        if (k->words == NULL)
            return failf(s, NULL, "out of memory for LIST");
        memcpy(k->words, req->text.ptr, req->text.len);
        k->words[req->text.len] = '\0';
        k->wlen = req->text.len;
    }
    char sql[4200];
    struct params p;
    int n = snprintf(sql, sizeof(sql), "DECLARE todo_cur SCROLL CURSOR FOR ");
    list_query(s, req, sql + n, sizeof(sql) - (size_t)n, &p);
    PGresult *r = exec_params(s, sql, &p);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        failf(s, r, "cannot read tasks");
    PQclear(r);
    if (!ok) {
        free(k->words);
        k->words = NULL;
        return STORE_ERROR;
    }
    k->gen = s->tx_gen;
    if (req->ntags > 0) {
        struct params q = {.n = 0};
        p_str(&q, req->tags[0]);
        p_str(&q, scope_of(s));
        r = run(s, ST_TAG_TASKS, &q, "cannot count LIST");
        if (r != NULL) {
            k->most = col_int(r, 0, 0);
            PQclear(r);
        }
    }
    s->cur_open = 1;
    *out = k;
    return STORE_OK;
}

int pg_cursor_count(struct pg_cursor *k, size_t max, size_t *n, int *done)
{
    (void)max; /* the rows are counted by the database, all at once */
    /* The rows fetched and not handed out yet, then the rest. */
    for (int i = k->pos; i < k->n; i++)
        *n += (size_t)cursor_match(k, i);
    k->pos = k->n;
    if (k->words == NULL) {
        PGresult *r = exec_raw(k->s, "MOVE FORWARD ALL IN todo_cur");
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            failf(k->s, r, "cannot count tasks");
            PQclear(r);
            return STORE_ERROR;
        }
        *n += (size_t)atol(PQcmdTuples(r));
        PQclear(r);
    } else {
        do {
            if (cursor_fetch(k, 1000) != STORE_OK)
                return STORE_ERROR;
            for (int i = 0; i < k->n; i++)
                *n += (size_t)cursor_match(k, i);
            k->pos = k->n;
        } while (k->n > 0);
    }
    *done = 1;
    return STORE_OK;
}

void pg_cursor_rewind(struct pg_cursor *k)
{
    PQclear(k->res);
    k->res = NULL;
    k->n = k->pos = 0;
    if (exec_sql(k->s, "MOVE ABSOLUTE 0 IN todo_cur", "cannot rewind LIST") != STORE_OK)
        log_warn("%s", k->s->err);
}

int pg_cursor_next(struct pg_cursor *k, store_task_fn fn, void *arg)
{
    for (;;) {
        if (k->pos >= k->n) {
            if (cursor_fetch(k, CURSOR_FETCH) != STORE_OK)
                return STORE_ERROR;
            if (k->n == 0)
                return STORE_OK;
        }
        int row = k->pos++;
        if (cursor_match(k, row) && emit_task(k->res, row, k->strip, fn, arg) != 0)
            return STORE_STOPPED;
    }
}

void pg_cursor_close(struct pg_cursor *k)
{
    struct pg_store *s = k->s;
    PQclear(k->res);
    k->res = NULL;
    free(k->words);
    k->words = NULL;
    k->n = k->pos = 0;
    s->cur_open = 0;
    /* Only in the transaction that declared it: a CLOSE of a cursor gone
     * with its transaction would abort the next one. */
    if (k->gen == s->tx_gen && PQstatus(s->c) == CONNECTION_OK &&
        PQtransactionStatus(s->c) == PQTRANS_INTRANS &&
        exec_sql(s, "CLOSE todo_cur", "cannot close LIST") != STORE_OK)
        log_warn("%s", s->err);
}

long long pg_cursor_most(const struct pg_cursor *k)
{
    return k->most;
}

void pg_facts(struct pg_store *s, const char **engine, const char **state)
{
    *engine = "postgresql";
    *state = atomic_load(&s->e->lost) ? "reconnecting" : "ok";
}

/* ---- the change log: following it ---- */

uint64_t pg_engine_log_mine(struct pg_engine *e)
{
    return atomic_load(&e->log_mine);
}

static void follow_drop(struct pg_follow *f)
{
    PQfinish(f->c);
    f->c = NULL;
}

/* The follower's connection, in LISTEN on the channel of the log's
 * schema (the trigger's: one per schema, so that servers of other
 * schemas in one database are not woken). 0, or -1 with err set. */
static int follow_connect(struct pg_follow *f, char *err, size_t errcap)
{
    f->c = PQconnectdb(conninfo_of(f->e));
    if (f->c == NULL || PQstatus(f->c) != CONNECTION_OK) {
        snprintf(err, errcap, "cannot connect to PostgreSQL to follow its change log: %s",
                 f->c ? PQerrorMessage(f->c) : "out of memory");
        size_t l = strlen(err);
        while (l > 0 && err[l - 1] == '\n')
            err[--l] = '\0';
        follow_drop(f);
        return -1;
    }
    PQsetNoticeProcessor(f->c, notice_quiet, NULL);
    PGresult *r = PQexec(f->c, "SET client_encoding = 'UTF8'");
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (ok && f->listen_sql[0] == '\0') {
        r = PQexec(f->c, "SELECT format('LISTEN %I', left('todo_' || current_schema(), 63))");
        ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0) &&
             (size_t)PQgetlength(r, 0, 0) < sizeof(f->listen_sql);
        if (ok)
            snprintf(f->listen_sql, sizeof(f->listen_sql), "%s", PQgetvalue(r, 0, 0));
        PQclear(r);
    }
    if (ok) {
        r = PQexec(f->c, f->listen_sql);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
    }
    if (!ok) {
        snprintf(err, errcap, "cannot listen for the change log: %s", PQerrorMessage(f->c));
        size_t l = strlen(err);
        while (l > 0 && err[l - 1] == '\n')
            err[--l] = '\0';
        follow_drop(f);
        return -1;
    }
    return 0;
}

/* Whether log row seq is of one of this server's own commits (whose
 * slots its writer published); the rows come in order, so ranges before
 * seq are done with. stamp_lock held. */
static int own_row(struct pg_engine *e, uint64_t seq)
{
    while (e->own_n > 0 && e->own[e->own_head].last < seq) {
        e->own_head = (e->own_head + 1) % OWN_RANGES;
        e->own_n--;
    }
    return e->own_n > 0 && e->own[e->own_head].first <= seq;
}

/* Publishes the change counter for the rows [0, n) of r (their ids in
 * column 0, their numbers in column 8) that other servers wrote, or for
 * every task when all: a read whose stamp was taken before this point may
 * have read them as they were before. */
static void follow_bump(struct pg_engine *e, const PGresult *r, int n, int all)
{
    pthread_mutex_lock(&e->stamp_lock);
    uint64_t c = atomic_load(&e->commits) + 1;
    int any = all;
    if (all) {
        for (size_t k = 0; k < CHANGE_SLOTS; k++)
            atomic_store_explicit(&e->slot[k], c, memory_order_relaxed);
    } else {
        for (int i = 0; i < n; i++) {
            if (own_row(e, (uint64_t)col_int(r, i, 8)))
                continue;
            atomic_store_explicit(&e->slot[change_slot(col_str(r, i, 0))], c, memory_order_relaxed);
            any = 1;
        }
    }
    if (!any) {
        pthread_mutex_unlock(&e->stamp_lock);
        return;
    }
    /* The release orders the slots before the counter, as touched_publish
     * does with its sequentially consistent stores. */
    atomic_store_explicit(&e->commits, c, memory_order_release);
    pthread_mutex_unlock(&e->stamp_lock);
}

/* Reads the log past f->last, LOG_READ_ROWS rows at a time, keeps the
 * change counter, and hands the rows to f->fn. start: the first read,
 * before anyone relied on seeing every change. 0, or -1 when the
 * connection failed. */
static int follow_read(struct pg_follow *f, int start)
{
    struct store_logged *v = f->rows;
    struct proto_task *t = f->tasks;
    for (;;) {
        char last[24];
        snprintf(last, sizeof(last), "%llu", (unsigned long long)f->last);
        const char *pv[1] = {last};
        PGresult *r = PQexecParams(f->c,
                                   "SELECT task_id, text, done, pri, due, created, updated, tags,"
                                   " seq, kind, fields, list FROM todo_changes"
                                   " WHERE seq > $1::bigint"
                                   " ORDER BY seq LIMIT " LOG_READ_ROWS_SQL,
                                   1, NULL, pv, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            log_warn("PostgreSQL: cannot read the change log: %s", PQresultErrorMessage(r));
            PQclear(r);
            return -1;
        }
        int n = PQntuples(r);
        if (n == 0) {
            PQclear(r);
            return 0;
        }
        uint64_t first = (uint64_t)col_int(r, 0, 8);
        int lost = !start && first != f->last + 1;
        if (lost)
            log_warn("PostgreSQL: changes %llu to %llu left the change log before this server "
                     "read them; its GET cache is emptied and its watchers reload",
                     (unsigned long long)f->last + 1, (unsigned long long)first - 1);
        follow_bump(f->e, r, n, lost);
        for (int i = 0; i < n; i++) {
            v[i].seq = (uint64_t)col_int(r, i, 8);
            v[i].kind = (int)col_int(r, i, 9);
            v[i].fields = (unsigned)col_int(r, i, 10);
            /* task_id is the task's key: its id in its list is after
             * the list's name and '/'. */
            v[i].list = col_str(r, i, 11);
            v[i].id = col_str(r, i, 0);
            size_t strip = v[i].list.len ? v[i].list.len + 1 : 0;
            if (v[i].id.len > strip) {
                v[i].id.ptr += strip;
                v[i].id.len -= strip;
            }
            v[i].task = NULL;
            if (!PQgetisnull(r, i, 1) && v[i].kind != STORE_LOGGED_DEL) {
                task_of_row(r, i, &t[i]);
                t[i].id = v[i].id;
                v[i].task = &t[i];
            }
        }
        if (f->fn != NULL)
            f->fn(f->arg, v, (size_t)n, lost);
        f->last = v[n - 1].seq;
        PQclear(r);
        if (n < LOG_READ_ROWS)
            return 0;
        start = 0;
    }
}

/* Waits for a notification, the stop pipe, or a second (the safety net:
 * a notification is lost with its connection). 1 when asked to stop. */
static int follow_wait(struct pg_follow *f, int ms)
{
    /* A notification that came in during the last read is queued in libpq
     * already, not on the socket: it must not wait for the timer. */
    if (f->c != NULL) {
        PGnotify *q = PQnotifies(f->c);
        if (q != NULL) {
            do
                PQfreemem(q);
            while ((q = PQnotifies(f->c)) != NULL);
            ms = 0;
        }
    }
    struct pollfd fds[2] = {{.fd = f->stop_fd[0], .events = POLLIN},
                            {.fd = f->c != NULL ? PQsocket(f->c) : -1, .events = POLLIN}};
    int n = poll(fds, fds[1].fd >= 0 ? 2 : 1, ms);
    if (n < 0 && errno != EINTR)
        log_error("PostgreSQL follower: poll: %s", strerror(errno));
    if (n > 0 && (fds[0].revents & POLLIN))
        return 1;
    if (n > 0 && f->c != NULL && fds[1].revents != 0) {
        if (!PQconsumeInput(f->c)) {
            follow_drop(f);
            return 0;
        }
        PGnotify *no;
        while ((no = PQnotifies(f->c)) != NULL)
            PQfreemem(no);
    }
    return 0;
}

static void *follow_main(void *arg)
{
    struct pg_follow *f = arg;
    int backoff = 50;
    for (;;) {
        if (f->c == NULL) {
            char err[512];
            if (follow_connect(f, err, sizeof(err)) != 0) {
                log_debug("%s", err);
                if (follow_wait(f, backoff))
                    break;
                backoff = backoff < 1000 ? backoff * 2 : 1000;
                continue;
            }
            backoff = 50;
            log_info("PostgreSQL: following the change log again, from %llu",
                     (unsigned long long)f->last);
        }
        /* After a reconnect too: what committed while it was away is in
         * the log. */
        if (follow_read(f, 0) != 0) {
            follow_drop(f);
            continue;
        }
        if (follow_wait(f, 1000))
            break;
    }
    return NULL;
}

int pg_engine_follow(struct pg_engine *e, store_follow_fn fn, void *arg, size_t backlog,
                     uint64_t *start, char *err, size_t errcap)
{
    if (e->follow != NULL) {
        snprintf(err, errcap, "the change log is followed already");
        return -1;
    }
    struct pg_follow *f = calloc(1, sizeof(*f));
    if (f == NULL) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    f->e = e;
    f->fn = fn;
    f->arg = arg;
    f->stop_fd[0] = f->stop_fd[1] = -1;
    if (pipe2(f->stop_fd, O_CLOEXEC) != 0) {
        snprintf(err, errcap, "pipe2: %s", strerror(errno));
        goto fail;
    }
    /* Read by the writer only once the workers run, which start after. */
    if (fn != NULL && backlog > 0)
        e->log_keep = backlog;
    if (follow_connect(f, err, errcap) != 0)
        goto fail;
    PGresult *r = PQexec(f->c, "SELECT seq FROM todo_change_head");
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        snprintf(err, errcap, "cannot read the change log's head: %s", PQresultErrorMessage(r));
        PQclear(r);
        goto fail;
    }
    uint64_t head = (uint64_t)col_int(r, 0, 0);
    PQclear(r);
    /* The newest backlog rows are handed over here, before any worker
     * runs, so that a WATCH since: one of them finds it. */
    f->last = fn == NULL ? head : head > backlog ? head - backlog : 0;
    *start = head;
    if (follow_read(f, 1) != 0) {
        snprintf(err, errcap, "cannot read the change log");
        goto fail;
    }
    /* Every row up to head had committed when head was read. */
    if (f->last < head)
        f->last = head;
    int rc = pthread_create(&f->thread, NULL, follow_main, f);
    if (rc != 0) {
        snprintf(err, errcap, "cannot start the change log's follower: %s", strerror(rc));
        goto fail;
    }
    e->follow = f;
    return 1;
fail:
    follow_drop(f);
    if (f->stop_fd[0] >= 0) {
        close(f->stop_fd[0]);
        close(f->stop_fd[1]);
    }
    free(f);
    return -1;
}

void pg_engine_unfollow(struct pg_engine *e)
{
    struct pg_follow *f = e->follow;
    if (f == NULL)
        return;
    char one = 1;
    if (write(f->stop_fd[1], &one, 1) != 1)
        log_error("stopping the change log's follower: %s", strerror(errno));
    else
        pthread_join(f->thread, NULL);
    follow_drop(f);
    close(f->stop_fd[0]);
    close(f->stop_fd[1]);
    free(f);
    e->follow = NULL;
}

/* ---- users (schema step 3) ---- */

static void user_params(struct params *p, const struct store_user *u)
{
    p_text(p, u->name, strlen(u->name));
    p_text(p, u->hash, strlen(u->hash));
    p_int(p, u->admin != 0);
    p_int(p, u->locked != 0);
}

/* Row row of r (USER_COLS) as a user; a name or hash longer than the
 * struct holds cannot have come from store_user_add, is cut and so never
 * matches. */
static void user_row(const PGresult *r, int row, struct store_user *u)
{
    struct proto_str name = col_str(r, row, 0), hash = col_str(r, row, 1);
    memset(u, 0, sizeof(*u));
    snprintf(u->name, sizeof(u->name), "%.*s", (int)name.len, name.ptr);
    snprintf(u->hash, sizeof(u->hash), "%.*s", (int)hash.len, hash.ptr);
    u->admin = col_int(r, row, 2) != 0;
    u->locked = col_int(r, row, 3) != 0;
    u->created = col_int(r, row, 4);
}

int pg_user_add(struct pg_store *w, const struct store_user *u)
{
    struct params p = {.n = 0};
    user_params(&p, u);
    p_int(&p, u->created);
    long n = run_n(w, ST_USER_ADD, &p, "cannot add the user");
    return n < 0 ? STORE_ERROR : n == 0 ? STORE_EXISTS : STORE_OK;
}

int pg_user_update(struct pg_store *w, const struct store_user *u)
{
    struct params p = {.n = 0};
    user_params(&p, u);
    long n = run_n(w, ST_USER_UPDATE, &p, "cannot change the user");
    return n < 0 ? STORE_ERROR : n == 0 ? STORE_NOTFOUND : STORE_OK;
}

int pg_user_del(struct pg_store *w, struct proto_str name)
{
    struct params p = {.n = 0};
    p_str(&p, name);
    long n = run_n(w, ST_USER_DEL, &p, "cannot remove the user");
    return n < 0 ? STORE_ERROR : n == 0 ? STORE_NOTFOUND : STORE_OK;
}

int pg_user_get(struct pg_store *s, struct proto_str name, struct store_user *out)
{
    if (read_open(s) != STORE_OK)
        return STORE_ERROR;
    struct params p = {.n = 0};
    p_str(&p, name);
    PGresult *r = run(s, ST_USER_GET, &p, "cannot read users");
    if (r == NULL)
        return STORE_ERROR;
    int found = PQntuples(r) > 0;
    if (found)
        user_row(r, 0, out);
    PQclear(r);
    return found ? STORE_OK : STORE_NOTFOUND;
}

int pg_users(struct pg_store *s, store_user_fn fn, void *arg)
{
    if (read_open(s) != STORE_OK)
        return STORE_ERROR;
    PGresult *r = run(s, ST_USERS, NULL, "cannot read users");
    if (r == NULL)
        return STORE_ERROR;
    int rc = STORE_OK;
    struct store_user u;
    for (int i = 0; i < PQntuples(r) && rc == STORE_OK; i++) {
        user_row(r, i, &u);
        if (fn(arg, &u) != 0)
            rc = STORE_STOPPED;
    }
    PQclear(r);
    return rc;
}

/* ---- lists and shares (schema step 5) ---- */

int pg_list_drop(struct pg_store *w, struct proto_str list, int64_t *n)
{
    *n = 0;
    if (list.len == 0)
        return failf(w, NULL, "the default list cannot be dropped");
    pg_scope(w, list);
    struct params p = {.n = 0};
    p_str(&p, scope_of(w));
    PGresult *r = run(w, ST_LIST_DROP, &p, "cannot drop the list");
    if (r == NULL)
        return STORE_ERROR;
    /* Each task goes as a DEL of the log, so that the other servers'
     * caches and watchers hear of it as of any other. */
    for (int i = 0; i < PQntuples(r); i++) {
        struct proto_str key = col_str(r, i, 0);
        touch(w, key);
        log_add(w, STORE_LOGGED_DEL, 0, key);
        (*n)++;
    }
    PQclear(r);
    struct undo_stack *u = undo_of(w);
    if (u == NULL || undo_stack_reserve(u, u->n) != 0)
        return failf(w, NULL, "out of memory for the undo history");
    while (u->n > 0)
        undo_stack_pop(u);
    return STORE_OK;
}

static int share_write(struct pg_store *w, enum stmt_id id, struct proto_str list,
                       struct proto_str user)
{
    struct params p = {.n = 0};
    p_str(&p, list);
    p_str(&p, user);
    long n = run_n(w, id, &p, "cannot change the list's shares");
    if (n < 0)
        return STORE_ERROR;
    if (n == 0)
        return id == ST_SHARE_ADD ? STORE_EXISTS : STORE_NOTFOUND;
    return STORE_OK;
}

int pg_share_add(struct pg_store *w, struct proto_str list, struct proto_str user)
{
    return share_write(w, ST_SHARE_ADD, list, user);
}

int pg_share_del(struct pg_store *w, struct proto_str list, struct proto_str user)
{
    return share_write(w, ST_SHARE_DEL, list, user);
}

int pg_share_get(struct pg_store *s, struct proto_str list, struct proto_str user)
{
    if (read_open(s) != STORE_OK)
        return STORE_ERROR;
    struct params p = {.n = 0};
    p_str(&p, list);
    p_str(&p, user);
    long n = run_n(s, ST_SHARE_GET, &p, "cannot read the list's shares");
    return n < 0 ? STORE_ERROR : n > 0 ? STORE_OK : STORE_NOTFOUND;
}

int pg_shares(struct pg_store *s, struct proto_str name, store_share_fn fn, void *arg)
{
    if (read_open(s) != STORE_OK)
        return STORE_ERROR;
    struct params p = {.n = 0};
    p_str(&p, name);
    PGresult *r = run(s, ST_SHARES, &p, "cannot read the shares");
    if (r == NULL)
        return STORE_ERROR;
    int rc = STORE_OK;
    for (int i = 0; i < PQntuples(r) && rc == STORE_OK; i++)
        if (fn(arg, col_str(r, i, 0), col_str(r, i, 1)) != 0)
            rc = STORE_STOPPED;
    PQclear(r);
    return rc;
}
