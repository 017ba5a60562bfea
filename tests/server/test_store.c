/*
 * test_store.c - the store's contract (server/store.h): one set of checks
 * that every engine must pass, run through the store API alone (no
 * sockets, no server).
 *
 * Each check is run once per fixture. A fixture opens an engine by its
 * options and says what it can do (keep data across a reopen, fail on
 * purpose); today's are SQLite on a file and SQLite in memory. Another
 * engine (PostgreSQL, say) is tested by linking it instead and adding its
 * fixture to fixtures[]: the checks stay as they are.
 *
 * Requests are made with libproto's parser from protocol lines, so that a
 * check reads like what a client sends.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../common/cmocka_analyzer.h"
#include "log.h"
#include "store.h"
#include "todo/proto.h"

/* A fixed clock, so that created and updated can be checked. */
#define NOW 1800000000
#define LATER (NOW + 60)

/* ---- fixtures ---- */

struct fx;

struct fixture {
    const char *name;
    /* Opens (or, reopen: opens again, keeping its data) f->e. */
    int (*open)(struct fx *f, int reopen);
    /* Closes f->e; keep: the data stays for a reopen. */
    void (*close)(struct fx *f, int keep);
    int persistent; /* a reopen finds the data */
    int faults;     /* store_fault_set() makes it fail */
};

struct fx {
    const struct fixture *fix;
    struct store_engine *e;
    struct store *r; /* a read connection, as a worker has */
    char dir[256], path[300];
};

