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

#include "cli-watch.h"
#include "output.h"
#include "text.h"

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
    memset(o, 0, sizeof(*o));
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

/* The exact sequences: an OSC title, BEL, an SGR colour, a C1 CSI,
 * DEL, a NUL and bytes that are not UTF-8. */
#define EVIL                                                                                       \
    "\033]0;pwned\a\033[31mRED\xc2\x9b"                                                            \
    "31m\x7f\x01\xff\xc3"
#define EVIL_SHOWN "\\e]0;pwned\\x07\\e[31mRED\\u009b31m\\x7f\\x01\\xff\\xc3"

static void test_escapes(void **state)
{
    struct proto_task t[2];
    struct capture c;
    struct out o;
    (void)state;
    sample(t);
    t[0].pri = PROTO_PRI_NONE; /* no red of its own in the table */
    t[0].text = (struct proto_str){EVIL " caf\xc3\xa9 \xe4\xb8\xad", sizeof(EVIL) - 1 + 10};
    t[0].tags = S("x\033[2J");
    cap_open(&c, &o, OUT_PLAIN, 0);
    assert_int_equal(out_task(&o, t), 0);
    char *s = cap_close(&c);
    /* Valid UTF-8 stays as it is; everything else is an escape. */
    assert_non_null(strstr(s, "\t" EVIL_SHOWN " caf\xc3\xa9 \xe4\xb8\xad\n"));
    assert_non_null(strstr(s, "\tx\\e[2J\t"));
    assert_null(strchr(s, '\033'));
    assert_null(strstr(s, "\xc2\x9b"));
    free(s);

    for (int color = 0; color <= 1; color++) {
        cap_open(&c, &o, OUT_TABLE, color);
        assert_int_equal(out_tasks(&o, t, 1), 0);
        s = cap_close(&c);
        assert_non_null(strstr(s, EVIL_SHOWN));
        assert_non_null(strstr(s, "x\\e[2J"));
        assert_null(strstr(s, "\033]"));
        assert_null(strstr(s, "\033[31m")); /* the only red would be the task's */
        assert_null(strstr(s, "\033[2J"));
        assert_null(strstr(s, "\xc2\x9b"));
        assert_null(strchr(s, '\a'));
        free(s);
    }

    struct out_pair p = {S("t\033]0;x\a"), S("1")};
    cap_open(&c, &o, OUT_PLAIN, 0);
    assert_int_equal(out_tags(&o, &p, 1), 0);
    assert_int_equal(out_id(&o, "7\033[31m", 6), 0);
    assert_int_equal(out_text(&o, "reply", "PONG\a", 5), 0);
    s = cap_close(&c);
    assert_string_equal(s, "t\\e]0;x\\x07\t1\n7\\e[31m\nPONG\\x07\n");
    free(s);

    /* JSON stays exact: its own escapes keep the terminal safe. */
    cap_open(&c, &o, OUT_JSON, 0);
    t[0].text = S("\033]0;pwned\a\033[31mRED\xc2\x9b");
    assert_int_equal(out_task(&o, t), 0);
    s = cap_close(&c);
    json_error_t jerr;
    json_t *j = json_loads(s, 0, &jerr);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "text")),
                        "\033]0;pwned\a\033[31mRED\xc2\x9b");
    assert_null(strchr(s, '\033'));
    json_decref(j);
    free(s);
}

#define ACUTE "e\xcc\x81"
#define ACUTE4 ACUTE ACUTE ACUTE ACUTE
#define ACUTE20 ACUTE4 ACUTE4 ACUTE4 ACUTE4 ACUTE4

/* The display width of each escaped row, in cells. */
static size_t row_width(const char *row, size_t len)
{
    return text_width(row, len);
}

/* A table in 60 columns: the text wraps inside its own column, by cells
 * (CJK takes two, a combining mark none), and no row starts a new line in
 * the id column. */
