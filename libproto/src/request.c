/*
 * request.c - requests: line framing, parsing and encoding.
 */
#include <string.h>

#include "proto-internal.h"

void proto_reader_init(struct proto_reader *r, size_t max_line)
{
    /* 0 would allow only empty lines, which no caller wants: it means the
     * default, as for proto_reply_decoder_init(). */
    r->max_line = max_line ? max_line : PROTO_MAX_LINE_DEFAULT;
    r->scanned = 0;
    r->discarding = 0;
}

/*
 * The caller drops the *consumed bytes after every call, whatever the
 * status, and appends new bytes to the rest (see struct proto_reader).
 *
 * A line is complete at LF, and a CR right before the LF is stripped.
 *
 * r->scanned remembers how far the caller's buffer has already been
 * searched for LF, so that calling again on a growing buffer costs only the
 * new bytes: framing is O(n) in total however the bytes arrive.
 *
 * A line longer than max_line (counted without its terminator) gives
 * PROTO_ERROR once. When its LF is already here, the whole line is consumed
 * and reading goes on with the next call. When it is not, the error is
 * reported as soon as the line cannot fit any more (more than max_line
 * bytes, plus one for a CR), everything is consumed, and the reader then
 * drops bytes silently, call after call, up to and including the next LF.
 * When that LF arrives, the bytes after it are examined in the same call,
 * so a whole line following the skipped tail is returned at once;
 * *consumed then also counts the skipped bytes in front of it.
 */
enum proto_status proto_reader_next(struct proto_reader *r, const char *buf, size_t len,
                                    const char **line, size_t *line_len, size_t *consumed)
{
    size_t base = 0, from = r->scanned;
    const char *lf;

    *consumed = 0;
    *line = NULL;
    *line_len = 0;
    if (from > len)
        from = 0; /* the caller dropped more than we said: rescan */

    if (r->discarding) {
        lf = from < len ? memchr(buf + from, '\n', len - from) : NULL;
        if (lf == NULL) {
            *consumed = len;
            r->scanned = 0;
            return PROTO_NEED_MORE;
        }
        base = (size_t)(lf - buf) + 1;
        from = base;
        r->discarding = 0;
    }

    lf = from < len ? memchr(buf + from, '\n', len - from) : NULL;
    if (lf != NULL) {
        size_t end = (size_t)(lf - buf);
        size_t n = end - base;
        if (n > 0 && buf[end - 1] == '\r')
            n--;
        r->scanned = 0;
        *consumed = end + 1;
        if (n > r->max_line)
            return PROTO_ERROR;
        *line = buf + base;
        *line_len = n;
        return PROTO_COMPLETE;
    }

    /* Too long once more than max_line bytes are here, unless the one
     * extra byte is the CR of a CRLF still to come. Written without
     * max_line + 1, which would wrap for max_line == SIZE_MAX. */
    size_t n = len - base, max = r->max_line;
    if (n > max && (n - max > 1 || buf[base + max] != '\r')) {
        *consumed = len;
        r->discarding = 1;
        r->scanned = 0;
        return PROTO_ERROR;
    }
    *consumed = base;
    r->scanned = n; /* relative to the buffer after dropping base bytes */
    return PROTO_NEED_MORE;
}

static void request_reset(struct proto_request *req)
{
    memset(req, 0, sizeof *req);
    req->cmd = PROTO_CMD_NONE;
    req->pri = PROTO_PRI_NONE;
    req->filter = PROTO_FILTER_PENDING;
}

static int starts_with_nocase(const char *s, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && proto__eq_nocase(s, n, prefix);
}

/*
 * The tutorial's GET/<key>[/<field>...]: the key runs up to the next '/'
 * and must be a valid id; the field is ignored, as the tutorial did.
 */
static enum proto_err parse_legacy_get(const char *line, size_t len, struct proto_request *req,
                                       char *err, size_t errcap)
{
    const char *key = line + 4;
    size_t rest = len - 4;
    const char *slash = memchr(key, '/', rest);
    size_t klen = slash ? (size_t)(slash - key) : rest;

    req->cmd = PROTO_CMD_LEGACY_GET;
    if (!proto_valid_id(key, klen)) {
        proto__errf(err, errcap,
                    "GET/ needs a task id of letters, digits, '_', '.' or '-', "
                    "e.g. GET/task_02/status");
        return PROTO_E_ARGS;
    }
    req->id.ptr = key;
    req->id.len = klen;
    return PROTO_E_NONE;
}

