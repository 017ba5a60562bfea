/*
 * test_cli_output.c - the table, plain and JSON forms of todo-cli's output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"

#define T_CREATED 1795687200 /* 2026-11-26T10:00:00Z */

static struct proto_str S(const char *s) {
    return (struct proto_str){s, strlen(s)};
}

static void
sample(struct proto_task t[2])
{
    memset(t, 0, 2 * sizeof(*t));
    t[0].id = S("3");
    t[0].text = S("buy\tmilk\nnow \\ \"ok\" caf\xc3\xa9");
    t[0].pri = PROTO_PRI_HIGH;
    snprintf(t[0].due, sizeof(t[0].due), "2026-12-01");
    t[0].tags = S("home,shopping");
    t[0].created = T_CREATED;
    t[0].updated = T_CREATED + 61;
    t[1].id = S("12");
    t[1].text = S("call mum");
    t[1].done = 1;
    t[1].created = T_CREATED;
    t[1].updated = T_CREATED;
}

/* Runs f into a memory stream and returns what it wrote (free it). */
struct capture {
    char *buf;
    size_t len;
    FILE *fp;
};

static void cap_open(struct capture *c, struct out *o, enum out_mode mode, int color)
{
    c->buf = NULL;
    c->len = 0;
    c->fp = open_memstream(&c->buf, &c->len);
    assert_non_null(c->fp);
    o->fp = c->fp;
    o->mode = mode;
    o->color = color;
}

static char *cap_close(struct capture *c)
{
    assert_int_equal(fclose(c->fp), 0);
    return c->buf;
}

static void test_plain(void **state)
{
    struct proto_task t[2];
    struct capture c;
    struct out o;
    (void)state;
    sample(t);
    cap_open(&c, &o, OUT_PLAIN, 1);
    assert_int_equal(out_tasks(&o, t, 2), 0);
    char *s = cap_close(&c);
    assert_string_equal(s, "3\tpending\thigh\t2026-12-01\thome,shopping\t2026-11-26T10:00:00Z\t"
                           "2026-11-26T10:01:01Z\tbuy\\tmilk\\nnow \\\\ \"ok\" caf\xc3\xa9\n"
                           "12\tdone\t-\t-\t-\t2026-11-26T10:00:00Z\t2026-11-26T10:00:00Z\t"
                           "call mum\n");
    free(s);
}

/* The column where "TEXT" starts in the header must be where each row's
 * text starts: the table is aligned. */
static void test_table(void **state)
{
    struct proto_task t[2];
    struct capture c;
    struct out o;
    (void)state;
    sample(t);
    cap_open(&c, &o, OUT_TABLE, 0);
    assert_int_equal(out_tasks(&o, t, 2), 0);
    char *s = cap_close(&c);
    assert_null(strchr(s, '\033'));
    char *l1 = s, *l2 = strchr(l1, '\n') + 1, *l3 = strchr(l2, '\n') + 1;
    size_t col = (size_t)(strstr(l1, "TEXT") - l1);
    assert_int_equal(strncmp(l1, "ID", 2), 0);
    assert_memory_equal(l2 + col, "buy\\tmilk", 9);
    assert_memory_equal(l3 + col, "call mum\n", 9);
    size_t tagcol = (size_t)(strstr(l1, "TAGS") - l1);
    assert_memory_equal(l2 + tagcol, "home,shopping", 13);
    assert_memory_equal(l3 + tagcol, "-", 1);
    assert_non_null(strstr(l2, "pending"));
    assert_non_null(strstr(l3, "done"));
    free(s);

    cap_open(&c, &o, OUT_TABLE, 1);
    assert_int_equal(out_tasks(&o, t, 2), 0);
    s = cap_close(&c);
    assert_non_null(strstr(s, "\033[")); /* colour on */
    free(s);

    cap_open(&c, &o, OUT_TABLE, 0);
    assert_int_equal(out_tasks(&o, t, 0), 0);
    s = cap_close(&c);
    assert_string_equal(s, "(no tasks)\n");
    free(s);
}

static void check_task_json(json_t *j, const struct proto_task *t)
{
    assert_true(json_is_object(j));
    assert_int_equal(json_object_size(j), 8);
    assert_string_equal(json_string_value(json_object_get(j, "id")), "3");
    json_t *text = json_object_get(j, "text");
    assert_int_equal(json_string_length(text), t->text.len);
    assert_memory_equal(json_string_value(text), t->text.ptr, t->text.len);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "pending");
    assert_string_equal(json_string_value(json_object_get(j, "priority")), "high");
    assert_string_equal(json_string_value(json_object_get(j, "due")), "2026-12-01");
    json_t *tags = json_object_get(j, "tags");
    assert_int_equal(json_array_size(tags), 2);
    assert_string_equal(json_string_value(json_array_get(tags, 0)), "home");
    assert_string_equal(json_string_value(json_array_get(tags, 1)), "shopping");
    assert_string_equal(json_string_value(json_object_get(j, "created")), "2026-11-26T10:00:00Z");
    assert_string_equal(json_string_value(json_object_get(j, "updated")), "2026-11-26T10:01:01Z");
}

