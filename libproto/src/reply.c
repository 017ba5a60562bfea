/*
 * reply.c - replies: encoders (server), the task line, and the incremental
 * reply decoder (client).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "proto-internal.h"

/* Largest n accepted in "DATA n": far beyond any real list, small enough
 * that a hostile peer cannot make the client count forever. */
#define PROTO_MAX_DATA_LINES 100000000u

/* Appends prefix, then text with control bytes replaced by spaces, then
 * CRLF, in one step so that a failed append leaves b as it was. */
static int append_line(struct proto_buf *b, const char *prefix, size_t plen, const char *text,
                       size_t tlen)
{
    if (tlen > SIZE_MAX - plen - 2)
        return -1;
    char *o = proto__buf_extend(b, plen + tlen + 2);
    if (o == NULL)
        return -1;
    memcpy(o, prefix, plen);
    o += plen;
    for (size_t i = 0; i < tlen; i++) {
        unsigned char c = (unsigned char)text[i];
        *o++ = proto__is_ctl(c) ? ' ' : (char)c;
    }
    *o++ = '\r';
    *o = '\n';
    return 0;
}

int proto_reply_ok(struct proto_buf *b, const char *text)
{
    if (text == NULL || text[0] == '\0')
        return append_line(b, "OK", 2, "", 0);
    return append_line(b, "OK ", 3, text, strlen(text));
}

/* "ERR CODE sentence", or "ERR CODE" when there is no sentence; the
 * decoder accepts both. */
int proto_reply_err(struct proto_buf *b, enum proto_err e, const char *msg)
{
    char prefix[32];
    int has_msg = msg != NULL && msg[0] != '\0';
    int n = snprintf(prefix, sizeof prefix, "ERR %s%s", proto_err_name(e), has_msg ? " " : "");
    if (n < 0 || (size_t)n >= sizeof prefix)
        return -1;
    return append_line(b, prefix, (size_t)n, has_msg ? msg : "", has_msg ? strlen(msg) : 0);
}

/* Without snprintf: this header is made for every GET and LIST, and
 * snprintf cost a GET that misses the cache some 700 instructions, 5 % of
 * it (docs/PERFORMANCE.md, issue 15). */
int proto_reply_data(struct proto_buf *b, size_t nlines)
{
    char line[48];
    char *o = line;
    memcpy(o, "DATA ", 5);
    o = proto__write_u64(o + 5, nlines);
    *o++ = '\r';
    *o++ = '\n';
    return proto_buf_append(b, line, (size_t)(o - line));
}

int proto_reply_fields(struct proto_buf *b, const struct proto_str *fields, size_t n)
{
    size_t old = b->len;
    for (size_t i = 0; i < n; i++) {
        if ((i > 0 && proto_buf_append(b, " ", 1) < 0) ||
            proto_quote_append(b, fields[i].ptr, fields[i].len, 0) < 0)
            goto fail;
    }
    if (proto_buf_append(b, "\r\n", 2) < 0)
        goto fail;
    return 0;
fail:
    b->len = old;
    return -1;
}

/* The legacy forms answer bare lines, as the tutorial did; only control
 * bytes are escaped (a newline in a task's text becomes backslash, n), so
 * the answer stays one line and plain text reads as it was stored. */
int proto_reply_bare(struct proto_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t size = 2;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        size_t w = !proto__is_ctl(c) ? 1 : (c == '\n' || c == '\r' || c == '\t') ? 2 : 4;
        if (size > SIZE_MAX - w)
            return -1;
        size += w;
    }
    char *o = proto__buf_extend(b, size);
    if (o == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!proto__is_ctl(c)) {
            *o++ = (char)c;
            continue;
        }
        *o++ = '\\';
        if (c == '\n') {
            *o++ = 'n';
        } else if (c == '\r') {
            *o++ = 'r';
        } else if (c == '\t') {
            *o++ = 't';
        } else {
            *o++ = 'x';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 0xf];
        }
    }
    *o++ = '\r';
    *o = '\n';
    return 0;
}

