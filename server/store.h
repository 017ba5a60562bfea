/*
 * store.h - where tasks are kept: a storage engine behind an interface it
 * owns entirely. Today's engine is SQLite (store-sqlite.c, with its
 * checkpoint thread in store-sqlite-ckpt.c); a second engine (PostgreSQL,
 * say) implements the same functions and passes the same contract suite
 * (tests/server/test_store.c).
 *
 * Two kinds of object:
 *   struct store_engine - one per process and database: opens, creates or
 *     upgrades it, owns the one writer connection and the write turn, and
 *     runs its own maintenance (store_engine_maintain).
 *   struct store - one connection: a worker's or a stream's, for reads
 *     (store_connect), or the writer, lent out between store_write_begin()
 *     and store_write_end(). A store is used by one thread at a time.
 *
 * What is the engine's business and not its callers': how long to wait
 * for a lock, when to checkpoint, which commands need a savepoint, page
 * caches, how the change counter is kept. Callers see only the location
 * and whether commits must be durable (struct store_options).
 *
 * A write batch, as the server runs it:
 *
 *     store_write_begin(e, &w, err, cap);       the write turn, a transaction
 *     for each write command:
 *         store_cmd_begin(w, req);              a savepoint if the engine needs one
 *         store_add(w, ...) / store_edit(w, ...) / ...
 *         store_cmd_end(w, failed);             keep or undo this command alone
 *         store_write_ok(w)?                    else the batch must be rolled back
 *     store_write_end(e, commit, err, cap);     COMMIT or ROLLBACK, the turn released
 *
 * and between two batches, never inside one, store_engine_maintain(e).
 */
#ifndef TODO_SERVER_STORE_H
#define TODO_SERVER_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "todo/proto.h"

struct store_engine;
struct store;

enum store_rc {
    STORE_OK = 0,
    STORE_NOTFOUND = 1, /* no task with that id */
    STORE_LIMIT = 2,    /* the change would give a task more than PROTO_MAX_TAGS tags */
    STORE_STOPPED = 3,  /* a callback asked to stop */
    STORE_EXISTS = 4,   /* IMPORT fail: a task with that id exists */
    STORE_CONFLICT = 5, /* store_undo: the task changed after the change to undo */
    STORE_ERROR = -1    /* the engine failed; store_errmsg() says why */
};

/* Only what every engine understands. */
struct store_options {
    const char *path; /* where: a file, or ":memory:" for a store that keeps nothing */
    int durable;      /* every commit survives power loss, not only the process dying */
};

/* ---- the engine ---- */

/* path as it may be shown (a log line, an error): a URI's password, in
 * its user part (postgresql://user:PASSWORD@host) or as a password=
 * parameter, becomes "***"; anything else is copied as it is. out gets at
 * most cap bytes, NUL-terminated. */
void store_path_shown(const char *path, char *out, size_t cap);

/* Whether path names a store across a network (a PostgreSQL URI), where
 * each command waits on round trips rather than on the CPU. 1 or 0; it
 * only looks at the name. */
int store_path_is_remote(const char *path);

/* Opens the database (creating it, or upgrading its schema, when needed),
 * opens the writer connection and starts the engine's maintenance.
 * STORE_OK, or STORE_ERROR with a sentence in err (a database made by a
 * newer server, one that another process has open). */
int store_engine_open(struct store_engine **out, const struct store_options *o, char *err,
                      size_t errcap);
/* Stops the maintenance and closes the writer; at a clean stop the engine
 * leaves the database self-contained (SQLite folds its WAL in). Every
 * store_connect() connection must be closed first. NULL is ignored. */
void store_engine_close(struct store_engine *e);
/* How the engine keeps the data, for the server's start-up line (e.g.
 * "WAL, synchronous=FULL"); lives as long as e. */
const char *store_engine_describe(const struct store_engine *e);
/* 1 when a read connection may keep one snapshot open across event-loop
 * passes (a stream, stream.h) without holding writes back. SQLite's
 * in-memory database cannot: a reader there blocks COMMIT. */
