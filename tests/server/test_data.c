/*
 * test_data.c - what todo-server keeps and finds: ADD's ids stay
 * consecutive whatever is refused between two ADDs, IMPORT restores tasks
 * as they were, LIST matches each word, and tags may be of any script.
 */
#include "srv_test.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static struct server_proc sp;
static char pwdir[512];

/* A store in memory with a password ("open sesame"), two workers unless
 * TODO_TEST_THREADS says otherwise. */
static int start_password(void **state)
{
    (void)state;
    char path[600];
    if (write_password_file(pwdir, sizeof(pwdir), path, sizeof(path)) != 0)
        return -1;
    const char *const extra[] = {"--db", ":memory:", "--password-file", path, "--threads",
                                 "2",    NULL};
    return server_start(&sp, srv_bin, extra);
}

static int start_plain(void **state)
{
    (void)state;
    const char *const extra[] = {"--db", ":memory:", "--demo", "--threads", "2", NULL};
    return server_start(&sp, srv_bin, extra);
}

static int stop(void **state)
{
    (void)state;
    int st = server_stop(&sp, SIGTERM);
    if (pwdir[0] != '\0') {
        rm_tree(pwdir);
        pwdir[0] = '\0';
    }
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static struct cli *authed(void)
{
    struct cli *c = cli_open(sp.port);
    assert_non_null(c);
    assert_string_equal(cli_cmd(c, "AUTH \"open sesame\"\n"), "OK\r\n");
    return c;
}

/* Sends "ADD <text>" and checks that the reply is "OK <want>". */
static void add_expect(struct cli *c, const char *text, long want)
{
    char req[256], ok[64];
    snprintf(req, sizeof(req), "ADD %s\n", text);
    snprintf(ok, sizeof(ok), "OK %ld\r\n", want);
    assert_string_equal(cli_cmd(c, req), ok);
}

/*
 * Issue 12: "ADD a" (OK 1), "DEL 77" (ERR NOTFOUND), "ADD b" answered
 * OK 1001. Every kind of refusal between two ADDs, each sent alone: the
 * second ADD gets the next number.
 */
static void ids_after_each_refusal(void **state)
{
    (void)state;
    static const struct {
        const char *req, *reply; /* reply: the start of the ERR line */
    } refusals[] = {
        {"DEL 77\n", "ERR NOTFOUND "},
        {"EDIT 77 new text\n", "ERR NOTFOUND "},
        {"EDIT 77 +tag\n", "ERR NOTFOUND "},
        {"EDIT 77 -tag\n", "ERR NOTFOUND "},
        {"DONE 77\n", "ERR NOTFOUND "},
        {"UNDONE 77\n", "ERR NOTFOUND "},
        /* Task 1 has 16 tags (below): a 17th is refused by the store. */
        {"EDIT 1 +seventeen\n", "ERR ARGS "},
        {"ADD x +a +b +c +d +e +f +g +h +i +j +k +l +m +n +o +p +q\n", "ERR ARGS "},
        {"ADD\n", "ERR ARGS "},
        {"ADD x due:2026-02-30\n", "ERR ARGS "},
        {"DEL\n", "ERR ARGS "},
        {"EDIT 1\n", "ERR ARGS "},
        {"FROB 1\n", "ERR UNKNOWN "},
        {"ADD \"open\n", "ERR SYNTAX "},
        {"AUTH wrong\n", "ERR AUTH "},
        {"IMPORT fail 1 pending - - \"taken\"\n", "ERR EXISTS "},
        {"IMPORT fail 2 pending - -\n", "ERR ARGS "},
        {"IMPORT maybe 2 pending - - x\n", "ERR ARGS "},
    };
    struct cli *c = authed();
    long next = 1;
    add_expect(c,
               "sixteen tags +t1 +t2 +t3 +t4 +t5 +t6 +t7 +t8 +t9 +t10 +t11 +t12 +t13 +t14 "
               "+t15 +t16",
               next++);
    for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
        const char *r = cli_cmd(c, refusals[i].req);
        if (strncmp(r, refusals[i].reply, strlen(refusals[i].reply)) != 0)
            fail_msg("%s got %s", refusals[i].req, r);
        /* A wrong password logs the connection out: log in again. */
        if (strncmp(refusals[i].req, "AUTH", 4) == 0)
            assert_string_equal(cli_cmd(c, "AUTH \"open sesame\"\n"), "OK\r\n");
        add_expect(c, "after a refusal", next++);
    }
    /* A write refused for want of a password, on another connection. */
    struct cli *d = cli_open(sp.port);
    assert_non_null(d);
    assert_true(strncmp(cli_cmd(d, "ADD sneaky\n"), "ERR AUTH ", 9) == 0);
    assert_true(strncmp(cli_cmd(d, "DEL 1\n"), "ERR AUTH ", 9) == 0);
    assert_true(strncmp(cli_cmd(d, "IMPORT skip x pending - - x\n"), "ERR AUTH ", 9) == 0);
    add_expect(c, "after an unauthenticated write", next++);
    cli_close(d);
    cli_close(c);
}

