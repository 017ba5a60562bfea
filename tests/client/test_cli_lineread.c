/*
 * test_cli_lineread.c - word splitting, the history filter and the small
 * line editor of builds without readline, fed one key at a time.
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

#include "history.h"
#include "lineedit.h"
#include "lineread.h"
#include "words.h"

static void split_ok(const char *line, int partial, size_t n, ...)
{
    struct words w;
    char err[128];
    va_list ap;
    assert_int_equal(words_split(line, strlen(line), partial, &w, err, sizeof(err)), 0);
    assert_int_equal(w.n, n);
    va_start(ap, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(w.v[i], va_arg(ap, const char *));
    va_end(ap);
    assert_null(w.v[n]);
    words_free(&w);
}

static void test_words(void **state)
{
    struct words w;
    char err[128];
    (void)state;
    split_ok("add \"buy milk\" +shopping due:2026-12-01", 0, 4, "add", "buy milk", "+shopping",
             "due:2026-12-01");
    split_ok("  edit\t3   -home  ", 0, 3, "edit", "3", "-home");
    split_ok("add \"say \\\"hi\\\"\\n\\\\ \\q\"", 0, 2, "add", "say \"hi\"\n\\ \\q");
    split_ok("add 'it''s' a\\ b \"\"", 0, 4, "add", "its", "a b", "");
    split_ok("add x\"y z\"w", 0, 2, "add", "xy zw");
    split_ok("", 0, 0);
    assert_int_equal(words_split("add \"open", 9, 0, &w, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "unterminated"));
    assert_int_equal(words_split("add 'open", 9, 0, &w, err, sizeof(err)), -1);
    /* Partial lines: the last word is the one being typed. */
    split_ok("", 1, 1, "");
    split_ok("li", 1, 1, "li");
    split_ok("list ", 1, 2, "list", "");
    split_ok("add \"buy mi", 1, 2, "add", "buy mi");
    split_ok("add \"buy \"", 1, 2, "add", "buy ");
    split_ok("add \"buy\" ", 1, 3, "add", "buy", "");
}

static void test_history_keep(void **state)
{
    (void)state;
    assert_true(history_keep("list all"));
    assert_true(history_keep("authors"));
    assert_false(history_keep("auth secret"));
    assert_false(history_keep("  AUTH secret"));
    assert_false(history_keep("auth"));
    assert_false(history_keep("   "));
    assert_false(history_keep(""));
}

/* Feeds keys and returns the last action. */
static enum lr_action feed(struct lr *e, const char *keys)
{
    enum lr_action a = LR_NONE;
    for (const char *k = keys; *k; k++)
        a = lr_feed(e, (unsigned char)*k);
    return a;
}

static void test_editing(void **state)
{
    struct lr e;
    (void)state;
    lr_init(&e);
    assert_int_equal(feed(&e, "lst"), LR_REDRAW);
    /* Left twice, insert, End, Enter. */
    feed(&e, "\033[D\033[Di\033[F");
    assert_string_equal(e.buf, "list");
    assert_int_equal(e.pos, 4);
    assert_int_equal(feed(&e, " al\x7f\x7f"
                              "all\r"),
                     LR_ENTER);
    assert_string_equal(e.buf, "list all");

    /* Ctrl-A, Ctrl-K, Ctrl-U, Ctrl-W, Delete. */
    lr_reset(&e);
    feed(&e, "add milk");
    feed(&e, "\x01\033[3~");
    assert_string_equal(e.buf, "dd milk");
    feed(&e, "\x05\x17");
    assert_string_equal(e.buf, "dd ");
    feed(&e, "\x02\x02\x0b");
    assert_string_equal(e.buf, "d");
    feed(&e, "\x05\x15");
    assert_string_equal(e.buf, "");

    /* UTF-8: one Backspace removes one character. */
    lr_reset(&e);
    feed(&e, "caf\xc3\xa9\x7f");
    assert_string_equal(e.buf, "caf");

    /* Ctrl-C drops the line; Ctrl-D leaves only on an empty line. */
    lr_reset(&e);
    assert_int_equal(feed(&e, "garbage\x03"), LR_CANCEL);
    assert_string_equal(e.buf, "");
    assert_int_equal(feed(&e, "x\x04"), LR_REDRAW);
    assert_int_equal(feed(&e, "\x7f\x04"), LR_EOF);
    assert_int_equal(feed(&e, "\t"), LR_COMPLETE);
    lr_free(&e);
}

