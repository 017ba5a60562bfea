/*
 * cache.h - a cache of encoded GET replies, keyed by task id and encoding.
 *
 * A worker keeps one (struct cache, used by that worker only: no lock) and
 * hands it to its handlers through their context. An entry is stamped
 * with the store's read stamp of the snapshot it was read in
 * (store_read_stamp(), store.h); the caller serves it only while
 * store_unchanged() says that no commit since that stamp changed its
 * task. So an entry outlives commits to other tasks, and is never served
 * once a newer write of its own task has been acknowledged.
 *
 * The key holds the encoding (result_sink.encoding: the line protocol's,
 * the tutorial's bare replies, reply-line.h), so that front ends that
 * encode a task differently each keep their own reply for it.
 */
#ifndef TODO_SERVER_CACHE_H
#define TODO_SERVER_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "todo/proto.h"

/* Bytes of all workers' caches together: each worker gets its share. */
#define CACHE_BUDGET (8u * 1024 * 1024)

struct cache;

/* A cache of at most about bytes (CACHE_BUDGET / workers, say); its table
 * is allocated at the first cache_put, so an unused cache costs little.
 * NULL when out of memory. */
struct cache *cache_new(size_t bytes);
/* Frees c (NULL is ignored). */
void cache_free(struct cache *c);

/* The reply kept for (id, encoding), NULL if none. *len is set to its
 * length, *stamp and *key to what cache_put was given, which the caller
 * checks with store_unchanged_key() before serving it. Valid until the
 * next cache_put. */
const char *cache_get(struct cache *c, struct proto_str id, int encoding, uint64_t *stamp,
                      uint32_t *key, size_t *len);
/* Keeps reply[0..len) for (id, encoding), stamped stamp, with the store's
 * change key of id (store_change_key), in place of what was kept for it
 * (too long a reply is not kept). */
void cache_put(struct cache *c, struct proto_str id, int encoding, uint64_t stamp, uint32_t key,
               const char *reply, size_t len);

#endif /* TODO_SERVER_CACHE_H */
