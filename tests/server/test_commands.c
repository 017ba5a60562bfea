/*
 * test_commands.c - every command through the server's command layer, in
 * this process, against a store of its own: no sockets, no server binary
 * (cmd_harness.h). What is asserted is what a client would see: reply
 * codes, texts and the tasks that GET and LIST show, and that a refused
 * write changed nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cmocka_analyzer.h"

#include "cmd_harness.h"

#define PASSWORD "s3cret word"

/* 2026-11-26T10:00:00Z and an hour later. */
#define T_CREATED 1795687200
#define T_UPDATED (T_CREATED + 3600)

static int open_with(void **state, const char *password, size_t max_line)
{
    struct harness *h;
    struct harness_options o = {.password = password, .nconns = 3, .max_line = max_line};
    if (harness_open(&h, &o) != 0)
        return -1;
    *state = h;
    return 0;
}

static int setup(void **state)
{
    return open_with(state, NULL, 0);
}

static int setup_password(void **state)
{
    return open_with(state, PASSWORD, 0);
}

/* The smallest line limit todo-server takes (--max-line 64). */
static int setup_short_lines(void **state)
{
    return open_with(state, NULL, 64);
}

static int teardown(void **state)
{
    harness_close(*state);
    return 0;
}

/* Runs line from connection conn and checks the kind of its reply. */
static const struct harness_reply *run_on(struct harness *h, int conn, const char *line,
                                          enum harness_kind want)
{
    const struct harness_reply *r = harness_run(h, conn, line);
    if (r->kind != want)
        fprintf(stderr, "'%s' answered: %.*s\n", line, (int)r->raw_len, r->raw);
    assert_int_equal(r->kind, want);
    return r;
}

static void ok(struct harness *h, const char *line, const char *text)
{
    const struct harness_reply *r = run_on(h, 0, line, HARNESS_OK);
    assert_string_equal(r->text, text);
}

static void err(struct harness *h, const char *line, enum proto_err code)
{
    const struct harness_reply *r = run_on(h, 0, line, HARNESS_ERR);
    assert_string_equal(proto_err_name(r->err), proto_err_name(code));
}

/* What the last pass committed, as the command layer recorded it. */
static void changes(struct harness *h, const char *want)
{
    if (strcmp(harness_changes(h), want) != 0)
        fprintf(stderr, "changes: '%s', not '%s'\n", harness_changes(h), want);
    assert_string_equal(harness_changes(h), want);
}

/* GET id's one task line, copied into line (cap bytes). */
static void get_line(struct harness *h, int conn, const char *id, char *line, size_t cap)
{
    char req[128];
    snprintf(req, sizeof(req), "GET %s", id);
    const struct harness_reply *r = run_on(h, conn, req, HARNESS_DATA);
    assert_int_equal(r->nlines, 1);
    assert_true(strlen(r->lines[0]) < cap);
    snprintf(line, cap, "%s", r->lines[0]);
}

/* A task as GET shows it, its strings in the caller's buffers. */
struct task {
    char line[1024];
    char scratch[1024];
    struct proto_task t;
};

static void get_task(struct harness *h, const char *id, struct task *k)
{
    char why[128];
    get_line(h, 0, id, k->line, sizeof(k->line));
    assert_int_equal(proto_task_decode(k->line, strlen(k->line), k->scratch, sizeof(k->scratch),
                                       &k->t, why, sizeof(why)),
                     PROTO_E_NONE);
}

static void assert_str(struct proto_str s, const char *want)
{
    if (s.len != strlen(want) || memcmp(s.ptr, want, s.len) != 0)
        fprintf(stderr, "'%.*s' is not '%s'\n", (int)s.len, s.ptr, want);
    assert_int_equal(s.len, strlen(want));
    assert_memory_equal(s.ptr, want, s.len);
}

/* The ids of a LIST reply, joined by spaces ("" for none). */
static const char *list_ids(struct harness *h, const char *line)
{
    static char ids[1024];
    const struct harness_reply *r = run_on(h, 0, line, HARNESS_DATA);
    size_t n = 0;
    ids[0] = '\0';
    for (size_t i = 0; i < r->nlines; i++) {
        size_t len = strcspn(r->lines[i], " ");
        assert_true(n + len + 2 < sizeof(ids));
        n += (size_t)snprintf(ids + n, sizeof(ids) - n, "%s%.*s", i ? " " : "", (int)len,
                              r->lines[i]);
    }
    return ids;
}

