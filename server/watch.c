/*
 * watch.c - the ring of committed changes that WATCH sends (watch.h).
 */
#include "watch.h"

#include <inttypes.h>
#include <pthread.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "change.h"
#include "log.h"
#include "store.h"

enum entry_state {
    ENTRY_PENDING = 0, /* its batch has not ended yet */
    ENTRY_COMMITTED,   /* sent to watchers whose filters it passes */
    ENTRY_VOID,        /* its batch rolled back: sent to nobody */
    ENTRY_GAP,         /* changes committed while nobody watched, and not kept */
};

enum entry_kind { KIND_ADD = 0, KIND_EDIT, KIND_DONE, KIND_UNDONE, KIND_DEL };
/* The change log's kinds are the ring's (watch_ring_follow). */
_Static_assert((int)KIND_ADD == (int)STORE_LOGGED_ADD && (int)KIND_EDIT == (int)STORE_LOGGED_EDIT &&
                   (int)KIND_DONE == (int)STORE_LOGGED_DONE &&
                   (int)KIND_UNDONE == (int)STORE_LOGGED_UNDONE &&
                   (int)KIND_DEL == (int)STORE_LOGGED_DEL,
               "the log's kinds are the ring's");

/* "EVENT " + 20 digits + " ". */
#define HEAD_ROOM 32

static char *text_alloc(size_t n)
{
    char *p = malloc(HEAD_ROOM + n);
    /* Freed as the text less HEAD_ROOM (text_free). */
    // cppcheck-suppress memleak
    return p != NULL ? p + HEAD_ROOM : NULL;
}

static void text_free(char *text)
{
    if (text != NULL)
        free(text - HEAD_ROOM);
}

struct entry {
    unsigned char state; /* enum entry_state */
    unsigned char kind;  /* enum entry_kind */
    unsigned char done;  /* the task's status after the change */
    unsigned char fields;
    unsigned char hn;       /* bytes of "EVENT SEQ ", written right before text once numbered */
    uint32_t len;           /* bytes of the line after "EVENT SEQ " (with CRLF) */
    uint32_t tags_len;      /* the task's tags, comma-separated, right after it */
    unsigned char list_len; /* the task's list, right after its tags */
    /* The line's text, HEAD_ROOM bytes into a malloc'd block whose room
     * before it takes "EVENT SEQ ", so that a delivery is one copy; NULL
     * for a gap. */
    char *text;
};

struct watch_ring {
    /* Guards everything below but the atomics. */
    pthread_rwlock_t lock;
    struct entry *v;
    size_t cap;       /* entries at most (--watch-ring) */
    size_t head, n;   /* the oldest entry's index, and how many there are */
    size_t bytes;     /* text held */
    size_t max_bytes; /* text at most */
    /* The entries hold the numbers last_seq - n + 1 .. last_seq; numbers up
     * to settled are all committed, void or gaps; the newest gap's number
     * (a since: below it cannot be replayed). */
    uint64_t last_seq, settled, last_gap;
    /* settled, for watch_due's look without the lock (release/acquire). */
    _Atomic uint64_t settled_pub;
    atomic_int watchers;
    /* A batch committed changes that were not recorded (nobody watched);
     * written and read in the write turn only, so relaxed. */
    atomic_int missed;
    void (*on_visible)(void *arg);
    void *on_visible_arg;
    /* Fed by the engine's change log (watch_ring_follow): the entries are
     * its rows, numbered by it, and the batches publish nothing. Set
     * before any batch runs. */
    int fed;
    struct store_engine *engine;
    uint64_t base; /* the first number of a ring not fed */
    /* A WATCH waits on fed_cond, under fed_lock, for the feed to reach
     * this server's own last change (watch_start). */
    pthread_mutex_t fed_lock;
    pthread_cond_t fed_cond;
    struct proto_buf scratch; /* the feed's, for encoding a task */
};

