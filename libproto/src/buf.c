/*
 * buf.c - the growable, capped output buffer and token quoting.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto-internal.h"

/* The first allocation; small enough for one reply line, and doubling
 * from here keeps appends amortised O(1). */
#define PROTO_BUF_MIN 256

static size_t buf_max(const struct proto_buf *b)
{
    return b->max == 0 ? SIZE_MAX : b->max;
}

void proto_buf_init(struct proto_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void proto_buf_free(struct proto_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

/* Grows geometrically, never past the buffer's max, with every sum and
 * product checked so that a huge n cannot wrap around. */
char *proto__buf_extend(struct proto_buf *b, size_t n)
{
    if (n == 0)
        return NULL; /* callers always ask for at least one byte */
    size_t max = buf_max(b);
    if (n > max || b->len > max - n)
        return NULL;
    size_t need = b->len + n;
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : PROTO_BUF_MIN;
        while (cap < need)
            cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        if (cap > max)
            cap = max; /* still >= need, checked above */
        char *p = realloc(b->data, cap);
        if (p == NULL)
            return NULL;
        b->data = p;
        b->cap = cap;
    }
    char *at = b->data + b->len;
    b->len = need;
    return at;
}

int proto_buf_append(struct proto_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    char *at = proto__buf_extend(b, n);
    if (at == NULL)
        return -1;
    memcpy(at, p, n);
    return 0;
}

void proto_buf_consume(struct proto_buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

/* A byte may stand in a bare token when it cannot be mistaken for a
 * separator, a quote or an escape; UTF-8 bytes (>= 0x80) are fine. */
static int bare_byte(unsigned char c)
{
    return c > 0x20 && c != 0x7f && c != '"' && c != '\\';
}

static const char hexdigits[] = "0123456789abcdef";

/* Bytes the quoted form of c takes, without the surrounding quotes. */
static size_t quoted_size(unsigned char c)
{
    switch (c) {
    case '"':
    case '\\':
    case '\n':
    case '\r':
    case '\t':
        return 2;
    default:
        return proto__is_ctl(c) ? 4 : 1;
    }
}

static char *quote_byte(char *o, unsigned char c)
{
    switch (c) {
    case '"':
        *o++ = '\\';
        *o++ = '"';
        break;
    case '\\':
        *o++ = '\\';
        *o++ = '\\';
        break;
    case '\n':
        *o++ = '\\';
        *o++ = 'n';
        break;
    case '\r':
        *o++ = '\\';
        *o++ = 'r';
        break;
    case '\t':
        *o++ = '\\';
        *o++ = 't';
        break;
    default:
        if (proto__is_ctl(c)) {
            *o++ = '\\';
            *o++ = 'x';
            *o++ = hexdigits[c >> 4];
            *o++ = hexdigits[c & 0xf];
        } else {
            *o++ = (char)c;
        }
    }
    return o;
}

size_t proto__token_size(const char *s, size_t n, int force, int *bare)
{
    const unsigned char *u = (const unsigned char *)s;
    int plain = !force && n > 0;
    size_t size = 2;
    *bare = 0;
    for (size_t i = 0; i < n; i++) {
        if (!bare_byte(u[i]))
            plain = 0;
        size_t q = quoted_size(u[i]);
        if (size > SIZE_MAX - q)
            return 0;
        size += q;
    }
    *bare = plain;
    return plain ? n : size;
}

char *proto__token_write(char *o, const char *s, size_t n, int bare)
{
    if (bare) {
        memcpy(o, s, n);
        return o + n;
    }
    const unsigned char *u = (const unsigned char *)s;
    *o++ = '"';
    for (size_t i = 0; i < n; i++)
        o = quote_byte(o, u[i]);
    *o++ = '"';
    return o;
}

char *proto__write_u64(char *o, unsigned long long v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    while (n > 0)
        *o++ = tmp[--n];
    return o;
}

/* Sizes the whole token first so that it is appended in one step: either
 * all of it lands in b or nothing does. */
int proto_quote_append(struct proto_buf *b, const char *s, size_t n, int force)
{
    int bare;
    size_t size = proto__token_size(s, n, force, &bare);
    if (size == 0)
        return -1;
    char *o = proto__buf_extend(b, size);
    if (o == NULL)
        return -1;
    proto__token_write(o, s, n, bare);
    return 0;
}
