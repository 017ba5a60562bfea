/*
 * fuzz_commands.c - libFuzzer target for the server's command layer: any
 * request lines, from three connections, in passes that commit, roll back
 * or fail, run in-process against a store of their own (cmd_harness.h),
 * and every answer compared with a small reference model of the task list.
 *
 * The input's first line is a control line: its byte i (cycled) says, for
 * request line i, which connection sends it (byte % 3), whether the pass
 * ends after it ((byte / 3) % 2) and how that pass ends ((byte / 6) % 4: 0
 * and 1 commit, 2 rolls the batch back, 3 makes the commit fail as a full
 * disk would). The rest are request lines; the last pass commits.
 *
 * The server has a password: connections 0 and 1 start logged in, as if
 * they had sent AUTH already; connection 2 has to send "AUTH pw". A
 * connection that quits (QUIT, or five wrong passwords) comes back as a new
 * one at its next line.
 *
 * The model holds the committed tasks, and for the pass under way a copy
 * with the pass's writes applied, in order: a write is checked against the
 * copy (every write of the pass runs in the one batch, which sees them
 * all), and so is a read from a connection that wrote in the pass (it reads
 * on the writer); any other read is checked against the committed tasks.
 * The copy becomes the model only when the pass commits. Every reply is
 * checked: the code, the id a write names, and every task line GET and LIST
 * send, field by field (the times the server took from its clock only for
 * being within the run), and what a committed pass's change log says (each
 * write that succeeded, in order, with the fields it set). After the input, every task of the model
 * must be what GET answers, LIST all must be exactly the model in order, and TAGS its tags. Any
 * difference abort()s.
 */
#include <time.h>
#include <sys/stat.h>

#include "cmd_harness.h"
#include "fuzz_common.h"

#define NCONNS 3
#define PASSWORD "pw"
#define MAX_LINE 512
#define MAX_LINES 256
/* A time the server took from its clock: the model knows only when the
 * run began, and that it is not in the future. */
#define TIME_CLOCK INT64_MIN

struct mtask {
    char id[PROTO_MAX_ID + 1];
    char *text;
    size_t tlen;
    int done, pri;
    char due[PROTO_DATE_LEN + 1];
    size_t ntags; /* sorted by bytes, each once, as the store keeps them */
    char tags[PROTO_MAX_TAGS][PROTO_MAX_TAG + 1];
    int64_t created, updated; /* or TIME_CLOCK */
    /* SQLite's rowid: one more than the largest in the table at the insert,
     * kept by an UPDATE. LIST orders by created, then rowid. */
    uint64_t seq;
    /* Which POST/ set the text last (0: none): its updated is the clock's,
     * so whether UNDO finds the task as a change left it is not known. */
    uint64_t posted;
};

/* An entry of the undo history (server/store.h): the task before and
 * after the change. */
#define UNDO_DEPTH 100
struct mentry {
    char kind[8];
    int64_t run; /* an IMPORT's run (store.h): UNDO takes the run as one step; 0 others */
    char id[PROTO_MAX_ID + 1];
    int has_before, has_after;
    struct mtask before, after; /* their own copies of the text */
};

struct model {
    struct mtask *v;
    size_t n, cap;
    int64_t next_id; /* ADD's counter */
    struct mentry hist[UNDO_DEPTH];
    size_t nhist;
};

struct run {
    struct harness *h;
    struct model committed, pending;
    int pending_valid; /* pending is the pass's copy (made at its first write) */
    int authed[NCONNS], fails[NCONNS], closed[NCONNS];
    int batched[NCONNS]; /* wrote in the pass under way: reads on the writer */
    /* The run of IMPORT lines each connection is sending (0: none), and
     * the last run's number. */
    int64_t import_run[NCONNS], runs;
    int conn; /* the connection whose line is being checked */
    int64_t t0;
    /* What the pass's writes that succeeded changed, as the harness gives
     * the command layer's change log once the pass commits. */
    struct proto_buf changes;
};

enum { F_TEXT = 1, F_DONE = 2, F_PRI = 4, F_DUE = 8, F_TAGS = 16, F_ALL = 31 };

static void note_change(struct run *r, const struct proto_request *req, const char *kind,
                        struct proto_str id, unsigned fields)
{
    static const char *const names[] = {"text", "done", "pri", "due", "tags"};
    char one[PROTO_MAX_ID + 128];
    size_t n = (size_t)snprintf(one, sizeof(one), "%s%s %s %.*s", r->changes.len ? "; " : "",
                                proto_cmd_info(req->cmd)->name, kind, (int)id.len, id.ptr);
    const char *sep = " ";
    for (size_t f = 0; f < 5; f++) {
        if (fields & (1u << f)) {
            n += (size_t)snprintf(one + n, sizeof(one) - n, "%s%s", sep, names[f]);
            sep = ",";
        }
    }
    log_append(&r->changes, one, n);
}

static char *dup_bytes(const char *p, size_t n)
{
    char *c = malloc(n + 1);
    CHECK(c != NULL);
    if (n > 0)
        memcpy(c, p, n);
    c[n] = '\0';
    return c;
}

static int same_bytes(struct proto_str s, const char *p, size_t n)
{
    return s.len == n && (n == 0 || memcmp(s.ptr, p, n) == 0);
}

