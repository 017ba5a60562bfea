/*
 * text.c - terminal-safe escaping and display width (see text.h).
 */
#define _XOPEN_SOURCE 700 /* wcwidth() */
#include "text.h"

#include <string.h>
#include <wchar.h>

size_t text_utf8_decode(const char *s, size_t n, uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t len;
    uint32_t c, min;

    if (n == 0)
        return 0;
    if (u[0] < 0x80) {
        *cp = u[0];
        return 1;
    }
    if (u[0] >= 0xc2 && u[0] <= 0xdf) {
        len = 2;
        c = u[0] & 0x1f;
        min = 0x80;
    } else if (u[0] >= 0xe0 && u[0] <= 0xef) {
        len = 3;
        c = u[0] & 0x0f;
        min = 0x800;
    } else if (u[0] >= 0xf0 && u[0] <= 0xf4) {
        len = 4;
        c = u[0] & 0x07;
        min = 0x10000;
    } else {
        return 0; /* a continuation byte, C0/C1 (overlong) lead bytes, or F5..FF */
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((u[i] & 0xc0) != 0x80)
            return 0;
        c = c << 6 | (u[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return len;
}

/* The escape for the character at s (of length *len, set here), or NULL
 * when it is shown as it is. buf holds the escapes that are built. */
static const char *escape_of(const char *s, size_t n, size_t *len, char buf[8])
{
    unsigned char c = (unsigned char)s[0];
    uint32_t cp;

    *len = 1;
    switch (c) {
    case '\t':
        return "\\t";
    case '\n':
        return "\\n";
    case '\r':
        return "\\r";
    case '\\':
        return "\\\\";
    case 0x1b:
        return "\\e";
    default:
        break;
    }
    if (c < 0x20 || c == 0x7f) {
        snprintf(buf, 8, "\\x%02x", c);
        return buf;
    }
    if (c < 0x80)
        return NULL;
    size_t l = text_utf8_decode(s, n, &cp);
    if (l == 0) {
        snprintf(buf, 8, "\\x%02x", c);
        return buf;
    }
    *len = l;
    if (cp >= 0x80 && cp <= 0x9f) {
        snprintf(buf, 8, "\\u%04x", (unsigned)cp);
        return buf;
    }
    return NULL;
}

/* Hands s[0..n) to emit in pieces: runs of bytes shown as they are, and
 * the escape of each byte or character that is not. One walk serves the
 * buffer and the stream forms below. 0, or emit's first nonzero return. */
typedef int (*emit_fn)(void *arg, const char *p, size_t len);

static int escape_walk(const char *s, size_t n, emit_fn emit, void *arg)
{
    size_t i = 0, plain = 0; /* s[plain..i) is waiting to be copied as it is */
    char buf[8];
    int rc;

    if (n == 0)
        return 0; /* s may be NULL then */
    while (i < n) {
        size_t len;
        const char *e = escape_of(s + i, n - i, &len, buf);
        if (!e) {
            i += len;
            continue;
        }
        if ((i > plain && (rc = emit(arg, s + plain, i - plain)) != 0) ||
            (rc = emit(arg, e, strlen(e))) != 0)
            return rc;
        i += len;
        plain = i;
    }
    return n > plain ? emit(arg, s + plain, n - plain) : 0;
}

static int emit_buf(void *arg, const char *p, size_t len)
{
    return proto_buf_append(arg, p, len) != 0 ? -1 : 0;
}

static int emit_file(void *arg, const char *p, size_t len)
{
    return fwrite(p, 1, len, arg) == len ? 0 : -1;
}

int text_escape(struct proto_buf *b, const char *s, size_t n)
{
    return escape_walk(s, n, emit_buf, b);
}

int text_is_safe(const char *s, size_t n)
{
    char buf[8];
    for (size_t i = 0; i < n;) {
        size_t len;
        if (escape_of(s + i, n - i, &len, buf))
            return 0;
        i += len;
    }
    return 1;
}

int text_fputs(FILE *fp, const char *s, size_t n)
{
    return escape_walk(s, n, emit_file, fp);
}

struct range {
    uint32_t lo, hi;
};

/* Characters that take no cell: combining marks, zero-width spaces and
 * joiners, variation selectors. */
static const struct range zero_width[] = {
    {0x0300, 0x036f}, {0x0483, 0x0489},   {0x0591, 0x05bd},   {0x05bf, 0x05bf},   {0x05c1, 0x05c2},
    {0x05c4, 0x05c5}, {0x05c7, 0x05c7},   {0x0610, 0x061a},   {0x064b, 0x065f},   {0x0670, 0x0670},
    {0x06d6, 0x06dc}, {0x06df, 0x06e4},   {0x0e31, 0x0e31},   {0x0e34, 0x0e3a},   {0x0e47, 0x0e4e},
    {0x1ab0, 0x1aff}, {0x1dc0, 0x1dff},   {0x200b, 0x200f},   {0x202a, 0x202e},   {0x2060, 0x2064},
    {0x20d0, 0x20ff}, {0x302a, 0x302d},   {0x3099, 0x309a},   {0xfe00, 0xfe0f},   {0xfe20, 0xfe2f},
    {0xfeff, 0xfeff}, {0x1f3fb, 0x1f3ff}, {0xe0001, 0xe007f}, {0xe0100, 0xe01ef},
};

/* Characters that take two cells: East Asian wide and fullwidth forms, and
 * the emoji shown as pictures by default. */
static const struct range wide[] = {
    {0x1100, 0x115f},   {0x231a, 0x231b},   {0x2329, 0x232a},   {0x23e9, 0x23ec},
    {0x23f0, 0x23f0},   {0x23f3, 0x23f3},   {0x25fd, 0x25fe},   {0x2614, 0x2615},
    {0x2648, 0x2653},   {0x267f, 0x267f},   {0x2693, 0x2693},   {0x26a1, 0x26a1},
    {0x26aa, 0x26ab},   {0x26bd, 0x26be},   {0x26c4, 0x26c5},   {0x26ce, 0x26ce},
    {0x26d4, 0x26d4},   {0x26ea, 0x26ea},   {0x26f2, 0x26f3},   {0x26f5, 0x26f5},
    {0x26fa, 0x26fa},   {0x26fd, 0x26fd},   {0x2705, 0x2705},   {0x270a, 0x270b},
    {0x2728, 0x2728},   {0x274c, 0x274c},   {0x274e, 0x274e},   {0x2753, 0x2755},
    {0x2757, 0x2757},   {0x2795, 0x2797},   {0x27b0, 0x27b0},   {0x27bf, 0x27bf},
    {0x2b1b, 0x2b1c},   {0x2b50, 0x2b50},   {0x2b55, 0x2b55},   {0x2e80, 0x3029},
    {0x302e, 0x303e},   {0x3041, 0x3098},   {0x309b, 0x33ff},   {0x3400, 0x4dbf},
    {0x4e00, 0x9fff},   {0xa000, 0xa4cf},   {0xa960, 0xa97f},   {0xac00, 0xd7a3},
    {0xf900, 0xfaff},   {0xfe10, 0xfe19},   {0xfe30, 0xfe6f},   {0xff00, 0xff60},
    {0xffe0, 0xffe6},   {0x16fe0, 0x16fe4}, {0x17000, 0x18aff}, {0x1b000, 0x1b2ff},
    {0x1f004, 0x1f004}, {0x1f0cf, 0x1f0cf}, {0x1f18e, 0x1f18e}, {0x1f191, 0x1f19a},
    {0x1f200, 0x1f251}, {0x1f300, 0x1f320}, {0x1f32d, 0x1f335}, {0x1f337, 0x1f37c},
    {0x1f37e, 0x1f393}, {0x1f3a0, 0x1f3ca}, {0x1f3cf, 0x1f3d3}, {0x1f3e0, 0x1f3f0},
    {0x1f3f4, 0x1f3f4}, {0x1f3f8, 0x1f3fa}, {0x1f400, 0x1f43e}, {0x1f440, 0x1f440},
    {0x1f442, 0x1f4fc}, {0x1f4ff, 0x1f53d}, {0x1f54b, 0x1f54e}, {0x1f550, 0x1f567},
    {0x1f57a, 0x1f57a}, {0x1f595, 0x1f596}, {0x1f5a4, 0x1f5a4}, {0x1f5fb, 0x1f64f},
    {0x1f680, 0x1f6c5}, {0x1f6cc, 0x1f6cc}, {0x1f6d0, 0x1f6d2}, {0x1f6d5, 0x1f6d7},
    {0x1f6dc, 0x1f6df}, {0x1f6eb, 0x1f6ec}, {0x1f6f4, 0x1f6fc}, {0x1f7e0, 0x1f7eb},
    {0x1f7f0, 0x1f7f0}, {0x1f90c, 0x1f93a}, {0x1f93c, 0x1f945}, {0x1f947, 0x1f9ff},
    {0x1fa70, 0x1faff}, {0x20000, 0x2fffd}, {0x30000, 0x3fffd},
};

static int in_ranges(uint32_t cp, const struct range *r, size_t n)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < r[mid].lo)
            hi = mid;
        else if (cp > r[mid].hi)
            lo = mid + 1;
        else
            return 1;
    }
    return 0;
}

