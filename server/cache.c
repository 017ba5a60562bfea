/*
 * cache.c - the shared cache of encoded GET replies (cache.h).
 *
 * The table is split into shards (64, fewer for a small cache), each with
 * a spin lock of its own, so that workers reading different tasks seldom
 * meet on a lock; a lock is held only to copy one entry in or out. A
 * shard holds sets of 8 ways: a set's index (8 tags and the 8 entries'
 * places) is one cache line, looked at first, so that a lookup in a table
 * of 64 MiB touches that line and the entry it finds, not 8 entries. A
 * key may be in either of two sets (struct where). Entries are handed out
 * in order from the shard's array, so that only the pages of entries in
 * use become resident (with 10,000 tasks cached, 2.5 MB and the 2 MiB
 * index, not most of the table). Entries are of
 * a fixed size (CACHE_ENTRY_BYTES: the id and the reply share what the
 * header leaves), so the memory is bounded by --cache-mb whatever the
 * replies, and a reply too long for an entry is not cached. When both of
 * a key's sets are full, it takes the way used longest ago of the two
 * (its use mark: the shard's clock when the entry was last put or hit).
 */
#include "cache.h"

#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define SHARDS_MAX 64
#define WAYS 8

struct entry {
    uint64_t stamp;
    uint32_t key;  /* the store's change key of id */
    uint32_t used; /* the shard's clock when last put or hit */
    uint16_t len;  /* of the reply, which follows the id in data */
    uint8_t idlen;
    uint8_t enc;
    char data[CACHE_ENTRY_BYTES - CACHE_ENTRY_HEADER];
};
_Static_assert(sizeof(struct entry) == CACHE_ENTRY_BYTES, "an entry is CACHE_ENTRY_BYTES");

struct set {
    uint32_t tag[WAYS];  /* 0: the way is empty */
    uint32_t slot[WAYS]; /* the way's entry, in the shard's entries */
};
_Static_assert(sizeof(struct set) == 64, "a set's index is one cache line");

struct shard {
    _Alignas(64) atomic_int lock; /* 1: held */
    uint32_t clock;               /* under lock: ticks on every put and hit */
    size_t entries;               /* under lock: ways in use, and entries handed out */
    struct set *sets;
    struct entry *ents; /* sets * WAYS, handed out in order */
};

struct cache {
    unsigned nshards; /* a power of two */
    size_t nsets;     /* per shard */
    size_t max_bytes;
    void *mem; /* every shard's sets, then every shard's entries */
    struct shard shard[SHARDS_MAX];
};

/* What one set costs: its index and its entries. */
#define SET_BYTES (sizeof(struct set) + WAYS * sizeof(struct entry))

struct cache *cache_new(size_t bytes)
{
    /* A small cache (the unit tests', the fuzzer's) has fewer shards, so
     * that each still has a set. */
    unsigned nshards = SHARDS_MAX;
    while (nshards > 1 && bytes / ((size_t)nshards * SET_BYTES) == 0)
        nshards /= 2;
    size_t nsets = bytes / ((size_t)nshards * SET_BYTES);
    if (nsets == 0 || nsets > UINT32_MAX)
        return NULL;
    struct cache *c = aligned_alloc(_Alignof(struct cache), sizeof(*c));
    if (c == NULL)
        return NULL;
    memset(c, 0, sizeof(*c));
    size_t total = (size_t)nshards * nsets;
    /* calloc of this size maps fresh zero pages: only those an entry is
     * written to become resident. */
    c->mem = calloc(total, SET_BYTES);
    if (c->mem == NULL) {
        free(c);
        return NULL;
    }
    c->nshards = nshards;
    c->nsets = nsets;
    c->max_bytes = total * SET_BYTES;
    struct set *sets = c->mem;
    struct entry *ents = (struct entry *)(sets + total);
    for (unsigned i = 0; i < nshards; i++) {
        struct shard *s = &c->shard[i];
        atomic_init(&s->lock, 0);
        s->sets = sets + (size_t)i * nsets;
        s->ents = ents + (size_t)i * nsets * WAYS;
    }
    return c;
}

void cache_free(struct cache *c)
{
    if (c == NULL)
        return;
    free(c->mem);
    free(c);
}

/* A spin lock: it is held for a copy of at most one entry, far shorter
 * than a system call, so a waiter spins; it yields now and then in case
 * the holder was preempted. */
static void lock(struct shard *s)
{
    for (unsigned n = 1;; n++) {
        if (atomic_exchange_explicit(&s->lock, 1, memory_order_acquire) == 0)
            return;
        while (atomic_load_explicit(&s->lock, memory_order_relaxed) != 0)
            if (++n % 128 == 0)
                sched_yield();
    }
}

static void unlock(struct shard *s)
{
    atomic_store_explicit(&s->lock, 0, memory_order_release);
}

/* FNV-1a over the id and the encoding, then a 64-bit finalizer
 * (MurmurHash3's), so that the shard, the set and the tag each take bits
 * of their own from a well mixed hash. */
static uint64_t hash(struct proto_str id, int enc)
{
    uint64_t h = 14695981039346656037u;
    for (size_t i = 0; i < id.len; i++)
        h = (h ^ (unsigned char)id.ptr[i]) * 1099511628211u;
    h = (h ^ (unsigned char)enc) * 1099511628211u;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdu;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53u;
    h ^= h >> 33;
    return h;
}