static void entry_free(struct mentry *e)
{
    if (e->has_before)
        free(e->before.text);
    if (e->has_after)
        free(e->after.text);
    memset(e, 0, sizeof(*e));
}

static void model_free(struct model *m)
{
    for (size_t i = 0; i < m->nhist; i++)
        entry_free(&m->hist[i]);
    for (size_t i = 0; i < m->n; i++)
        free(m->v[i].text);
    free(m->v);
    memset(m, 0, sizeof(*m));
    m->next_id = 1;
}

static void model_copy(struct model *dst, const struct model *src)
{
    model_free(dst);
    dst->next_id = src->next_id;
    dst->nhist = src->nhist;
    for (size_t i = 0; i < src->nhist; i++) {
        dst->hist[i] = src->hist[i];
        if (src->hist[i].has_before)
            dst->hist[i].before.text =
                dup_bytes(src->hist[i].before.text, src->hist[i].before.tlen);
        if (src->hist[i].has_after)
            dst->hist[i].after.text = dup_bytes(src->hist[i].after.text, src->hist[i].after.tlen);
    }
    dst->n = dst->cap = src->n;
    if (src->n == 0)
        return;
    dst->v = malloc(src->n * sizeof(*dst->v));
    CHECK(dst->v != NULL);
    memcpy(dst->v, src->v, src->n * sizeof(*dst->v));
    for (size_t i = 0; i < src->n; i++)
        dst->v[i].text = dup_bytes(src->v[i].text, src->v[i].tlen);
}

static struct mtask *model_find(const struct model *m, struct proto_str id)
{
    for (size_t i = 0; i < m->n; i++)
        if (same_bytes(id, m->v[i].id, strlen(m->v[i].id)))
            return &m->v[i];
    return NULL;
}

/* A new task with id, its rowid after every other's; the rest is the
 * caller's to fill in. */
static struct mtask *model_insert(struct model *m, struct proto_str id)
{
    uint64_t seq = 0;
    for (size_t i = 0; i < m->n; i++)
        if (m->v[i].seq > seq)
            seq = m->v[i].seq;
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->v = realloc(m->v, m->cap * sizeof(*m->v));
        CHECK(m->v != NULL);
    }
    struct mtask *t = &m->v[m->n++];
    memset(t, 0, sizeof(*t));
    CHECK(id.len <= PROTO_MAX_ID);
    memcpy(t->id, id.ptr, id.len);
    t->seq = seq + 1;
    t->text = dup_bytes("", 0);
    return t;
}

static void model_remove(struct model *m, struct mtask *t)
{
    size_t i = (size_t)(t - m->v);
    free(t->text);
    memmove(&m->v[i], &m->v[i + 1], (m->n - i - 1) * sizeof(*m->v));
    m->n--;
}

static void set_text(struct mtask *t, struct proto_str text)
{
    free(t->text);
    t->text = dup_bytes(text.ptr, text.len);
    t->tlen = text.len;
}

/* A copy of t with its own text. */
static struct mtask snap(const struct mtask *t)
{
    struct mtask c = *t;
    c.text = dup_bytes(t->text, t->tlen);
    return c;
}

/* A change that succeeded, into the history: before and after may be NULL
 * (no task). The oldest entry goes beyond UNDO_DEPTH. */
static void hist_push(struct model *m, const char *kind, struct proto_str id,
                      const struct mtask *before, const struct mtask *after)
{
    if (m->nhist == UNDO_DEPTH) {
        entry_free(&m->hist[0]);
        memmove(&m->hist[0], &m->hist[1], (UNDO_DEPTH - 1) * sizeof(m->hist[0]));
        m->nhist--;
        memset(&m->hist[m->nhist], 0, sizeof(m->hist[0]));
    }
    struct mentry *e = &m->hist[m->nhist++];
    memset(e, 0, sizeof(*e));
    snprintf(e->kind, sizeof(e->kind), "%s", kind);
    CHECK(id.len <= PROTO_MAX_ID);
    memcpy(e->id, id.ptr, id.len);
    if (before != NULL) {
        e->has_before = 1;
        e->before = *before; /* the caller's copy, now the entry's */
    }
    if (after != NULL) {
        e->has_after = 1;
        e->after = snap(after);
    }
}

/* A set of tags, sorted by bytes: room for a task's and an EDIT's. */
struct tagset {
    size_t n;
    char t[2 * PROTO_MAX_TAGS][PROTO_MAX_TAG + 1];
};

static void tags_add(struct tagset *s, struct proto_str tag)
{
    char one[PROTO_MAX_TAG + 1];
    CHECK(tag.len > 0 && tag.len <= PROTO_MAX_TAG);
    memcpy(one, tag.ptr, tag.len);
    one[tag.len] = '\0';
    size_t i = 0;
    while (i < s->n && strcmp(s->t[i], one) < 0)
        i++;
    if (i < s->n && strcmp(s->t[i], one) == 0)
        return;
    CHECK(s->n < 2 * PROTO_MAX_TAGS);
    memmove(&s->t[i + 1], &s->t[i], (s->n - i) * sizeof(s->t[0]));
    memcpy(s->t[i], one, sizeof(one));
    s->n++;
}

