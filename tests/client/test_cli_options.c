/*
 * test_cli_options.c - todo-cli's option and environment parsing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "options.h"

/* A fake environment for each test. */
static const char *fake_env[16][2];

static const char *env(const char *name)
{
    for (size_t i = 0; fake_env[i][0]; i++)
        if (strcmp(fake_env[i][0], name) == 0)
            return fake_env[i][1];
    return NULL;
}

static int setup(void **state)
{
    (void)state;
    memset(fake_env, 0, sizeof(fake_env));
    return 0;
}

static int parse(struct cli_opts *o, char *err, size_t errcap, ...)
{
    char *argv[32];
    int argc = 0;
    va_list ap;
    va_start(ap, errcap);
    argv[argc++] = "todo-cli";
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL)
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    err[0] = '\0';
    return cli_parse_args(argc, argv, env, o, err, errcap);
}

static void test_defaults(void **state)
{
    struct cli_opts o;
    char err[256];
    (void)state;
    assert_int_equal(parse(&o, err, sizeof(err), "list", NULL), 0);
    assert_string_equal(o.host, "127.0.0.1");
    assert_string_equal(o.port, "9000");
    assert_int_equal(o.timeout_ms, 5000);
    assert_null(o.password);
    assert_int_equal(o.nargs, 1);
    assert_string_equal(o.args[0], "list");
    assert_false(o.json || o.plain || o.no_color || o.stop_on_error || o.help || o.version);
    cli_opts_free(&o);
}

static void test_no_command(void **state)
{
    struct cli_opts o;
    char err[256];
    (void)state;
    assert_int_equal(parse(&o, err, sizeof(err), "--stop-on-error", NULL), 0);
    assert_int_equal(o.nargs, 0); /* no command */
    assert_true(o.stop_on_error);
    cli_opts_free(&o);
}

static void test_environment(void **state)
{
    struct cli_opts o;
    char err[256];
    (void)state;
    fake_env[0][0] = "TODO_HOST", fake_env[0][1] = "db.example";
    fake_env[1][0] = "TODO_PORT", fake_env[1][1] = "7000";
    fake_env[2][0] = "TODO_PASSWORD", fake_env[2][1] = "hunter2";
    fake_env[3][0] = "NO_COLOR", fake_env[3][1] = "1";
    assert_int_equal(parse(&o, err, sizeof(err), "ping", NULL), 0);
    assert_string_equal(o.host, "db.example");
    assert_string_equal(o.port, "7000");
    assert_string_equal(o.password, "hunter2");
    assert_true(o.no_color);
    cli_opts_free(&o);

    /* Options beat the environment. */
    assert_int_equal(parse(&o, err, sizeof(err), "-H", "h2", "--port", "7001", "ping", NULL), 0);
    assert_string_equal(o.host, "h2");
    assert_string_equal(o.port, "7001");
    cli_opts_free(&o);

    /* An empty NO_COLOR does not count, as no-color.org says. */
    fake_env[3][1] = "";
    assert_int_equal(parse(&o, err, sizeof(err), "ping", NULL), 0);
    assert_false(o.no_color);
    cli_opts_free(&o);

    fake_env[1][1] = "99999";
    assert_int_equal(parse(&o, err, sizeof(err), "ping", NULL), 2);
    assert_non_null(strstr(err, "TODO_PORT"));
}

/* Words after the command: long options still count, one-dash words are
 * the command's, "--" makes every later word text, and so does a blank. */
