/*
 * cache.h - a worker's cache of encoded GET replies, keyed by task id.
 *
 * Each worker has its own (thread-local, no lock). An entry is stamped
 * with the store generation loaded before the read transaction it was read
 * in began (store_read_generation()); it is served only while the store's
 * generation (store_generation(), bumped after every commit anywhere) still
 * equals that stamp. So an entry can be older than the newest commit only
 * when it is also never served again.
 */
#ifndef TODO_SERVER_CACHE_H
#define TODO_SERVER_CACHE_H

#include <stddef.h>

#include "todo/proto.h"

/* Bytes of all workers' caches together: each worker gets its share. */
#define CACHE_BUDGET (8u * 1024 * 1024)

/* Sets this thread's cache size for a pool of nworkers; the table itself
 * is allocated at the first cache_put. */
void cache_init(int nworkers);
/* Frees this thread's cache. */
void cache_free(void);

/* The cached reply for id if it was stamped with generation gen; NULL
 * otherwise. *len is set to its length. */
const char *cache_get(struct proto_str id, unsigned long gen, size_t *len);
/* Keeps reply[0..len) for id, stamped gen (too long a reply is not kept). */
void cache_put(struct proto_str id, unsigned long gen, const char *reply, size_t len);

#endif /* TODO_SERVER_CACHE_H */