/* The same refusals pipelined between ADDs in one send, which makes them
 * one write batch: each refused write is undone alone, the ids go on. */
static void ids_pipelined(void **state)
{
    (void)state;
    struct cli *c = authed();
    char reply[512];
    add_expect(c, "first", 1);
    assert_int_equal(cli_send(c, "ADD a\nDEL 77\nADD b\nEDIT 77 +x\nEDIT 1 -y\nADD c\n"
                                 "DONE 77\nFROB\nADD d\nEDIT 1 +a +b +c +d +e +f +g +h +i +j +k +l "
                                 "+m +n +o +p +q\nADD e\n"),
                     0);
    static const char *const want[] = {
        "OK 2\r\n",      "ERR NOTFOUND ", "OK 3\r\n", "ERR NOTFOUND ", "OK 1\r\n", "OK 4\r\n",
        "ERR NOTFOUND ", "ERR ",          "OK 5\r\n", "ERR ARGS ",     "OK 6\r\n",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        assert_true(cli_reply(c, reply, sizeof(reply), 5000) > 0);
        if (strncmp(reply, want[i], strlen(want[i])) != 0)
            fail_msg("reply %zu: got %s, wanted %s", i + 1, reply, want[i]);
    }
    /* Across connections, sent before any reply is read: the workers may
     * put them in one pass or not; either way no id is skipped. */
    struct cli *d = authed(), *e = authed();
    assert_int_equal(cli_send(d, "DEL 77\nADD f\nEDIT 77 +z\n"), 0);
    assert_int_equal(cli_send(e, "EDIT 88 +z\nADD g\nDEL 88\n"), 0);
    assert_int_equal(cli_send(c, "DEL 99\nADD h\n"), 0);
    long got[3];
    struct cli *cs[3] = {d, e, c};
    for (int k = 0; k < 3; k++) {
        if (cs[k] == c) {
            assert_true(cli_reply(c, reply, sizeof(reply), 5000) > 0);
            assert_true(strncmp(reply, "ERR NOTFOUND ", 13) == 0);
            assert_true(cli_reply(c, reply, sizeof(reply), 5000) > 0);
            got[k] = atol(reply + 3);
            continue;
        }
        assert_true(cli_reply(cs[k], reply, sizeof(reply), 5000) > 0);
        assert_true(strncmp(reply, "ERR NOTFOUND ", 13) == 0);
        assert_true(cli_reply(cs[k], reply, sizeof(reply), 5000) > 0);
        assert_true(strncmp(reply, "OK ", 3) == 0);
        got[k] = atol(reply + 3);
        assert_true(cli_reply(cs[k], reply, sizeof(reply), 5000) > 0);
        assert_true(strncmp(reply, "ERR NOTFOUND ", 13) == 0);
    }
    /* Ids 7, 8 and 9 in some order. */
    assert_int_equal(got[0] + got[1] + got[2], 7 + 8 + 9);
    assert_true(got[0] != got[1] && got[1] != got[2] && got[0] != got[2]);
    for (int k = 0; k < 3; k++)
        assert_true(got[k] >= 7 && got[k] <= 9);
    add_expect(c, "last", 10);
    cli_close(e);
    cli_close(d);
    cli_close(c);
}