struct watch_ring *watch_ring_new(size_t max_events, size_t max_bytes, int64_t start_ms)
{
    struct watch_ring *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    if (max_events < 1)
        max_events = 1;
    r->v = calloc(max_events, sizeof(*r->v));
    if (r->v == NULL || pthread_rwlock_init(&r->lock, NULL) != 0) {
        free(r->v);
        free(r);
        return NULL;
    }
    /* The wait of a WATCH is timed on the monotonic clock. */
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&r->fed_lock, NULL);
    pthread_cond_init(&r->fed_cond, &ca);
    pthread_condattr_destroy(&ca);
    proto_buf_init(&r->scratch, 0);
    r->cap = max_events;
    r->max_bytes = max_bytes;
    uint64_t base = (uint64_t)(start_ms > 0 ? start_ms : 0) << 20;
    r->base = base;
    r->last_seq = r->settled = r->last_gap = base;
    atomic_init(&r->settled_pub, base);
    atomic_init(&r->watchers, 0);
    atomic_init(&r->missed, 0);
    return r;
}

void watch_ring_free(struct watch_ring *r)
{
    if (r == NULL)
        return;
    watch_ring_unfollow(r);
    for (size_t i = 0; i < r->n; i++)
        text_free(r->v[(r->head + i) % r->cap].text);
    pthread_rwlock_destroy(&r->lock);
    pthread_cond_destroy(&r->fed_cond);
    pthread_mutex_destroy(&r->fed_lock);
    proto_buf_free(&r->scratch);
    free(r->v);
    free(r);
}

void watch_ring_on_visible(struct watch_ring *r, void (*fn)(void *arg), void *arg)
{
    r->on_visible = fn;
    r->on_visible_arg = arg;
}

int watch_active(const struct watch_ring *r)
{
    return r != NULL && !r->fed && atomic_load_explicit(&r->watchers, memory_order_relaxed) > 0;
}

unsigned long long watch_watchers(const struct watch_ring *r)
{
    int n = r != NULL ? atomic_load_explicit(&r->watchers, memory_order_relaxed) : 0;
    return n > 0 ? (unsigned long long)n : 0;
}

/* The oldest number held (last_seq + 1 when the ring is empty); lock held. */
static uint64_t first_seq(const struct watch_ring *r)
{
    return r->last_seq - r->n + 1;
}

static struct entry *entry_at(struct watch_ring *r, uint64_t seq)
{
    return &r->v[(r->head + (size_t)(seq - first_seq(r))) % r->cap];
}

/* Drops the oldest entry; write lock held. */
static void drop_oldest(struct watch_ring *r)
{
    struct entry *e = &r->v[r->head];
    r->bytes -= e->text != NULL ? (size_t)e->len + e->tags_len + e->list_len : 0;
    text_free(e->text);
    memset(e, 0, sizeof(*e));
    r->head = (r->head + 1) % r->cap;
    r->n--;
}

/* Appends e as the next number, making room; write lock held. */
static uint64_t push(struct watch_ring *r, const struct entry *e)
{
    size_t size = e->text != NULL ? (size_t)e->len + e->tags_len + e->list_len : 0;
    while (r->n > 0 && (r->n == r->cap || r->bytes + size > r->max_bytes))
        drop_oldest(r);
    struct entry *slot = &r->v[(r->head + r->n) % r->cap];
    *slot = *e;
    r->n++;
    r->bytes += size;
    uint64_t seq = ++r->last_seq;
    if (slot->text != NULL) {
        char head[HEAD_ROOM];
        int hn = snprintf(head, sizeof(head), "EVENT %" PRIu64 " ", seq);
        slot->hn = (unsigned char)hn;
        memcpy(slot->text - hn, head, (size_t)hn);
    }
    return seq;
}

/* The note that changes went unrecorded becomes a gap entry, so that a
 * since: before it is refused. Write turn and write lock held. */
