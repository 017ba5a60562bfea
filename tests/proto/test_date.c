/*
 * test_date.c - due date words (proto_date_resolve) against fixed todays,
 * and ADD / EDIT taking them through proto_request_parse_dated().
 */
#include "proto_test.h"

#define U(s) (s), (sizeof(s) - 1)

/* The word resolved against today, or "ERR" / "NONE". */
static const char *resolve(const char *word, const char *today)
{
    static char out[PROTO_DATE_LEN + 1];
    int rc = proto_date_resolve(word, strlen(word), today, out);
    if (rc < 0) {
        assert_string_equal(out, "");
        return "ERR";
    }
    return rc == 1 ? "NONE" : out;
}

static void test_simple_words(void **state)
{
    (void)state;
    const char *tue = "2026-12-01"; /* a Tuesday */
    assert_string_equal(resolve("2027-03-04", tue), "2027-03-04");
    assert_string_equal(resolve("today", tue), "2026-12-01");
    assert_string_equal(resolve("TODAY", tue), "2026-12-01");
    assert_string_equal(resolve("tomorrow", tue), "2026-12-02");
    assert_string_equal(resolve("yesterday", tue), "2026-11-30");
    assert_string_equal(resolve("none", tue), "NONE");
    assert_string_equal(resolve("eow", tue), "2026-12-06");
    assert_string_equal(resolve("eom", tue), "2026-12-31");
    assert_string_equal(resolve("eoy", tue), "2026-12-31");
    assert_string_equal(resolve("+0d", tue), "2026-12-01");
    assert_string_equal(resolve("+3d", tue), "2026-12-04");
    assert_string_equal(resolve("+31d", tue), "2027-01-01");
    assert_string_equal(resolve("+2w", tue), "2026-12-15");
    assert_string_equal(resolve("+1m", tue), "2027-01-01");
    assert_string_equal(resolve("+12m", tue), "2027-12-01");
    assert_string_equal(resolve("+3D", tue), "2026-12-04");
}

static void test_weekdays(void **state)
{
    (void)state;
    const char *tue = "2026-12-01";
    assert_string_equal(resolve("wed", tue), "2026-12-02");
    assert_string_equal(resolve("wednesday", tue), "2026-12-02");
    assert_string_equal(resolve("sun", tue), "2026-12-06");
    assert_string_equal(resolve("mon", tue), "2026-12-07");
    assert_string_equal(resolve("Monday", tue), "2026-12-07");
    /* The same weekday as today is a week ahead, never today. */
    assert_string_equal(resolve("tue", tue), "2026-12-08");
    assert_string_equal(resolve("tuesday", tue), "2026-12-08");
    /* The Monday case. */
    const char *mon = "2026-11-30";
    assert_string_equal(resolve("mon", mon), "2026-12-07");
    assert_string_equal(resolve("tue", mon), "2026-12-01");
    assert_string_equal(resolve("sun", mon), "2026-12-06");
    assert_string_equal(resolve("eow", mon), "2026-12-06");
    assert_string_equal(resolve("thu", "2026-12-31"), "2027-01-07");
    assert_string_equal(resolve("fri", "2026-12-31"), "2027-01-01");
    /* Other lengths are not weekdays. */
    assert_string_equal(resolve("mo", tue), "ERR");
    assert_string_equal(resolve("mond", tue), "ERR");
    assert_string_equal(resolve("tues", tue), "ERR");
}

static void test_month_ends_and_leap_years(void **state)
{
    (void)state;
    /* Month steps clamp to the target month's last day. */
    assert_string_equal(resolve("+1m", "2025-01-31"), "2025-02-28");
    assert_string_equal(resolve("+1m", "2024-01-31"), "2024-02-29");
    assert_string_equal(resolve("+2m", "2024-01-31"), "2024-03-31");
    assert_string_equal(resolve("+1m", "2026-03-31"), "2026-04-30");
    assert_string_equal(resolve("+12m", "2024-02-29"), "2025-02-28");
    assert_string_equal(resolve("+48m", "2024-02-29"), "2028-02-29");
    assert_string_equal(resolve("+1m", "2026-12-15"), "2027-01-15");
    /* Day steps across February and year ends. */
    assert_string_equal(resolve("tomorrow", "2024-02-28"), "2024-02-29");
    assert_string_equal(resolve("tomorrow", "2025-02-28"), "2025-03-01");
    assert_string_equal(resolve("tomorrow", "2026-12-31"), "2027-01-01");
    assert_string_equal(resolve("yesterday", "2027-01-01"), "2026-12-31");
    assert_string_equal(resolve("yesterday", "2024-03-01"), "2024-02-29");
    assert_string_equal(resolve("+1d", "1900-02-28"), "1900-03-01"); /* 1900 is not leap */
    assert_string_equal(resolve("+1d", "2000-02-28"), "2000-02-29"); /* 2000 is */
    assert_string_equal(resolve("eom", "2024-02-10"), "2024-02-29");
    assert_string_equal(resolve("eom", "2025-02-10"), "2025-02-28");
    assert_string_equal(resolve("eom", "2026-04-30"), "2026-04-30");
    assert_string_equal(resolve("eoy", "2026-01-01"), "2026-12-31");
    /* eow on a Sunday is that Sunday; across a year end. */
    assert_string_equal(resolve("eow", "2026-12-06"), "2026-12-06");
    assert_string_equal(resolve("eow", "2026-12-28"), "2027-01-03");
}