static void tags_del(struct tagset *s, struct proto_str tag)
{
    for (size_t i = 0; i < s->n; i++) {
        if (same_bytes(tag, s->t[i], strlen(s->t[i]))) {
            memmove(&s->t[i], &s->t[i + 1], (s->n - i - 1) * sizeof(s->t[0]));
            s->n--;
            return;
        }
    }
}

static void tags_of(struct tagset *s, const struct mtask *t)
{
    s->n = t->ntags;
    memcpy(s->t, t->tags, t->ntags * sizeof(t->tags[0]));
}

static void tags_set(struct mtask *t, const struct tagset *s)
{
    CHECK(s->n <= PROTO_MAX_TAGS);
    t->ntags = s->n;
    memcpy(t->tags, s->t, s->n * sizeof(s->t[0]));
}

/* The number an id is if ADD could have made it (store-sqlite.c's rule:
 * decimal digits, no leading zero, below 10^18), else -1. */
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

/* ---- checking replies ---- */

static void check_time(const struct run *r, int64_t want, int64_t got)
{
    if (want == TIME_CLOCK)
        CHECK(got >= r->t0 && got <= (int64_t)time(NULL));
    else
        CHECK(got == want);
}

/* line is t's task line, field by field. Sets *created to the time the
 * line gives. */
static void check_task(const struct run *r, const struct mtask *t, const struct proto_task *p)
{
    char tags[PROTO_MAX_TAGS * (PROTO_MAX_TAG + 1) + 1];
    size_t n = 0;
    CHECK(same_bytes(p->id, t->id, strlen(t->id)));
    CHECK(same_bytes(p->text, t->text, t->tlen));
    CHECK(p->done == t->done);
    CHECK(p->pri == t->pri);
    CHECK(strcmp(p->due, t->due) == 0);
    for (size_t i = 0; i < t->ntags; i++)
        n += (size_t)snprintf(tags + n, sizeof(tags) - n, "%s%s", i ? "," : "", t->tags[i]);
    CHECK(same_bytes(p->tags, tags, n));
    check_time(r, t->created, p->created);
    check_time(r, t->updated, p->updated);
}

/* Decodes a task line; the strings point into line or scratch. */
static void decode_task(const char *line, char **scratch, struct proto_task *p)
{
    char why[128];
    size_t len = strlen(line);
    *scratch = exact_alloc(len);
    CHECK(proto_task_decode(line, len, *scratch, len, p, why, sizeof(why)) == PROTO_E_NONE);
}

static int matches(const struct mtask *t, const struct proto_request *req)
{
    if ((req->filter == PROTO_FILTER_PENDING && t->done) ||
        (req->filter == PROTO_FILTER_DONE && !t->done))
        return 0;
    for (size_t i = 0; i < req->ntags; i++) {
        int has = 0;
        for (size_t j = 0; j < t->ntags && !has; j++)
            has = same_bytes(req->tags[i], t->tags[j], strlen(t->tags[j]));
        if (!has)
            return 0;
    }
    if (req->has_text && req->text.len > 0 &&
        !proto_text_has_words(t->text, t->tlen, req->text.ptr, req->text.len))
        return 0;
    /* LIST's date and priority filters leave out tasks without a due date. */
    if (req->overdue && t->done)
        return 0;
    if (req->due_before[0] && (!t->due[0] || strcmp(t->due, req->due_before) >= 0))
        return 0;
    if (req->due_after[0] && (!t->due[0] || strcmp(t->due, req->due_after) <= 0))
        return 0;
    if (req->pri_match > 0 && t->pri != req->pri_match - 1)
        return 0;
    return 1;
}

/* What LIST's order looks at, of one line. */
struct lkey {
    char id[PROTO_MAX_ID + 1];
    char due[PROTO_DATE_LEN + 1];
    int pri;
    int64_t created, updated;
    uint64_t seq;
};

static int cmp_i64(int64_t a, int64_t b)
{
    return a < b ? -1 : a > b;
}

/* <0 when a comes before b in req's order (PROTOCOL.md): the sort fields,
 * then creation time, then rowid. */