static int sqlite_file_open(struct fx *f, int reopen)
{
    char err[512];
    if (!reopen) {
        const char *tmp = getenv("TMPDIR");
        snprintf(f->dir, sizeof(f->dir), "%s/todo-store-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (mkdtemp(f->dir) == NULL)
            return -1;
        snprintf(f->path, sizeof(f->path), "%s/todo.db", f->dir);
    }
    struct store_options o = {.path = f->path, .durable = 0};
    if (store_engine_open(&f->e, &o, err, sizeof(err)) != STORE_OK) {
        fprintf(stderr, "store_engine_open: %s\n", err);
        return -1;
    }
    return 0;
}

static void sqlite_file_close(struct fx *f, int keep)
{
    store_engine_close(f->e);
    f->e = NULL;
    if (keep)
        return;
    static const char *const suffix[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        char p[320];
        snprintf(p, sizeof(p), "%s%s", f->path, suffix[i]);
        unlink(p);
    }
    rmdir(f->dir);
}

static int sqlite_memory_open(struct fx *f, int reopen)
{
    char err[512];
    (void)reopen;
    struct store_options o = {.path = ":memory:", .durable = 0};
    if (store_engine_open(&f->e, &o, err, sizeof(err)) != STORE_OK) {
        fprintf(stderr, "store_engine_open: %s\n", err);
        return -1;
    }
    return 0;
}

static void sqlite_memory_close(struct fx *f, int keep)
{
    (void)keep;
    store_engine_close(f->e);
    f->e = NULL;
}

#ifdef TODO_FAULT_INJECTION
#define SQLITE_FAULTS 1
#else
#define SQLITE_FAULTS 0
#endif

#ifdef TODO_WITH_POSTGRES
/* PostgreSQL, at the URI in TODO_TEST_PG (the postgres stage of
 * scripts/test starts a private server): each check in a schema of its
 * own, which the engine creates, so that checks start empty. Without
 * TODO_TEST_PG its checks are skipped, and say so. */
static int pg_open(struct fx *f, int reopen)
{
    static unsigned n;
    char err[512];
    const char *uri = getenv("TODO_TEST_PG");
    if (!reopen) {
        /* options= takes the server's command-line switches. */
        snprintf(f->path, sizeof(f->path), "%s%coptions=-csearch_path%%3Dstore_%ld_%u", uri,
                 strchr(uri, '?') ? '&' : '?', (long)getpid(), n++);
    }
    struct store_options o = {.path = f->path, .durable = 0};
    if (store_engine_open(&f->e, &o, err, sizeof(err)) != STORE_OK) {
        fprintf(stderr, "store_engine_open: %s\n", err);
        return -1;
    }
    return 0;
}

static void pg_close(struct fx *f, int keep)
{
    (void)keep; /* the schema stays; the private server goes */
    store_engine_close(f->e);
    f->e = NULL;
}
#endif

static const struct fixture fixtures[] = {
    {"sqlite-file", sqlite_file_open, sqlite_file_close, 1, SQLITE_FAULTS},
    {"sqlite-memory", sqlite_memory_open, sqlite_memory_close, 0, 0},
#ifdef TODO_WITH_POSTGRES
    {"postgresql", pg_open, pg_close, 1, SQLITE_FAULTS},
#endif
};

/* A fixture that cannot run here: PostgreSQL without TODO_TEST_PG. */
static int fixture_absent(const struct fixture *fix)
{
    const char *uri = getenv("TODO_TEST_PG");
    return strcmp(fix->name, "postgresql") == 0 && (uri == NULL || *uri == '\0');
}

/* ---- helpers ---- */

/* A request parsed from a protocol line, with the scratch its strings may
 * point into. */
struct req {
    struct proto_request r;
    char line[2048];
    char scratch[2048];
};

static void parse(struct req *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void parse(struct req *q, const char *fmt, ...)
{
    char err[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(q->line, sizeof(q->line), fmt, ap);
    va_end(ap);
    assert_true(n > 0 && (size_t)n < sizeof(q->line));
    enum proto_err e = proto_request_parse(q->line, (size_t)n, q->scratch, sizeof(q->scratch),
                                           &q->r, err, sizeof(err));
    if (e != PROTO_E_NONE)
        fail_msg("cannot parse '%s': %s", q->line, err);
}

static struct proto_str S(const char *s) {
    return (struct proto_str){s, strlen(s)};
}

/* A task as read, with its own copies of the strings. */
struct task {
    char id[PROTO_MAX_ID + 1];
    char text[512];
    int done, pri;
    char due[PROTO_DATE_LEN + 1];
    char tags[1200];
    int64_t created, updated;
};

struct tasks {
    struct task t[64];
    size_t n;
};

static void copy_str(char *dst, size_t cap, struct proto_str s)
{
    size_t n = s.len < cap - 1 ? s.len : cap - 1;
    memcpy(dst, s.ptr, n);
    dst[n] = '\0';
}

static int collect(void *arg, const struct proto_task *t)
{
    struct tasks *k = arg;
    if (k->n == sizeof(k->t) / sizeof(k->t[0]))
        return 1;
    struct task *d = &k->t[k->n++];
    copy_str(d->id, sizeof(d->id), t->id);
    copy_str(d->text, sizeof(d->text), t->text);
    copy_str(d->tags, sizeof(d->tags), t->tags);
    snprintf(d->due, sizeof(d->due), "%s", t->due);
    d->done = t->done;
    d->pri = t->pri;
    d->created = t->created;
    d->updated = t->updated;
    return 0;
}

/* Reads ends the snapshot after, so that the next read sees the latest
 * commit (the worker ends it after each pass). */
static int get(struct store *s, const char *id, struct task *out)
{
    struct tasks k = {.n = 0};
    int rc = store_get(s, S(id), collect, &k);
    store_read_end(s);
    if (rc == STORE_OK) {
        assert_int_equal(k.n, 1);
        *out = k.t[0];
    }
    return rc;
}

static int list(struct store *s, struct tasks *k, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int list(struct store *s, struct tasks *k, const char *fmt, ...)
{
    struct req q;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    parse(&q, "%s", line);
    assert_int_equal(q.r.cmd, PROTO_CMD_LIST);
    k->n = 0;
    int rc = store_list(s, &q.r, collect, k);
    store_read_end(s);
    return rc;
}

/* The ids of a list, joined by spaces. */
static const char *ids_of(const struct tasks *k)
{
    static char out[1024];
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < k->n; i++)
        n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%s", i ? " " : "", k->t[i].id);
    return out;
}

static struct store *wbegin(struct fx *f)
{
    struct store *w = NULL;
    char err[256];
    int rc = store_write_begin(f->e, &w, err, sizeof(err));
    if (rc != STORE_OK)
        fail_msg("store_write_begin: %s", err);
    assert_non_null(w);
    return w;
}

static void wend(struct fx *f, int commit)
{
    char err[256];
    int rc = store_write_end(f->e, commit, err, sizeof(err));
    if (rc != STORE_OK)
        fail_msg("store_write_end: %s", err);
}

/* One write command inside the open batch, as the server runs it: in
 * store_cmd_begin/end, undone alone when it does not succeed. ADD's new
 * id, IMPORT's outcome as a word, goes to out. */
static int run(struct store *w, const char *line, char *out, size_t outcap)
{
    static const char *const said[] = {"imported", "skipped", "replaced"};
    struct req q;
    char id[PROTO_MAX_ID + 1] = "";
    int rc, outcome = 0;
    parse(&q, "%s", line);
    assert_int_equal(store_cmd_begin(w, &q.r), STORE_OK);
    switch (q.r.cmd) {
    case PROTO_CMD_ADD:
        rc = store_add(w, &q.r, NOW, id);
        break;
    case PROTO_CMD_EDIT:
        rc = store_edit(w, &q.r, LATER);
        break;
    case PROTO_CMD_DONE:
    case PROTO_CMD_UNDONE:
        rc = store_set_done(w, q.r.id, q.r.cmd == PROTO_CMD_DONE, LATER);
        break;
    case PROTO_CMD_DEL:
        rc = store_del(w, q.r.id);
        break;
    case PROTO_CMD_IMPORT:
        rc = store_import(w, &q.r, NOW, NULL, &outcome);
        if (rc == STORE_OK)
            snprintf(id, sizeof(id), "%s", said[outcome]);
        break;
    case PROTO_CMD_LEGACY_POST:
        rc = store_put(w, q.r.id, q.r.text, NOW);
        break;
    default:
        fail_msg("not a write: %s", line);
        return STORE_ERROR;
    }
    assert_int_equal(store_cmd_end(w, rc != STORE_OK), STORE_OK);
    if (out != NULL)
        snprintf(out, outcap, "%s", id);
    return rc;
}

/* One write in a batch of its own, committed. */
static int write1(struct fx *f, const char *line)
{
    struct store *w = wbegin(f);
    int rc = run(w, line, NULL, 0);
    wend(f, 1);
    return rc;
}

/* ADD in a batch of its own: the new id. */
static const char *add(struct fx *f, const char *line)
{
    static char id[PROTO_MAX_ID + 1];
    struct store *w = wbegin(f);
    assert_int_equal(run(w, line, id, sizeof(id)), STORE_OK);
    wend(f, 1);
    return id;
}

/* ---- the checks ---- */

static void add_then_get(struct fx *f)
{
    struct task t;
    assert_string_equal(add(f, "ADD buy oat milk +shop +home pri:high due:2027-03-04"), "1");
    assert_int_equal(get(f->r, "1", &t), STORE_OK);
    assert_string_equal(t.id, "1");
    assert_string_equal(t.text, "buy oat milk");
    assert_string_equal(t.tags, "home,shop"); /* by name */
    assert_int_equal(t.pri, PROTO_PRI_HIGH);
    assert_string_equal(t.due, "2027-03-04");
    assert_int_equal(t.done, 0);
    assert_int_equal(t.created, NOW);
    assert_int_equal(t.updated, NOW);

    assert_string_equal(add(f, "ADD plain"), "2");
    assert_int_equal(get(f->r, "2", &t), STORE_OK);
    assert_string_equal(t.text, "plain");
    assert_string_equal(t.tags, "");
    assert_int_equal(t.pri, PROTO_PRI_NONE);
    assert_string_equal(t.due, "");
    assert_int_equal(get(f->r, "3", &t), STORE_NOTFOUND);
    assert_int_equal(get(f->r, "nosuch", &t), STORE_NOTFOUND);
}

/* ADD's ids are 1, 2, 3...: a refused command, a rolled-back batch and a
 * failed command do not cost an id. */
static void ids_are_consecutive(struct fx *f)
{
    char id[PROTO_MAX_ID + 1];
    assert_string_equal(add(f, "ADD one"), "1");
    assert_string_equal(add(f, "ADD two +t"), "2");
    assert_int_equal(write1(f, "EDIT 99 refused"), STORE_NOTFOUND);
    assert_string_equal(add(f, "ADD three"), "3");

    /* A batch rolled back gives its ids back. */
    struct store *w = wbegin(f);
    assert_int_equal(run(w, "ADD four", id, sizeof(id)), STORE_OK);
    assert_string_equal(id, "4");
    assert_int_equal(run(w, "ADD five +x", id, sizeof(id)), STORE_OK);
    assert_string_equal(id, "5");
    wend(f, 0);
    assert_string_equal(add(f, "ADD four again"), "4");

    /* A command undone inside a batch (store_cmd_end(w, 1)) gives its id
     * back; the batch's other ADDs keep theirs. */
    w = wbegin(f);
    assert_int_equal(run(w, "ADD five", id, sizeof(id)), STORE_OK);
    assert_string_equal(id, "5");
    struct req q;
    char tmp[PROTO_MAX_ID + 1];
    parse(&q, "ADD undone +a");
    assert_int_equal(store_cmd_begin(w, &q.r), STORE_OK);
    assert_int_equal(store_add(w, &q.r, NOW, tmp), STORE_OK);
    assert_string_equal(tmp, "6");
    assert_int_equal(store_cmd_end(w, 1), STORE_OK);
    assert_int_equal(run(w, "ADD six", id, sizeof(id)), STORE_OK);
    assert_string_equal(id, "6");
    wend(f, 1);

    struct task t;
    assert_int_equal(get(f->r, "6", &t), STORE_OK);
    assert_string_equal(t.text, "six");
    assert_int_equal(get(f->r, "7", &t), STORE_NOTFOUND);
    /* Ids taken by put or IMPORT are skipped. */
    assert_int_equal(write1(f, "POST/7=taken/s"), STORE_OK);
    assert_string_equal(add(f, "ADD eight"), "8");
}

static void edit_changes_what_is_given(struct fx *f)
{
    struct task t;
    assert_string_equal(add(f, "ADD first text +a +b pri:low due:2027-01-01"), "1");
    assert_int_equal(write1(f, "EDIT 1 second text"), STORE_OK);
    assert_int_equal(get(f->r, "1", &t), STORE_OK);
    assert_string_equal(t.text, "second text");
    assert_string_equal(t.tags, "a,b");
    assert_int_equal(t.pri, PROTO_PRI_LOW);
    assert_string_equal(t.due, "2027-01-01");
    assert_int_equal(t.created, NOW);
    assert_int_equal(t.updated, LATER);

    assert_int_equal(write1(f, "EDIT 1 pri:high due:none"), STORE_OK);
    assert_int_equal(get(f->r, "1", &t), STORE_OK);
    assert_string_equal(t.text, "second text");
    assert_int_equal(t.pri, PROTO_PRI_HIGH);
    assert_string_equal(t.due, "");
    assert_int_equal(write1(f, "EDIT 1 pri:none due:2028-02-29"), STORE_OK);
    assert_int_equal(get(f->r, "1", &t), STORE_OK);
    assert_int_equal(t.pri, PROTO_PRI_NONE);
    assert_string_equal(t.due, "2028-02-29");

    assert_int_equal(write1(f, "EDIT 1 +c -a"), STORE_OK);
    assert_int_equal(get(f->r, "1", &t), STORE_OK);
    assert_string_equal(t.tags, "b,c");
    assert_int_equal(write1(f, "EDIT 1 -b -c"), STORE_OK);
    assert_int_equal(get(f->r, "1", &t), STORE_OK);
    assert_string_equal(t.tags, "");
    assert_int_equal(write1(f, "EDIT 2 nobody"), STORE_NOTFOUND);
}

/* A 17th tag is refused (STORE_LIMIT) and nothing of that EDIT stays,
 * the text given with it neither. */
static void edit_17th_tag_is_refused(struct fx *f)
{
    char line[1024];
    size_t n = (size_t)snprintf(line, sizeof(line), "ADD full");
    for (int i = 0; i < PROTO_MAX_TAGS; i++)
        n += (size_t)snprintf(line + n, sizeof(line) - n, " +t%02d", i);
    assert_string_equal(add(f, line), "1");
    assert_int_equal(write1(f, "EDIT 1 changed +one-more -t00 pri:high"), STORE_OK);
    assert_int_equal(write1(f, "EDIT 1 changed again +t00"), STORE_LIMIT);

    struct task t;
    assert_int_equal(get(f->r, "1", &t), STORE_OK);
    assert_string_equal(t.text, "changed");
    assert_non_null(strstr(t.tags, "one-more"));
    assert_null(strstr(t.tags, "t00"));
    assert_int_equal(t.pri, PROTO_PRI_HIGH);
    assert_int_equal(write1(f, "EDIT 1 +t01"), STORE_OK); /* one it has already */
}

static void done_and_undone(struct fx *f)
{
    struct task t;
    assert_string_equal(add(f, "ADD a task"), "1");
    assert_int_equal(write1(f, "DONE 1"), STORE_OK);
    assert_int_equal(get(f->r, "1", &t), STORE_OK);
    assert_int_equal(t.done, 1);
    assert_int_equal(t.updated, LATER);
    assert_int_equal(write1(f, "DONE 1"), STORE_OK);
    assert_int_equal(write1(f, "UNDONE 1"), STORE_OK);
    assert_int_equal(get(f->r, "1", &t), STORE_OK);
    assert_int_equal(t.done, 0);
    assert_int_equal(write1(f, "DONE 2"), STORE_NOTFOUND);
    assert_int_equal(write1(f, "UNDONE 2"), STORE_NOTFOUND);
}

static void del_then_get(struct fx *f)
{
    struct task t;
    struct tasks k;
    assert_string_equal(add(f, "ADD going +tag"), "1");
    assert_string_equal(add(f, "ADD staying +tag"), "2");
    assert_int_equal(write1(f, "DEL 1"), STORE_OK);
    assert_int_equal(get(f->r, "1", &t), STORE_NOTFOUND);
    assert_int_equal(write1(f, "DEL 1"), STORE_NOTFOUND);
    assert_int_equal(write1(f, "EDIT 1 back"), STORE_NOTFOUND);
    assert_int_equal(list(f->r, &k, "LIST all +tag"), STORE_OK);
    assert_string_equal(ids_of(&k), "2");
    /* Its id is not handed out again. */
    assert_string_equal(add(f, "ADD new"), "3");
}

static void list_filters(struct fx *f)
{
    struct tasks k;
    assert_string_equal(add(f, "ADD buy milk +shop +home"), "1");
    assert_string_equal(add(f, "ADD call Mum +home"), "2");
    assert_string_equal(add(f, "ADD milkshake recipe +shop"), "3");
    assert_string_equal(add(f, "ADD e-mail the milk man +work"), "4");
    assert_string_equal(add(f, "ADD nothing to see"), "5");
    assert_int_equal(write1(f, "DONE 2"), STORE_OK);
    assert_int_equal(write1(f, "DONE 4"), STORE_OK);

    assert_int_equal(list(f->r, &k, "LIST"), STORE_OK);
    assert_string_equal(ids_of(&k), "1 3 5");
    assert_int_equal(list(f->r, &k, "LIST pending"), STORE_OK);
    assert_string_equal(ids_of(&k), "1 3 5");
    assert_int_equal(list(f->r, &k, "LIST done"), STORE_OK);
    assert_string_equal(ids_of(&k), "2 4");
    assert_int_equal(list(f->r, &k, "LIST all"), STORE_OK);
    assert_string_equal(ids_of(&k), "1 2 3 4 5");
    /* Every tag must match. */
    assert_int_equal(list(f->r, &k, "LIST all +home"), STORE_OK);
    assert_string_equal(ids_of(&k), "1 2");
    assert_int_equal(list(f->r, &k, "LIST all +home +shop"), STORE_OK);
    assert_string_equal(ids_of(&k), "1");
    assert_int_equal(list(f->r, &k, "LIST done +home"), STORE_OK);
    assert_string_equal(ids_of(&k), "2");
    assert_int_equal(list(f->r, &k, "LIST all +nosuch"), STORE_OK);
    assert_string_equal(ids_of(&k), "");
    /* Words: each as a word, any order, ASCII case folded. */
    assert_int_equal(list(f->r, &k, "LIST all milk"), STORE_OK);
    assert_string_equal(ids_of(&k), "1 4");
    assert_int_equal(list(f->r, &k, "LIST all MILK buy"), STORE_OK);
    assert_string_equal(ids_of(&k), "1");
    assert_int_equal(list(f->r, &k, "LIST all mail"), STORE_OK);
    assert_string_equal(ids_of(&k), "4");
    assert_int_equal(list(f->r, &k, "LIST pending +shop milk"), STORE_OK);
    assert_string_equal(ids_of(&k), "1");
    assert_int_equal(list(f->r, &k, "LIST %s", "all \"50%\""), STORE_OK);
    assert_string_equal(ids_of(&k), "");
}

/* Creation order, not id order: IMPORT can bring older tasks in later. */
static void list_in_creation_order(struct fx *f)
{
    struct tasks k;
    assert_string_equal(add(f, "ADD now"), "1");
    assert_int_equal(write1(f, "IMPORT fail old pending 2020-01-01T00:00:00Z "
                               "2020-01-01T00:00:00Z \"from before\""),
                     STORE_OK);
    assert_string_equal(add(f, "ADD later"), "2");
    assert_int_equal(list(f->r, &k, "LIST"), STORE_OK);
    assert_string_equal(ids_of(&k), "old 1 2");
}

/* The cursor hands out what store_list does, counted first. */
static void list_by_cursor(struct fx *f)
{
    for (int i = 0; i < 30; i++) {
        char line[64];
        snprintf(line, sizeof(line), "ADD task %d%s", i, i % 3 == 0 ? " +three" : "");
        add(f, line);
    }
    for (int i = 1; i <= 30; i += 4) {
        char line[64];
        snprintf(line, sizeof(line), "DONE %d", i);
        assert_int_equal(write1(f, line), STORE_OK);
    }
    static const char *const lists[] = {"LIST", "LIST all", "LIST done", "LIST all +three",
                                        "LIST all task"};
    for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++) {
        struct tasks want, got = {.n = 0};
        struct req q;
        struct store_cursor *cur;
        assert_int_equal(list(f->r, &want, "%s", lists[l]), STORE_OK);
        parse(&q, "%s", lists[l]);
        assert_int_equal(store_cursor_open(f->r, &q.r, &cur), STORE_OK);
        size_t n = 0;
        int done = 0;
        while (!done)
            assert_int_equal(store_cursor_count(cur, 7, &n, &done), STORE_OK);
        assert_int_equal(n, want.n);
        store_cursor_rewind(cur);
        assert_int_equal(store_cursor_next(cur, collect, &got), STORE_OK);
        store_cursor_close(cur);
        store_read_end(f->r);
        assert_string_equal(ids_of(&got), ids_of(&want));
    }
}

struct tag_list {
    char text[512];
    size_t n;
};

static int collect_tag(void *arg, struct proto_str tag, int64_t count)
{
    struct tag_list *k = arg;
    size_t n = strlen(k->text);
    snprintf(k->text + n, sizeof(k->text) - n, "%s%.*s=%lld", n ? " " : "", (int)tag.len, tag.ptr,
             (long long)count);
    k->n++;
    return 0;
}

static void tags_with_counts(struct fx *f)
{
    struct tag_list k = {.n = 0};
    assert_int_equal(store_tags(f->r, collect_tag, &k), STORE_OK);
    store_read_end(f->r);
    assert_int_equal(k.n, 0);
    add(f, "ADD a +work +home");
    add(f, "ADD b +home");
    add(f, "ADD c +zoo +home");
    assert_int_equal(write1(f, "EDIT 3 -zoo"), STORE_OK);
    assert_int_equal(write1(f, "DONE 2"), STORE_OK); /* done tasks count too */
    memset(&k, 0, sizeof(k));
    assert_int_equal(store_tags(f->r, collect_tag, &k), STORE_OK);
    store_read_end(f->r);
    assert_string_equal(k.text, "home=3 work=1");
}

static void count_tasks(struct fx *f)
{
    int64_t n = -1;
    assert_int_equal(store_count(f->r, &n), STORE_OK);
    store_read_end(f->r);
    assert_int_equal(n, 0);
    add(f, "ADD a");
    add(f, "ADD b");
    add(f, "ADD c");
    assert_int_equal(write1(f, "DONE 1"), STORE_OK);
    assert_int_equal(write1(f, "DEL 2"), STORE_OK);
    assert_int_equal(store_count(f->r, &n), STORE_OK);
    store_read_end(f->r);
    assert_int_equal(n, 2);
}

static void import_modes(struct fx *f)
{
    char said[PROTO_MAX_ID + 1];
    struct task t;
    struct store *w = wbegin(f);
    assert_int_equal(run(w,
                         "IMPORT fail 500 done 2026-11-26T10:00:00Z 2026-11-27T08:30:00Z "
                         "\"buy oat milk\" +home pri:high due:2026-12-01",
                         said, sizeof(said)),
                     STORE_OK);
    assert_string_equal(said, "imported");
    wend(f, 1);
    assert_int_equal(get(f->r, "500", &t), STORE_OK);
    assert_string_equal(t.text, "buy oat milk");
    assert_int_equal(t.done, 1);
    assert_int_equal(t.pri, PROTO_PRI_HIGH);
    assert_string_equal(t.due, "2026-12-01");
    assert_string_equal(t.tags, "home");
    assert_int_equal(t.created, 1795687200); /* 2026-11-26T10:00:00Z */
    assert_int_equal(t.updated, 1795768200); /* 2026-11-27T08:30:00Z */

    assert_int_equal(write1(f, "IMPORT fail 500 pending - - other"), STORE_EXISTS);
    w = wbegin(f);
    assert_int_equal(run(w, "IMPORT skip 500 pending - - other", said, sizeof(said)), STORE_OK);
    assert_string_equal(said, "skipped");
    wend(f, 1);
    assert_int_equal(get(f->r, "500", &t), STORE_OK);
    assert_string_equal(t.text, "buy oat milk");

    w = wbegin(f);
    assert_int_equal(run(w, "IMPORT replace 500 pending - - other +work", said, sizeof(said)),
                     STORE_OK);
    assert_string_equal(said, "replaced");
    assert_int_equal(
        run(w, "IMPORT replace task_01 pending - - \"see someone\"", said, sizeof(said)), STORE_OK);
    assert_string_equal(said, "imported");
    wend(f, 1);
    assert_int_equal(get(f->r, "500", &t), STORE_OK);
    assert_string_equal(t.text, "other");
    assert_int_equal(t.done, 0);
    assert_int_equal(t.pri, PROTO_PRI_NONE);
    assert_string_equal(t.due, "");
    assert_string_equal(t.tags, "work"); /* the old tags are gone */
    assert_int_equal(t.created, NOW);    /* "-": now */
    assert_int_equal(get(f->r, "task_01", &t), STORE_OK);

    /* ADD goes on past the decimal id imported. */
    assert_string_equal(add(f, "ADD next"), "501");
}

/* The tutorial's POST: creates, or replaces the text and keeps the rest. */
static void put_legacy(struct fx *f)
{
    struct task t;
    assert_int_equal(write1(f, "POST/kd=first/s"), STORE_OK);
    assert_int_equal(get(f->r, "kd", &t), STORE_OK);
    assert_string_equal(t.text, "first");
    assert_int_equal(write1(f, "EDIT kd +tag pri:low"), STORE_OK);
    assert_int_equal(write1(f, "POST/kd=second/s"), STORE_OK);
    assert_int_equal(get(f->r, "kd", &t), STORE_OK);
    assert_string_equal(t.text, "second");
    assert_string_equal(t.tags, "tag");
    assert_int_equal(t.pri, PROTO_PRI_LOW);
}

/* The change counter: a commit that writes task A says A changed since an
 * earlier stamp, and not B; a rollback changes nothing; a snapshot's
 * stamp is taken before it, so a commit after the snapshot counts as a
 * change even to a reader that stamped it; and a read after the stamp
 * sees at least every commit up to it, whether it ran on its own or in
 * the pass's snapshot. */
static void change_counter(struct fx *f)
{
    assert_string_equal(add(f, "ADD a"), "1");
    assert_string_equal(add(f, "ADD b"), "2");
    struct tasks k = {.n = 0};
    uint64_t stamp = store_read_stamp(f->r);
    assert_int_equal(store_get(f->r, S("1"), collect, &k), STORE_OK);
    assert_int_equal(store_unchanged(f->r, S("1"), stamp), 1);
    assert_int_equal(store_unchanged(f->r, S("2"), stamp), 1);
    /* A pass's first GET may run on its own (the SQLite engine's does);
     * the second opens the snapshot the pass's later reads share. */
    assert_int_equal(store_get(f->r, S("2"), collect, &k), STORE_OK);
    assert_string_equal(k.t[1].text, "b");
    /* The same stamp comes back while the snapshot is open. */
    assert_true(store_read_stamp(f->r) == stamp);
    /* (In SQLite's memory database an open snapshot would hold the commit
     * back: store_engine_streams() says whether it may stay open.) */
    if (!store_engine_streams(f->e))
        store_read_end(f->r);

    assert_int_equal(write1(f, "EDIT 1 a2"), STORE_OK);
    assert_int_equal(store_unchanged(f->r, S("1"), stamp), 0);
    assert_int_equal(store_unchanged(f->r, S("2"), stamp), 1);
    if (store_engine_streams(f->e)) {
        /* The snapshot open across the commit still reads the old text. */
        assert_int_equal(store_get(f->r, S("1"), collect, &k), STORE_OK);
        assert_string_equal(k.t[2].text, "a");
        assert_true(store_read_stamp(f->r) == stamp);
    }
    store_read_end(f->r);

    /* A new snapshot, a new stamp: nothing since. */
    stamp = store_read_stamp(f->r);
    store_read_end(f->r);
    assert_int_equal(store_unchanged(f->r, S("1"), stamp), 1);

    /* A commit between the stamp and the read that follows it: the read
     * may see it, and then the change counter says so, so that nobody
     * keeps that read as if it were as old as the stamp. */
    stamp = store_read_stamp(f->r);
    assert_int_equal(write1(f, "EDIT 1 a3"), STORE_OK);
    assert_int_equal(store_get(f->r, S("1"), collect, &k), STORE_OK);
    assert_string_equal(k.t[k.n - 1].text, "a3");
    assert_int_equal(store_unchanged(f->r, S("1"), stamp), 0);
    store_read_end(f->r);
    stamp = store_read_stamp(f->r);
    store_read_end(f->r);

    /* A rollback changes nothing. */
    struct store *w = wbegin(f);
    assert_int_equal(run(w, "EDIT 2 b2", NULL, 0), STORE_OK);
    assert_int_equal(run(w, "DEL 1", NULL, 0), STORE_OK);
    wend(f, 0);
    assert_int_equal(store_unchanged(f->r, S("1"), stamp), 1);
    assert_int_equal(store_unchanged(f->r, S("2"), stamp), 1);

    /* Every kind of write counts, for the task it writes only. */
    static const char *const writes[][2] = {
        {"EDIT 2 b3", "2"}, {"DONE 2", "2"},
        {"UNDONE 2", "2"},  {"POST/2=b4/s", "2"},
        {"DEL 2", "2"},     {"IMPORT replace 2 pending - - b5", "2"},
        {"ADD c", "3"},     {"IMPORT fail x9 pending - - imported", "x9"},
    };
    for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
        stamp = store_read_stamp(f->r);
        store_read_end(f->r);
        assert_int_equal(write1(f, writes[i][0]), STORE_OK);
        if (store_unchanged(f->r, S(writes[i][1]), stamp) != 0)
            fail_msg("%s: task %s unchanged", writes[i][0], writes[i][1]);
        if (store_unchanged(f->r, S("1"), stamp) != 1)
            fail_msg("%s: task 1 changed", writes[i][0]);
    }
}

/* Inside a batch the writer reads its own uncommitted writes; a read
 * connection reads committed data only, until the commit. */
static void batch_is_isolated(struct fx *f)
{
    struct task t;
    assert_string_equal(add(f, "ADD before"), "1");
    struct store *w = wbegin(f);
    assert_int_equal(run(w, "EDIT 1 during", NULL, 0), STORE_OK);
    assert_int_equal(get(w, "1", &t), STORE_OK);
    assert_string_equal(t.text, "during");
    if (store_engine_streams(f->e)) {
        /* (A reader would wait for the writer in SQLite's memory database.) */
        assert_int_equal(get(f->r, "1", &t), STORE_OK);
        assert_string_equal(t.text, "before");
    }
    assert_int_equal(store_write_ok(w), 1);
    wend(f, 1);
    assert_int_equal(get(f->r, "1", &t), STORE_OK);
    assert_string_equal(t.text, "during");
}

/* A command that fails inside a batch (a 17th tag) is undone alone: the
 * batch's other writes, before and after it, are committed. */
static void failed_command_leaves_batch(struct fx *f)
{
    char line[1024], id[PROTO_MAX_ID + 1];
    size_t n = (size_t)snprintf(line, sizeof(line), "ADD full");
    for (int i = 0; i < PROTO_MAX_TAGS; i++)
        n += (size_t)snprintf(line + n, sizeof(line) - n, " +t%02d", i);
    assert_string_equal(add(f, line), "1");

    struct store *w = wbegin(f);
    assert_int_equal(run(w, "ADD before", id, sizeof(id)), STORE_OK);
    assert_string_equal(id, "2");
    assert_int_equal(run(w, "EDIT 1 not kept +extra", NULL, 0), STORE_LIMIT);
    assert_int_equal(store_write_ok(w), 1);
    assert_int_equal(run(w, "EDIT 2 after +x", NULL, 0), STORE_OK);
    assert_int_equal(run(w, "ADD third", id, sizeof(id)), STORE_OK);
    assert_string_equal(id, "3");
    wend(f, 1);

    struct task t;
    assert_int_equal(get(f->r, "1", &t), STORE_OK);
    assert_string_equal(t.text, "full");
    assert_null(strstr(t.tags, "extra"));
    assert_int_equal(get(f->r, "2", &t), STORE_OK);
    assert_string_equal(t.text, "after");
    assert_string_equal(t.tags, "x");
    assert_int_equal(get(f->r, "3", &t), STORE_OK);
}

/* ---- writing ahead (store_write_ahead_add/_send) ----
 *
 * Every check runs on every engine: SQLite takes no write ahead, and its
 * commands run as always, with the same outcomes; PostgreSQL's are served
 * from what it sent ahead. */

static void undo_ok(struct fx *f, const char *want);

/* That task id reads with text want. */
static void text_is(struct fx *f, const char *id, const char *want)
{
    struct task t;
    assert_int_equal(get(f->r, id, &t), STORE_OK);
    assert_string_equal(t.text, want);
}

/* Names line's write to w ahead, in the default list. */
static int ahead(struct store *w, const char *line)
{
    struct req q;
    parse(&q, "%s", line);
    return store_write_ahead_add(w, S(""), &q.r);
}

/* What ahead() answers for a write the engine can take. */
static int ahead_ok(struct fx *f)
{
    return store_engine_writes_ahead(f->e) > 0 ? STORE_OK : STORE_ERROR;
}

/* That n more writes were answered from what was sent ahead since *was
 * (none on an engine that takes none), so that these checks see the path
 * they are about taken; *was moves on. */
static void served_ahead(struct fx *f, unsigned long long *was, unsigned long long n)
{
    unsigned long long now = store_writes_ahead_served(f->r);
    assert_int_equal(now - *was, store_engine_writes_ahead(f->e) > 0 ? n : 0);
    *was = now;
}

/* Tasks 1, 2 and 3: a, b and c. */
static void add_abc(struct fx *f)
{
    assert_string_equal(add(f, "ADD a"), "1");
    assert_string_equal(add(f, "ADD b"), "2");
    assert_string_equal(add(f, "ADD c"), "3");
}

/* A batch that names the write named ahead and sends it, then runs ran
 * (NULL: nothing), which must succeed, and commits or rolls back. */
static void ahead_batch(struct fx *f, const char *named, const char *ran, int commit)
{
    struct store *w = wbegin(f);
    assert_int_equal(ahead(w, named), ahead_ok(f));
    store_write_ahead_send(w, LATER);
    if (ran != NULL)
        assert_int_equal(run(w, ran, NULL, 0), STORE_OK);
    wend(f, commit);
}

/* Each command answered from its own write, in turn: OK, a task not
 * found, a number for UNDO each; a task twice or an EDIT of tags is not
 * taken, and runs the ordinary way after the rest. */
static void writes_ahead_answer_in_turn(struct fx *f)
{
    struct task t;
    add_abc(f);
    assert_int_equal(write1(f, "DONE 3"), STORE_OK);
    unsigned long long was = store_writes_ahead_served(f->r);
    struct store *w = wbegin(f);
    int want = ahead_ok(f);
    assert_int_equal(ahead(w, "EDIT 1 uno pri:high"), want);
    assert_int_equal(ahead(w, "DONE 2"), want);
    assert_int_equal(ahead(w, "EDIT 9 nine"), want);
    assert_int_equal(ahead(w, "UNDONE 3"), want);
    assert_int_equal(ahead(w, "EDIT 3 again"), STORE_ERROR);
    assert_int_equal(ahead(w, "EDIT 2 +tag"), STORE_ERROR);
    store_write_ahead_send(w, LATER);
    assert_int_equal(run(w, "EDIT 1 uno pri:high", NULL, 0), STORE_OK);
    assert_int_equal(run(w, "DONE 2", NULL, 0), STORE_OK);
    assert_int_equal(run(w, "EDIT 9 nine", NULL, 0), STORE_NOTFOUND);
    assert_int_equal(run(w, "UNDONE 3", NULL, 0), STORE_OK);
    assert_int_equal(run(w, "EDIT 3 tres", NULL, 0), STORE_OK);
    assert_int_equal(store_write_ok(w), 1);
    wend(f, 1);
    served_ahead(f, &was, 4);
    assert_int_equal(get(f->r, "1", &t), STORE_OK);
    assert_string_equal(t.text, "uno");
    assert_int_equal(t.pri, 3);
    assert_int_equal(t.updated, LATER);
    assert_int_equal(get(f->r, "2", &t), STORE_OK);
    assert_int_equal(t.done, 1);
    assert_int_equal(get(f->r, "3", &t), STORE_OK);
    assert_string_equal(t.text, "tres");
    assert_int_equal(t.done, 0);
    assert_int_equal(get(f->r, "9", &t), STORE_NOTFOUND);
    undo_ok(f, "edit 3");
    undo_ok(f, "undone 3");
    undo_ok(f, "done 2");
    undo_ok(f, "edit 1");
    text_is(f, "1", "a");
    assert_int_equal(get(f->r, "2", &t), STORE_OK);
    assert_int_equal(t.done, 0);
    assert_int_equal(get(f->r, "3", &t), STORE_OK);
    assert_int_equal(t.done, 1);
}

/* A write named but not run in its turn never happens, and the commands
 * after it run as they were asked. */
static void writes_ahead_unserved_are_taken_back(struct fx *f)
{
    struct task t;
    char id[PROTO_MAX_ID + 1];
    add_abc(f);
    unsigned long long was = store_writes_ahead_served(f->r);
    struct store *w = wbegin(f);
    int want = ahead_ok(f);
    assert_int_equal(ahead(w, "EDIT 1 x1"), want);
    assert_int_equal(ahead(w, "EDIT 2 x2"), want);
    assert_int_equal(ahead(w, "EDIT 3 x3"), want);
    store_write_ahead_send(w, LATER);
    assert_int_equal(run(w, "EDIT 1 x1", NULL, 0), STORE_OK);
    /* Not EDIT 2: from here on nothing sent ahead stands. */
    assert_int_equal(run(w, "ADD other", id, sizeof(id)), STORE_OK);
    assert_string_equal(id, "4");
    assert_int_equal(run(w, "EDIT 3 x3", NULL, 0), STORE_OK);
    wend(f, 1);
    served_ahead(f, &was, 1);
    text_is(f, "1", "x1");
    text_is(f, "2", "b");
    text_is(f, "3", "x3");
    assert_int_equal(get(f->r, "4", &t), STORE_OK);
    undo_ok(f, "edit 3");
    undo_ok(f, "add 4");
    undo_ok(f, "edit 1");
    text_is(f, "3", "c");

    /* Another text than the one named: the command runs as asked. */
    ahead_batch(f, "EDIT 1 named", "EDIT 1 asked", 1);
    served_ahead(f, &was, 0);
    text_is(f, "1", "asked");
    /* Named, sent, and the batch commits without running it (nothing
     * asked for the answers before the commit). */
    ahead_batch(f, "EDIT 1 never", NULL, 1);
    text_is(f, "1", "asked");
    /* Named, sent, and the batch rolled back without running it. */
    ahead_batch(f, "EDIT 1 dropped", NULL, 0);
    text_is(f, "1", "asked");
    /* Run, and the batch rolled back. */
    ahead_batch(f, "EDIT 1 rolled", "EDIT 1 rolled", 0);
    served_ahead(f, &was, 1);
    text_is(f, "1", "asked");
    undo_ok(f, "edit 1");
    text_is(f, "1", "a");
}

/* A write sent ahead that the database refuses: the one before it stands,
 * and it and the ones after run the ordinary way, each exactly once. */
static void writes_ahead_failed_one_runs_alone(struct fx *f)
{
#ifdef TODO_FAULT_INJECTION
    struct task t;
    add_abc(f);
    unsigned long long was = store_writes_ahead_served(f->r);
    struct store *w = wbegin(f);
    int want = ahead_ok(f);
    assert_int_equal(ahead(w, "EDIT 1 x1"), want);
    assert_int_equal(ahead(w, "EDIT 2 x2"), want);
    assert_int_equal(ahead(w, "DONE 3"), want);
    store_fault_set(f->e, STORE_FAULT_AHEAD);
    store_write_ahead_send(w, LATER);
    store_fault_set(f->e, STORE_FAULT_NONE);
    assert_int_equal(store_write_ok(w), 1);
    assert_int_equal(run(w, "EDIT 1 x1", NULL, 0), STORE_OK);
    assert_int_equal(run(w, "EDIT 2 x2", NULL, 0), STORE_OK);
    assert_int_equal(run(w, "DONE 3", NULL, 0), STORE_OK);
    wend(f, 1);
    served_ahead(f, &was, 1); /* EDIT 1; EDIT 2 and DONE 3 ran the ordinary way */
    text_is(f, "1", "x1");
    text_is(f, "2", "x2");
    assert_int_equal(get(f->r, "3", &t), STORE_OK);
    assert_int_equal(t.done, 1);
    undo_ok(f, "done 3");
    undo_ok(f, "edit 2");
    undo_ok(f, "edit 1");
    text_is(f, "1", "a");
#else
    (void)f;
    skip();
#endif
}

/* Kept across a close and an open, ids too. */
static void reopen_keeps_data(struct fx *f)
{
    if (!f->fix->persistent)
        skip();
    assert_string_equal(add(f, "ADD kept +tag"), "1");
    assert_string_equal(add(f, "ADD also"), "2");
    store_close(f->r);
    f->r = NULL;
    f->fix->close(f, 1);
    assert_int_equal(f->fix->open(f, 1), 0);
    char err[256];
    assert_int_equal(store_connect(f->e, STORE_ROLE_READ, &f->r, err, sizeof(err)), STORE_OK);
    struct task t;
    assert_int_equal(get(f->r, "1", &t), STORE_OK);
    assert_string_equal(t.text, "kept");
    assert_string_equal(t.tags, "tag");
    assert_string_equal(add(f, "ADD next"), "3");
}

/* A stream's connection reads as a worker's does. */
static void stream_connection_reads(struct fx *f)
{
    struct store *s = NULL;
    char err[256];
    struct tasks k;
    add(f, "ADD one");
    add(f, "ADD two");
    assert_int_equal(store_connect(f->e, STORE_ROLE_STREAM, &s, err, sizeof(err)), STORE_OK);
    assert_int_equal(list(s, &k, "LIST"), STORE_OK);
    assert_string_equal(ids_of(&k), "1 2");
    store_close(s);
}

/* A commit that fails (disk full) keeps nothing of its batch, says why,
 * and the next batch works. */
static void failed_commit_keeps_nothing(struct fx *f)
{
#ifdef TODO_FAULT_INJECTION
    if (!f->fix->faults)
        skip();
    char err[256] = "", id[PROTO_MAX_ID + 1];
    struct task t;
    assert_string_equal(add(f, "ADD committed"), "1");

    static const enum store_fault faults[] = {STORE_FAULT_COMMIT_FULL, STORE_FAULT_COMMIT_IOERR};
    for (size_t i = 0; i < 2; i++) {
        store_fault_set(f->e, faults[i]);
        struct store *w = wbegin(f);
        assert_int_equal(run(w, "EDIT 1 lost", NULL, 0), STORE_OK);
        assert_int_equal(run(w, "ADD lost too +tag", id, sizeof(id)), STORE_OK);
        assert_string_equal(id, "2");
        assert_int_equal(store_write_end(f->e, 1, err, sizeof(err)), STORE_ERROR);
        assert_true(strlen(err) > 10);
        store_fault_set(f->e, STORE_FAULT_NONE);

        assert_int_equal(get(f->r, "1", &t), STORE_OK);
        assert_string_equal(t.text, "committed");
        assert_int_equal(get(f->r, "2", &t), STORE_NOTFOUND);
        /* The writer itself has nothing of it either. */
        w = wbegin(f);
        assert_int_equal(get(w, "1", &t), STORE_OK);
        assert_string_equal(t.text, "committed");
        assert_int_equal(get(w, "2", &t), STORE_NOTFOUND);
        wend(f, 0);
    }
    /* The next batch works, and the ids of the lost one are handed out. */
    assert_string_equal(add(f, "ADD saved"), "2");
    assert_int_equal(write1(f, "EDIT 1 saved too"), STORE_OK);
    assert_int_equal(get(f->r, "1", &t), STORE_OK);
    assert_string_equal(t.text, "saved too");
    assert_int_equal(get(f->r, "2", &t), STORE_OK);
    assert_string_equal(t.text, "saved");
#else
    (void)f;
    skip();
#endif
}

/* A commit that fails changes no task for the change counter. */
static void failed_commit_changes_nothing(struct fx *f)
{
#ifdef TODO_FAULT_INJECTION
    if (!f->fix->faults)
        skip();
    assert_string_equal(add(f, "ADD a"), "1");
    uint64_t stamp = store_read_stamp(f->r);
    store_read_end(f->r);
    store_fault_set(f->e, STORE_FAULT_COMMIT_FULL);
    struct store *w = wbegin(f);
    assert_int_equal(run(w, "EDIT 1 lost", NULL, 0), STORE_OK);
    assert_int_equal(store_write_end(f->e, 1, NULL, 0), STORE_ERROR);
    store_fault_set(f->e, STORE_FAULT_NONE);
    assert_int_equal(store_unchanged(f->r, S("1"), stamp), 1);
#else
    (void)f;
    skip();
#endif
}

/* A read that fails is STORE_ERROR with a sentence; reads work again once
 * the fault is gone. */
static void failed_read_says_why(struct fx *f)
{
#ifdef TODO_FAULT_INJECTION
    if (!f->fix->faults)
        skip();
    struct task t;
    struct tasks k;
    int64_t n;
    assert_string_equal(add(f, "ADD in the log"), "1");
    assert_string_equal(add(f, "ADD in the log too"), "2");
    store_fault_set(f->e, STORE_FAULT_READ_IOERR);
    assert_int_equal(get(f->r, "1", &t), STORE_ERROR);
    const char *why = store_errmsg(f->r);
    assert_true(strlen(why) > 10);
    assert_int_equal(list(f->r, &k, "LIST all"), STORE_ERROR);
    assert_int_equal(store_count(f->r, &n), STORE_ERROR);
    store_read_end(f->r);
    store_fault_set(f->e, STORE_FAULT_NONE);
    assert_int_equal(get(f->r, "1", &t), STORE_OK);
    assert_int_equal(list(f->r, &k, "LIST all"), STORE_OK);
    assert_string_equal(ids_of(&k), "1 2");
#else
    (void)f;
    skip();
#endif
}

/* The engine's own transaction calls made to fail (STORE_FAULT_BEGIN and
 * the three after it), in any store: a write that cannot begin keeps no
 * turn, a savepoint that cannot open refuses only its command, one that
 * cannot close leaves a batch that must roll back, and a transaction the
 * engine ended on its own cannot commit. Each time nothing of the failed
 * part is kept, and the next batch works with the next id. */
static void failed_begin_keeps_no_turn(struct fx *f)
{
#ifdef TODO_FAULT_INJECTION
    char err[256] = "";
    struct store *w = NULL;
    store_fault_set(f->e, STORE_FAULT_BEGIN);
    assert_int_equal(store_write_begin(f->e, &w, err, sizeof(err)), STORE_ERROR);
    assert_non_null(strstr(err, "begin"));
    store_fault_set(f->e, STORE_FAULT_NONE);
    /* Were the turn still held, this would wait for ever. */
    assert_string_equal(add(f, "ADD after"), "1");
#else
    (void)f;
    skip();
#endif
}

static void failed_savepoint_refuses_one(struct fx *f)
{
#ifdef TODO_FAULT_INJECTION
    struct req q;
    char id[PROTO_MAX_ID + 1];
    struct task t;
    struct store *w = wbegin(f);
    assert_int_equal(run(w, "ADD first", id, sizeof(id)), STORE_OK);
    store_fault_set(f->e, STORE_FAULT_SAVEPOINT);
    parse(&q, "ADD tagged +t");
    assert_int_equal(store_cmd_begin(w, &q.r), STORE_ERROR);
    assert_true(strlen(store_errmsg(w)) > 5);
    store_fault_set(f->e, STORE_FAULT_NONE);
    assert_int_equal(store_write_ok(w), 1);
    assert_int_equal(run(w, "ADD second", id, sizeof(id)), STORE_OK);
    assert_string_equal(id, "2");
    wend(f, 1);
    assert_int_equal(get(f->r, "1", &t), STORE_OK);
    assert_int_equal(get(f->r, "2", &t), STORE_OK);
    assert_string_equal(t.text, "second");
    assert_int_equal(get(f->r, "3", &t), STORE_NOTFOUND);
#else
    (void)f;
    skip();
#endif
}

static void failed_release_rolls_back(struct fx *f)
{
#ifdef TODO_FAULT_INJECTION
    struct req q;
    char id[PROTO_MAX_ID + 1];
    struct task t;
    assert_string_equal(add(f, "ADD kept"), "1");
    struct store *w = wbegin(f);
    assert_int_equal(run(w, "EDIT 1 lost", NULL, 0), STORE_OK);
    parse(&q, "ADD tagged +t");
    assert_int_equal(store_cmd_begin(w, &q.r), STORE_OK);
    assert_int_equal(store_add(w, &q.r, NOW, id), STORE_OK);
    store_fault_set(f->e, STORE_FAULT_RELEASE);
    assert_int_equal(store_cmd_end(w, 0), STORE_ERROR);
    store_fault_set(f->e, STORE_FAULT_NONE);
    /* The batch cannot vouch for itself any more: the caller rolls back. */
    wend(f, 0);
    assert_int_equal(get(f->r, "1", &t), STORE_OK);
    assert_string_equal(t.text, "kept");
    assert_int_equal(get(f->r, "2", &t), STORE_NOTFOUND);
    assert_string_equal(add(f, "ADD next"), "2");
#else
    (void)f;
    skip();
#endif
}

static void lost_transaction_cannot_commit(struct fx *f)
{
#ifdef TODO_FAULT_INJECTION
    char err[256] = "", id[PROTO_MAX_ID + 1];
    struct task t;
    assert_string_equal(add(f, "ADD kept"), "1");
    struct store *w = wbegin(f);
    store_fault_set(f->e, STORE_FAULT_TX_LOST);
    assert_int_equal(run(w, "ADD lost", id, sizeof(id)), STORE_OK);
    store_fault_set(f->e, STORE_FAULT_NONE);
    assert_int_equal(store_write_ok(w), 0);
    assert_int_equal(store_write_end(f->e, 1, err, sizeof(err)), STORE_ERROR);
    assert_true(strlen(err) > 10);
    assert_int_equal(get(f->r, "2", &t), STORE_NOTFOUND);
    assert_string_equal(add(f, "ADD next"), "2");
    assert_int_equal(get(f->r, "2", &t), STORE_OK);
    assert_string_equal(t.text, "next");
#else
    (void)f;
    skip();
#endif
}

/* ---- UNDO (store.h) ---- */

/* UNDO in a batch of its own, as the server runs it: "KIND ID" of what it
 * undid into out. */
static int undo1(struct fx *f, char *out, size_t outcap)
{
    struct req q;
    struct store_undone u;
    parse(&q, "UNDO");
    struct store *w = wbegin(f);
    assert_int_equal(store_cmd_begin(w, &q.r), STORE_OK);
    int rc = store_undo(w, &u, NULL, NULL);
    assert_int_equal(store_cmd_end(w, rc != STORE_OK), STORE_OK);
    wend(f, 1);
    snprintf(out, outcap, "%s %s", u.kind, u.id);
    return rc;
}

/* UNDO, which must succeed and have undone what want says ("KIND ID"). */
static void undo_ok(struct fx *f, const char *want)
{
    char got[128];
    assert_int_equal(undo1(f, got, sizeof(got)), STORE_OK);
    assert_string_equal(got, want);
}

/* Every kind of change is undone, newest first, each to exactly the state
 * before it (times, tags and id too); a DEL comes back with its id. */
static void undo_every_kind(struct fx *f)
{
    struct task t;
    char got[128];
    assert_int_equal(undo1(f, got, sizeof(got)), STORE_NOTFOUND);
    assert_string_equal(add(f, "ADD buy milk +shop pri:high due:2027-03-04"), "1");
    assert_int_equal(write1(f, "EDIT 1 buy oat milk -shop +home +food pri:low due:none"), STORE_OK);
    assert_int_equal(write1(f, "DONE 1"), STORE_OK);
    assert_int_equal(write1(f, "UNDONE 1"), STORE_OK);
    assert_int_equal(write1(f, "DEL 1"), STORE_OK);
    assert_int_equal(
        write1(f, "IMPORT fail x7 done 2023-11-14T22:13:20Z 2023-11-14T22:15:00Z imported +old"),
        STORE_OK);
    assert_int_equal(
        write1(f, "IMPORT replace x7 pending 2023-11-14T22:13:20Z 2023-11-14T22:16:40Z replaced"),
        STORE_OK);

    undo_ok(f, "import x7");
    assert_int_equal(get(f->r, "x7", &t), STORE_OK);
    assert_string_equal(t.text, "imported");
    assert_string_equal(t.tags, "old");
    assert_int_equal(t.done, 1);
    assert_int_equal(t.updated, 1700000100);
    undo_ok(f, "import x7");
    assert_int_equal(get(f->r, "x7", &t), STORE_NOTFOUND);

    undo_ok(f, "del 1");
    assert_int_equal(get(f->r, "1", &t), STORE_OK);
    assert_string_equal(t.text, "buy oat milk");
    assert_string_equal(t.tags, "food,home");
    assert_int_equal(t.done, 0);
    assert_int_equal(t.created, NOW);
    assert_int_equal(t.updated, LATER);
    struct tasks k;
    assert_int_equal(list(f->r, &k, "LIST +home"), STORE_OK);
    assert_string_equal(ids_of(&k), "1");

    undo_ok(f, "undone 1");
    assert_int_equal(get(f->r, "1", &t), STORE_OK);
    assert_int_equal(t.done, 1);
    undo_ok(f, "done 1");
    assert_int_equal(get(f->r, "1", &t), STORE_OK);
    assert_int_equal(t.done, 0);

    undo_ok(f, "edit 1");
    assert_int_equal(get(f->r, "1", &t), STORE_OK);
    assert_string_equal(t.text, "buy milk");
    assert_string_equal(t.tags, "shop");
    assert_int_equal(t.pri, PROTO_PRI_HIGH);
    assert_string_equal(t.due, "2027-03-04");
    assert_int_equal(t.updated, NOW);
    assert_int_equal(list(f->r, &k, "LIST +home"), STORE_OK);
    assert_int_equal(k.n, 0);

    undo_ok(f, "add 1");
    assert_int_equal(get(f->r, "1", &t), STORE_NOTFOUND);
    assert_int_equal(list(f->r, &k, "LIST +shop"), STORE_OK);
    assert_int_equal(k.n, 0);
    assert_int_equal(undo1(f, got, sizeof(got)), STORE_NOTFOUND);
    /* Undoing an ADD gives no id back: ids are never reused. */
    assert_string_equal(add(f, "ADD after"), "2");
}

/* A refused or skipped write, and a batch rolled back, leave no entry. */
static void undo_keeps_only_changes(struct fx *f)
{
    assert_string_equal(add(f, "ADD one"), "1");
    assert_int_equal(write1(f, "DONE 9"), STORE_NOTFOUND);
    assert_int_equal(write1(f, "EDIT 9 nothing"), STORE_NOTFOUND);
    assert_int_equal(write1(f, "DEL 9"), STORE_NOTFOUND);
    assert_int_equal(write1(f, "IMPORT skip 1 done - - skipped"), STORE_OK);
    assert_int_equal(write1(f, "IMPORT fail 1 done - - refused"), STORE_EXISTS);
    struct store *w = wbegin(f);
    assert_int_equal(run(w, "EDIT 1 rolled back", NULL, 0), STORE_OK);
    assert_int_equal(run(w, "DEL 1", NULL, 0), STORE_OK);
    wend(f, 0);
    undo_ok(f, "add 1");
    char got[128];
    assert_int_equal(undo1(f, got, sizeof(got)), STORE_NOTFOUND);
}

/* A change the history does not hold (the tutorial's POST/) since the
 * newest entry: UNDO refuses, changes nothing, and keeps the entry. */
static void undo_refuses_changed_task(struct fx *f)
{
    struct task t;
    char got[128];
    assert_string_equal(add(f, "ADD first"), "1");
    assert_int_equal(write1(f, "EDIT 1 second"), STORE_OK);
    assert_int_equal(write1(f, "POST/1=third/status"), STORE_OK);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(undo1(f, got, sizeof(got)), STORE_CONFLICT);
        assert_string_equal(got, "edit 1");
        assert_int_equal(get(f->r, "1", &t), STORE_OK);
        assert_string_equal(t.text, "third");
    }
    /* A later change that the history holds is undone as usual, and the
     * refusal stays below it. */
    assert_int_equal(write1(f, "IMPORT replace 1 pending 2027-01-15T08:00:00Z 2027-01-15T08:01:00Z "
                               "second"),
                     STORE_OK);
    undo_ok(f, "import 1");
    assert_int_equal(get(f->r, "1", &t), STORE_OK);
    assert_string_equal(t.text, "third");
    assert_int_equal(undo1(f, got, sizeof(got)), STORE_CONFLICT);
    /* A DEL is undone only while the id is still free. */
    assert_int_equal(write1(f, "DEL 1"), STORE_OK);
    assert_int_equal(write1(f, "POST/1=new/status"), STORE_OK);
    assert_int_equal(undo1(f, got, sizeof(got)), STORE_CONFLICT);
    assert_string_equal(got, "del 1");
}