int store_engine_streams(const struct store_engine *e);

/* Runs the engine's maintenance when it is due (SQLite: asks its
 * checkpoint thread for a checkpoint, or runs one that restarts the WAL,
 * which takes the write turn and so waits for a batch under way). Called
 * by the workers between passes, never inside a write batch. Cheap when
 * nothing is due. */
void store_engine_maintain(struct store_engine *e);

/* For STATS: which engine s is of ("sqlite", "postgresql") and the state
 * of its connection to the database ("ok"; PostgreSQL: "reconnecting"
 * while the writer's connection is lost). Strings that live as long as
 * the engine. */
void store_facts(struct store *s, const char **engine, const char **state);

/* ---- connections ---- */

enum store_role {
    STORE_ROLE_READ,   /* a worker's: many short reads, a warm cache */
    STORE_ROLE_STREAM, /* a stream's: one long LIST read twice in order, a small cache */
};

/* Opens a read connection on e. STORE_OK, or STORE_ERROR with a sentence
 * in err. */
int store_connect(struct store_engine *e, enum store_role role, struct store **out, char *err,
                  size_t errcap);
/* Closes a store_connect() connection (never the writer: the engine
 * closes that). NULL is ignored. */
void store_close(struct store *s);
/* The last error of s, as a sentence; valid until the next call on s. */
const char *store_errmsg(struct store *s);

/* Reads (get, list, tags, count) outside a write transaction share one
 * read snapshot, opened by the first of them, until store_read_end().
 * Call it before waiting for anything: an open snapshot holds back the
 * engine's maintenance (SQLite: checkpoints, and reusing the WAL). */
void store_read_end(struct store *s);

/* ---- lists: whose tasks a call sees (accounts, issue 18) ---- */

/*
 * Every task belongs to one list. A user's own list is named after them
 * (a name users_name_ok() accepts); the default list "" holds the tasks of
 * a server without accounts, and those a database from before accounts
 * had. Lists are apart: ids are per list (two lists may each have a task
 * 1, and ADD counts from 1 in each), and no call made in one list reads,
 * changes, counts or undoes a task of another.
 *
 * store_scope(s, list) sets the list that s's task calls work in from then
 * on (store_add, store_import, store_edit, store_set_done, store_del,
 * store_put, store_undo, store_get, store_list, store_cursor_open,
 * store_tags, store_count, store_unchanged, store_change_key), until the
 * next store_scope; a connection starts in "". A cursor keeps the list it
 * was opened in. A store is lent to many clients in turn (a worker's, the
 * writer in a batch), so whoever runs a client's command scopes the store
 * for it first. list is copied; at most STORE_MAX_LIST bytes (longer is a
 * caller's bug: the list becomes one nobody has).
 */
#define STORE_MAX_LIST PROTO_MAX_USER
void store_scope(struct store *s, struct proto_str list);

/* ---- writes: the engine's transaction and savepoint policy ---- */

/* Takes the engine's write turn (one writer at a time, in this process)
 * and begins a transaction on the writer, which *w is set to. The turn is
 * taken at once, so a database busy elsewhere is seen here, not half-way
 * through a batch. STORE_OK with the turn held; or STORE_ERROR, the turn
 * not held, with a sentence in err. */
int store_write_begin(struct store_engine *e, struct store **w, char *err, size_t errcap);
/* Before one command of the batch: opens a savepoint if the engine needs
 * one to undo this command alone should it fail (SQLite: a command that
 * may change more than one row; PostgreSQL would need one for every
 * command, since a failed statement aborts its whole transaction).
 * STORE_OK, or STORE_ERROR (store_errmsg(w)): the command must not run. */
int store_cmd_begin(struct store *w, const struct proto_request *req);
/* After that command: keeps its changes, or undoes them when failed is
 * nonzero (the command was refused or failed). STORE_ERROR means the
 * batch is in a state nobody can vouch for and must be rolled back. */
int store_cmd_end(struct store *w, int failed);
/* 1 while the batch's transaction can take more commands. An engine may
 * end a transaction by itself after some errors (SQLite, on a full disk):
 * then it is 0, and the batch must be rolled back, not added to. */
