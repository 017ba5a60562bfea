/*
 * output.c - printing tasks, tags and stats as a table, plain lines or JSON.
 */
#include "output.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "text.h"
#include "todo/json.h"

#define C_RESET "\033[0m"
#define C_BOLD "\033[1m"
#define C_DIM "\033[2m"
#define C_RED "\033[31m"
#define C_GREEN "\033[32m"
#define C_YELLOW "\033[33m"
#define C_CYAN "\033[36m"

int out_escape(FILE *fp, const char *s, size_t n)
{
    return text_fputs(fp, s, n);
}

static int put_str(FILE *fp, struct proto_str s, const char *empty)
{
    if (s.len == 0)
        return fputs(empty, fp) == EOF ? -1 : 0;
    return text_fputs(fp, s.ptr, s.len);
}

void out_term_update(struct out *o)
{
    o->width = out_term_width(fileno(o->fp), getenv("COLUMNS"));
    (void)cli_clock_today(o->today); /* "" when unknown: no marks, no relative dates */
}

size_t out_term_width(int fd, const char *columns)
{
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    if (columns && *columns) {
        char *end;
        long v = strtol(columns, &end, 10);
        if (*end == '\0' && v > 0 && v < 100000)
            return (size_t)v;
    }
    return 80;
}

/* ---- JSON ---------------------------------------------------------- */

static json_t *jstr(struct proto_str s)
{
    return json_stringn(s.ptr, s.len);
}

json_t *out_task_json(const struct proto_task *t)
{
    /* The schema the server's JSON encoder answers too (todo/json.h). */
    return todo_json_task(t);
}