/* The history outlives a restart. */
static void undo_survives_reopen(struct fx *f)
{
    if (!f->fix->persistent)
        skip();
    assert_string_equal(add(f, "ADD kept"), "1");
    assert_int_equal(write1(f, "EDIT 1 edited"), STORE_OK);
    store_close(f->r);
    f->r = NULL;
    f->fix->close(f, 1);
    assert_int_equal(f->fix->open(f, 1), 0);
    char err[256];
    assert_int_equal(store_connect(f->e, STORE_ROLE_READ, &f->r, err, sizeof(err)), STORE_OK);
    undo_ok(f, "edit 1");
    struct task t;
    assert_int_equal(get(f->r, "1", &t), STORE_OK);
    assert_string_equal(t.text, "kept");
    undo_ok(f, "add 1");
}

/* The history holds the newest STORE_UNDO_DEPTH changes. */
static void undo_depth_is_bounded(struct fx *f)
{
    char id[PROTO_MAX_ID + 1], got[128];
    struct store *w = wbegin(f);
    for (int i = 0; i < STORE_UNDO_DEPTH + 5; i++)
        assert_int_equal(run(w, "ADD one of many", id, sizeof(id)), STORE_OK);
    wend(f, 1);
    for (int i = STORE_UNDO_DEPTH + 5; i > 5; i--) {
        char want[64];
        snprintf(want, sizeof(want), "add %d", i);
        undo_ok(f, want);
    }
    assert_int_equal(undo1(f, got, sizeof(got)), STORE_NOTFOUND);
    int64_t n = 0;
    assert_int_equal(store_count(f->r, &n), STORE_OK);
    store_read_end(f->r);
    assert_int_equal(n, 5);
}

