/*
 * shell.c - the interactive shell: a prompt that names the server (or says
 * it is not connected), the same commands as the one-shot form, help, quit.
 */
#include "shell.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli-watch.h"
#include "complete.h"
#include "history.h"
#include "lineedit.h"
#include "text.h"
#include "words.h"

/* Completion may wait this long for the server's ids and tags. */
#define SHELL_COMPLETE_BUDGET_MS 500

static void on_sigint(int sig)
{
    (void)sig;
    le_sigint = 1;
}

static int shell_complete(void *ctx, const char *const *words, size_t n, struct strlist *out)
{
    struct session *s = ctx;
    struct complete_server cs;
    /* A connection of its own: a slow or dead server must not disturb the
     * shell's connection, and completion only ever reads. */
    complete_server_init(&cs, &s->conn.cfg, SHELL_COMPLETE_BUDGET_MS);
    struct complete_live live = complete_server_live(&cs);
    int rc = complete_words(words, n, &live, COMPLETE_SHELL, out);
    complete_server_free(&cs);
    return rc;
}

/* ---- other clients' changes above the prompt (watch on) ------------------ */

/* Own writes remembered until their event comes back: a shell does not
 * tell its user what the user just did. */
#define OWN_MAX 32

struct shown {
    enum proto_event_kind kind;
    char id[PROTO_MAX_ID + 1];
    char *line; /* the sentence, escaped */
};

struct shell_watch {
    struct session *s;
    int on;             /* watch on (the default on a terminal), or off */
    unsigned long conn; /* s->conn.opened when WATCH was answered; 0: not watching */
    uint64_t last;      /* the last change shown, for since: after a reconnect */
    int have_last;
    int overflow; /* EVENT overflow came: the watch ended */
    struct {
        enum proto_event_kind kind;
        char id[PROTO_MAX_ID + 1];
    } own[OWN_MAX];
    size_t nown;
    struct shown *q; /* events not shown yet, in order */
    size_t nq, qcap;
};

static void on_event(void *ctx, const struct proto_event *ev)
{
    struct shell_watch *sw = ctx;
    struct proto_buf b;
    if (ev->kind == PROTO_EVENT_OVERFLOW) {
        sw->overflow = 1;
        return;
    }
    if (!sw->on || (sw->have_last && ev->seq <= sw->last))
        return;
    sw->last = ev->seq;
    sw->have_last = 1;
    if (sw->nq == sw->qcap) {
        size_t ncap = sw->qcap ? sw->qcap * 2 : 8;
        struct shown *q = realloc(sw->q, ncap * sizeof(*q));
        if (!q)
            return; /* a change not shown is better than a shell that stops */
        sw->q = q;
        sw->qcap = ncap;
    }
    struct shown *e = &sw->q[sw->nq];
    proto_buf_init(&b, 0);
    if (out_event_sentence(&b, ev) != 0 || proto_buf_append(&b, "", 1) != 0) {
        proto_buf_free(&b);
        return;
    }
    e->kind = ev->kind;
    snprintf(e->id, sizeof(e->id), "%.*s", (int)ev->id.len, ev->id.ptr);
    e->line = b.data;
    sw->nq++;
}

static enum proto_event_kind kind_of(enum proto_cmd cmd)
{
    switch (cmd) {
    case PROTO_CMD_ADD:
        return PROTO_EVENT_ADD;
    case PROTO_CMD_EDIT:
        return PROTO_EVENT_EDIT;
    case PROTO_CMD_DONE:
        return PROTO_EVENT_DONE;
    case PROTO_CMD_UNDONE:
        return PROTO_EVENT_UNDONE;
    case PROTO_CMD_DEL:
        return PROTO_EVENT_DEL;
    default:
        return 0;
    }
}

/* Remembers the change the last command made, whose event is to be left out. */
static void note_own(struct shell_watch *sw)
{
    struct session *s = sw->s;
    enum proto_event_kind k = kind_of(s->changed);
    s->changed = PROTO_CMD_NONE;
    if (!k || !sw->on)
        return;
    if (sw->nown == OWN_MAX) {
        memmove(sw->own, sw->own + 1, (OWN_MAX - 1) * sizeof(sw->own[0]));
        sw->nown--;
    }
    sw->own[sw->nown].kind = k;
    snprintf(sw->own[sw->nown].id, sizeof(sw->own[0].id), "%s", s->changed_id);
    sw->nown++;
}