static void ping_hello(void **state)
{
    struct harness *h = *state;
    ok(h, "PING", "PONG");
    ok(h, "ping", "PONG");
    err(h, "PING extra", PROTO_E_ARGS);
    ok(h, "HELLO", "todo 4 todo-server/" TODO_VERSION);
}

static void help(void **state)
{
    struct harness *h = *state;
    size_t visible = 0;
    for (int i = PROTO_CMD_NONE + 1; i < PROTO_CMD__COUNT; i++)
        visible += !(proto_cmd_info((enum proto_cmd)i)->flags & PROTO_CMDF_HIDDEN);
    const struct harness_reply *r = run_on(h, 0, "HELP", HARNESS_DATA);
    assert_int_equal(r->nlines, visible);
    assert_string_equal(r->lines[0], "PING \"\" \"Checks that the server answers; replies PONG.\"");
    for (size_t i = 0; i < r->nlines; i++)
        assert_null(strstr(r->lines[i], "GET/"));

    r = run_on(h, 0, "HELP done", HARNESS_DATA);
    assert_int_equal(r->nlines, 1);
    assert_string_equal(r->lines[0], "DONE \"ID\" \"Marks a task as done.\"");
    err(h, "HELP frob", PROTO_E_UNKNOWN);
    err(h, "HELP GET/", PROTO_E_UNKNOWN);
}

static void add_and_get(void **state)
{
    struct harness *h = *state;
    struct task k;
    ok(h, "ADD buy milk +shopping due:2026-12-01 pri:high +home", "1");
    changes(h, "ADD add 1 text,done,pri,due,tags");
    get_task(h, "1", &k);
    changes(h, "");
    assert_str(k.t.id, "1");
    assert_str(k.t.text, "buy milk");
    assert_int_equal(k.t.done, 0);
    assert_int_equal(k.t.pri, PROTO_PRI_HIGH);
    assert_string_equal(k.t.due, "2026-12-01");
    assert_str(k.t.tags, "home,shopping");
    assert_int_equal(k.t.created, k.t.updated);

    ok(h, "ADD \"say \\\"hi\\\"\\nto Ann\" +home", "2");
    changes(h, "ADD add 2 text,done,tags");
    get_task(h, "2", &k);
    assert_str(k.t.text, "say \"hi\"\nto Ann");
    assert_int_equal(k.t.pri, PROTO_PRI_NONE);
    assert_string_equal(k.t.due, "");
    ok(h, "ADD \"+1 is not a tag\" pri:l", "3");
    changes(h, "ADD add 3 text,done,pri");
    get_task(h, "3", &k);
    assert_str(k.t.text, "+1 is not a tag");
    assert_str(k.t.tags, "");
    assert_int_equal(k.t.pri, PROTO_PRI_LOW);

    /* Refused ADDs use no id. */
    err(h, "ADD +home", PROTO_E_ARGS);
    err(h, "ADD milk +bad!tag", PROTO_E_ARGS);
    err(h, "ADD milk due:2023-02-29", PROTO_E_ARGS);
    err(h, "ADD milk pri:urgent", PROTO_E_ARGS);
    changes(h, "");
    ok(h, "ADD tea due:2026-12-01 due:none", "4");
    changes(h, "ADD add 4 text,done");

    const struct harness_reply *r = run_on(h, 0, "GET 99", HARNESS_ERR);
    assert_int_equal(r->err, PROTO_E_NOTFOUND);
    assert_string_equal(r->text, "no task with id '99'");
    err(h, "GET", PROTO_E_ARGS);
    err(h, "GET bad!id", PROTO_E_ARGS);
    err(h, "GET 1 2", PROTO_E_ARGS);
}

