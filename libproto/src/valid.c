/*
 * valid.c - validation of UTF-8, ids, tags and dates; UTC time stamps; and
 * the error-sentence helpers.
 *
 * Calendar arithmetic is done here rather than with timegm(), which is not
 * standard C and depends on the process's environment: the proleptic
 * Gregorian calendar, by Howard Hinnant's days-from-civil algorithm.
 */
#include <stdio.h>
#include <string.h>

#include "proto-internal.h"

/* Rejects overlong forms, UTF-16 surrogates (U+D800..U+DFFF), code points
 * past U+10FFFF and sequences cut short by the end of the input. */
int proto_valid_utf8(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned char c = u[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        unsigned char lo = 0x80, hi = 0xbf; /* range of the second byte */
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            if (c == 0xe0)
                lo = 0xa0; /* overlong below U+0800 */
            else if (c == 0xed)
                hi = 0x9f; /* surrogates */
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            if (c == 0xf0)
                lo = 0x90; /* overlong below U+10000 */
            else if (c == 0xf4)
                hi = 0x8f; /* past U+10FFFF */
        } else {
            return 0; /* continuation byte, 0xc0/0xc1 overlongs, or 0xf5.. */
        }
        if (len - i - 1 < need)
            return 0;
        if (u[i + 1] < lo || u[i + 1] > hi)
            return 0;
        for (size_t k = 2; k <= need; k++)
            if ((u[i + k] & 0xc0) != 0x80)
                return 0;
        i += need + 1;
    }
    return 1;
}

static int name_byte(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

static int valid_id(const char *s, size_t len)
{
    if (s == NULL || len == 0 || len > PROTO_MAX_ID)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!name_byte((unsigned char)s[i]))
            return 0;
    return 1;
}

int proto_valid_id(const char *s, size_t len)
{
    return valid_id(s, len);
}

int proto_valid_user(const char *s, size_t len)
{
    if (s == NULL || len == 0 || len > PROTO_MAX_USER)
        return 0;
    unsigned char c0 = (unsigned char)s[0];
    if (!((c0 >= 'a' && c0 <= 'z') || (c0 >= 'A' && c0 <= 'Z') || (c0 >= '0' && c0 <= '9')))
        return 0;
    for (size_t i = 1; i < len; i++)
        if (!name_byte((unsigned char)s[i]))
            return 0;
    return 1;
}