static void test_table_width(void **state)
{
    struct proto_task t[3];
    struct capture c;
    struct out o;
    (void)state;
    sample(t);
    memset(&t[2], 0, sizeof(t[2]));
    t[0].text = S("the quick brown fox jumps over the lazy dog and keeps on running far away");
    t[1].text = S("\xe4\xb8\xad\xe6\x96\x87\xe4\xb8\xad\xe6\x96\x87\xe4\xb8\xad\xe6\x96\x87"
                  "\xe4\xb8\xad\xe6\x96\x87\xe4\xb8\xad\xe6\x96\x87\xe4\xb8\xad\xe6\x96\x87"
                  "\xe4\xb8\xad\xe6\x96\x87\xe4\xb8\xad\xe6\x96\x87\xe4\xb8\xad\xe6\x96\x87"
                  "\xe4\xb8\xad\xe6\x96\x87");
    t[2].id = S("100");
    /* e and a combining acute accent, 20 times: 20 cells, one row. */
    t[2].text = S(ACUTE20);
    cap_open(&c, &o, OUT_TABLE, 0);
    o.width = 60;
    assert_int_equal(out_tasks(&o, t, 3), 0);
    char *s = cap_close(&c);
    size_t col = (size_t)(strstr(s, "TAGS") - s);
    size_t rows = 0, cjk = 0;
    const char *ids[] = {"3 ", "12 ", "100 "};
    size_t task = 0;
    for (char *r = strchr(s, '\n') + 1; *r; rows++) {
        char *end = strchr(r, '\n');
        assert_non_null(end);
        assert_true(row_width(r, (size_t)(end - r)) <= 60);
        if (r[0] != ' ') {
            /* A task's first row starts with its id. */
            assert_true(task < 3);
            assert_memory_equal(r, ids[task], strlen(ids[task]));
            task++;
        } else {
            /* Continuation rows are blank up to the tags column. */
            for (size_t k = 0; k < col; k++)
                assert_int_equal(r[k], ' ');
        }
        if (strstr(r, "\xe4\xb8\xad") && strstr(r, "\xe4\xb8\xad") < end)
            cjk++;
        r = end + 1;
    }
    assert_int_equal(task, 3);
    assert_true(rows > 5);
    assert_true(cjk >= 2); /* 40 cells of CJK do not fit in one row */
    /* Words are not split: the long text breaks at blanks. */
    assert_non_null(strstr(s, "running"));
    free(s);

    /* No width: one row per task, as before. */
    cap_open(&c, &o, OUT_TABLE, 0);
    assert_int_equal(out_tasks(&o, t, 3), 0);
    s = cap_close(&c);
    size_t lines = 0;
    for (char *p = s; (p = strchr(p, '\n')); p++)
        lines++;
    assert_int_equal(lines, 4);
    free(s);
}

/* Pending tasks due before today are red, due today yellow; done tasks and
 * later dates are not marked, and nothing is without colour. */
static void test_overdue(void **state)
{
    struct proto_task t[4];
    struct capture c;
    struct out o;
    (void)state;
    memset(t, 0, sizeof(t));
    const char *due[] = {"2026-11-30", "2026-12-01", "2026-12-02", "2026-11-01"};
    for (int i = 0; i < 4; i++) {
        t[i].id = S(i == 0 ? "1" : i == 1 ? "2" : i == 2 ? "3" : "4");
        t[i].text = S("x");
        snprintf(t[i].due, sizeof(t[i].due), "%s", due[i]);
    }
    t[3].done = 1;
    cap_open(&c, &o, OUT_TABLE, 1);
    snprintf(o.today, sizeof(o.today), "2026-12-01");
    assert_int_equal(out_tasks(&o, t, 4), 0);
    char *s = cap_close(&c);
    assert_non_null(strstr(s, "\033[1m\033[31myesterday\033[0m"));
    assert_non_null(strstr(s, "\033[1m\033[33mtoday\033[0m"));
    assert_non_null(strstr(s, " tomorrow "));
    assert_non_null(strstr(s, " 2026-11-01 "));
    free(s);
    /* With ISO dates, the same marks on the dates. */
    cap_open(&c, &o, OUT_TABLE, 1);
    snprintf(o.today, sizeof(o.today), "2026-12-01");
    o.iso_dates = 1;
    assert_int_equal(out_tasks(&o, t, 4), 0);
    s = cap_close(&c);
    assert_non_null(strstr(s, "\033[1m\033[31m2026-11-30\033[0m"));
    assert_non_null(strstr(s, "\033[1m\033[33m2026-12-01\033[0m"));
    assert_non_null(strstr(s, " 2026-12-02 "));
    free(s);
    cap_open(&c, &o, OUT_TABLE, 0);
    snprintf(o.today, sizeof(o.today), "2026-12-01");
    assert_int_equal(out_tasks(&o, t, 4), 0);
    s = cap_close(&c);
    assert_null(strchr(s, '\033'));
    free(s);
}