/*
 * The tutorial's POST/<key>=<text>[/<field>]: the key runs up to '=' and
 * must be a valid id; the text runs from after '=' to the last '/' when
 * there is one after '=', else to the end of the line. The text is taken
 * raw, without unescaping, and may not be empty.
 */
static enum proto_err parse_legacy_post(const char *line, size_t len, struct proto_request *req,
                                        char *err, size_t errcap)
{
    const char *key = line + 5;
    size_t rest = len - 5;
    const char *eq = memchr(key, '=', rest);

    req->cmd = PROTO_CMD_LEGACY_POST;
    if (eq == NULL) {
        proto__errf(err, errcap,
                    "POST/ needs a task id, '=' and the text, e.g. POST/task_04=buy milk/status");
        return PROTO_E_SYNTAX;
    }
    size_t klen = (size_t)(eq - key);
    if (!proto_valid_id(key, klen)) {
        proto__errf(err, errcap,
                    "POST/ needs a task id of letters, digits, '_', '.' or '-' before '=', "
                    "e.g. POST/task_04=buy milk/status");
        return PROTO_E_ARGS;
    }
    const char *text = eq + 1;
    const char *end = line + len;
    for (const char *p = end; p > text; p--) {
        if (p[-1] == '/') {
            end = p - 1;
            break;
        }
    }
    if (end == text) {
        proto__errf(err, errcap,
                    "POST/ needs the task's text after '=', e.g. POST/task_04=buy milk");
        return PROTO_E_ARGS;
    }
    req->id.ptr = key;
    req->id.len = klen;
    req->text.ptr = text;
    req->text.len = (size_t)(end - text);
    req->has_text = 1;
    return PROTO_E_NONE;
}

/* Adds s to a tag set unless it is already there. */
static int add_tag(struct proto_str *set, size_t *n, const char *s, size_t len)
{
    for (size_t i = 0; i < *n; i++)
        if (set[i].len == len && memcmp(set[i].ptr, s, len) == 0)
            return 0;
    if (*n >= PROTO_MAX_TAGS)
        return -1;
    set[*n].ptr = s;
    set[*n].len = len;
    (*n)++;
    return 0;
}

/* Where a token's bytes start, as an offset into the line: quoted tokens
 * are unescaped into scratch at their offset in the line (see token.c). */
static size_t token_offset(const struct proto_token *t, const char *line, const char *scratch)
{
    return t->quoted ? (size_t)(t->s.ptr - scratch) : (size_t)(t->s.ptr - line);
}

enum words_mode { WORDS_ADD, WORDS_EDIT, WORDS_LIST };

/* sort:FIELD[,FIELD]... into req->sort; 0, or -1 for a field we do not know. */
static int parse_sort(const char *p, size_t l, struct proto_request *req)
{
    static const char *const names[] = {NULL, "due", "pri", "created", "updated", "id"};
    req->nsort = 0;
    if (proto__eq_nocase(p, l, "next")) {
        static const int next[] = {PROTO_SORT_DUE, PROTO_SORT_PRI, PROTO_SORT_CREATED,
                                   PROTO_SORT_ID};
        memcpy(req->sort, next, sizeof(next));
        req->nsort = 4;
        return 0;
    }
    size_t i = 0;
    while (i <= l) {
        size_t j = i;
        while (j < l && p[j] != ',')
            j++;
        int desc = j > i && p[i] == '-';
        int f = 0;
        for (int k = 1; k <= PROTO_SORT_ID; k++)
            if (proto__eq_nocase(p + i + desc, j - i - (size_t)desc, names[k]))
                f = k;
        if (f == 0 || req->nsort == PROTO_MAX_SORT)
            return -1;
        req->sort[req->nsort++] = desc ? -f : f;
        i = j + 1;
    }
    return 0;
}

/* LIST's filter and order words: sort:..., due:before:DATE, due:after:DATE,
 * overdue (only with a today) and pri:LEVEL. PROTO_E_NONE when p was one,
 * PROTO_E__COUNT when it is none of them (then it is text, or a tag), or
 * PROTO_E_ARGS with a sentence. */