static void close_gap(struct watch_ring *r)
{
    if (!atomic_load_explicit(&r->missed, memory_order_relaxed))
        return;
    struct entry gap = {.state = ENTRY_GAP};
    r->last_gap = push(r, &gap);
    atomic_store_explicit(&r->missed, 0, memory_order_relaxed);
    /* Nothing before it waits for a COMMIT: nobody recorded anything. */
    if (r->settled == r->last_gap - 1)
        r->settled = r->last_gap;
}

/* Fed: waits, ms at most, until the feed has handed the ring the log's
 * rows up to number target. 0, or -1 when it has not in that time. */
static int fed_catch_up(struct watch_ring *r, uint64_t target, long ms)
{
    struct timespec until;
    if (clock_gettime(CLOCK_MONOTONIC, &until) != 0)
        return -1;
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    int rc = 0;
    pthread_mutex_lock(&r->fed_lock);
    while (rc == 0 && atomic_load_explicit(&r->settled_pub, memory_order_acquire) < target)
        if (pthread_cond_timedwait(&r->fed_cond, &r->fed_lock, &until) != 0)
            rc = -1;
    pthread_mutex_unlock(&r->fed_lock);
    return rc;
}

enum proto_err watch_start(struct watch_ring *r, struct watcher *w, const struct proto_request *req,
                           struct proto_str list, uint64_t *seq, char *err, size_t errcap)
{
    /* Fed, a WATCH's number must be past every write this server has
     * acknowledged, as without a log: the feed is waited for (a second at
     * most) up to this server's own last change. A since: ahead of the
     * ring may be a number of another server whose change the feed has
     * yet to read: it is given a moment to come (a number never given
     * costs that moment, then EXPIRED). */
    if (r->fed && fed_catch_up(r, store_engine_log_mine(r->engine), 1000) != 0)
        log_warn("WATCH: the change log's follower is behind; events may come late");
    if (r->fed && req->has_since)
        (void)fed_catch_up(r, req->since, 250);
    pthread_rwlock_wrlock(&r->lock);
    close_gap(r);
    uint64_t last = r->last_seq;
    if (req->has_since) {
        /* Every change after since must still be here: none dropped
         * (first_seq - 1 is the newest number gone), no gap after it. */
        uint64_t oldest = first_seq(r) - 1;
        uint64_t need = oldest > r->last_gap ? oldest : r->last_gap;
        if (req->since < need || req->since > last) {
            pthread_rwlock_unlock(&r->lock);
            snprintf(err, errcap,
                     "changes after %" PRIu64 " are no longer kept; reload and WATCH again",
                     req->since);
            return PROTO_E_EXPIRED;
        }
    }
    atomic_store_explicit(&r->settled_pub, r->settled, memory_order_release);
    pthread_rwlock_unlock(&r->lock);

    if (!w->active)
        atomic_fetch_add_explicit(&r->watchers, 1, memory_order_relaxed);
    w->active = 1;
    w->cursor = req->has_since ? req->since : last;
    w->filter = (int)req->filter;
    w->list_len = (unsigned char)(list.len < PROTO_MAX_USER ? list.len : PROTO_MAX_USER);
    memcpy(w->list, list.ptr, w->list_len);
    w->ntags = req->ntags;
    for (size_t i = 0; i < req->ntags; i++) {
        /* Tags were checked by the parser: at most PROTO_MAX_TAG bytes. */
        w->tag_len[i] = (unsigned char)req->tags[i].len;
        memcpy(w->tags[i], req->tags[i].ptr, req->tags[i].len);
    }
    *seq = last;
    return PROTO_E_NONE;
}

void watch_stop(struct watch_ring *r, struct watcher *w)
{
    if (w == NULL || !w->active)
        return;
    w->active = 0;
    atomic_fetch_sub_explicit(&r->watchers, 1, memory_order_relaxed);
}

int watch_due(const struct watch_ring *r, const struct watcher *w)
{
    return w->active && atomic_load_explicit(&r->settled_pub, memory_order_acquire) > w->cursor;
}