static int cmp_order(const struct proto_request *req, const struct lkey *a, const struct lkey *b)
{
    for (size_t i = 0; i < req->nsort; i++) {
        int f = req->sort[i] < 0 ? -req->sort[i] : req->sort[i], c = 0;
        switch (f) {
        case PROTO_SORT_DUE:
            if (!a->due[0] || !b->due[0]) {
                /* Without a due date last, whichever way. */
                if (a->due[0] != b->due[0])
                    return a->due[0] ? -1 : 1;
                continue;
            }
            c = strcmp(a->due, b->due);
            break;
        case PROTO_SORT_PRI:
            c = -cmp_i64(a->pri, b->pri);
            break;
        case PROTO_SORT_CREATED:
            c = cmp_i64(a->created, b->created);
            break;
        case PROTO_SORT_UPDATED:
            c = cmp_i64(a->updated, b->updated);
            break;
        case PROTO_SORT_ID:
            c = cmp_i64((int64_t)strlen(a->id), (int64_t)strlen(b->id));
            if (c == 0)
                c = strcmp(a->id, b->id);
            break;
        default:
            break;
        }
        if (c != 0)
            return req->sort[i] < 0 ? -c : c;
    }
    int c = cmp_i64(a->created, b->created);
    return c != 0 ? c : a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* LIST: exactly the model's matching tasks, each as the model holds it,
 * by creation time and then rowid. */
static void check_list(const struct run *r, const struct model *m, const struct proto_request *req,
                       const struct harness_reply *rep)
{
    size_t want = 0;
    for (size_t i = 0; i < m->n; i++)
        want += (size_t)matches(&m->v[i], req);
    CHECK(rep->kind == HARNESS_DATA);
    CHECK(rep->nlines == want);
    struct lkey last, cur;
    memset(&last, 0, sizeof(last));
    for (size_t i = 0; i < rep->nlines; i++) {
        struct proto_task p;
        char *scratch;
        decode_task(rep->lines[i], &scratch, &p);
        const struct mtask *t = model_find(m, p.id);
        CHECK(t != NULL);
        CHECK(matches(t, req));
        check_task(r, t, &p);
        /* Strictly after the one before: no task twice, and in order. */
        memset(&cur, 0, sizeof(cur));
        memcpy(cur.id, t->id, strlen(t->id) + 1);
        memcpy(cur.due, p.due, sizeof(cur.due));
        cur.pri = p.pri;
        cur.created = p.created;
        cur.updated = p.updated;
        cur.seq = t->seq;
        CHECK(i == 0 || cmp_order(req, &last, &cur) < 0);
        last = cur;
        free(scratch);
    }
}

static void check_get(const struct run *r, const struct model *m, struct proto_str id,
                      const struct harness_reply *rep)
{
    const struct mtask *t = model_find(m, id);
    if (t == NULL) {
        CHECK(rep->kind == HARNESS_ERR && rep->err == PROTO_E_NOTFOUND);
        return;
    }
    CHECK(rep->kind == HARNESS_DATA && rep->nlines == 1);
    struct proto_task p;
    char *scratch;
    decode_task(rep->lines[0], &scratch, &p);
    check_task(r, t, &p);
    free(scratch);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* TAGS: every tag in use, by bytes, with how many tasks carry it. */
static void check_tags(const struct model *m, const struct harness_reply *rep)
{
    size_t n = 0, k = 0;
    for (size_t i = 0; i < m->n; i++)
        n += m->v[i].ntags;
    const char **all = malloc((n ? n : 1) * sizeof(*all));
    CHECK(all != NULL);
    for (size_t i = 0; i < m->n; i++)
        for (size_t j = 0; j < m->v[i].ntags; j++)
            all[k++] = m->v[i].tags[j];
    qsort(all, n, sizeof(*all), cmp_str);
    CHECK(rep->kind == HARNESS_DATA);
    size_t line = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && strcmp(all[j], all[i]) == 0)
            j++;
        char want[PROTO_MAX_TAG + 32];
        snprintf(want, sizeof(want), "%s %zu", all[i], j - i);
        CHECK(line < rep->nlines);
        CHECK(strcmp(rep->lines[line], want) == 0);
        line++;
        i = j;
    }
    CHECK(line == rep->nlines);
    free(all);
}

static void check_stats(const struct model *m, const struct harness_reply *rep)
{
    char want[64];
    int found = 0;
    snprintf(want, sizeof(want), "tasks %zu", m->n);
    CHECK(rep->kind == HARNESS_DATA);
    for (size_t i = 0; i < rep->nlines; i++)
        if (strncmp(rep->lines[i], "tasks ", 6) == 0)
            found = strcmp(rep->lines[i], want) == 0 ? 1 : -1;
    CHECK(found == 1);
}

static void check_ok_id(const struct harness_reply *rep, const char *outcome, struct proto_str id)
{
    char want[PROTO_MAX_ID + 32];
    snprintf(want, sizeof(want), "%s%s%.*s", outcome, outcome[0] ? " " : "", (int)id.len, id.ptr);
    CHECK(rep->kind == HARNESS_OK);
    CHECK(strcmp(rep->text, want) == 0);
    CHECK(rep->wrote);
}

static void check_err(const struct harness_reply *rep, enum proto_err e)
{
    CHECK(rep->kind == HARNESS_ERR);
    CHECK(rep->err == e);
    CHECK(!rep->wrote);
}

/* ---- the writes, applied to the pass's copy ---- */

static struct model *writes_view(struct run *r)
{
    if (!r->pending_valid) {
        model_copy(&r->pending, &r->committed);
        r->pending_valid = 1;
    }
    return &r->pending;
}

static void do_add(struct run *r, const struct proto_request *req, const struct harness_reply *rep)
{
    struct model *m = writes_view(r);
    char id[32];
    int64_t n = m->next_id;
    struct proto_str ids;
    /* ADD skips ids that exist (a POST/ or IMPORT made them). */
    for (;; n++) {
        snprintf(id, sizeof(id), "%lld", (long long)n);
        ids = (struct proto_str){id, strlen(id)};
        if (model_find(m, ids) == NULL)
            break;
    }
    m->next_id = n + 1;
    check_ok_id(rep, "", ids);
    struct mtask *t = model_insert(m, ids);
    set_text(t, req->text);
    t->pri = req->pri;
    if (req->due_op == 1)
        memcpy(t->due, req->due, sizeof(t->due));
    struct tagset s = {0};
    for (size_t i = 0; i < req->ntags; i++)
        tags_add(&s, req->tags[i]);
    tags_set(t, &s);
    t->created = t->updated = TIME_CLOCK;
    hist_push(m, "add", ids, NULL, t);
    note_change(r, req, "add", ids,
                F_TEXT | F_DONE | (req->pri != PROTO_PRI_NONE ? F_PRI : 0) |
                    (req->due_op == 1 ? F_DUE : 0) | (req->ntags > 0 ? F_TAGS : 0));
}