/* 1 (and forgets it) when the event is the echo of one of our own writes. */
static int is_own(struct shell_watch *sw, const struct shown *e)
{
    for (size_t i = 0; i < sw->nown; i++) {
        if (sw->own[i].kind == e->kind && strcmp(sw->own[i].id, e->id) == 0) {
            memmove(sw->own + i, sw->own + i + 1, (sw->nown - i - 1) * sizeof(sw->own[0]));
            sw->nown--;
            return 1;
        }
    }
    return 0;
}

/* Shows the events that came, above the prompt when one is up. */
static void show_events(struct shell_watch *sw)
{
    for (size_t i = 0; i < sw->nq; i++) {
        struct shown *e = &sw->q[i];
        if (!is_own(sw, e))
            le_show(e->line, strlen(e->line));
        free(e->line);
    }
    sw->nq = 0;
}

static void show_note(const char *msg)
{
    le_show(msg, strlen(msg));
}

static void on_ready(void *ctx);

/* Makes the connection watch, or stop watching, as the user wants, and
 * tells the line editor what to wait on. */
static void watch_sync(struct shell_watch *sw)
{
    struct session *s = sw->s;
    struct cli_conn *c = &s->conn;
    int watching = cli_conn_is_open(c) && sw->conn == c->opened;

    if (s->list_moved) {
        /* A watch sees the list it was sent in: WATCH again in the new one. */
        s->list_moved = 0;
        if (watching) {
            sw->conn = 0;
            sw->have_last = 0;
            watching = 0;
        }
    }
    if (sw->overflow && watching) {
        sw->overflow = 0;
        show_note("(the watch fell behind the server and missed changes: 'list' shows them all)");
        sw->have_last = 0;
        watching = 0;
    }
    if (!sw->on && watching) {
        struct proto_reply r;
        /* Events before UNWATCH's OK are dropped with the handler. */
        c->on_event = NULL;
        if (cli_conn_call(c, PROTO_CMD_UNWATCH, NULL, 0, &r) != CLI_CONN_OK ||
            r.kind != PROTO_REPLY_OK)
            cli_conn_close(c);
        sw->conn = 0;
        sw->nq = 0;
    }
    if (sw->on && !watching && cli_conn_is_open(c)) {
        uint64_t seq = 0;
        enum cli_conn_status st;
        c->on_event = on_event;
        c->event_ctx = sw;
        int rc = cli_watch_start(s, NULL, 0, sw->have_last, sw->last, &seq, &st);
        if (rc == CLI_WATCH_EXPIRED) {
            show_note("(changes made while the shell was not connected were missed: 'list' "
                      "shows them all)");
            sw->have_last = 0;
            rc = cli_watch_start(s, NULL, 0, 0, 0, &seq, &st);
        }
        if (rc == 0) {
            sw->conn = c->opened;
            if (!sw->have_last) {
                sw->last = seq;
                sw->have_last = 1;
            }
        } else if (rc > 0) {
            /* An old server, or a refusal: said once, not at every prompt. */
            sw->on = 0;
            c->on_event = NULL;
            fputs("todo-cli: watch is off\n", stderr);
        }
    }
    watching = cli_conn_is_open(c) && sw->conn == c->opened;
    le_set_watch(watching ? c->fd : -1, on_ready, sw);
}

/* The watching connection is readable while a line is being typed. */
static void on_ready(void *ctx)
{
    struct shell_watch *sw = ctx;
    struct cli_conn *c = &sw->s->conn;
    if (cli_conn_pump(c) != CLI_CONN_OK || !cli_conn_is_open(c)) {
        char msg[600];
        snprintf(msg, sizeof(msg), "(%s; the next command connects again)", c->err);
        show_events(sw);
        show_note(msg);
    }
    watch_sync(sw);
    show_events(sw);
}