/* Whether tags (comma-separated) has tag among them. */
static int has_tag(const char *tags, size_t n, const char *tag, size_t len)
{
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && tags[j] != ',')
            j++;
        if (j - i == len && memcmp(tags + i, tag, len) == 0)
            return 1;
        i = j + 1;
    }
    return 0;
}

/* Whether w is sent e: a del always (a client drops an id it does not
 * show); otherwise when the task matches w's filters, as LIST would judge
 * it, or when the change touched a field w filters on, since the task may
 * have just left w's view. A new task cannot have left it. */
static int passes(const struct watcher *w, const struct entry *e)
{
    /* Another list's changes are not w's to see, whatever its filters. */
    if (e->list_len != w->list_len ||
        memcmp(e->text + e->len + e->tags_len, w->list, w->list_len) != 0)
        return 0;
    if (e->kind == KIND_DEL)
        return 1;
    int match = w->filter == PROTO_FILTER_ALL || (w->filter == PROTO_FILTER_DONE) == (e->done != 0);
    const char *tags = e->text + e->len;
    for (size_t i = 0; match && i < w->ntags; i++)
        match = has_tag(tags, e->tags_len, w->tags[i], w->tag_len[i]);
    if (match)
        return 1;
    if (e->kind == KIND_ADD)
        return 0;
    return (w->filter != PROTO_FILTER_ALL && (e->fields & CHANGE_F_DONE)) ||
           (w->ntags > 0 && (e->fields & CHANGE_F_TAGS));
}

static enum watch_rc overflow(struct watch_ring *r, struct watcher *w, struct proto_buf *out)
{
    static const char line[] = "EVENT overflow\r\n";
    /* Past the cap there is nothing more to do: the connection is
     * dropped by the cap on its output anyway. */
    (void)proto_buf_append(out, line, sizeof(line) - 1);
    watch_stop(r, w);
    return WATCH_ENDED;
}

void watch_revoke(struct watch_ring *r, struct watcher *w, struct proto_buf *out)
{
    if (w->active)
        (void)overflow(r, w, out);
}

enum watch_rc watch_deliver(struct watch_ring *r, struct watcher *w, struct proto_buf *out,
                            size_t unsent, size_t limit, unsigned long long *sent)
{
    enum watch_rc rc = WATCH_DONE;
    size_t added = 0;
    if (!w->active)
        return WATCH_DONE;
    pthread_rwlock_rdlock(&r->lock);
    if (r->settled <= w->cursor)
        goto out;
    if (w->cursor + 1 < first_seq(r) || unsent >= limit) {
        rc = overflow(r, w, out);
        goto out;
    }
    for (uint64_t s = w->cursor + 1; s <= r->settled; s++) {
        struct entry *e = entry_at(r, s);
        if (e->state == ENTRY_GAP) {
            rc = overflow(r, w, out);
            goto out;
        }
        if (e->state != ENTRY_COMMITTED || !passes(w, e)) {
            w->cursor = s;
            continue;
        }
        size_t need = (size_t)e->hn + e->len;
        /* The first event goes whatever its size, so that a watcher
         * always moves on. */
        if (added > 0 && unsent + added + need > limit) {
            rc = WATCH_MORE;
            goto out;
        }
        size_t old = out->len;
        if (proto_buf_append(out, e->text - e->hn, need) != 0) {
            out->len = old;
            rc = overflow(r, w, out);
            goto out;
        }
        added += need;
        (*sent)++;
        w->cursor = s;
    }
out:
    pthread_rwlock_unlock(&r->lock);
    return rc;
}

/* ---- publishing, in the committing worker ---- */

void watch_pub_init(struct watch_pub *p, struct watch_ring *r)
{
    p->ring = r;
    p->first = 1;
    p->last = 0;
}

static const char *const kind_words[] = {[KIND_ADD] = "add ",
                                         [KIND_EDIT] = "edit ",
                                         [KIND_DONE] = "done ",
                                         [KIND_UNDONE] = "undone ",
                                         [KIND_DEL] = "del "};