static void do_edit(struct run *r, const struct proto_request *req, const struct harness_reply *rep)
{
    struct model *m = writes_view(r);
    struct mtask *t = model_find(m, req->id);
    if (t == NULL) {
        check_err(rep, PROTO_E_NOTFOUND);
        return;
    }
    /* The store removes, then adds, then counts. */
    struct tagset s;
    tags_of(&s, t);
    for (size_t i = 0; i < req->nuntags; i++)
        tags_del(&s, req->untags[i]);
    for (size_t i = 0; i < req->ntags; i++)
        tags_add(&s, req->tags[i]);
    if (s.n > PROTO_MAX_TAGS) {
        check_err(rep, PROTO_E_ARGS);
        return;
    }
    check_ok_id(rep, "", req->id);
    struct mtask before = snap(t);
    tags_set(t, &s);
    if (req->has_text)
        set_text(t, req->text);
    if (req->pri != PROTO_PRI_KEEP)
        t->pri = req->pri;
    if (req->due_op == 1)
        memcpy(t->due, req->due, sizeof(t->due));
    else if (req->due_op == -1)
        t->due[0] = '\0';
    t->updated = TIME_CLOCK;
    hist_push(m, "edit", req->id, &before, t);
    note_change(r, req, "edit", req->id,
                (req->has_text ? F_TEXT : 0) | (req->pri != PROTO_PRI_KEEP ? F_PRI : 0) |
                    (req->due_op != 0 ? F_DUE : 0) |
                    (req->ntags > 0 || req->nuntags > 0 ? F_TAGS : 0));
}

static void do_done(struct run *r, const struct proto_request *req, const struct harness_reply *rep,
                    int done)
{
    struct model *m = writes_view(r);
    struct mtask *t = model_find(m, req->id);
    if (t == NULL) {
        check_err(rep, PROTO_E_NOTFOUND);
        return;
    }
    check_ok_id(rep, "", req->id);
    struct mtask before = snap(t);
    t->done = done;
    t->updated = TIME_CLOCK;
    hist_push(m, done ? "done" : "undone", req->id, &before, t);
    note_change(r, req, "edit", req->id, F_DONE);
}

static void do_del(struct run *r, const struct proto_request *req, const struct harness_reply *rep)
{
    struct model *m = writes_view(r);
    struct mtask *t = model_find(m, req->id);
    if (t == NULL) {
        check_err(rep, PROTO_E_NOTFOUND);
        return;
    }
    check_ok_id(rep, "", req->id);
    struct mtask before = snap(t);
    model_remove(m, t);
    hist_push(m, "del", req->id, &before, NULL);
    note_change(r, req, "delete", req->id, 0);
}

static void do_import(struct run *r, const struct proto_request *req,
                      const struct harness_reply *rep)
{
    struct model *m = writes_view(r);
    struct mtask *t = model_find(m, req->id);
    if (t != NULL && req->import_mode == PROTO_IMPORT_SKIP) {
        check_ok_id(rep, "skipped", req->id);
        return;
    }
    if (t != NULL && req->import_mode == PROTO_IMPORT_FAIL) {
        check_err(rep, PROTO_E_EXISTS);
        return;
    }
    check_ok_id(rep, t != NULL ? "replaced" : "imported", req->id);
    note_change(r, req, t != NULL ? "edit" : "add", req->id, F_ALL);
    struct mtask before;
    int existed = t != NULL;
    if (existed)
        before = snap(t);
    else
        t = model_insert(m, req->id);
    set_text(t, req->text);
    t->done = req->done != 0;
    t->pri = req->pri;
    if (req->due_op == 1)
        memcpy(t->due, req->due, sizeof(t->due));
    else
        t->due[0] = '\0';
    t->created = req->created == PROTO_TIME_NOW ? TIME_CLOCK : req->created;
    t->updated = req->updated == PROTO_TIME_NOW ? TIME_CLOCK : req->updated;
    struct tagset s = {0};
    for (size_t i = 0; i < req->ntags; i++)
        tags_add(&s, req->tags[i]);
    tags_set(t, &s);
    t->posted = 0;
    hist_push(m, "import", req->id, existed ? &before : NULL, t);
    int conn = r->conn;
    if (r->import_run[conn] == 0)
        r->import_run[conn] = ++r->runs;
    m->hist[m->nhist - 1].run = r->import_run[conn];
    int64_t n = id_number(req->id);
    if (n > 0 && n >= m->next_id)
        m->next_id = n + 1;
}