json_t *out_tasks_json(const struct proto_task *t, size_t n)
{
    json_t *a = json_array();
    if (!a)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        json_t *o = out_task_json(&t[i]);
        if (!o || json_array_append_new(a, o) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

int out_doc(const struct out *o, json_t *j)
{
    if (!j)
        return -1;
    /* JSON Lines (one document a line) when many documents follow each other. */
    size_t flags = o->json_lines ? JSON_COMPACT : JSON_INDENT(2);
    int r = json_dumpf(j, o->fp, flags | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (r != 0 || putc('\n', o->fp) == EOF)
        return -1;
    return 0;
}

int out_json(FILE *fp, json_t *j)
{
    if (!j)
        return -1;
    int r = json_dumpf(j, fp, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (r != 0 || putc('\n', fp) == EOF)
        return -1;
    return 0;
}

/* ---- plain lines ----------------------------------------------------- */

static int plain_task(FILE *fp, const struct proto_task *t)
{
    char created[PROTO_TIME_LEN + 1], updated[PROTO_TIME_LEN + 1];
    proto_time_format(t->created, created);
    proto_time_format(t->updated, updated);
    if (out_escape(fp, t->id.ptr, t->id.len) != 0 ||
        fprintf(fp, "\t%s\t%s\t%s\t", t->done ? "done" : "pending", proto_pri_name(t->pri),
                t->due[0] ? t->due : "-") < 0 ||
        put_str(fp, t->tags, "-") != 0 || fprintf(fp, "\t%s\t%s\t", created, updated) < 0 ||
        out_escape(fp, t->text.ptr, t->text.len) != 0 || putc('\n', fp) == EOF)
        return -1;
    return 0;
}

/* ---- the table ----------------------------------------------------- */

static size_t max_sz(size_t a, size_t b)
{
    return a > b ? a : b;
}

static const char *pri_color(int pri)
{
    switch (pri) {
    case PROTO_PRI_HIGH:
        return C_BOLD C_RED;
    case PROTO_PRI_MED:
        return C_YELLOW;
    case PROTO_PRI_LOW:
        return C_CYAN;
    default:
        return "";
    }
}

/* The colour of a task's due date: overdue (pending, due before today)
 * and due today stand out; a done task's date is only history. */
static const char *due_color(const struct out *o, const struct proto_task *t)
{
    if (t->done || !t->due[0] || !o->today[0])
        return "";
    int c = strcmp(t->due, o->today);
    return c < 0 ? C_BOLD C_RED : c == 0 ? C_BOLD C_YELLOW : "";
}

/* What the table shows for a task's due date: "-" for none; unless ISO
 * dates are asked for, a day within a week of today in words, since "in 3
 * days" is read faster than a date; further off, the ISO date, which is
 * then clearer than "in 40 days". buf holds at least 16 bytes. */
static const char *due_text(const struct out *o, const struct proto_task *t, char *buf, size_t cap)
{
    if (!t->due[0])
        return "-";
    if (o->iso_dates || !o->today[0])
        return t->due;
    int64_t a = proto_date_days(t->due, strlen(t->due));
    int64_t b = proto_date_days(o->today, strlen(o->today));
    if (a == INT64_MIN || b == INT64_MIN)
        return t->due;
    int64_t d = a - b;
    if (d == 0)
        return "today";
    if (d == 1)
        return "tomorrow";
    if (d == -1)
        return "yesterday";
    if (d >= 2 && d <= 7)
        snprintf(buf, cap, "in %d days", (int)d);
    else if (d <= -2 && d >= -7)
        snprintf(buf, cap, "%d days ago", (int)-d);
    else
        return t->due;
    return buf;
}

/* A cell's text, escaped, and what is left of it to print. */
struct cellv {
    struct proto_buf b;
    size_t off;  /* bytes already printed */
    size_t cols; /* the column's width */
    const char *brk;
    const char *color;
};

/* Writes the next row of c (padded to its column unless last), colour
 * codes not counting towards the width. */
static int cell_row(FILE *fp, struct cellv *c, int use_color, int last)
{
    const char *s = c->b.data + c->off;
    size_t n = c->b.len - c->off, cells = 0, k = 0;
    if (n > 0) {
        k = text_wrap(s, n, c->cols, c->brk, &cells);
        c->off += k;
        /* The blanks a row was broken at do not start the next one. */
        while (c->off < c->b.len && c->b.data[c->off] == ' ')
            c->off++;
        /* Nor do they end this one. */
        while (k > 0 && s[k - 1] == ' ') {
            k--;
            cells--;
        }
    }
    int on = use_color && c->color && *c->color && k > 0;
    if ((on && fputs(c->color, fp) == EOF) || fwrite(s, 1, k, fp) != k ||
        (on && fputs(C_RESET, fp) == EOF))
        return -1;
    for (size_t i = cells; !last && i < c->cols + 2; i++)
        if (putc(' ', fp) == EOF)
            return -1;
    return 0;
}

static int cell_set(struct cellv *c, const char *s, size_t n, const char *color)
{
    c->b.len = 0;
    c->off = 0;
    c->color = color;
    /* A NUL after the text, not counted, so that data is never NULL. */
    if (text_escape(&c->b, s, n) != 0 || proto_buf_append(&c->b, "", 1) != 0)
        return -1;
    c->b.len--;
    return 0;
}

enum { COL_ID, COL_STATUS, COL_PRI, COL_DUE, COL_TAGS, COL_TEXT, NCOLS };

/* The text column is never squeezed below this; a terminal narrower than
 * the other columns plus this wraps the rows itself. */
#define TEXT_MIN_COLS 16

static int table_tasks(const struct out *o, const struct proto_task *t, size_t n)
{
    static const char *const heads[NCOLS] = {"ID", "STATUS", "PRI", "DUE", "TAGS", "TEXT"};
    FILE *fp = o->fp;
    size_t w[NCOLS] = {2, 6, 3, 3, 4, 4};
    struct cellv c[NCOLS];
    struct proto_buf tmp;
    int ret = -1;

    if (n == 0)
        return fputs("(no tasks)\n", fp) == EOF ? -1 : 0;
    memset(c, 0, sizeof(c));
    for (size_t k = 0; k < NCOLS; k++)
        proto_buf_init(&c[k].b, 0);
    proto_buf_init(&tmp, 0);
    /* Widths in terminal cells of what is shown, i.e. of the escaped text. */
    for (size_t i = 0; i < n; i++) {
        tmp.len = 0;
        if (text_escape(&tmp, t[i].id.ptr, t[i].id.len) != 0)
            goto out;
        w[COL_ID] = max_sz(w[COL_ID], text_width(tmp.data, tmp.len));
        w[COL_STATUS] = max_sz(w[COL_STATUS], t[i].done ? 4 : 7);
        w[COL_PRI] = max_sz(w[COL_PRI], strlen(proto_pri_name(t[i].pri)));
        char rel[16];
        w[COL_DUE] = max_sz(w[COL_DUE], strlen(due_text(o, &t[i], rel, sizeof(rel))));
        tmp.len = 0;
        if (text_escape(&tmp, t[i].tags.ptr, t[i].tags.len) != 0)
            goto out;
        w[COL_TAGS] = max_sz(w[COL_TAGS], text_width(tmp.data, tmp.len));
        tmp.len = 0;
        if (text_escape(&tmp, t[i].text.ptr, t[i].text.len) != 0)
            goto out;
        w[COL_TEXT] = max_sz(w[COL_TEXT], text_width(tmp.data, tmp.len));
    }
    /* Fit the terminal: the text column takes what the others leave, and
     * long tags give way first down to a third of the line. Every column
     * but the last is followed by two blanks. */
    size_t fixed = w[COL_ID] + w[COL_STATUS] + w[COL_PRI] + w[COL_DUE] + 8;
    w[COL_TEXT] = SIZE_MAX / 2;
    if (o->width > 0) {
        size_t room = o->width > fixed + 2 + TEXT_MIN_COLS ? o->width - fixed - 2 : TEXT_MIN_COLS;
        if (w[COL_TAGS] + TEXT_MIN_COLS > room)
            w[COL_TAGS] = max_sz(4, room > TEXT_MIN_COLS ? room - TEXT_MIN_COLS : 0);
        w[COL_TEXT] = room > w[COL_TAGS] + TEXT_MIN_COLS ? room - w[COL_TAGS] : TEXT_MIN_COLS;
    }
    for (size_t k = 0; k < NCOLS; k++) {
        c[k].cols = w[k];
        c[k].brk = k == COL_TAGS ? "," : NULL;
        if (cell_set(&c[k], heads[k], strlen(heads[k]), C_BOLD) != 0)
            goto out;
    }
    for (size_t k = 0; k < NCOLS; k++)
        if (cell_row(fp, &c[k], o->color, k == COL_TEXT) != 0)
            goto out;
    if (putc('\n', fp) == EOF)
        goto out;
    for (size_t i = 0; i < n; i++) {
        const struct proto_task *k = &t[i];
        const char *st = k->done ? "done" : "pending";
        const char *pri = proto_pri_name(k->pri);
        char rel[16];
        const char *due = due_text(o, k, rel, sizeof(rel));
        if (cell_set(&c[COL_ID], k->id.ptr, k->id.len, NULL) != 0 ||
            cell_set(&c[COL_STATUS], st, strlen(st), k->done ? C_GREEN : "") != 0 ||
            cell_set(&c[COL_PRI], pri, strlen(pri), pri_color(k->pri)) != 0 ||
            cell_set(&c[COL_DUE], due, strlen(due), due_color(o, k)) != 0 ||
            cell_set(&c[COL_TAGS], k->tags.len ? k->tags.ptr : "-", k->tags.len ? k->tags.len : 1,
                     C_CYAN) != 0 ||
            /* Done tasks are dimmed so the pending ones stand out. */
            cell_set(&c[COL_TEXT], k->text.ptr, k->text.len, k->done ? C_DIM : NULL) != 0)
            goto out;
        /* A long text or tag list goes on over more rows inside its own
         * column; the cells that have ended are blank on those rows. */
        do {
            for (size_t col = 0; col < NCOLS; col++)
                if (cell_row(fp, &c[col], o->color, col == COL_TEXT) != 0)
                    goto out;
            if (putc('\n', fp) == EOF)
                goto out;
        } while (c[COL_TAGS].off < c[COL_TAGS].b.len || c[COL_TEXT].off < c[COL_TEXT].b.len);
    }
    ret = 0;
out:
    for (size_t k = 0; k < NCOLS; k++)
        proto_buf_free(&c[k].b);
    proto_buf_free(&tmp);
    return ret;
}

/* ---- the public printers ---------------------------------------------- */

int out_tasks(const struct out *o, const struct proto_task *t, size_t n)
{
    switch (o->mode) {
    case OUT_JSON:
        return out_doc(o, out_tasks_json(t, n));
    case OUT_PLAIN:
        for (size_t i = 0; i < n; i++)
            if (plain_task(o->fp, &t[i]) != 0)
                return -1;
        return 0;
    default:
        return table_tasks(o, t, n);
    }
}

int out_task(const struct out *o, const struct proto_task *t)
{
    if (o->mode == OUT_JSON)
        return out_doc(o, out_task_json(t));
    if (o->mode == OUT_PLAIN)
        return plain_task(o->fp, t);
    return table_tasks(o, t, 1);
}

/* Values that are whole numbers become JSON numbers, others strings. */
static json_t *json_value(struct proto_str v)
{
    return todo_json_value(v);
}

static int pairs_text(const struct out *o, const struct out_pair *p, size_t n)
{
    struct proto_buf b;
    size_t w = 0;
    int ret = -1;
    proto_buf_init(&b, 0);
    for (size_t i = 0; i < n; i++) {
        b.len = 0;
        if (text_escape(&b, p[i].name.ptr, p[i].name.len) != 0)
            goto out;
        w = max_sz(w, text_width(b.data, b.len));
    }
    for (size_t i = 0; i < n; i++) {
        b.len = 0;
        if (text_escape(&b, p[i].name.ptr, p[i].name.len) != 0 ||
            fwrite(b.data, 1, b.len, o->fp) != b.len)
            goto out;
        if (o->mode == OUT_PLAIN) {
            if (putc('\t', o->fp) == EOF)
                goto out;
        } else {
            for (size_t k = text_width(b.data, b.len); k < w + 2; k++)
                if (putc(' ', o->fp) == EOF)
                    goto out;
        }
        if (out_escape(o->fp, p[i].value.ptr, p[i].value.len) != 0 || putc('\n', o->fp) == EOF)
            goto out;
    }
    ret = 0;
out:
    proto_buf_free(&b);
    return ret;
}

int out_tags(const struct out *o, const struct out_pair *p, size_t n)
{
    if (o->mode != OUT_JSON) {
        if (n == 0 && o->mode == OUT_TABLE)
            return fputs("(no tags)\n", o->fp) == EOF ? -1 : 0;
        return pairs_text(o, p, n);
    }
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        json_t *e = json_pack("{s:o,s:o}", "tag", jstr(p[i].name), "count", json_value(p[i].value));
        if (!e || json_array_append_new(a, e) != 0) {
            json_decref(a);
            a = NULL;
        }
    }
    return out_doc(o, a);
}

int out_shares(const struct out *o, const struct out_pair *p, size_t n)
{
    if (o->mode != OUT_JSON) {
        if (n == 0 && o->mode == OUT_TABLE)
            return fputs("(no shares)\n", o->fp) == EOF ? -1 : 0;
        return pairs_text(o, p, n);
    }
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        json_t *e = json_pack("{s:o,s:o}", "list", jstr(p[i].name), "user", jstr(p[i].value));
        if (!e || json_array_append_new(a, e) != 0) {
            json_decref(a);
            a = NULL;
        }
    }
    return out_doc(o, a);
}

/* 1 if s is printable ASCII without blanks, as names and these words are:
 * anything else from a server is not shown raw. */
static int plain_word(struct proto_str s)
{
    for (size_t i = 0; i < s.len; i++)
        if (s.ptr[i] <= ' ' || s.ptr[i] > '~')
            return 0;
    return s.len > 0;
}

/* Splits user list's value into its three words; -1 if it has not three,
 * or one of them (or the name) is not a plain word. */
static int user_words(struct proto_str name, struct proto_str v, struct proto_str w[3])
{
    if (!plain_word(name))
        return -1;
    size_t k = 0, i = 0;
    while (k < 3 && i < v.len) {
        size_t j = i;
        while (j < v.len && v.ptr[j] != ' ')
            j++;
        w[k++] = (struct proto_str){v.ptr + i, j - i};
        i = j + 1;
    }
    return k == 3 && i >= v.len && plain_word(w[0]) && plain_word(w[1]) && plain_word(w[2]) ? 0
                                                                                            : -1;
}

int out_users(const struct out *o, const struct out_pair *p, size_t n)
{
    if (o->mode != OUT_JSON) {
        if (n == 0 && o->mode == OUT_TABLE)
            return fputs("(no users)\n", o->fp) == EOF ? -1 : 0;
        /* A table lines the columns up: names are ASCII, and so are the
         * words, so bytes are columns. */
        int wname = 0;
        for (size_t i = 0; i < n; i++)
            wname = p[i].name.len > (size_t)wname ? (int)p[i].name.len : wname;
        for (size_t i = 0; i < n; i++) {
            struct proto_str w[3];
            if (user_words(p[i].name, p[i].value, w) != 0)
                return -1;
            int rc = o->mode == OUT_TABLE
                         ? fprintf(o->fp, "%-*.*s  %-5.*s  %-6.*s  %.*s\n", wname,
                                   (int)p[i].name.len, p[i].name.ptr, (int)w[0].len, w[0].ptr,
                                   (int)w[1].len, w[1].ptr, (int)w[2].len, w[2].ptr)
                         : fprintf(o->fp, "%.*s\t%.*s\t%.*s\t%.*s\n", (int)p[i].name.len,
                                   p[i].name.ptr, (int)w[0].len, w[0].ptr, (int)w[1].len, w[1].ptr,
                                   (int)w[2].len, w[2].ptr);
            if (rc < 0)
                return -1;
        }
        return 0;
    }
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        struct proto_str w[3];
        json_t *e =
            user_words(p[i].name, p[i].value, w) != 0
                ? NULL
                : json_pack("{s:o,s:s%,s:s%,s:s%}", "name", jstr(p[i].name), "role", w[0].ptr,
                            w[0].len, "state", w[1].ptr, w[1].len, "created", w[2].ptr, w[2].len);
        if (!e || json_array_append_new(a, e) != 0) {
            json_decref(a);
            a = NULL;
        }
    }
    return out_doc(o, a);
}

int out_stats(const struct out *o, const struct out_pair *p, size_t n)
{
    if (o->mode != OUT_JSON)
        return pairs_text(o, p, n);
    json_t *obj = json_object();
    for (size_t i = 0; obj && i < n; i++) {
        char key[128];
        snprintf(key, sizeof(key), "%.*s", (int)p[i].name.len, p[i].name.ptr);
        if (json_object_set_new(obj, key, json_value(p[i].value)) != 0) {
            json_decref(obj);
            obj = NULL;
        }
    }
    return out_doc(o, obj);
}

int out_id(const struct out *o, const char *id, size_t len)
{
    if (o->mode == OUT_JSON)
        return out_doc(o, json_pack("{s:s%}", "id", id, len));
    if (text_fputs(o->fp, id, len) != 0 || putc('\n', o->fp) == EOF)
        return -1;
    return 0;
}

int out_text(const struct out *o, const char *key, const char *text, size_t len)
{
    if (o->mode == OUT_JSON)
        return out_doc(o, json_pack("{s:s%}", key, text, len));
    if (text_fputs(o->fp, text, len) != 0 || putc('\n', o->fp) == EOF)
        return -1;
    return 0;
}

int out_error(const struct out *o, const char *code, const char *msg)
{
    if (o->mode != OUT_JSON)
        return 0;
    json_t *e = json_pack("{s:s,s:s}", "code", code, "message", msg);
    /* In a batch, the input line the error answers. */
    if (e && o->line > 0 &&
        json_object_set_new(e, "line", json_integer((json_int_t)o->line)) != 0) {
        json_decref(e);
        e = NULL;
    }
    return out_doc(o, e ? json_pack("{s:o}", "error", e) : NULL);
}

/* ---- events (watch) ------------------------------------------------- */

static int add_str(struct proto_buf *b, const char *s)
{
    return proto_buf_append(b, s, strlen(s));
}

int out_event_sentence(struct proto_buf *b, const struct proto_event *ev)
{
    static const char *const verbs[] = {
        [PROTO_EVENT_ADD] = "added",     [PROTO_EVENT_EDIT] = "edited", [PROTO_EVENT_DONE] = "done",
        [PROTO_EVENT_UNDONE] = "undone", [PROTO_EVENT_DEL] = "deleted",
    };
    const struct proto_task *t = &ev->task;
    if (ev->kind < PROTO_EVENT_ADD || ev->kind > PROTO_EVENT_DEL)
        return -1;
    if (add_str(b, verbs[ev->kind]) != 0 || add_str(b, " ") != 0 ||
        text_escape(b, ev->id.ptr, ev->id.len) != 0)
        return -1;
    if (ev->kind == PROTO_EVENT_DEL)
        return 0;
    if (add_str(b, " \"") != 0 || text_escape(b, t->text.ptr, t->text.len) != 0 ||
        add_str(b, "\"") != 0)
        return -1;
    /* A done or undone task is known by its text; what a new or changed
     * task now carries is news. */
    if (ev->kind != PROTO_EVENT_ADD && ev->kind != PROTO_EVENT_EDIT)
        return 0;
    for (size_t i = 0; i < t->tags.len;) {
        size_t j = i;
        while (j < t->tags.len && t->tags.ptr[j] != ',')
            j++;
        if (add_str(b, " +") != 0 || text_escape(b, t->tags.ptr + i, j - i) != 0)
            return -1;
        i = j + 1;
    }
    if (t->due[0] && (add_str(b, " due:") != 0 || add_str(b, t->due) != 0))
        return -1;
    if (t->pri != PROTO_PRI_NONE &&
        (add_str(b, " pri:") != 0 || add_str(b, proto_pri_name(t->pri)) != 0))
        return -1;
    return 0;
}

static json_t *event_json(const struct proto_event *ev)
{
    char seq[24];
    json_t *o = ev->kind == PROTO_EVENT_DEL ? json_object() : out_task_json(&ev->task);
    if (!o)
        return NULL;
    snprintf(seq, sizeof(seq), "%llu", (unsigned long long)ev->seq);
    /* seq and event come first: a reader of the stream looks at them first. */
    json_t *head = json_pack("{s:s,s:s}", "seq", seq, "event", proto_event_kind_name(ev->kind));
    if (!head || (ev->kind == PROTO_EVENT_DEL && json_object_set_new(o, "id", jstr(ev->id)) != 0) ||
        json_object_update(head, o) != 0) {
        json_decref(head);
        json_decref(o);
        return NULL;
    }
    json_decref(o);
    return head;
}

int out_event(const struct out *o, const struct proto_event *ev)
{
    if (ev->kind < PROTO_EVENT_ADD || ev->kind > PROTO_EVENT_DEL)
        return 0;
    if (o->mode == OUT_JSON) {
        /* One event a line, whatever the output's other documents do. */
        struct out one = *o;
        one.json_lines = 1;
        return out_doc(&one, event_json(ev));
    }
    if (o->mode == OUT_PLAIN) {
        if (fprintf(o->fp, "%llu\t%s\t", (unsigned long long)ev->seq,
                    proto_event_kind_name(ev->kind)) < 0)
            return -1;
        if (ev->kind != PROTO_EVENT_DEL)
            return plain_task(o->fp, &ev->task);
        if (out_escape(o->fp, ev->id.ptr, ev->id.len) != 0 || putc('\n', o->fp) == EOF)
            return -1;
        return 0;
    }
    struct proto_buf b;
    proto_buf_init(&b, 0);
    int rc = out_event_sentence(&b, ev) != 0 || fwrite(b.data, 1, b.len, o->fp) != b.len ||
                     putc('\n', o->fp) == EOF
                 ? -1
                 : 0;
    proto_buf_free(&b);
    return rc;
}

int out_event_reload(const struct out *o)
{
    if (o->mode != OUT_JSON)
        return 0;
    struct out one = *o;
    one.json_lines = 1;
    return out_doc(&one, json_pack("{s:s}", "event", "reload"));
}