static enum entry_kind kind_of(const struct change *c)
{
    switch (c->kind) {
    case CHANGE_ADD:
        return KIND_ADD;
    case CHANGE_DELETE:
        return KIND_DEL;
    case CHANGE_PUT:
        return c->existed == 0 ? KIND_ADD : KIND_EDIT;
    case CHANGE_EDIT:
    default:
        break;
    }
    if (c->cmd == PROTO_CMD_DONE)
        return KIND_DONE;
    if (c->cmd == PROTO_CMD_UNDONE)
        return KIND_UNDONE;
    return KIND_EDIT;
}

/* A record kept no task (it was made before anyone watched, in this same
 * batch, or memory ran out): the task as the batch leaves it will do. */
struct late_task {
    struct change_log *log;
    size_t i;
    int found;
};

static int late_task(void *arg, const struct proto_task *t)
{
    struct late_task *lt = arg;
    lt->found = change_log_set_task(lt->log, lt->i, t) == 0;
    return 0;
}

/* One record's entry, its text malloc'd; 0, 1 when it needs none, or -1
 * (no entry: the record is lost, and its watchers must be told). */
static int make_entry(struct change_log *l, size_t i, struct store *writer, struct entry *e)
{
    struct change *c = &l->v[i];
    enum entry_kind kind = kind_of(c);
    const char *word = kind_words[kind];
    size_t wl = strlen(word);
    memset(e, 0, sizeof(*e));
    e->state = ENTRY_PENDING;
    e->kind = (unsigned char)kind;
    e->fields = (unsigned char)c->fields;
    size_t ll = strlen(c->list);
    e->list_len = (unsigned char)ll;
    if (kind == KIND_DEL) {
        size_t idl = strlen(c->id);
        e->text = text_alloc(wl + idl + 2 + ll);
        if (e->text == NULL)
            return -1;
        memcpy(e->text, word, wl);
        memcpy(e->text + wl, c->id, idl);
        memcpy(e->text + wl + idl, "\r\n", 2);
        memcpy(e->text + wl + idl + 2, c->list, ll);
        e->len = (uint32_t)(wl + idl + 2);
        return 0;
    }
    if (!c->has_task) {
        struct late_task lt = {l, i, 0};
        struct proto_str id = {c->id, strlen(c->id)};
        store_scope(writer, (struct proto_str){c->list, ll});
        int rc = store_get(writer, id, late_task, &lt);
        /* Deleted again within the batch: its del comes later, and a
         * watcher drops an id it does not show, so this one is left out. */
        if (rc == STORE_NOTFOUND)
            return 1;
        if (rc != STORE_OK || !lt.found)
            return -1;
    }
    e->done = (unsigned char)c->done;
    e->text = text_alloc(wl + c->line_len + c->tags_len + ll);
    if (e->text == NULL)
        return -1;
    memcpy(e->text, word, wl);
    memcpy(e->text + wl, l->text.data + c->line_off, c->line_len);
    if (c->tags_len > 0)
        memcpy(e->text + wl + c->line_len, l->text.data + c->tags_off, c->tags_len);
    memcpy(e->text + wl + c->line_len + c->tags_len, c->list, ll);
    e->len = (uint32_t)(wl + c->line_len);
    e->tags_len = (uint32_t)c->tags_len;
    return 0;
}

/* In the write turn, before COMMIT. With nobody watching this is a load
 * of the watcher count (and, once after a watch, a store of the note). */
