/*
 * test_order.c - LIST's order and its date and priority filters against the
 * real server: creation order by default (as before), sort:FIELD[,FIELD]
 * with ties kept in creation order, sort:next, due:before: / due:after: /
 * overdue / pri:, due: words resolved in the server's zone, and the same
 * order from the stream a big LIST is sent by.
 */
#include "srv_test.h"

#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "todo/proto.h"

static struct server_proc sp;

static int start(void **state)
{
    (void)state;
    const char *const extra[] = {"--db", ":memory:", NULL};
    return server_start(&sp, srv_bin, extra);
}

static int stop(void **state)
{
    (void)state;
    int st = server_stop(&sp, SIGTERM);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* The ids of a LIST's reply, joined by spaces, or its first line when it
 * is not DATA. */
static const char *ids(struct cli *c, const char *req)
{
    static char out[4096];
    const char *r = cli_cmd(c, req);
    size_t n = 0;
    out[0] = '\0';
    if (strncmp(r, "DATA ", 5) != 0) {
        const char *e = strstr(r, "\r\n");
        snprintf(out, sizeof(out), "%.*s", e ? (int)(e - r) : (int)strlen(r), r);
        return out;
    }
    for (const char *p = strstr(r, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        size_t k = strcspn(line, " ");
        n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%.*s", n ? " " : "", (int)k, line);
    }
    return out;
}

/* Tasks with known times, so that ties are exact: created T1 twice (9 and
 * 11, imported in that order), T0 for the done one. */
static void seed(struct cli *c)
{
    static const char *const lines[] = {
        "IMPORT fail 9 pending 2026-01-01T00:00:01Z 2026-01-01T00:00:09Z a\n",
        "IMPORT fail 10 pending 2026-01-01T00:00:02Z 2026-01-01T00:00:02Z b pri:high\n",
        "IMPORT fail 3 pending 2026-01-01T00:00:03Z 2026-01-01T00:00:03Z c due:2026-12-10\n",
        "IMPORT fail 4 pending 2026-01-01T00:00:04Z 2026-01-01T00:00:04Z d due:2020-01-01\n",
        ("IMPORT fail 5 pending 2026-01-01T00:00:05Z 2026-01-01T00:00:05Z e due:2026-12-10 "
         "pri:high +x\n"),
        "IMPORT fail 11 pending 2026-01-01T00:00:01Z 2026-01-01T00:00:01Z f\n",
        "IMPORT fail 2 done 2026-01-01T00:00:00Z 2026-01-01T00:00:00Z g due:2020-01-01\n",
    };
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
        assert_true(strncmp(cli_cmd(c, lines[i]), "OK ", 3) == 0);
}

static void sort_orders(void **state)
{
    (void)state;
    struct cli *c = cli_open(sp.port);
    assert_non_null(c);
    seed(c);
    /* Without sort:, creation order, as LIST always had (equal times: as stored). */
    assert_string_equal(ids(c, "LIST\n"), "9 11 10 3 4 5");
    assert_string_equal(ids(c, "LIST all\n"), "2 9 11 10 3 4 5");
    /* next: overdue first, then due soonest, then priority, then oldest. */
    assert_string_equal(ids(c, "LIST sort:next\n"), "4 5 3 10 9 11");
    assert_string_equal(ids(c, "LIST all sort:next\n"), "2 4 5 3 10 9 11");
    assert_string_equal(ids(c, "LIST sort:due,pri,created,id\n"), "4 5 3 10 9 11");
    /* Descending due keeps the tasks without one last; ties by creation. */
    assert_string_equal(ids(c, "LIST sort:-due\n"), "3 5 4 9 11 10");
    assert_string_equal(ids(c, "LIST sort:due\n"), "4 3 5 9 11 10");
    assert_string_equal(ids(c, "LIST sort:pri,-created\n"), "5 10 4 3 9 11");
    assert_string_equal(ids(c, "LIST sort:-pri\n"), "9 11 3 4 10 5");
    assert_string_equal(ids(c, "LIST sort:updated\n"), "11 10 3 4 5 9");
    assert_string_equal(ids(c, "LIST sort:-updated\n"), "9 5 4 3 10 11");
    assert_string_equal(ids(c, "LIST sort:id\n"), "3 4 5 9 10 11");
    assert_string_equal(ids(c, "LIST SORT:-ID\n"), "11 10 9 5 4 3");
    assert_string_equal(ids(c, "LIST sort:created\n"), "9 11 10 3 4 5");
    assert_string_equal(ids(c, "LIST sort:-created\n"), "5 4 3 10 9 11");
    /* With tags and words too. */
    assert_string_equal(ids(c, "LIST all +x sort:next\n"), "5");
    assert_string_equal(ids(c, "LIST sort:-id a\n"), "9");
    /* A quoted sort: is a word to search for. */
    assert_string_equal(ids(c, "LIST \"sort:id\"\n"), "");
    assert_true(strncmp(ids(c, "LIST sort:bogus\n"), "ERR ARGS ", 9) == 0);
    assert_true(strncmp(ids(c, "LIST sort:due,\n"), "ERR ARGS ", 9) == 0);
    assert_true(strncmp(ids(c, "LIST sort:\n"), "ERR ARGS ", 9) == 0);
    assert_true(strncmp(ids(c, "LIST sort:id,id,id,id,id,id\n"), "ERR ARGS ", 9) == 0);
    cli_close(c);
}

/* The server's local date, days from today, as the server (same zone as
 * this test: it inherits our environment) resolves words. */
static void local_day(int days, char out[PROTO_DATE_LEN + 1])
{
    time_t now = time(NULL) + (time_t)days * 86400;
    struct tm tm;
    assert_non_null(localtime_r(&now, &tm));
    assert_int_equal(strftime(out, PROTO_DATE_LEN + 1, "%Y-%m-%d", &tm), PROTO_DATE_LEN);
}

static void filters(void **state)
{
    (void)state;
    struct cli *c = cli_open(sp.port);
    assert_non_null(c);
    seed(c);
    assert_string_equal(ids(c, "LIST overdue\n"), "4");
    assert_string_equal(ids(c, "LIST all overdue\n"), "4");
    assert_string_equal(ids(c, "LIST due:before:2026-12-10\n"), "4");
    assert_string_equal(ids(c, "LIST all due:before:2026-12-11\n"), "2 3 4 5");
    assert_string_equal(ids(c, "LIST due:after:2026-01-01\n"), "3 5");
    assert_string_equal(ids(c, "LIST due:after:2020-01-01 due:before:2026-12-11\n"), "3 5");
    assert_string_equal(ids(c, "LIST pri:high\n"), "10 5");
    assert_string_equal(ids(c, "LIST pri:none\n"), "9 11 3 4");
    assert_string_equal(ids(c, "LIST PRI:H due:after:2026-01-01\n"), "5");
    assert_string_equal(ids(c, "LIST pri:high sort:-id\n"), "10 5");
    /* due:none in LIST is still a word to search for, as before. */
    assert_string_equal(ids(c, "LIST due:none\n"), "");
    assert_true(strncmp(ids(c, "LIST pri:urgent\n"), "ERR ARGS ", 9) == 0);
    assert_true(strncmp(ids(c, "LIST due:before:someday\n"), "ERR ARGS ", 9) == 0);
    /* Words in the filters, resolved against the server's today. */
    char yday[PROTO_DATE_LEN + 1], tmrw[PROTO_DATE_LEN + 1], req[256];
    local_day(-1, yday);
    local_day(1, tmrw);
    snprintf(req, sizeof(req), "ADD soon due:%s\n", tmrw);
    const char *r = cli_cmd(c, req);
    assert_true(strncmp(r, "OK ", 3) == 0);
    char id[32];
    snprintf(id, sizeof(id), "%.*s", (int)strcspn(r + 3, "\r"), r + 3);
    assert_string_equal(ids(c, "LIST due:after:today due:before:+3d\n"), id);
    assert_string_equal(ids(c, "LIST due:after:yesterday due:before:+2d\n"), id);
    snprintf(req, sizeof(req), "LIST due:after:%s due:before:+3d\n", yday);
    assert_string_equal(ids(c, req), id);
    cli_close(c);
}

/* ADD and EDIT take date words over the wire (nc), in the server's zone. */
static void due_words(void **state)
{
    (void)state;
    struct cli *c = cli_open(sp.port);
    assert_non_null(c);
    char today[PROTO_DATE_LEN + 1], tmrw[PROTO_DATE_LEN + 1], want[64];
    local_day(0, today);
    local_day(1, tmrw);
    assert_string_equal(cli_cmd(c, "ADD milk due:tomorrow\n"), "OK 1\r\n");
    const char *r = cli_cmd(c, "GET 1\n");
    snprintf(want, sizeof(want), " pending - %s - ", tmrw);
    if (strstr(r, want) == NULL)
        fail_msg("GET 1 after due:tomorrow: %s (today %s)", r, today);
    assert_string_equal(cli_cmd(c, "EDIT 1 due:today\n"), "OK 1\r\n");
    r = cli_cmd(c, "GET 1\n");
    snprintf(want, sizeof(want), " pending - %s - ", today);
    if (strstr(r, want) == NULL)
        fail_msg("GET 1 after due:today: %s", r);
    assert_string_equal(cli_cmd(c, "EDIT 1 due:none\n"), "OK 1\r\n");
    assert_non_null(strstr(cli_cmd(c, "GET 1\n"), " pending - - - "));
    assert_true(strncmp(cli_cmd(c, "ADD x due:someday\n"), "ERR ARGS ", 9) == 0);
    assert_true(strncmp(cli_cmd(c, "IMPORT fail 9 pending - - x due:tomorrow\n"), "ERR ARGS ", 9) ==
                0);
    cli_close(c);
}

/* A LIST too big to send at once goes by the stream: in the same order. */
static void stream_order(void **state)
{
    (void)state;
    enum { N = 3000 };
    static char buf[N * 128];
    char line[1024];
    struct cli *c = cli_open(sp.port);
    assert_non_null(c);
    size_t len = 0;
    for (int i = 1; i <= N; i++) {
        len += (size_t)sprintf(buf + len,
                               "IMPORT fail %d pending 2026-01-01T00:00:00Z - "
                               "\"a task with some words to make the line long\"",
                               i);
        if (i % 3 != 0)
            len += (size_t)sprintf(buf + len, " due:2026-%02d-%02d", i % 12 + 1, i % 28 + 1);
        len += (size_t)sprintf(buf + len, " pri:%d\n", i % 4);
    }
    assert_int_equal(sock_send_all(c->fd, buf, len), 0);
    for (int i = 0; i < N; i++) {
        assert_true(cli_line(c, line, sizeof(line), 30000) > 0);
        assert_true(strncmp(line, "OK ", 3) == 0);
    }
    assert_int_equal(cli_send(c, "LIST sort:next\n"), 0);
    assert_true(cli_line(c, line, sizeof(line), 30000) > 0);
    assert_string_equal(line, "DATA 3000\r\n");
    char pdue[16] = "", due[16];
    int ppri = 9, pid = 0;
    for (int i = 0; i < N; i++) {
        assert_true(cli_line(c, line, sizeof(line), 30000) > 0);
        int id;
        char pri[8];
        assert_int_equal(sscanf(line, "%d pending %7s %15s", &id, pri, due), 3);
        int p = proto_pri_parse(pri, strlen(pri));
        if (strcmp(pri, "-") == 0)
            p = 0;
        if (strcmp(due, "-") == 0)
            strcpy(due, "9999-99-99"); /* no due date sorts last */
        int cmp = strcmp(due, pdue);
        if (i > 0 && (cmp < 0 || (cmp == 0 && (p > ppri || (p == ppri && id < pid)))))
            fail_msg("line %d: task %d (%s %s) after task %d", i, id, due, pri, pid);
        memcpy(pdue, due, sizeof(due));
        ppri = p;
        pid = id;
    }
    cli_close(c);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(sort_orders, start, stop),
        cmocka_unit_test_setup_teardown(filters, start, stop),
        cmocka_unit_test_setup_teardown(due_words, start, stop),
        cmocka_unit_test_setup_teardown(stream_order, start, stop),
    };
    return srv_test_main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]));
}