static void test_bad_words(void **state)
{
    (void)state;
    const char *tue = "2026-12-01";
    const char *bad[] = {"",           "tmrw",      "+d",    "+1",      "+1y",
                         "+-1d",       "-1d",       "+1x",   "+10000d", "1d",
                         "2026-02-30", "2026-12-1", "nonex", "eo",      "+ 1d"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_string_equal(resolve(bad[i], tue), "ERR");
        assert_int_equal(proto_date_word_valid(bad[i], strlen(bad[i])), 0);
    }
    /* A bad today, and results past the years the wire carries. */
    assert_string_equal(resolve("today", "2026-13-01"), "ERR");
    assert_string_equal(resolve("today", "today"), "ERR");
    assert_string_equal(resolve("tomorrow", "9999-12-31"), "ERR");
    assert_string_equal(resolve("yesterday", "0001-01-01"), "ERR");
    assert_string_equal(resolve("+9999m", "9999-01-01"), "ERR");
    assert_string_equal(resolve("+9999w", "2026-12-01"), "2218-07-21");
    assert_int_equal(proto_date_word_valid(U("+9999m")), 1);
    assert_int_equal(proto_date_word_valid(U("none")), 1);
    assert_int_equal(proto_date_word_valid(U("FRI")), 1);
}

static void test_date_days(void **state)
{
    (void)state;
    assert_int_equal(proto_date_days(U("1970-01-01")), 0);
    assert_int_equal(proto_date_days(U("1970-01-02")), 1);
    assert_int_equal(proto_date_days(U("2026-12-01")) - proto_date_days(U("2026-11-30")), 1);
    assert_int_equal(proto_date_days(U("2025-01-01")) - proto_date_days(U("2024-01-01")), 366);
    assert_true(proto_date_days(U("2026-02-30")) == INT64_MIN);
    assert_true(proto_date_days(U("tomorrow")) == INT64_MIN);
}

static void test_parse_dated(void **state)
{
    (void)state;
    char scratch[256], err[256];
    struct proto_request req;
    const char *line = "ADD milk due:tomorrow";
    assert_int_equal(proto_request_parse_dated(line, strlen(line), scratch, sizeof(scratch),
                                               "2024-02-28", &req, err, sizeof(err)),
                     PROTO_E_NONE);
    assert_int_equal(req.due_op, 1);
    assert_string_equal(req.due, "2024-02-29");
    /* Without a today, as proto_request_parse(), only ISO dates. */
    assert_int_equal(proto_request_parse_dated(line, strlen(line), scratch, sizeof(scratch), NULL,
                                               &req, err, sizeof(err)),
                     PROTO_E_ARGS);
    line = "EDIT 7 due:FRI";
    assert_int_equal(proto_request_parse_dated(line, strlen(line), scratch, sizeof(scratch),
                                               "2026-12-01", &req, err, sizeof(err)),
                     PROTO_E_NONE);
    assert_string_equal(req.due, "2026-12-04");
    assert_int_equal(req.due_op, 1);
    line = "EDIT 7 due:none";
    assert_int_equal(proto_request_parse_dated(line, strlen(line), scratch, sizeof(scratch),
                                               "2026-12-01", &req, err, sizeof(err)),
                     PROTO_E_NONE);
    assert_int_equal(req.due_op, -1);
    line = "ADD milk due:someday";
    assert_int_equal(proto_request_parse_dated(line, strlen(line), scratch, sizeof(scratch),
                                               "2026-12-01", &req, err, sizeof(err)),
                     PROTO_E_ARGS);
    assert_non_null(strstr(err, "tomorrow"));
    /* A quoted word is text, and IMPORT keeps to ISO dates. */
    line = "ADD \"due:tomorrow\"";
    assert_int_equal(proto_request_parse_dated(line, strlen(line), scratch, sizeof(scratch),
                                               "2026-12-01", &req, err, sizeof(err)),
                     PROTO_E_NONE);
    assert_int_equal(req.due_op, 0);
    line = "IMPORT fail 9 pending - - x due:tomorrow";
    assert_int_equal(proto_request_parse_dated(line, strlen(line), scratch, sizeof(scratch),
                                               "2026-12-01", &req, err, sizeof(err)),
                     PROTO_E_ARGS);
}