static void edit(void **state)
{
    struct harness *h = *state;
    struct task k;
    ok(h, "ADD buy milk +shopping due:2026-12-01 pri:high", "1");

    ok(h, "EDIT 1 buy oat milk", "1");
    changes(h, "EDIT edit 1 text");
    get_task(h, "1", &k);
    assert_str(k.t.text, "buy oat milk");
    assert_str(k.t.tags, "shopping");
    assert_int_equal(k.t.pri, PROTO_PRI_HIGH);
    assert_string_equal(k.t.due, "2026-12-01");

    ok(h, "EDIT 1 -shopping +errands +home pri:med due:none", "1");
    changes(h, "EDIT edit 1 pri,due,tags");
    get_task(h, "1", &k);
    assert_str(k.t.text, "buy oat milk");
    assert_str(k.t.tags, "errands,home");
    assert_int_equal(k.t.pri, PROTO_PRI_MED);
    assert_string_equal(k.t.due, "");

    ok(h, "EDIT 1 pri:none due:2027-01-31 -nosuchtag", "1");
    get_task(h, "1", &k);
    assert_int_equal(k.t.pri, PROTO_PRI_NONE);
    assert_string_equal(k.t.due, "2027-01-31");
    assert_str(k.t.tags, "errands,home");
    ok(h, "EDIT 1 \"-old\"", "1");
    get_task(h, "1", &k);
    assert_str(k.t.text, "-old");
    assert_str(k.t.tags, "errands,home");

    err(h, "EDIT 1", PROTO_E_ARGS);
    err(h, "EDIT 1 \"\"", PROTO_E_ARGS);
    err(h, "EDIT 99 text", PROTO_E_NOTFOUND);
    changes(h, "");
    err(h, "EDIT 1 +bad!tag", PROTO_E_ARGS);
}

/* A 17th tag is refused, and the refused EDIT changes nothing: not the
 * text or the priority it also asked for, not the tags. */
static void edit_seventeenth_tag(void **state)
{
    struct harness *h = *state;
    char before[1024], after[1024], req[1024];
    size_t n = (size_t)snprintf(req, sizeof(req), "ADD many tags");
    for (int i = 1; i <= 16; i++)
        n += (size_t)snprintf(req + n, sizeof(req) - n, " +t%02d", i);
    ok(h, req, "1");
    get_line(h, 0, "1", before, sizeof(before));
    const struct harness_reply *r = run_on(h, 0, "EDIT 1 new text +t17 pri:high", HARNESS_ERR);
    assert_int_equal(r->err, PROTO_E_ARGS);
    assert_false(r->wrote);
    assert_string_equal(r->text, "a task holds at most 16 tags");
    changes(h, "");
    get_line(h, 0, "1", after, sizeof(after));
    assert_string_equal(after, before);
    /* One out, one in: still 16. */
    ok(h, "EDIT 1 -t01 +t17", "1");
    struct task k;
    get_task(h, "1", &k);
    assert_non_null(strstr(k.line, "t02,t03"));
    assert_non_null(strstr(k.line, "t16,t17 "));
    assert_null(strstr(k.line, "t01"));
}

static void done_undone_del(void **state)
{
    struct harness *h = *state;
    struct task k;
    ok(h, "ADD call Mum +family", "1");
    ok(h, "ADD read book", "2");
    ok(h, "DONE 1", "1");
    changes(h, "DONE edit 1 done");
    get_task(h, "1", &k);
    assert_int_equal(k.t.done, 1);
    assert_str(k.t.text, "call Mum");
    assert_str(k.t.tags, "family");
    ok(h, "DONE 1", "1");
    ok(h, "UNDONE 1", "1");
    changes(h, "UNDONE edit 1 done");
    get_task(h, "1", &k);
    assert_int_equal(k.t.done, 0);
    err(h, "DONE 99", PROTO_E_NOTFOUND);
    err(h, "UNDONE 99", PROTO_E_NOTFOUND);
    err(h, "DONE", PROTO_E_ARGS);

    ok(h, "DEL 2", "2");
    changes(h, "DEL delete 2");
    err(h, "GET 2", PROTO_E_NOTFOUND);
    err(h, "DEL 2", PROTO_E_NOTFOUND);
    changes(h, "");
    err(h, "DONE 2", PROTO_E_NOTFOUND);
    /* A deleted id is never handed out again, and its tags are gone. */
    ok(h, "DEL 1", "1");
    ok(h, "ADD again", "3");
    assert_string_equal(list_ids(h, "LIST all"), "3");
    const struct harness_reply *r = run_on(h, 0, "TAGS", HARNESS_DATA);
    assert_int_equal(r->nlines, 0);
}

/* UNDO: what it answers, what it records in the change log (so that WATCH
 * publishes it), and that a batch whose commit failed leaves no entry. */