static enum proto_err list_word(const char *p, size_t l, const char *today,
                                struct proto_request *req, char *err, size_t errcap)
{
    if (l >= 5 && proto__eq_nocase(p, 5, "sort:")) {
        if (parse_sort(p + 5, l - 5, req) != 0) {
            proto__errf(err, errcap,
                        "LIST sorts by due, pri, created, updated or id, at most %d of them "
                        "joined by commas, each with '-' for descending, or by next, e.g. "
                        "sort:due,-pri",
                        PROTO_MAX_SORT);
            return PROTO_E_ARGS;
        }
        return PROTO_E_NONE;
    }
    int before = l >= 11 && proto__eq_nocase(p, 11, "due:before:");
    int after = l >= 10 && proto__eq_nocase(p, 10, "due:after:");
    if (before || after) {
        size_t k = before ? 11 : 10;
        char *out = before ? req->due_before : req->due_after;
        if (proto_valid_date(p + k, l - k)) {
            memcpy(out, p + k, PROTO_DATE_LEN);
            out[PROTO_DATE_LEN] = '\0';
        } else if (today == NULL || proto_date_resolve(p + k, l - k, today, out) != 0) {
            out[0] = '\0';
            proto__errf(err, errcap, "%s takes a date as YYYY-MM-DD%s, e.g. %s2026-12-01",
                        before ? "due:before:" : "due:after:",
                        today ? " or a word such as today, fri or +1w" : "",
                        before ? "due:before:" : "due:after:");
            return PROTO_E_ARGS;
        }
        return PROTO_E_NONE;
    }
    if (today != NULL && proto__eq_nocase(p, l, "overdue")) {
        req->overdue = 1;
        memcpy(req->due_before, today, PROTO_DATE_LEN + 1);
        return PROTO_E_NONE;
    }
    if (l >= 4 && proto__eq_nocase(p, 4, "pri:")) {
        int pri = proto_pri_parse(p + 4, l - 4);
        if (pri < 0) {
            proto__errf(err, errcap, "LIST's pri: is low, med, high or none, e.g. pri:high");
            return PROTO_E_ARGS;
        }
        req->pri_match = pri + 1;
        return PROTO_E_NONE;
    }
    return PROTO_E__COUNT;
}

/*
 * The words of ADD, EDIT and LIST. Only unquoted words are special, so any
 * text can be sent by quoting it:
 *   +tag        a tag (ADD, EDIT: add it; LIST: filter); must be a valid tag
 *   -tag        EDIT: remove the tag; must be a valid tag
 *   due:DATE    ADD, EDIT: the due date; due:none clears it (EDIT)
 *   pri:LEVEL   ADD, EDIT: the priority, see proto_pri_parse()
 *   pending|done|all   LIST, first word only: the status filter
 * Everything else, a lone "+" or "-" included, is text. One text token is
 * taken exactly as it is; several are joined with single spaces, so that
 * "ADD buy milk" works from nc. The join is done in scratch and in place:
 * each quoted token lies in scratch at its offset in the line, and the
 * joined text, written from the first text token's offset on, never
 * overtakes a token still to be read (one space stands for a run of
 * separators, and unescaping never lengthens).
 */
