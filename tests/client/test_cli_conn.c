/*
 * test_cli_conn.c - cli-conn's events against a real todo-server: a
 * watching connection gets every event once and in order, whether it comes
 * while a reply is awaited or while only events are waited for, and the
 * replies around them are the ones asked for.
 *
 * Usage: test_cli_conn TODO_SERVER
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli-conn.h"
#include "server_proc.h"
#include "todo/net.h"

static const char *server_bin;

/* Generous: sanitizer builds on a busy machine. */
#define WAIT_MS 20000

struct seen {
    size_t n;
    struct {
        enum proto_event_kind kind;
        uint64_t seq;
        char id[PROTO_MAX_ID + 1];
        char text[64];
        int done;
    } ev[16];
};

static void on_event(void *ctx, const struct proto_event *ev)
{
    struct seen *s = ctx;
    assert_true(s->n < 16);
    s->ev[s->n].kind = ev->kind;
    s->ev[s->n].seq = ev->seq;
    snprintf(s->ev[s->n].id, sizeof(s->ev[0].id), "%.*s", (int)ev->id.len, ev->id.ptr);
    snprintf(s->ev[s->n].text, sizeof(s->ev[0].text), "%.*s", (int)ev->task.text.len,
             ev->task.text.ptr);
    s->ev[s->n].done = ev->task.done;
    s->n++;
}

struct fixture {
    struct server_proc sp;
    char port[8];
    struct cli_conn w, x; /* the watcher and a writer */
    struct seen seen;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(server_start(&f->sp, server_bin, NULL), 0);
    snprintf(f->port, sizeof(f->port), "%d", f->sp.port);
    struct cli_conn_cfg cfg = {"127.0.0.1", f->port, NULL, WAIT_MS, NULL, NULL};
    cli_conn_init(&f->w, &cfg);
    cli_conn_init(&f->x, &cfg);
    assert_int_equal(cli_conn_open(&f->w), CLI_CONN_OK);
    assert_int_equal(cli_conn_open(&f->x), CLI_CONN_OK);
    f->w.on_event = on_event;
    f->w.event_ctx = &f->seen;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    cli_conn_free(&f->w);
    cli_conn_free(&f->x);
    server_stop(&f->sp, SIGTERM);
    free(f);
    return 0;
}

/* Sends cmd with one word (or none) and returns the reply's text. */
static void call(struct cli_conn *c, enum proto_cmd cmd, const char *word,
                 enum proto_reply_kind want, char *text, size_t cap)
{
    struct proto_arg a = {word, word ? strlen(word) : 0, 0};
    struct proto_reply r;
    assert_int_equal(cli_conn_call(c, cmd, &a, word ? 1 : 0, &r), CLI_CONN_OK);
    if (r.kind != want)
        fail_msg("reply kind %d, wanted %d: %.*s", (int)r.kind, (int)want, (int)r.text.len,
                 r.text.ptr);
    if (text)
        snprintf(text, cap, "%.*s", (int)r.text.len, r.text.ptr);
}

/* Waits for events alone until n have come in all. */
static void wait_seen(struct fixture *f, size_t n)
{
    int64_t end = net_now_ms() + WAIT_MS;
    while (f->seen.n < n) {
        int64_t left = end - net_now_ms();
        assert_true(left > 0);
        enum cli_conn_status st = cli_conn_wait_events(&f->w, (int)left);
        if (st != CLI_CONN_OK)
            fail_msg("waiting for event %zu of %zu: status %d: %s", f->seen.n + 1, n, (int)st,
                     f->w.err);
    }
    assert_int_equal(f->seen.n, n);
}