int store_write_ok(struct store *w);
/* Ends the batch: COMMIT when commit is nonzero, else ROLLBACK; releases
 * the write turn either way. A commit that fails (or finds the
 * transaction already ended by the engine) is rolled back and returns
 * STORE_ERROR with a sentence in err; nothing of the batch is kept. err
 * may be NULL. */
int store_write_end(struct store_engine *e, int commit, char *err, size_t errcap);

/* ---- the change counter, for caches of replies ---- */

/*
 * Which tasks changed since a point in time, so that a cache of GET
 * replies (cache.h) keeps an entry for as long as its task is unchanged,
 * not only until the next commit anywhere.
 *
 * store_read_stamp(s) returns a stamp taken before the snapshot of s's
 * next read: everything committed up to that stamp is in what that read
 * sees (it may see more). It opens s's read snapshot if none is open
 * (outside a write transaction), but where the engine runs a pass's first
 * GET on its own (SQLite: a statement without a read transaction, see
 * store_get), the snapshot is that GET's, taken when it runs.
 * store_unchanged(s, id, stamp) is 1 if no commit since stamp changed
 * task id (by any write: ADD, EDIT, DONE, UNDONE, DEL, IMPORT, put), else
 * 0; a 0 may also be a false alarm (another task changed), never the
 * reverse. A rollback, or a commit that failed, changes nothing.
 *
 * The SQLite engine keeps a commit counter and a table of slots (atomic
 * counters, indexed by a hash of the id); the writer records the ids its
 * write functions touch in a transaction, and after its COMMIT, before the
 * turn is released (and so before any reply to those writes goes out),
 * sets each of their slots to the commit's number and then the counter.
 * The stamp is loaded before the snapshot is taken, so a snapshot holds at
 * least the commits up to its stamp; a slot is written after its commit
 * is visible and before it is acknowledged, so a write a client was told
 * about is always seen by store_unchanged. This holds while one server
 * process owns the SQLite file (which the engine makes sure of); another
 * engine, whose data other processes change, needs its own way (e.g.
 * PostgreSQL's LISTEN/NOTIFY, or a version column).
 */
uint64_t store_read_stamp(struct store *s);
int store_unchanged(struct store *s, struct proto_str id, uint64_t stamp);
/* The key of task id's change counter, and store_unchanged() by that key:
 * a cache keeps the key with its entry, so that checking a hit takes no
 * second pass over the id (GET's cache hit is the server's hottest path). */
uint32_t store_change_key(struct store *s, struct proto_str id);
int store_unchanged_key(struct store *s, uint32_t key, uint64_t stamp);

/* ---- reads and writes of tasks ---- */

/* Called for each task (or tag) found; its strings live until it returns.
 * Return nonzero to stop: the store call then returns STORE_STOPPED. */
typedef int (*store_task_fn)(void *arg, const struct proto_task *t);
typedef int (*store_tag_fn)(void *arg, struct proto_str tag, int64_t count);

/* The writes below run on the writer, inside a write batch. */

/* ADD: text, tags, pri, due from req. The new id is written to id: a
 * decimal number never handed out before, the one after the last ADD's
 * (a refused command, or a batch rolled back, gives its ids back), or
 * further on after a crash or an id that IMPORT or put took. */
int store_add(struct store *s, const struct proto_request *req, int64_t now,
              char id[PROTO_MAX_ID + 1]);
/* IMPORT: the task of req (id, text, done, pri, due, tags, created and
 * updated, PROTO_TIME_NOW meaning now) as it was exported. When the id
 * exists, req->import_mode decides: skip it (STORE_OK, outcome SKIPPED),
 * replace the whole task, or STORE_EXISTS. A decimal id such as ADD makes
 * moves ADD's counter past it, so that ADD never collides with it. */
enum { STORE_IMPORT_ADDED = 0, STORE_IMPORT_SKIPPED, STORE_IMPORT_REPLACED };
/* run: in/out, the import run this line belongs to, so that UNDO takes
 * back a whole import as one step: 0 starts a new run (and is set to its
 * number); NULL makes the line a step of its own. */