static void do_post(struct run *r, const struct proto_request *req, const struct harness_reply *rep)
{
    struct model *m = writes_view(r);
    CHECK(rep->kind == HARNESS_BARE && strcmp(rep->text, "submit success") == 0);
    CHECK(rep->wrote);
    struct mtask *t = model_find(m, req->id);
    if (t == NULL) {
        t = model_insert(m, req->id);
        t->created = TIME_CLOCK;
    }
    set_text(t, req->text);
    t->updated = TIME_CLOCK;
    static uint64_t posts;
    t->posted = ++posts;
    note_change(r, req, "put", req->id, F_TEXT);
}

/* Whether a and b have the same fields, updated left out or not. */
static int same_task(const struct mtask *a, const struct mtask *b, int updated)
{
    return a->tlen == b->tlen && memcmp(a->text, b->text, a->tlen) == 0 && a->done == b->done &&
           a->pri == b->pri && strcmp(a->due, b->due) == 0 && a->ntags == b->ntags &&
           memcmp(a->tags, b->tags, sizeof(a->tags[0]) * a->ntags) == 0 &&
           a->created == b->created && (!updated || a->updated == b->updated);
}

/* Whether e, the newest entry, can be undone now: 1 undone, 0 refused, -1
 * either. After a POST/ since, the task's updated time is the clock's,
 * which the model does not know: then the server's answer decides, if the
 * rest agrees. */
static int undo_verdict(const struct model *m, const struct mentry *e)
{
    struct mtask *t = model_find(m, (struct proto_str){e->id, strlen(e->id)});
    if (!e->has_after)
        return t == NULL;
    if (t == NULL)
        return 0;
    if (t->posted == e->after.posted)
        return same_task(t, &e->after, 1);
    return same_task(t, &e->after, 0) ? -1 : 0;
}

/* Puts the newest entry's task back and drops the entry. */
static void undo_entry(struct run *r, const struct proto_request *req, struct model *m)
{
    struct mentry *e = &m->hist[m->nhist - 1];
    struct proto_str id = {e->id, strlen(e->id)};
    struct mtask *t = model_find(m, id);
    if (!e->has_before) {
        model_remove(m, t);
        note_change(r, req, "delete", id, 0);
    } else {
        if (t == NULL) {
            t = model_insert(m, id);
            note_change(r, req, "add", id, F_ALL);
        } else {
            note_change(r, req, "edit", id, F_ALL);
        }
        uint64_t seq = t->seq;
        free(t->text);
        *t = snap(&e->before);
        t->seq = seq;
    }
    entry_free(e);
    m->nhist--;
}

/* UNDO: the newest entry is undone when the task is as it left it, and
 * with an IMPORT's entry the rest of its run, all or none. */
static void do_undo(struct run *r, const struct proto_request *req, const struct harness_reply *rep)
{
    struct model *m = writes_view(r);
    if (m->nhist == 0) {
        check_err(rep, PROTO_E_NOTFOUND);
        return;
    }
    struct model save = {0};
    model_copy(&save, m);
    size_t logged = r->changes.len;
    int64_t run = m->hist[m->nhist - 1].run;
    int refused = 0, maybe = 0, n = 0;
    char kind[8] = "", id[PROTO_MAX_ID + 1] = "";
    do {
        const struct mentry *e = &m->hist[m->nhist - 1];
        int v = undo_verdict(m, e);
        if (v == 0) {
            refused = 1;
            break;
        }
        maybe |= v < 0;
        snprintf(kind, sizeof(kind), "%s", e->kind);
        snprintf(id, sizeof(id), "%s", e->id);
        undo_entry(r, req, m);
        n++;
    } while (run != 0 && m->nhist > 0 && m->hist[m->nhist - 1].run == run);
    if (rep->kind == HARNESS_ERR) {
        CHECK(refused || maybe);
        check_err(rep, PROTO_E_CONFLICT);
        model_copy(m, &save);
        r->changes.len = logged;
    } else {
        CHECK(!refused);
        char said[PROTO_MAX_ID + 32], count[16];
        if (n > 1) {
            snprintf(said, sizeof(said), "undid %s %s", kind, id);
            snprintf(count, sizeof(count), "%d", n);
            check_ok_id(rep, said, (struct proto_str){count, strlen(count)});
        } else {
            snprintf(said, sizeof(said), "undid %s", kind);
            check_ok_id(rep, said, (struct proto_str){id, strlen(id)});
        }
    }
    model_free(&save);
}

/* ---- one line ---- */

static int reads_store(enum proto_cmd c)
{
    return c == PROTO_CMD_GET || c == PROTO_CMD_LIST || c == PROTO_CMD_TAGS ||
           c == PROTO_CMD_STATS || c == PROTO_CMD_LEGACY_GET;
}

