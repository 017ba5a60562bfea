/*
 * test_request.c - requests: framing with proto_reader_next(), parsing with
 * proto_request_parse() and encoding with proto_request_encode().
 */
#include "proto_test.h"

/* ------------------------------------------------------------------------
 * A reader driver that behaves like a server: it appends each chunk to its
 * buffer, takes lines off the front, and drops what the reader says it may.
 * ---------------------------------------------------------------------- */

#define MAX_EVENTS 64

struct event {
    int toolong; /* 1: PROTO_ERROR (TOOLONG), 0: a line */
    char *line;
    size_t len;
};

struct events {
    size_t n;
    struct event ev[MAX_EVENTS];
    size_t peak; /* the most bytes the driver ever had to hold */
    size_t left; /* bytes held at the end (an unfinished line) */
};

static void events_free(struct events *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->ev[i].line);
    e->n = 0;
}

static void push(struct events *e, int toolong, const char *line, size_t len)
{
    assert_true(e->n < MAX_EVENTS);
    e->ev[e->n].toolong = toolong;
    e->ev[e->n].len = len;
    e->ev[e->n].line = malloc(len + 1);
    assert_non_null(e->ev[e->n].line);
    if (len > 0)
        memcpy(e->ev[e->n].line, line, len);
    e->ev[e->n].line[len] = '\0';
    e->n++;
}

/* Takes every complete line out of buf[0..*held), dropping consumed bytes. */
static void drain(struct proto_reader *r, char *buf, size_t *held, struct events *e)
{
    for (int guard = 0; guard < 100000; guard++) {
        const char *line = NULL;
        size_t line_len = 0, consumed = 0;
        enum proto_status st = proto_reader_next(r, buf, *held, &line, &line_len, &consumed);

        assert_true(consumed <= *held);
        switch (st) {
        case PROTO_COMPLETE:
            assert_true(line >= buf && line + line_len <= buf + *held);
            assert_true(consumed > line_len);
            assert_int_equal(buf[consumed - 1], '\n');
            assert_true(line_len <= r->max_line);
            push(e, 0, line, line_len);
            break;
        case PROTO_NEED_MORE:
            memmove(buf, buf + consumed, *held - consumed);
            *held -= consumed;
            return;
        case PROTO_ERROR:
            push(e, 1, "", 0);
            break;
        default:
            fail_msg("proto_reader_next returned %d", (int)st);
        }
        memmove(buf, buf + consumed, *held - consumed);
        *held -= consumed;
    }
    fail_msg("the reader does not make progress");
}

/* Feeds in[0..len) in chunks whose sizes come from cut[] (cycled), or all
 * at once when ncut is 0. */
static void run_reader(const char *in, size_t len, const size_t *cut, size_t ncut, size_t max_line,
                       struct events *e)
{
    struct proto_reader r;
    char *buf = malloc(len + 1);
    size_t held = 0, off = 0, k = 0;

    assert_non_null(buf);
    memset(e, 0, sizeof(*e));
    proto_reader_init(&r, max_line);
    assert_int_equal(r.max_line, max_line);
    while (off < len) {
        size_t n = ncut ? cut[k++ % ncut] : len;
        if (n > len - off)
            n = len - off;
        memcpy(buf + held, in + off, n);
        held += n;
        off += n;
        if (held > e->peak)
            e->peak = held;
        drain(&r, buf, &held, e);
    }
    e->left = held;
    free(buf);
}

struct want {
    int toolong;
    const char *line;
};

static void check_events(const struct events *e, const struct want *w, size_t nw)
{
    if (e->n != nw) {
        for (size_t i = 0; i < e->n; i++)
            print_message("event %zu: %s \"%s\"\n", i, e->ev[i].toolong ? "TOOLONG" : "line",
                          e->ev[i].line);
    }
    assert_int_equal(e->n, nw);
    for (size_t i = 0; i < nw; i++) {
        assert_int_equal(e->ev[i].toolong, w[i].toolong);
        if (!w[i].toolong)
            assert_bytes(e->ev[i].line, e->ev[i].len, w[i].line, strlen(w[i].line));
    }
}

/* Runs the input whole, one byte at a time, in every fixed chunk size, and
 * split in two at every byte boundary; every way must give the same events. */
static void check_all_splits(const char *in, size_t len, size_t max_line, const struct want *w,
                             size_t nw, size_t left)
{
    struct events e;

    run_reader(in, len, NULL, 0, max_line, &e);
    check_events(&e, w, nw);
    assert_int_equal(e.left, left);
    events_free(&e);
    for (size_t chunk = 1; chunk <= len; chunk++) {
        run_reader(in, len, &chunk, 1, max_line, &e);
        check_events(&e, w, nw);
        assert_int_equal(e.left, left);
        events_free(&e);
    }
    for (size_t k = 1; k < len; k++) {
        size_t cut[2] = {k, len};
        run_reader(in, len, cut, 2, max_line, &e);
        check_events(&e, w, nw);
        assert_int_equal(e.left, left);
        events_free(&e);
    }
}

#define S(s) (s), (sizeof(s) - 1)
#define NW(w) (sizeof(w) / sizeof((w)[0]))

static void test_reader_pipelined(void **state)
{
    (void)state;
    static const char in[] = "PING\r\n"
                             "ADD buy milk +home\n"
                             "GET/task_02/status\r\n"
                             "\r\n"
                             "\n"
                             "POST/task_04=buy milk/status\n"
                             "LIST done +home\r\n"
                             "a\rb\n"
                             "GET 4";
    static const struct want w[] = {
        {0, "PING"},
        {0, "ADD buy milk +home"},
        {0, "GET/task_02/status"},
        {0, ""},
        {0, ""},
        {0, "POST/task_04=buy milk/status"},
        {0, "LIST done +home"},
        {0, "a\rb"}, /* only a CR right before the LF is part of the terminator */
    };
    check_all_splits(S(in), PROTO_MAX_LINE_DEFAULT, w, NW(w), 5);
}

static void test_reader_lf_and_crlf(void **state)
{
    (void)state;
    static const struct want w[] = {{0, "PING"}};
    check_all_splits(S("PING\n"), 64, w, 1, 0);
    check_all_splits(S("PING\r\n"), 64, w, 1, 0);
    /* A lone CR at the end is not yet a terminator: wait for more. */
    check_all_splits(S("PING\r"), 64, NULL, 0, 5);
}

static void test_reader_toolong(void **state)
{
    (void)state;
    char in[512];
    size_t n = 0;
    static const struct want w[] = {
        {0, "short"},
        {1, NULL},
        {0, "after"},
        {0, "0123456789abcdef"}, /* exactly max_line: fine */
        {0, "0123456789abcdef"}, /* exactly max_line plus CRLF: fine */
        {1, NULL},               /* max_line + 1 */
        {1, NULL},               /* two long lines in a row */
        {0, "last"},
    };

    n += (size_t)sprintf(in + n, "short\n");
    memset(in + n, 'x', 100);
    n += 100;
    n += (size_t)sprintf(in + n, "\nafter\r\n");
    n += (size_t)sprintf(in + n, "0123456789abcdef\n0123456789abcdef\r\n");
    n += (size_t)sprintf(in + n, "0123456789abcdefg\r\n");
    memset(in + n, 'y', 40);
    n += 40;
    n += (size_t)sprintf(in + n, "\r\nlast\n");
    check_all_splits(in, n, 16, w, NW(w), 0);

    /* Fed one byte at a time, the driver never holds much more than a line. */
    {
        struct events e;
        size_t one = 1;
        run_reader(in, n, &one, 1, 16, &e);
        check_events(&e, w, NW(w));
        assert_true(e.peak <= 16 + 2);
        events_free(&e);
    }
}

/* An oversized line still arriving: TOOLONG once, then bytes are dropped as
 * they come, and the buffer stays small however long the line grows. */