/* ID STATUS PRI DUE TAGS CREATED UPDATED "TEXT", appended whole or not at
 * all. TEXT is always quoted so that a reader can tell it apart at a
 * glance; the other fields are bare whenever they can be. */
/* Sized first and written in one step (one growth of b instead of one per
 * field: a GET that misses the cache makes one of these lines). */
int proto_task_encode(struct proto_buf *b, const struct proto_task *t)
{
    const char *pri = proto_pri_name(t->pri);
    const char *status = t->done ? "done" : "pending";
    size_t npri = strlen(pri), nstatus = strlen(status);
    size_t ndue = t->due[0] == '\0' ? 0 : strnlen(t->due, PROTO_DATE_LEN);
    int bid, bdue = 1, btags = 1, btext;
    size_t sid = proto__token_size(t->id.ptr, t->id.len, 0, &bid);
    size_t sdue = ndue == 0 ? 1 : proto__token_size(t->due, ndue, 0, &bdue);
    size_t stags = t->tags.len == 0 ? 1 : proto__token_size(t->tags.ptr, t->tags.len, 0, &btags);
    size_t stext = proto__token_size(t->text.ptr, t->text.len, 1, &btext);
    if (sid == 0 || sdue == 0 || stags == 0 || stext == 0)
        return -1;
    /* Seven spaces, two times, the line end; each term is far below
     * SIZE_MAX / 8, so the sum cannot wrap. */
    if (sid > SIZE_MAX / 8 || stags > SIZE_MAX / 8 || stext > SIZE_MAX / 8)
        return -1;
    size_t total = sid + nstatus + npri + sdue + stags + stext + 2 * PROTO_TIME_LEN + 7 + 2;
    char *o = proto__buf_extend(b, total);
    if (o == NULL)
        return -1;
    o = proto__token_write(o, t->id.ptr, t->id.len, bid);
    *o++ = ' ';
    memcpy(o, status, nstatus);
    o += nstatus;
    *o++ = ' ';
    memcpy(o, pri, npri);
    o += npri;
    *o++ = ' ';
    if (ndue == 0)
        *o++ = '-';
    else
        o = proto__token_write(o, t->due, ndue, bdue);
    *o++ = ' ';
    if (t->tags.len == 0)
        *o++ = '-';
    else
        o = proto__token_write(o, t->tags.ptr, t->tags.len, btags);
    *o++ = ' ';
    /* proto_time_format writes a NUL after the time: into a copy, so that
     * the line holds exactly total bytes. */
    char tm[PROTO_TIME_LEN + 1];
    proto_time_format(t->created, tm);
    memcpy(o, tm, PROTO_TIME_LEN);
    o += PROTO_TIME_LEN;
    *o++ = ' ';
    proto_time_format(t->updated, tm);
    memcpy(o, tm, PROTO_TIME_LEN);
    o += PROTO_TIME_LEN;
    *o++ = ' ';
    o = proto__token_write(o, t->text.ptr, t->text.len, btext);
    *o++ = '\r';
    *o++ = '\n';
    return 0;
}

/* Tags on the wire: valid tags joined by single commas. */
static int valid_tag_list(const char *s, size_t len)
{
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || s[i] == ',') {
            if (!proto_valid_tag(s + start, i - start))
                return 0;
            start = i + 1;
        }
    }
    return 1;
}

/* Strict, so that a client notices at once when it talks to something that
 * is not a todo server of this protocol version. */
enum proto_err proto_task_decode(const char *line, size_t len, char *scratch, size_t scratch_cap,
                                 struct proto_task *t, char *err, size_t errcap)
{
    struct proto_token f[PROTO_TASK_FIELDS];
    char why[128];