int store_import(struct store *s, const struct proto_request *req, int64_t now, int64_t *run,
                 int *outcome);
/* EDIT: the changes in req (has_text/text, pri unless PROTO_PRI_KEEP,
 * due_op/due, tags to add, untags to remove). STORE_LIMIT when the task
 * would carry more than PROTO_MAX_TAGS tags (part of the change may have
 * been made: store_cmd_end(w, 1) undoes it). */
int store_edit(struct store *s, const struct proto_request *req, int64_t now);
int store_set_done(struct store *s, struct proto_str id, int done, int64_t now);
int store_del(struct store *s, struct proto_str id);
/* The tutorial's POST: sets the text of id, creating the task if needed. */
int store_put(struct store *s, struct proto_str id, struct proto_str text, int64_t now);

/*
 * UNDO. The writes above (store_add, store_import, store_edit,
 * store_set_done, store_del; not the tutorial's store_put) each record an
 * entry in the store's undo history, in the same transaction (and
 * savepoint) as the change itself, so that a change rolled back leaves no
 * entry: the task as it was before and as it was after. The history is
 * kept in the store (it survives a restart) and holds the newest
 * STORE_UNDO_DEPTH entries, older ones dropped; an IMPORT that skipped
 * records nothing. There is one history per list (store_scope): the
 * changes made in it.
 *
 * store_undo(s, out, each, arg) takes the newest entry of s's list and, if
 * the task is as that change left it (no write since, recorded or not; or,
 * after a DEL, its id still free), puts it back as it was before (after an
 * ADD: deletes it; after a DEL: restores it with its id, times and tags),
 * and removes the entry; the undo itself records nothing. An entry of an
 * IMPORT takes the rest of its run with it (the lines one connection sent
 * in a row, store_import's run): an import is one step. each(arg, ...) is
 * told of every task put back; out says what was undone (the last task of
 * it, and how many). STORE_NOTFOUND: the history is empty. STORE_CONFLICT:
 * the task was changed since by something the history does not hold (out
 * names it); the caller's savepoint takes back what was undone, and the
 * entries stay. The history holds at least the newest STORE_UNDO_DEPTH
 * changes (after a restart, older ones may come back into reach).
 */
#define STORE_UNDO_DEPTH 100

/* Called by store_undo for each task it put back (several for an import). */
typedef void (*store_undone_fn)(void *arg, struct proto_str id, int existed, int exists);

struct store_undone {
    char kind[8]; /* the change undone: add, edit, done, undone, del, import */
    char id[PROTO_MAX_ID + 1];
    int existed; /* the task existed before that change (0: it made it) */
    int exists;  /* the task existed after it (0: it deleted it) */
    int count;   /* tasks put back: 1, or an import's lines */
};
int store_undo(struct store *s, struct store_undone *out, store_undone_fn each, void *arg);

/* The reads run on any store (on the writer inside a batch, where they see
 * its uncommitted writes). */

int store_get(struct store *s, struct proto_str id, store_task_fn fn, void *arg);

/*
 * Reading ahead, for an engine whose reads are round trips to another
 * server (PostgreSQL): a pass that is about to run several GETs on a
 * store says which tasks it will read, and the engine sends all of those
 * reads at once, so that they cost one round trip instead of one each.
 * SQLite, whose reads are calls into the process, takes none
 * (store_engine_reads_ahead() is 0).
 *
 * store_read_ahead(s, v, n) names the tasks (id in list, as store_scope
 * and store_get would name them) in the order the pass will likely read
 * them, outside a write transaction and before the pass's first read. It
 * is a hint and nothing more: a store_get of a task named there is
 * answered from that read (in its own snapshot, taken after the call),
 * any other store call is answered as without it, and what nobody asked
 * for is dropped at store_read_end(). store_read_stamp() answers a stamp
 * taken before the reads were sent until then, so that a reply cached
 * from them is never stamped later than the snapshot it was read in. At
 * most store_engine_reads_ahead() of v are taken.
 */