static void undo(void **state)
{
    struct harness *h = *state;
    err(h, "UNDO", PROTO_E_NOTFOUND);
    err(h, "UNDO 1", PROTO_E_ARGS);
    ok(h, "ADD call Mum +family", "1");
    ok(h, "EDIT 1 call Dad", "1");
    ok(h, "DONE 1", "1");
    ok(h, "DEL 1", "1");
    ok(h, "UNDO", "undid del 1");
    changes(h, "UNDO add 1 text,done,pri,due,tags");
    ok(h, "UNDO", "undid done 1");
    changes(h, "UNDO edit 1 text,done,pri,due,tags");
    ok(h, "UNDO", "undid edit 1");
    struct task k;
    get_task(h, "1", &k);
    assert_str(k.t.text, "call Mum");
    assert_str(k.t.tags, "family");
    /* A change since that the history does not hold: refused, unchanged. */
    ok(h, "EDIT 1 call Gran", "1");
    harness_run(h, 0, "POST/1=call Grandad/status");
    err(h, "UNDO", PROTO_E_CONFLICT);
    changes(h, "");
    get_task(h, "1", &k);
    assert_str(k.t.text, "call Grandad");
    /* Writes that change nothing write no entry either: a pass of them
     * has no page to write, and so commits on a full disk. */
    harness_pass_begin(h);
    run_on(h, 0, "DONE 99", HARNESS_ERR);
    run_on(h, 0, "IMPORT skip 1 done - - skipped", HARNESS_OK);
    run_on(h, 0, "IMPORT fail 1 done - - refused", HARNESS_ERR);
    assert_int_equal(harness_pass_end(h, HARNESS_FAIL_COMMIT), 1);
    /* A failed commit keeps no entry: UNDO still meets the refused one. */
    harness_pass_begin(h);
    run_on(h, 0, "ADD lost", HARNESS_OK);
    if (harness_pass_end(h, HARNESS_FAIL_COMMIT) == 0) {
        const struct harness_reply *r = run_on(h, 0, "UNDO", HARNESS_ERR);
        assert_string_equal(proto_err_name(r->err), "CONFLICT");
        assert_non_null(strstr(r->text, "task 1"));
    }
}

static void import(void **state)
{
    struct harness *h = *state;
    char before[1024], after[1024];
    ok(h,
       "IMPORT fail 500 done 2026-11-26T10:00:00Z 2026-11-26T11:00:00Z \"buy oat milk\" +home "
       "pri:high due:2026-12-24",
       "imported 500");
    changes(h, "IMPORT add 500 text,done,pri,due,tags");
    get_line(h, 0, "500", before, sizeof(before));
    assert_string_equal(before, "500 done high 2026-12-24 home 2026-11-26T10:00:00Z "
                                "2026-11-26T11:00:00Z \"buy oat milk\"");

    const struct harness_reply *r =
        run_on(h, 0, "IMPORT fail 500 pending - - \"other\" +work", HARNESS_ERR);
    assert_int_equal(r->err, PROTO_E_EXISTS);
    assert_false(r->wrote);
    assert_string_equal(r->text, "a task with id '500' exists; IMPORT skip or replace takes it");
    changes(h, "");
    get_line(h, 0, "500", after, sizeof(after));
    assert_string_equal(after, before);

    ok(h, "IMPORT skip 500 pending - - \"other\" +work", "skipped 500");
    changes(h, "");
    get_line(h, 0, "500", after, sizeof(after));
    assert_string_equal(after, before);

    ok(h, "IMPORT replace 500 pending 2026-11-26T10:00:00Z 2026-11-26T11:00:00Z \"other\" +work",
       "replaced 500");
    changes(h, "IMPORT edit 500 text,done,pri,due,tags");
    get_line(h, 0, "500", after, sizeof(after));
    assert_string_equal(after, "500 pending - - work 2026-11-26T10:00:00Z 2026-11-26T11:00:00Z "
                               "\"other\"");
    /* ADD's counter moved past the imported number; other ids leave it. */
    ok(h, "ADD water the plants", "501");
    ok(h, "IMPORT skip task_01 pending - - \"see someone\"", "imported task_01");
    ok(h, "IMPORT skip 007 pending - - \"licence\"", "imported 007");
    ok(h, "ADD next", "502");

    err(h, "IMPORT maybe 600 pending - - \"x\"", PROTO_E_ARGS);
    err(h, "IMPORT fail 600 waiting - - \"x\"", PROTO_E_ARGS);
    err(h, "IMPORT fail 600 pending yesterday - \"x\"", PROTO_E_ARGS);
    err(h, "IMPORT fail 600 pending - -", PROTO_E_ARGS);
    err(h, "GET 600", PROTO_E_NOTFOUND);
    ok(h, "ADD last", "503");
}

