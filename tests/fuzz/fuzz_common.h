/*
 * fuzz_common.h - helpers shared by the libFuzzer targets.
 *
 * A failed check aborts, which libFuzzer reports as a crash and saves the
 * input; so every CHECK is a property of the protocol, not a debug aid.
 */
#ifndef TODO_FUZZ_COMMON_H
#define TODO_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "todo/proto.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);                  \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Chunk sizes come from a small PRNG seeded with a hash of the input, so a
 * mutation anywhere also changes how the bytes are split, and any crash
 * replays exactly from the saved input. */
struct chunker {
    uint64_t state;
};

static inline void chunker_init(struct chunker *c, const uint8_t *data, size_t size, uint64_t salt)
{
    uint64_t h = 1469598103934665603ULL ^ salt; /* FNV-1a */
    for (size_t i = 0; i < size; i++) {
        h ^= data[i];
        h *= 1099511628211ULL;
    }
    c->state = h | 1;
}

/* 1..max bytes, biased towards tiny chunks where the edge cases live. */
static inline size_t chunker_next(struct chunker *c, size_t max)
{
    c->state ^= c->state << 13;
    c->state ^= c->state >> 7;
    c->state ^= c->state << 17;
    switch (c->state % 4) {
    case 0:
        return 1;
    case 1:
        return 1 + (size_t)(c->state >> 8) % 4;
    case 2:
        return 1 + (size_t)(c->state >> 8) % 64;
    default:
        return 1 + (size_t)(c->state >> 8) % (max ? max : 1);
    }
}

/* Appends or aborts: the fuzz targets do not set a maximum. */
static inline void log_append(struct proto_buf *b, const void *p, size_t n)
{
    CHECK(proto_buf_append(b, p, n) == 0);
}

static inline void log_str(struct proto_buf *b, char tag, const char *p, size_t n)
{
    char head[32];
    int k = snprintf(head, sizeof(head), "%c%zu:", tag, n);
    log_append(b, head, (size_t)k);
    if (n > 0)
        log_append(b, p, n);
}

/* A heap block of exactly n bytes (at least one), for scratch areas. */
static inline char *exact_alloc(size_t n)
{
    char *c = malloc(n ? n : 1);
    CHECK(c != NULL);
    return c;
}

/* A heap copy of exactly n bytes (at least one), so ASan catches any read
 * or write past n. */
static inline char *exact_copy(const char *p, size_t n)
{
    char *c = malloc(n ? n : 1);
    CHECK(c != NULL);
    if (n > 0)
        memcpy(c, p, n);
    return c;
}

/* One pass of a target over the input: decode with max_line, fed whole or
 * in chunks, and write what was decoded into log. flag is the target's own
 * (whether to go deeper into what was decoded). */
typedef void (*fuzz_pass_fn)(const uint8_t *data, size_t size, size_t max_line, int chunked,
                             int flag, struct proto_buf *log);

static inline int same_log(const struct proto_buf *a, const struct proto_buf *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

/* The decoders must not care how the bytes arrive: whole and chunked runs
 * must log the same, with the default line limit and with a tiny one. */
static inline void fuzz_same_whole_and_chunked(const uint8_t *data, size_t size, fuzz_pass_fn pass)
{
    struct proto_buf whole, chunks;
    struct chunker c;

    chunker_init(&c, data, size, 0);
    size_t small = 1 + (size_t)(c.state % 48);

    proto_buf_init(&whole, 0);
    proto_buf_init(&chunks, 0);
    pass(data, size, PROTO_MAX_LINE_DEFAULT, 0, 1, &whole);
    pass(data, size, PROTO_MAX_LINE_DEFAULT, 1, 0, &chunks);
    CHECK(same_log(&whole, &chunks));

    whole.len = chunks.len = 0;
    pass(data, size, small, 0, 0, &whole);
    pass(data, size, small, 1, 0, &chunks);
    CHECK(same_log(&whole, &chunks));
    proto_buf_free(&whole);
    proto_buf_free(&chunks);
}

#endif /* TODO_FUZZ_COMMON_H */