    memset(t, 0, sizeof *t);
    if (err != NULL && errcap > 0)
        err[0] = '\0';
    int n = proto__tokenize(line, len, scratch, scratch_cap, f, PROTO_TASK_FIELDS, why, sizeof why);
    if (n == PROTO__TOK_TOOMANY) {
        proto__errf(err, errcap, "bad task line: more than %d fields", PROTO_TASK_FIELDS);
        return PROTO_E_SYNTAX;
    }
    if (n < 0) {
        proto__errf(err, errcap, "bad task line: %s", why);
        return PROTO_E_SYNTAX;
    }
    if (n != PROTO_TASK_FIELDS) {
        proto__errf(err, errcap, "bad task line: %d fields instead of %d", n, PROTO_TASK_FIELDS);
        return PROTO_E_SYNTAX;
    }
    if (!proto_valid_id(f[0].s.ptr, f[0].s.len)) {
        proto__errf(err, errcap, "bad task line: the id is not valid");
        return PROTO_E_SYNTAX;
    }
    t->id = f[0].s;

    if (proto__eq(f[1].s.ptr, f[1].s.len, "pending")) {
        t->done = 0;
    } else if (proto__eq(f[1].s.ptr, f[1].s.len, "done")) {
        t->done = 1;
    } else {
        proto__errf(err, errcap, "bad task line: the status is neither pending nor done");
        return PROTO_E_SYNTAX;
    }

    t->pri = -1;
    for (int p = PROTO_PRI_NONE; p <= PROTO_PRI_HIGH; p++)
        if (proto__eq(f[2].s.ptr, f[2].s.len, proto_pri_name(p)))
            t->pri = p;
    if (t->pri < 0) {
        proto__errf(err, errcap, "bad task line: the priority is not -, low, med or high");
        return PROTO_E_SYNTAX;
    }

    if (proto__eq(f[3].s.ptr, f[3].s.len, "-")) {
        t->due[0] = '\0';
    } else if (proto_valid_date(f[3].s.ptr, f[3].s.len)) {
        memcpy(t->due, f[3].s.ptr, PROTO_DATE_LEN);
        t->due[PROTO_DATE_LEN] = '\0';
    } else {
        proto__errf(err, errcap, "bad task line: the due date is not - or YYYY-MM-DD");
        return PROTO_E_SYNTAX;
    }

    if (proto__eq(f[4].s.ptr, f[4].s.len, "-")) {
        t->tags.ptr = f[4].s.ptr;
        t->tags.len = 0;
    } else if (valid_tag_list(f[4].s.ptr, f[4].s.len)) {
        t->tags = f[4].s;
    } else {
        proto__errf(err, errcap, "bad task line: the tags are not - or tags joined by commas");
        return PROTO_E_SYNTAX;
    }

    if (proto_time_parse(f[5].s.ptr, f[5].s.len, &t->created) != 0 ||
        proto_time_parse(f[6].s.ptr, f[6].s.len, &t->updated) != 0) {
        proto__errf(err, errcap, "bad task line: a time is not YYYY-MM-DDTHH:MM:SSZ");
        return PROTO_E_SYNTAX;
    }

    if (!f[7].quoted) {
        proto__errf(err, errcap, "bad task line: the text is not quoted");
        return PROTO_E_SYNTAX;
    }
    if ((f[7].s.len > 0 && memchr(f[7].s.ptr, '\0', f[7].s.len) != NULL) ||
        !proto_valid_utf8(f[7].s.ptr, f[7].s.len)) {
        proto__errf(err, errcap, "bad task line: the text holds a NUL byte or invalid UTF-8");
        return PROTO_E_SYNTAX;
    }
    t->text = f[7].s;
    return PROTO_E_NONE;
}

static void decoder_reset(struct proto_reply_decoder *d)
{
    d->scanned = 0;
    d->seen = 0;
    d->header_len = 0;
    d->have_header = 0;
    memset(&d->hdr, 0, sizeof d->hdr);
}

void proto_reply_decoder_init(struct proto_reply_decoder *d, size_t max_line)
{
    d->max_line = max_line ? max_line : PROTO_MAX_LINE_DEFAULT;
    decoder_reset(d);
}

