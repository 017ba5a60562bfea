/*
 * proto-internal.h - helpers shared by libproto's source files. Not installed
 * and not part of the contract: only proto.h is.
 */
#ifndef TODO_PROTO_INTERNAL_H
#define TODO_PROTO_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>

#include "todo/proto.h"

#if defined(__GNUC__)
#define PROTO_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define PROTO_PRINTF(f, a)
#endif

/* Writes a sentence into err (errcap bytes, always NUL-terminated when
 * errcap > 0). A NULL err or a zero errcap is allowed and ignored. */
void proto__errf(char *err, size_t errcap, const char *fmt, ...) PROTO_PRINTF(3, 4);

/* Writes a short, printable rendering of s[0..n) into out (cap bytes, NUL-
 * terminated): control bytes, DEL and bytes that are not UTF-8 become \xHH,
 * '\'' and '\\' get a backslash, and at most max input bytes are shown, cut
 * on a UTF-8 character boundary and followed by "..." when cut. Used to
 * quote the peer's input in error sentences. */
void proto__snippet(char *out, size_t cap, const char *s, size_t n, size_t max);

/* Grows b so that n (> 0) more bytes fit and returns where they go; b->len is
 * advanced by n. NULL (b unchanged) when out of memory or past b->max. */
char *proto__buf_extend(struct proto_buf *b, size_t n);

/* A token's size on the wire (proto_quote_append's rules), with *bare set
 * when it goes bare; 0 only when that size would not fit in a size_t.
 * proto__token_write writes it at o (which has room for that size) and
 * returns the end. Together they let an encoder size a whole line first
 * and grow its buffer once. */
size_t proto__token_size(const char *s, size_t n, int force, int *bare);
char *proto__token_write(char *o, const char *s, size_t n, int bare);

/* Writes v in decimal at o and returns the end (at most 20 digits). */
char *proto__write_u64(char *o, unsigned long long v);

/* The tokenizer with distinct failures: returns the token count, or
 * PROTO__TOK_SYNTAX / PROTO__TOK_TOOMANY with a sentence in err. */
#define PROTO__TOK_SYNTAX (-1)
#define PROTO__TOK_TOOMANY (-2)
int proto__tokenize(const char *line, size_t len, char *scratch, size_t scratch_cap,
                    struct proto_token *toks, size_t max, char *err, size_t errcap);

/* Case-insensitive ASCII comparison of s[0..n) with the NUL-terminated word. */
int proto__eq_nocase(const char *s, size_t n, const char *word);
/* Exact comparison of s[0..n) with the NUL-terminated word. */
int proto__eq(const char *s, size_t n, const char *word);

/* 1 for bytes that the wire treats as control bytes: below 0x20 and DEL. */
static inline int proto__is_ctl(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

#endif /* TODO_PROTO_INTERNAL_H */
