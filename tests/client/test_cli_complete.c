/*
 * test_cli_complete.c - completion candidates: the static ones from the
 * command table, and live ids and tags from a fake source.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli-commands.h"
#include "complete.h"

static int fake_ids(void *ctx, struct strlist *out)
{
    static const char *const ids[] = {"12", "1", "2", "1", NULL};
    (*(int *)ctx)++;
    for (size_t i = 0; ids[i]; i++)
        if (strlist_add(out, ids[i], strlen(ids[i])) != 0)
            return -1;
    return 0;
}

static int fake_tags(void *ctx, struct strlist *out)
{
    static const char *const tags[] = {"work", "home", "home-office", NULL};
    (*(int *)ctx)++;
    for (size_t i = 0; tags[i]; i++)
        if (strlist_add(out, tags[i], strlen(tags[i])) != 0)
            return -1;
    return 0;
}

/* Tags no server would hold, as a hostile or broken one could send them. */
static int evil_tags(void *ctx, struct strlist *out)
{
    static const char *const tags[] = {
        "ok", "\033]0;pwned\a\033[31mRED", "c1\xc2\x9bx", "bad\xff", "del\x7f", NULL};
    (void)ctx;
    for (size_t i = 0; tags[i]; i++)
        if (strlist_add(out, tags[i], strlen(tags[i])) != 0)
            return -1;
    return 0;
}

static int calls;
static const struct complete_live live = {fake_ids, fake_tags, &calls};

/* Completes the words (NULL-terminated) and compares with the expected
 * candidates, joined by spaces. */
static void expect(const struct complete_live *src, unsigned flags, const char *want, ...)
{
    const char *words[16];
    size_t n = 0;
    va_list ap;
    va_start(ap, want);
    const char *w;
    while ((w = va_arg(ap, const char *)) != NULL)
        words[n++] = w;
    va_end(ap);

    struct strlist out = {0};
    assert_int_equal(complete_words(words, n, src, flags, &out), 0);
    char got[1024] = "";
    size_t len = 0;
    for (size_t i = 0; i < out.n; i++) {
        int k = snprintf(got + len, sizeof(got) - len, "%s%s", i ? " " : "", out.v[i]);
        assert_true(k >= 0 && (size_t)k < sizeof(got) - len);
        len += (size_t)k;
    }
    strlist_free(&out);
    assert_string_equal(got, want);
}

static void test_subcommands(void **state)
{
    (void)state;
    expect(NULL, 0,
           "add del done edit export get help import list next ping share shares stats tags undo "
           "undone unshare user watch",
           "", NULL);
    expect(NULL, 0, "next", "n", NULL);
    /* next takes a number: nothing to offer after it, live or not. */
    expect(NULL, 0, "", "next", "", NULL);
    expect(NULL, 0, "del done", "d", NULL);
    expect(NULL, 0, "undo undone unshare", "un", NULL);
    /* user's first word is what to do. */
    expect(NULL, 0, "add del list lock passwd unlock", "user", "", NULL);
    expect(NULL, 0, "lock", "user", "lo", NULL);
    expect(NULL, 0, "undone", "undon", NULL);
    expect(NULL, 0, "", "zzz", NULL);
    /* The shell adds its own words. */
    expect(NULL, COMPLETE_SHELL, "quit", "q", NULL);
    expect(NULL, COMPLETE_SHELL, "add auth", "a", NULL);
    expect(NULL, 0, "add", "a", NULL);
}

static void test_options(void **state)
{
    (void)state;
    expect(NULL, 0,
           "--help --host --json --list --no-color --password-file --plain --port --stop-on-error "
           "--timeout --user --version",
           "-", NULL);
    expect(NULL, 0, "--json", "--j", NULL);
    expect(NULL, 0, "--password-file --plain --port", "--p", NULL);
    /* Long options go after the command too, but not after -- nor in the shell. */
    expect(NULL, 0, "--json", "list", "all", "--j", NULL);
    expect(NULL, 0, "", "add", "--", "--j", NULL);
    expect(NULL, COMPLETE_SHELL, "", "list", "--j", NULL);
}

/* No candidate reaches a terminal as a control sequence. */
static void test_escaped(void **state)
{
    const struct complete_live evil = {fake_ids, evil_tags, &calls};
    (void)state;
    expect(&evil, 0, "+\\e]0;pwned\\x07\\e[31mRED +bad\\xff +c1\\u009bx +del\\x7f +ok", "add", "x",
           "+", NULL);
}

static void test_keywords(void **state)
{
    (void)state;
    expect(NULL, 0, "all done pending", "list", "", NULL);
    expect(NULL, 0, "pending", "list", "p", NULL);
    expect(NULL, 0, "due: pri:high pri:low pri:med", "add", "", NULL);
    expect(NULL, 0, "pri:high", "add", "buy", "pri:h", NULL);
    /* edit also clears a due date or a priority; add has nothing to clear. */
    expect(NULL, 0, "due: due:none pri:high pri:low pri:med pri:none", "edit", "3", "", NULL);
    expect(NULL, 0, "pri:none", "edit", "3", "pri:n", NULL);
    expect(NULL, 0, "", "add", "buy", "pri:n", NULL);
    expect(NULL, 0, "edit", "help", "ed", NULL);
    /* watch filters as list does; in the shell it is also switched on and off. */
    expect(NULL, 0, "all done pending", "watch", "", NULL);
    expect(NULL, COMPLETE_SHELL, "all done off on pending", "watch", "", NULL);
    expect(NULL, COMPLETE_SHELL, "off on", "watch", "o", NULL);
    expect(NULL, COMPLETE_SHELL, "all", "watch", "pending", "a", NULL);
    /* Without a server there are no ids and no tags, and nothing breaks. */
    expect(NULL, 0, "", "done", "", NULL);
    expect(NULL, 0, "", "add", "+", NULL);
    expect(NULL, 0, "", "ping", "", NULL);
    expect(NULL, 0, "", "frob", "", NULL);
}