static void test_json(void **state)
{
    struct proto_task t[2];
    struct capture c;
    struct out o;
    json_error_t je;
    (void)state;
    sample(t);
    cap_open(&c, &o, OUT_JSON, 1);
    assert_int_equal(out_tasks(&o, t, 2), 0);
    char *s = cap_close(&c);
    json_t *a = json_loads(s, 0, &je);
    assert_non_null(a);
    assert_true(json_is_array(a));
    assert_int_equal(json_array_size(a), 2);
    check_task_json(json_array_get(a, 0), &t[0]);
    json_t *b = json_array_get(a, 1);
    assert_string_equal(json_string_value(json_object_get(b, "status")), "done");
    assert_true(json_is_null(json_object_get(b, "priority")));
    assert_true(json_is_null(json_object_get(b, "due")));
    assert_int_equal(json_array_size(json_object_get(b, "tags")), 0);
    json_decref(a);
    free(s);

    /* get prints one object, not an array. */
    cap_open(&c, &o, OUT_JSON, 0);
    assert_int_equal(out_task(&o, &t[0]), 0);
    s = cap_close(&c);
    a = json_loads(s, 0, &je);
    check_task_json(a, &t[0]);
    json_decref(a);
    free(s);

    cap_open(&c, &o, OUT_JSON, 0);
    assert_int_equal(out_tasks(&o, t, 0), 0);
    s = cap_close(&c);
    a = json_loads(s, 0, &je);
    assert_true(json_is_array(a) && json_array_size(a) == 0);
    json_decref(a);
    free(s);
}

static void test_id_and_error(void **state)
{
    struct capture c;
    struct out o;
    json_error_t je;
    (void)state;
    cap_open(&c, &o, OUT_PLAIN, 0);
    assert_int_equal(out_id(&o, "42", 2), 0);
    assert_int_equal(out_error(&o, "NOTFOUND", "no task with id 42"), 0);
    char *s = cap_close(&c);
    assert_string_equal(s, "42\n"); /* errors go to stderr outside JSON mode */
    free(s);

    cap_open(&c, &o, OUT_JSON, 0);
    assert_int_equal(out_id(&o, "42", 2), 0);
    s = cap_close(&c);
    json_t *j = json_loads(s, 0, &je);
    assert_string_equal(json_string_value(json_object_get(j, "id")), "42");
    json_decref(j);
    free(s);

    cap_open(&c, &o, OUT_JSON, 0);
    assert_int_equal(out_error(&o, "NOTFOUND", "no task with id 42"), 0);
    s = cap_close(&c);
    j = json_loads(s, 0, &je);
    json_t *e = json_object_get(j, "error");
    assert_string_equal(json_string_value(json_object_get(e, "code")), "NOTFOUND");
    assert_string_equal(json_string_value(json_object_get(e, "message")), "no task with id 42");
    json_decref(j);
    free(s);
}

static void test_tags_stats(void **state)
{
    struct out_pair p[2] = {{S("home"), S("2")}, {S("shopping"), S("10")}};
    struct out_pair st[2] = {{S("tasks"), S("12")}, {S("version"), S("0.1.0")}};
    struct capture c;
    struct out o;
    json_error_t je;
    (void)state;
    cap_open(&c, &o, OUT_PLAIN, 0);
    assert_int_equal(out_tags(&o, p, 2), 0);
    char *s = cap_close(&c);
    assert_string_equal(s, "home\t2\nshopping\t10\n");
    free(s);

    cap_open(&c, &o, OUT_TABLE, 0);
    assert_int_equal(out_tags(&o, p, 2), 0);
    s = cap_close(&c);
    assert_string_equal(s, "home      2\nshopping  10\n");
    free(s);

    cap_open(&c, &o, OUT_JSON, 0);
    assert_int_equal(out_tags(&o, p, 2), 0);
    s = cap_close(&c);
    json_t *j = json_loads(s, 0, &je);
    assert_int_equal(json_array_size(j), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(j, 1), "tag")),
                        "shopping");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(j, 1), "count")), 10);
    json_decref(j);
    free(s);

    cap_open(&c, &o, OUT_JSON, 0);
    assert_int_equal(out_stats(&o, st, 2), 0);
    s = cap_close(&c);
    j = json_loads(s, 0, &je);
    assert_int_equal(json_integer_value(json_object_get(j, "tasks")), 12);
    assert_string_equal(json_string_value(json_object_get(j, "version")), "0.1.0");
    json_decref(j);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain),      cmocka_unit_test(test_table),
        cmocka_unit_test(test_json),       cmocka_unit_test(test_id_and_error),
        cmocka_unit_test(test_tags_stats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
