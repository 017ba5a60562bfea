/*
 * test_reply_json.c - every command's result as the HTTP front end's JSON
 * encoder (server/reply-json.c) makes it, through the command layer in
 * this process (cmd_harness.h, harness_run_json). What is asserted is what
 * an API client would read: the documents parsed back with jansson, a task
 * in exactly the schema todo-cli --json prints (todo/json.h, compared
 * against the line protocol's reply of the same request), and errors as
 * {"error": {"code", "message"}} with libproto's error names.
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

#include <jansson.h>

#include "cmd_harness.h"
#include "reply-json.h"
#include "todo/json.h"

#define PASSWORD "s3cret word"

static int setup(void **state)
{
    struct harness *h;
    struct harness_options o = {.nconns = 2, .memory = 1, .quiet = 1};
    if (harness_open(&h, &o) != 0)
        return -1;
    *state = h;
    return 0;
}

static int setup_password(void **state)
{
    struct harness *h;
    struct harness_options o = {.password = PASSWORD, .nconns = 2, .memory = 1, .quiet = 1};
    if (harness_open(&h, &o) != 0)
        return -1;
    *state = h;
    return 0;
}

static int teardown(void **state)
{
    harness_close(*state);
    return 0;
}

/* Runs line through the JSON encoder and parses its document (a new
 * reference); fails the test if it is not one valid JSON document. */
static json_t *run(struct harness *h, int conn, const char *line)
{
    const struct harness_reply *r = harness_run_json(h, conn, line);
    if (r->kind != HARNESS_JSON)
        fail_msg("'%s': no JSON document (kind %d)", line, (int)r->kind);
    json_error_t e;
    json_t *j = json_loads(r->text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &e);
    if (j == NULL)
        fail_msg("'%s' answered what is not JSON (%s): %s", line, e.text, r->text);
    /* Compact: one line, so that documents can follow each other. */
    assert_null(strchr(r->text, '\n'));
    return j;
}

/* The string member key of j, or NULL. */
static const char *str(json_t *j, const char *key)
{
    return json_string_value(json_object_get(j, key));
}

/* line's document is the error {"error": {"code": code, "message": ...}}
 * and nothing else; returns the message's length. */
static size_t error_is(struct harness *h, int conn, const char *line, const char *code)
{
    json_t *j = run(h, conn, line);
    json_t *e = json_object_get(j, "error");
    if (!json_is_object(e))
        fail_msg("'%s': not an error: %s", line, json_dumps(j, JSON_COMPACT));
    assert_int_equal(json_object_size(j), 1);
    assert_int_equal(json_object_size(e), 2);
    assert_string_equal(str(e, "code"), code);
    const char *m = str(e, "message");
    assert_non_null(m);
    size_t n = strlen(m);
    assert_true(n > 0);
    json_decref(j);
    return n;
}

/* The id of {"id": ID} (ADD, EDIT, DONE, ...), copied into buf. */
static const char *id_of(struct harness *h, const char *line, char *buf, size_t cap)
{
    json_t *j = run(h, 0, line);
    const char *id = str(j, "id");
    if (id == NULL)
        fail_msg("'%s': no id", line);
    assert_int_equal(json_object_size(j), 1);
    snprintf(buf, cap, "%s", id);
    json_decref(j);
    return buf;
}

/* What todo-cli --json prints for the tasks of line's line-protocol reply:
 * the same request, decoded as the client does and made JSON with the
 * client's function. */
static json_t *as_client(struct harness *h, const char *line)
{
    const struct harness_reply *r = harness_run(h, 0, line);
    assert_int_equal(r->kind, HARNESS_DATA);
    json_t *a = json_array();
    for (size_t i = 0; i < r->nlines; i++) {
        struct proto_task t;
        char scratch[4096], err[128];
        size_t n = strlen(r->lines[i]);
        assert_int_equal(
            proto_task_decode(r->lines[i], n, scratch, sizeof(scratch), &t, err, sizeof(err)),
            PROTO_E_NONE);
        assert_int_equal(json_array_append_new(a, todo_json_task(&t)), 0);
    }
    return a;
}