static void test_reader_toolong_streaming(void **state)
{
    (void)state;
    struct proto_reader r;
    char buf[64];
    size_t held = 0;
    int errors = 0;
    struct events e;

    memset(&e, 0, sizeof(e));
    proto_reader_init(&r, 8);
    for (int round = 0; round < 1000; round++) {
        const char *line;
        size_t line_len, consumed;
        enum proto_status st;

        memset(buf + held, 'z', 7);
        held += 7;
        assert_true(held <= sizeof(buf));
        do {
            consumed = 0;
            st = proto_reader_next(&r, buf, held, &line, &line_len, &consumed);
            assert_int_not_equal(st, PROTO_COMPLETE);
            errors += st == PROTO_ERROR;
            assert_true(consumed <= held);
            memmove(buf, buf + consumed, held - consumed);
            held -= consumed;
        } while (st == PROTO_ERROR);
    }
    assert_int_equal(errors, 1);
    /* The copied terminator lies past held: the reader never sees it. */
    static const char tail[] = "tail\nPING\n";
    assert_true(held + sizeof(tail) <= sizeof(buf));
    memcpy(buf + held, tail, sizeof(tail));
    held += sizeof(tail) - 1;
    drain(&r, buf, &held, &e);
    assert_int_equal(e.n, 1);
    assert_int_equal(e.ev[0].toolong, 0);
    assert_pstr(((struct proto_str){e.ev[0].line, e.ev[0].len}), "PING");
    assert_int_equal(held, 0);
    events_free(&e);
}

static void test_reader_default_limit(void **state)
{
    (void)state;
    size_t n = PROTO_MAX_LINE_DEFAULT;
    char *in = malloc(2 * n + 16);
    struct events e;
    size_t cut = 4096;

    assert_non_null(in);
    memset(in, 'a', n);
    in[n] = '\n';
    memset(in + n + 1, 'b', n + 1);
    /* With its terminator, which lies past the 2n+8 bytes fed. */
    memcpy(in + 2 * n + 2, "\nPING\n", sizeof("\nPING\n"));
    run_reader(in, 2 * n + 8, &cut, 1, PROTO_MAX_LINE_DEFAULT, &e);
    assert_int_equal(e.n, 3);
    assert_int_equal(e.ev[0].toolong, 0);
    assert_int_equal(e.ev[0].len, n);
    assert_int_equal(e.ev[1].toolong, 1);
    assert_int_equal(e.ev[2].toolong, 0);
    assert_bytes(e.ev[2].line, e.ev[2].len, "PING", 4);
    events_free(&e);
    free(in);
}

/* ------------------------------------------------------------------------
 * Parsing.
 * ---------------------------------------------------------------------- */

struct parsed {
    struct proto_request req;
    char scratch[4096];
    char err[160];
};

static enum proto_err parse(struct parsed *p, const char *line, size_t len)
{
    enum proto_err e;

    assert_true(len + 1 <= sizeof(p->scratch));
    memset(p->err, 'X', sizeof(p->err));
    e = proto_request_parse(line, len, p->scratch, sizeof(p->scratch), &p->req, p->err,
                            sizeof(p->err));
    assert_in_range(e, PROTO_E_NONE, PROTO_E__COUNT - 1);
    assert_non_null(memchr(p->err, '\0', sizeof(p->err)));
    if (e != PROTO_E_NONE)
        assert_true(strlen(p->err) > 0);
    return e;
}

#define PARSE(p, s) parse((p), (s), sizeof(s) - 1)

static void test_parse_blank(void **state)
{
    (void)state;
    struct parsed p;

    assert_int_equal(PARSE(&p, ""), PROTO_E_NONE);
    assert_int_equal(p.req.cmd, PROTO_CMD_NONE);
    assert_int_equal(PARSE(&p, "   "), PROTO_E_NONE);
    assert_int_equal(p.req.cmd, PROTO_CMD_NONE);
    assert_int_equal(PARSE(&p, " \t "), PROTO_E_NONE);
    assert_int_equal(p.req.cmd, PROTO_CMD_NONE);
}

static void test_parse_simple(void **state)
{
    (void)state;
    struct parsed p;
    static const struct {
        const char *line;
        enum proto_cmd cmd;
    } cases[] = {
        {"PING", PROTO_CMD_PING},   {"ping", PROTO_CMD_PING}, {"  PiNg  ", PROTO_CMD_PING},
        {"HELLO", PROTO_CMD_HELLO}, {"HELP", PROTO_CMD_HELP}, {"TAGS", PROTO_CMD_TAGS},
        {"STATS", PROTO_CMD_STATS}, {"quit", PROTO_CMD_QUIT}, {"QUIT\t", PROTO_CMD_QUIT},
        {"LIST", PROTO_CMD_LIST},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(parse(&p, cases[i].line, strlen(cases[i].line)), PROTO_E_NONE);
        assert_int_equal(p.req.cmd, cases[i].cmd);
    }
    assert_int_equal(PARSE(&p, "LIST"), PROTO_E_NONE);
    assert_int_equal(p.req.filter, PROTO_FILTER_PENDING);
    assert_int_equal(p.req.ntags, 0);
    assert_int_equal(p.req.text.len, 0);
    assert_int_equal(PARSE(&p, "HELP"), PROTO_E_NONE);
    assert_int_equal(p.req.text.len, 0);
    assert_int_equal(PARSE(&p, "help add"), PROTO_E_NONE);
    assert_int_equal(p.req.cmd, PROTO_CMD_HELP);
    assert_pstr(p.req.text, "add");
}