/* watch on|off: 1 when the words were that (and it was done). */
static int watch_switch(struct shell_watch *sw, const struct words *w)
{
    if (w->n != 2 || strcmp(w->v[0], "watch") != 0 || w->quoted[1])
        return 0;
    int on = strcasecmp(w->v[1], "on") == 0;
    if (!on && strcasecmp(w->v[1], "off") != 0)
        return 0;
    sw->on = on;
    if (on && !cli_conn_is_open(&sw->s->conn))
        (void)session_connect(sw->s);
    watch_sync(sw);
    printf("watch %s: %s\n", on ? "on" : "off",
           on ? "other clients' changes are shown as they happen"
              : "other clients' changes are not shown");
    return 1;
}

int shell_run(struct session *s)
{
    struct shell_watch sw;
    struct sigaction sa, old_sa;
    struct le_config lc = {.complete = shell_complete, .ctx = s};
    char *histfile = le_persistent_history ? history_path() : NULL;
    char prompt[320];

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: a wait for the server must end when Ctrl-C is pressed. */
    if (sigaction(SIGINT, &sa, &old_sa) != 0) {
        fprintf(stderr, "todo-cli: cannot catch Ctrl-C: %s\n", strerror(errno));
        free(histfile);
        return 1;
    }
    s->conn.cancel = &le_sigint;
    lc.histfile = histfile;
    le_init(&lc);
    /* Other clients' changes are shown when a person is looking: both ends
     * a terminal, unless TODO_CLI_WATCH=off. */
    memset(&sw, 0, sizeof(sw));
    sw.s = s;
    const char *wenv = getenv("TODO_CLI_WATCH");
    sw.on = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO) && !(wenv && strcmp(wenv, "off") == 0);
    s->conn.on_event = on_event;
    s->conn.event_ctx = &sw;
    (void)session_connect(s);

    for (;;) {
        if (cli_conn_is_open(&s->conn) && !cli_conn_alive(&s->conn))
            cli_conn_close(&s->conn);
        watch_sync(&sw);
        show_events(&sw);
        if (cli_conn_is_open(&s->conn) && s->conn.cfg.list)
            snprintf(prompt, sizeof(prompt), "todo %s:%s (%s)> ", s->conn.cfg.host,
                     s->conn.cfg.port, s->conn.cfg.list); /* in a list shared with the user */
        else if (cli_conn_is_open(&s->conn))
            snprintf(prompt, sizeof(prompt), "todo %s:%s> ", s->conn.cfg.host, s->conn.cfg.port);
        else
            snprintf(prompt, sizeof(prompt), "todo (not connected)> ");
        if (fflush(stdout) != 0)
            break;
        char *line = le_read(prompt);
        if (!line)
            break;
        le_history_add(line);

        struct words w;
        char err[128];
        if (words_split(line, strlen(line), 0, &w, err, sizeof(err)) != 0) {
            fprintf(stderr, "todo-cli: %s\n", err);
            free(line);
            continue;
        }
        free(line);
        int leave = w.n > 0 && (strcmp(w.v[0], "quit") == 0 || strcmp(w.v[0], "exit") == 0);
        if (w.n > 0 && !leave && !watch_switch(&sw, &w)) {
            le_sigint = 0;
            /* The terminal may have been resized, or midnight passed. */
            if (s->out.mode == OUT_TABLE)
                out_term_update(&s->out);
            int rc = cli_commands_run(s, (int)w.n, w.v, w.quoted);
            /* A change a person may regret at once: say how to take it
             * back (on stderr, so that what stdout shows stays the
             * command's own output). */
            const struct client_cmd *cc = cli_commands_find(w.v[0]);
            if (rc == CLI_EXIT_OK && cc != NULL &&
                (cc->cmd == PROTO_CMD_DEL || cc->cmd == PROTO_CMD_DONE))
                fprintf(stderr, "undo with: undo\n");
            note_own(&sw);
            /* `watch ...` ran until Ctrl-C and closed the connection. */
            if (strcmp(w.v[0], "watch") == 0)
                (void)session_connect(s);
        }
        words_free(&w);
        if (leave)
            break;
    }
    le_set_watch(-1, NULL, NULL);
    s->conn.on_event = NULL;
    for (size_t i = 0; i < sw.nq; i++)
        free(sw.q[i].line);
    free(sw.q);
    le_end();
    free(histfile);
    s->conn.cancel = NULL;
    if (sigaction(SIGINT, &old_sa, NULL) != 0)
        fprintf(stderr, "todo-cli: cannot restore the Ctrl-C handler: %s\n", strerror(errno));
    return 0;
}