static void test_simple_replies(void **state)
{
    struct harness *h = *state;
    json_t *j = run(h, 0, "PING");
    assert_string_equal(str(j, "reply"), "PONG");
    assert_int_equal(json_object_size(j), 1);
    json_decref(j);
    j = run(h, 0, "HELLO");
    char hello[64];
    snprintf(hello, sizeof(hello), "todo %d todo-server/%s", PROTO_VERSION, TODO_VERSION);
    assert_string_equal(str(j, "reply"), hello);
    json_decref(j);
    /* HELP: every command, each with its usage and summary. */
    j = run(h, 0, "HELP");
    assert_true(json_is_array(j));
    assert_true(json_array_size(j) >= 14);
    size_t i;
    json_t *c;
    int saw_add = 0;
    json_array_foreach(j, i, c)
    {
        assert_int_equal(json_object_size(c), 3);
        assert_non_null(str(c, "usage"));
        assert_non_null(str(c, "summary"));
        if (strcmp(str(c, "command"), "ADD") == 0)
            saw_add = 1;
    }
    assert_true(saw_add);
    json_decref(j);
    j = run(h, 0, "HELP done");
    assert_int_equal(json_array_size(j), 1);
    assert_string_equal(str(json_array_get(j, 0), "command"), "DONE");
    json_decref(j);
    error_is(h, 0, "HELP frob", "UNKNOWN");
    j = run(h, 1, "QUIT");
    assert_string_equal(str(j, "reply"), "bye");
    json_decref(j);
    assert_int_equal(harness_run_json(h, 1, "PING")->kind, HARNESS_CLOSED);
    /* A blank line has no result at all. */
    assert_int_equal(harness_run_json(h, 0, "")->kind, HARNESS_NONE);
}

/* Each write answers {"id"}; GET is the task object, in todo-cli's schema
 * field for field. */
static void test_writes_and_get(void **state)
{
    struct harness *h = *state;
    char a[64], b[64], again[64];
    id_of(h, "ADD buy oat milk +shopping +home due:2026-12-24 pri:high", a, sizeof(a));
    id_of(h, "ADD \"call \\\"Mum\\\"\" +家务", b, sizeof(b));
    assert_string_not_equal(a, b);

    char line[128];
    snprintf(line, sizeof(line), "GET %s", a);
    json_t *t = run(h, 0, line);
    assert_true(json_is_object(t));
    assert_int_equal(json_object_size(t), 8);
    const char *const keys[] = {"id",  "text", "status",  "priority",
                                "due", "tags", "created", "updated"};
    /* In this order, as todo-cli prints them. */
    void *it = json_object_iter(t);
    for (size_t k = 0; k < 8; k++, it = json_object_iter_next(t, it)) {
        assert_non_null(it);
        assert_string_equal(json_object_iter_key(it), keys[k]);
    }
    assert_string_equal(str(t, "id"), a);
    assert_string_equal(str(t, "text"), "buy oat milk");
    assert_string_equal(str(t, "status"), "pending");
    assert_string_equal(str(t, "priority"), "high");
    assert_string_equal(str(t, "due"), "2026-12-24");
    json_t *tags = json_object_get(t, "tags");
    assert_int_equal(json_array_size(tags), 2);
    assert_non_null(str(t, "created"));
    assert_int_equal(strlen(str(t, "created")), PROTO_TIME_LEN);
    /* The same bytes as the client makes of the line reply. */
    json_t *cl = as_client(h, line);
    assert_true(json_equal(t, json_array_get(cl, 0)));
    json_decref(cl);
    json_decref(t);

    snprintf(line, sizeof(line), "GET %s", b);
    t = run(h, 0, line);
    assert_string_equal(str(t, "text"), "call \"Mum\"");
    assert_true(json_is_null(json_object_get(t, "priority")));
    assert_true(json_is_null(json_object_get(t, "due")));
    assert_string_equal(json_string_value(json_array_get(json_object_get(t, "tags"), 0)), "家务");
    json_decref(t);

    snprintf(line, sizeof(line), "EDIT %s buy soy milk -home pri:none due:none", a);
    assert_string_equal(id_of(h, line, again, sizeof(again)), a);
    snprintf(line, sizeof(line), "DONE %s", a);
    assert_string_equal(id_of(h, line, again, sizeof(again)), a);
    snprintf(line, sizeof(line), "GET %s", a);
    t = run(h, 0, line);
    assert_string_equal(str(t, "text"), "buy soy milk");
    assert_string_equal(str(t, "status"), "done");
    assert_true(json_is_null(json_object_get(t, "priority")));
    assert_true(json_is_null(json_object_get(t, "due")));
    assert_int_equal(json_array_size(json_object_get(t, "tags")), 1);
    json_decref(t);
    snprintf(line, sizeof(line), "UNDONE %s", a);
    assert_string_equal(id_of(h, line, again, sizeof(again)), a);
    /* A second GET comes from the cache (kept apart from the line one) and
     * must read the same. */
    snprintf(line, sizeof(line), "GET %s", a);
    json_t *g1 = run(h, 0, line);
    harness_run(h, 0, line);
    json_t *g2 = run(h, 0, line);
    assert_true(json_equal(g1, g2));
    assert_string_equal(str(g2, "status"), "pending");
    assert_int_equal(harness_run(h, 0, line)->kind, HARNESS_DATA);
    json_decref(g1);
    json_decref(g2);
    snprintf(line, sizeof(line), "DEL %s", a);
    assert_string_equal(id_of(h, line, again, sizeof(again)), a);
    snprintf(line, sizeof(line), "GET %s", a);
    error_is(h, 0, line, "NOTFOUND");
    snprintf(line, sizeof(line), "DONE %s", a);
    error_is(h, 0, line, "NOTFOUND");
}