/* A batch whose commit fails leaves no entry; nor does a write whose entry
 * cannot be completed, which fails (and, having no savepoint of its own,
 * fails the batch: nothing of it is kept). */
static void undo_failed_batch_leaves_nothing(struct fx *f)
{
#ifdef TODO_FAULT_INJECTION
    struct req q;
    struct task t;
    assert_string_equal(add(f, "ADD kept"), "1");
    if (f->fix->faults) {
        store_fault_set(f->e, STORE_FAULT_COMMIT_FULL);
        struct store *w = wbegin(f);
        assert_int_equal(run(w, "EDIT 1 lost", NULL, 0), STORE_OK);
        assert_int_equal(store_write_end(f->e, 1, NULL, 0), STORE_ERROR);
        store_fault_set(f->e, STORE_FAULT_NONE);
    }
    struct store *w = wbegin(f);
    assert_int_equal(run(w, "EDIT 1 kept too", NULL, 0), STORE_OK);
    parse(&q, "DONE 1");
    store_fault_set(f->e, STORE_FAULT_UNDO);
    assert_int_equal(store_cmd_begin(w, &q.r), STORE_ERROR);
    store_fault_set(f->e, STORE_FAULT_NONE);
    wend(f, 0);
    assert_int_equal(get(f->r, "1", &t), STORE_OK);
    assert_string_equal(t.text, "kept");
    assert_int_equal(t.done, 0);
    undo_ok(f, "add 1");
#else
    (void)f;
    skip();
#endif
}