struct store_want {
    struct proto_str list, id;
};
size_t store_engine_reads_ahead(const struct store_engine *e);
void store_read_ahead(struct store *s, const struct store_want *v, size_t n);
/* How many GETs on s's engine were answered from reads sent ahead, since
 * it was opened (STATS's reads_ahead). */
unsigned long long store_reads_ahead_served(struct store *s);
/* How many writes were answered from writes sent ahead (below), since
 * the engine was opened (STATS's writes_ahead). */
unsigned long long store_writes_ahead_served(struct store *s);
/* How many write batches began while the one before them was still
 * committing, since the engine was opened (STATS's commits_overlapped;
 * always 0 for SQLite, whose batches commit in the write turn). */
unsigned long long store_commits_overlapped(struct store *s);

/*
 * Writing ahead, the same for the writer (PostgreSQL only; 0 from
 * store_engine_writes_ahead() for SQLite): right after the batch is
 * opened (store_write_begin), before any command of it, the front end may
 * name the writes the pass will run first, each with the list its
 * command will run in (store_write_ahead_add(): STORE_OK, or STORE_ERROR
 * for one the engine cannot take, after which none should be named), and
 * then send them (store_write_ahead_send(), with the time their tasks are
 * to be updated at). The engine runs them at once, together, and answers
 * each command from its own when that command runs in its turn
 * (store_cmd_begin to store_cmd_end, as usual). A write named but not run
 * in its turn is taken back before anything else runs on the writer, so
 * it never commits unless its command ran; the commands then run as
 * without it. The engine takes at most store_engine_writes_ahead() of
 * them, EDITs without tags, DONE and UNDONE, each of a different task.
 */
size_t store_engine_writes_ahead(const struct store_engine *e);
int store_write_ahead_add(struct store *w, struct proto_str list, const struct proto_request *req);
void store_write_ahead_send(struct store *w, int64_t now);
/* LIST: req's filter, tags (all must match) and words (each must be in the
 * text as a word, see proto_text_has_words), ordered by creation. */
int store_list(struct store *s, const struct proto_request *req, store_task_fn fn, void *arg);
/* LIST a slice at a time: the tasks store_list would hand out, in its
 * order, from the read transaction open (or opened) on s, over as many
 * calls as the caller likes; while the cursor is open, s runs nothing
 * else. A store has one cursor: opening another closes the first.
 * count steps through up to max more rows without handing them out, adds
 * them to *n and sets *done at the end; rewind goes back to the first row
 * (same snapshot, so count and the rows agree); next hands rows to fn
 * until fn returns nonzero (STORE_STOPPED: the row was handed out, the
 * next call goes on after it) or the end (STORE_OK). close ends the
 * cursor, not the read transaction (store_read_end does). */
struct store_cursor;
int store_cursor_open(struct store *s, const struct proto_request *req, struct store_cursor **out);
int store_cursor_count(struct store_cursor *k, size_t max, size_t *n, int *done);
void store_cursor_rewind(struct store_cursor *k);
int store_cursor_next(struct store_cursor *k, store_task_fn fn, void *arg);
void store_cursor_close(struct store_cursor *k);
/* As many tasks as the cursor's list can have, when that is known cheaply
 * (LIST with tags: the first tag's tasks), else -1. */
long long store_cursor_most(const struct store_cursor *k);
/* Every tag in use with the number of tasks that carry it, by name. */
int store_tags(struct store *s, store_tag_fn fn, void *arg);
int store_count(struct store *s, int64_t *n);

/* ---- many servers on one database: the engine's change log ---- */

/*
 * An engine that other servers may write too (PostgreSQL) keeps a log of
 * changes in the database, written by each write batch in its own
 * transaction, numbered in the order of the commits across every server
 * sharing it. A server follows the log (store_engine_follow): the engine
 * reads it on a thread of its own, keeps its change counters (above) right
 * for changes made by the others, and hands every row to fn, so that
 * WATCH's ring (watch.h) sends the changes of every server in one order.
 * SQLite keeps no log (one server owns its file): store_engine_follow
 * says 0 and nothing changes.
 */