/* By default the table says "today", "tomorrow", "yesterday", "in 3 days"
 * or "2 days ago" within a week of a fixed today, and the ISO date beyond
 * (8 days off either way); ISO dates when asked for; --plain, JSON and a
 * table with no today (the clock unknown) keep ISO dates. */
static void test_relative_dates(void **state)
{
    struct proto_task t[11];
    struct capture c;
    struct out o;
    (void)state;
    memset(t, 0, sizeof(t));
    const char *due[] = {"2026-12-01", "2026-12-02", "2026-11-30", "2026-12-04",
                         "2026-11-29", "2026-12-08", "2026-11-24", "2026-12-09",
                         "2026-11-23", "2027-01-01", "2026-03-01"};
    const char *ids[] = {"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11"};
    for (int i = 0; i < 11; i++) {
        t[i].id = S(ids[i]);
        t[i].text = S("x");
        snprintf(t[i].due, sizeof(t[i].due), "%s", due[i]);
    }
    const char *want[] = {" today ",      " tomorrow ",   " yesterday ",  " in 3 days ",
                          " 2 days ago ", " in 7 days ",  " 7 days ago ", " 2026-12-09 ",
                          " 2026-11-23 ", " 2027-01-01 ", " 2026-03-01 "};
    cap_open(&c, &o, OUT_TABLE, 0);
    snprintf(o.today, sizeof(o.today), "2026-12-01");
    assert_int_equal(out_tasks(&o, t, 11), 0);
    char *s = cap_close(&c);
    /* Row by row: the task's id, then its status, then the due text. */
    char *row = strchr(s, '\n') + 1;
    for (int i = 0; i < 11; i++) {
        char *end = strchr(row, '\n');
        assert_non_null(end);
        *end = '\0';
        if (!strstr(row, want[i]))
            fail_msg("row %d [%s] lacks [%s]", i + 1, row, want[i]);
        row = end + 1;
    }
    free(s);
    /* Past the year's end and across a leap day count the same. */
    snprintf(t[0].due, sizeof(t[0].due), "2029-01-03");
    cap_open(&c, &o, OUT_TABLE, 0);
    snprintf(o.today, sizeof(o.today), "2028-12-31");
    assert_int_equal(out_tasks(&o, t, 1), 0);
    s = cap_close(&c);
    assert_non_null(strstr(s, " in 3 days "));
    free(s);
    snprintf(t[0].due, sizeof(t[0].due), "2028-02-28");
    cap_open(&c, &o, OUT_TABLE, 0);
    snprintf(o.today, sizeof(o.today), "2028-03-01");
    assert_int_equal(out_tasks(&o, t, 1), 0);
    s = cap_close(&c);
    assert_non_null(strstr(s, " 2 days ago "));
    free(s);
    snprintf(t[0].due, sizeof(t[0].due), "2026-12-01");
    /* TODO_CLI_DATES=iso: the dates themselves. */
    cap_open(&c, &o, OUT_TABLE, 0);
    snprintf(o.today, sizeof(o.today), "2026-12-01");
    o.iso_dates = 1;
    assert_int_equal(out_tasks(&o, t, 11), 0);
    s = cap_close(&c);
    for (int i = 0; i < 11; i++)
        assert_non_null(strstr(s, due[i]));
    assert_null(strstr(s, "today"));
    assert_null(strstr(s, "days"));
    free(s);
    /* No today known: nothing to count from, so ISO. */
    cap_open(&c, &o, OUT_TABLE, 0);
    assert_int_equal(out_tasks(&o, t, 2), 0);
    s = cap_close(&c);
    assert_non_null(strstr(s, " 2026-12-01 "));
    assert_non_null(strstr(s, " 2026-12-02 "));
    free(s);
    /* --plain and JSON keep the ISO date by default. */
    cap_open(&c, &o, OUT_PLAIN, 0);
    snprintf(o.today, sizeof(o.today), "2026-12-01");
    assert_int_equal(out_tasks(&o, t, 2), 0);
    s = cap_close(&c);
    assert_non_null(strstr(s, "\t2026-12-01\t"));
    assert_non_null(strstr(s, "\t2026-12-02\t"));
    assert_null(strstr(s, "today"));
    assert_null(strstr(s, "tomorrow"));
    free(s);
    cap_open(&c, &o, OUT_JSON, 0);
    snprintf(o.today, sizeof(o.today), "2026-12-01");
    assert_int_equal(out_tasks(&o, t, 2), 0);
    s = cap_close(&c);
    assert_non_null(strstr(s, "\"due\": \"2026-12-01\""));
    assert_non_null(strstr(s, "\"due\": \"2026-12-02\""));
    assert_null(strstr(s, "tomorrow"));
    free(s);
}