static void test_history(void **state)
{
    struct lr e;
    (void)state;
    lr_init(&e);
    assert_int_equal(lr_history_add(&e, "ping"), 0);
    assert_int_equal(lr_history_add(&e, "list"), 0);
    assert_int_equal(lr_history_add(&e, "list"), 0); /* a repeat is kept once */
    assert_int_equal(e.nhist, 2);
    lr_reset(&e);
    feed(&e, "new");
    feed(&e, "\033[A");
    assert_string_equal(e.buf, "list");
    feed(&e, "\x10");
    assert_string_equal(e.buf, "ping");
    assert_int_equal(feed(&e, "\033[A"), LR_BELL);
    feed(&e, "\033[B\033[B");
    assert_string_equal(e.buf, "new"); /* the line being typed comes back */
    for (int i = 0; i < HISTORY_MAX + 5; i++) {
        char line[32];
        snprintf(line, sizeof(line), "get %d", i);
        assert_int_equal(lr_history_add(&e, line), 0);
    }
    assert_int_equal(e.nhist, HISTORY_MAX);
    assert_string_equal(e.hist[e.nhist - 1], "get 1004");
    lr_free(&e);
}

static void test_complete_apply(void **state)
{
    struct lr e;
    struct strlist c = {0};
    (void)state;
    lr_init(&e);
    feed(&e, "pi");
    strlist_add(&c, "ping", 4);
    assert_int_equal(lr_complete_apply(&e, &c), 1);
    assert_string_equal(e.buf, "ping ");
    strlist_free(&c);

    lr_reset(&e);
    feed(&e, "add x d");
    strlist_add(&c, "due:", 4);
    assert_int_equal(lr_complete_apply(&e, &c), 1);
    assert_string_equal(e.buf, "add x due:"); /* no blank: the date follows */
    strlist_free(&c);

    lr_reset(&e);
    feed(&e, "list +ho");
    strlist_add(&c, "+home", 5);
    strlist_add(&c, "+home-office", 12);
    assert_int_equal(lr_complete_apply(&e, &c), 1);
    assert_string_equal(e.buf, "list +home");
    assert_int_equal(lr_complete_apply(&e, &c), 0); /* nothing more to add: list them */
    strlist_free(&c);
    lr_free(&e);
}

/* The reader on a pipe instead of a terminal: a prompt, then a line at a time. */
static void test_le_read_pipe(void **state)
{
    int in[2], saved_in = dup(STDIN_FILENO), saved_out = dup(STDOUT_FILENO);
    char outpath[] = "/tmp/todo-cli-lr-XXXXXX";
    struct le_config cfg = {0};
    (void)state;
    int outfd = mkstemp(outpath);
    assert_true(outfd >= 0 && saved_in >= 0 && saved_out >= 0);
    assert_int_equal(pipe(in), 0);
    assert_int_equal(write(in[1], "ping\nlist all\r\nlast", 19), 19);
    close(in[1]);
    assert_true(dup2(in[0], STDIN_FILENO) >= 0);
    assert_true(dup2(outfd, STDOUT_FILENO) >= 0);
    close(in[0]);

    assert_int_equal(le_init(&cfg), 0);
    char *a = le_read("p> "), *b = le_read("p> "), *c = le_read("p> "), *d = le_read("p> ");
    le_history_add("ping");
    le_end();

    assert_true(dup2(saved_in, STDIN_FILENO) >= 0);
    assert_true(dup2(saved_out, STDOUT_FILENO) >= 0);
    close(saved_in);
    close(saved_out);
    char shown[64] = "";
    assert_true(pread(outfd, shown, sizeof(shown) - 1, 0) >= 0);
    close(outfd);
    unlink(outpath);

    assert_string_equal(a, "ping");
    assert_string_equal(b, "list all");
    assert_string_equal(c, "last"); /* a last line without a newline still counts */
    assert_null(d);
    assert_string_equal(shown, "p> p> p> p> ");
    free(a);
    free(b);
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_words),          cmocka_unit_test(test_history_keep),
        cmocka_unit_test(test_editing),        cmocka_unit_test(test_history),
        cmocka_unit_test(test_complete_apply), cmocka_unit_test(test_le_read_pipe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