static void list(void **state)
{
    struct harness *h = *state;
    ok(h, "ADD buy milk +shopping +home", "1");
    ok(h, "ADD call Mum, then milk +family", "2");
    ok(h, "ADD buttermilk pancakes +home", "3");
    ok(h, "ADD learn C++ +home +study", "4");
    ok(h, "ADD done already", "5");
    ok(h, "DONE 5", "5");
    /* Imported earlier than all of them: LIST goes by creation, not id. */
    ok(h, "IMPORT fail 100 pending 2020-01-01T00:00:00Z - \"e-mail the milk man\"", "imported 100");

    assert_string_equal(list_ids(h, "LIST"), "100 1 2 3 4");
    assert_string_equal(list_ids(h, "LIST pending"), "100 1 2 3 4");
    assert_string_equal(list_ids(h, "LIST all"), "100 1 2 3 4 5");
    assert_string_equal(list_ids(h, "LIST done"), "5");
    assert_string_equal(list_ids(h, "LIST +home"), "1 3 4");
    assert_string_equal(list_ids(h, "LIST all +home +shopping"), "1");
    assert_string_equal(list_ids(h, "LIST +nosuchtag"), "");
    assert_string_equal(list_ids(h, "LIST all milk"), "100 1 2");
    assert_string_equal(list_ids(h, "LIST all milk buy"), "1");
    assert_string_equal(list_ids(h, "LIST all MUM"), "2");
    assert_string_equal(list_ids(h, "LIST all mail"), "100");
    assert_string_equal(list_ids(h, "LIST all c++"), "4");
    assert_string_equal(list_ids(h, "LIST +home milk"), "1");
    /* A quoted keyword is a word to search for. */
    assert_string_equal(list_ids(h, "LIST \"done\""), "");
    assert_string_equal(list_ids(h, "LIST all \"done\""), "5");
    err(h, "LIST +bad!tag", PROTO_E_ARGS);

    const struct harness_reply *r = run_on(h, 0, "LIST done", HARNESS_DATA);
    assert_int_equal(r->nlines, 1);
    assert_int_equal(strncmp(r->lines[0], "5 done - - - ", 13), 0);
}

static void tags(void **state)
{
    struct harness *h = *state;
    const struct harness_reply *r = run_on(h, 0, "TAGS", HARNESS_DATA);
    assert_int_equal(r->nlines, 0);
    ok(h, "ADD a +home +shopping", "1");
    ok(h, "ADD b +home", "2");
    ok(h, "ADD c +Home +caf\xc3\xa9", "3");
    r = run_on(h, 0, "TAGS", HARNESS_DATA);
    assert_int_equal(r->nlines, 4);
    assert_string_equal(r->lines[0], "Home 1");
    assert_string_equal(r->lines[1], "caf\xc3\xa9 1");
    assert_string_equal(r->lines[2], "home 2");
    assert_string_equal(r->lines[3], "shopping 1");
    err(h, "TAGS x", PROTO_E_ARGS);
}

static void stats(void **state)
{
    struct harness *h = *state;
    static const char *const keys[] = {"connections_current",
                                       "connections_total",
                                       "commands",
                                       "errors",
                                       "tasks",
                                       "uptime_seconds",
                                       "writes",
                                       "batches",
                                       "batch_failures",
                                       "threads",
                                       "max_clients",
                                       "idle_closed",
                                       "line_timeouts",
                                       "evicted",
                                       "auth_failures",
                                       "auth_delayed",
                                       "auth_closed",
                                       "http_closed",
                                       "accounts",
                                       "auth_user_failures",
                                       "auth_user_delayed",
                                       "auth_user_locked",
                                       "watchers",
                                       "events_sent",
                                       "watch_overflows",
                                       "cache_hits",
                                       "cache_misses",
                                       "cache_entries",
                                       "cache_bytes",
                                       "cache_max_bytes",
                                       "reads_ahead",
                                       "writes_ahead",
                                       "commits_overlapped",
                                       "store",
                                       "store_state",
                                       "version"};
    ok(h, "ADD a", "1");
    ok(h, "ADD b", "2");
    const struct harness_reply *r = run_on(h, 0, "STATS", HARNESS_DATA);
    assert_int_equal(r->nlines, sizeof(keys) / sizeof(keys[0]));
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        size_t n = strlen(keys[i]);
        int found = 0;
        for (size_t j = 0; j < r->nlines && !found; j++)
            found = strncmp(r->lines[j], keys[i], n) == 0 && r->lines[j][n] == ' ';
        if (!found)
            fprintf(stderr, "STATS has no %s\n", keys[i]);
        assert_true(found);
    }
    int tasks = 0;
    for (size_t j = 0; j < r->nlines; j++)
        if (strncmp(r->lines[j], "tasks ", 6) == 0)
            tasks = 1 + strcmp(r->lines[j], "tasks 2");
    assert_int_equal(tasks, 1);
    assert_string_equal(r->lines[r->nlines - 1], "version " TODO_VERSION);
    err(h, "STATS now", PROTO_E_ARGS);
}

