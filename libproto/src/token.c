/*
 * token.c - the tokenizer shared by requests and data lines.
 *
 * Tokens are separated by runs of spaces and tabs. A token that starts with
 * '"' is quoted: it ends at the next unescaped '"', which must be followed
 * by a space, a tab or the end of the line, and it may hold the escapes
 * \" \\ \n \r \t and \xHH (two hex digits, any byte). Any other escape is an
 * error. A bare token may not contain '"', so quoting is never ambiguous;
 * a backslash in a bare token is taken literally.
 *
 * A quoted token is unescaped into scratch at the same offset its opening
 * quote has in the line. Unescaping never lengthens, so tokens never
 * overlap and scratch needs at most len bytes; and proto_request_parse()
 * can join several tokens into one text in place, from left to right.
 */
#include <limits.h>
#include <string.h>

#include "proto-internal.h"

static int is_sep(char c)
{
    return c == ' ' || c == '\t';
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Unescapes the quoted token starting at line[*pos] == '"' into
 * scratch[*pos...]. On success *pos is just past the closing quote. */
static int unquote(const char *line, size_t len, size_t *pos, char *scratch, size_t scratch_cap,
                   struct proto_str *out, char *err, size_t errcap)
{
    size_t start = *pos, i = start + 1;
    size_t o = start;
    if (scratch == NULL || start > scratch_cap) {
        proto__errf(err, errcap, "internal error: scratch area too small");
        return PROTO__TOK_SYNTAX;
    }
    while (i < len) {
        unsigned char c = (unsigned char)line[i];
        if (c == '"') {
            if (i + 1 < len && !is_sep(line[i + 1])) {
                proto__errf(err, errcap,
                            "a closing quote must be followed by a space or the end of the line "
                            "(at byte %zu)",
                            i + 1);
                return PROTO__TOK_SYNTAX;
            }
            out->ptr = scratch + start;
            out->len = o - start;
            *pos = i + 1;
            return 0;
        }
        if (c == '\\') {
            if (i + 1 >= len)
                break; /* unterminated */
            unsigned char e = (unsigned char)line[i + 1];
            int v;
            switch (e) {
            case '"':
            case '\\':
                v = e;
                i += 2;
                break;
            case 'n':
                v = '\n';
                i += 2;
                break;
            case 'r':
                v = '\r';
                i += 2;
                break;
            case 't':
                v = '\t';
                i += 2;
                break;
            case 'x': {
                int h1 = i + 2 < len ? hexval((unsigned char)line[i + 2]) : -1;
                int h2 = i + 3 < len ? hexval((unsigned char)line[i + 3]) : -1;
                if (h1 < 0 || h2 < 0) {
                    proto__errf(err, errcap,
                                "\\x must be followed by two hex digits, e.g. \\x1b (at byte %zu)",
                                i + 1);
                    return PROTO__TOK_SYNTAX;
                }
                v = h1 * 16 + h2;
                i += 4;
                break;
            }
            default:
                proto__errf(err, errcap,
                            "unknown escape at byte %zu; use \\\" \\\\ \\n \\r \\t or \\xHH",
                            i + 1);
                return PROTO__TOK_SYNTAX;
            }
            c = (unsigned char)v;
        } else {
            i++;
        }
        /* o < i always holds (the opening quote is never written), so
         * o < len; the check guards a scratch shorter than the line. */
        if (o >= scratch_cap) {
            proto__errf(err, errcap, "internal error: scratch area too small");
            return PROTO__TOK_SYNTAX;
        }
        scratch[o++] = (char)c;
    }
    proto__errf(err, errcap, "unterminated quote (the token starting at byte %zu)", start + 1);
    return PROTO__TOK_SYNTAX;
}

int proto__tokenize(const char *line, size_t len, char *scratch, size_t scratch_cap,
                    struct proto_token *toks, size_t max, char *err, size_t errcap)
{
    size_t n = 0, i = 0;
    if (err != NULL && errcap > 0)
        err[0] = '\0';
    if (max > INT_MAX)
        max = INT_MAX; /* the count is returned as an int */
    for (;;) {
        while (i < len && is_sep(line[i]))
            i++;
        if (i >= len)
            break;
        if (n >= max) {
            proto__errf(err, errcap, "too many tokens (at most %zu)", max);
            return PROTO__TOK_TOOMANY;
        }
        struct proto_token *t = &toks[n];
        if (line[i] == '"') {
            int rc = unquote(line, len, &i, scratch, scratch_cap, &t->s, err, errcap);
            if (rc < 0)
                return rc;
            t->quoted = 1;
        } else {
            size_t start = i;
            while (i < len && !is_sep(line[i])) {
                if (line[i] == '"') {
                    proto__errf(err, errcap,
                                "a quote inside a word (at byte %zu); quote the whole word, "
                                "e.g. \"say \\\"hi\\\"\"",
                                i + 1);
                    return PROTO__TOK_SYNTAX;
                }
                i++;
            }
            t->s.ptr = line + start;
            t->s.len = i - start;
            t->quoted = 0;
        }
        n++;
    }
    return (int)n;
}

int proto_tokenize(const char *line, size_t len, char *scratch, size_t scratch_cap,
                   struct proto_token *toks, size_t max, char *err, size_t errcap)
{
    int n = proto__tokenize(line, len, scratch, scratch_cap, toks, max, err, errcap);
    return n < 0 ? -1 : n;
}