static void run_line(struct run *r, int conn, const char *line, size_t len, char *scratch)
{
    if (r->closed[conn]) {
        harness_conn_reset(r->h, conn, conn != 2);
        r->closed[conn] = 0;
        r->authed[conn] = conn != 2;
        r->fails[conn] = 0;
        r->batched[conn] = 0;
        r->import_run[conn] = 0;
    }
    r->conn = conn;
    const struct harness_reply *rep = harness_run_n(r->h, conn, line, len);
    CHECK(rep->kind != HARNESS_CLOSED);
    /* The server's framing drops a CR before the LF. */
    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (rep->kind == HARNESS_ERR && rep->err == PROTO_E_TOOLONG) {
        CHECK(len > MAX_LINE && !rep->quit);
        r->import_run[conn] = 0;
        return;
    }
    CHECK(len <= MAX_LINE);

    struct proto_request req;
    char why[256];
    enum proto_err e =
        proto_request_parse(line, len, scratch, MAX_LINE + 1, &req, why, sizeof(why));
    if (e != PROTO_E_NONE) {
        check_err(rep, e);
        CHECK(!rep->in_batch && !rep->quit);
        r->import_run[conn] = 0;
        return;
    }
    if (req.cmd == PROTO_CMD_NONE) {
        CHECK(rep->kind == HARNESS_NONE && !rep->quit);
        return;
    }
    /* Any request but an IMPORT ends the connection's run of them. */
    if (req.cmd != PROTO_CMD_IMPORT)
        r->import_run[conn] = 0;
    const struct proto_cmd_info *info = proto_cmd_info(req.cmd);
    if (!r->authed[conn] && !(info->flags & PROTO_CMDF_NOAUTH)) {
        check_err(rep, PROTO_E_AUTH);
        CHECK(strcmp(rep->text, "authentication required; send AUTH <password>") == 0);
        CHECK(!rep->in_batch && !rep->quit);
        return;
    }
    int write = (info->flags & PROTO_CMDF_WRITE) != 0;
    if (write)
        r->batched[conn] = 1;
    CHECK(rep->in_batch == (write || (r->batched[conn] && reads_store(req.cmd))));
    CHECK(write || !rep->wrote);
    /* What this connection reads: its own writes when it made some in
     * this pass, else what is committed. */
    const struct model *view =
        r->batched[conn] ? writes_view(r) : (const struct model *)&r->committed;

    switch (req.cmd) {
    case PROTO_CMD_PING:
        CHECK(rep->kind == HARNESS_OK && strcmp(rep->text, "PONG") == 0);
        break;
    case PROTO_CMD_HELLO:
        CHECK(rep->kind == HARNESS_OK && strncmp(rep->text, "todo 4 todo-server/", 19) == 0);
        break;
    case PROTO_CMD_HELP:
        if (req.has_text && proto_cmd_lookup(req.text.ptr, req.text.len) == PROTO_CMD_NONE)
            check_err(rep, PROTO_E_UNKNOWN);
        else
            CHECK(rep->kind == HARNESS_DATA && rep->nlines >= (req.has_text ? 1u : 10u));
        break;
    case PROTO_CMD_AUTH:
        /* The harness's server has no accounts: AUTH USER PASSWORD is a
         * wrong password whatever the password. */
        if (req.user.len == 0 && same_bytes(req.text, PASSWORD, strlen(PASSWORD))) {
            CHECK(rep->kind == HARNESS_OK && rep->text[0] == '\0');
            r->authed[conn] = 1;
        } else {
            check_err(rep, PROTO_E_AUTH);
            r->authed[conn] = 0;
            r->fails[conn]++;
            CHECK(rep->quit == (r->fails[conn] >= 5));
            r->closed[conn] = rep->quit;
        }
        CHECK(harness_conn_authed(r->h, conn) == r->authed[conn]);
        break;
    case PROTO_CMD_QUIT:
        CHECK(rep->kind == HARNESS_OK && strcmp(rep->text, "bye") == 0 && rep->quit);
        r->closed[conn] = 1;
        break;
    case PROTO_CMD_ADD:
        do_add(r, &req, rep);
        break;
    case PROTO_CMD_GET:
        check_get(r, view, req.id, rep);
        break;
    case PROTO_CMD_EDIT:
        do_edit(r, &req, rep);
        break;
    case PROTO_CMD_DONE:
        do_done(r, &req, rep, 1);
        break;
    case PROTO_CMD_UNDONE:
        do_done(r, &req, rep, 0);
        break;
    case PROTO_CMD_DEL:
        do_del(r, &req, rep);
        break;
    case PROTO_CMD_IMPORT:
        do_import(r, &req, rep);
        break;
    case PROTO_CMD_LIST:
        check_list(r, view, &req, rep);
        break;
    case PROTO_CMD_TAGS:
        check_tags(view, rep);
        break;
    case PROTO_CMD_STATS:
        check_stats(view, rep);
        break;
    case PROTO_CMD_LEGACY_GET: {
        const struct mtask *t = model_find(view, req.id);
        struct proto_buf want;
        proto_buf_init(&want, 0);
        if (t != NULL)
            CHECK(proto_reply_bare(&want, t->text, t->tlen) == 0);
        else
            CHECK(proto_reply_bare(&want, "no key match", 12) == 0);
        CHECK(rep->kind == HARNESS_BARE);
        CHECK(rep->raw_len == want.len && memcmp(rep->raw, want.data, want.len) == 0);
        proto_buf_free(&want);
        break;
    }
    case PROTO_CMD_LEGACY_POST:
        do_post(r, &req, rep);
        break;
    case PROTO_CMD_UNDO:
        do_undo(r, &req, rep);
        break;
    case PROTO_CMD_WATCH:
    case PROTO_CMD_UNWATCH:
        /* The harness has no connections to send events on: the command
         * layer refuses both (the server's are tested in test_watch.c). */
        check_err(rep, PROTO_E_INTERNAL);
        break;
    case PROTO_CMD_SHARE:
    case PROTO_CMD_UNSHARE:
    case PROTO_CMD_SHARES:
        /* Lists are shared between users, and the harness's server has
         * none (test_accounts.c has them): refused, nothing changed. */
        check_err(rep, PROTO_E_AUTH);
        break;
    case PROTO_CMD_USER:
        /* Only an admin manages users, and the harness's server has no
         * users at all: refused, nothing changed. */
        check_err(rep, PROTO_E_AUTH);
        break;
    case PROTO_CMD_USE:
        /* Only the default list is there to use. */
        if (req.has_text)
            check_err(rep, PROTO_E_AUTH);
        else
            CHECK(rep->kind == HARNESS_OK && strcmp(rep->text, "-") == 0);
        break;
    default:
        CHECK(!"a command the model does not know");
    }
    CHECK(rep->quit == r->closed[conn]);
}

