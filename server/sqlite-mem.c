/*
 * sqlite-mem.c - SQLite's memory allocator: small blocks kept per thread.
 *
 * Debian's SQLite is built without lookaside memory (SQLITE_OMIT_LOOKASIDE),
 * so each statement it runs takes its cursors from malloc and gives them
 * back to free: four pairs for a GET, about 1,000 of the 13,000
 * instructions of a GET that misses the cache (docs/PERFORMANCE.md, issue
 * 15). Here blocks of up to 2 KiB come in six size classes, and a freed
 * one goes on its thread's list for its class (at most KEEP a class), from
 * which the next allocation of that class on the thread takes it without
 * a lock; bigger blocks, and small ones past KEEP, go to malloc and free.
 * A block freed on another thread than the one that made it simply joins
 * that thread's list. A thread's lists are freed when it ends.
 *
 * Every block has a 16-byte header before it: its class (or BIG) and, for
 * a big block, its size, which xSize reports.
 *
 * Under a sanitizer the allocator is not installed: ASan and LeakSanitizer
 * should see SQLite's blocks come from malloc.
 */
#include "sqlite-mem.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SQLITE_MEM_OFF 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SQLITE_MEM_OFF 1
#endif
#endif

#ifndef SQLITE_MEM_OFF

#define CLASSES 6
#define KEEP 64
#define BIG 0xffu
#define HEADER 16

static const size_t class_size[CLASSES] = {64, 128, 256, 512, 1024, 2048};

struct header {
    uint32_t cls;  /* 0..CLASSES-1, or BIG */
    uint32_t pad;  /* keeps the block 16-byte aligned */
    uint64_t size; /* a big block's size */
};
_Static_assert(sizeof(struct header) == HEADER, "the header is 16 bytes");

struct free_block {
    struct free_block *next;
};

struct lists {
    struct free_block *head[CLASSES];
    unsigned n[CLASSES];
};

static pthread_key_t lists_key;
static int key_ok;
static _Thread_local struct lists *mine;

static int class_of(size_t n)
{
    for (int c = 0; c < CLASSES; c++)
        if (n <= class_size[c])
            return c;
    return -1;
}

/* At a thread's end: its kept blocks and its lists go back to libc. */
static void lists_free(void *p)
{
    struct lists *l = p;
    for (int c = 0; c < CLASSES; c++) {
        while (l->head[c] != NULL) {
            struct free_block *b = l->head[c];
            l->head[c] = b->next;
            free((char *)b - HEADER);
        }
    }
    free(l);
    mine = NULL;
}

/* This thread's lists, made on first use; NULL when out of memory (then
 * every block goes to malloc and free). */
static struct lists *lists(void)
{
    if (mine == NULL && key_ok) {
        struct lists *l = calloc(1, sizeof(*l));
        if (l != NULL && pthread_setspecific(lists_key, l) != 0) {
            free(l);
            l = NULL;
        }
        mine = l;
    }
    return mine;
}

static void *mem_malloc(int n)
{
    if (n <= 0)
        return NULL;
    int c = class_of((size_t)n);
    struct header *h;
    if (c >= 0) {
        struct lists *l = lists();
        if (l != NULL && l->head[c] != NULL) {
            struct free_block *b = l->head[c];
            l->head[c] = b->next;
            l->n[c]--;
            return b;
        }
        h = malloc(HEADER + class_size[c]);
        if (h == NULL)
            return NULL;
        h->cls = (uint32_t)c;
    } else {
        h = malloc(HEADER + (size_t)n);
        if (h == NULL)
            return NULL;
        h->cls = BIG;
        h->size = (uint64_t)n;
    }
    return (char *)h + HEADER;
}

static void mem_free(void *p)
{
    if (p == NULL)
        return;
    struct header *h = (struct header *)((char *)p - HEADER);
    if (h->cls != BIG) {
        struct lists *l = lists();
        if (l != NULL && l->n[h->cls] < KEEP) {
            struct free_block *b = p;
            b->next = l->head[h->cls];
            l->head[h->cls] = b;
            l->n[h->cls]++;
            return;
        }
    }
    free(h);
}

static int mem_size(void *p)
{
    if (p == NULL)
        return 0;
    const struct header *h = (const struct header *)((char *)p - HEADER);
    return (int)(h->cls == BIG ? h->size : class_size[h->cls]);
}

static void *mem_realloc(void *p, int n)
{
    if (p == NULL)
        return mem_malloc(n);
    int old = mem_size(p);
    if (n > 0 && n <= old)
        return p;
    void *q = mem_malloc(n);
    if (q == NULL)
        return NULL;
    memcpy(q, p, (size_t)old);
    mem_free(p);
    return q;
}

static int mem_roundup(int n)
{
    int c = n > 0 ? class_of((size_t)n) : 0;
    return c >= 0 ? (int)class_size[c] : (n + 7) & ~7;
}

static int mem_init(void *arg)
{
    (void)arg;
    return SQLITE_OK;
}

static void mem_shutdown(void *arg)
{
    (void)arg;
}

int sqlite_mem_install(void)
{
    if (pthread_key_create(&lists_key, lists_free) != 0)
        return -1;
    key_ok = 1;
    static const sqlite3_mem_methods methods = {
        mem_malloc, mem_free, mem_realloc, mem_size, mem_roundup, mem_init, mem_shutdown, NULL,
    };
    return sqlite3_config(SQLITE_CONFIG_MALLOC, &methods) == SQLITE_OK ? 0 : -1;
}

#else

int sqlite_mem_install(void)
{
    return 0;
}

#endif
