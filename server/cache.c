/*
 * cache.c - a worker's cache of encoded GET replies: a two-way set
 * associative table of fixed-size entries, allocated on first use, so its
 * memory is bounded (CACHE_BUDGET for the whole pool) and a connection
 * costs it nothing.
 */
#include "cache.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* 256 bytes an entry: a task line with a short text fits; a longer reply
 * is simply not cached. */
#define ENTRY_DATA (256 - sizeof(unsigned long) - 2 - 1 - PROTO_MAX_ID - 5)

struct entry {
    unsigned long gen; /* 0: empty */
    uint16_t len;
    uint8_t idlen;
    char id[PROTO_MAX_ID];
    char data[ENTRY_DATA];
};

static _Thread_local struct entry *table; /* sets * 2 entries */
static _Thread_local size_t set_mask;
static _Thread_local int failed; /* calloc failed once: run without */

void cache_init(int nworkers)
{
    size_t per = CACHE_BUDGET / (size_t)(nworkers > 0 ? nworkers : 1) / (2 * sizeof(struct entry));
    size_t sets = 64;
    while (sets * 2 <= per)
        sets *= 2;
    set_mask = sets - 1;
}

void cache_free(void)
{
    free(table);
    table = NULL;
}

/* FNV-1a. */
static size_t hash(struct proto_str id)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < id.len; i++)
        h = (h ^ (unsigned char)id.ptr[i]) * 16777619u;
    return h;
}

static int same(const struct entry *e, struct proto_str id)
{
    return e->idlen == id.len && memcmp(e->id, id.ptr, id.len) == 0;
}

const char *cache_get(struct proto_str id, unsigned long gen, size_t *len)
{
    if (table == NULL || id.len > PROTO_MAX_ID)
        return NULL;
    struct entry *set = &table[(hash(id) & set_mask) * 2];
    for (int w = 0; w < 2; w++) {
        if (set[w].gen == gen && same(&set[w], id)) {
            *len = set[w].len;
            return set[w].data;
        }
    }
    return NULL;
}

void cache_put(struct proto_str id, unsigned long gen, const char *reply, size_t len)
{
    if (len > ENTRY_DATA || id.len > PROTO_MAX_ID || failed)
        return;
    if (table == NULL) {
        if (set_mask == 0)
            cache_init(1);
        table = calloc((set_mask + 1) * 2, sizeof(*table));
        if (table == NULL) {
            failed = 1;
            return;
        }
    }
    size_t h = hash(id);
    struct entry *set = &table[(h & set_mask) * 2];
    /* The same id's entry (so an id has one entry at most), else an
     * out-of-date one, else either. */
    int w = -1;
    for (int k = 0; k < 2 && w < 0; k++)
        if (same(&set[k], id))
            w = k;
    for (int k = 0; k < 2 && w < 0; k++)
        if (set[k].gen != gen)
            w = k;
    if (w < 0)
        w = (int)((h >> 31) & 1);
    struct entry *e = &set[w];
    e->gen = gen;
    e->len = (uint16_t)len;
    e->idlen = (uint8_t)id.len;
    memcpy(e->id, id.ptr, id.len);
    memcpy(e->data, reply, len);
}