static void auth(void **state)
{
    struct harness *h = *state;
    const struct harness_reply *r;
    /* Allowed before AUTH. */
    ok(h, "PING", "PONG");
    run_on(h, 0, "HELLO", HARNESS_OK);
    run_on(h, 0, "HELP", HARNESS_DATA);
    /* Not allowed. */
    static const char *const refused[] = {"ADD milk",
                                          "GET 1",
                                          "EDIT 1 x",
                                          "DONE 1",
                                          "UNDONE 1",
                                          "DEL 1",
                                          "LIST",
                                          "TAGS",
                                          "STATS",
                                          "IMPORT fail 9 pending - - \"x\"",
                                          "GET/task_01/status",
                                          "POST/task_01=x/y"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        r = run_on(h, 0, refused[i], HARNESS_ERR);
        assert_int_equal(r->err, PROTO_E_AUTH);
        assert_string_equal(r->text, "authentication required; send AUTH <password>");
        assert_false(r->wrote);
        changes(h, "");
    }
    r = run_on(h, 0, "AUTH wrong", HARNESS_ERR);
    assert_int_equal(r->err, PROTO_E_AUTH);
    assert_string_equal(r->text, "wrong password");
    err(h, "ADD milk", PROTO_E_AUTH);
    ok(h, "AUTH \"" PASSWORD "\"", "");
    assert_true(harness_conn_authed(h, 0));
    ok(h, "ADD milk", "1");
    /* The other connections are not logged in by it. */
    r = run_on(h, 1, "LIST", HARNESS_ERR);
    assert_int_equal(r->err, PROTO_E_AUTH);
    /* A wrong password logs the connection out. */
    err(h, "AUTH s3cret", PROTO_E_AUTH);
    assert_false(harness_conn_authed(h, 0));
    err(h, "ADD tea", PROTO_E_AUTH);
    err(h, "DEL 1", PROTO_E_AUTH);
    ok(h, "AUTH \"" PASSWORD "\"", "");
    assert_string_equal(list_ids(h, "LIST all"), "1");
    ok(h, "ADD tea", "2");
}

/* The fifth wrong password closes the connection. */
static void auth_closes(void **state)
{
    struct harness *h = *state;
    const struct harness_reply *r;
    for (int i = 1; i < 5; i++) {
        r = run_on(h, 2, "AUTH guess", HARNESS_ERR);
        assert_string_equal(r->text, "wrong password");
        assert_false(r->quit);
    }
    r = run_on(h, 2, "AUTH guess", HARNESS_ERR);
    assert_int_equal(r->err, PROTO_E_AUTH);
    assert_string_equal(r->text, "wrong password; 5 wrong in a row, closing the connection");
    assert_true(r->quit);
    run_on(h, 2, "PING", HARNESS_CLOSED);
    harness_conn_reset(h, 2, 0);
    ok(h, "PING", "PONG");
    run_on(h, 2, "AUTH \"" PASSWORD "\"", HARNESS_OK);
    run_on(h, 2, "ADD milk", HARNESS_OK);
}

static void auth_without_password(void **state)
{
    struct harness *h = *state;
    const struct harness_reply *r = run_on(h, 0, "AUTH anything", HARNESS_ERR);
    assert_int_equal(r->err, PROTO_E_AUTH);
    assert_string_equal(r->text, "this server has no password; AUTH is not needed");
    err(h, "AUTH", PROTO_E_ARGS);
    ok(h, "ADD milk", "1");
}

static void quit(void **state)
{
    struct harness *h = *state;
    const struct harness_reply *r = run_on(h, 1, "QUIT", HARNESS_OK);
    assert_string_equal(r->text, "bye");
    assert_true(r->quit);
    run_on(h, 1, "PING", HARNESS_CLOSED);
    /* The others go on. */
    ok(h, "PING", "PONG");
    err(h, "QUIT now", PROTO_E_ARGS);
    harness_conn_reset(h, 1, 0);
    run_on(h, 1, "PING", HARNESS_OK);
}