static enum proto_err parse_words(enum words_mode mode, const char *verb, struct proto_token *a,
                                  size_t n, const char *line, char *scratch, size_t scratch_cap,
                                  const char *today, struct proto_request *req, char *err,
                                  size_t errcap)
{
    size_t ntext = 0;

    for (size_t i = 0; i < n; i++) {
        const struct proto_token *t = &a[i];
        const char *p = t->s.ptr;
        size_t l = t->s.len;
        if (!t->quoted) {
            if (mode == WORDS_LIST && i == 0) {
                if (proto__eq_nocase(p, l, "pending")) {
                    req->filter = PROTO_FILTER_PENDING;
                    continue;
                }
                if (proto__eq_nocase(p, l, "done")) {
                    req->filter = PROTO_FILTER_DONE;
                    continue;
                }
                if (proto__eq_nocase(p, l, "all")) {
                    req->filter = PROTO_FILTER_ALL;
                    continue;
                }
            }
            if (mode == WORDS_LIST) {
                enum proto_err lr = list_word(p, l, today, req, err, errcap);
                if (lr == PROTO_E_NONE)
                    continue;
                if (lr != PROTO_E__COUNT)
                    return lr;
            }
            if (l > 1 && p[0] == '+') {
                if (!proto_valid_tag(p + 1, l - 1)) {
                    proto__errf(err, errcap,
                                "a tag is 1 to %d bytes of letters or digits (of any script), '_', "
                                "'.' or '-', e.g. +home "
                                "(quote the word to use it as text)",
                                PROTO_MAX_TAG);
                    return PROTO_E_ARGS;
                }
                if (add_tag(req->tags, &req->ntags, p + 1, l - 1) < 0) {
                    proto__errf(err, errcap, "%s takes at most %d tags", verb, PROTO_MAX_TAGS);
                    return PROTO_E_ARGS;
                }
                continue;
            }
            if (mode == WORDS_EDIT && l > 1 && p[0] == '-') {
                if (!proto_valid_tag(p + 1, l - 1)) {
                    proto__errf(err, errcap,
                                "a tag is 1 to %d bytes of letters or digits (of any script), '_', "
                                "'.' or '-', e.g. -home "
                                "(quote the word to use it as text)",
                                PROTO_MAX_TAG);
                    return PROTO_E_ARGS;
                }
                if (add_tag(req->untags, &req->nuntags, p + 1, l - 1) < 0) {
                    proto__errf(err, errcap, "EDIT removes at most %d tags at once",
                                PROTO_MAX_TAGS);
                    return PROTO_E_ARGS;
                }
                continue;
            }
            if (mode != WORDS_LIST && l >= 4 && proto__eq_nocase(p, 4, "due:")) {
                if (proto__eq_nocase(p + 4, l - 4, "none")) {
                    req->due_op = mode == WORDS_EDIT ? -1 : 0;
                    req->due[0] = '\0';
                } else if (proto_valid_date(p + 4, l - 4)) {
                    memcpy(req->due, p + 4, PROTO_DATE_LEN);
                    req->due[PROTO_DATE_LEN] = '\0';
                    req->due_op = 1;
                } else if (today != NULL &&
                           proto_date_resolve(p + 4, l - 4, today, req->due) == 0) {
                    req->due_op = 1;
                } else {
                    proto__errf(err, errcap,
                                "the due date must be a real date as YYYY-MM-DD, "
                                "e.g. due:2026-12-01%s%s",
                                today != NULL ? ", or a word such as today, tomorrow, fri, +3d, "
                                                "+2w, +1m, eow, eom or eoy"
                                              : "",
                                mode == WORDS_EDIT ? ", or due:none" : "");
                    return PROTO_E_ARGS;
                }
                continue;
            }
            if (mode != WORDS_LIST && l >= 4 && proto__eq_nocase(p, 4, "pri:")) {
                int pri = proto_pri_parse(p + 4, l - 4);
                if (pri < 0) {
                    proto__errf(err, errcap,
                                "the priority must be low, med, high or none, e.g. pri:high");
                    return PROTO_E_ARGS;
                }
                req->pri = pri;
                continue;
            }
        }
        /* Text: gathered at the front of a[], in order (ntext <= i). */
        a[ntext++] = a[i];
    }

    if (ntext == 1) {
        req->text = a[0].s;
        req->has_text = 1;
    } else if (ntext > 1) {
        size_t w = token_offset(&a[0], line, scratch);
        size_t start = w;
        for (size_t i = 0; i < ntext; i++) {
            size_t need = a[i].s.len + (i > 0);
            if (need > scratch_cap || w > scratch_cap - need) {
                proto__errf(err, errcap, "internal error: scratch area too small");
                return PROTO_E_INTERNAL;
            }
            if (i > 0)
                scratch[w++] = ' ';
            memmove(scratch + w, a[i].s.ptr, a[i].s.len);
            w += a[i].s.len;
        }
        req->text.ptr = scratch + start;
        req->text.len = w - start;
        req->has_text = 1;
    }
    return PROTO_E_NONE;
}

/* Quoted tokens may carry any byte through \xHH; the text ends up in C
 * strings and SQLite TEXT, so NUL and invalid UTF-8 are refused here too. */
static enum proto_err check_encoding(const struct proto_token *t, size_t n, char *err,
                                     size_t errcap)
{
    for (size_t i = 0; i < n; i++) {
        if (!t[i].quoted)
            continue; /* bare bytes were checked with the whole line */
        if (t[i].s.len > 0 && memchr(t[i].s.ptr, '\0', t[i].s.len) != NULL) {
            proto__errf(err, errcap, "a quoted argument contains a NUL byte (\\x00)");
            return PROTO_E_ENCODING;
        }
        if (!proto_valid_utf8(t[i].s.ptr, t[i].s.len)) {
            proto__errf(err, errcap, "a quoted argument is not valid UTF-8 once unescaped");
            return PROTO_E_ENCODING;
        }
    }
    return PROTO_E_NONE;
}