/* ---- users (store.h's store_user_*) ---- */

/* The engine keeps a hash as an opaque string: these checks give it
 * strings shaped like libsodium's, without paying for real hashes
 * (test_users.c checks those). */
static struct store_user user(const char *name, const char *hash, int admin)
{
    struct store_user u;
    memset(&u, 0, sizeof(u));
    snprintf(u.name, sizeof(u.name), "%s", name);
    snprintf(u.hash, sizeof(u.hash), "%s", hash);
    u.admin = admin;
    u.created = NOW;
    return u;
}

/* user_write runs one user write in a batch of its own, committed. */
enum user_op { U_ADD, U_UPDATE, U_DEL };
static int user_write(struct fx *f, enum user_op op, const struct store_user *u)
{
    struct store *w = wbegin(f);
    int rc = op == U_ADD      ? store_user_add(w, u)
             : op == U_UPDATE ? store_user_update(w, u)
                              : store_user_del(w, S(u->name));
    wend(f, 1);
    return rc;
}

static int user_read(struct fx *f, const char *name, struct store_user *out)
{
    int rc = store_user_get(f->r, S(name), out);
    store_read_end(f->r);
    return rc;
}

static const char HASH_A[] = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2g";
static const char HASH_B[] = "$argon2id$v=19$m=65536,t=2,p=1$b3RoZXJzYWx0$b3RoZXJoYXNo";