/* IMPORT says what it did beside the id. */
static void test_import(void **state)
{
    struct harness *h = *state;
    json_t *j = run(h, 0,
                    "IMPORT fail 500 done 2026-11-26T10:00:00Z 2026-11-26T11:00:00Z \"oat milk\" "
                    "+home due:2026-12-01 pri:low");
    assert_string_equal(str(j, "id"), "500");
    assert_string_equal(str(j, "outcome"), "imported");
    json_decref(j);
    j = run(h, 0, "IMPORT skip 500 pending - - \"other\"");
    assert_string_equal(str(j, "outcome"), "skipped");
    json_decref(j);
    j = run(h, 0, "IMPORT replace 500 pending - - \"other\"");
    assert_string_equal(str(j, "outcome"), "replaced");
    json_decref(j);
    error_is(h, 0, "IMPORT fail 500 pending - - \"x\"", "EXISTS");
}

/* LIST: an array in the order asked, the same tasks as the line reply
 * read by the client; an empty list is []. */
static void test_list(void **state)
{
    struct harness *h = *state;
    json_t *j = run(h, 0, "LIST all");
    assert_true(json_is_array(j));
    assert_int_equal(json_array_size(j), 0);
    json_decref(j);
    char a[64], b[64], c[64];
    id_of(h, "ADD first +work", a, sizeof(a));
    id_of(h, "ADD second due:2026-12-01 pri:low", b, sizeof(b));
    id_of(h, "ADD third pri:high +work", c, sizeof(c));
    const char *const lines[] = {"LIST",          "LIST all sort:next", "LIST +work",
                                 "LIST sort:-id", "LIST pri:high",      "LIST all third",
                                 "LIST done"};
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        j = run(h, 0, lines[i]);
        json_t *cl = as_client(h, lines[i]);
        if (!json_equal(j, cl))
            fail_msg("%s: %s against the client's %s", lines[i], json_dumps(j, JSON_COMPACT),
                     json_dumps(cl, JSON_COMPACT));
        json_decref(cl);
        json_decref(j);
    }
    j = run(h, 0, "LIST all sort:next");
    assert_int_equal(json_array_size(j), 3);
    assert_string_equal(str(json_array_get(j, 0), "id"), b);
    assert_string_equal(str(json_array_get(j, 1), "id"), c);
    assert_string_equal(str(json_array_get(j, 2), "id"), a);
    json_decref(j);
    error_is(h, 0, "LIST sort:title", "ARGS");
}

/* TAGS as todo-cli --json tags prints it; STATS as an object of numbers
 * (the version a string). */
static void test_tags_stats(void **state)
{
    struct harness *h = *state;
    json_t *j = run(h, 0, "TAGS");
    assert_true(json_is_array(j));
    assert_int_equal(json_array_size(j), 0);
    json_decref(j);
    char id[64];
    id_of(h, "ADD a +home +work", id, sizeof(id));
    id_of(h, "ADD b +home", id, sizeof(id));
    j = run(h, 0, "TAGS");
    assert_int_equal(json_array_size(j), 2);
    json_t *home = json_array_get(j, 0), *work = json_array_get(j, 1);
    assert_string_equal(str(home, "tag"), "home");
    assert_int_equal(json_integer_value(json_object_get(home, "count")), 2);
    assert_true(json_is_integer(json_object_get(home, "count")));
    assert_string_equal(str(work, "tag"), "work");
    assert_int_equal(json_integer_value(json_object_get(work, "count")), 1);
    json_decref(j);
    j = run(h, 0, "STATS");
    assert_true(json_is_object(j));
    assert_int_equal(json_integer_value(json_object_get(j, "tasks")), 2);
    assert_true(json_is_integer(json_object_get(j, "commands")));
    assert_string_equal(str(j, "version"), TODO_VERSION);
    json_decref(j);
}