static void pub_prepare(void *arg, struct change_log *l, struct store *writer)
{
    struct watch_pub *p = arg;
    struct watch_ring *r = p->ring;
    p->first = 1;
    p->last = 0;
    if (l->n == 0 || r->fed)
        return;
    if (!watch_active(r)) {
        if (!atomic_load_explicit(&r->missed, memory_order_relaxed))
            atomic_store_explicit(&r->missed, 1, memory_order_relaxed);
        return;
    }
    /* The texts are made before the lock is taken, so that it is held for
     * the copies into the ring only. */
    struct entry *ev = malloc(l->n * sizeof(*ev));
    size_t ne = 0;
    int lost = l->lost || ev == NULL;
    for (size_t i = 0; ev != NULL && i < l->n; i++) {
        int rc = make_entry(l, i, writer, &ev[ne]);
        if (rc == 0)
            ne++;
        else if (rc < 0)
            lost = 1;
    }
    pthread_rwlock_wrlock(&r->lock);
    close_gap(r);
    for (size_t i = 0; i < ne; i++) {
        uint64_t s = push(r, &ev[i]);
        if (i == 0)
            p->first = s;
        p->last = s;
    }
    /* A change that could not be recorded must not pass unnoticed: a gap
     * after the batch's entries sends its watchers EVENT overflow. */
    if (lost) {
        struct entry gap = {.state = ENTRY_GAP};
        r->last_gap = push(r, &gap);
        if (p->last < p->first)
            p->first = r->last_gap;
        p->last = r->last_gap;
        log_error("out of memory recording changes for WATCH; watchers will reload");
    }
    pthread_rwlock_unlock(&r->lock);
    free(ev);
}

/* Once the batch has ended: its entries committed, or void. */
static void pub_settle(void *arg, int committed)
{
    struct watch_pub *p = arg;
    struct watch_ring *r = p->ring;
    if (p->first > p->last)
        return;
    pthread_rwlock_wrlock(&r->lock);
    uint64_t first = first_seq(r);
    for (uint64_t s = p->first < first ? first : p->first; s <= p->last; s++) {
        struct entry *e = entry_at(r, s);
        if (e->state == ENTRY_PENDING)
            e->state = committed ? ENTRY_COMMITTED : ENTRY_VOID;
    }
    uint64_t was = r->settled;
    if (r->settled + 1 < first)
        r->settled = first - 1; /* dropped unsent: their watchers overflow */
    while (r->settled < r->last_seq && entry_at(r, r->settled + 1)->state != ENTRY_PENDING)
        r->settled++;
    atomic_store_explicit(&r->settled_pub, r->settled, memory_order_release);
    int more = r->settled != was;
    pthread_rwlock_unlock(&r->lock);
    p->first = 1;
    p->last = 0;
    if (more && r->on_visible != NULL)
        r->on_visible(r->on_visible_arg);
}

const struct batch_publisher watch_publisher = {
    .prepare = pub_prepare,
    .settle = pub_settle,
};

/* ---- fed by the engine's change log ---- */

/* Drops every entry and goes on at number seq + 1, a gap: numbers up to
 * seq cannot be replayed. Write lock held. */
static void fed_jump(struct watch_ring *r, uint64_t seq)
{
    while (r->n > 0)
        drop_oldest(r);
    r->head = 0;
    r->last_seq = r->settled = r->last_gap = seq;
}

/* Row c's entry, its text malloc'd, committed (or void: a task its batch
 * deleted again, whose del comes later). 0, or -1 when out of memory. */
static int fed_entry(struct watch_ring *r, const struct store_logged *c, struct entry *e)
{
    memset(e, 0, sizeof(*e));
    e->state = ENTRY_COMMITTED;
    if (c->kind < KIND_ADD || c->kind > KIND_DEL) {
        e->state = ENTRY_VOID; /* a kind of a newer server: nothing to send */
        return 0;
    }
    e->kind = (unsigned char)c->kind;
    e->fields = (unsigned char)c->fields;
    const char *word = kind_words[c->kind];
    size_t wl = strlen(word);
    size_t ll = c->list.len < PROTO_MAX_USER ? c->list.len : PROTO_MAX_USER;
    e->list_len = (unsigned char)ll;
    if (c->kind == KIND_DEL) {
        e->text = text_alloc(wl + c->id.len + 2 + ll);
        if (e->text == NULL)
            return -1;
        memcpy(e->text, word, wl);
        memcpy(e->text + wl, c->id.ptr, c->id.len);
        memcpy(e->text + wl + c->id.len, "\r\n", 2);
        memcpy(e->text + wl + c->id.len + 2, c->list.ptr, ll);
        e->len = (uint32_t)(wl + c->id.len + 2);
        return 0;
    }
    if (c->task == NULL) {
        e->state = ENTRY_VOID;
        return 0;
    }
    r->scratch.len = 0;
    if (proto_task_encode(&r->scratch, c->task) != 0)
        return -1;
    size_t line = r->scratch.len, tags = c->task->tags.len;
    e->done = c->task->done != 0;
    e->text = text_alloc(wl + line + tags + ll);
    if (e->text == NULL)
        return -1;
    memcpy(e->text, word, wl);
    memcpy(e->text + wl, r->scratch.data, line);
    if (tags > 0)
        memcpy(e->text + wl + line, c->task->tags.ptr, tags);
    memcpy(e->text + wl + line + tags, c->list.ptr, ll);
    e->len = (uint32_t)(wl + line);
    e->tags_len = (uint32_t)tags;
    return 0;
}

