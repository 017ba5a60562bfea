/*
 * output.h - how todo-cli prints results: an aligned table (with colour) for
 * a terminal, tab-separated plain lines for scripts, or JSON.
 *
 * Plain lines, one per task:
 *   id TAB status TAB pri TAB due TAB tags TAB created TAB updated TAB text
 * pri, due and tags are "-" when empty; tags are joined by commas; times are
 * YYYY-MM-DDTHH:MM:SSZ; in every field, tab, newline, carriage return,
 * backslash, the other control characters and bytes that are not UTF-8 are
 * written as escapes (text.h), so no output can drive a terminal.
 *
 * The table fits width cells: long text and tags wrap inside their own
 * columns. Pending tasks due before today are marked red, due today yellow.
 * A due date within a week of today is shown in words ("in 3 days").
 *
 * JSON: a task is {"id","text","status","priority","due","tags","created",
 * "updated"} with priority and due null when unset; a list is one array.
 * With json_lines, each document is written on one line (JSON Lines), and
 * errors carry the input line they answer.
 */
#ifndef TODO_CLI_OUTPUT_H
#define TODO_CLI_OUTPUT_H

#include <jansson.h>
#include <stdio.h>

#include "todo/proto.h"

enum out_mode { OUT_TABLE = 0, OUT_PLAIN, OUT_JSON };

struct out {
    FILE *fp;
    enum out_mode mode;
    int color;                      /* ANSI colours in table mode */
    size_t width;                   /* table: the terminal's columns; 0 for no limit */
    char today[PROTO_DATE_LEN + 1]; /* local date for overdue marks; "" for none */
    int json_lines;                 /* JSON: one compact document per line */
    /* table: due dates within a week of today are shown as "today",
     * "tomorrow", "in 3 days", "2 days ago", unless iso_dates is set
     * (TODO_CLI_DATES=iso); --plain and JSON always keep ISO dates. */
    int iso_dates;
    unsigned long line; /* batch: the input line being answered; 0 for none */
};

/* A name and a value, as in TAGS and STATS data lines. */
struct out_pair {
    struct proto_str name, value;
};

/* Each returns 0, or -1 when writing failed or memory ran out. */
int out_tasks(const struct out *o, const struct proto_task *t, size_t n); /* list */
int out_task(const struct out *o, const struct proto_task *t);            /* get: one object */
int out_tags(const struct out *o, const struct out_pair *p, size_t n);
/* shares: "LIST<TAB>USER" lines; JSON [{"list", "user"}, ...]. */
int out_shares(const struct out *o, const struct out_pair *p, size_t n);
/* user list: NAME and "admin|user active|locked CREATED" pairs, shown as
 * four columns (or JSON objects of name, role, state, created). */
int out_users(const struct out *o, const struct out_pair *p, size_t n);
int out_stats(const struct out *o, const struct out_pair *p, size_t n);
/* The id a changing command answered: alone on a line, or {"id": "..."}. */
int out_id(const struct out *o, const char *id, size_t len);
/* A bare OK text such as PONG: the text, or {"reply": "..."}. */
int out_text(const struct out *o, const char *key, const char *text, size_t len);
/* {"error":{"code":...,"message":...}} in JSON mode; nothing otherwise. */
int out_error(const struct out *o, const char *code, const char *msg);

/* One change a watch was told of (todo-cli watch, the shell), on one line:
 *   table (a sentence):  added 5 "buy milk" +shopping due:2026-12-01 pri:high
 *                        edited 5 ..., done 5 "buy milk", undone 5 "buy milk",
 *                        deleted 5
 *   plain:               SEQ TAB KIND TAB the task's fields as in plain lines
 *                        (SEQ TAB del TAB ID for del)
 *   JSON:                {"seq":"SEQ","event":"add", the task's fields...}
 *                        ({"seq","event":"del","id"} for del); seq is a
 *                        string, since it passes 2^53.
 * An overflow is not printed here (the caller says what it means). */
int out_event(const struct out *o, const struct proto_event *ev);
/* The sentence alone, escaped, into b (no newline). 0, or -1 when out of memory. */
int out_event_sentence(struct proto_buf *b, const struct proto_event *ev);
/* {"event":"reload"}: the watch lost changes; a script reloads its list. */
int out_event_reload(const struct out *o);

/* JSON forms, new references (NULL when out of memory or the text is not UTF-8). */
json_t *out_task_json(const struct proto_task *t);
json_t *out_tasks_json(const struct proto_task *t, size_t n);
/* Writes j (stealing the reference) followed by a newline. */
int out_json(FILE *fp, json_t *j);
/* The same, on one line when o->json_lines is set. */
int out_doc(const struct out *o, json_t *j);

/* The terminal's width on fd (TIOCGWINSZ), else the number in columns
 * ($COLUMNS; may be NULL), else 80. */
size_t out_term_width(int fd, const char *columns);
/* Sets o->width from the terminal on o->fp and o->today from the local
 * clock; the shell calls it before each command, as both may change. */
void out_term_update(struct out *o);

/* Writes s escaped as in plain lines (text_fputs). */
int out_escape(FILE *fp, const char *s, size_t n);

#endif