/* Requests that do not parse, unknown commands, long lines: each an error
 * document with libproto's code. */
static void test_errors(void **state)
{
    struct harness *h = *state;
    error_is(h, 0, "FROB", "UNKNOWN");
    error_is(h, 0, "GET", "ARGS");
    error_is(h, 0, "ADD \"open", "SYNTAX");
    error_is(h, 0, "EDIT 1 due:someday", "ARGS");
    error_is(h, 0, "GET 999", "NOTFOUND");
    char line[PROTO_MAX_LINE_DEFAULT + 64];
    memset(line, 'x', sizeof(line) - 1);
    line[sizeof(line) - 1] = '\0';
    memcpy(line, "ADD ", 4);
    error_is(h, 0, line, "TOOLONG");
    /* Requests that are not UTF-8 are answered too, and so is a long
     * command name of CJK characters, which the sentence shortens. */
    error_is(h, 0, "GET \xff\xfe", "ENCODING");
    error_is(h, 0, "ADD \"\\xff\"", "ENCODING");
    for (size_t pre = 0; pre < 4; pre++) {
        char name[3000];
        size_t n = pre;
        memset(name, 'A', pre);
        for (int i = 0; i < 900; i++, n += 3)
            memcpy(name + n, "\xe5\xad\xa6", 3); /* 学 */
        name[n] = '\0';
        error_is(h, 0, name, "UNKNOWN");
    }
    /* The message travels as JSON: a quote in it is escaped, not cut, and
     * reads back as the line protocol's sentence says it. */
    const struct harness_reply *r = harness_run(h, 0, "HELP \"fr\\\"ob\"");
    assert_int_equal(r->kind, HARNESS_ERR);
    char want[256];
    snprintf(want, sizeof(want), "%s", r->text);
    assert_non_null(strchr(want, '"'));
    json_t *j = run(h, 0, "HELP \"fr\\\"ob\"");
    assert_string_equal(str(json_object_get(j, "error"), "message"), want);
    json_decref(j);
}

/* The encoder on its own: a sentence that ends inside a UTF-8 character
 * (cut at its buffer's end) is still answered, the stray bytes as '?';
 * and a list that passes the scratch buffer's bound is refused part by
 * part without harm to the output. */
static void test_sink_edges(void **state)
{
    (void)state;
    struct proto_buf out, scratch;
    struct json_sink s;
    proto_buf_init(&out, 0);
    proto_buf_init(&scratch, 64);
    json_sink_init(&s, &out, &scratch, NULL, PROTO_CMD_LIST);
    assert_int_equal(
        result_error(&s.base, PROTO_E_UNKNOWN, "unknown command '\xe5\xad\xa6\xe5\xad"), 0);
    assert_int_equal(proto_buf_append(&out, "", 1), 0);
    assert_string_equal(out.data, "{\"error\":{\"code\":\"UNKNOWN\",\"message\":\"unknown command "
                                  "'\xe5\xad\xa6??\"}}\n");
    out.len = 0;
    struct proto_task t;
    memset(&t, 0, sizeof(t));
    t.id = (struct proto_str){"1", 1};
    t.text = (struct proto_str){"a text that fills the bound", 27};
    assert_int_equal(result_begin(&s.base, RESULT_TASKS), 0);
    assert_int_equal(result_task(&s.base, &t), -1); /* one task passes 64 bytes */
    assert_int_equal(s.base.list_bytes, 0);
    result_drop(&s.base);
    assert_int_equal(result_error(&s.base, PROTO_E_INTERNAL, "too big"), 0);
    assert_int_equal(proto_buf_append(&out, "", 1), 0);
    assert_string_equal(out.data, "{\"error\":{\"code\":\"INTERNAL\",\"message\":\"too big\"}}\n");
    assert_false(s.base.failed);
    proto_buf_free(&out);
    proto_buf_free(&scratch);
}

/* With a password: AUTH's answer, and the error before it. */
static void test_auth(void **state)
{
    struct harness *h = *state;
    error_is(h, 0, "LIST", "AUTH");
    error_is(h, 0, "AUTH wrong", "AUTH");
    json_t *j = run(h, 0, "AUTH \"" PASSWORD "\"");
    assert_string_equal(str(j, "reply"), "OK");
    json_decref(j);
    j = run(h, 0, "LIST");
    assert_true(json_is_array(j));
    json_decref(j);
    /* PING needs no password. */
    j = run(h, 1, "PING");
    assert_string_equal(str(j, "reply"), "PONG");
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_simple_replies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writes_and_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tags_stats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth, setup_password, teardown),
        cmocka_unit_test(test_sink_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
