/*
 * fuzz_reply.c - libFuzzer target for the client's side: the incremental
 * reply decoder, DATA bodies walked with proto_body_next(), task lines
 * with proto_task_decode() / proto_task_encode(), and event lines (WATCH)
 * with proto_event_decode() / proto_event_encode().
 *
 * The input is a byte stream as a server might send it. It is decoded all at
 * once and in pseudo-random chunks, with the default line limit and with a
 * tiny one, and each pair must agree. Every data line is decoded as a task
 * from an exact-size heap copy with an exact-size scratch area; every task
 * that decodes is encoded again and must decode to the same task, and so is
 * every event.
 */
#include "fuzz_common.h"

static int same_str(struct proto_str a, struct proto_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static void check_same_task(const struct proto_task *a, const struct proto_task *b)
{
    CHECK(same_str(a->id, b->id));
    CHECK(same_str(a->text, b->text));
    CHECK(same_str(a->tags, b->tags));
    CHECK(a->done == b->done);
    CHECK(a->pri == b->pri);
    CHECK(strcmp(a->due, b->due) == 0);
    CHECK(a->created == b->created);
    CHECK(a->updated == b->updated);
}

static void task_line(const char *from, size_t len)
{
    char *line = exact_copy(from, len);
    char *scratch = exact_alloc(len);
    struct proto_task t;
    char err[160];
    enum proto_err e;

    memset(err, 'X', sizeof(err));
    e = proto_task_decode(line, len, scratch, len, &t, err, sizeof(err));
    CHECK(memchr(err, '\0', sizeof(err)) != NULL);
    if (e != PROTO_E_NONE) {
        CHECK(e == PROTO_E_SYNTAX && err[0] != '\0');
        goto out;
    }
    CHECK(proto_valid_id(t.id.ptr, t.id.len));
    CHECK(t.done == 0 || t.done == 1);
    CHECK(t.pri >= PROTO_PRI_NONE && t.pri <= PROTO_PRI_HIGH);
    CHECK(t.due[0] == '\0' || proto_valid_date(t.due, strlen(t.due)));
    CHECK(proto_valid_utf8(t.text.ptr, t.text.len));

    /* Encode again: one CRLF-terminated line that decodes to the same task. */
    {
        struct proto_buf b;
        struct proto_task again;
        char *line2, *scratch2;
        size_t n;

        proto_buf_init(&b, 0);
        CHECK(proto_task_encode(&b, &t) == 0);
        CHECK(b.len >= 2 && memcmp(b.data + b.len - 2, "\r\n", 2) == 0);
        n = b.len - 2;
        CHECK(memchr(b.data, '\n', n) == NULL);
        line2 = exact_copy(b.data, n);
        scratch2 = exact_alloc(n);
        CHECK(proto_task_decode(line2, n, scratch2, n, &again, err, sizeof(err)) == PROTO_E_NONE);
        check_same_task(&t, &again);
        free(scratch2);
        free(line2);
        proto_buf_free(&b);
    }
out:
    free(scratch);
    free(line);
}

/* An event line: decoded from an exact-size copy with an exact-size
 * scratch area; one that decodes is encoded again, must be one line, and
 * must decode to the same event. */
static void event_line(const char *from, size_t len)
{
    char *line = exact_copy(from, len);
    char *scratch = exact_alloc(len);
    struct proto_event ev, again;
    char err[160];
    struct proto_buf b;

    memset(err, 'X', sizeof(err));
    enum proto_err e = proto_event_decode(line, len, scratch, len, &ev, err, sizeof(err));
    CHECK(memchr(err, '\0', sizeof(err)) != NULL);
    if (e != PROTO_E_NONE) {
        CHECK(e == PROTO_E_SYNTAX && err[0] != '\0');
        CHECK(ev.task.id.len == 0);
        goto out;
    }
    CHECK(ev.kind >= PROTO_EVENT_ADD && ev.kind <= PROTO_EVENT_OVERFLOW);
    if (ev.kind == PROTO_EVENT_OVERFLOW) {
        CHECK(ev.seq == 0 && ev.id.len == 0);
    } else {
        CHECK(proto_valid_id(ev.id.ptr, ev.id.len));
        if (ev.kind != PROTO_EVENT_DEL) {
            CHECK(same_str(ev.id, ev.task.id));
            CHECK(ev.kind != PROTO_EVENT_DONE || ev.task.done);
            CHECK(ev.kind != PROTO_EVENT_UNDONE || !ev.task.done);
        }
    }
    proto_buf_init(&b, 0);
    CHECK(proto_event_encode(&b, &ev) == 0);
    CHECK(b.len >= 2 && memcmp(b.data + b.len - 2, "\r\n", 2) == 0);
    {
        size_t n = b.len - 2;
        CHECK(memchr(b.data, '\n', n) == NULL);
        char *line2 = exact_copy(b.data, n);
        char *scratch2 = exact_alloc(n);
        CHECK(proto_event_decode(line2, n, scratch2, n, &again, err, sizeof(err)) == PROTO_E_NONE);
        CHECK(again.kind == ev.kind && again.seq == ev.seq && same_str(again.id, ev.id));
        if (ev.kind != PROTO_EVENT_DEL && ev.kind != PROTO_EVENT_OVERFLOW)
            check_same_task(&ev.task, &again.task);
        free(scratch2);
        free(line2);
    }
    proto_buf_free(&b);
out:
    free(scratch);
    free(line);
}

/* Decodes data and writes each reply into log; "E" ends it at an error. */
static void decode(const uint8_t *data, size_t size, size_t max_line, int chunked, int deep,
                   struct proto_buf *log)
{
    struct proto_reply_decoder d;
    struct chunker c;
    char *buf = exact_alloc(size + 1);
    size_t held = 0, off = 0;

    proto_reply_decoder_init(&d, max_line);
    chunker_init(&c, data, size, max_line);
    while (off < size) {
        size_t n = chunked ? chunker_next(&c, 4096) : size - off;
        if (n > size - off)
            n = size - off;
        memcpy(buf + held, data + off, n);
        held += n;
        off += n;
        for (;;) {
            struct proto_reply rep;
            size_t consumed = 0;
            char err[160], head[64];
            enum proto_status st;

            memset(err, 'X', sizeof(err));
            st = proto_reply_decode(&d, buf, held, &consumed, &rep, err, sizeof(err));
            CHECK(memchr(err, '\0', sizeof(err)) != NULL);
            if (st == PROTO_NEED_MORE)
                break;
            if (st == PROTO_ERROR) {
                CHECK(err[0] != '\0');
                log_append(log, "E", 1);
                goto out;
            }
            CHECK(st == PROTO_COMPLETE);
            CHECK(consumed > 0 && consumed <= held);
            CHECK(rep.kind == PROTO_REPLY_OK || rep.kind == PROTO_REPLY_ERR ||
                  rep.kind == PROTO_REPLY_DATA || rep.kind == PROTO_REPLY_EVENT);
            snprintf(head, sizeof(head), "R%d,%d,%zu", (int)rep.kind, (int)rep.err, rep.nlines);
            log_append(log, head, strlen(head));
            log_str(log, 'c', rep.code.ptr, rep.code.len);
            log_str(log, 't', rep.text.ptr, rep.text.len);
            log_str(log, 'b', rep.body.ptr, rep.body.len);
            if (rep.text.len > 0)
                CHECK(rep.text.ptr >= buf && rep.text.ptr + rep.text.len <= buf + consumed);
            if (rep.kind == PROTO_REPLY_ERR) {
                CHECK(rep.code.len > 0);
                CHECK(rep.err != PROTO_E_NONE && rep.err < PROTO_E__COUNT);
            }
            if (rep.kind == PROTO_REPLY_EVENT) {
                /* The whole line, which the reply ends with (CRLF or LF). */
                CHECK(rep.text.ptr == buf && rep.text.len >= 6);
                CHECK(memcmp(rep.text.ptr, "EVENT ", 6) == 0);
                CHECK(consumed == rep.text.len + 1 || consumed == rep.text.len + 2);
                if (deep)
                    event_line(rep.text.ptr, rep.text.len);
            }
            if (rep.kind == PROTO_REPLY_DATA) {
                struct proto_str body = rep.body, line;
                size_t lines = 0;
                if (rep.body.len > 0)
                    CHECK(rep.body.ptr >= buf && rep.body.ptr + rep.body.len <= buf + consumed);
                while (proto_body_next(&body, &line)) {
                    CHECK(line.len <= d.max_line);
                    CHECK(memchr(line.ptr, '\n', line.len) == NULL);
                    if (deep)
                        task_line(line.ptr, line.len);
                    lines++;
                }
                CHECK(lines == rep.nlines);
            } else {
                CHECK(rep.nlines == 0 && rep.body.len == 0);
            }
            memmove(buf, buf + consumed, held - consumed);
            held -= consumed;
        }
    }
out:
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_same_whole_and_chunked(data, size, decode);
    return 0;
}