static void end_pass(struct run *r, enum harness_end how)
{
    int committed = harness_pass_end(r->h, how);
    /* A commit made to fail fails only if it has pages to write: one whose
     * writes changed nothing (IMPORT skip) succeeds; the replies tell. */
    if (how == HARNESS_COMMIT || !r->pending_valid)
        CHECK(committed == 1);
    else if (how == HARNESS_ROLLBACK)
        CHECK(committed == 0);
    /* The change log: every write that succeeded, in order, once committed. */
    const char *got = harness_changes(r->h);
    if (committed)
        CHECK(strlen(got) == r->changes.len &&
              (r->changes.len == 0 || memcmp(got, r->changes.data, r->changes.len) == 0));
    else
        CHECK(got[0] == '\0');
    r->changes.len = 0;
    if (committed && r->pending_valid) {
        model_free(&r->committed);
        r->committed = r->pending;
        memset(&r->pending, 0, sizeof(r->pending));
    }
    model_free(&r->pending);
    r->pending_valid = 0;
    memset(r->batched, 0, sizeof(r->batched));
}

/* After the input: the store holds exactly the model. */
static void final_check(struct run *r)
{
    char req[PROTO_MAX_ID + 8];
    const struct harness_reply *rep;
    harness_conn_reset(r->h, 0, 1);
    for (size_t i = 0; i < r->committed.n; i++) {
        const struct mtask *t = &r->committed.v[i];
        snprintf(req, sizeof(req), "GET %s", t->id);
        rep = harness_run(r->h, 0, req);
        check_get(r, &r->committed, (struct proto_str){t->id, strlen(t->id)}, rep);
    }
    struct proto_request all;
    memset(&all, 0, sizeof(all));
    all.cmd = PROTO_CMD_LIST;
    all.filter = PROTO_FILTER_ALL;
    check_list(r, &r->committed, &all, harness_run(r->h, 0, "LIST all"));
    check_tags(&r->committed, harness_run(r->h, 0, "TAGS"));
}

static const char *store_dir(void)
{
    /* A RAM file system when there is one: a store per input. */
    struct stat st;
    if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode))
        return "/dev/shm";
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    const char *nl = memchr(p, '\n', size);
    if (nl == NULL)
        return 0;
    const unsigned char *ctrl = (const unsigned char *)p;
    size_t nctrl = (size_t)(nl - p);
    p = nl + 1;

    struct run r;
    memset(&r, 0, sizeof(r));
    r.committed.next_id = r.pending.next_id = 1;
    r.t0 = (int64_t)time(NULL);
    struct harness_options o = {.password = PASSWORD,
                                .nconns = NCONNS,
                                .dir = store_dir(),
                                .max_line = MAX_LINE,
                                .quiet = 1};
    CHECK(harness_open(&r.h, &o) == 0);
    for (int c = 0; c < NCONNS; c++) {
        harness_conn_reset(r.h, c, c != 2);
        r.authed[c] = c != 2;
    }
    char *scratch = exact_alloc(MAX_LINE + 1);
    proto_buf_init(&r.changes, 0);

    int in_pass = 0;
    for (size_t i = 0; p < end && i < MAX_LINES; i++) {
        nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
        unsigned c = nctrl > 0 ? ctrl[i % nctrl] : 0;
        if (!in_pass) {
            harness_pass_begin(r.h);
            in_pass = 1;
        }
        /* An exact copy, so that reading past the line is caught. */
        char *line = exact_copy(p, len);
        run_line(&r, (int)(c % NCONNS), line, len, scratch);
        free(line);
        if ((c / 3) % 2) {
            static const enum harness_end how[] = {HARNESS_COMMIT, HARNESS_COMMIT, HARNESS_ROLLBACK,
                                                   HARNESS_FAIL_COMMIT};
            end_pass(&r, how[(c / 6) % 4]);
            in_pass = 0;
        }
        p += len + (nl != NULL);
    }
    if (in_pass)
        end_pass(&r, HARNESS_COMMIT);
    final_check(&r);

    free(scratch);
    proto_buf_free(&r.changes);
    harness_close(r.h);
    model_free(&r.committed);
    model_free(&r.pending);
    return 0;
}