/* Adds a task and returns its id (a static buffer). */
static const char *add_id(struct cli *c, const char *req)
{
    static char id[64];
    const char *r = cli_cmd(c, req);
    if (strncmp(r, "OK ", 3) != 0)
        fail_msg("%s got %s", req, r);
    snprintf(id, sizeof(id), "%.*s", (int)strcspn(r + 3, "\r"), r + 3);
    return id;
}

/* The number of DATA lines of a reply, or -1. */
static long data_n(const char *r)
{
    return strncmp(r, "DATA ", 5) == 0 ? atol(r + 5) : -1;
}

/* Issue 12: LIST's words were one phrase; each must be in the text as a
 * word, in any order, ignoring ASCII case. */
static void list_words(void **state)
{
    (void)state;
    struct cli *c = cli_open(sp.port);
    assert_non_null(c);
    add_id(c, "ADD buy milk\n");
    add_id(c, "ADD buy a milkshake\n");
    add_id(c, "ADD \"call Mum, then get MILK.\"\n");
    add_id(c, "ADD 我要学习中文\n");
    const char *r = cli_cmd(c, "LIST all milk buy\n");
    assert_int_equal(data_n(r), 1);
    assert_non_null(strstr(r, "\"buy milk\""));
    r = cli_cmd(c, "LIST all milk\n");
    assert_int_equal(data_n(r), 2);
    assert_null(strstr(r, "milkshake"));
    assert_int_equal(data_n(cli_cmd(c, "LIST all mum milk\n")), 1);
    assert_int_equal(data_n(cli_cmd(c, "LIST all MUM CALL\n")), 1);
    assert_int_equal(data_n(cli_cmd(c, "LIST all buy\n")), 2);
    assert_int_equal(data_n(cli_cmd(c, "LIST all buy bread\n")), 0);
    assert_int_equal(data_n(cli_cmd(c, "LIST all milkshake a\n")), 1);
    /* A quoted phrase is words too. */
    assert_int_equal(data_n(cli_cmd(c, "LIST all \"milk buy\"\n")), 1);
    /* Words of Chinese are found inside the text: it has no spaces. */
    assert_int_equal(data_n(cli_cmd(c, "LIST all 学习\n")), 1);
    assert_int_equal(data_n(cli_cmd(c, "LIST all 中文 学习\n")), 1);
    assert_int_equal(data_n(cli_cmd(c, "LIST all 日本\n")), 0);
    /* The demo tasks are there, and words combine with the filters. */
    assert_int_equal(data_n(cli_cmd(c, "LIST pending book read\n")), 1);
    assert_int_equal(data_n(cli_cmd(c, "LIST done milk\n")), 0);
    cli_close(c);
}

/* Issue 12: "add 学习 +家" was refused. Tags of any script are stored,
 * found, counted and removed, and compare byte for byte. */
