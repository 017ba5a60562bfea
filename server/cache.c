/*
 * cache.c - the cache of encoded GET replies: a two-way set associative
 * table of fixed-size entries, allocated on first use, so its memory is
 * bounded (its share of CACHE_BUDGET) and a connection costs it nothing.
 */
#include "cache.h"

#include <stdlib.h>
#include <string.h>

/* 256 bytes an entry: a task line with a short text fits; a longer reply
 * is simply not cached. */
#define ENTRY_DATA (256 - sizeof(uint64_t) - 2 - 1 - 1 - PROTO_MAX_ID - 4)

struct entry {
    uint64_t stamp;
    uint32_t key; /* the store's change key of id */
    uint16_t len;
    uint8_t idlen; /* 0: empty (an id is never empty) */
    uint8_t enc;
    char id[PROTO_MAX_ID];
    char data[ENTRY_DATA];
};

struct cache {
    struct entry *table; /* sets * 2 entries, at the first cache_put */
    size_t set_mask;
    int failed; /* calloc failed once: run without */
};

struct cache *cache_new(size_t bytes)
{
    struct cache *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    size_t per = bytes / (2 * sizeof(struct entry));
    size_t sets = 64;
    while (sets * 2 <= per)
        sets *= 2;
    c->set_mask = sets - 1;
    return c;
}

void cache_free(struct cache *c)
{
    if (c == NULL)
        return;
    free(c->table);
    free(c);
}

/* FNV-1a. */
static size_t hash(struct proto_str id, int enc)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < id.len; i++)
        h = (h ^ (unsigned char)id.ptr[i]) * 16777619u;
    return (h ^ (unsigned char)enc) * 16777619u;
}

static int same(const struct entry *e, struct proto_str id, int enc)
{
    return e->idlen == id.len && e->enc == enc && memcmp(e->id, id.ptr, id.len) == 0;
}

const char *cache_get(struct cache *c, struct proto_str id, int encoding, uint64_t *stamp,
                      uint32_t *key, size_t *len)
{
    if (c == NULL || c->table == NULL || id.len == 0 || id.len > PROTO_MAX_ID)
        return NULL;
    struct entry *set = &c->table[(hash(id, encoding) & c->set_mask) * 2];
    for (int w = 0; w < 2; w++) {
        if (same(&set[w], id, encoding)) {
            *stamp = set[w].stamp;
            *key = set[w].key;
            *len = set[w].len;
            return set[w].data;
        }
    }
    return NULL;
}

void cache_put(struct cache *c, struct proto_str id, int encoding, uint64_t stamp, uint32_t key,
               const char *reply, size_t len)
{
    if (c == NULL || len > ENTRY_DATA || id.len == 0 || id.len > PROTO_MAX_ID || c->failed ||
        encoding < 0 || encoding > UINT8_MAX)
        return;
    if (c->table == NULL) {
        c->table = calloc((c->set_mask + 1) * 2, sizeof(*c->table));
        if (c->table == NULL) {
            c->failed = 1;
            return;
        }
    }
    size_t h = hash(id, encoding);
    struct entry *set = &c->table[(h & c->set_mask) * 2];
    /* The same key's entry (so a key has one entry at most), else an empty
     * one, else the one read longer ago. */
    int w = -1;
    for (int k = 0; k < 2 && w < 0; k++)
        if (same(&set[k], id, encoding))
            w = k;
    for (int k = 0; k < 2 && w < 0; k++)
        if (set[k].idlen == 0)
            w = k;
    if (w < 0)
        w = set[0].stamp <= set[1].stamp ? 0 : 1;
    struct entry *e = &set[w];
    e->stamp = stamp;
    e->key = key;
    e->len = (uint16_t)len;
    e->idlen = (uint8_t)id.len;
    e->enc = (uint8_t)encoding;
    memcpy(e->id, id.ptr, id.len);
    memcpy(e->data, reply, len);
}