static void test_after_command(void **state)
{
    struct cli_opts o;
    char err[256];
    (void)state;
    /* -shopping belongs to edit, not to todo-cli; --plain is an option. */
    assert_int_equal(parse(&o, err, sizeof(err), "edit", "3", "-shopping", "--plain", "-p",
                           "--timeout", "2", NULL),
                     0);
    assert_true(o.plain);
    assert_int_equal(o.timeout_ms, 2000);
    assert_string_equal(o.port, "9000"); /* -p after the command is a word (a tag) */
    assert_int_equal(o.nargs, 4);
    assert_string_equal(o.args[0], "edit");
    assert_string_equal(o.args[2], "-shopping");
    assert_string_equal(o.args[3], "-p");
    assert_null(o.args[4]);
    for (int i = 0; i < 4; i++)
        assert_int_equal(o.text[i], 0);
    cli_opts_free(&o);

    assert_int_equal(parse(&o, err, sizeof(err), "list", "--json", "--port=7002", NULL), 0);
    assert_true(o.json);
    assert_string_equal(o.port, "7002");
    assert_int_equal(o.nargs, 1);
    cli_opts_free(&o);

    /* After --, nothing is an option and every word is text. */
    assert_int_equal(parse(&o, err, sizeof(err), "add", "buy milk", "--", "+urgent",
                           "--not-an-option", "--", NULL),
                     0);
    assert_false(o.json);
    assert_int_equal(o.nargs, 5);
    assert_string_equal(o.args[1], "buy milk");
    assert_int_equal(o.text[1], 1); /* it holds a blank: the user quoted it */
    assert_string_equal(o.args[2], "+urgent");
    assert_int_equal(o.text[2], 1);
    assert_string_equal(o.args[3], "--not-an-option");
    assert_int_equal(o.text[3], 1);
    assert_string_equal(o.args[4], "--");
    assert_int_equal(o.text[4], 1);
    assert_int_equal(o.text[0], 0);
    cli_opts_free(&o);

    /* A -- before the command ends the options too. */
    assert_int_equal(parse(&o, err, sizeof(err), "--", "list", "--json", NULL), 0);
    assert_false(o.json);
    assert_int_equal(o.nargs, 2);
    assert_string_equal(o.args[1], "--json");
    cli_opts_free(&o);
    /* But not when it is an option's value. */
    assert_int_equal(parse(&o, err, sizeof(err), "-H", "--", "list", "--json", NULL), 0);
    assert_true(o.json);
    assert_string_equal(o.host, "--");
    cli_opts_free(&o);

    /* __complete takes its words as they are. */
    assert_int_equal(parse(&o, err, sizeof(err), "__complete", "list", "--js", NULL), 0);
    assert_int_equal(o.nargs, 3);
    assert_string_equal(o.args[2], "--js");
    cli_opts_free(&o);

    assert_int_equal(parse(&o, err, sizeof(err), "list", "--js", NULL), 2);
    assert_non_null(strstr(err, "unknown option '--js'"));
    assert_int_equal(parse(&o, err, sizeof(err), "list", "--port", NULL), 2);
    assert_non_null(strstr(err, "needs an argument"));
    assert_int_equal(parse(&o, err, sizeof(err), "list", "--json=1", NULL), 2);
    assert_int_equal(parse(&o, err, sizeof(err), "--json", "list", "--plain", NULL), 2);
}

static void test_all_flags(void **state)
{
    struct cli_opts o;
    char err[256];
    (void)state;
    assert_int_equal(parse(&o, err, sizeof(err), "--plain", "--no-color", "--stop-on-error",
                           "--timeout", "0.25", "-p", "65535", "-H", "::1", NULL),
                     0);
    assert_true(o.plain && o.no_color && o.stop_on_error);
    assert_int_equal(o.timeout_ms, 250);
    assert_string_equal(o.port, "65535");
    assert_string_equal(o.host, "::1");
    cli_opts_free(&o);
    assert_int_equal(parse(&o, err, sizeof(err), "-h", NULL), 0);
    assert_true(o.help);
    cli_opts_free(&o);
    assert_int_equal(parse(&o, err, sizeof(err), "--version", NULL), 0);
    assert_true(o.version);
    cli_opts_free(&o);
    assert_int_equal(parse(&o, err, sizeof(err), "-V", NULL), 0);
    assert_true(o.version);
    cli_opts_free(&o);
}