enum store_logged_kind {
    STORE_LOGGED_ADD = 0,
    STORE_LOGGED_EDIT,
    STORE_LOGGED_DONE,
    STORE_LOGGED_UNDONE,
    STORE_LOGGED_DEL,
};

/* One row of the log, as fn is handed it; its strings live until fn
 * returns. */
struct store_logged {
    uint64_t seq;          /* the log's number: one more than the row before */
    int kind;              /* enum store_logged_kind */
    unsigned fields;       /* the fields the change set (change.h's CHANGE_F_*) */
    struct proto_str list; /* the task's list (store_scope); id is its id there */
    struct proto_str id;
    /* The task as the change's batch left it at its COMMIT (NULL for a
     * del, and for a task that a later write of that batch deleted). */
    const struct proto_task *task;
};

/* Called on the engine's thread with the next rows of the log, in order
 * (n >= 1). lost: rows before v[0] were dropped from the log before this
 * server could read them (it was away longer than the log keeps), so
 * whoever relied on seeing every change must be told. */
typedef void (*store_follow_fn)(void *arg, const struct store_logged *v, size_t n, int lost);

/* Starts following e's log: fn gets, first, up to backlog of the newest
 * rows already in it (so that a since: from another server can be served),
 * then every row as it commits, within a few milliseconds (a notification
 * wakes the thread; a timer reads the log once a second too). This
 * server's writer then keeps the log to the newest backlog rows (older
 * ones are pruned as new ones come; unfollowed, 65536). fn may be NULL:
 * only the change counters are kept. *start is set to the number before
 * the first row fn is handed (the log's newest when it hands none). 1
 * when e follows; 0 when e keeps no log (SQLite); -1 with a sentence in
 * err. Call once, before the workers start; store_engine_unfollow()
 * before whatever fn uses is freed, and before store_engine_close(). */
int store_engine_follow(struct store_engine *e, store_follow_fn fn, void *arg, size_t backlog,
                        uint64_t *start, char *err, size_t errcap);
void store_engine_unfollow(struct store_engine *e);
/* The number of the last log row that this server's own committed writes
 * took (0: none yet), so that a WATCH can wait until fn has been handed
 * every change this server acknowledged. */
uint64_t store_engine_log_mine(struct store_engine *e);

/* ---- users (accounts, issue 18) ---- */

/*
 * The people who may log in, kept in the store beside the tasks. A user's
 * password is kept only as the string users_hash() (users.h) made of it:
 * the engine stores and returns it as it is and never looks inside. Names
 * are checked by the caller (users_name_ok); the engine compares them
 * bytewise.
 *
 * Writes run on the writer inside a write batch, as the task writes do
 * (store_write_begin ... store_write_end); each is one statement, which
 * fails alone, so it needs no savepoint of its own. They record no UNDO
 * entry and change no task's change counter.
 */
#define STORE_MAX_USER PROTO_MAX_USER /* bytes of a user's name */
#define STORE_MAX_HASH 128 /* bytes of a hash string, its NUL included (crypto_pwhash_STRBYTES) */

struct store_user {
    char name[STORE_MAX_USER + 1];
    char hash[STORE_MAX_HASH]; /* NUL-terminated */
    int admin;                 /* may manage users */
    int locked;                /* may not log in */
    int64_t created;           /* Unix seconds */
};

/* Called for each user found, by name; return nonzero to stop
 * (STORE_STOPPED). */
typedef int (*store_user_fn)(void *arg, const struct store_user *u);

/* Adds u (its name, hash, admin, locked and created). STORE_EXISTS: a user
 * of that name exists, and nothing changed. */
int store_user_add(struct store *w, const struct store_user *u);
/* Sets the hash, admin and locked of the user named u->name (not its
 * created). STORE_NOTFOUND: no such user. */
int store_user_update(struct store *w, const struct store_user *u);
/* Removes the user. STORE_NOTFOUND: no such user. Their list stays until
 * store_list_drop (todo-server user del runs both in one batch). */