/* The tutorial's two forms, answered with its bare lines. */
static void legacy(void **state)
{
    struct harness *h = *state;
    const struct harness_reply *r;
    r = run_on(h, 0, "POST/task_01=read book/status", HARNESS_BARE);
    assert_string_equal(r->text, "submit success");
    assert_true(r->wrote);
    changes(h, "POST/ put task_01 text");
    r = run_on(h, 0, "GET/task_01/status", HARNESS_BARE);
    assert_string_equal(r->text, "read book");
    r = run_on(h, 0, "get/task_01", HARNESS_BARE);
    assert_string_equal(r->text, "read book");
    r = run_on(h, 0, "GET/task_09/status", HARNESS_BARE);
    assert_string_equal(r->text, "no key match");
    r = run_on(h, 0, "POST/task_05=1+1=2 and/or 3/status", HARNESS_BARE);
    assert_string_equal(r->text, "submit success");
    r = run_on(h, 0, "GET/task_05/x", HARNESS_BARE);
    assert_string_equal(r->text, "1+1=2 and/or 3");
    /* POST replaces the text of a task it finds, and keeps the rest. */
    ok(h, "DONE task_01", "task_01");
    run_on(h, 0, "POST/task_01=read two books", HARNESS_BARE);
    char line[1024];
    get_line(h, 0, "task_01", line, sizeof(line));
    assert_int_equal(strncmp(line, "task_01 done - - - ", 19), 0);
    assert_non_null(strstr(line, " \"read two books\""));

    err(h, "POST/task_02", PROTO_E_SYNTAX);
    err(h, "POST/bad!key=x/status", PROTO_E_ARGS);
    err(h, "POST/task_02=/status", PROTO_E_ARGS);
    err(h, "GET/bad!key/status", PROTO_E_ARGS);
    r = run_on(h, 0, "GET/task_02/status", HARNESS_BARE);
    assert_string_equal(r->text, "no key match");
}

/* What the request parser refuses, with the code PROTOCOL.md gives. */
static void parse_errors(void **state)
{
    struct harness *h = *state;
    const struct harness_reply *r;
    err(h, "ADD \"buy milk", PROTO_E_SYNTAX);
    err(h, "ADD \"a\"b", PROTO_E_SYNTAX);
    err(h, "ADD \"\\q\"", PROTO_E_SYNTAX);
    err(h, "ADD a\"b", PROTO_E_SYNTAX);
    err(h, "\"PING\"", PROTO_E_SYNTAX);
    r = run_on(h, 0, "bogus", HARNESS_ERR);
    assert_int_equal(r->err, PROTO_E_UNKNOWN);
    assert_string_equal(r->text, "unknown command 'bogus'; try HELP");
    err(h, "ADD caf\xc3", PROTO_E_ENCODING);
    err(h, "ADD \"\\x00\"", PROTO_E_ENCODING);
    err(h, "ADD \"\\xff\"", PROTO_E_ENCODING);
    const char nul[] = "ADD a\0b";
    r = harness_run_n(h, 0, nul, sizeof(nul) - 1);
    assert_int_equal(r->kind, HARNESS_ERR);
    assert_int_equal(r->err, PROTO_E_ENCODING);
    char many[512];
    size_t n = (size_t)snprintf(many, sizeof(many), "ADD");
    for (int i = 0; i < 65; i++)
        n += (size_t)snprintf(many + n, sizeof(many) - n, " w");
    err(h, many, PROTO_E_ARGS);
    /* Blank lines get no reply; a CR before the LF is the line's end. */
    run_on(h, 0, "", HARNESS_NONE);
    run_on(h, 0, " \t ", HARNESS_NONE);
    ok(h, "PING\r", "PONG");
    /* Nothing was added by any of them. */
    ok(h, "ADD milk", "1");
}

static void too_long(void **state)
{
    struct harness *h = *state;
    char line[200];
    memset(line, 'a', sizeof(line) - 1);
    line[sizeof(line) - 1] = '\0';
    memcpy(line, "ADD ", 4);
    const struct harness_reply *r = run_on(h, 0, line, HARNESS_ERR);
    assert_int_equal(r->err, PROTO_E_TOOLONG);
    assert_string_equal(r->text, "request line longer than 64 bytes");
    line[64] = '\0';
    ok(h, line, "1");
}