static void tags_any_script(void **state)
{
    (void)state;
    char req[256];
    struct cli *c = cli_open(sp.port);
    assert_non_null(c);
    char a[80], b[64];
    snprintf(a, sizeof(a), "%s", add_id(c, "ADD 学习 +家\n"));
    snprintf(b, sizeof(b), "%s", add_id(c, "ADD \"café au lait\" +café +家 +Ελληνικά +дом\n"));
    add_id(c, "ADD nfd +cafe\xcc\x81\n"); /* e and U+0301: another tag */
    add_id(c, "ADD upper +Café\n");       /* case matters */
    snprintf(req, sizeof(req), "GET %s\n", a);
    assert_non_null(strstr(cli_cmd(c, req), " 家 "));
    const char *r = cli_cmd(c, "LIST +家\n");
    assert_int_equal(data_n(r), 2);
    assert_non_null(strstr(r, "\"学习\""));
    assert_int_equal(data_n(cli_cmd(c, "LIST +家 +café\n")), 1);
    assert_int_equal(data_n(cli_cmd(c, "LIST +café\n")), 1);
    assert_int_equal(data_n(cli_cmd(c, "LIST +дом\n")), 1);
    /* TAGS in byte order (UTF-8 sorts by code point). */
    assert_string_equal(cli_cmd(c, "TAGS\n"), "DATA 6\r\nCafé 1\r\ncafe\xcc\x81 1\r\ncafé 1\r\n"
                                              "Ελληνικά 1\r\nдом 1\r\n家 2\r\n");
    snprintf(req, sizeof(req), "EDIT %s -家 +学习\n", b);
    snprintf(a, sizeof(a), "OK %s\r\n", b);
    assert_string_equal(cli_cmd(c, req), a);
    assert_int_equal(data_n(cli_cmd(c, "LIST +家\n")), 1);
    assert_int_equal(data_n(cli_cmd(c, "LIST +学习\n")), 1);
    assert_non_null(strstr(cli_cmd(c, "TAGS\n"), "\r\n学习 1\r\n家 1\r\n"));
    /* Emoji, symbols and spaces are not letters; ten CJK characters are 30
     * bytes and fit, eleven (33 bytes) do not. */
    assert_true(strncmp(cli_cmd(c, "ADD x +😀\n"), "ERR ARGS ", 9) == 0);
    assert_true(strncmp(cli_cmd(c, "ADD x +a€\n"), "ERR ARGS ", 9) == 0);
    assert_true(strncmp(cli_cmd(c, "ADD x +中，文\n"), "ERR ARGS ", 9) == 0);
    add_id(c, "ADD ten +一二三四五六七八九十\n");
    assert_true(strncmp(cli_cmd(c, "ADD x +一二三四五六七八九十一\n"), "ERR ARGS ", 9) == 0);
    cli_close(c);
}

/* IMPORT restores a task whole: its id, status, times, tags, due date,
 * priority and text; what happens to an id that exists is the client's
 * choice; an imported number moves ADD's counter past it. */