/* A key's place: its shard, and two sets in it, either of which may hold
 * it ("two choices": a new entry goes to the emptier, so that sets fill
 * evenly and a table at half its capacity loses nothing to an overfull
 * set, which one choice did: 223 of 100,000 tasks at the default size). */
struct where {
    struct shard *shard;
    struct set *set[2];
    uint32_t tag;
};

static struct where locate(struct cache *c, struct proto_str id, int enc)
{
    uint64_t h = hash(id, enc);
    struct where w;
    w.shard = &c->shard[h & (c->nshards - 1)];
    /* Bits 8..39, and the top bits of a second mix, each scaled to the
     * number of sets (no division). */
    uint64_t h2 = h * 0x9e3779b97f4a7c15u;
    size_t i[2] = {(size_t)((((h >> 8) & 0xffffffffu) * (uint64_t)c->nsets) >> 32),
                   (size_t)(((h2 >> 32) * (uint64_t)c->nsets) >> 32)};
    for (int k = 0; k < 2; k++)
        w.set[k] = &w.shard->sets[i[k]];
    w.tag = (uint32_t)(h >> 40) + 1; /* 24 bits, never 0 */
    return w;
}

/* The entry holding (id, enc), NULL if none, with its set and way; under
 * the lock. */
static struct entry *find(const struct where *w, struct proto_str id, int enc, int *set, int *way)
{
    for (int s = 0; s < 2; s++)
        for (int k = 0; k < WAYS; k++) {
            if (w->set[s]->tag[k] != w->tag)
                continue;
            struct entry *e = &w->shard->ents[w->set[s]->slot[k]];
            if (e->idlen == id.len && e->enc == enc && memcmp(e->data, id.ptr, id.len) == 0) {
                *set = s;
                *way = k;
                return e;
            }
        }
    return NULL;
}

static int usable(struct cache *c, struct proto_str id, int enc)
{
    return c != NULL && id.len > 0 && id.len <= CACHE_KEY_MAX && enc >= 0 && enc <= UINT8_MAX;
}

size_t cache_get(struct cache *c, struct proto_str id, int encoding, uint64_t *stamp, uint32_t *key,
                 char *out)
{
    if (!usable(c, id, encoding))
        return 0;
    struct where w = locate(c, id, encoding);
    size_t len = 0;
    int s, k;
    lock(w.shard);
    struct entry *e = find(&w, id, encoding, &s, &k);
    if (e != NULL) {
        *stamp = e->stamp;
        *key = e->key;
        len = e->len;
        memcpy(out, e->data + e->idlen, len);
        e->used = ++w.shard->clock;
    }
    unlock(w.shard);
    return len;
}

static int empty_ways(const struct set *set)
{
    int n = 0;
    for (int k = 0; k < WAYS; k++)
        n += set->tag[k] == 0;
    return n;
}

void cache_put(struct cache *c, struct proto_str id, int encoding, uint64_t stamp, uint32_t key,
               const char *reply, size_t len)
{
    if (!usable(c, id, encoding) || len == 0 || len > CACHE_REPLY_MAX(id.len))
        return;
    struct where w = locate(c, id, encoding);
    struct shard *sh = w.shard;
    int s = 0, k = -1;
    lock(sh);
    struct entry *e = find(&w, id, encoding, &s, &k);
    if (e != NULL && e->stamp > stamp) {
        /* Another worker kept what it read in a later snapshot: keep that
         * (it is the one more likely to be current). */
        unlock(sh);
        return;
    }
    if (e == NULL) {
        int free0 = empty_ways(w.set[0]), free1 = empty_ways(w.set[1]);
        if (free0 > 0 || free1 > 0) {
            /* A new entry: the next of the shard's, so that the memory in
             * use grows with the entries, not with how widely their sets
             * are spread (a way is never emptied, so there is always one:
             * entries <= sets * WAYS). */
            s = free1 > free0;
            for (k = 0; w.set[s]->tag[k] != 0; k++)
                ;
            w.set[s]->slot[k] = (uint32_t)sh->entries++;
        } else {
            /* The way used longest ago of both sets, whose entry is
             * reused; the clock's ages are taken modulo 2^32, right across
             * its wrapping around. */
            uint32_t oldest = 0;
            for (int t = 0; t < 2; t++)
                for (int i = 0; i < WAYS; i++) {
                    uint32_t age = sh->clock - sh->ents[w.set[t]->slot[i]].used;
                    if (k < 0 || age > oldest) {
                        s = t;
                        k = i;
                        oldest = age;
                    }
                }
        }
        e = &sh->ents[w.set[s]->slot[k]];
    }
    e->stamp = stamp;
    e->key = key;
    e->len = (uint16_t)len;
    e->idlen = (uint8_t)id.len;
    e->enc = (uint8_t)encoding;
    memcpy(e->data, id.ptr, id.len);
    memcpy(e->data + id.len, reply, len);
    w.set[s]->tag[k] = w.tag;
    e->used = ++sh->clock;
    unlock(sh);
}

void cache_stats(struct cache *c, struct cache_stats *st)
{
    memset(st, 0, sizeof(*st));
    if (c == NULL)
        return;
    for (unsigned i = 0; i < c->nshards; i++) {
        struct shard *s = &c->shard[i];
        lock(s);
        st->entries += s->entries;
        unlock(s);
    }
    st->bytes = st->entries * CACHE_ENTRY_BYTES;
    st->max_bytes = c->max_bytes;
}