/* A user comes back as added; a second of that name is refused and
 * changes nothing; an update changes hash, role and lock but not created;
 * a removed user is gone, and the calls on a missing one say so. */
static void users_add_get_update_del(struct fx *f)
{
    struct store_user got, u = user("alice", HASH_A, 1);
    assert_int_equal(user_read(f, "alice", &got), STORE_NOTFOUND);
    assert_int_equal(user_write(f, U_ADD, &u), STORE_OK);
    assert_int_equal(user_read(f, "alice", &got), STORE_OK);
    assert_string_equal(got.name, "alice");
    assert_string_equal(got.hash, HASH_A);
    assert_int_equal(got.admin, 1);
    assert_int_equal(got.locked, 0);
    assert_int_equal(got.created, NOW);

    struct store_user again = user("alice", HASH_B, 0);
    assert_int_equal(user_write(f, U_ADD, &again), STORE_EXISTS);
    assert_int_equal(user_read(f, "alice", &got), STORE_OK);
    assert_string_equal(got.hash, HASH_A);
    assert_int_equal(got.admin, 1);

    struct store_user change = user("alice", HASH_B, 0);
    change.locked = 1;
    change.created = LATER;
    assert_int_equal(user_write(f, U_UPDATE, &change), STORE_OK);
    assert_int_equal(user_read(f, "alice", &got), STORE_OK);
    assert_string_equal(got.hash, HASH_B);
    assert_int_equal(got.admin, 0);
    assert_int_equal(got.locked, 1);
    assert_int_equal(got.created, NOW);

    /* Names are compared bytewise: case matters. */
    assert_int_equal(user_read(f, "Alice", &got), STORE_NOTFOUND);
    struct store_user bob = user("bob", HASH_A, 0);
    assert_int_equal(user_write(f, U_UPDATE, &bob), STORE_NOTFOUND);
    assert_int_equal(user_write(f, U_DEL, &bob), STORE_NOTFOUND);
    assert_int_equal(user_write(f, U_DEL, &u), STORE_OK);
    assert_int_equal(user_read(f, "alice", &got), STORE_NOTFOUND);
    assert_int_equal(user_write(f, U_DEL, &u), STORE_NOTFOUND);
}

struct user_names {
    char names[8][STORE_MAX_USER + 1];
    int admin[8];
    size_t n, stop_after;
};

static int collect_user(void *arg, const struct store_user *u)
{
    struct user_names *k = arg;
    if (k->n < 8) {
        snprintf(k->names[k->n], sizeof(k->names[k->n]), "%s", u->name);
        k->admin[k->n] = u->admin;
    }
    k->n++;
    return k->stop_after != 0 && k->n == k->stop_after;
}

/* store_users hands out every user by name, bytewise (upper case first),
 * and stops when asked. */
static void users_listed_by_name(struct fx *f)
{
    static const char *const names[] = {"zoe", "bob", "Carol", "al.ice-2_x"};
    for (size_t i = 0; i < 4; i++) {
        struct store_user u = user(names[i], HASH_A, i == 1);
        assert_int_equal(user_write(f, U_ADD, &u), STORE_OK);
    }
    struct user_names k = {.n = 0};
    assert_int_equal(store_users(f->r, collect_user, &k), STORE_OK);
    store_read_end(f->r);
    assert_int_equal(k.n, 4);
    assert_string_equal(k.names[0], "Carol");
    assert_string_equal(k.names[1], "al.ice-2_x");
    assert_string_equal(k.names[2], "bob");
    assert_int_equal(k.admin[2], 1);
    assert_string_equal(k.names[3], "zoe");
    assert_int_equal(k.admin[3], 0);
    struct user_names two = {.n = 0, .stop_after = 2};
    assert_int_equal(store_users(f->r, collect_user, &two), STORE_STOPPED);
    store_read_end(f->r);
    assert_int_equal(two.n, 2);
}

/* User writes belong to their batch: unseen by readers before COMMIT,
 * gone after a ROLLBACK, and a refused one (a name taken) leaves the
 * batch's other writes, tasks and users, to commit. They are no task
 * changes: UNDO has nothing to take back, COUNT counts no user. */
