/*
 * text.h - text that reaches a terminal: every byte a task, a tag, a server
 * or a user could have chosen is shown, never obeyed, and its width is
 * counted in terminal cells for the table.
 *
 * The escapes (the same in the table, plain lines, the shell, batch output,
 * messages and completion candidates):
 *   \t \n \r \\        tab, newline, carriage return, backslash
 *   \e                 ESC (0x1b)
 *   \xHH               any other C0 control byte (0x00..0x1f), DEL (0x7f),
 *                      and each byte that is not part of valid UTF-8
 *   \u00HH             the C1 controls U+0080..U+009F (UTF-8 C2 80..C2 9F)
 * Everything else is valid UTF-8 without controls and is written as it is.
 */
#ifndef TODO_CLI_TEXT_H
#define TODO_CLI_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "todo/proto.h"

/* Appends the escaped form of s[0..n) to b. 0, or -1 when out of memory. */
int text_escape(struct proto_buf *b, const char *s, size_t n);

/* Writes the escaped form of s[0..n) to fp. 0, or -1 when writing failed. */
int text_fputs(FILE *fp, const char *s, size_t n);

/* 1 when s[0..n) is shown as it is (text_escape would not change it). */
int text_is_safe(const char *s, size_t n);

/* The length (1..4) of the valid UTF-8 sequence at s[0..n), with its code
 * point in *cp; 0 when s does not start with one (overlong forms,
 * surrogates and code points past U+10FFFF are not valid). */
size_t text_utf8_decode(const char *s, size_t n, uint32_t *cp);

/* Terminal cells that code point cp takes: 2 for East Asian wide characters
 * and emoji, 0 for combining marks and zero-width characters, else 1. */
int text_cp_width(uint32_t cp);

/* Cells that s[0..n) takes, which must be escaped text (valid UTF-8). */
size_t text_width(const char *s, size_t n);

/* The first row of s[0..n) in a column width cells wide: returns the bytes
 * of s that go on it (at least one character, so a row always moves on) and
 * their width in *cells. When the rest does not fit, the row ends after the
 * last blank or after the last of brk's bytes (e.g. "," for tags) that
 * leaves something on it, or else at the last whole character that fits. */
size_t text_wrap(const char *s, size_t n, size_t width, const char *brk, size_t *cells);

#endif
