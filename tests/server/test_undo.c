/*
 * test_undo.c - UNDO against the real server: every kind of change undone
 * newest first, by any client (the history is the server's, one list),
 * across a restart, the refusal when a task changed outside the history,
 * and the depth bound.
 */
#include "srv_test.h"

#include <signal.h>
#include <sys/wait.h>

static char dir[512];
static char db[600];

static int make_dir(void **state)
{
    (void)state;
    make_tmpdir(dir, sizeof(dir));
    snprintf(db, sizeof(db), "%s/todo.db", dir);
    return 0;
}

static int remove_dir(void **state)
{
    (void)state;
    srv_kill_left();
    rm_tree(dir);
    return 0;
}

static void start_file(struct server_proc *p)
{
    const char *const extra[] = {"--db", db, NULL};
    srv_start(p, extra);
}

static void stop_clean(struct server_proc *p)
{
    int st = server_stop(p, SIGTERM);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

/* Sends req and checks the whole reply. */
static void expect(struct cli *c, const char *req, const char *want)
{
    const char *r = cli_cmd(c, req);
    if (strcmp(r, want) != 0)
        fail_msg("%s answered '%s', not '%s'", req, r, want);
}

/* The task line of GET id, without its two times. */
static void expect_task(struct cli *c, const char *id, const char *head, const char *text)
{
    char req[64];
    snprintf(req, sizeof(req), "GET %s\n", id);
    const char *r = cli_cmd(c, req);
    if (strncmp(r, "DATA 1\r\n", 8) != 0 || strncmp(r + 8, head, strlen(head)) != 0 ||
        strstr(r, text) == NULL)
        fail_msg("GET %s answered '%s', not '%s ... %s'", id, r, head, text);
}

static void every_kind_by_any_client(void **state)
{
    (void)state;
    struct server_proc p;
    start_file(&p);
    struct cli *a = cli_open(p.port), *b = cli_open(p.port);
    assert_non_null(a);
    assert_non_null(b);
    assert_true(strncmp(cli_cmd(a, "UNDO\n"), "ERR NOTFOUND nothing to undo", 28) == 0);
    expect(a, "ADD call Mum +family pri:high\n", "OK 1\r\n");
    expect(a, "EDIT 1 call Dad -family +phone due:2027-01-02\n", "OK 1\r\n");
    expect(b, "DONE 1\n", "OK 1\r\n");
    expect(b, "UNDONE 1\n", "OK 1\r\n");
    expect(a, "DEL 1\n", "OK 1\r\n");
    expect(a, "IMPORT fail k9 done 2026-01-01T00:00:00Z 2026-01-02T00:00:00Z old +x\n",
           "OK imported k9\r\n");

    /* b undoes a's changes too: one list, newest first. */
    expect(b, "UNDO\n", "OK undid import k9\r\n");
    expect(b, "GET k9\n", "ERR NOTFOUND no task with id 'k9'\r\n");
    expect(b, "UNDO\n", "OK undid del 1\r\n");
    expect_task(b, "1", "1 pending high 2027-01-02 phone ", "\"call Dad\"");
    expect(a, "UNDO\n", "OK undid undone 1\r\n");
    expect_task(a, "1", "1 done ", "\"call Dad\"");
    expect(a, "UNDO\n", "OK undid done 1\r\n");
    expect(a, "UNDO\n", "OK undid edit 1\r\n");
    expect_task(a, "1", "1 pending high - family ", "\"call Mum\"");
    expect(a, "UNDO\n", "OK undid add 1\r\n");
    expect(a, "GET 1\n", "ERR NOTFOUND no task with id '1'\r\n");
    assert_true(strncmp(cli_cmd(a, "UNDO\n"), "ERR NOTFOUND ", 13) == 0);
    /* UNDO is not itself undone, and ids are not reused. */
    expect(a, "ADD next\n", "OK 2\r\n");
    cli_close(a);
    cli_close(b);
    stop_clean(&p);
}

/* An import is one step: the IMPORT lines one connection sends in a row
 * are undone together, replaced tasks put back and new ones gone, and a
 * request between two imports makes them two steps. Another client's
 * import at the same time is its own run. */
static void import_is_one_step(void **state)
{
    (void)state;
    struct server_proc p;
    start_file(&p);
    struct cli *a = cli_open(p.port), *b = cli_open(p.port);
    assert_non_null(a);
    assert_non_null(b);
    expect(a, "ADD mine\n", "OK 1\r\n");
    expect(a, "IMPORT replace 1 pending 2026-01-01T00:00:00Z 2026-01-01T00:00:00Z first +x\n",
           "OK replaced 1\r\n");
    expect(a, "IMPORT replace k2 done 2026-01-01T00:00:00Z 2026-01-01T00:00:00Z second\n",
           "OK imported k2\r\n");
    expect(b, "IMPORT fail k9 pending 2026-01-01T00:00:00Z 2026-01-01T00:00:00Z other\n",
           "OK imported k9\r\n");
    expect(a, "IMPORT replace k3 pending 2026-01-01T00:00:00Z 2026-01-01T00:00:00Z third\n",
           "OK imported k3\r\n");
    expect(a, "PING\n", "OK PONG\r\n");
    expect(a, "IMPORT replace k4 pending 2026-01-01T00:00:00Z 2026-01-01T00:00:00Z later\n",
           "OK imported k4\r\n");

    expect(a, "UNDO\n", "OK undid import k4\r\n");
    /* k3 is of a's first run, but b's k9 lies between it and the rest of
     * that run in the history: UNDO takes what is on top and of one run. */
    expect(a, "UNDO\n", "OK undid import k3\r\n");
    expect(a, "UNDO\n", "OK undid import k9\r\n");
    expect(a, "UNDO\n", "OK undid import 1 2\r\n");
    expect(a, "GET k2\n", "ERR NOTFOUND no task with id 'k2'\r\n");
    expect_task(a, "1", "1 pending - - - ", "\"mine\"");
    expect(a, "UNDO\n", "OK undid add 1\r\n");

    /* Three lines in a row, nothing between: one step. */
    expect(b, "IMPORT fail r1 pending 2026-01-01T00:00:00Z 2026-01-01T00:00:00Z a\n",
           "OK imported r1\r\n");
    expect(b, "IMPORT fail r2 pending 2026-01-01T00:00:00Z 2026-01-01T00:00:00Z b\n",
           "OK imported r2\r\n");
    expect(b, "IMPORT fail r3 pending 2026-01-01T00:00:00Z 2026-01-01T00:00:00Z c\n",
           "OK imported r3\r\n");
    expect(a, "UNDO\n", "OK undid import r1 3\r\n");
    expect(a, "LIST all\n", "DATA 0\r\n");
    cli_close(a);
    cli_close(b);
    stop_clean(&p);
}

static void survives_restart(void **state)
{
    (void)state;
    struct server_proc p;
    start_file(&p);
    struct cli *c = cli_open(p.port);
    assert_non_null(c);
    expect(c, "ADD kept\n", "OK 1\r\n");
    expect(c, "DEL 1\n", "OK 1\r\n");
    cli_close(c);
    stop_clean(&p);

    start_file(&p);
    c = cli_open(p.port);
    assert_non_null(c);
    expect(c, "UNDO\n", "OK undid del 1\r\n");
    expect_task(c, "1", "1 pending ", "\"kept\"");
    expect(c, "UNDO\n", "OK undid add 1\r\n");
    cli_close(c);
    stop_clean(&p);
}

static void refuses_changed_task(void **state)
{
    (void)state;
    struct server_proc p;
    start_file(&p);
    struct cli *c = cli_open(p.port);
    assert_non_null(c);
    expect(c, "ADD first\n", "OK 1\r\n");
    expect(c, "EDIT 1 second\n", "OK 1\r\n");
    expect(c, "POST/1=third/status\n", "submit success\r\n");
    const char *r = cli_cmd(c, "UNDO\n");
    if (strncmp(r, "ERR CONFLICT task 1 was changed after that edit", 47) != 0 ||
        strstr(r, "not undone") == NULL)
        fail_msg("UNDO answered '%s'", r);
    expect_task(c, "1", "1 pending ", "\"third\"");
    cli_close(c);
    stop_clean(&p);
}

/* The newest 100 changes are kept: 105 ADDs, pipelined, undo to the 6th. */
static void depth_is_bounded(void **state)
{
    (void)state;
    struct server_proc p;
    start_file(&p);
    struct cli *c = cli_open(p.port);
    assert_non_null(c);
    char line[256];
    for (int i = 0; i < 105; i++)
        assert_int_equal(cli_send(c, "ADD one of many\n"), 0);
    for (int i = 0; i < 105; i++)
        assert_true(cli_line(c, line, sizeof(line), 10000) > 0);
    for (int i = 105; i > 5; i--) {
        char want[64];
        snprintf(want, sizeof(want), "OK undid add %d\r\n", i);
        expect(c, "UNDO\n", want);
    }
    assert_true(strncmp(cli_cmd(c, "UNDO\n"), "ERR NOTFOUND ", 13) == 0);
    assert_int_equal(srv_stat(c, "tasks"), 5);
    cli_close(c);
    stop_clean(&p);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(every_kind_by_any_client, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(import_is_one_step, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(survives_restart, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(refuses_changed_task, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(depth_is_bounded, make_dir, remove_dir),
    };
    return srv_test_main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]));
}