static void test_usage_errors(void **state)
{
    struct cli_opts o;
    char err[256];
    (void)state;
    assert_int_equal(parse(&o, err, sizeof(err), "-p", "0", "ping", NULL), 2);
    assert_non_null(strstr(err, "port"));
    assert_int_equal(parse(&o, err, sizeof(err), "-p", "65536", NULL), 2);
    assert_int_equal(parse(&o, err, sizeof(err), "-p", "12ab", NULL), 2);
    assert_int_equal(parse(&o, err, sizeof(err), "--timeout", "0", NULL), 2);
    assert_non_null(strstr(err, "timeout"));
    assert_int_equal(parse(&o, err, sizeof(err), "--timeout", "soon", NULL), 2);
    assert_int_equal(parse(&o, err, sizeof(err), "--frob", NULL), 2);
    assert_non_null(strstr(err, "--frob"));
    assert_int_equal(parse(&o, err, sizeof(err), "-x", NULL), 2);
    assert_non_null(strstr(err, "-x"));
    assert_int_equal(parse(&o, err, sizeof(err), "-H", NULL), 2);
    assert_non_null(strstr(err, "needs an argument"));
    assert_int_equal(parse(&o, err, sizeof(err), "--json", "--plain", "list", NULL), 2);
    assert_int_equal(parse(&o, err, sizeof(err), "-H", "", NULL), 2);
}

static void test_password_file(void **state)
{
    struct cli_opts o;
    char err[256], path[] = "/tmp/todo-cli-pw-XXXXXX";
    (void)state;
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "s3 cret\r\nsecond line\n", 21), 21);
    close(fd);
    fake_env[0][0] = "TODO_PASSWORD", fake_env[0][1] = "from-env";
    /* The file wins over the environment, and only its first line counts. */
    assert_int_equal(parse(&o, err, sizeof(err), "--password-file", path, "ping", NULL), 0);
    assert_string_equal(o.password, "s3 cret");
    cli_opts_free(&o);
    assert_null(o.password);
    unlink(path);
    assert_int_equal(parse(&o, err, sizeof(err), "--password-file", path, "ping", NULL), 2);
    assert_non_null(strstr(err, path));
}

/* --user and TODO_USER: the flag wins, and a name must be one. */
static void test_user(void **state)
{
    struct cli_opts o;
    char err[256];
    (void)state;
    assert_int_equal(parse(&o, err, sizeof(err), "list", NULL), 0);
    assert_null(o.user);
    cli_opts_free(&o);
    fake_env[0][0] = "TODO_USER", fake_env[0][1] = "from.env";
    assert_int_equal(parse(&o, err, sizeof(err), "list", NULL), 0);
    assert_string_equal(o.user, "from.env");
    cli_opts_free(&o);
    assert_int_equal(parse(&o, err, sizeof(err), "--user", "alice", "list", NULL), 0);
    assert_string_equal(o.user, "alice");
    cli_opts_free(&o);
    assert_int_equal(parse(&o, err, sizeof(err), "list", "--user=bob-2", NULL), 0);
    assert_string_equal(o.user, "bob-2");
    assert_int_equal(o.nargs, 1);
    cli_opts_free(&o);
    assert_int_equal(parse(&o, err, sizeof(err), "--user", "a b", "list", NULL), 2);
    assert_non_null(strstr(err, "cannot name a user"));
    assert_int_equal(parse(&o, err, sizeof(err), "--user", "", "list", NULL), 2);
    assert_int_equal(parse(&o, err, sizeof(err), "--user", "-x", "list", NULL), 2);
    fake_env[0][1] = "no:name";
    assert_int_equal(parse(&o, err, sizeof(err), "list", NULL), 2);
    assert_non_null(strstr(err, "TODO_USER"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults, setup),
        cmocka_unit_test_setup(test_no_command, setup),
        cmocka_unit_test_setup(test_environment, setup),
        cmocka_unit_test_setup(test_after_command, setup),
        cmocka_unit_test_setup(test_all_flags, setup),
        cmocka_unit_test_setup(test_usage_errors, setup),
        cmocka_unit_test_setup(test_password_file, setup),
        cmocka_unit_test_setup(test_user, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