/* 1 when a line of n bytes so far, with no LF yet, can no longer fit in
 * max_line bytes plus a CR. */
static int partial_too_long(const char *p, size_t n, size_t max)
{
    return n > max && (n - max > 1 || p[max] != '\r');
}

static enum proto_status not_a_reply(const char *line, size_t n, char *err, size_t errcap)
{
    char shown[200];
    proto__snippet(shown, sizeof shown, line, n, 40);
    proto__errf(err, errcap, "not a todo server reply: '%s'", shown);
    return PROTO_ERROR;
}

/* Parses a header line (without terminator) into h. */
static enum proto_status parse_header(const char *line, size_t n, struct proto_reply *h, char *err,
                                      size_t errcap)
{
    memset(h, 0, sizeof *h);
    if (proto__eq(line, n, "OK")) {
        h->kind = PROTO_REPLY_OK;
        h->text.ptr = line + n;
        return PROTO_COMPLETE;
    }
    if (n >= 3 && memcmp(line, "OK ", 3) == 0) {
        h->kind = PROTO_REPLY_OK;
        h->text.ptr = line + 3;
        h->text.len = n - 3;
        return PROTO_COMPLETE;
    }
    if (n > 4 && memcmp(line, "ERR ", 4) == 0) {
        size_t i = 4;
        /* Codes this version does not know are still accepted (as
         * INTERNAL), so they may use any upper-case word. */
        while (i < n && ((line[i] >= 'A' && line[i] <= 'Z') || (line[i] >= '0' && line[i] <= '9') ||
                         line[i] == '_'))
            i++;
        if (i == 4 || (i < n && line[i] != ' '))
            return not_a_reply(line, n, err, errcap);
        h->kind = PROTO_REPLY_ERR;
        h->code.ptr = line + 4;
        h->code.len = i - 4;
        h->err = proto_err_lookup(h->code.ptr, h->code.len);
        if (h->err == PROTO_E_NONE)
            h->err = PROTO_E_INTERNAL; /* "ERR NONE" is no error we can act on */
        if (i < n)
            i++;
        h->text.ptr = line + i;
        h->text.len = n - i;
        return PROTO_COMPLETE;
    }
    /* An event is a kind of its own whatever follows: proto_event_decode()
     * judges the rest, so that the decoder stays a framer. */
    if (n > 6 && memcmp(line, "EVENT ", 6) == 0) {
        h->kind = PROTO_REPLY_EVENT;
        h->text.ptr = line;
        h->text.len = n;
        return PROTO_COMPLETE;
    }
    if (n > 5 && memcmp(line, "DATA ", 5) == 0) {
        size_t v = 0;
        if (n - 5 > 9)
            return not_a_reply(line, n, err, errcap);
        for (size_t i = 5; i < n; i++) {
            if (line[i] < '0' || line[i] > '9')
                return not_a_reply(line, n, err, errcap);
            v = v * 10 + (size_t)(line[i] - '0');
        }
        if (v > PROTO_MAX_DATA_LINES)
            return not_a_reply(line, n, err, errcap);
        h->kind = PROTO_REPLY_DATA;
        h->nlines = v;
        h->text.ptr = line + n;
        return PROTO_COMPLETE;
    }
    return not_a_reply(line, n, err, errcap);
}

/*
 * The decoder keeps, between calls, only offsets into the caller's buffer
 * (which may move): scanned is where the search for the next LF resumes,
 * header_len the size of a DATA header, hdr.body.len the bytes of the
 * whole data lines found so far and seen their number. So every byte is
 * looked at once however the reply arrives. Lines may end in CRLF or in a
 * bare LF. After PROTO_COMPLETE the state is reset for the next reply,
 * which starts after the *consumed bytes the caller drops.
 */