static void users_follow_their_batch(struct fx *f)
{
    struct store_user got, u = user("dave", HASH_A, 0);
    struct store *w = wbegin(f);
    assert_int_equal(store_user_add(w, &u), STORE_OK);
    assert_int_equal(store_user_get(w, S("dave"), &got), STORE_OK);
    /* (A reader would wait for the writer in SQLite's memory database.) */
    if (store_engine_streams(f->e))
        assert_int_equal(user_read(f, "dave", &got), STORE_NOTFOUND);
    wend(f, 0);
    assert_int_equal(user_read(f, "dave", &got), STORE_NOTFOUND);

    w = wbegin(f);
    assert_int_equal(store_user_add(w, &u), STORE_OK);
    assert_int_equal(store_user_add(w, &u), STORE_EXISTS);
    struct store_user erin = user("erin", HASH_B, 0);
    assert_int_equal(store_user_add(w, &erin), STORE_OK);
    assert_int_equal(run(w, "ADD after a refused user", NULL, 0), STORE_OK);
    wend(f, 1);
    assert_int_equal(user_read(f, "dave", &got), STORE_OK);
    assert_int_equal(user_read(f, "erin", &got), STORE_OK);
    assert_string_equal(got.hash, HASH_B);
    struct task t;
    assert_int_equal(get(f->r, "1", &t), STORE_OK);

    char kind[64];
    assert_int_equal(undo1(f, kind, sizeof(kind)), STORE_OK);
    assert_string_equal(kind, "add 1");
    assert_int_equal(undo1(f, kind, sizeof(kind)), STORE_NOTFOUND);
    int64_t n = -1;
    assert_int_equal(store_count(f->r, &n), STORE_OK);
    store_read_end(f->r);
    assert_int_equal(n, 0);
    assert_int_equal(user_read(f, "dave", &got), STORE_OK);
}

/* Users are kept with the tasks, across a restart. */
static void users_survive_reopen(struct fx *f)
{
    if (!f->fix->persistent)
        skip();
    struct store_user got, u = user("frank", HASH_A, 1);
    assert_int_equal(user_write(f, U_ADD, &u), STORE_OK);
    store_close(f->r);
    f->r = NULL;
    f->fix->close(f, 1);
    assert_int_equal(f->fix->open(f, 1), 0);
    char err[256];
    assert_int_equal(store_connect(f->e, STORE_ROLE_READ, &f->r, err, sizeof(err)), STORE_OK);
    assert_int_equal(user_read(f, "frank", &got), STORE_OK);
    assert_string_equal(got.hash, HASH_A);
    assert_int_equal(got.admin, 1);
}

/* ---- the table, and the runs ---- */

/* ---- lists (store_scope) ---- */

/* One write in list, in a batch of its own, committed; ADD's id (or
 * IMPORT's outcome) to out. */
static int write_in(struct fx *f, const char *listname, const char *line, char *out, size_t cap)
{
    struct store *w = wbegin(f);
    store_scope(w, S(listname));
    int rc = run(w, line, out, cap);
    wend(f, 1);
    return rc;
}

static const char *add_in(struct fx *f, const char *listname, const char *line)
{
    static char id[PROTO_MAX_ID + 1];
    assert_int_equal(write_in(f, listname, line, id, sizeof(id)), STORE_OK);
    return id;
}

static int get_in(struct fx *f, const char *listname, const char *id, struct task *out)
{
    store_scope(f->r, S(listname));
    return get(f->r, id, out);
}

static const char *list_in(struct fx *f, const char *listname, const char *line)
{
    static struct tasks k;
    store_scope(f->r, S(listname));
    assert_int_equal(list(f->r, &k, "%s", line), STORE_OK);
    return ids_of(&k);
}

static const char *texts_in(struct fx *f, const char *listname)
{
    static char out[1024];
    static struct tasks k;
    size_t n = 0;
    store_scope(f->r, S(listname));
    assert_int_equal(list(f->r, &k, "LIST all"), STORE_OK);
    out[0] = '\0';
    for (size_t i = 0; i < k.n; i++)
        n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%s=%s", i ? " " : "", k.t[i].id,
                              k.t[i].text);
    return out;
}

static int64_t count_in(struct fx *f, const char *listname)
{
    int64_t n = -1;
    store_scope(f->r, S(listname));
    assert_int_equal(store_count(f->r, &n), STORE_OK);
    store_read_end(f->r);
    return n;
}

/* UNDO in list, in a batch of its own: the store's code; what it undid
 * goes to u. */
static int undo_in(struct fx *f, const char *listname, struct store_undone *u)
{
    struct req q;
    parse(&q, "UNDO");
    struct store *w = wbegin(f);
    store_scope(w, S(listname));
    assert_int_equal(store_cmd_begin(w, &q.r), STORE_OK);
    int rc = store_undo(w, u, NULL, NULL);
    assert_int_equal(store_cmd_end(w, rc != STORE_OK), STORE_OK);
    wend(f, 1);
    return rc;
}

/* Each list has its own ids, counted from 1, and its own tasks: a task of
 * one is not read, changed or deleted by any call in another. */
static void lists_are_apart(struct fx *f)
{
    struct task t;
    assert_string_equal(add_in(f, "alice", "ADD alice's milk +shop"), "1");
    assert_string_equal(add_in(f, "bob", "ADD bob's bread +shop +home"), "1");
    assert_string_equal(add_in(f, "", "ADD the default list's first"), "1");
    assert_string_equal(add_in(f, "alice", "ADD alice's second"), "2");
    assert_string_equal(add_in(f, "bob", "ADD bob's second"), "2");

    assert_int_equal(get_in(f, "alice", "1", &t), STORE_OK);
    assert_string_equal(t.id, "1");
    assert_string_equal(t.text, "alice's milk");
    assert_int_equal(get_in(f, "bob", "1", &t), STORE_OK);
    assert_string_equal(t.text, "bob's bread");
    assert_int_equal(get_in(f, "", "1", &t), STORE_OK);
    assert_string_equal(t.text, "the default list's first");
    assert_int_equal(get_in(f, "carol", "1", &t), STORE_NOTFOUND);
    assert_int_equal(get_in(f, "", "2", &t), STORE_NOTFOUND);

    assert_string_equal(texts_in(f, "alice"), "1=alice's milk 2=alice's second");
    assert_string_equal(texts_in(f, "bob"), "1=bob's bread 2=bob's second");
    assert_string_equal(texts_in(f, ""), "1=the default list's first");
    assert_string_equal(texts_in(f, "carol"), "");
    assert_string_equal(list_in(f, "bob", "LIST +shop"), "1");
    assert_string_equal(list_in(f, "alice", "LIST +home"), "");
    assert_string_equal(list_in(f, "alice", "LIST milk"), "1");
    assert_string_equal(list_in(f, "bob", "LIST milk"), "");
    assert_int_equal(count_in(f, "alice"), 2);
    assert_int_equal(count_in(f, "bob"), 2);
    assert_int_equal(count_in(f, ""), 1);
    assert_int_equal(count_in(f, "carol"), 0);

    struct tag_list k = {.n = 0};
    store_scope(f->r, S("bob"));
    assert_int_equal(store_tags(f->r, collect_tag, &k), STORE_OK);
    store_read_end(f->r);
    assert_string_equal(k.text, "home=1 shop=1");
    memset(&k, 0, sizeof(k));
    store_scope(f->r, S("carol"));
    assert_int_equal(store_tags(f->r, collect_tag, &k), STORE_OK);
    store_read_end(f->r);
    assert_int_equal(k.n, 0);

    /* Writes in one list leave the same ids of the others as they were. */
    assert_int_equal(write_in(f, "alice", "EDIT 1 oat milk +dairy pri:high", NULL, 0), STORE_OK);
    assert_int_equal(write_in(f, "alice", "DONE 2", NULL, 0), STORE_OK);
    assert_int_equal(write_in(f, "alice", "DEL 1", NULL, 0), STORE_OK);
    assert_int_equal(get_in(f, "bob", "1", &t), STORE_OK);
    assert_string_equal(t.text, "bob's bread");
    assert_string_equal(t.tags, "home,shop");
    assert_int_equal(get_in(f, "bob", "2", &t), STORE_OK);
    assert_int_equal(t.done, 0);
    assert_int_equal(get_in(f, "alice", "1", &t), STORE_NOTFOUND);
    /* Not found where the id is only another list's. */
    assert_int_equal(write_in(f, "carol", "EDIT 1 carol's try", NULL, 0), STORE_NOTFOUND);
    assert_int_equal(write_in(f, "carol", "DONE 1", NULL, 0), STORE_NOTFOUND);
    assert_int_equal(write_in(f, "carol", "UNDONE 1", NULL, 0), STORE_NOTFOUND);
    assert_int_equal(write_in(f, "carol", "DEL 1", NULL, 0), STORE_NOTFOUND);
    assert_string_equal(texts_in(f, "bob"), "1=bob's bread 2=bob's second");

    /* The tutorial's POST and IMPORT take ids in their own list only. */
    assert_int_equal(write_in(f, "alice", "POST/task_01=alice's key/s", NULL, 0), STORE_OK);
    assert_int_equal(get_in(f, "bob", "task_01", &t), STORE_NOTFOUND);
    assert_int_equal(write_in(f, "bob", "POST/task_01=bob's key/s", NULL, 0), STORE_OK);
    assert_int_equal(get_in(f, "alice", "task_01", &t), STORE_OK);
    assert_string_equal(t.text, "alice's key");
    char out[32];
    assert_int_equal(write_in(f, "carol", "IMPORT fail 1 pending - - carol's +c", out, sizeof(out)),
                     STORE_OK);
    assert_string_equal(out, "imported"); /* bob's 1 is not carol's */
    assert_string_equal(texts_in(f, "carol"), "1=carol's");
    assert_string_equal(add_in(f, "carol", "ADD carol's next"), "2");
    assert_string_equal(texts_in(f, "bob"), "1=bob's bread 2=bob's second task_01=bob's key");
}

/* A cursor reads the list it was opened in, whatever its store is scoped
 * to later. */
static void cursor_keeps_its_list(struct fx *f)
{
    add_in(f, "alice", "ADD a1");
    add_in(f, "alice", "ADD a2");
    add_in(f, "bob", "ADD b1");
    struct req q;
    parse(&q, "LIST all");
    struct store_cursor *k = NULL;
    store_scope(f->r, S("alice"));
    assert_int_equal(store_cursor_open(f->r, &q.r, &k), STORE_OK);
    store_scope(f->r, S("bob"));
    struct tasks got = {.n = 0};
    assert_int_equal(store_cursor_next(k, collect, &got), STORE_OK);
    store_cursor_close(k);
    store_read_end(f->r);
    assert_string_equal(ids_of(&got), "1 2");
    assert_string_equal(got.t[1].text, "a2");
}

/* UNDO takes back the newest change of its own list, not another's. */
static void undo_is_per_list(struct fx *f)
{
    add_in(f, "alice", "ADD alice's");
    add_in(f, "bob", "ADD bob's");
    assert_int_equal(write_in(f, "alice", "EDIT 1 alice's edited", NULL, 0), STORE_OK);
    assert_int_equal(write_in(f, "bob", "DONE 1", NULL, 0), STORE_OK);

    struct store_undone u;
    assert_int_equal(undo_in(f, "alice", &u), STORE_OK);
    assert_string_equal(u.kind, "edit");
    assert_string_equal(u.id, "1");
    struct task t;
    assert_int_equal(get_in(f, "alice", "1", &t), STORE_OK);
    assert_string_equal(t.text, "alice's");
    assert_int_equal(get_in(f, "bob", "1", &t), STORE_OK);
    assert_int_equal(t.done, 1); /* bob's DONE stands */

    assert_int_equal(undo_in(f, "carol", &u), STORE_NOTFOUND);
    assert_int_equal(undo_in(f, "bob", &u), STORE_OK);
    assert_string_equal(u.kind, "done");
    assert_int_equal(undo_in(f, "bob", &u), STORE_OK);
    assert_string_equal(u.kind, "add");
    assert_int_equal(undo_in(f, "bob", &u), STORE_NOTFOUND);
    assert_int_equal(get_in(f, "bob", "1", &t), STORE_NOTFOUND);
    assert_int_equal(get_in(f, "alice", "1", &t), STORE_OK); /* alice's ADD is hers to undo */
}