/* A user's name (AUTH, USER; SHARE's and USE's, which may be a list's):
 * 0, or -1 with the rule said in err. A quoted word is a name only where
 * quoted_ok (AUTH's, whose password beside it is often quoted). */
static int want_user(const struct proto_token *t, int quoted_ok, const char *what, char *err,
                     size_t errcap)
{
    if ((quoted_ok || !t->quoted) && proto_valid_user(t->s.ptr, t->s.len))
        return 0;
    proto__errf(err, errcap,
                "%s name has 1 to %d letters, digits, '.', '_' or '-' and begins with a letter or "
                "a digit",
                what, PROTO_MAX_USER);
    return -1;
}

static enum proto_err want_id(const char *verb, const struct proto_token *a, size_t n,
                              struct proto_request *req, char *err, size_t errcap)
{
    if (n != 1 || !proto_valid_id(a[0].s.ptr, a[0].s.len)) {
        proto__errf(err, errcap,
                    "%s takes one task id (1 to %d letters, digits, '_', '.' or '-'), e.g. %s 42",
                    verb, PROTO_MAX_ID, verb);
        return PROTO_E_ARGS;
    }
    req->id = a[0].s;
    return PROTO_E_NONE;
}

/* IMPORT's CREATED and UPDATED: a UTC time as task lines carry it, or "-". */
static int import_time(const struct proto_token *t, int64_t *out)
{
    if (!t->quoted && t->s.len == 1 && t->s.ptr[0] == '-') {
        *out = PROTO_TIME_NOW;
        return 0;
    }
    return proto_time_parse(t->s.ptr, t->s.len, out);
}

/*
 * IMPORT MODE ID STATUS CREATED UPDATED and then the words of ADD: the
 * fields a task line has, in the order export needs to give them back.
 */
static enum proto_err parse_import(struct proto_token *a, size_t na, const char *line,
                                   char *scratch, size_t scratch_cap, struct proto_request *req,
                                   char *err, size_t errcap)
{
    static const char usage[] =
        "IMPORT takes skip, replace or fail, a task id, pending or done, the created and "
        "updated times (YYYY-MM-DDTHH:MM:SSZ, or - for now) and the task's words, e.g. "
        "IMPORT fail 42 done 2026-11-26T10:00:00Z 2026-11-27T08:30:00Z \"buy milk\" +home";
    int mode;
    if (na < 6 || (mode = proto_import_mode_parse(a[0].s.ptr, a[0].s.len)) < 0 ||
        !proto_valid_id(a[1].s.ptr, a[1].s.len)) {
        proto__errf(err, errcap, "%s", usage);
        return PROTO_E_ARGS;
    }
    req->import_mode = mode;
    req->id = a[1].s;
    if (proto__eq_nocase(a[2].s.ptr, a[2].s.len, "done"))
        req->done = 1;
    else if (!proto__eq_nocase(a[2].s.ptr, a[2].s.len, "pending")) {
        proto__errf(err, errcap, "IMPORT's status is pending or done; %s", usage);
        return PROTO_E_ARGS;
    }
    if (import_time(&a[3], &req->created) != 0 || import_time(&a[4], &req->updated) != 0) {
        proto__errf(err, errcap, "IMPORT's times are YYYY-MM-DDTHH:MM:SSZ (UTC) or -; %s", usage);
        return PROTO_E_ARGS;
    }
    /* No today: an import restores dates as export wrote them, never words. */
    enum proto_err rc = parse_words(WORDS_ADD, "IMPORT", a + 5, na - 5, line, scratch, scratch_cap,
                                    NULL, req, err, errcap);
    if (rc != PROTO_E_NONE)
        return rc;
    if (!req->has_text || req->text.len == 0) {
        proto__errf(err, errcap, "IMPORT needs the task's text; %s", usage);
        return PROTO_E_ARGS;
    }
    return PROTO_E_NONE;
}

/* Digits only, no sign, no leading zero but for "0", at most 2^64 - 1; 0,
 * or -1 for anything else. */