/* Not a terminal: $COLUMNS when it is a number, else 80. */
static void test_term_width(void **state)
{
    (void)state;
    assert_int_equal(out_term_width(-1, "57"), 57);
    assert_int_equal(out_term_width(-1, NULL), 80);
    assert_int_equal(out_term_width(-1, ""), 80);
    assert_int_equal(out_term_width(-1, "wide"), 80);
    assert_int_equal(out_term_width(-1, "-3"), 80);
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

/* What watch prints for each kind of event, in each form. */
static void test_events(void **state)
{
    struct proto_task t[2];
    struct proto_event ev[4];
    struct capture c;
    struct out o;
    (void)state;

    sample(t);
    memset(ev, 0, sizeof(ev));
    ev[0] = (struct proto_event){.kind = PROTO_EVENT_ADD, .seq = UINT64_C(30124555743068161)};
    ev[0].task = t[0];
    ev[0].id = t[0].id;
    ev[1] = (struct proto_event){.kind = PROTO_EVENT_DONE, .seq = UINT64_C(30124555743068162)};
    ev[1].task = t[1];
    ev[1].id = t[1].id;
    ev[2] = (struct proto_event){.kind = PROTO_EVENT_DEL, .seq = UINT64_MAX, .id = S("12")};
    ev[3] = (struct proto_event){.kind = PROTO_EVENT_EDIT, .seq = 7};
    ev[3].task = t[1];
    ev[3].task.done = 0;
    ev[3].task.text = S("\033]0;pwned\a");
    ev[3].id = t[1].id;

    cap_open(&c, &o, OUT_TABLE, 1);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(out_event(&o, &ev[i]), 0);
    char *got = cap_close(&c);
    /* A sentence, escaped like every other output; done says only what. */
    assert_string_equal(got, "added 3 \"buy\\tmilk\\nnow \\\\ \"ok\" caf\xc3\xa9\" +home +shopping "
                             "due:2026-12-01 pri:high\n"
                             "done 12 \"call mum\"\n"
                             "deleted 12\n"
                             "edited 12 \"\\e]0;pwned\\x07\"\n");
    free(got);

    cap_open(&c, &o, OUT_PLAIN, 0);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(out_event(&o, &ev[i]), 0);
    got = cap_close(&c);
    assert_string_equal(got, "30124555743068161\tadd\t3\tpending\thigh\t2026-12-01\thome,shopping\t"
                             "2026-11-26T10:00:00Z\t2026-11-26T10:01:01Z\t"
                             "buy\\tmilk\\nnow \\\\ \"ok\" caf\xc3\xa9\n"
                             "30124555743068162\tdone\t12\tdone\t-\t-\t-\t2026-11-26T10:00:00Z\t"
                             "2026-11-26T10:00:00Z\tcall mum\n"
                             "18446744073709551615\tdel\t12\n");
    free(got);

    /* JSON Lines, even when the output's other documents are indented:
     * the task schema of list, with seq (a string: it passes 2^53) and
     * event first. */
    cap_open(&c, &o, OUT_JSON, 0);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(out_event(&o, &ev[i]), 0);
    assert_int_equal(out_event_reload(&o), 0);
    got = cap_close(&c);
    assert_string_equal(
        got, "{\"seq\":\"30124555743068161\",\"event\":\"add\",\"id\":\"3\",\"text\":"
             "\"buy\\tmilk\\nnow \\\\ \\\"ok\\\" caf\xc3\xa9\",\"status\":\"pending\",\"priority\":"
             "\"high\",\"due\":\"2026-12-01\",\"tags\":[\"home\",\"shopping\"],\"created\":"
             "\"2026-11-26T10:00:00Z\",\"updated\":\"2026-11-26T10:01:01Z\"}\n"
             "{\"seq\":\"30124555743068162\",\"event\":\"done\",\"id\":\"12\",\"text\":\"call "
             "mum\",\"status\":\"done\",\"priority\":null,\"due\":null,\"tags\":[],\"created\":"
             "\"2026-11-26T10:00:00Z\",\"updated\":\"2026-11-26T10:00:00Z\"}\n"
             "{\"seq\":\"18446744073709551615\",\"event\":\"del\",\"id\":\"12\"}\n"
             "{\"event\":\"reload\"}\n");
    free(got);

    /* Outside JSON, a reload is said on stderr by the caller, and an
     * overflow is not an event to print. */
    cap_open(&c, &o, OUT_PLAIN, 0);
    assert_int_equal(out_event_reload(&o), 0);
    struct proto_event of = {.kind = PROTO_EVENT_OVERFLOW};
    assert_int_equal(out_event(&o, &of), 0);
    got = cap_close(&c);
    assert_string_equal(got, "");
    free(got);
}

/* The bits of the replies watch reads itself. */
static void test_watch_replies(void **state)
{
    uint64_t seq = 1;
    (void)state;
    assert_int_equal(cli_watch_hello_version("todo 4 todo-server/0.4.0", 24), 4);
    assert_int_equal(cli_watch_hello_version("todo 12 x", 9), 12);
    assert_int_equal(cli_watch_hello_version("todo 3", 6), 3);
    assert_int_equal(cli_watch_hello_version("todo x", 6), -1);
    assert_int_equal(cli_watch_hello_version("todo 4x", 7), -1);
    assert_int_equal(cli_watch_hello_version("redis 7", 7), -1);
    assert_int_equal(cli_watch_hello_version("todo ", 5), -1);
    assert_int_equal(cli_watch_parse_seq("30124555743068160", 17, &seq), 0);
    assert_true(seq == UINT64_C(30124555743068160));
    assert_int_equal(cli_watch_parse_seq("18446744073709551615", 20, &seq), 0);
    assert_true(seq == UINT64_MAX);
    assert_int_equal(cli_watch_parse_seq("18446744073709551616", 20, &seq), -1);
    assert_int_equal(cli_watch_parse_seq("", 0, &seq), -1);
    assert_int_equal(cli_watch_parse_seq("12 x", 4, &seq), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain),          cmocka_unit_test(test_table),
        cmocka_unit_test(test_json),           cmocka_unit_test(test_id_and_error),
        cmocka_unit_test(test_tags_stats),     cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_table_width),    cmocka_unit_test(test_overdue),
        cmocka_unit_test(test_relative_dates), cmocka_unit_test(test_term_width),
        cmocka_unit_test(test_events),         cmocka_unit_test(test_watch_replies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