/* Reads n decimal digits; -1 if any is not a digit. */
static int digits(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Parses "YYYY-MM-DD" with years 0001..9999; 0 on success. */
static int parse_date(const char *s, size_t len, int *y, int *m, int *d)
{
    if (s == NULL || len != PROTO_DATE_LEN || s[4] != '-' || s[7] != '-')
        return -1;
    *y = digits(s, 4);
    *m = digits(s + 5, 2);
    *d = digits(s + 8, 2);
    if (*y < 1 || *m < 1 || *m > 12 || *d < 1 || *d > days_in_month(*y, *m))
        return -1;
    return 0;
}

int proto_valid_date(const char *s, size_t len)
{
    int y, m, d;
    return parse_date(s, len, &y, &m, &d) == 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static char *put_digits(char *o, unsigned v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        o[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return o + n;
}

/* The 4-digit year of the wire form bounds what can be written: times
 * before 0001-01-01T00:00:00Z or after 9999-12-31T23:59:59Z are clamped
 * to those ends, so the output is always PROTO_TIME_LEN bytes and parses
 * back with proto_time_parse(). */
void proto_time_format(int64_t t, char out[PROTO_TIME_LEN + 1])
{
    const int64_t min = days_from_civil(1, 1, 1) * 86400;
    const int64_t max = days_from_civil(9999, 12, 31) * 86400 + 86399;
    if (t < min)
        t = min;
    if (t > max)
        t = max;
    int64_t days = t / 86400, secs = t % 86400;
    if (secs < 0) {
        secs += 86400;
        days--;
    }
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    char *o = out;
    o = put_digits(o, (unsigned)y, 4);
    *o++ = '-';
    o = put_digits(o, m, 2);
    *o++ = '-';
    o = put_digits(o, d, 2);
    *o++ = 'T';
    o = put_digits(o, (unsigned)(secs / 3600), 2);
    *o++ = ':';
    o = put_digits(o, (unsigned)(secs / 60 % 60), 2);
    *o++ = ':';
    o = put_digits(o, (unsigned)(secs % 60), 2);
    *o++ = 'Z';
    *o = '\0';
}

/* Strict: exactly "YYYY-MM-DDTHH:MM:SSZ", a real date, no leap seconds. */
int proto_time_parse(const char *s, size_t len, int64_t *t)
{
    int y, mo, d;
    if (s == NULL || t == NULL || len != PROTO_TIME_LEN)
        return -1;
    if (parse_date(s, PROTO_DATE_LEN, &y, &mo, &d) != 0)
        return -1;
    if (s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z')
        return -1;
    int h = digits(s + 11, 2), mi = digits(s + 14, 2), sec = digits(s + 17, 2);
    if (h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59)
        return -1;
    *t = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec;
    return 0;
}

int64_t proto_date_days(const char *s, size_t len)
{
    int y, m, d;
    if (parse_date(s, len, &y, &m, &d) != 0)
        return INT64_MIN;
    return days_from_civil(y, (unsigned)m, (unsigned)d);
}

/* Writes the date of a day number (days since 1970-01-01) as YYYY-MM-DD;
 * -1 when it falls outside the years 0001..9999 that the wire can carry. */
static int date_from_days(int64_t z, char out[PROTO_DATE_LEN + 1])
{
    int64_t y;
    unsigned m, d;
    if (z < days_from_civil(1, 1, 1) || z > days_from_civil(9999, 12, 31))
        return -1;
    civil_from_days(z, &y, &m, &d);
    char *o = put_digits(out, (unsigned)y, 4);
    *o++ = '-';
    o = put_digits(o, m, 2);
    *o++ = '-';
    o = put_digits(o, d, 2);
    *o = '\0';
    return 0;
}

/* Monday first, as ISO 8601 counts the week: index + 1 is the ISO weekday. */
static const char *const weekday_names[7] = {"monday", "tuesday",  "wednesday", "thursday",
                                             "friday", "saturday", "sunday"};

/* The ISO weekday (1 Monday .. 7 Sunday) of a day number; 1970-01-01 was a Thursday. */
static int iso_weekday(int64_t z)
{
    int64_t w = (z + 3) % 7;
    return (int)(w < 0 ? w + 7 : w) + 1;
}

/* 1 if s[0..n) starts word, ignoring ASCII case. */
static int is_prefix_nocase(const char *s, size_t n, const char *word)
{
    for (size_t i = 0; i < n; i++)
        if (word[i] == '\0' || (s[i] | 0x20) != word[i])
            return 0;
    return 1;
}

int proto_date_resolve(const char *word, size_t len, const char *today,
                       char out[PROTO_DATE_LEN + 1])
{
    int y, m, d;
    out[0] = '\0';
    if (word == NULL || today == NULL || parse_date(today, PROTO_DATE_LEN, &y, &m, &d) != 0)
        return -1;
    int64_t z = days_from_civil(y, (unsigned)m, (unsigned)d);
    if (proto_valid_date(word, len)) {
        memcpy(out, word, PROTO_DATE_LEN);
        out[PROTO_DATE_LEN] = '\0';
        return 0;
    }
    if (proto__eq_nocase(word, len, "none"))
        return 1;
    if (proto__eq_nocase(word, len, "today"))
        return date_from_days(z, out);
    if (proto__eq_nocase(word, len, "tomorrow"))
        return date_from_days(z + 1, out);
    if (proto__eq_nocase(word, len, "yesterday"))
        return date_from_days(z - 1, out);
    if (proto__eq_nocase(word, len, "eow")) /* the ISO week's last day, a Sunday */
        return date_from_days(z + (7 - iso_weekday(z)), out);
    if (proto__eq_nocase(word, len, "eom"))
        return date_from_days(days_from_civil(y, (unsigned)m, (unsigned)days_in_month(y, m)), out);
    if (proto__eq_nocase(word, len, "eoy"))
        return date_from_days(days_from_civil(y, 12, 31), out);
    for (int i = 0; i < 7; i++) {
        /* A weekday is the next such day strictly after today, so that "due:fri"
         * said on a Friday means a week ahead, as a person saying it would. */
        if (proto__eq_nocase(word, len, weekday_names[i]) ||
            (len == 3 && is_prefix_nocase(word, len, weekday_names[i]))) {
            int ahead = (i + 1 - iso_weekday(z) + 7) % 7;
            return date_from_days(z + (ahead == 0 ? 7 : ahead), out);
        }
    }
    /* +Nd, +Nw, +Nm: one to four digits and a unit. */
    if (len >= 3 && len <= 6 && word[0] == '+') {
        int n = digits(word + 1, len - 2);
        char unit = (char)(word[len - 1] | 0x20);
        if (n < 0)
            return -1;
        if (unit == 'd')
            return date_from_days(z + n, out);
        if (unit == 'w')
            return date_from_days(z + 7 * (int64_t)n, out);
        if (unit == 'm') {
            /* Months clamp to the target month's last day: Jan 31 + 1m is the
             * last of February, not a day in March. */
            int64_t months = (int64_t)y * 12 + (m - 1) + n;
            int64_t ny = months / 12;
            int nm = (int)(months % 12) + 1;
            if (ny > 9999)
                return -1;
            int dim = days_in_month((int)ny, nm);
            return date_from_days(days_from_civil(ny, (unsigned)nm, (unsigned)(d > dim ? dim : d)),
                                  out);
        }
    }
    return -1;
}

const char *const *proto_date_words(void)
{
    static const char *const words[] = {"today", "tomorrow", "yesterday", "mon", "tue", "wed",
                                        "thu",   "fri",      "sat",       "sun", "eow", "eom",
                                        "eoy",   "+1d",      "+1w",       "+1m", NULL};
    return words;
}

int proto_date_word_valid(const char *word, size_t len)
{
    char out[PROTO_DATE_LEN + 1];
    /* The words' syntax does not depend on the day; a day mid-range makes
     * every word that is well formed resolve. */
    return proto_date_resolve(word, len, "5000-06-15", out) >= 0;
}

void proto__errf(char *err, size_t errcap, const char *fmt, ...)
{
    if (err == NULL || errcap == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err, errcap, fmt, ap);
    va_end(ap);
    if (n < 0)
        err[0] = '\0';
}

/* Length of the UTF-8 character starting with byte c, 1 for anything that
 * does not start a valid sequence (it is then shown escaped). */
static size_t utf8_seq_len(const unsigned char *u, size_t avail)
{
    size_t need = u[0] >= 0xf0 ? 4 : u[0] >= 0xe0 ? 3 : u[0] >= 0xc2 ? 2 : 1;
    if (u[0] < 0x80 || need > avail || !proto_valid_utf8((const char *)u, need))
        return 1;
    return need;
}

void proto__snippet(char *out, size_t cap, const char *s, size_t n, size_t max)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    size_t o = 0, i = 0;
    if (cap == 0)
        return;
    /* Keeps room for "..." and the NUL at every step. */
    while (i < n && i < max) {
        size_t k = utf8_seq_len(u + i, n - i);
        int esc = k == 1 && (u[i] >= 0x80 || proto__is_ctl(u[i]));
        int pair = u[i] == '\'' || u[i] == '\\'; /* shown as \' and \\ */
        size_t w = esc ? 4 : pair ? 2 : k;
        if (i + k > max || o + w + 4 > cap)
            break;
        if (pair) {
            out[o++] = '\\';
            out[o++] = (char)u[i];
        } else if (esc) {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[u[i] >> 4];
            out[o++] = hex[u[i] & 0xf];
        } else {
            memcpy(out + o, u + i, k);
            o += k;
        }
        i += k;
    }
    if (i < n && o + 4 <= cap) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o < cap ? o : cap - 1] = '\0';
}