static void test_parse_id_commands(void **state)
{
    (void)state;
    struct parsed p;
    static const struct {
        const char *verb;
        enum proto_cmd cmd;
    } cases[] = {
        {"GET", PROTO_CMD_GET},
        {"done", PROTO_CMD_DONE},
        {"Undone", PROTO_CMD_UNDONE},
        {"DEL", PROTO_CMD_DEL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char line[128];
        int n = snprintf(line, sizeof(line), "%s task_02", cases[i].verb);
        assert_int_equal(parse(&p, line, (size_t)n), PROTO_E_NONE);
        assert_int_equal(p.req.cmd, cases[i].cmd);
        assert_pstr(p.req.id, "task_02");
        /* A quoted id is still an id. */
        n = snprintf(line, sizeof(line), "%s \"42\"", cases[i].verb);
        assert_int_equal(parse(&p, line, (size_t)n), PROTO_E_NONE);
        assert_pstr(p.req.id, "42");
        /* No id, two ids, or an id with bytes outside [A-Za-z0-9_.-]. */
        n = snprintf(line, sizeof(line), "%s", cases[i].verb);
        assert_int_equal(parse(&p, line, (size_t)n), PROTO_E_ARGS);
        n = snprintf(line, sizeof(line), "%s 1 2", cases[i].verb);
        assert_int_equal(parse(&p, line, (size_t)n), PROTO_E_ARGS);
        n = snprintf(line, sizeof(line), "%s bad/id", cases[i].verb);
        assert_int_equal(parse(&p, line, (size_t)n), PROTO_E_ARGS);
        n = snprintf(line, sizeof(line), "%s \"a b\"", cases[i].verb);
        assert_int_equal(parse(&p, line, (size_t)n), PROTO_E_ARGS);
        n = snprintf(line, sizeof(line), "%s \"\"", cases[i].verb);
        assert_int_equal(parse(&p, line, (size_t)n), PROTO_E_ARGS);
        n = snprintf(line, sizeof(line), "%s %.*s", cases[i].verb, PROTO_MAX_ID,
                     "0123456789012345678901234567890123456789012345678901234567890123456789");
        assert_int_equal(parse(&p, line, (size_t)n), PROTO_E_NONE);
        assert_int_equal(p.req.id.len, PROTO_MAX_ID);
        n = snprintf(line, sizeof(line), "%s %.*s", cases[i].verb, PROTO_MAX_ID + 1,
                     "0123456789012345678901234567890123456789012345678901234567890123456789");
        assert_int_equal(parse(&p, line, (size_t)n), PROTO_E_ARGS);
    }
}

static void test_parse_add(void **state)
{
    (void)state;
    struct parsed p;

    assert_int_equal(PARSE(&p, "ADD buy milk"), PROTO_E_NONE);
    assert_int_equal(p.req.cmd, PROTO_CMD_ADD);
    assert_pstr(p.req.text, "buy milk");
    assert_int_equal(p.req.has_text, 1);
    assert_int_equal(p.req.ntags, 0);
    assert_int_equal(p.req.pri, PROTO_PRI_NONE);
    assert_int_equal(p.req.due_op, 0);

    assert_int_equal(PARSE(&p, "add buy milk +home +shopping due:2026-12-01 pri:high"),
                     PROTO_E_NONE);
    assert_pstr(p.req.text, "buy milk");
    assert_int_equal(p.req.ntags, 2);
    assert_pstr(p.req.tags[0], "home");
    assert_pstr(p.req.tags[1], "shopping");
    assert_int_equal(p.req.due_op, 1);
    assert_string_equal(p.req.due, "2026-12-01");
    assert_int_equal(p.req.pri, PROTO_PRI_HIGH);

    /* Short priority forms. */
    assert_int_equal(PARSE(&p, "ADD x pri:l"), PROTO_E_NONE);
    assert_int_equal(p.req.pri, PROTO_PRI_LOW);
    assert_int_equal(PARSE(&p, "ADD x pri:2"), PROTO_E_NONE);
    assert_int_equal(p.req.pri, PROTO_PRI_MED);

    /* Quoted text stays text, however it looks. */
    assert_int_equal(PARSE(&p, "ADD \"buy milk +home due:2026-12-01 pri:high\""), PROTO_E_NONE);
    assert_pstr(p.req.text, "buy milk +home due:2026-12-01 pri:high");
    assert_int_equal(p.req.ntags, 0);
    assert_int_equal(p.req.due_op, 0);
    assert_int_equal(p.req.pri, PROTO_PRI_NONE);
    assert_int_equal(PARSE(&p, "ADD \"+home\""), PROTO_E_NONE);
    assert_pstr(p.req.text, "+home");
    assert_int_equal(p.req.ntags, 0);
    assert_int_equal(PARSE(&p, "ADD \"due:2026-12-01\" +x"), PROTO_E_NONE);
    assert_pstr(p.req.text, "due:2026-12-01");
    assert_int_equal(p.req.ntags, 1);
    assert_pstr(p.req.tags[0], "x");
    assert_int_equal(p.req.due_op, 0);

    /* Text with escapes. */
    assert_int_equal(PARSE(&p, "ADD \"say \\\"hi\\\"\\nthen\\tgo \\\\ \\x41\""), PROTO_E_NONE);
    assert_pstr(p.req.text, "say \"hi\"\nthen\tgo \\ A");

    /* UTF-8 text, bare. */
    assert_int_equal(PARSE(&p, "ADD caf\xc3\xa9 \xe6\x97\xa5"), PROTO_E_NONE);
    assert_pstr(p.req.text, "caf\xc3\xa9 \xe6\x97\xa5");

    /* A lone '+' or '-' is text, not a tag. */
    assert_int_equal(PARSE(&p, "ADD milk + cookies -"), PROTO_E_NONE);
    assert_pstr(p.req.text, "milk + cookies -");
    assert_int_equal(p.req.ntags, 0);

    /* Text words may sit between the other words, and bare and quoted text
     * words are joined with single spaces. */
    assert_int_equal(PARSE(&p, "ADD buy +home fresh\tpri:low \"milk  now\" DUE:2026-12-01"),
                     PROTO_E_NONE);
    assert_pstr(p.req.text, "buy fresh milk  now");
    assert_int_equal(p.req.ntags, 1);
    assert_pstr(p.req.tags[0], "home");
    assert_int_equal(p.req.pri, PROTO_PRI_LOW);
    assert_int_equal(p.req.due_op, 1);
    assert_string_equal(p.req.due, "2026-12-01");

    /* A tag given twice counts once; the last pri: wins. */
    assert_int_equal(PARSE(&p, "ADD x +a +b +a pri:high pri:LOW"), PROTO_E_NONE);
    assert_int_equal(p.req.ntags, 2);
    assert_pstr(p.req.tags[0], "a");
    assert_pstr(p.req.tags[1], "b");
    assert_int_equal(p.req.pri, PROTO_PRI_LOW);

    /* Legacy-looking text is fine in ADD. */
    assert_int_equal(PARSE(&p, "ADD a=b/c"), PROTO_E_NONE);
    assert_pstr(p.req.text, "a=b/c");
}

static void test_parse_add_limits(void **state)
{
    (void)state;
    struct parsed p;
    char line[1024];
    int n;

    /* PROTO_MAX_TAGS tags are fine, one more is not. */
    n = snprintf(line, sizeof(line), "ADD x");
    for (int i = 0; i < PROTO_MAX_TAGS; i++)
        n += snprintf(line + n, sizeof(line) - (size_t)n, " +t%d", i);
    assert_int_equal(parse(&p, line, (size_t)n), PROTO_E_NONE);
    assert_int_equal(p.req.ntags, PROTO_MAX_TAGS);
    assert_pstr(p.req.tags[PROTO_MAX_TAGS - 1], "t15");
    n += snprintf(line + n, sizeof(line) - (size_t)n, " +one_more");
    assert_int_equal(parse(&p, line, (size_t)n), PROTO_E_ARGS);

    /* A tag of PROTO_MAX_TAG bytes is fine, one more is not. */
    n = snprintf(line, sizeof(line), "ADD x +%.*s", PROTO_MAX_TAG,
                 "abcdefghijklmnopqrstuvwxyz0123456789");
    assert_int_equal(parse(&p, line, (size_t)n), PROTO_E_NONE);
    assert_int_equal(p.req.tags[0].len, PROTO_MAX_TAG);
    n = snprintf(line, sizeof(line), "ADD x +%.*s", PROTO_MAX_TAG + 1,
                 "abcdefghijklmnopqrstuvwxyz0123456789");
    assert_int_equal(parse(&p, line, (size_t)n), PROTO_E_ARGS);

    /* PROTO_MAX_ARGS tokens after the verb are fine, one more is not. */
    n = snprintf(line, sizeof(line), "ADD");
    for (int i = 0; i < PROTO_MAX_ARGS; i++)
        n += snprintf(line + n, sizeof(line) - (size_t)n, " w");
    assert_int_equal(parse(&p, line, (size_t)n), PROTO_E_NONE);
    assert_int_equal(p.req.text.len, 2 * PROTO_MAX_ARGS - 1);
    n += snprintf(line + n, sizeof(line) - (size_t)n, " w");
    assert_int_equal(parse(&p, line, (size_t)n), PROTO_E_ARGS);
}

static void test_parse_edit(void **state)
{
    (void)state;
    struct parsed p;

    assert_int_equal(PARSE(&p, "EDIT 42 new text"), PROTO_E_NONE);
    assert_int_equal(p.req.cmd, PROTO_CMD_EDIT);
    assert_pstr(p.req.id, "42");
    assert_int_equal(p.req.has_text, 1);
    assert_pstr(p.req.text, "new text");
    assert_int_equal(p.req.pri, PROTO_PRI_KEEP);
    assert_int_equal(p.req.due_op, 0);
    assert_int_equal(p.req.ntags, 0);
    assert_int_equal(p.req.nuntags, 0);

    assert_int_equal(PARSE(&p, "edit 42 +new -old -older due:none pri:none"), PROTO_E_NONE);
    assert_int_equal(p.req.has_text, 0);
    assert_int_equal(p.req.ntags, 1);
    assert_pstr(p.req.tags[0], "new");
    assert_int_equal(p.req.nuntags, 2);
    assert_pstr(p.req.untags[0], "old");
    assert_pstr(p.req.untags[1], "older");
    assert_int_equal(p.req.due_op, -1);
    assert_int_equal(p.req.pri, PROTO_PRI_NONE);

    assert_int_equal(PARSE(&p, "EDIT 42 due:2024-02-29 pri:med"), PROTO_E_NONE);
    assert_int_equal(p.req.has_text, 0);
    assert_int_equal(p.req.due_op, 1);
    assert_string_equal(p.req.due, "2024-02-29");
    assert_int_equal(p.req.pri, PROTO_PRI_MED);

    /* A quoted "-old" is the new text, not a tag to drop. */
    assert_int_equal(PARSE(&p, "EDIT 42 \"-old\""), PROTO_E_NONE);
    assert_int_equal(p.req.has_text, 1);
    assert_pstr(p.req.text, "-old");
    assert_int_equal(p.req.nuntags, 0);

    assert_int_equal(PARSE(&p, "EDIT"), PROTO_E_ARGS);
    assert_int_equal(PARSE(&p, "EDIT bad/id x"), PROTO_E_ARGS);
    assert_int_equal(PARSE(&p, "EDIT 42 -bad!tag"), PROTO_E_ARGS);
    assert_int_equal(PARSE(&p, "EDIT 42 due:2023-02-29"), PROTO_E_ARGS);
    assert_int_equal(PARSE(&p, "EDIT 42 pri:urgent"), PROTO_E_ARGS);
}

static void test_parse_list(void **state)
{
    (void)state;
    struct parsed p;

    assert_int_equal(PARSE(&p, "LIST done"), PROTO_E_NONE);
    assert_int_equal(p.req.filter, PROTO_FILTER_DONE);
    assert_int_equal(PARSE(&p, "list ALL"), PROTO_E_NONE);
    assert_int_equal(p.req.filter, PROTO_FILTER_ALL);
    assert_int_equal(PARSE(&p, "LIST pending +home +shop milk"), PROTO_E_NONE);
    assert_int_equal(p.req.filter, PROTO_FILTER_PENDING);
    assert_int_equal(p.req.ntags, 2);
    assert_pstr(p.req.tags[0], "home");
    assert_pstr(p.req.tags[1], "shop");
    assert_pstr(p.req.text, "milk");
    /* A quoted keyword is a word to search for. */
    assert_int_equal(PARSE(&p, "LIST \"done\""), PROTO_E_NONE);
    assert_int_equal(p.req.filter, PROTO_FILTER_PENDING);
    assert_pstr(p.req.text, "done");
    /* Only the first word can be the status filter. */
    assert_int_equal(PARSE(&p, "LIST +home done"), PROTO_E_NONE);
    assert_int_equal(p.req.filter, PROTO_FILTER_PENDING);
    assert_pstr(p.req.text, "done");
    assert_int_equal(PARSE(&p, "LIST +bad!tag"), PROTO_E_ARGS);
}

static void test_parse_watch(void **state)
{
    (void)state;
    struct parsed p;

    /* Every task by default: a watcher sees a task leave as well as come. */
    assert_int_equal(PARSE(&p, "WATCH"), PROTO_E_NONE);
    assert_int_equal(p.req.cmd, PROTO_CMD_WATCH);
    assert_int_equal(p.req.filter, PROTO_FILTER_ALL);
    assert_int_equal(p.req.ntags, 0);
    assert_int_equal(p.req.has_since, 0);
    /* Words in any order. */
    assert_int_equal(PARSE(&p, "watch +work since:28147497671065600 PENDING +home"), PROTO_E_NONE);
    assert_int_equal(p.req.filter, PROTO_FILTER_PENDING);
    assert_int_equal(p.req.ntags, 2);
    assert_pstr(p.req.tags[0], "work");
    assert_pstr(p.req.tags[1], "home");
    assert_int_equal(p.req.has_since, 1);
    assert_true(p.req.since == UINT64_C(28147497671065600));
    assert_int_equal(PARSE(&p, "WATCH done"), PROTO_E_NONE);
    assert_int_equal(p.req.filter, PROTO_FILTER_DONE);
    /* The whole range of a 64-bit sequence number, and no further. */
    assert_int_equal(PARSE(&p, "WATCH since:18446744073709551615"), PROTO_E_NONE);
    assert_true(p.req.since == UINT64_MAX);
    assert_int_equal(PARSE(&p, "WATCH since:0"), PROTO_E_NONE);
    assert_true(p.req.since == 0);
    assert_int_equal(PARSE(&p, "WATCH since:18446744073709551616"), PROTO_E_ARGS);
    assert_int_equal(PARSE(&p, "WATCH since:99999999999999999999"), PROTO_E_ARGS);
    assert_int_equal(PARSE(&p, "WATCH since:"), PROTO_E_ARGS);
    assert_int_equal(PARSE(&p, "WATCH since:-1"), PROTO_E_ARGS);
    assert_int_equal(PARSE(&p, "WATCH since:+1"), PROTO_E_ARGS);
    assert_int_equal(PARSE(&p, "WATCH since:012"), PROTO_E_ARGS);
    assert_int_equal(PARSE(&p, "WATCH since:12x"), PROTO_E_ARGS);
    assert_int_equal(PARSE(&p, "WATCH since:1 since:2"), PROTO_E_ARGS);
    /* One status word at most, and nothing LIST takes beyond it. */
    assert_int_equal(PARSE(&p, "WATCH pending done"), PROTO_E_ARGS);
    assert_int_equal(PARSE(&p, "WATCH milk"), PROTO_E_ARGS);
    assert_int_equal(PARSE(&p, "WATCH \"pending\""), PROTO_E_ARGS);
    assert_int_equal(PARSE(&p, "WATCH sort:due"), PROTO_E_ARGS);
    assert_int_equal(PARSE(&p, "WATCH -home"), PROTO_E_ARGS);
    assert_int_equal(PARSE(&p, "WATCH +"), PROTO_E_ARGS);
    assert_int_equal(PARSE(&p, "WATCH +bad!tag"), PROTO_E_ARGS);
    assert_int_equal(PARSE(&p, "WATCH +a +b +c +d +e +f +g +h +i +j +k +l +m +n +o +p"),
                     PROTO_E_NONE);
    assert_int_equal(p.req.ntags, PROTO_MAX_TAGS);
    assert_int_equal(PARSE(&p, "WATCH +a +b +c +d +e +f +g +h +i +j +k +l +m +n +o +p +q"),
                     PROTO_E_ARGS);
    /* The most words WATCH takes. */
    assert_int_equal(PARSE(&p, "WATCH all +a +b +c +d +e +f +g +h +i +j +k +l +m +n +o +p since:7"),
                     PROTO_E_NONE);
    assert_int_equal(proto_cmd_info(PROTO_CMD_WATCH)->max_args, 18);

    assert_int_equal(PARSE(&p, "UNWATCH"), PROTO_E_NONE);
    assert_int_equal(p.req.cmd, PROTO_CMD_UNWATCH);
    assert_int_equal(PARSE(&p, "UNWATCH all"), PROTO_E_ARGS);
}

static void test_parse_import(void **state)
{
    (void)state;
    struct parsed p;

    assert_int_equal(PARSE(&p, "IMPORT fail 42 pending 2026-11-26T10:00:00Z 2026-11-27T08:30:00Z "
                               "buy  milk +home pri:high"),
                     PROTO_E_NONE);
    assert_int_equal(p.req.cmd, PROTO_CMD_IMPORT);
    assert_int_equal(p.req.import_mode, PROTO_IMPORT_FAIL);
    assert_pstr(p.req.id, "42");
    assert_int_equal(p.req.done, 0);
    assert_int_equal(p.req.created, 1795687200);
    assert_int_equal(p.req.updated, 1795768200);
    assert_pstr(p.req.text, "buy milk");
    assert_int_equal(p.req.ntags, 1);
    assert_int_equal(p.req.pri, PROTO_PRI_HIGH);
    assert_int_equal(p.req.due_op, 0);
    assert_int_equal(PARSE(&p, "import REPLACE x DONE - - \"  two  spaces \""), PROTO_E_NONE);
    assert_int_equal(p.req.import_mode, PROTO_IMPORT_REPLACE);
    assert_int_equal(p.req.done, 1);
    assert_true(p.req.created == PROTO_TIME_NOW && p.req.updated == PROTO_TIME_NOW);
    assert_pstr(p.req.text, "  two  spaces ");

    assert_int_equal(PARSE(&p, "IMPORT"), PROTO_E_ARGS);
    assert_int_equal(PARSE(&p, "IMPORT skip 1 pending - -"), PROTO_E_ARGS);
    assert_int_equal(PARSE(&p, "IMPORT skip 1 pending - - \"\""), PROTO_E_ARGS);
    assert_int_equal(PARSE(&p, "IMPORT skip 1 pending - - +home"), PROTO_E_ARGS);
    assert_int_equal(PARSE(&p, "IMPORT always 1 pending - - x"), PROTO_E_ARGS);
    assert_int_equal(PARSE(&p, "IMPORT skip a=b pending - - x"), PROTO_E_ARGS);
    assert_int_equal(PARSE(&p, "IMPORT skip 1 open - - x"), PROTO_E_ARGS);
    assert_int_equal(PARSE(&p, "IMPORT skip 1 pending 2026-11-26T10:00:00 - x"), PROTO_E_ARGS);
    assert_int_equal(PARSE(&p, "IMPORT skip 1 pending - 2026-13-01T00:00:00Z x"), PROTO_E_ARGS);
    assert_int_equal(PARSE(&p, "IMPORT skip 1 pending \"-\" - x"), PROTO_E_ARGS);
    assert_int_equal(PARSE(&p, "IMPORT skip 1 pending - - x +bad!tag"), PROTO_E_ARGS);
    assert_int_equal(PARSE(&p, "IMPORT skip 1 pending - - x due:2026-02-30"), PROTO_E_ARGS);
    assert_int_equal(PARSE(&p, "IMPORT skip 1 pending - - \"x\\x00\""), PROTO_E_ENCODING);
}

static void test_parse_auth(void **state)
{
    (void)state;
    struct parsed p;

    assert_int_equal(PARSE(&p, "AUTH s3cret"), PROTO_E_NONE);
    assert_int_equal(p.req.cmd, PROTO_CMD_AUTH);
    assert_pstr(p.req.text, "s3cret");
    assert_int_equal(PARSE(&p, "AUTH \"pass word\""), PROTO_E_NONE);
    assert_pstr(p.req.text, "pass word");
    assert_int_equal(p.req.user.len, 0);
    assert_int_equal(PARSE(&p, "AUTH"), PROTO_E_ARGS);
    /* AUTH USER PASSWORD, for a server with accounts. */
    assert_int_equal(PARSE(&p, "AUTH alice \"my secret\""), PROTO_E_NONE);
    assert_pstr(p.req.user, "alice");
    assert_pstr(p.req.text, "my secret");
    assert_int_equal(PARSE(&p, "AUTH al.ice-2 pw"), PROTO_E_NONE);
    assert_pstr(p.req.user, "al.ice-2");
    assert_pstr(p.req.text, "pw");
    /* A quoted name is a name as well; a name that is no name, or a third
     * word, is refused. */
    assert_int_equal(PARSE(&p, "AUTH \"bob\" pw"), PROTO_E_NONE);
    assert_pstr(p.req.user, "bob");
    assert_int_equal(PARSE(&p, "AUTH \"a b\" pw"), PROTO_E_ARGS);
    assert_int_equal(PARSE(&p, "AUTH -alice pw"), PROTO_E_ARGS);
    assert_int_equal(PARSE(&p, "AUTH caf\xc3\xa9 pw"), PROTO_E_ARGS);
    assert_int_equal(PARSE(&p, "AUTH alice my secret"), PROTO_E_ARGS);

    /* USER: an admin's; the first word says what, any case. */
    assert_int_equal(PARSE(&p, "USER list"), PROTO_E_NONE);
    assert_int_equal(p.req.cmd, PROTO_CMD_USER);
    assert_int_equal(p.req.user_op, PROTO_USER_LIST);
    assert_int_equal(PARSE(&p, "user Passwd carol \"new secret\""), PROTO_E_NONE);
    assert_int_equal(p.req.user_op, PROTO_USER_PASSWD);
    assert_pstr(p.req.user, "carol");
    assert_pstr(p.req.text, "new secret");
    assert_int_equal(PARSE(&p, "USER del carol"), PROTO_E_NONE);
    assert_int_equal(p.req.user_op, PROTO_USER_DEL);
    assert_int_equal(p.req.has_text, 0);
    assert_int_equal(PARSE(&p, "USER lock carol"), PROTO_E_NONE);
    assert_int_equal(p.req.user_op, PROTO_USER_LOCK);
    /* The wrong count for the word, no word, an unknown or quoted word, a
     * name that is none: refused. */
    assert_int_equal(PARSE(&p, "USER"), PROTO_E_ARGS);
    assert_int_equal(PARSE(&p, "USER list carol"), PROTO_E_ARGS);
    assert_int_equal(PARSE(&p, "USER add carol"), PROTO_E_ARGS);
    assert_int_equal(PARSE(&p, "USER del carol pw"), PROTO_E_ARGS);
    assert_int_equal(PARSE(&p, "USER remove carol"), PROTO_E_ARGS);
    assert_int_equal(PARSE(&p, "USER \"del\" carol"), PROTO_E_ARGS);
    assert_int_equal(PARSE(&p, "USER del -carol"), PROTO_E_ARGS);
    assert_int_equal(PARSE(&p, "USER del \"carol\""), PROTO_E_ARGS);
    assert_int_equal(PARSE(&p, "USER add caf\xc3\xa9 pw"), PROTO_E_ARGS);
}

/* The tutorial's forms, verbatim. */
static void test_parse_legacy(void **state)
{
    (void)state;
    struct parsed p;

    assert_int_equal(PARSE(&p, "GET/task_02/status"), PROTO_E_NONE);
    assert_int_equal(p.req.cmd, PROTO_CMD_LEGACY_GET);
    assert_pstr(p.req.id, "task_02");

    assert_int_equal(PARSE(&p, "GET/task_09/status"), PROTO_E_NONE);
    assert_int_equal(p.req.cmd, PROTO_CMD_LEGACY_GET);
    assert_pstr(p.req.id, "task_09");

    assert_int_equal(PARSE(&p, "POST/task_04=buy milk/status"), PROTO_E_NONE);
    assert_int_equal(p.req.cmd, PROTO_CMD_LEGACY_POST);
    assert_pstr(p.req.id, "task_04");
    assert_int_equal(p.req.has_text, 1);
    assert_pstr(p.req.text, "buy milk");

    /* Text holding '=' and '/': the key ends at the first '=', the field
     * starts after the last '/'. */
    assert_int_equal(PARSE(&p, "POST/task_05=1+1=2 and/or 3/status"), PROTO_E_NONE);
    assert_int_equal(p.req.cmd, PROTO_CMD_LEGACY_POST);
    assert_pstr(p.req.id, "task_05");
    assert_pstr(p.req.text, "1+1=2 and/or 3");

    /* Legacy text is taken literally: quotes and backslashes are text. */
    assert_int_equal(PARSE(&p, "POST/t1=say \"hi\" \\n/status"), PROTO_E_NONE);
    assert_pstr(p.req.text, "say \"hi\" \\n");

    /* UTF-8 text. */
    assert_int_equal(PARSE(&p, "POST/t2=caf\xc3\xa9/status"), PROTO_E_NONE);
    assert_pstr(p.req.text, "caf\xc3\xa9");

    /* The field is ignored, as the tutorial did, and may be left out; the
     * verb may be in any case. */
    assert_int_equal(PARSE(&p, "get/task_02"), PROTO_E_NONE);
    assert_int_equal(p.req.cmd, PROTO_CMD_LEGACY_GET);
    assert_pstr(p.req.id, "task_02");
    assert_int_equal(PARSE(&p, "POST/task_04=milk"), PROTO_E_NONE);
    assert_int_equal(p.req.cmd, PROTO_CMD_LEGACY_POST);
    assert_pstr(p.req.text, "milk");

    /* No '=' is a syntax error; a bad key or no text is a bad argument. */
    assert_int_equal(PARSE(&p, "POST/task_04/status"), PROTO_E_SYNTAX);
    assert_int_equal(p.req.cmd, PROTO_CMD_LEGACY_POST);
    assert_int_equal(PARSE(&p, "POST/task_04=/status"), PROTO_E_ARGS);
    assert_int_equal(PARSE(&p, "POST/=milk/status"), PROTO_E_ARGS);
    assert_int_equal(PARSE(&p, "POST/bad key=milk/status"), PROTO_E_ARGS);
    assert_int_equal(PARSE(&p, "GET/bad key/status"), PROTO_E_ARGS);
    assert_int_equal(PARSE(&p, "GET//status"), PROTO_E_ARGS);
}

struct bad_case {
    const char *line;
    size_t len;
    enum proto_err want;
};

#define B(s, e)                                                                                    \
    {                                                                                              \
        s, sizeof(s) - 1, e                                                                        \
    }

static void test_parse_errors(void **state)
{
    (void)state;
    static const struct bad_case cases[] = {
        /* Quoting. */
        B("ADD \"unterminated", PROTO_E_SYNTAX),
        B("ADD \"a\"b", PROTO_E_SYNTAX),
        B("ADD \"bad \\q escape\"", PROTO_E_SYNTAX),
        B("ADD \"\\x4\"", PROTO_E_SYNTAX),
        B("ADD \"\\xZZ\"", PROTO_E_SYNTAX),
        B("GET \"42", PROTO_E_SYNTAX),
        B("AUTH \"pw\\", PROTO_E_SYNTAX),
        /* Verbs. */
        B("FROB", PROTO_E_UNKNOWN),
        B("FROB 1 2", PROTO_E_UNKNOWN),
        B("ADDX milk", PROTO_E_UNKNOWN),
        B("PIN", PROTO_E_UNKNOWN),
        B("\"PING\"", PROTO_E_SYNTAX),
        /* Arguments. */
        B("ADD", PROTO_E_ARGS),
        B("ADD +home", PROTO_E_ARGS),
        B("ADD \"\"", PROTO_E_ARGS),
        B("ADD \"\" +home", PROTO_E_ARGS),
        B("ADD milk +bad!tag", PROTO_E_ARGS),
        B("ADD milk +a,b", PROTO_E_ARGS),
        B("ADD milk due:2026-02-30", PROTO_E_ARGS),
        B("ADD milk due:tomorrow", PROTO_E_ARGS),
        B("ADD milk due:", PROTO_E_ARGS),
        B("ADD milk pri:urgent", PROTO_E_ARGS),
        B("ADD milk pri:", PROTO_E_ARGS),
        B("GET", PROTO_E_ARGS),
        B("AUTH", PROTO_E_ARGS),
        B("AUTH three more words", PROTO_E_ARGS),
        B("AUTH .x pw", PROTO_E_ARGS),
        B("HELP ADD EDIT", PROTO_E_ARGS),
        B("EDIT 42", PROTO_E_ARGS),
        B("EDIT 42 \"\"", PROTO_E_ARGS),
        /* Encoding: NUL bytes and invalid UTF-8, bare or escaped. */
        B("ADD a\0b", PROTO_E_ENCODING),
        B("PING\0", PROTO_E_ENCODING),
        B("\0", PROTO_E_ENCODING),
        B("GET 1\0", PROTO_E_ENCODING),
        B("ADD caf\xff", PROTO_E_ENCODING),
        B("ADD \xc0\xaf", PROTO_E_ENCODING),
        B("ADD \xe0\x80\xaf", PROTO_E_ENCODING),
        B("ADD \xed\xa0\x80", PROTO_E_ENCODING),
        B("ADD \xf4\x90\x80\x80", PROTO_E_ENCODING),
        B("ADD \xe6\x97", PROTO_E_ENCODING),
        B("ADD \"caf\xff\"", PROTO_E_ENCODING),
        B("ADD \"a\\x00b\"", PROTO_E_ENCODING),
        B("ADD \"\\xc0\\xaf\"", PROTO_E_ENCODING),
        B("ADD \"\\xed\\xa0\\x80\"", PROTO_E_ENCODING),
        B("POST/t1=a\0b/status", PROTO_E_ENCODING),
        B("POST/t1=\xff/status", PROTO_E_ENCODING),
        B("GET/t\xff/status", PROTO_E_ENCODING),
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct parsed p;
        enum proto_err e = parse(&p, cases[i].line, cases[i].len);
        if (e != cases[i].want)
            fail_msg("case %zu (%.*s): got %s, want %s (%s)", i, (int)cases[i].len, cases[i].line,
                     proto_err_name(e), proto_err_name(cases[i].want), p.err);
    }
}

/* A command whose usage is empty takes no arguments. */
static void test_parse_extra_args(void **state)
{
    (void)state;
    for (int c = 1; c < PROTO_CMD__COUNT; c++) {
        const struct proto_cmd_info *ci = proto_cmd_info((enum proto_cmd)c);
        struct parsed p;
        char line[64];
        int n;

        if ((ci->flags & PROTO_CMDF_HIDDEN) || ci->usage[0] != '\0')
            continue;
        n = snprintf(line, sizeof(line), "%s", ci->name);
        assert_int_equal(parse(&p, line, (size_t)n), PROTO_E_NONE);
        assert_int_equal(p.req.cmd, c);
        n = snprintf(line, sizeof(line), "%s extra", ci->name);
        if (parse(&p, line, (size_t)n) != PROTO_E_ARGS)
            fail_msg("%s takes no arguments but accepted one", ci->name);
    }
}

/* ------------------------------------------------------------------------
 * Encoding, then framing and parsing again.
 * ---------------------------------------------------------------------- */

/* Encodes cmd with args, checks the frame, and parses it into p. */
static void encode_parse(enum proto_cmd cmd, const struct proto_arg *args, size_t nargs,
                         struct parsed *p)
{
    const struct proto_cmd_info *ci = proto_cmd_info(cmd);
    struct proto_buf b;
    struct proto_reader r;
    const char *line;
    size_t line_len, consumed, name_len = strlen(ci->name);

    proto_buf_init(&b, 0);
    assert_int_equal(proto_request_encode(&b, cmd, args, nargs), 0);
    /* One line: the verb, a space unless there are no arguments, CRLF. */
    assert_true(b.len >= name_len + 2);
    assert_memory_equal(b.data, ci->name, name_len);
    assert_memory_equal(b.data + b.len - 2, "\r\n", 2);
    assert_null(memchr(b.data, '\n', b.len - 1));
    assert_true(nargs == 0 ? b.len == name_len + 2 : b.data[name_len] == ' ');

    proto_reader_init(&r, PROTO_MAX_LINE_DEFAULT);
    assert_int_equal(proto_reader_next(&r, b.data, b.len, &line, &line_len, &consumed),
                     PROTO_COMPLETE);
    assert_int_equal(consumed, b.len);
    assert_int_equal(line_len, b.len - 2);
    /* The parse points into the line, so keep a copy that outlives b. */
    {
        static char copy[4096];
        assert_true(line_len <= sizeof(copy));
        memcpy(copy, line, line_len);
        proto_buf_free(&b);
        if (parse(p, copy, line_len) != PROTO_E_NONE)
            fail_msg("%.*s: %s", (int)line_len, copy, p->err);
    }
    assert_int_equal(p->req.cmd, cmd);
}

#define ARG(s, q)                                                                                  \
    {                                                                                              \
        (s), sizeof(s) - 1, (q)                                                                    \
    }

static void test_encode_every_command(void **state)
{
    (void)state;
    int covered = 0;

    for (int c = 1; c < PROTO_CMD__COUNT; c++) {
        const struct proto_cmd_info *ci = proto_cmd_info((enum proto_cmd)c);
        struct parsed p;

        if (ci->flags & PROTO_CMDF_HIDDEN)
            continue;
        covered++;
        switch ((enum proto_cmd)c) {
        case PROTO_CMD_PING:
        case PROTO_CMD_HELLO:
        case PROTO_CMD_TAGS:
        case PROTO_CMD_STATS:
        case PROTO_CMD_QUIT:
        case PROTO_CMD_UNDO:
        case PROTO_CMD_UNWATCH:
        case PROTO_CMD_SHARES:
            encode_parse((enum proto_cmd)c, NULL, 0, &p);
            break;
        case PROTO_CMD_SHARE:
        case PROTO_CMD_UNSHARE: {
            const struct proto_arg a[] = {ARG("bob", 0)};
            encode_parse((enum proto_cmd)c, a, 1, &p);
            assert_pstr(p.req.user, "bob");
            assert_false(p.req.has_text);
            const struct proto_arg b[] = {ARG("alice", 0), ARG("bob.smith", 0)};
            encode_parse((enum proto_cmd)c, b, 2, &p);
            assert_pstr(p.req.user, "bob.smith");
            assert_pstr(p.req.text, "alice");
            break;
        }
        case PROTO_CMD_USER: {
            const struct proto_arg l[] = {ARG("list", 0)};
            encode_parse(PROTO_CMD_USER, l, 1, &p);
            assert_int_equal(p.req.user_op, PROTO_USER_LIST);
            assert_int_equal(p.req.user.len, 0);
            const struct proto_arg a[] = {ARG("ADD", 0), ARG("carol", 0), ARG("her secret", 1)};
            encode_parse(PROTO_CMD_USER, a, 3, &p);
            assert_int_equal(p.req.user_op, PROTO_USER_ADD);
            assert_pstr(p.req.user, "carol");
            assert_pstr(p.req.text, "her secret");
            const struct proto_arg d[] = {ARG("unlock", 0), ARG("bob.smith", 0)};
            encode_parse(PROTO_CMD_USER, d, 2, &p);
            assert_int_equal(p.req.user_op, PROTO_USER_UNLOCK);
            assert_pstr(p.req.user, "bob.smith");
            break;
        }
        case PROTO_CMD_USE: {
            encode_parse(PROTO_CMD_USE, NULL, 0, &p);
            assert_false(p.req.has_text);
            const struct proto_arg a[] = {ARG("alice", 0)};
            encode_parse(PROTO_CMD_USE, a, 1, &p);
            assert_pstr(p.req.text, "alice");
            break;
        }
        case PROTO_CMD_WATCH: {
            const struct proto_arg a[] = {ARG("done", 0), ARG("+home", 0), ARG("since:42", 0)};
            encode_parse(PROTO_CMD_WATCH, a, 3, &p);
            assert_int_equal(p.req.filter, PROTO_FILTER_DONE);
            assert_int_equal(p.req.ntags, 1);
            assert_pstr(p.req.tags[0], "home");
            assert_int_equal(p.req.has_since, 1);
            assert_true(p.req.since == 42);
            encode_parse(PROTO_CMD_WATCH, NULL, 0, &p);
            assert_int_equal(p.req.filter, PROTO_FILTER_ALL);
            break;
        }
        case PROTO_CMD_HELP: {
            const struct proto_arg a[] = {ARG("add", 0)};
            encode_parse(PROTO_CMD_HELP, NULL, 0, &p);
            assert_int_equal(p.req.text.len, 0);
            encode_parse(PROTO_CMD_HELP, a, 1, &p);
            assert_pstr(p.req.text, "add");
            break;
        }
        case PROTO_CMD_ADD: {
            const struct proto_arg a[] = {ARG("buy milk", 1), ARG("+home", 0), ARG("+shop", 0),
                                          ARG("due:2026-12-01", 0), ARG("pri:high", 0)};
            encode_parse(PROTO_CMD_ADD, a, 5, &p);
            assert_pstr(p.req.text, "buy milk");
            assert_int_equal(p.req.ntags, 2);
            assert_pstr(p.req.tags[0], "home");
            assert_pstr(p.req.tags[1], "shop");
            assert_int_equal(p.req.due_op, 1);
            assert_string_equal(p.req.due, "2026-12-01");
            assert_int_equal(p.req.pri, PROTO_PRI_HIGH);
            break;
        }
        case PROTO_CMD_GET:
        case PROTO_CMD_DONE:
        case PROTO_CMD_UNDONE:
        case PROTO_CMD_DEL: {
            const struct proto_arg a[] = {ARG("task_02", 0)};
            encode_parse((enum proto_cmd)c, a, 1, &p);
            assert_pstr(p.req.id, "task_02");
            break;
        }
        case PROTO_CMD_EDIT: {
            const struct proto_arg a[] = {ARG("42", 0),   ARG("-old", 1),     ARG("-old", 0),
                                          ARG("+new", 0), ARG("due:none", 0), ARG("pri:low", 0)};
            encode_parse(PROTO_CMD_EDIT, a, 6, &p);
            assert_pstr(p.req.id, "42");
            assert_int_equal(p.req.has_text, 1);
            assert_pstr(p.req.text, "-old");
            assert_int_equal(p.req.nuntags, 1);
            assert_pstr(p.req.untags[0], "old");
            assert_int_equal(p.req.ntags, 1);
            assert_pstr(p.req.tags[0], "new");
            assert_int_equal(p.req.due_op, -1);
            assert_int_equal(p.req.pri, PROTO_PRI_LOW);
            break;
        }
        case PROTO_CMD_LIST: {
            const struct proto_arg a[] = {ARG("all", 0), ARG("+home", 0), ARG("milk", 0)};
            encode_parse(PROTO_CMD_LIST, a, 3, &p);
            assert_int_equal(p.req.filter, PROTO_FILTER_ALL);
            assert_int_equal(p.req.ntags, 1);
            assert_pstr(p.req.tags[0], "home");
            assert_pstr(p.req.text, "milk");
            encode_parse(PROTO_CMD_LIST, NULL, 0, &p);
            assert_int_equal(p.req.filter, PROTO_FILTER_PENDING);
            break;
        }
        case PROTO_CMD_AUTH: {
            const struct proto_arg a[] = {ARG("pa ss\"w\\ord", 0)};
            encode_parse(PROTO_CMD_AUTH, a, 1, &p);
            assert_pstr(p.req.text, "pa ss\"w\\ord");
            const struct proto_arg b[] = {ARG("alice", 0), ARG("pa ss\"w\\ord", 0)};
            encode_parse(PROTO_CMD_AUTH, b, 2, &p);
            assert_pstr(p.req.user, "alice");
            assert_pstr(p.req.text, "pa ss\"w\\ord");
            break;
        }
        case PROTO_CMD_IMPORT: {
            /* As todo-cli sends an exported task: the text always quoted. */
            const struct proto_arg a[] = {ARG("skip", 0),   ARG("task_01", 0),
                                          ARG("done", 0),   ARG("2026-11-26T10:00:00Z", 0),
                                          ARG("-", 0),      ARG("+1 due:x pri:y", 1),
                                          ARG("+家", 0),    ARG("due:2026-12-01", 0),
                                          ARG("pri:low", 0)};
            encode_parse(PROTO_CMD_IMPORT, a, 9, &p);
            assert_int_equal(p.req.import_mode, PROTO_IMPORT_SKIP);
            assert_pstr(p.req.id, "task_01");
            assert_int_equal(p.req.done, 1);
            assert_int_equal(p.req.created, 1795687200);
            assert_true(p.req.updated == PROTO_TIME_NOW);
            assert_pstr(p.req.text, "+1 due:x pri:y");
            assert_int_equal(p.req.ntags, 1);
            assert_pstr(p.req.tags[0], "家");
            assert_string_equal(p.req.due, "2026-12-01");
            assert_int_equal(p.req.pri, PROTO_PRI_LOW);
            break;
        }
        default:
            fail_msg("visible command %s has no encode test", ci->name);
        }
    }
    assert_int_equal(covered, 23);
}

static void test_encode_refuses(void **state)
{
    (void)state;
    struct proto_buf b;
    const struct proto_arg a[] = {ARG("task_02", 0)};

    proto_buf_init(&b, 0);
    assert_int_equal(proto_request_encode(&b, PROTO_CMD_NONE, NULL, 0), -1);
    assert_int_equal(proto_request_encode(&b, PROTO_CMD_LEGACY_GET, a, 1), -1);
    assert_int_equal(proto_request_encode(&b, PROTO_CMD_LEGACY_POST, a, 1), -1);
    assert_int_equal(proto_request_encode(&b, PROTO_CMD__COUNT, NULL, 0), -1);
    assert_int_equal(b.len, 0);
    /* The exact bytes of a simple request. */
    assert_int_equal(proto_request_encode(&b, PROTO_CMD_GET, a, 1), 0);
    assert_buf(&b, "GET task_02\r\n");
    proto_buf_free(&b);
}

/* Awkward text, force-quoted by the client, reaches the server byte for
 * byte in ADD, EDIT and as an AUTH password. */
static void test_encode_awkward_text(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        size_t len;
    } texts[] = {
#define T(x) {x, sizeof(x) - 1}
        T("buy milk"),
        T("  spaced  out  "),
        T("say \"hi\""),
        T("\"\""),
        T("back\\slash\\"),
        T("\\x41 stays four bytes"),
        T("two\nlines\r\nthree"),
        T("tab\there"),
        T("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x8d\xbc"),
        T("+home"),
        T("-home"),
        T("due:2026-12-01"),
        T("due:none"),
        T("pri:high"),
        T("pending"),
        T("a=b/c"),
        T("GET/task_02/status"),
        T("POST/task_04=buy milk/status"),
        T("PING"),
#undef T
    };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        struct proto_arg a[2];
        struct parsed p;

        a[0] = (struct proto_arg){texts[i].s, texts[i].len, 1};
        encode_parse(PROTO_CMD_ADD, a, 1, &p);
        assert_bytes(p.req.text.ptr, p.req.text.len, texts[i].s, texts[i].len);
        assert_int_equal(p.req.ntags, 0);
        assert_int_equal(p.req.due_op, 0);
        assert_int_equal(p.req.pri, PROTO_PRI_NONE);

        a[0] = (struct proto_arg){"7", 1, 0};
        a[1] = (struct proto_arg){texts[i].s, texts[i].len, 1};
        encode_parse(PROTO_CMD_EDIT, a, 2, &p);
        assert_pstr(p.req.id, "7");
        assert_int_equal(p.req.has_text, 1);
        assert_bytes(p.req.text.ptr, p.req.text.len, texts[i].s, texts[i].len);
        assert_int_equal(p.req.nuntags, 0);
        assert_int_equal(p.req.pri, PROTO_PRI_KEEP);

        a[0] = (struct proto_arg){texts[i].s, texts[i].len, 0};
        encode_parse(PROTO_CMD_AUTH, a, 1, &p);
        assert_bytes(p.req.text.ptr, p.req.text.len, texts[i].s, texts[i].len);
    }
}