static enum proto_err parse_list(const char *line, const char *today, struct proto_request *req)
{
    static char scratch[256], err[256];
    return proto_request_parse_dated(line, strlen(line), scratch, sizeof(scratch), today, req, err,
                                     sizeof(err));
}

static void test_list_words(void **state)
{
    (void)state;
    struct proto_request req;
    assert_int_equal(parse_list("LIST", NULL, &req), PROTO_E_NONE);
    assert_int_equal(req.nsort, 0);
    assert_int_equal(req.pri_match, 0);
    assert_string_equal(req.due_before, "");
    assert_int_equal(parse_list("LIST all sort:due,-pri,ID", NULL, &req), PROTO_E_NONE);
    assert_int_equal(req.filter, PROTO_FILTER_ALL);
    assert_int_equal(req.nsort, 3);
    assert_int_equal(req.sort[0], PROTO_SORT_DUE);
    assert_int_equal(req.sort[1], -PROTO_SORT_PRI);
    assert_int_equal(req.sort[2], PROTO_SORT_ID);
    assert_int_equal(parse_list("LIST sort:next", NULL, &req), PROTO_E_NONE);
    assert_int_equal(req.nsort, 4);
    assert_int_equal(req.sort[0], PROTO_SORT_DUE);
    assert_int_equal(req.sort[1], PROTO_SORT_PRI);
    assert_int_equal(req.sort[2], PROTO_SORT_CREATED);
    assert_int_equal(req.sort[3], PROTO_SORT_ID);
    assert_int_equal(parse_list("LIST sort:-updated,created", NULL, &req), PROTO_E_NONE);
    assert_int_equal(req.sort[0], -PROTO_SORT_UPDATED);
    assert_int_equal(req.sort[1], PROTO_SORT_CREATED);
    const char *bad[] = {"LIST sort:",      "LIST sort:due,",     "LIST sort:-",
                         "LIST sort:title", "LIST sort:due,,pri", "LIST sort:id,id,id,id,id,id",
                         "LIST pri:urgent", "LIST due:before:x",  "LIST due:after:2026-02-30",
                         "LIST due:before:"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        print_message("%s\n", bad[i]);
        assert_int_equal(parse_list(bad[i], "2026-12-01", &req), PROTO_E_ARGS);
    }
    assert_int_equal(
        parse_list("LIST due:before:2026-12-24 DUE:AFTER:2026-12-01 pri:h milk", NULL, &req),
        PROTO_E_NONE);
    assert_string_equal(req.due_before, "2026-12-24");
    assert_string_equal(req.due_after, "2026-12-01");
    assert_int_equal(req.pri_match, PROTO_PRI_HIGH + 1);
    assert_bytes(req.text.ptr, req.text.len, "milk", 4);
    assert_int_equal(parse_list("LIST pri:none", NULL, &req), PROTO_E_NONE);
    assert_int_equal(req.pri_match, PROTO_PRI_NONE + 1);
    /* Words need a today; overdue is a filter only with one (else a word). */
    assert_int_equal(parse_list("LIST due:before:tomorrow", NULL, &req), PROTO_E_ARGS);
    assert_int_equal(parse_list("LIST due:before:tomorrow", "2026-12-31", &req), PROTO_E_NONE);
    assert_string_equal(req.due_before, "2027-01-01");
    assert_int_equal(parse_list("LIST overdue", "2026-12-01", &req), PROTO_E_NONE);
    assert_int_equal(req.overdue, 1);
    assert_string_equal(req.due_before, "2026-12-01");
    assert_int_equal(req.has_text, 0);
    assert_int_equal(parse_list("LIST overdue", NULL, &req), PROTO_E_NONE);
    assert_int_equal(req.overdue, 0);
    assert_bytes(req.text.ptr, req.text.len, "overdue", 7);
    /* Quoted, they are words to search for; due:none in LIST stays one too. */
    assert_int_equal(parse_list("LIST \"sort:id\" due:none", "2026-12-01", &req), PROTO_E_NONE);
    assert_int_equal(req.nsort, 0);
    assert_bytes(req.text.ptr, req.text.len, "sort:id due:none", 16);
    /* ADD and EDIT take none of it: sort: is text there. */
    assert_int_equal(parse_list("ADD x sort:id", "2026-12-01", &req), PROTO_E_NONE);
    assert_bytes(req.text.ptr, req.text.len, "x sort:id", 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_words),
        cmocka_unit_test(test_weekdays),
        cmocka_unit_test(test_month_ends_and_leap_years),
        cmocka_unit_test(test_bad_words),
        cmocka_unit_test(test_date_days),
        cmocka_unit_test(test_parse_dated),
        cmocka_unit_test(test_list_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