static void import_command(void **state)
{
    (void)state;
    char want[512];
    struct cli *c = cli_open(sp.port);
    assert_non_null(c);
    static const char line500[] =
        "500 done high 2026-12-01 home,学习 2026-11-26T10:00:00Z 2026-11-27T08:30:00Z "
        "\"buy \\\"oat\\\" milk\"\r\n";
    assert_string_equal(cli_cmd(c,
                                "IMPORT fail 500 done 2026-11-26T10:00:00Z 2026-11-27T08:30:00Z "
                                "\"buy \\\"oat\\\" milk\" +学习 +home due:2026-12-01 pri:high\n"),
                        "OK imported 500\r\n");
    snprintf(want, sizeof(want), "DATA 1\r\n%s", line500);
    assert_string_equal(cli_cmd(c, "GET 500\n"), want);
    /* The next ADD goes on after 500, and a refused IMPORT costs no id. */
    add_expect(c, "after 500", 501);
    assert_true(strncmp(cli_cmd(c, "IMPORT fail 500 pending - - \"again\"\n"),
                        "ERR EXISTS a task with id '500' exists", 38) == 0);
    add_expect(c, "after a refused import", 502);
    /* skip leaves the task as it is. */
    assert_string_equal(cli_cmd(c, "IMPORT skip 500 pending - - \"other\" +x\n"),
                        "OK skipped 500\r\n");
    assert_string_equal(cli_cmd(c, "GET 500\n"), want);
    /* replace takes everything from the import, tags too. */
    assert_string_equal(cli_cmd(c, "IMPORT replace 500 pending 2025-01-02T03:04:05Z "
                                   "2025-06-07T08:09:10Z \"new text\" +work\n"),
                        "OK replaced 500\r\n");
    assert_string_equal(cli_cmd(c, "GET 500\n"),
                        "DATA 1\r\n500 pending - - work 2025-01-02T03:04:05Z 2025-06-07T08:09:10Z "
                        "\"new text\"\r\n");
    assert_string_equal(cli_cmd(c, "TAGS\n"), "DATA 1\r\nwork 1\r\n");
    /* A smaller number, a text id and a number ADD would not write (007)
     * leave the counter alone. */
    assert_string_equal(cli_cmd(c, "IMPORT fail 7 pending - - seven\n"), "OK imported 7\r\n");
    assert_string_equal(cli_cmd(c, "IMPORT fail task_09 pending 2026-01-01T00:00:00Z "
                                   "2026-01-01T00:00:00Z \"the tutorial's\"\n"),
                        "OK imported task_09\r\n");
    assert_string_equal(cli_cmd(c, "GET/task_09/status\n"), "the tutorial's\r\n");
    assert_string_equal(cli_cmd(c, "IMPORT fail 007 pending - - \"bond\"\n"),
                        "OK imported 007\r\n");
    add_expect(c, "after small ids", 503);
    /* Past the block of 1,000 reserved ids. */
    assert_string_equal(cli_cmd(c, "IMPORT fail 2500 pending - - far\n"), "OK imported 2500\r\n");
    add_expect(c, "after 2500", 2501);
    /* The demo's tasks are there: fail refuses, - takes the time now. */
    assert_true(strncmp(cli_cmd(c, "IMPORT fail task_01 pending - - x\n"), "ERR EXISTS ", 11) == 0);
    const char *r = cli_cmd(c, "IMPORT replace task_01 pending - - \"seen\"\n");
    assert_string_equal(r, "OK replaced task_01\r\n");
    r = cli_cmd(c, "GET task_01\n");
    assert_null(strstr(r, " 2025-"));
    assert_non_null(strstr(r, "\"seen\""));
    /* Bad IMPORTs, each ERR ARGS, and nothing is stored. */
    static const char *const bad[] = {
        "IMPORT\n",
        "IMPORT fail\n",
        "IMPORT fail 9 pending - -\n",
        "IMPORT fail 9 pending - - \"\"\n",
        "IMPORT sometimes 9 pending - - x\n",
        "IMPORT fail a/b pending - - x\n",
        "IMPORT fail 9 finished - - x\n",
        "IMPORT fail 9 pending 2026-11-26 - x\n",
        "IMPORT fail 9 pending - 2026-02-30T00:00:00Z x\n",
        "IMPORT fail 9 pending - - x +😀\n",
        "IMPORT fail 9 pending - - x due:tomorrow\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r = cli_cmd(c, bad[i]);
        if (strncmp(r, "ERR ARGS ", 9) != 0)
            fail_msg("%s got %s", bad[i], r);
    }
    assert_true(strncmp(cli_cmd(c, "GET 9\n"), "ERR NOTFOUND ", 13) == 0);
    add_expect(c, "after bad imports", 2502);
    /* Pipelined with ADDs: one batch, each in its own savepoint. */
    assert_int_equal(cli_send(c, "IMPORT fail 3000 pending - - a\nADD b\nIMPORT fail 3000 "
                                 "pending - - a\nADD c\n"),
                     0);
    static const char *const piped[] = {"OK imported 3000\r\n", "OK 3001\r\n", "ERR EXISTS ",
                                        "OK 3002\r\n"};
    for (size_t i = 0; i < 4; i++) {
        char reply[512];
        assert_true(cli_reply(c, reply, sizeof(reply), 5000) > 0);
        if (strncmp(reply, piped[i], strlen(piped[i])) != 0)
            fail_msg("reply %zu: %s", i + 1, reply);
    }
    cli_close(c);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(ids_after_each_refusal, start_password, stop),
        cmocka_unit_test_setup_teardown(ids_pipelined, start_password, stop),
        cmocka_unit_test_setup_teardown(list_words, start_plain, stop),
        cmocka_unit_test_setup_teardown(tags_any_script, start_plain, stop),
        cmocka_unit_test_setup_teardown(import_command, start_plain, stop),
    };
    return srv_test_main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]));
}