/* The scratch area needs at most len + 1 bytes: give exactly that. */
static void test_parse_scratch_exact(void **state)
{
    (void)state;
    static const char line[] = "ADD \"\\x41\\\\\\\"\\n\" +t due:2026-01-01";
    size_t len = sizeof(line) - 1;
    char *scratch = malloc(len + 1);
    struct proto_request req;
    char err[64];

    assert_non_null(scratch);
    assert_int_equal(proto_request_parse(line, len, scratch, len + 1, &req, err, sizeof(err)),
                     PROTO_E_NONE);
    assert_pstr(req.text, "A\\\"\n");
    assert_pstr(req.tags[0], "t");
    assert_string_equal(req.due, "2026-01-01");
    free(scratch);
}

/* Every request in a pipelined buffer is framed and parsed, whatever the
 * chunking. */
static void test_reader_then_parse(void **state)
{
    (void)state;
    static const char in[] = "HELLO\r\nADD \"buy milk\" +home pri:h\r\n\r\nGET/task_02/status\n"
                             "POST/task_04=buy milk/status\r\nDONE 1\nquit\n";
    static const enum proto_cmd want[] = {
        PROTO_CMD_HELLO,       PROTO_CMD_ADD,  PROTO_CMD_NONE, PROTO_CMD_LEGACY_GET,
        PROTO_CMD_LEGACY_POST, PROTO_CMD_DONE, PROTO_CMD_QUIT,
    };
    for (size_t chunk = 1; chunk <= sizeof(in) - 1; chunk++) {
        struct events e;
        run_reader(in, sizeof(in) - 1, &chunk, 1, 256, &e);
        assert_int_equal(e.n, NW(want));
        for (size_t i = 0; i < e.n; i++) {
            struct parsed p;
            assert_int_equal(parse(&p, e.ev[i].line, e.ev[i].len), PROTO_E_NONE);
            assert_int_equal(p.req.cmd, want[i]);
            if (want[i] == PROTO_CMD_ADD) {
                assert_pstr(p.req.text, "buy milk");
                assert_int_equal(p.req.pri, PROTO_PRI_HIGH);
            }
        }
        events_free(&e);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reader_pipelined),
        cmocka_unit_test(test_reader_lf_and_crlf),
        cmocka_unit_test(test_reader_toolong),
        cmocka_unit_test(test_reader_toolong_streaming),
        cmocka_unit_test(test_reader_default_limit),
        cmocka_unit_test(test_parse_blank),
        cmocka_unit_test(test_parse_simple),
        cmocka_unit_test(test_parse_id_commands),
        cmocka_unit_test(test_parse_add),
        cmocka_unit_test(test_parse_add_limits),
        cmocka_unit_test(test_parse_edit),
        cmocka_unit_test(test_parse_list),
        cmocka_unit_test(test_parse_watch),
        cmocka_unit_test(test_parse_import),
        cmocka_unit_test(test_parse_auth),
        cmocka_unit_test(test_parse_legacy),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_extra_args),
        cmocka_unit_test(test_encode_every_command),
        cmocka_unit_test(test_encode_refuses),
        cmocka_unit_test(test_encode_awkward_text),
        cmocka_unit_test(test_parse_scratch_exact),
        cmocka_unit_test(test_reader_then_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