int store_user_del(struct store *w, struct proto_str name);
/* Removes every task of list (a user's who is deleted), with its tags, its
 * UNDO history, its shares both ways (store_share_add) and its ADD counter, so that a user made
 * later with the same name starts with an empty list and ids from 1. Each task counts as deleted
 * for the change counters (store_unchanged) and, on an engine that keeps a change log, is logged as
 * a del, so that no server's cache still answers for it. The default list "" cannot be dropped
 * (STORE_ERROR). *n is set to the number of tasks removed. */
int store_list_drop(struct store *w, struct proto_str list, int64_t *n);
/* Reads one user into out. STORE_NOTFOUND: no such user. Like the other
 * reads, on any store, in its read snapshot (store_read_end ends it). */
int store_user_get(struct store *s, struct proto_str name, struct store_user *out);
/* Every user, ordered by name. */
int store_users(struct store *s, store_user_fn fn, void *arg);

/* ---- shares (SHARE): who may use whose list ---- */

/*
 * A share lets a user work in another's list (USE LIST), seeing and
 * changing its tasks as its owner does. Kept in the store beside the users;
 * written on the writer in a write batch like them (one statement each,
 * no UNDO entry, no change counter touched); store_list_drop removes a
 * list's shares, both ways.
 */
typedef int (*store_share_fn)(void *arg, struct proto_str list, struct proto_str user);

/* Lets user use list. STORE_EXISTS: it may already, nothing changed. */
int store_share_add(struct store *w, struct proto_str list, struct proto_str user);
/* Takes that back. STORE_NOTFOUND: it was not shared. */
int store_share_del(struct store *w, struct proto_str list, struct proto_str user);
/* STORE_OK when user may use list (shared), else STORE_NOTFOUND; in the
 * read snapshot, as the other reads. */
int store_share_get(struct store *s, struct proto_str list, struct proto_str user);
/* Every share of list name or with user name (list = name or user =
 * name), ordered by list, then user. */
int store_shares(struct store *s, struct proto_str name, store_share_fn fn, void *arg);

/* ---- failing on purpose, for tests ---- */

#ifdef TODO_FAULT_INJECTION
/* Test builds only (TODO_FAULT_INJECTION): what fails from now on. The
 * first three fail below the engine, in the whole process (SQLite: in its
 * WAL files, where TODO_FAULT_FILE's faults come from too, wal-gather.c),
 * as a real disk's failure would; a store that keeps nothing (":memory:")
 * has no WAL and never fails so. The others fail e's own transaction
 * calls, in any store, so that every path of a batch that cannot begin, a
 * command whose savepoint fails, and a transaction the engine ended on its
 * own has a test. NONE ends it. */
enum store_fault {
    STORE_FAULT_NONE,
    STORE_FAULT_COMMIT_FULL,  /* every commit fails as on a full disk */
    STORE_FAULT_COMMIT_IOERR, /* every commit fails as a failed write */
    STORE_FAULT_READ_IOERR,   /* reads of committed data fail */
    STORE_FAULT_BEGIN,        /* store_write_begin fails (the turn is not kept) */
    STORE_FAULT_SAVEPOINT,    /* store_cmd_begin fails, for a command that needs a savepoint */
    STORE_FAULT_RELEASE,      /* store_cmd_end fails, for a command that had a savepoint */
    /* store_cmd_end ends the whole transaction, as SQLite does itself after
     * some errors: store_write_ok() then says 0, and the commit fails. */
    STORE_FAULT_TX_LOST,
    /* The undo history cannot make room for a write's entry (no memory):
     * store_cmd_begin fails, before the write changes anything. */
    STORE_FAULT_UNDO,
    /* The second write sent ahead (store_write_ahead_send) fails in the
     * database, as a statement PostgreSQL refuses; the ordinary statement
     * of the same command does not (SQLite writes none ahead). */
    STORE_FAULT_AHEAD,
};
void store_fault_set(struct store_engine *e, enum store_fault f);
#endif

#endif /* TODO_SERVER_STORE_H */