/*
 * The group commit: the writes of a pass share one transaction; until it
 * commits, the connection that wrote reads its own writes and the others
 * read what was committed; a batch that does not commit leaves nothing,
 * and its ids are given back.
 */
static void passes(void **state)
{
    struct harness *h = *state;
    const struct harness_reply *r;
    harness_pass_begin(h);
    r = run_on(h, 0, "ADD milk", HARNESS_OK);
    assert_true(r->in_batch);
    assert_true(r->wrote);
    r = run_on(h, 1, "GET 1", HARNESS_ERR);
    assert_int_equal(r->err, PROTO_E_NOTFOUND);
    assert_false(r->in_batch);
    r = run_on(h, 0, "GET 1", HARNESS_DATA);
    assert_true(r->in_batch);
    r = run_on(h, 1, "ADD tea", HARNESS_OK);
    assert_string_equal(r->text, "2");
    r = run_on(h, 2, "PING", HARNESS_OK);
    assert_false(r->in_batch);
    assert_int_equal(harness_pass_end(h, HARNESS_COMMIT), 1);
    changes(h, "ADD add 1 text,done; ADD add 2 text,done");
    assert_string_equal(list_ids(h, "LIST"), "1 2");

    harness_pass_begin(h);
    run_on(h, 0, "ADD bread", HARNESS_OK);
    run_on(h, 1, "DEL 1", HARNESS_OK);
    run_on(h, 0, "EDIT 2 green tea", HARNESS_OK);
    assert_int_equal(harness_pass_end(h, HARNESS_ROLLBACK), 0);
    changes(h, "");
    assert_string_equal(list_ids(h, "LIST"), "1 2");
    r = run_on(h, 0, "LIST all tea", HARNESS_DATA);
    assert_int_equal(r->nlines, 1);
    assert_non_null(strstr(r->lines[0], " \"tea\""));
    ok(h, "ADD bread", "3");

    /* A commit that fails (a full disk) leaves nothing either. */
    harness_pass_begin(h);
    run_on(h, 0, "ADD jam", HARNESS_OK);
    run_on(h, 1, "DONE 3", HARNESS_OK);
    assert_int_equal(harness_pass_end(h, HARNESS_FAIL_COMMIT), 0);
    changes(h, "");
    assert_string_equal(list_ids(h, "LIST all"), "1 2 3");
    assert_string_equal(list_ids(h, "LIST done"), "");
    ok(h, "ADD jam", "4");
    /* A refused write inside a pass is undone alone. */
    harness_pass_begin(h);
    run_on(h, 0, "ADD butter +a", HARNESS_OK);
    r = run_on(h, 1, "EDIT 99 x", HARNESS_ERR);
    assert_false(r->wrote);
    run_on(h, 2, "ADD honey", HARNESS_OK);
    assert_int_equal(harness_pass_end(h, HARNESS_COMMIT), 1);
    changes(h, "ADD add 5 text,done,tags; ADD add 6 text,done");
    assert_string_equal(list_ids(h, "LIST"), "1 2 3 4 5 6");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(ping_hello, setup, teardown),
        cmocka_unit_test_setup_teardown(help, setup, teardown),
        cmocka_unit_test_setup_teardown(add_and_get, setup, teardown),
        cmocka_unit_test_setup_teardown(edit, setup, teardown),
        cmocka_unit_test_setup_teardown(edit_seventeenth_tag, setup, teardown),
        cmocka_unit_test_setup_teardown(done_undone_del, setup, teardown),
        cmocka_unit_test_setup_teardown(import, setup, teardown),
        cmocka_unit_test_setup_teardown(list, setup, teardown),
        cmocka_unit_test_setup_teardown(tags, setup, teardown),
        cmocka_unit_test_setup_teardown(stats, setup, teardown),
        cmocka_unit_test_setup_teardown(auth, setup_password, teardown),
        cmocka_unit_test_setup_teardown(auth_closes, setup_password, teardown),
        cmocka_unit_test_setup_teardown(auth_without_password, setup, teardown),
        cmocka_unit_test_setup_teardown(quit, setup, teardown),
        cmocka_unit_test_setup_teardown(legacy, setup, teardown),
        cmocka_unit_test_setup_teardown(parse_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(too_long, setup_short_lines, teardown),
        cmocka_unit_test_setup_teardown(passes, setup, teardown),
        cmocka_unit_test_setup_teardown(undo, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
