/*
 * watch.h - the server-wide ring of committed changes, which WATCH sends
 * as EVENT lines (docs/PROTOCOL.md, WATCH).
 *
 * Every write batch publishes what it changed here (batch.h's publisher):
 * in its write turn, just before COMMIT, each change gets the next
 * sequence number and an entry that holds its event line's text (the task
 * as it was right after that change, encoded by the handler that made it
 * while the batch still held the write turn) with the status and tags the
 * filters look at; once the batch has ended, its entries are marked
 * committed or void. Entries are numbered in the order of the write turns,
 * hence of the commits; a watcher is sent those up to the settled mark,
 * below which no entry still waits for its COMMIT, so that an event never
 * goes out before its COMMIT succeeded, nor out of order.
 *
 * Nothing is recorded while nobody watches (an atomic count, read once
 * per write): a batch that then commits changes only notes that the ring
 * missed some, and the next WATCH turns that note into a gap entry, which
 * a since: older than it is answered EXPIRED for. A WATCH runs in the
 * write turn (the front end opens its batch first), so no batch that
 * skipped recording can commit after the watch began.
 *
 * The ring is bounded by entries and by bytes; the oldest go first. One
 * rwlock guards it, held for an append or a settle (writers) and while a
 * watcher's due events are copied into its output (readers).
 *
 * This file does no I/O: the front end (worker.c) says how to wake the
 * workers whose connections watch (watch_ring_on_visible) and copies
 * events into each of its watching connections' output (watch_deliver).
 */
#ifndef TODO_SERVER_WATCH_H
#define TODO_SERVER_WATCH_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "todo/proto.h"

/* --watch-ring, and the ring's bound in bytes of event text. */
#define WATCH_RING_DEFAULT 65536
#define WATCH_RING_BYTES_DEFAULT (16u * 1024 * 1024)
/* --watch-buffer: unsent output past which a watcher's watch ends. */
#define WATCH_BUFFER_DEFAULT (1024u * 1024)

struct watch_ring;

/* A ring of at most max_events entries and max_bytes bytes of event text,
 * whose sequence numbers start after start_ms << 20 (start_ms in Unix
 * milliseconds): a number from an earlier run is below every number of
 * this one, even one restarted within the same second (seconds << 24, the
 * first choice, gave such a run the numbers of the last). NULL when out of
 * memory. */
struct watch_ring *watch_ring_new(size_t max_events, size_t max_bytes, int64_t start_ms);
void watch_ring_free(struct watch_ring *r); /* NULL is fine */

/* On an engine that keeps a change log (PostgreSQL, store.h's
 * store_engine_follow), feeds the ring from the log instead of from this
 * server's batches: its entries are the log's rows, of every server
 * sharing the database, numbered by the log, visible as the engine's
 * follower reads them (within milliseconds of their COMMIT); the newest
 * max_events rows already in the log are handed over first, so that a
 * since: given by another server is replayed. A WATCH then waits (a
 * second at most) for the feed to reach this server's own last change.
 * 1 when fed, 0 when the engine keeps no log (SQLite: the ring is this
 * server's, as before), -1 with a sentence in err. Call once, before any
 * batch runs, after watch_ring_on_visible; watch_ring_unfollow() before
 * freeing r or closing the engine. */
struct store_engine;
int watch_ring_follow(struct watch_ring *r, struct store_engine *engine, char *err, size_t errcap);
void watch_ring_unfollow(struct watch_ring *r); /* NULL, or a ring not fed: nothing */

/* fn(arg) is called, on the thread that settled a batch, each time more
 * events become visible to watchers. Set before any batch runs. */
void watch_ring_on_visible(struct watch_ring *r, void (*fn)(void *arg), void *arg);

/* Whether any connection watches (a relaxed load: for handlers, which keep
 * their change's task only then); 0 for a ring fed by the change log,
 * whose rows carry the task. NULL is fine (0). */
int watch_active(const struct watch_ring *r);
/* Connections watching now, for STATS. */
unsigned long long watch_watchers(const struct watch_ring *r);

/* One connection's watch, owned by the connection's owner. */
struct watcher {
    int active;
    uint64_t cursor; /* every event up to this number was looked at */
    int filter;      /* enum proto_filter */
    /* The list whose changes it is sent (store.h's store_scope): its
     * connection's when it sent WATCH. */
    unsigned char list_len;
    char list[PROTO_MAX_USER];
    size_t ntags;
    unsigned char tag_len[PROTO_MAX_TAGS];
    char tags[PROTO_MAX_TAGS][PROTO_MAX_TAG];
};

/* WATCH (req: its filter, tags and since) of a connection in list, in the
 * write turn: w is sent the changes of that list only. Starts w, or
 * replaces its filters if it is active, and sets *seq to the number of the
 * last change committed before now. With since, w's cursor is req->since,
 * so that the events after it come first; PROTO_E_EXPIRED (with the
 * sentence in err) when the ring no longer holds every change after it,
 * and w is left as it was. */
enum proto_err watch_start(struct watch_ring *r, struct watcher *w, const struct proto_request *req,
                           struct proto_str list, uint64_t *seq, char *err, size_t errcap);
/* UNWATCH, or the connection goes: w is no longer counted. */
void watch_stop(struct watch_ring *r, struct watcher *w);

/* Whether events past w's cursor are visible (no lock: a hint). */
int watch_due(const struct watch_ring *r, const struct watcher *w);

enum watch_rc {
    WATCH_DONE = 0,  /* every visible event was looked at */
    WATCH_MORE = 1,  /* out reached the limit; the rest wait for it to drain */
    WATCH_ENDED = 2, /* "EVENT overflow" was appended and w was stopped */
};
/* Appends to out the visible events after w's cursor that pass its
 * filters, as EVENT lines, while out's unsent bytes (unsent now, plus
 * what this call appends) stay within limit. When events are due and
 * unsent is at the limit already (the client does not keep up), or the
 * ring has dropped events w had not been sent, or out cannot grow, it
 * appends "EVENT overflow" instead and stops w. *sent counts the events
 * appended. */
enum watch_rc watch_deliver(struct watch_ring *r, struct watcher *w, struct proto_buf *out,
                            size_t unsent, size_t limit, unsigned long long *sent);

/* The watch ends as an overflow does: "EVENT overflow" appended to out (a
 * client then reloads), w stopped. For a watch of a list that is no longer
 * shared with its connection. */
void watch_revoke(struct watch_ring *r, struct watcher *w, struct proto_buf *out);

/* A worker's side of publishing: its batch's publisher (batch.h) and what
 * the batch appended. */
struct watch_pub {
    struct watch_ring *ring;
    uint64_t first, last; /* the numbers the batch's entries took; first > last: none */
};
void watch_pub_init(struct watch_pub *p, struct watch_ring *r);
extern const struct batch_publisher watch_publisher; /* its arg is a struct watch_pub */

#endif /* TODO_SERVER_WATCH_H */