/* Each list's history holds its own STORE_UNDO_DEPTH changes: another
 * list's many changes do not push them out. */
static void undo_depth_is_per_list(struct fx *f)
{
    add_in(f, "alice", "ADD alice's one change");
    struct store *w = wbegin(f);
    store_scope(w, S("bob"));
    for (int i = 0; i < STORE_UNDO_DEPTH + 20; i++)
        assert_int_equal(run(w, "ADD bob's", NULL, 0), STORE_OK);
    wend(f, 1);
    struct store_undone u;
    assert_int_equal(undo_in(f, "alice", &u), STORE_OK);
    assert_string_equal(u.kind, "add");
    assert_int_equal(count_in(f, "alice"), 0);
    assert_int_equal(count_in(f, "bob"), STORE_UNDO_DEPTH + 20);
}

/* The change counter tells a change in one list from the same id in
 * another (it may say "changed" for both; it must for the one changed). */
static void change_counter_sees_its_list(struct fx *f)
{
    add_in(f, "alice", "ADD a");
    add_in(f, "bob", "ADD b");
    store_scope(f->r, S("bob"));
    uint64_t stamp = store_read_stamp(f->r);
    store_read_end(f->r);
    assert_int_equal(write_in(f, "bob", "EDIT 1 b2", NULL, 0), STORE_OK);
    store_scope(f->r, S("bob"));
    assert_int_equal(store_unchanged(f->r, S("1"), stamp), 0);
    assert_int_equal(store_unchanged_key(f->r, store_change_key(f->r, S("1")), stamp), 0);
    store_read_end(f->r);
}

/* A dropped list is empty, counts from 1 again, has no UNDO, and leaves
 * the others as they were. */
static void list_drop_empties_one(struct fx *f)
{
    add_in(f, "alice", "ADD a1 +x");
    add_in(f, "alice", "ADD a2");
    add_in(f, "bob", "ADD b1 +x");
    store_scope(f->r, S("alice"));
    uint64_t stamp = store_read_stamp(f->r);
    store_read_end(f->r);
    int64_t n = -1;
    struct store *w = wbegin(f);
    assert_int_equal(store_list_drop(w, S("alice"), &n), STORE_OK);
    wend(f, 1);
    assert_int_equal(n, 2);
    store_scope(f->r, S("alice"));
    assert_int_equal(store_unchanged(f->r, S("1"), stamp), 0);
    store_read_end(f->r);
    assert_int_equal(count_in(f, "alice"), 0);
    assert_string_equal(texts_in(f, "bob"), "1=b1");
    struct tag_list k = {.n = 0};
    store_scope(f->r, S("alice"));
    assert_int_equal(store_tags(f->r, collect_tag, &k), STORE_OK);
    store_read_end(f->r);
    assert_int_equal(k.n, 0);
    struct store_undone u;
    assert_int_equal(undo_in(f, "alice", &u), STORE_NOTFOUND);
    assert_string_equal(add_in(f, "alice", "ADD a new alice's first"), "1");
    /* The default list is not dropped. */
    add_in(f, "", "ADD default");
    w = wbegin(f);
    assert_int_equal(store_list_drop(w, S(""), &n), STORE_ERROR);
    wend(f, 0);
    assert_int_equal(count_in(f, ""), 1);
}

static int collect_share(void *arg, struct proto_str list, struct proto_str user)
{
    char *out = arg;
    size_t n = strlen(out);
    snprintf(out + n, 512 - n, "%s%.*s>%.*s", n ? " " : "", (int)list.len, list.ptr, (int)user.len,
             user.ptr);
    return 0;
}

static const char *shares_of(struct fx *f, const char *name)
{
    static char out[512];
    out[0] = '\0';
    assert_int_equal(store_shares(f->r, S(name), collect_share, out), STORE_OK);
    store_read_end(f->r);
    return out;
}

/* A share is there once, until it is taken back, and goes with a dropped
 * list both ways. */
static void shares_add_get_del(struct fx *f)
{
    struct store *w = wbegin(f);
    assert_int_equal(store_share_add(w, S("alice"), S("bob")), STORE_OK);
    assert_int_equal(store_share_add(w, S("alice"), S("bob")), STORE_EXISTS);
    assert_int_equal(store_share_add(w, S("alice"), S("carol")), STORE_OK);
    assert_int_equal(store_share_add(w, S("carol"), S("alice")), STORE_OK);
    assert_int_equal(store_share_add(w, S("bob"), S("carol")), STORE_OK);
    wend(f, 1);
    assert_int_equal(store_share_get(f->r, S("alice"), S("bob")), STORE_OK);
    assert_int_equal(store_share_get(f->r, S("bob"), S("alice")), STORE_NOTFOUND);
    store_read_end(f->r);
    assert_string_equal(shares_of(f, "alice"), "alice>bob alice>carol carol>alice");
    assert_string_equal(shares_of(f, "bob"), "alice>bob bob>carol");
    w = wbegin(f);
    assert_int_equal(store_share_del(w, S("alice"), S("bob")), STORE_OK);
    assert_int_equal(store_share_del(w, S("alice"), S("bob")), STORE_NOTFOUND);
    wend(f, 1);
    assert_int_equal(store_share_get(f->r, S("alice"), S("bob")), STORE_NOTFOUND);
    store_read_end(f->r);
    /* A rolled-back share was never made. */
    w = wbegin(f);
    assert_int_equal(store_share_add(w, S("alice"), S("dave")), STORE_OK);
    wend(f, 0);
    assert_string_equal(shares_of(f, "dave"), "");
    int64_t n;
    w = wbegin(f);
    assert_int_equal(store_list_drop(w, S("carol"), &n), STORE_OK);
    wend(f, 1);
    assert_string_equal(shares_of(f, "carol"), "");
    assert_string_equal(shares_of(f, "bob"), "");
    assert_string_equal(shares_of(f, "alice"), "");
}

struct check {
    const char *name;
    void (*fn)(struct fx *f);
};

#define CHECK(fn)                                                                                  \
    {                                                                                              \
#fn, fn                                                                                    \
    }
static const struct check checks[] = {
    CHECK(add_then_get),
    CHECK(writes_ahead_answer_in_turn),
    CHECK(writes_ahead_unserved_are_taken_back),
    CHECK(writes_ahead_failed_one_runs_alone),
    CHECK(ids_are_consecutive),
    CHECK(edit_changes_what_is_given),
    CHECK(edit_17th_tag_is_refused),
    CHECK(done_and_undone),
    CHECK(del_then_get),
    CHECK(list_filters),
    CHECK(list_in_creation_order),
    CHECK(list_by_cursor),
    CHECK(tags_with_counts),
    CHECK(count_tasks),
    CHECK(import_modes),
    CHECK(put_legacy),
    CHECK(change_counter),
    CHECK(batch_is_isolated),
    CHECK(failed_command_leaves_batch),
    CHECK(reopen_keeps_data),
    CHECK(stream_connection_reads),
    CHECK(failed_commit_keeps_nothing),
    CHECK(failed_commit_changes_nothing),
    CHECK(failed_read_says_why),
    CHECK(failed_begin_keeps_no_turn),
    CHECK(failed_savepoint_refuses_one),
    CHECK(failed_release_rolls_back),
    CHECK(lost_transaction_cannot_commit),
    CHECK(undo_every_kind),
    CHECK(undo_keeps_only_changes),
    CHECK(undo_refuses_changed_task),
    CHECK(undo_survives_reopen),
    CHECK(undo_depth_is_bounded),
    CHECK(undo_failed_batch_leaves_nothing),
    CHECK(users_add_get_update_del),
    CHECK(users_listed_by_name),
    CHECK(users_follow_their_batch),
    CHECK(users_survive_reopen),
    CHECK(lists_are_apart),
    CHECK(cursor_keeps_its_list),
    CHECK(undo_is_per_list),
    CHECK(undo_depth_is_per_list),
    CHECK(change_counter_sees_its_list),
    CHECK(list_drop_empties_one),
    CHECK(shares_add_get_del),
};

#define NFIX (sizeof(fixtures) / sizeof(fixtures[0]))
#define NCHECK (sizeof(checks) / sizeof(checks[0]))

struct run_case {
    const struct fixture *fix;
    const struct check *check;
    struct fx fx;
};

static int setup(void **state)
{
    struct run_case *c = *state;
    char err[256];
    memset(&c->fx, 0, sizeof(c->fx));
    c->fx.fix = c->fix;
    if (fixture_absent(c->fix))
        return 0; /* run_check skips it */
    if (c->fix->open(&c->fx, 0) != 0)
        return -1;
    if (store_connect(c->fx.e, STORE_ROLE_READ, &c->fx.r, err, sizeof(err)) != STORE_OK) {
        fprintf(stderr, "store_connect: %s\n", err);
        c->fix->close(&c->fx, 0);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    struct run_case *c = *state;
#ifdef TODO_FAULT_INJECTION
    if (c->fx.e != NULL)
        store_fault_set(c->fx.e, STORE_FAULT_NONE);
#endif
    store_close(c->fx.r);
    c->fx.r = NULL;
    if (c->fx.e != NULL)
        c->fix->close(&c->fx, 0);
    return 0;
}

static void run_check(void **state)
{
    struct run_case *c = *state;
    if (fixture_absent(c->fix)) {
        static int said;
        if (!said++)
            fprintf(stderr, "the postgresql fixture is skipped: TODO_TEST_PG gives no URI\n");
        skip();
    }
    c->check->fn(&c->fx);
}

/* What the server logs of its --db: never a URI's password. */
static void path_shown_hides_password(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"todo.db", "todo.db"},
        {":memory:", ":memory:"},
        {"postgresql://todo@db:5432/todo", "postgresql://todo@db:5432/todo"},
        {"postgresql://todo:s3cret@db:5432/todo", "postgresql://todo:***@db:5432/todo"},
        {"postgres://u:p@a@h/d", "postgres://u:***@h/d"},
        {"postgresql://h/d?user=u&password=s3cret&sslmode=require",
         "postgresql://h/d?user=u&password=***&sslmode=require"},
        {"postgresql://u:x@h/d?password=y", "postgresql://u:***@h/d?password=***"},
        {"postgresql:", "postgresql:"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[128];
        store_path_shown(cases[i][0], out, sizeof(out));
        assert_string_equal(out, cases[i][1]);
    }
    char small[12];
    store_path_shown("postgresql://u:secret@h/d", small, sizeof(small));
    assert_string_equal(small, "postgresql:");
}

int main(void)
{
    static struct run_case cases[NFIX * NCHECK];
    static struct CMUnitTest tests[NFIX * NCHECK + 1];
    static char names[NFIX * NCHECK][96];
    /* The engine's own lines (a database created, say) are not the test's. */
    log_set_level(LOG_WARN);
    for (size_t i = 0; i < NFIX; i++) {
        for (size_t j = 0; j < NCHECK; j++) {
            size_t k = i * NCHECK + j;
            cases[k] = (struct run_case){.fix = &fixtures[i], .check = &checks[j]};
            snprintf(names[k], sizeof(names[k]), "%s/%s", fixtures[i].name, checks[j].name);
            tests[k] = (struct CMUnitTest){
                .name = names[k],
                .test_func = run_check,
                .setup_func = setup,
                .teardown_func = teardown,
                .initial_state = &cases[k],
            };
        }
    }
    tests[NFIX * NCHECK] = (struct CMUnitTest){
        .name = "path_shown_hides_password",
        .test_func = path_shown_hides_password,
    };
    return _cmocka_run_group_tests("store", tests, NFIX * NCHECK + 1, NULL, NULL);
}
