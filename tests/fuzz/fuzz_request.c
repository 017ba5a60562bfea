/*
 * fuzz_request.c - libFuzzer target for the server's side: framing with
 * proto_reader_next(), parsing with proto_request_parse(), and the client's
 * proto_request_encode() / proto_quote_append() fed back into them.
 *
 * The input is a byte stream as a client might send it. It is framed four
 * ways (all at once and in pseudo-random chunks, with the default line limit
 * and with a tiny one) and the four must agree. Every line is parsed from an
 * exact-size heap copy with an exact-size scratch area; every request that
 * parses is encoded again and must parse back to the same request.
 */
#include "fuzz_common.h"

static int blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t')
            return 0;
    return 1;
}

static void check_within(struct proto_str s, const char *line, size_t len, const char *scratch,
                         size_t cap)
{
    if (s.len == 0)
        return;
    CHECK((s.ptr >= line && s.ptr + s.len <= line + len) ||
          (s.ptr >= scratch && s.ptr + s.len <= scratch + cap));
}

static int same_str(struct proto_str a, struct proto_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static void check_same_request(const struct proto_request *a, const struct proto_request *b)
{
    CHECK(a->cmd == b->cmd);
    CHECK(same_str(a->id, b->id));
    CHECK(a->has_text == b->has_text);
    CHECK(same_str(a->text, b->text));
    CHECK(a->pri == b->pri);
    CHECK(a->due_op == b->due_op);
    if (a->due_op == 1)
        CHECK(strcmp(a->due, b->due) == 0);
    CHECK(a->filter == b->filter);
    CHECK(a->import_mode == b->import_mode && a->done == b->done);
    CHECK(a->created == b->created && a->updated == b->updated);
    CHECK(a->ntags == b->ntags);
    for (size_t i = 0; i < a->ntags; i++)
        CHECK(same_str(a->tags[i], b->tags[i]));
    CHECK(a->nuntags == b->nuntags);
    for (size_t i = 0; i < a->nuntags; i++)
        CHECK(same_str(a->untags[i], b->untags[i]));
}

/* Parses an encoded request (with its CRLF) and checks it equals want. */
static void reparse(const struct proto_buf *b, const struct proto_request *want)
{
    struct proto_request again;
    char err[160];
    size_t len;
    char *line, *scratch;
    enum proto_err e;

    CHECK(b->len >= 2 && memcmp(b->data + b->len - 2, "\r\n", 2) == 0);
    len = b->len - 2;
    CHECK(memchr(b->data, '\n', len) == NULL);
    line = exact_copy(b->data, len);
    scratch = exact_alloc(len + 1);
    e = proto_request_parse(line, len, scratch, len + 1, &again, err, sizeof(err));
    if (e != PROTO_E_NONE) {
        fprintf(stderr, "re-encoded request refused: %s: %.*s\n", err, (int)len, line);
        abort();
    }
    check_same_request(want, &again);
    free(scratch);
    free(line);
}

/* Encodes req as a client would (text always force-quoted) and parses it
 * back; the tutorial's forms are rebuilt by hand as they are not encoded. */
static void reencode(const struct proto_request *req)
{
    struct proto_arg args[7 + 2 * PROTO_MAX_TAGS + 3];
    char tagw[2 * PROTO_MAX_TAGS][PROTO_MAX_TAG + 2];
    char duew[PROTO_DATE_LEN + 8], priw[16];
    char times[2][PROTO_TIME_LEN + 1];
    size_t n = 0, nt = 0;
    struct proto_buf b;
    const struct proto_cmd_info *ci = proto_cmd_info(req->cmd);

    CHECK(ci != NULL);
    proto_buf_init(&b, 0);
    if (req->cmd == PROTO_CMD_NONE)
        return;
    if (req->cmd == PROTO_CMD_LEGACY_GET || req->cmd == PROTO_CMD_LEGACY_POST) {
        int post = req->cmd == PROTO_CMD_LEGACY_POST;
        log_append(&b, post ? "POST/" : "GET/", post ? 5 : 4);
        log_append(&b, req->id.ptr, req->id.len);
        if (post) {
            log_append(&b, "=", 1);
            log_append(&b, req->text.ptr, req->text.len);
        }
        log_append(&b, "/status\r\n", 9);
        reparse(&b, req);
        proto_buf_free(&b);
        return;
    }

#define ADDARG(p, l, q) (args[n++] = (struct proto_arg){(p), (l), (q)})
#define ADDTAG(sign, s)                                                                            \
    do {                                                                                           \
        tagw[nt][0] = (sign);                                                                      \
        memcpy(tagw[nt] + 1, (s).ptr, (s).len);                                                    \
        ADDARG(tagw[nt], (s).len + 1, 0);                                                          \
        nt++;                                                                                      \
    } while (0)

    if (ci->flags & PROTO_CMDF_ID)
        ADDARG(req->id.ptr, req->id.len, 0);
    if (req->cmd == PROTO_CMD_IMPORT) {
        const char *m = proto_import_mode_name(req->import_mode);
        ADDARG(m, strlen(m), 0);
        ADDARG(req->id.ptr, req->id.len, 0);
        ADDARG(req->done ? "done" : "pending", req->done ? 4 : 7, 0);
        int64_t t[2] = {req->created, req->updated};
        for (int i = 0; i < 2; i++) {
            if (t[i] == PROTO_TIME_NOW) {
                ADDARG("-", 1, 0);
            } else {
                proto_time_format(t[i], times[i]);
                ADDARG(times[i], PROTO_TIME_LEN, 0);
            }
        }
    }
    if (req->cmd == PROTO_CMD_LIST) {
        static const char *const kw[] = {"pending", "done", "all"};
        ADDARG(kw[req->filter], strlen(kw[req->filter]), 0);
    }
    /* SHARE's, UNSHARE's and USE's text is a list's name, a bare word as
     * todo-cli sends it: a quoted word is refused there (want_user). */
    if (req->has_text)
        ADDARG(req->text.ptr, req->text.len,
               req->cmd != PROTO_CMD_SHARE && req->cmd != PROTO_CMD_UNSHARE &&
                   req->cmd != PROTO_CMD_USE);
    for (size_t i = 0; i < req->ntags; i++)
        ADDTAG('+', req->tags[i]);
    for (size_t i = 0; i < req->nuntags; i++)
        ADDTAG('-', req->untags[i]);
    if (req->due_op == 1) {
        snprintf(duew, sizeof(duew), "due:%s", req->due);
        ADDARG(duew, strlen(duew), 0);
    } else if (req->due_op == -1) {
        ADDARG("due:none", 8, 0);
    }
    if (((req->cmd == PROTO_CMD_ADD || req->cmd == PROTO_CMD_IMPORT) &&
         req->pri != PROTO_PRI_NONE) ||
        (req->cmd == PROTO_CMD_EDIT && req->pri != PROTO_PRI_KEEP)) {
        snprintf(priw, sizeof(priw), "pri:%s",
                 req->pri == PROTO_PRI_NONE ? "none" : proto_pri_name(req->pri));
        ADDARG(priw, strlen(priw), 0);
    }
#undef ADDTAG
#undef ADDARG
    CHECK(proto_request_encode(&b, req->cmd, args, n) == 0);
    reparse(&b, req);
    proto_buf_free(&b);
}

/* The text of ADD, quoted on its own, tokenizes back to the same bytes. */
static void quote_roundtrip(const char *s, size_t n, int force)
{
    struct proto_buf b;
    struct proto_token t[2];
    char err[128];
    char *line, *scratch;

    proto_buf_init(&b, 0);
    CHECK(proto_quote_append(&b, s, n, force) == 0);
    CHECK(b.len >= 1);
    CHECK(memchr(b.data, '\n', b.len) == NULL && memchr(b.data, '\r', b.len) == NULL);
    line = exact_copy(b.data, b.len);
    scratch = exact_alloc(b.len);
    CHECK(proto_tokenize(line, b.len, scratch, b.len, t, 2, err, sizeof(err)) == 1);
    CHECK(t[0].s.len == n && (n == 0 || memcmp(t[0].s.ptr, s, n) == 0));
    CHECK(t[0].quoted || !force);
    free(scratch);
    free(line);
    proto_buf_free(&b);
}

static void handle_line(const char *from, size_t len)
{
    char *line = exact_copy(from, len);
    char *scratch = exact_alloc(len + 1);
    struct proto_request req;
    char err[160];
    enum proto_err e;

    /* With a today, date words resolve: always to a real date, or refused. */
    memset(err, 'X', sizeof(err));
    e = proto_request_parse_dated(line, len, scratch, len + 1, "2024-02-29", &req, err,
                                  sizeof(err));
    CHECK((int)e >= 0 && e < PROTO_E__COUNT);
    CHECK(memchr(err, '\0', sizeof(err)) != NULL);
    if (e == PROTO_E_NONE) {
        CHECK(req.due_op != 1 || proto_valid_date(req.due, strlen(req.due)));
        CHECK(!req.due_before[0] || proto_valid_date(req.due_before, strlen(req.due_before)));
        CHECK(!req.due_after[0] || proto_valid_date(req.due_after, strlen(req.due_after)));
        CHECK(req.nsort <= PROTO_MAX_SORT);
    }
    char date[PROTO_DATE_LEN + 1];
    int dr = proto_date_resolve(line, len, "2026-12-01", date);
    CHECK(dr == 1 || (dr == 0 && proto_valid_date(date, strlen(date))) || (dr == -1 && !date[0]));

    memset(err, 'X', sizeof(err));
    e = proto_request_parse(line, len, scratch, len + 1, &req, err, sizeof(err));
    CHECK((int)e >= 0 && e < PROTO_E__COUNT);
    CHECK(memchr(err, '\0', sizeof(err)) != NULL);
    if (e != PROTO_E_NONE) {
        CHECK(err[0] != '\0');
        goto out;
    }
    CHECK((int)req.cmd >= 0 && req.cmd < PROTO_CMD__COUNT);
    CHECK((req.cmd == PROTO_CMD_NONE) == blank(line, len));
    CHECK(proto_valid_utf8(line, len) && memchr(line, '\0', len) == NULL);
    check_within(req.id, line, len, scratch, len + 1);
    check_within(req.text, line, len, scratch, len + 1);
    if (req.cmd == PROTO_CMD_LEGACY_GET || req.cmd == PROTO_CMD_LEGACY_POST ||
        (proto_cmd_info(req.cmd)->flags & PROTO_CMDF_ID))
        CHECK(proto_valid_id(req.id.ptr, req.id.len));
    CHECK(req.ntags <= PROTO_MAX_TAGS && req.nuntags <= PROTO_MAX_TAGS);
    for (size_t i = 0; i < req.ntags; i++) {
        check_within(req.tags[i], line, len, scratch, len + 1);
        CHECK(proto_valid_tag(req.tags[i].ptr, req.tags[i].len));
    }
    for (size_t i = 0; i < req.nuntags; i++) {
        check_within(req.untags[i], line, len, scratch, len + 1);
        CHECK(proto_valid_tag(req.untags[i].ptr, req.untags[i].len));
    }
    CHECK(req.due_op >= -1 && req.due_op <= 1);
    if (req.due_op == 1)
        CHECK(proto_valid_date(req.due, strlen(req.due)));
    CHECK(req.pri >= PROTO_PRI_KEEP && req.pri <= PROTO_PRI_HIGH);
    if (req.text.len > 0)
        CHECK(proto_valid_utf8(req.text.ptr, req.text.len) &&
              memchr(req.text.ptr, '\0', req.text.len) == NULL);
    if (req.cmd == PROTO_CMD_ADD || req.cmd == PROTO_CMD_LEGACY_POST || req.cmd == PROTO_CMD_IMPORT)
        CHECK(req.has_text && req.text.len > 0);
    if (req.cmd == PROTO_CMD_IMPORT) {
        CHECK(proto_valid_id(req.id.ptr, req.id.len));
        CHECK(req.import_mode >= PROTO_IMPORT_FAIL && req.import_mode <= PROTO_IMPORT_REPLACE);
    }
    if (req.cmd == PROTO_CMD_ADD)
        quote_roundtrip(req.text.ptr, req.text.len, 1);
    reencode(&req);
out:
    free(scratch);
    free(line);
}

/* Frames data and writes what the reader returned into log: "L<n>:<line>"
 * for each line and "T" for each TOOLONG. Lines are parsed when asked. */
static void frame(const uint8_t *data, size_t size, size_t max_line, int chunked, int parse,
                  struct proto_buf *log)
{
    struct proto_reader r;
    struct chunker c;
    char *buf = exact_alloc(size + 1);
    size_t held = 0, off = 0;

    proto_reader_init(&r, max_line);
    chunker_init(&c, data, size, max_line);
    while (off < size) {
        size_t n = chunked ? chunker_next(&c, 4096) : size - off;
        if (n > size - off)
            n = size - off;
        memcpy(buf + held, data + off, n);
        held += n;
        off += n;
        for (;;) {
            const char *line = NULL;
            size_t line_len = 0, consumed = 0;
            enum proto_status st = proto_reader_next(&r, buf, held, &line, &line_len, &consumed);

            CHECK(consumed <= held);
            if (st == PROTO_NEED_MORE) {
                memmove(buf, buf + consumed, held - consumed);
                held -= consumed;
                /* What is kept is an unfinished line that can still fit. */
                CHECK(held <= r.max_line + 1);
                CHECK(memchr(buf, '\n', held) == NULL);
                break;
            }
            CHECK(consumed > 0);
            if (st == PROTO_COMPLETE) {
                CHECK(line >= buf && line + line_len <= buf + held);
                CHECK(line_len <= r.max_line);
                CHECK(line_len + 1 <= consumed && buf[consumed - 1] == '\n');
                CHECK(memchr(line, '\n', line_len) == NULL);
                log_str(log, 'L', line, line_len);
                if (parse)
                    handle_line(line, line_len);
            } else {
                CHECK(st == PROTO_ERROR);
                log_append(log, "T", 1);
            }
            memmove(buf, buf + consumed, held - consumed);
            held -= consumed;
        }
    }
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct chunker c;

    fuzz_same_whole_and_chunked(data, size, frame);

    /* Any byte string survives quoting, bare when it can be or forced. */
    chunker_init(&c, data, size, 0);
    quote_roundtrip((const char *)data, size, (int)(c.state >> 8) & 1);
    return 0;
}