static void test_events_around_replies(void **state)
{
    struct fixture *f = *state;
    char seq0[32], id[32], own[32], text[64];

    call(&f->w, PROTO_CMD_WATCH, NULL, PROTO_REPLY_OK, seq0, sizeof(seq0));
    call(&f->x, PROTO_CMD_ADD, "first", PROTO_REPLY_OK, id, sizeof(id));
    call(&f->x, PROTO_CMD_DONE, id, PROTO_REPLY_OK, NULL, 0);
    call(&f->x, PROTO_CMD_DONE, "999", PROTO_REPLY_ERR, NULL, 0);
    /* The events may come before PONG or after it: either way PING gets
     * its own reply, and each event is handed over once. */
    call(&f->w, PROTO_CMD_PING, NULL, PROTO_REPLY_OK, text, sizeof(text));
    assert_string_equal(text, "PONG");
    wait_seen(f, 2);
    /* The watcher's own write: its OK is the id, whatever came around it. */
    call(&f->w, PROTO_CMD_ADD, "own", PROTO_REPLY_OK, own, sizeof(own));
    call(&f->w, PROTO_CMD_GET, own, PROTO_REPLY_DATA, NULL, 0);
    wait_seen(f, 3);
    call(&f->x, PROTO_CMD_DEL, id, PROTO_REPLY_OK, NULL, 0);
    wait_seen(f, 4);

    assert_int_equal(f->seen.ev[0].kind, PROTO_EVENT_ADD);
    assert_string_equal(f->seen.ev[0].id, id);
    assert_string_equal(f->seen.ev[0].text, "first");
    assert_int_equal(f->seen.ev[0].done, 0);
    assert_int_equal(f->seen.ev[1].kind, PROTO_EVENT_DONE);
    assert_string_equal(f->seen.ev[1].id, id);
    assert_int_equal(f->seen.ev[1].done, 1);
    assert_int_equal(f->seen.ev[2].kind, PROTO_EVENT_ADD);
    assert_string_equal(f->seen.ev[2].id, own);
    assert_int_equal(f->seen.ev[3].kind, PROTO_EVENT_DEL);
    assert_string_equal(f->seen.ev[3].id, id);
    uint64_t prev = strtoull(seq0, NULL, 10);
    for (size_t i = 0; i < 4; i++) {
        assert_true(f->seen.ev[i].seq > prev);
        prev = f->seen.ev[i].seq;
    }
}

/* An idle watching connection is alive while events come: cli_conn_alive()
 * hands them over instead of taking them for a closed connection. */
static void test_alive_takes_events(void **state)
{
    struct fixture *f = *state;
    char id[32];
    call(&f->w, PROTO_CMD_WATCH, NULL, PROTO_REPLY_OK, NULL, 0);
    call(&f->x, PROTO_CMD_ADD, "seen by alive", PROTO_REPLY_OK, id, sizeof(id));
    int64_t end = net_now_ms() + WAIT_MS;
    while (f->seen.n == 0 && net_now_ms() < end)
        assert_true(cli_conn_alive(&f->w));
    assert_int_equal(f->seen.n, 1);
    assert_string_equal(f->seen.ev[0].id, id);
    assert_true(cli_conn_is_open(&f->w));
    /* A server that is gone is still seen as gone. */
    server_stop(&f->sp, SIGTERM);
    end = net_now_ms() + WAIT_MS;
    while (cli_conn_alive(&f->w) && net_now_ms() < end)
        ;
    assert_false(cli_conn_alive(&f->w));
    assert_false(cli_conn_is_open(&f->w));
    assert_non_null(strstr(f->w.err, "closed the connection"));
    assert_int_equal(server_start(&f->sp, server_bin, NULL), 0);
}

/* A reply while only events are awaited answers nothing we asked: the
 * connection is given up with a sentence. */
static void test_unasked_reply(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(cli_conn_queue(&f->w, PROTO_CMD_PING, NULL, 0), CLI_CONN_OK);
    assert_int_equal(cli_conn_wait_events(&f->w, WAIT_MS), CLI_CONN_E_PROTO);
    assert_non_null(strstr(f->w.err, "a reply that nothing asked for"));
    assert_false(cli_conn_is_open(&f->w));
}

/* With a wait mask, a cancel flag already set ends the wait at once (the
 * signal came before it), and the connection is closed as for Ctrl-C. */
static void test_cancel_before_wait(void **state)
{
    struct fixture *f = *state;
    static volatile sig_atomic_t flag;
    sigset_t mask;
    sigemptyset(&mask);
    call(&f->w, PROTO_CMD_WATCH, NULL, PROTO_REPLY_OK, NULL, 0);
    flag = 1;
    f->w.cancel = &flag;
    f->w.wait_mask = &mask;
    assert_int_equal(cli_conn_wait_events(&f->w, -1), CLI_CONN_E_INTR);
    assert_false(cli_conn_is_open(&f->w));
    f->w.cancel = NULL;
    f->w.wait_mask = NULL;
}

/* Waiting for events that do not come, with a limit, leaves the
 * connection open: a watch with nothing to say is not broken. */
static void test_wait_limit_keeps_connection(void **state)
{
    struct fixture *f = *state;
    char text[16];
    call(&f->w, PROTO_CMD_WATCH, "done", PROTO_REPLY_OK, NULL, 0);
    assert_int_equal(cli_conn_wait_events(&f->w, 1), CLI_CONN_E_TIMEOUT);
    assert_true(cli_conn_is_open(&f->w));
    call(&f->w, PROTO_CMD_PING, NULL, PROTO_REPLY_OK, text, sizeof(text));
    assert_string_equal(text, "PONG");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s TODO_SERVER\n", argv[0]);
        return 2;
    }
    server_bin = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_events_around_replies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alive_takes_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unasked_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_before_wait, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_limit_keeps_connection, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