static int parse_u64(const char *p, size_t l, uint64_t *out)
{
    uint64_t v = 0;
    if (l == 0 || l > 20 || (l > 1 && p[0] == '0'))
        return -1;
    for (size_t i = 0; i < l; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        unsigned d = (unsigned)(p[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/*
 * WATCH [pending|done|all] [+TAG]... [since:SEQ], in any order: at most one
 * status word and one since:, tags as LIST's. Nothing else is taken, not
 * even a quoted word, so that a typo never widens what a client watches.
 */
static enum proto_err parse_watch(const struct proto_token *a, size_t n, struct proto_request *req,
                                  char *err, size_t errcap)
{
    static const char usage[] = "WATCH takes [pending|done|all] [+TAG]... [since:SEQ], e.g. "
                                "WATCH pending +work";
    int have_status = 0;
    req->filter = PROTO_FILTER_ALL;
    for (size_t i = 0; i < n; i++) {
        const char *p = a[i].s.ptr;
        size_t l = a[i].s.len;
        if (a[i].quoted)
            goto bad;
        int f = proto__eq_nocase(p, l, "pending") ? PROTO_FILTER_PENDING
                : proto__eq_nocase(p, l, "done")  ? PROTO_FILTER_DONE
                : proto__eq_nocase(p, l, "all")   ? PROTO_FILTER_ALL
                                                  : -1;
        if (f >= 0) {
            if (have_status) {
                proto__errf(err, errcap, "WATCH takes one of pending, done or all, once");
                return PROTO_E_ARGS;
            }
            have_status = 1;
            req->filter = (enum proto_filter)f;
        } else if (l >= 6 && proto__eq_nocase(p, 6, "since:")) {
            if (req->has_since || parse_u64(p + 6, l - 6, &req->since) != 0) {
                proto__errf(err, errcap,
                            "since: takes once the sequence number an OK or an EVENT gave, "
                            "e.g. since:28147497671065600");
                return PROTO_E_ARGS;
            }
            req->has_since = 1;
        } else if (l > 1 && p[0] == '+') {
            if (!proto_valid_tag(p + 1, l - 1)) {
                proto__errf(err, errcap,
                            "a tag is 1 to %d bytes of letters or digits (of any script), '_', "
                            "'.' or '-', e.g. +home",
                            PROTO_MAX_TAG);
                return PROTO_E_ARGS;
            }
            if (add_tag(req->tags, &req->ntags, p + 1, l - 1) < 0) {
                proto__errf(err, errcap, "WATCH takes at most %d tags", PROTO_MAX_TAGS);
                return PROTO_E_ARGS;
            }
        } else {
            goto bad;
        }
    }
    return PROTO_E_NONE;
bad:
    proto__errf(err, errcap, "%s", usage);
    return PROTO_E_ARGS;
}

/*
 * Checks the whole line first: no NUL byte, valid UTF-8. A blank line is
 * PROTO_CMD_NONE. A line starting with "GET/" or "POST/" (any case) is one
 * of the tutorial's legacy forms. Anything else is tokenized; the first
 * token is the verb, unquoted and looked up without regard to case, and
 * the rest are the command's arguments (at most PROTO_MAX_ARGS).
 *
 * On an error, req->cmd still names the command when it was recognised,
 * so that the caller can count or log it.
 */
enum proto_err proto_request_parse(const char *line, size_t len, char *scratch, size_t scratch_cap,
                                   struct proto_request *req, char *err, size_t errcap)
{
    return proto_request_parse_dated(line, len, scratch, scratch_cap, NULL, req, err, errcap);
}

enum proto_err proto_request_parse_dated(const char *line, size_t len, char *scratch,
                                         size_t scratch_cap, const char *today,
                                         struct proto_request *req, char *err, size_t errcap)
{
    struct proto_token toks[PROTO_MAX_ARGS + 1];
    enum proto_err rc;
    size_t i;

    request_reset(req);
    if (err != NULL && errcap > 0)
        err[0] = '\0';
    if (len > 0 && memchr(line, '\0', len) != NULL) {
        proto__errf(err, errcap, "request contains a NUL byte");
        return PROTO_E_ENCODING;
    }
    if (!proto_valid_utf8(line, len)) {
        proto__errf(err, errcap, "request is not valid UTF-8");
        return PROTO_E_ENCODING;
    }
    for (i = 0; i < len && (line[i] == ' ' || line[i] == '\t'); i++)
        ;
    if (i == len)
        return PROTO_E_NONE;

    if (starts_with_nocase(line, len, "GET/"))
        return parse_legacy_get(line, len, req, err, errcap);
    if (starts_with_nocase(line, len, "POST/"))
        return parse_legacy_post(line, len, req, err, errcap);

    int n = proto__tokenize(line, len, scratch, scratch_cap, toks, PROTO_MAX_ARGS + 1, err, errcap);
    if (n == PROTO__TOK_TOOMANY) {
        proto__errf(err, errcap, "too many arguments: at most %d after the command",
                    PROTO_MAX_ARGS);
        return PROTO_E_ARGS;
    }
    if (n < 0)
        return PROTO_E_SYNTAX;
    if (n == 0)
        return PROTO_E_NONE;

    const struct proto_token *v = &toks[0];
    if (v->quoted) {
        proto__errf(err, errcap, "the command name must not be quoted; try HELP");
        return PROTO_E_SYNTAX;
    }
    enum proto_cmd cmd = proto_cmd_lookup(v->s.ptr, v->s.len);
    if (cmd == PROTO_CMD_NONE) {
        char shown[64];
        proto__snippet(shown, sizeof shown, v->s.ptr, v->s.len, 32);
        proto__errf(err, errcap, "unknown command '%s'; try HELP", shown);
        return PROTO_E_UNKNOWN;
    }
    req->cmd = cmd;
    const char *verb = proto_cmd_info(cmd)->name;
    struct proto_token *a = toks + 1;
    size_t na = (size_t)n - 1;

    rc = check_encoding(a, na, err, errcap);
    if (rc != PROTO_E_NONE)
        return rc;

    switch (cmd) {
    case PROTO_CMD_PING:
    case PROTO_CMD_HELLO:
    case PROTO_CMD_TAGS:
    case PROTO_CMD_STATS:
    case PROTO_CMD_QUIT:
    case PROTO_CMD_UNDO:
    case PROTO_CMD_UNWATCH:
        if (na != 0) {
            proto__errf(err, errcap, "%s takes no arguments", verb);
            return PROTO_E_ARGS;
        }
        return PROTO_E_NONE;

    case PROTO_CMD_HELP:
        if (na > 1) {
            proto__errf(err, errcap, "HELP takes at most one command name, e.g. HELP ADD");
            return PROTO_E_ARGS;
        }
        if (na == 1) {
            req->text = a[0].s;
            req->has_text = 1;
        }
        return PROTO_E_NONE;

    case PROTO_CMD_AUTH:
        if (na != 1 && na != 2) {
            proto__errf(err, errcap,
                        "AUTH takes [USER] PASSWORD, the password as one word; quote it if it "
                        "has spaces, e.g. AUTH alice \"my secret\"");
            return PROTO_E_ARGS;
        }
        if (na == 2) {
            if (want_user(&a[0], 1, "a user's", err, errcap) != 0)
                return PROTO_E_ARGS;
            req->user = a[0].s;
        }
        req->text = a[na - 1].s;
        req->has_text = 1;
        return PROTO_E_NONE;

    case PROTO_CMD_SHARES:
        if (na != 0) {
            proto__errf(err, errcap, "%s takes no arguments", verb);
            return PROTO_E_ARGS;
        }
        return PROTO_E_NONE;

    case PROTO_CMD_SHARE:
    case PROTO_CMD_UNSHARE:
    case PROTO_CMD_USE: {
        /* SHARE and UNSHARE: [LIST] USER (req->user, req->text the list);
         * USE: [LIST] (req->text). Every word is a user's name. */
        int use = cmd == PROTO_CMD_USE;
        if (use ? na > 1 : na != 1 && na != 2) {
            proto__errf(err, errcap,
                        use ? "USE takes at most a list's name, e.g. USE alice"
                            : "%s takes [LIST] USER, e.g. %s bob",
                        verb, verb);
            return PROTO_E_ARGS;
        }
        for (size_t k = 0; k < na; k++) {
            if (want_user(&a[k], 0, "a user's (and a list's)", err, errcap) != 0)
                return PROTO_E_ARGS;
        }
        if (!use)
            req->user = a[na - 1].s;
        if (na == (use ? 1u : 2u)) {
            req->text = a[0].s;
            req->has_text = 1;
        }
        return PROTO_E_NONE;
    }

    case PROTO_CMD_USER: {
        /* USER list; USER add|passwd USER PASSWORD (the password one word,
         * quoted if it has spaces, as AUTH's); USER del|lock|unlock USER. */
        static const char usage[] =
            "USER takes list, add|passwd USER PASSWORD, or del|lock|unlock USER, e.g. USER add "
            "carol \"her secret\"";
        int op = na >= 1 && !a[0].quoted ? proto_user_op_parse(a[0].s.ptr, a[0].s.len) : -1;
        size_t want = op == PROTO_USER_LIST                             ? 1
                      : op == PROTO_USER_ADD || op == PROTO_USER_PASSWD ? 3
                                                                        : 2;
        if (op < 0 || na != want) {
            proto__errf(err, errcap, "%s", usage);
            return PROTO_E_ARGS;
        }
        req->user_op = op;
        if (na >= 2) {
            if (want_user(&a[1], 0, "a user's", err, errcap) != 0)
                return PROTO_E_ARGS;
            req->user = a[1].s;
        }
        if (na == 3) {
            req->text = a[2].s;
            req->has_text = 1;
        }
        return PROTO_E_NONE;
    }

    case PROTO_CMD_GET:
    case PROTO_CMD_DONE:
    case PROTO_CMD_UNDONE:
    case PROTO_CMD_DEL:
        return want_id(verb, a, na, req, err, errcap);

    case PROTO_CMD_ADD:
        rc = parse_words(WORDS_ADD, verb, a, na, line, scratch, scratch_cap, today, req, err,
                         errcap);
        if (rc != PROTO_E_NONE)
            return rc;
        if (!req->has_text || req->text.len == 0) {
            proto__errf(err, errcap, "ADD needs the task's text, e.g. ADD buy milk +shopping");
            return PROTO_E_ARGS;
        }
        return PROTO_E_NONE;

    case PROTO_CMD_EDIT:
        req->pri = PROTO_PRI_KEEP;
        if (na == 0 || !proto_valid_id(a[0].s.ptr, a[0].s.len)) {
            proto__errf(err, errcap,
                        "EDIT takes a task id and what to change, e.g. EDIT 42 new text +tag "
                        "-tag due:2026-12-01 pri:high");
            return PROTO_E_ARGS;
        }
        req->id = a[0].s;
        rc = parse_words(WORDS_EDIT, verb, a + 1, na - 1, line, scratch, scratch_cap, today, req,
                         err, errcap);
        if (rc != PROTO_E_NONE)
            return rc;
        if (req->has_text && req->text.len == 0) {
            proto__errf(err, errcap, "a task's text cannot be empty");
            return PROTO_E_ARGS;
        }
        if (!req->has_text && req->ntags == 0 && req->nuntags == 0 && req->due_op == 0 &&
            req->pri == PROTO_PRI_KEEP) {
            proto__errf(err, errcap,
                        "EDIT needs something to change: text, +tag, -tag, due: or pri:, "
                        "e.g. EDIT 42 pri:high");
            return PROTO_E_ARGS;
        }
        return PROTO_E_NONE;

    case PROTO_CMD_LIST:
        return parse_words(WORDS_LIST, verb, a, na, line, scratch, scratch_cap, today, req, err,
                           errcap);

    case PROTO_CMD_IMPORT:
        return parse_import(a, na, line, scratch, scratch_cap, req, err, errcap);

    case PROTO_CMD_WATCH:
        return parse_watch(a, na, req, err, errcap);

    default:
        /* Hidden and NONE entries are never returned by the lookup. */
        proto__errf(err, errcap, "internal error: unhandled command %s", verb);
        return PROTO_E_INTERNAL;
    }
}

/* Restores b's length when any part fails, so a request is appended whole
 * or not at all. */
int proto_request_encode(struct proto_buf *b, enum proto_cmd cmd, const struct proto_arg *args,
                         size_t nargs)
{
    const struct proto_cmd_info *c = proto_cmd_info(cmd);
    if (c == NULL || cmd == PROTO_CMD_NONE || (c->flags & PROTO_CMDF_HIDDEN))
        return -1;
    size_t old = b->len;
    if (proto_buf_append(b, c->name, strlen(c->name)) < 0)
        goto fail;
    for (size_t i = 0; i < nargs; i++) {
        if (proto_buf_append(b, " ", 1) < 0 ||
            proto_quote_append(b, args[i].ptr, args[i].len, args[i].force_quote) < 0)
            goto fail;
    }
    if (proto_buf_append(b, "\r\n", 2) < 0)
        goto fail;
    return 0;
fail:
    b->len = old;
    return -1;
}