enum proto_status proto_reply_decode(struct proto_reply_decoder *d, const char *buf, size_t len,
                                     size_t *consumed, struct proto_reply *out, char *err,
                                     size_t errcap)
{
    *consumed = 0;
    if (err != NULL && errcap > 0)
        err[0] = '\0';
    if (d->scanned > len || (d->have_header && d->header_len + d->hdr.body.len > len))
        decoder_reset(d); /* the caller dropped bytes we still needed: start over */

    if (!d->have_header) {
        const char *lf = d->scanned < len ? memchr(buf + d->scanned, '\n', len - d->scanned) : NULL;
        if (lf == NULL) {
            if (partial_too_long(buf, len, d->max_line)) {
                proto__errf(err, errcap, "reply line longer than %zu bytes", d->max_line);
                decoder_reset(d);
                return PROTO_ERROR;
            }
            d->scanned = len;
            return PROTO_NEED_MORE;
        }
        size_t end = (size_t)(lf - buf), n = end;
        if (n > 0 && buf[n - 1] == '\r')
            n--;
        if (n > d->max_line) {
            proto__errf(err, errcap, "reply line longer than %zu bytes", d->max_line);
            decoder_reset(d);
            return PROTO_ERROR;
        }
        struct proto_reply h;
        if (parse_header(buf, n, &h, err, errcap) != PROTO_COMPLETE) {
            decoder_reset(d);
            return PROTO_ERROR;
        }
        if (h.kind != PROTO_REPLY_DATA || h.nlines == 0) {
            h.body.ptr = buf + end + 1;
            h.body.len = 0;
            *out = h;
            *consumed = end + 1;
            decoder_reset(d);
            return PROTO_COMPLETE;
        }
        d->hdr = h;
        d->hdr.text.ptr = NULL; /* pointers into buf are not kept across calls */
        d->hdr.body.ptr = NULL;
        d->hdr.body.len = 0;
        d->have_header = 1;
        d->header_len = end + 1;
        d->seen = 0;
        d->scanned = end + 1;
    }

    while (d->seen < d->hdr.nlines) {
        size_t start = d->header_len + d->hdr.body.len; /* of the current data line */
        size_t from = d->scanned < start ? start : d->scanned;
        const char *lf = from < len ? memchr(buf + from, '\n', len - from) : NULL;
        if (lf == NULL) {
            if (partial_too_long(buf + start, len - start, d->max_line)) {
                proto__errf(err, errcap, "data line longer than %zu bytes", d->max_line);
                decoder_reset(d);
                return PROTO_ERROR;
            }
            d->scanned = len;
            return PROTO_NEED_MORE;
        }
        size_t end = (size_t)(lf - buf), n = end - start;
        if (n > 0 && buf[end - 1] == '\r')
            n--;
        if (n > d->max_line) {
            proto__errf(err, errcap, "data line longer than %zu bytes", d->max_line);
            decoder_reset(d);
            return PROTO_ERROR;
        }
        d->hdr.body.len = end + 1 - d->header_len;
        d->scanned = end + 1;
        d->seen++;
    }

    *out = d->hdr;
    out->text.ptr = buf + d->header_len; /* empty, but pointing somewhere valid */
    out->text.len = 0;
    out->body.ptr = buf + d->header_len;
    *consumed = d->header_len + d->hdr.body.len;
    decoder_reset(d);
    return PROTO_COMPLETE;
}

/* Lines end in CRLF or LF; a last line without either is still returned. */
int proto_body_next(struct proto_str *body, struct proto_str *line)
{
    if (body->len == 0)
        return 0;
    const char *lf = memchr(body->ptr, '\n', body->len);
    line->ptr = body->ptr;
    if (lf == NULL) {
        line->len = body->len;
    } else {
        size_t n = (size_t)(lf - body->ptr);
        line->len = n > 0 && lf[-1] == '\r' ? n - 1 : n;
    }
    size_t skip = lf ? (size_t)(lf - body->ptr) + 1 : body->len;
    body->ptr += skip;
    body->len -= skip;
    return 1;
}
