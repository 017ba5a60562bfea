/*
 * unicode.c - which characters are letters and digits (for tags), and
 * LIST's word matching. libproto knows no locale: the characters past
 * ASCII come from a table generated from the Unicode database
 * (unicode-table.h, made by scripts/gen-unicode-tags.py).
 */
#include <string.h>

#include "proto-internal.h"
#include "unicode-table.h"

/* Decodes the UTF-8 character at s[i] (the input is valid UTF-8, checked
 * by the caller) into *cp and returns its length in bytes. */
static size_t utf8_decode(const unsigned char *s, size_t len, size_t i, uint32_t *cp)
{
    unsigned char c = s[i];
    size_t n = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    if (n > len - i)
        n = len - i;
    uint32_t v = n == 1 ? c : n == 2 ? (c & 0x1fu) : n == 3 ? (c & 0x0fu) : (c & 0x07u);
    for (size_t k = 1; k < n; k++)
        v = (v << 6) | (s[i + k] & 0x3fu);
    *cp = v;
    return n;
}

/* The character that ends just before s[i] (i > 0). */
static uint32_t utf8_before(const unsigned char *s, size_t len, size_t i)
{
    size_t j = i - 1;
    while (j > 0 && (s[j] & 0xc0) == 0x80 && i - j < 4)
        j--;
    uint32_t cp;
    utf8_decode(s, len, j, &cp);
    return cp;
}

int proto_letter_or_digit(uint32_t cp)
{
    if (cp < 0x80)
        return (cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9');
    size_t lo = 0, hi = sizeof(proto__word_ranges) / sizeof(proto__word_ranges[0]);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < proto__word_ranges[mid][0])
            hi = mid;
        else if (cp > proto__word_ranges[mid][1])
            lo = mid + 1;
        else
            return 1;
    }
    return 0;
}

const char *proto_unicode_version(void)
{
    return PROTO__UNICODE_VERSION;
}

/* Checked on the bytes first, so that the table is consulted only past
 * ASCII and an invalid sequence is refused before it is decoded. */
int proto_valid_tag(const char *s, size_t len)
{
    if (s == NULL || len == 0 || len > PROTO_MAX_TAG || !proto_valid_utf8(s, len))
        return 0;
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = utf8_decode(u, len, i, &cp);
        if (!(proto_letter_or_digit(cp) || cp == '_' || cp == '.' || cp == '-'))
            return 0;
        i += n;
    }
    return 1;
}

/*
 * Scripts written without spaces between words (Chinese, Japanese, Thai,
 * Lao, Khmer, Myanmar): a word of them is found anywhere in the text,
 * since nothing marks where their words begin or end. The blocks, not a
 * Script property, decide; that is close enough for a search.
 */
static int unspaced(uint32_t cp)
{
    static const uint32_t blocks[][2] = {
        {0x0E00, 0x0EFF},   /* Thai, Lao */
        {0x1000, 0x109F},   /* Myanmar */
        {0x1780, 0x17FF},   /* Khmer */
        {0x2E80, 0x2FDF},   /* CJK radicals, Kangxi radicals */
        {0x3005, 0x3007},   /* ideographic iteration and number zero */
        {0x3040, 0x30FF},   /* Hiragana, Katakana */
        {0x31F0, 0x31FF},   /* Katakana phonetic extensions */
        {0x3400, 0x4DBF},   /* CJK extension A */
        {0x4E00, 0x9FFF},   /* CJK unified ideographs */
        {0xF900, 0xFAFF},   /* CJK compatibility ideographs */
        {0xFF66, 0xFF9F},   /* half-width Katakana */
        {0x20000, 0x3FFFF}, /* CJK extensions B and on */
    };
    for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++)
        if (cp >= blocks[i][0] && cp <= blocks[i][1])
            return 1;
    return 0;
}

/* A character that, next to a match, makes it part of a longer word. */
static int joins(uint32_t cp)
{
    return (proto_letter_or_digit(cp) || cp == '_') && !unspaced(cp);
}

static unsigned char fold(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* Whether w[0..wl) occurs in t[0..tl) as a word, ignoring ASCII case:
 * where w begins (ends) with a letter or digit, the text must not go on
 * with one before (after) the match. */
static int has_word(const unsigned char *t, size_t tl, const unsigned char *w, size_t wl)
{
    uint32_t cp;
    utf8_decode(w, wl, 0, &cp);
    int first_joins = joins(cp);
    int last_joins = joins(utf8_before(w, wl, wl));
    for (size_t i = 0; wl <= tl && i <= tl - wl; i++) {
        size_t k = 0;
        while (k < wl && fold(t[i + k]) == fold(w[k]))
            k++;
        if (k < wl)
            continue;
        /* A match inside a UTF-8 character cannot happen: w starts with
         * a lead byte and t is valid UTF-8. */
        if (i > 0 && first_joins && joins(utf8_before(t, tl, i)))
            continue;
        if (i + wl < tl && last_joins) {
            uint32_t after;
            utf8_decode(t, tl, i + wl, &after);
            if (joins(after))
                continue;
        }
        return 1;
    }
    return 0;
}

static int blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int proto_text_has_words(const char *text, size_t tlen, const char *words, size_t wlen)
{
    const unsigned char *t = (const unsigned char *)text, *w = (const unsigned char *)words;
    if (wlen > 0 && w == NULL)
        return 0;
    if (tlen > 0 && t == NULL)
        tlen = 0;
    for (size_t i = 0; i < wlen;) {
        while (i < wlen && blank(w[i]))
            i++;
        size_t start = i;
        while (i < wlen && !blank(w[i]))
            i++;
        if (i > start && !has_word(t, tlen, w + start, i - start))
            return 0;
    }
    return 1;
}
