/*
 * cache.h - one cache of encoded GET replies shared by all workers, keyed
 * by task id and encoding, and sized by memory (--cache-mb).
 *
 * The pool makes one (workers_start, worker.c) and hands it to every
 * worker's handlers through their context. An entry is stamped with the
 * store's read stamp of the snapshot it was read in (store_read_stamp(),
 * store.h) and keeps its task's change key; the caller serves it only
 * while store_unchanged_key() says that no commit since that stamp changed
 * its task. So an entry outlives commits to other tasks, and is never
 * served once a newer write of its own task has been acknowledged, on
 * whichever worker it was made: the change counters are the engine's, not
 * a worker's.
 *
 * The key holds the encoding (result_sink.encoding: the line protocol's,
 * the tutorial's bare replies, reply-line.h), so that front ends that
 * encode a task differently each keep their own reply for it.
 *
 * Thread safety: every function may be called from any thread at once
 * (the table is split into shards, each under a lock of its own, held
 * only to copy an entry in or out), but cache_free.
 */
#ifndef TODO_SERVER_CACHE_H
#define TODO_SERVER_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "todo/proto.h"

/* The default size, in MiB (--cache-mb): enough for the replies of
 * 100,000 tasks of about 64-byte texts with a few tags, in either of
 * the two encodings (docs/PERFORMANCE.md). */
#define CACHE_DEFAULT_MB 64

/* An entry's size: its id and its reply share what its header leaves. */
#define CACHE_ENTRY_BYTES 256
/* The longest reply kept for an id of idlen bytes; a longer one is not
 * cached (a task with a long text or many tags is read from the store). */
#define CACHE_ENTRY_HEADER 20
#define CACHE_REPLY_MAX(idlen) (CACHE_ENTRY_BYTES - CACHE_ENTRY_HEADER - (idlen))

struct cache;

/* An entry's id is the task's key across lists (store.h's store_scope):
 * its id in the default list, "LIST/ID" in a user's, so that two users'
 * task 1 are two entries. At most this many bytes. */
#define CACHE_KEY_MAX (PROTO_MAX_USER + 1 + PROTO_MAX_ID)

/* What STATS shows. */
struct cache_stats {
    unsigned long long entries;   /* replies kept now (stale ones included) */
    unsigned long long bytes;     /* entries * CACHE_ENTRY_BYTES */
    unsigned long long max_bytes; /* the table's size, its index included */
};

/* A cache of at most bytes (its entries and their index), NULL when bytes
 * is too small for one set of entries (0 turns the cache off) or when out
 * of memory. The table is reserved at once but zero pages cost nothing
 * until an entry is written there, so an unused cache costs little. */
struct cache *cache_new(size_t bytes);
/* Frees c (NULL is ignored); no thread may be using it. */
void cache_free(struct cache *c);

/* Copies the reply kept for (id, encoding) into out (which has room for
 * CACHE_ENTRY_BYTES) and returns its length, or 0 if none is kept. *stamp
 * and *key are set to what cache_put was given, which the caller checks
 * with store_unchanged_key() before serving it. */
size_t cache_get(struct cache *c, struct proto_str id, int encoding, uint64_t *stamp, uint32_t *key,
                 char *out);
/* Keeps reply[0..len) for (id, encoding), stamped stamp, with the store's
 * change key of id (store_change_key), in place of what was kept for it,
 * unless that was read in a later snapshot (a bigger stamp). Too long a
 * reply is not kept; when both of the key's sets (cache.c) are full, the
 * entry used longest ago of them makes room. */
void cache_put(struct cache *c, struct proto_str id, int encoding, uint64_t stamp, uint32_t key,
               const char *reply, size_t len);
/* Fills st (all zero for NULL: no cache). */
void cache_stats(struct cache *c, struct cache_stats *st);

#endif /* TODO_SERVER_CACHE_H */