/* store_follow_fn: the log's next rows, on the engine's thread (or, for
 * the backlog, on the one that called watch_ring_follow). Each becomes the
 * entry of its number, visible at once: a row in the log has committed. */
static void fed_rows(void *arg, const struct store_logged *v, size_t n, int lost)
{
    struct watch_ring *r = arg;
    (void)lost; /* a hole in the numbers says as much (fed_jump) */
    struct entry *ev = malloc(n * sizeof(*ev));
    for (size_t i = 0; ev != NULL && i < n; i++)
        if (fed_entry(r, &v[i], &ev[i]) != 0) {
            /* Its watchers must not miss it unawares: a gap. */
            log_error("out of memory recording changes for WATCH; watchers will reload");
            ev[i].state = ENTRY_GAP;
        }
    pthread_rwlock_wrlock(&r->lock);
    uint64_t was = r->settled;
    if (ev == NULL) {
        log_error("out of memory recording changes for WATCH; watchers will reload");
        fed_jump(r, v[n - 1].seq);
    }
    for (size_t i = 0; ev != NULL && i < n; i++) {
        if (v[i].seq <= r->last_seq) {
            text_free(ev[i].text); /* read twice (a reconnect) */
            continue;
        }
        if (v[i].seq > r->last_seq + 1)
            fed_jump(r, v[i].seq - 1);
        uint64_t s = push(r, &ev[i]);
        if (ev[i].state == ENTRY_GAP)
            r->last_gap = s;
    }
    r->settled = r->last_seq;
    atomic_store_explicit(&r->settled_pub, r->settled, memory_order_release);
    int more = r->settled != was;
    pthread_rwlock_unlock(&r->lock);
    free(ev);
    pthread_mutex_lock(&r->fed_lock);
    pthread_cond_broadcast(&r->fed_cond);
    pthread_mutex_unlock(&r->fed_lock);
    if (more && r->on_visible != NULL)
        r->on_visible(r->on_visible_arg);
}

int watch_ring_follow(struct watch_ring *r, struct store_engine *engine, char *err, size_t errcap)
{
    /* The log's numbers start at 1; until its first row comes, the ring
     * is at 0. */
    r->fed = 1;
    r->engine = engine;
    r->last_seq = r->settled = r->last_gap = 0;
    atomic_store(&r->settled_pub, 0);
    uint64_t start = 0;
    int rc = store_engine_follow(engine, fed_rows, r, r->cap, &start, err, errcap);
    /* No row yet: the ring starts at the log's newest. */
    if (rc == 1 && r->last_seq == 0)
        r->last_seq = r->settled = r->last_gap = start;
    atomic_store(&r->settled_pub, r->settled);
    if (rc != 1) {
        fed_jump(r, r->base);
        atomic_store(&r->settled_pub, r->base);
        r->fed = 0;
        r->engine = NULL;
    }
    return rc;
}

void watch_ring_unfollow(struct watch_ring *r)
{
    if (r != NULL && r->fed)
        store_engine_unfollow(r->engine); /* a second call does nothing */
}