static void test_live(void **state)
{
    (void)state;
    calls = 0;
    expect(&live, 0, "1 12 2", "done", "", NULL);
    expect(&live, 0, "1 12", "get", "1", NULL);
    expect(&live, 0, "12", "edit", "12", NULL);
    /* After the id, get and del take nothing more. */
    expect(&live, 0, "", "get", "1", "", NULL);
    expect(&live, 0, "+home +home-office +work", "add", "milk", "+", NULL);
    expect(&live, 0, "+home +home-office", "list", "+h", NULL);
    expect(&live, 0, "+home +home-office", "watch", "pending", "+h", NULL);
    expect(&live, 0, "-home -home-office -work", "edit", "3", "-", NULL);
    /* Only edit removes tags. */
    expect(&live, 0, "", "add", "-", NULL);
    /* Tags are offered only for a word that starts with + or -. */
    expect(&live, 0, "all done pending", "list", "", NULL);
    int before = calls;
    expect(&live, 0, "", "stats", "", NULL);
    expect(&live, 0, "add", "ad", NULL);
    assert_int_equal(calls, before); /* no server asked when nothing live is wanted */
}

/* The client refuses a command with too few or too many words before it
 * sends anything, with the counts the server's parser applies (libproto's
 * table); only its own commands, and auth (the shell asks for a password
 * left out), count otherwise. */
static void test_arg_counts(void **state)
{
    (void)state;
    int min, max, own = 0;
    for (size_t i = 0; cli_commands_at(i); i++) {
        const struct client_cmd *c = cli_commands_at(i);
        cli_commands_arg_counts(c, &min, &max);
        if (c->cmd == PROTO_CMD_NONE || (c->flags & CMD_OWN_ARGS)) {
            own++;
            continue;
        }
        assert_int_equal(min, proto_cmd_info(c->cmd)->min_args);
        assert_int_equal(max, proto_cmd_info(c->cmd)->max_args);
    }
    assert_int_equal(own, 7); /* help, next, export, import, watch (no since:), auth, user */
    cli_commands_arg_counts(cli_commands_find("next"), &min, &max);
    assert_int_equal(min, 0);
    assert_int_equal(max, 1);
    cli_commands_arg_counts(cli_commands_find("watch"), &min, &max);
    assert_int_equal(min, 0);
    assert_int_equal(max, 1 + PROTO_MAX_TAGS);
    cli_commands_arg_counts(cli_commands_find("edit"), &min, &max);
    assert_int_equal(min, 2);
    assert_int_equal(max, -1);
    cli_commands_arg_counts(cli_commands_find("get"), &min, &max);
    assert_int_equal(min, 1);
    assert_int_equal(max, 1);
    cli_commands_arg_counts(cli_commands_find("auth"), &min, &max);
    assert_int_equal(min, 0);
    assert_int_equal(max, 1);
    cli_commands_arg_counts(cli_commands_find("import"), &min, &max);
    assert_int_equal(min, 0);
    assert_int_equal(max, 3);
}

/* After "due:", the date words; the bare "due:" is no longer offered. */
static void test_due_words(void **state)
{
    (void)state;
    expect(NULL, 0, "due:today due:tomorrow", "add", "milk", "due:to", NULL);
    expect(NULL, 0, "due:tue", "edit", "3", "due:tu", NULL);
    expect(NULL, 0, "due:eom due:eow due:eoy", "add", "milk", "due:e", NULL);
    expect(NULL, 0, "due:+1d due:+1m due:+1w", "add", "milk", "due:+", NULL);
    expect(NULL, 0, "due:none", "edit", "3", "due:n", NULL);
    expect(NULL, 0, "", "add", "milk", "due:n", NULL);
    expect(NULL, 0,
           "due:+1d due:+1m due:+1w due:eom due:eow due:eoy due:fri due:mon due:sat due:sun "
           "due:thu due:today due:tomorrow due:tue due:wed due:yesterday",
           "add", "milk", "due:", NULL);
    /* Commands without due: offer none of it. */
    expect(NULL, 0, "", "done", "due:", NULL);
    /* list: sort fields and the date filters' words, after their prefix only. */
    expect(NULL, 0, "sort:-pri", "list", "sort:-p", NULL);
    expect(NULL, 0, "sort:pri", "list", "sort:p", NULL);
    expect(NULL, 0, "sort:next", "list", "all", "sort:n", NULL);
    expect(NULL, 0, "due:before:today due:before:tomorrow", "list", "due:before:to", NULL);
    expect(NULL, 0, "due:after:eom due:after:eow due:after:eoy", "list", "due:after:e", NULL);
    expect(NULL, 0, "", "add", "x", "sort:", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_subcommands), cmocka_unit_test(test_options),
        cmocka_unit_test(test_keywords),    cmocka_unit_test(test_due_words),
        cmocka_unit_test(test_live),        cmocka_unit_test(test_escaped),
        cmocka_unit_test(test_arg_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