int text_cp_width(uint32_t cp)
{
    /* The C library knows the newest Unicode when the locale is UTF-8; in
     * the "C" locale it knows nothing past ASCII (-1), and the tables here
     * answer instead. */
    int w = wcwidth((wchar_t)cp);
    if (w >= 0)
        return w;
    if (in_ranges(cp, zero_width, sizeof(zero_width) / sizeof(zero_width[0])))
        return 0;
    if (in_ranges(cp, wide, sizeof(wide) / sizeof(wide[0])))
        return 2;
    return 1;
}

size_t text_width(const char *s, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len = text_utf8_decode(s + i, n - i, &cp);
        if (len == 0) {
            /* Not escaped text after all: count the byte as the \xHH it would be. */
            w += 4;
            i++;
            continue;
        }
        w += (size_t)text_cp_width(cp);
        i += len;
    }
    return w;
}

size_t text_wrap(const char *s, size_t n, size_t width, const char *brk, size_t *cells)
{
    size_t i = 0, w = 0, cut = 0, cut_w = 0;

    while (i < n) {
        uint32_t cp;
        size_t len = text_utf8_decode(s + i, n - i, &cp);
        size_t cw = len ? (size_t)text_cp_width(cp) : 4;
        if (len == 0)
            len = 1;
        /* A character too wide for the column still goes on an empty row. */
        if (w + cw > width && i > 0)
            break;
        i += len;
        w += cw;
        /* Swallow the marks that combine with this character. */
        while (i < n) {
            size_t l2 = text_utf8_decode(s + i, n - i, &cp);
            if (l2 == 0 || text_cp_width(cp) != 0)
                break;
            i += l2;
        }
        if (s[i - 1] == ' ' || (brk && strchr(brk, s[i - 1]))) {
            cut = i;
            cut_w = w;
        }
    }
    if (i < n && cut > 0) {
        i = cut;
        w = cut_w;
    }
    *cells = w;
    return i;
}
