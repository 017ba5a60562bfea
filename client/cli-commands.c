/*
 * cli-commands.c - the subcommand table and what each subcommand does: it maps
 * words onto one request, reads the reply and prints it.
 */
#include "cli-commands.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "complete.h"
#include "options.h"
#include "askpass.h"
#include "cli-watch.h"
#include "clock.h"
#include "text.h"

/* Requests queued before their replies are read, when importing. Small
 * enough that neither side's socket buffers fill up with unread replies. */
#define IMPORT_WINDOW 64

void session_fail(struct session *s, const char *code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* The message may quote the user's words or the server's: shown, never obeyed. */
    fputs("todo-cli: ", stderr);
    text_fputs(stderr, msg, strlen(msg));
    fputc('\n', stderr);
    if (out_error(&s->out, code, msg) != 0)
        fprintf(stderr, "todo-cli: cannot write the error to stdout\n");
}

static const char *conn_code(enum cli_conn_status st)
{
    switch (st) {
    case CLI_CONN_E_CONNECT:
        return "CONNECT";
    case CLI_CONN_E_AUTH:
        return "AUTH";
    case CLI_CONN_E_TIMEOUT:
        return "TIMEOUT";
    case CLI_CONN_E_PROTO:
        return "PROTOCOL";
    case CLI_CONN_E_INTR:
        return "INTERRUPTED";
    case CLI_CONN_E_NOMEM:
        return "NOMEM";
    case CLI_CONN_E_VERSION:
        return "VERSION";
    default:
        return "IO";
    }
}

/* Reports a failed connection call; returns the exit status for it. */
int session_conn_failed(struct session *s, enum cli_conn_status st)
{
    /* The terminal echoed ^C on the current line; start the message on its own. */
    if (st == CLI_CONN_E_INTR)
        fputc('\n', stderr);
    session_fail(s, conn_code(st), "%s", s->conn.err);
    /* An older server answered: that is the server's error, not a failure to reach it. */
    return st == CLI_CONN_E_NOMEM || st == CLI_CONN_E_VERSION ? CLI_EXIT_SERVER : CLI_EXIT_CONNECT;
}

int session_connect(struct session *s)
{
    /* The server may have closed an idle connection (a restart, an idle
     * timeout); a shell or a batch then simply opens a new one. */
    if (cli_conn_is_open(&s->conn) && !cli_conn_alive(&s->conn))
        cli_conn_close(&s->conn);
    if (cli_conn_is_open(&s->conn))
        return 0;
    enum cli_conn_status st = cli_conn_open(&s->conn);
    if (st != CLI_CONN_OK)
        return session_conn_failed(s, st);
    return 0;
}

int session_server_error(struct session *s, const struct proto_reply *r)
{
    char code[32];
    snprintf(code, sizeof(code), "%.*s", (int)r->code.len, r->code.ptr);
    /* Outside the shell there is no auth command: say how to give a password. */
    const char *hint = r->err == PROTO_E_AUTH && s->mode != SESSION_SHELL && !s->conn.cfg.password
                           ? "; give the password with --password-file or TODO_PASSWORD"
                           : "";
    /* People read the code beside the sentence; JSON carries it in its own field. */
    char text[1024];
    snprintf(text, sizeof(text), "%.*s", (int)r->text.len, r->text.ptr);
    fputs("todo-cli: ", stderr);
    text_fputs(stderr, text, strlen(text));
    fputs(" (", stderr);
    text_fputs(stderr, code, strlen(code));
    fprintf(stderr, ")%s\n", hint);
    if (out_error(&s->out, code, text) != 0)
        fprintf(stderr, "todo-cli: cannot write the error to stdout\n");
    return r->err == PROTO_E_AUTH ? CLI_EXIT_CONNECT : CLI_EXIT_SERVER;
}

static int unexpected(struct session *s, const char *what)
{
    session_fail(s, "PROTOCOL", "unexpected reply from %s:%s to %s", s->conn.cfg.host,
                 s->conn.cfg.port, what);
    cli_conn_close(&s->conn);
    return CLI_EXIT_SERVER;
}

static int output_failed(struct session *s)
{
    /* A closed pipe (`todo-cli list | head`) is not worth a message. */
    if (errno != EPIPE)
        fprintf(stderr, "todo-cli: cannot write the output: %s\n", strerror(errno));
    (void)s;
    return CLI_EXIT_SERVER;
}

/* A due: word (due:tomorrow, due:fri, ...) as the date it means in the
 * user's local zone, written into out as "due:YYYY-MM-DD", so that the
 * server, whose zone may differ, always gets a date from us. today is
 * filled on first use. 0 when out holds the word to send instead; -1 when
 * the word goes as it is: not a due: word, already a date, due:none, or a
 * word we cannot resolve (the server then says what is wrong with it). */
static int resolve_due(const char *word, char today[PROTO_DATE_LEN + 1],
                       char out[4 + PROTO_DATE_LEN + 1])
{
    size_t len = strlen(word);
    if (len < 4 || strncasecmp(word, "due:", 4) != 0 || proto_valid_date(word + 4, len - 4))
        return -1;
    if (!today[0] && cli_clock_today(today) != 0)
        return -1;
    memcpy(out, "due:", 4);
    return proto_date_resolve(word + 4, len - 4, today, out + 4) == 0 ? 0 : -1;
}

/* Sends cmd with the words as arguments and reads the reply. A word marked
 * in quoted (may be NULL) goes quoted, so the server takes it as text; the
 * others go as they are, so +tag, due:, pri: and keywords keep their
 * meaning. A request that needs protocol version min_version or later
 * (0: any) is refused with a message naming the command name when the
 * server is older (see cli_conn_call_min). Returns -1 with *r filled when
 * the reply is to be looked at, else an exit status. */
static int call_args_min(struct session *s, int min_version, const char *name, enum proto_cmd cmd,
                         int argc, char **argv, const unsigned char *quoted, struct proto_reply *r)
{
    struct proto_arg args[PROTO_MAX_ARGS];
    char dated[PROTO_MAX_ARGS][4 + PROTO_DATE_LEN + 1];
    char today[PROTO_DATE_LEN + 1] = "";
    if (argc > PROTO_MAX_ARGS) {
        session_fail(s, "USAGE", "too many words (at most %d)", PROTO_MAX_ARGS);
        return CLI_EXIT_USAGE;
    }
    for (int i = 0; i < argc; i++) {
        args[i].ptr = argv[i];
        args[i].len = strlen(argv[i]);
        args[i].force_quote = quoted ? quoted[i] : 0;
        if (!args[i].force_quote && (cmd == PROTO_CMD_ADD || cmd == PROTO_CMD_EDIT) &&
            resolve_due(argv[i], today, dated[i]) == 0) {
            args[i].ptr = dated[i];
            args[i].len = strlen(dated[i]);
        }
    }
    int rc = session_connect(s);
    if (rc != 0)
        return rc;
    char what[64];
    snprintf(what, sizeof(what), "todo-cli %s", name ? name : "");
    enum cli_conn_status st =
        min_version > 0 ? cli_conn_call_min(&s->conn, min_version, what, cmd, args, (size_t)argc, r)
                        : cli_conn_call(&s->conn, cmd, args, (size_t)argc, r);
    if (st != CLI_CONN_OK)
        return session_conn_failed(s, st);
    if (r->kind == PROTO_REPLY_ERR)
        return session_server_error(s, r);
    return -1;
}

static int call_args(struct session *s, enum proto_cmd cmd, int argc, char **argv,
                     const unsigned char *quoted, struct proto_reply *r)
{
    return call_args_min(s, 0, NULL, cmd, argc, argv, quoted, r);
}

/* call_args with no word forced into quotes. */
static int call_words(struct session *s, enum proto_cmd cmd, int argc, char **argv,
                      struct proto_reply *r)
{
    return call_args(s, cmd, argc, argv, NULL, r);
}

/* The tasks of a DATA reply; strings point into the reply and scratch. */
struct tasks {
    struct proto_task *v;
    size_t n;
    char *scratch;
};

static void tasks_free(struct tasks *t)
{
    free(t->v);
    free(t->scratch);
    memset(t, 0, sizeof(*t));
}

static int tasks_decode(struct session *s, const struct proto_reply *r, struct tasks *t)
{
    struct proto_str body = r->body, line;
    char err[160];
    size_t used = 0;

    memset(t, 0, sizeof(*t));
    t->v = calloc(r->nlines ? r->nlines : 1, sizeof(*t->v));
    t->scratch = malloc(body.len + 1);
    if (!t->v || !t->scratch) {
        session_fail(s, "NOMEM", "out of memory");
        goto fail;
    }
    while (t->n < r->nlines && proto_body_next(&body, &line)) {
        if (proto_task_decode(line.ptr, line.len, t->scratch + used, r->body.len + 1 - used,
                              &t->v[t->n], err, sizeof(err)) != PROTO_E_NONE) {
            session_fail(s, "PROTOCOL", "bad task line from %s:%s: %s", s->conn.cfg.host,
                         s->conn.cfg.port, err);
            goto fail;
        }
        used += line.len;
        t->n++;
    }
    return 0;
fail:
    tasks_free(t);
    return -1;
}

/* ---- the subcommands ---------------------------------------------------- */

/* add, edit, done, undone, del: the reply is OK <id>. */
static int run_change(struct session *s, const struct client_cmd *c, int argc, char **argv)
{
    struct proto_reply r;
    int rc = call_args(s, c->cmd, argc, argv, s->quoted, &r);
    if (rc >= 0)
        return rc;
    if (r.kind != PROTO_REPLY_OK)
        return unexpected(s, c->name);
    if (r.text.len > 0 && r.text.len <= PROTO_MAX_ID) {
        s->changed = c->cmd;
        memcpy(s->changed_id, r.text.ptr, r.text.len);
        s->changed_id[r.text.len] = '\0';
    }
    return out_id(&s->out, r.text.ptr, r.text.len) == 0 ? CLI_EXIT_OK : output_failed(s);
}

/* list's words as LIST takes them: --sort FIELD (or --sort=FIELD) becomes
 * sort:FIELD, and without a sort the list comes in the "next" order (what
 * needs doing first) rather than LIST's creation order; due:before: and
 * due:after: words become dates, and overdue becomes due:before:TODAY, in
 * the user's local zone, as due: words in add and edit do. The words are
 * put into v and q (PROTO_MAX_ARGS each, strings in buf); returns how
 * many, or -1 with a usage message. */
struct list_words {
    char *v[PROTO_MAX_ARGS];
    unsigned char q[PROTO_MAX_ARGS];
    char buf[PROTO_MAX_ARGS][32];
};

static int list_words(struct session *s, int argc, char **argv, struct list_words *w)
{
    char today[PROTO_DATE_LEN + 1] = "";
    int n = 0, sorted = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int quoted = s->quoted ? s->quoted[i] : 0;
        if (n == PROTO_MAX_ARGS) {
            session_fail(s, "USAGE", "too many words (at most %d)", PROTO_MAX_ARGS);
            return -1;
        }
        w->q[n] = (unsigned char)quoted;
        w->v[n] = argv[i];
        if (!quoted && strncmp(a, "--sort", 6) == 0 && (a[6] == '\0' || a[6] == '=')) {
            const char *f = a[6] == '=' ? a + 7 : i + 1 < argc ? argv[++i] : NULL;
            if (f == NULL || !*f || strlen(f) > sizeof(w->buf[n]) - 6) {
                session_fail(s, "USAGE",
                             "--sort takes fields such as due,-pri (due, pri, "
                             "created, updated, id; '-' for descending)");
                return -1;
            }
            snprintf(w->buf[n], sizeof(w->buf[n]), "sort:%s", f);
            w->v[n] = w->buf[n];
        }
        if (!quoted && strncasecmp(w->v[n], "sort:", 5) == 0)
            sorted = 1;
        int before = strncasecmp(a, "due:before:", 11) == 0;
        int after = strncasecmp(a, "due:after:", 10) == 0;
        int overdue = strcasecmp(a, "overdue") == 0;
        if (!quoted && (before || after || overdue) && (today[0] || cli_clock_today(today) == 0)) {
            size_t k = before ? 11 : 10;
            char date[PROTO_DATE_LEN + 1];
            if (overdue)
                snprintf(w->buf[n], sizeof(w->buf[n]), "due:before:%s", today);
            else if (proto_date_resolve(a + k, strlen(a + k), today, date) == 0)
                snprintf(w->buf[n], sizeof(w->buf[n]), "%.*s%s", (int)k, a, date);
            if (overdue || w->buf[n][0])
                w->v[n] = w->buf[n];
        }
        n++;
    }
    if (!sorted) {
        if (n == PROTO_MAX_ARGS) {
            session_fail(s, "USAGE", "too many words (at most %d)", PROTO_MAX_ARGS);
            return -1;
        }
        w->q[n] = 0;
        w->v[n++] = (char *)"sort:next";
    }
    return n;
}

/* undo: the server answers "undid KIND ID", and "undid import ID N" for
 * an import of N tasks (ID its first). A sentence in the table ("Undid the
 * del of task 7.", "Undid the import of 12 tasks."), "KIND ID [N]" in
 * plain lines, and {"undid": KIND, "id": ID[, "count": N]} in JSON. */
static int run_undo(struct session *s, const struct client_cmd *c, int argc, char **argv)
{
    struct proto_reply r;
    int rc = call_args(s, c->cmd, argc, argv, s->quoted, &r);
    if (rc >= 0)
        return rc;
    const char *t = r.text.ptr, *end = r.text.ptr + r.text.len;
    if (r.kind != PROTO_REPLY_OK || r.text.len < 6 || memcmp(t, "undid ", 6) != 0)
        return unexpected(s, c->name);
    const char *kind = t + 6, *sp = memchr(kind, ' ', (size_t)(end - kind));
    if (sp == NULL || sp + 1 >= end)
        return unexpected(s, c->name);
    const char *id = sp + 1, *sp2 = memchr(id, ' ', (size_t)(end - id));
    long count = 1;
    if (sp2 != NULL) {
        char *e = NULL;
        count = strtol(sp2 + 1, &e, 10);
        if (e != end || count < 2)
            return unexpected(s, c->name);
    }
    int klen = (int)(sp - kind), ilen = (int)((sp2 ? sp2 : end) - id);
    if (s->out.mode == OUT_JSON) {
        json_t *doc = json_pack("{s:s%,s:s%}", "undid", kind, (size_t)klen, "id", id, (size_t)ilen);
        if (doc != NULL && count > 1 &&
            json_object_set_new(doc, "count", json_integer(count)) != 0) {
            json_decref(doc);
            doc = NULL;
        }
        rc = out_doc(&s->out, doc);
    } else if (s->out.mode == OUT_PLAIN) {
        rc = out_text(&s->out, "reply", kind, (size_t)(end - kind));
    } else {
        char line[PROTO_MAX_ID + 64];
        if (count > 1)
            snprintf(line, sizeof(line), "Undid the %.*s of %ld tasks.", klen, kind, count);
        else
            snprintf(line, sizeof(line), "Undid the %.*s of task %.*s.", klen, kind, ilen, id);
        rc = out_text(&s->out, "reply", line, strlen(line));
    }
    return rc == 0 ? CLI_EXIT_OK : output_failed(s);
}

/* The protocol version that brought LIST's sort: and its date and
 * priority filters. */
#define LIST_MIN_VERSION 3

static int run_tasks(struct session *s, const struct client_cmd *c, int argc, char **argv)
{
    struct proto_reply r;
    struct tasks t;
    struct list_words *w = NULL;
    const unsigned char *quoted = s->quoted;
    if (c->cmd == PROTO_CMD_LIST) {
        w = calloc(1, sizeof(*w));
        if (!w) {
            session_fail(s, "NOMEM", "out of memory");
            return CLI_EXIT_SERVER;
        }
        int n = list_words(s, argc, argv, w);
        if (n < 0) {
            free(w);
            return CLI_EXIT_USAGE;
        }
        argc = n;
        argv = w->v;
        quoted = w->q;
    }
    /* list always sends version 3's words (sort:next at least), which a
     * version 2 server would take as words to search for: it would answer
     * an empty list rather than an error. */
    int rc = call_args_min(s, c->cmd == PROTO_CMD_LIST ? LIST_MIN_VERSION : 0, c->name, c->cmd,
                           argc, argv, quoted, &r);
    free(w);
    if (rc >= 0)
        return rc;
    if (r.kind != PROTO_REPLY_DATA || (c->cmd == PROTO_CMD_GET && r.nlines != 1))
        return unexpected(s, c->name);
    if (tasks_decode(s, &r, &t) != 0)
        return CLI_EXIT_SERVER;
    if (c->cmd == PROTO_CMD_GET)
        rc = out_task(&s->out, &t.v[0]);
    else
        rc = out_tasks(&s->out, t.v, t.n);
    tasks_free(&t);
    return rc == 0 ? CLI_EXIT_OK : output_failed(s);
}

/* next [N]: the first N pending tasks (NEXT_DEFAULT when N is not given)
 * in the order of what needs doing first, LIST's sort:next: overdue, then
 * due soonest, then priority, then the oldest. Taskwarrior's "next". */
#define NEXT_DEFAULT 5
#define NEXT_MAX 1000000

static int run_next(struct session *s, const struct client_cmd *c, int argc, char **argv)
{
    struct proto_reply r;
    struct tasks t;
    char pending[] = "pending", next[] = "sort:next";
    char *words[] = {pending, next};
    long n = NEXT_DEFAULT;
    if (argc == 1) {
        char *end;
        errno = 0;
        n = strtol(argv[0], &end, 10);
        /* Digits only: strtol would also take blanks and a sign. */
        if (errno != 0 || argv[0][0] < '0' || argv[0][0] > '9' || *end != '\0' || n < 1 ||
            n > NEXT_MAX) {
            session_fail(s, "USAGE", "next takes how many tasks to show, 1 to %d, not '%s'",
                         NEXT_MAX, argv[0]);
            return CLI_EXIT_USAGE;
        }
    }
    int rc = call_args_min(s, LIST_MIN_VERSION, c->name, PROTO_CMD_LIST, 2, words, NULL, &r);
    if (rc >= 0)
        return rc;
    if (r.kind != PROTO_REPLY_DATA)
        return unexpected(s, c->name);
    if (tasks_decode(s, &r, &t) != 0)
        return CLI_EXIT_SERVER;
    rc = out_tasks(&s->out, t.v, t.n < (size_t)n ? t.n : (size_t)n);
    tasks_free(&t);
    return rc == 0 ? CLI_EXIT_OK : output_failed(s);
}

/* tags and stats: DATA lines of "name value". */
static int run_pairs(struct session *s, const struct client_cmd *c, int argc, char **argv)
{
    struct proto_reply r;
    struct proto_str body, line;
    struct out_pair *p = NULL;
    char *scratch = NULL;
    size_t n = 0, used = 0;
    int rc = call_args(s, c->cmd, argc, argv, s->quoted, &r);
    if (rc >= 0)
        return rc;
    if (r.kind != PROTO_REPLY_DATA)
        return unexpected(s, c->name);
    p = calloc(r.nlines ? r.nlines : 1, sizeof(*p));
    scratch = malloc(r.body.len + 1);
    if (!p || !scratch) {
        session_fail(s, "NOMEM", "out of memory");
        rc = CLI_EXIT_SERVER;
        goto out;
    }
    body = r.body;
    while (n < r.nlines && proto_body_next(&body, &line)) {
        struct proto_token tok[2];
        char err[128];
        if (proto_tokenize(line.ptr, line.len, scratch + used, line.len, tok, 2, err,
                           sizeof(err)) != 2) {
            rc = unexpected(s, c->name);
            goto out;
        }
        used += line.len;
        p[n].name = tok[0].s;
        p[n].value = tok[1].s;
        n++;
    }
    if (c->cmd == PROTO_CMD_TAGS)
        rc = out_tags(&s->out, p, n);
    else if (c->cmd == PROTO_CMD_SHARES)
        rc = out_shares(&s->out, p, n);
    else if (c->cmd == PROTO_CMD_USER)
        rc = out_users(&s->out, p, n);
    else
        rc = out_stats(&s->out, p, n);
    rc = rc == 0 ? CLI_EXIT_OK : output_failed(s);
out:
    free(p);
    free(scratch);
    return rc;
}

static int run_ping(struct session *s, const struct client_cmd *c, int argc, char **argv)
{
    struct proto_reply r;
    int rc = call_args(s, c->cmd, argc, argv, s->quoted, &r);
    if (rc >= 0)
        return rc;
    if (r.kind != PROTO_REPLY_OK)
        return unexpected(s, c->name);
    if (r.text.len == 0) /* share, unshare: a plain OK */
        r.text = (struct proto_str){"OK", 2};
    return out_text(&s->out, "reply", r.text.ptr, r.text.len) == 0 ? CLI_EXIT_OK : output_failed(s);
}

/* use [LIST] (shell and batch): works in LIST from now on, and after a
 * reconnect too; without LIST, in the user's own list again. */
static int run_use(struct session *s, const struct client_cmd *c, int argc, char **argv)
{
    struct proto_reply r;
    int rc = call_args(s, c->cmd, argc, argv, s->quoted, &r);
    if (rc >= 0)
        return rc;
    if (r.kind != PROTO_REPLY_OK)
        return unexpected(s, c->name);
    free(s->list);
    s->list = argc == 1 ? strdup(argv[0]) : NULL;
    s->conn.cfg.list = s->list;
    s->list_moved = 1;
    return out_text(&s->out, "list", r.text.ptr, r.text.len) == 0 ? CLI_EXIT_OK : output_failed(s);
}

static void wipe(char *pw)
{
    if (pw != NULL) {
        explicit_bzero(pw, strlen(pw));
        free(pw);
    }
}

/* The new password of user add and user passwd: asked for twice without
 * echo on a terminal, or the first line of stdin in a one-shot command run
 * with stdin from a file or a pipe (a script's way). Never a word of the
 * command, which the shell's history would keep. NULL (said why) if none. */
static char *new_password(struct session *s, const char *name)
{
    char *pw = NULL;
    if (isatty(STDIN_FILENO)) {
        char prompt[128];
        snprintf(prompt, sizeof(prompt), "New password for %s: ", name);
        if (!(pw = askpass(prompt, s->conn.cancel)))
            return NULL;
        char *again = askpass("Again: ", s->conn.cancel);
        int same = again != NULL && strcmp(pw, again) == 0;
        if (again != NULL && !same)
            session_fail(s, "USAGE", "the two passwords differ; nothing was changed");
        wipe(again);
        if (!same) {
            wipe(pw);
            return NULL;
        }
    } else if (s->mode == SESSION_ONESHOT) {
        size_t cap = 0;
        ssize_t n = getline(&pw, &cap, stdin);
        if (n < 0) {
            free(pw);
            session_fail(s, "USAGE", "no password on stdin for %s", name);
            return NULL;
        }
        while (n > 0 && (pw[n - 1] == '\n' || pw[n - 1] == '\r'))
            pw[--n] = '\0';
    } else {
        session_fail(s, "USAGE",
                     "the password for %s is asked for on a terminal, and stdin is not one: "
                     "run 'todo-cli user add|passwd %s' with the password as its stdin",
                     name, name);
        return NULL;
    }
    if (pw[0] == '\0') {
        wipe(pw);
        session_fail(s, "USAGE", "the password is empty; nothing was changed");
        return NULL;
    }
    return pw;
}

/* user list | add|passwd NAME | del|lock|unlock NAME: an admin's USER. */
static int run_user(struct session *s, const struct client_cmd *c, int argc, char **argv)
{
    int op = argc >= 1 ? proto_user_op_parse(argv[0], strlen(argv[0])) : -1;
    if (op < 0 || argc != (op == PROTO_USER_LIST ? 1 : 2)) {
        session_fail(s, "USAGE", "usage: %s %s", c->name, cli_commands_usage(c));
        return CLI_EXIT_USAGE;
    }
    if (op == PROTO_USER_LIST)
        return run_pairs(s, c, argc, argv);
    struct proto_reply r;
    char *pw = NULL, *words[3] = {argv[0], argv[1], NULL};
    unsigned char quoted[3] = {0, 0, 1};
    int rc;
    if (op == PROTO_USER_ADD || op == PROTO_USER_PASSWD) {
        if (!(pw = new_password(s, argv[1])))
            return CLI_EXIT_USAGE;
        words[2] = pw;
    }
    rc = call_args(s, c->cmd, words[2] ? 3 : 2, words, quoted, &r);
    wipe(pw);
    if (rc >= 0)
        return rc;
    if (r.kind != PROTO_REPLY_OK)
        return unexpected(s, c->name);
    if (s->out.mode == OUT_JSON)
        return out_doc(&s->out, json_pack("{s:s,s:s%}", "user", argv[1], "outcome", r.text.ptr,
                                          r.text.len)) == 0
                   ? CLI_EXIT_OK
                   : output_failed(s);
    if (fprintf(s->out.fp, "user %s %.*s\n", argv[1], (int)r.text.len, r.text.ptr) < 0)
        return output_failed(s);
    return CLI_EXIT_OK;
}

static int run_help(struct session *s, const struct client_cmd *c, int argc, char **argv)
{
    const struct client_cmd *one = NULL;
    json_t *a = NULL;
    (void)c;

    if (argc == 1) {
        one = cli_commands_find(argv[0]);
        if (!one || (one->flags & CMD_HIDDEN)) {
            session_fail(s, "USAGE", "no command named '%s'; 'help' lists them", argv[0]);
            return CLI_EXIT_USAGE;
        }
    }
    if (s->out.mode == OUT_JSON && !(a = json_array()))
        return output_failed(s);
    if (!one && !a && fputs("Commands:\n", s->out.fp) == EOF)
        return output_failed(s);
    for (size_t i = 0; cli_commands_at(i); i++) {
        const struct client_cmd *k = cli_commands_at(i);
        if ((one && k != one) || (k->flags & CMD_HIDDEN))
            continue;
        if (!one && (k->flags & CMD_NOT_ONESHOT) && s->mode == SESSION_ONESHOT)
            continue;
        const char *u = cli_commands_usage(k), *sum = cli_commands_summary(k);
        int w;
        if (a)
            w = json_array_append_new(
                a, json_pack("{s:s,s:s,s:s}", "command", k->name, "usage", u, "summary", sum));
        else if (one)
            w = fprintf(s->out.fp, "usage: %s%s%s\n%s\n", k->name, *u ? " " : "", u, sum) < 0;
        else
            w = fprintf(s->out.fp, "  %s%s%s\n      %s\n", k->name, *u ? " " : "", u, sum) < 0;
        if (w != 0) {
            json_decref(a);
            return output_failed(s);
        }
    }
    if (a)
        return out_doc(&s->out, a) == 0 ? CLI_EXIT_OK : output_failed(s);
    if (!one && s->mode == SESSION_SHELL &&
        fputs("  watch on|off\n      Shows other clients' changes above the prompt as they "
              "happen, or stops (on by default on a terminal; TODO_CLI_WATCH=off).\n"
              "  quit, exit\n      Leaves the shell (so does Ctrl-D).\n",
              s->out.fp) == EOF)
        return output_failed(s);
    return CLI_EXIT_OK;
}

static int run_export(struct session *s, const struct client_cmd *c, int argc, char **argv)
{
    struct proto_reply r;
    struct tasks t;
    char all[] = "all";
    char *words[] = {all};
    (void)argc;
    (void)argv;
    int rc = call_words(s, PROTO_CMD_LIST, 1, words, &r);
    if (rc >= 0)
        return rc;
    if (r.kind != PROTO_REPLY_DATA)
        return unexpected(s, c->name);
    if (tasks_decode(s, &r, &t) != 0)
        return CLI_EXIT_SERVER;
    json_t *j = out_tasks_json(t.v, t.n);
    tasks_free(&t);
    if (!j) {
        session_fail(s, "NOMEM", "cannot make JSON of the tasks (out of memory)");
        return CLI_EXIT_SERVER;
    }
    return out_doc(&s->out, j) == 0 ? CLI_EXIT_OK : output_failed(s);
}

/*
 * import: each task of the JSON array becomes one request. A task with an
 * "id" (as export writes them) is restored whole with IMPORT: id, status,
 * created and updated times, tags, due date, priority and text, so that
 * export after import gives back the same bytes. A task without one (a
 * file written by hand) is added with ADD, and DONE after it when its
 * status is done.
 */
struct import_item {
    size_t index; /* position in the input, from 1 */
    int restore;  /* sent as IMPORT (else ADD) */
    int done;     /* ADD: send DONE after it */
    char id[PROTO_MAX_ID + 1];
    int ok;
};

/* What import counts; the four add up to the number of tasks read. */
struct import_counts {
    size_t imported, skipped, replaced, failed;
};

/* Room for one task's arguments: the five of IMPORT before the text, the
 * text, the tags and due: and pri:. */
#define IMPORT_ARGS (6 + PROTO_MAX_TAGS + 2)

struct import_args {
    struct proto_arg a[IMPORT_ARGS];
    size_t n;
    char words[IMPORT_ARGS][PROTO_MAX_TAG + 8];
    char times[2][PROTO_TIME_LEN + 1];
};

/* Appends the word prefix + v. */
static int import_word(struct import_args *x, const char *prefix, const char *v)
{
    if (x->n >= IMPORT_ARGS)
        return -1;
    snprintf(x->words[x->n], sizeof(x->words[x->n]), "%s%s", prefix, v);
    x->a[x->n] = (struct proto_arg){x->words[x->n], strlen(x->words[x->n]), 0};
    x->n++;
    return 0;
}

/* A "created" or "updated" field: a time as export writes it, or absent
 * or null ("-": the server's time now). */
static int import_time(json_t *v, char out[PROTO_TIME_LEN + 1])
{
    int64_t t;
    if (!v || json_is_null(v)) {
        memcpy(out, "-", 2);
        return 0;
    }
    if (!json_is_string(v) || proto_time_parse(json_string_value(v), json_string_length(v), &t))
        return -1;
    memcpy(out, json_string_value(v), PROTO_TIME_LEN + 1);
    return 0;
}

/* Turns one JSON task into the arguments of IMPORT (it has an "id") or
 * ADD; -1 with a reason if it is malformed. */
static int import_args(json_t *task, int mode, struct import_args *x, struct import_item *it,
                       const char **why)
{
    json_t *text = json_object_get(task, "text"), *tags = json_object_get(task, "tags");
    json_t *due = json_object_get(task, "due"), *pri = json_object_get(task, "priority");
    json_t *status = json_object_get(task, "status"), *id = json_object_get(task, "id");
    size_t i;
    json_t *tag;

    x->n = 0;
    if (!json_is_object(task))
        return *why = "not an object", -1;
    if (!json_is_string(text) || json_string_length(text) == 0)
        return *why = "no \"text\" string", -1;
    it->done = 0;
    if (status && !json_is_null(status)) {
        const char *v = json_string_value(status);
        if (!v || (strcmp(v, "done") != 0 && strcmp(v, "pending") != 0))
            return *why = "\"status\" is not \"pending\" or \"done\"", -1;
        it->done = strcmp(v, "done") == 0;
    }
    it->restore = id && !json_is_null(id);
    if (it->restore) {
        if (!json_is_string(id) || !proto_valid_id(json_string_value(id), json_string_length(id)))
            return *why = "\"id\" is not 1 to 64 letters, digits, '_', '.' or '-'", -1;
        if (import_time(json_object_get(task, "created"), x->times[0]) != 0 ||
            import_time(json_object_get(task, "updated"), x->times[1]) != 0)
            return *why = "\"created\" or \"updated\" is not a time as YYYY-MM-DDTHH:MM:SSZ", -1;
        snprintf(it->id, sizeof(it->id), "%s", json_string_value(id));
        import_word(x, "", proto_import_mode_name(mode));
        x->a[x->n++] = (struct proto_arg){it->id, strlen(it->id), 0};
        import_word(x, "", it->done ? "done" : "pending");
        x->a[x->n++] = (struct proto_arg){x->times[0], strlen(x->times[0]), 0};
        x->a[x->n++] = (struct proto_arg){x->times[1], strlen(x->times[1]), 0};
    }
    /* Quoted, so a text that looks like +tag or due:... stays text, and
     * sent as one token, so that it comes back byte for byte. */
    x->a[x->n++] = (struct proto_arg){json_string_value(text), json_string_length(text), 1};
    if (tags && !json_is_array(tags))
        return *why = "\"tags\" is not an array", -1;
    if (json_array_size(tags) > PROTO_MAX_TAGS)
        return *why = "more than 16 tags", -1;
    json_array_foreach(tags, i, tag)
    {
        /* Checked here: a tag with a blank would be quoted, and so taken as text. */
        if (!json_is_string(tag) ||
            !proto_valid_tag(json_string_value(tag), json_string_length(tag)))
            return *why = "a tag is not made of letters, digits, '_', '.' and '-'", -1;
        import_word(x, "+", json_string_value(tag));
    }
    if (due && !json_is_null(due)) {
        if (!json_is_string(due) ||
            !proto_valid_date(json_string_value(due), json_string_length(due)))
            return *why = "\"due\" is not a YYYY-MM-DD date or null", -1;
        import_word(x, "due:", json_string_value(due));
    }
    if (pri && !json_is_null(pri)) {
        if (!json_is_string(pri) ||
            proto_pri_parse(json_string_value(pri), json_string_length(pri)) < 0)
            return *why = "\"priority\" is not low, med, high or null", -1;
        import_word(x, "pri:", json_string_value(pri));
    }
    return 0;
}

/* Counts an IMPORT's "OK imported|skipped|replaced ID". */
static int import_outcome(const struct proto_reply *r, struct import_counts *n)
{
    static const char *const words[] = {"imported ", "skipped ", "replaced "};
    size_t *slot[] = {&n->imported, &n->skipped, &n->replaced};
    for (size_t i = 0; i < 3; i++) {
        size_t l = strlen(words[i]);
        if (r->text.len > l && memcmp(r->text.ptr, words[i], l) == 0) {
            (*slot[i])++;
            return 0;
        }
    }
    return -1;
}

/* Sends one window of tasks: every IMPORT or ADD first, then their
 * replies, then a DONE for each added task that is done, then those
 * replies. Counts into *n; returns 0, or an exit status when the
 * connection failed. */
static int import_window(struct session *s, json_t *tasks, size_t from, size_t to, int mode,
                         struct import_counts *n)
{
    struct import_item items[IMPORT_WINDOW];
    size_t k, count = 0;
    struct proto_reply r;
    enum cli_conn_status st;

    for (size_t i = from; i < to; i++) {
        struct import_args x;
        struct import_item it = {.index = i + 1};
        const char *why = NULL;
        if (import_args(json_array_get(tasks, i), mode, &x, &it, &why) != 0) {
            fprintf(stderr, "todo-cli: task %zu of the input: %s\n", i + 1, why);
            n->failed++;
            continue;
        }
        st = cli_conn_queue(&s->conn, it.restore ? PROTO_CMD_IMPORT : PROTO_CMD_ADD, x.a, x.n);
        if (st != CLI_CONN_OK)
            return session_conn_failed(s, st);
        items[count++] = it;
    }
    for (k = 0; k < count; k++) {
        struct import_item *it = &items[k];
        if ((st = cli_conn_read(&s->conn, &r)) != CLI_CONN_OK)
            return session_conn_failed(s, st);
        if (r.kind == PROTO_REPLY_OK && it->restore && import_outcome(&r, n) == 0)
            continue;
        if (r.kind == PROTO_REPLY_OK && !it->restore && r.text.len > 0 &&
            r.text.len <= PROTO_MAX_ID) {
            memcpy(it->id, r.text.ptr, r.text.len);
            it->id[r.text.len] = '\0';
            it->ok = 1;
            continue;
        }
        /* The server's sentence may quote the task's own text: escaped,
         * like every message that reaches a terminal (text.h). */
        fprintf(stderr, "todo-cli: task %zu of the input: ", it->index);
        text_fputs(stderr, r.text.ptr, r.text.len);
        fprintf(stderr, " (%.*s)\n", (int)r.code.len, r.code.ptr);
        n->failed++;
    }
    size_t ndone = 0;
    for (k = 0; k < count; k++) {
        if (!items[k].ok || !items[k].done)
            continue;
        struct proto_arg a = {items[k].id, strlen(items[k].id), 0};
        if ((st = cli_conn_queue(&s->conn, PROTO_CMD_DONE, &a, 1)) != CLI_CONN_OK)
            return session_conn_failed(s, st);
        ndone++;
    }
    for (k = 0; k < count && ndone > 0; k++) {
        if (!items[k].ok || !items[k].done)
            continue;
        if ((st = cli_conn_read(&s->conn, &r)) != CLI_CONN_OK)
            return session_conn_failed(s, st);
        ndone--;
        if (r.kind != PROTO_REPLY_OK) {
            fprintf(stderr, "todo-cli: task %zu of the input was added as %s but not marked done: ",
                    items[k].index, items[k].id);
            text_fputs(stderr, r.text.ptr, r.text.len);
            fputc('\n', stderr);
            items[k].ok = 0;
        }
    }
    for (k = 0; k < count; k++)
        if (!items[k].restore)
            (*(items[k].ok ? &n->imported : &n->failed))++;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    const struct proto_str *x = a, *y = b;
    size_t m = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->ptr, y->ptr, m);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/*
 * --on-conflict fail (the default): before anything is sent, look for the
 * input's ids on the server (one LIST all), so that an import that would
 * meet tasks already there changes nothing at all. Returns 0 when none is
 * there, -1 after reporting them (*taken: how many), or an exit status.
 */
static int import_precheck(struct session *s, json_t *tasks, size_t *taken)
{
    struct proto_reply r;
    struct tasks t;
    struct proto_str *ids = NULL;
    char all[] = "all", shown[200] = "";
    char *words[] = {all};
    int rc = call_words(s, PROTO_CMD_LIST, 1, words, &r);
    if (rc >= 0)
        return rc;
    if (r.kind != PROTO_REPLY_DATA)
        return unexpected(s, "import");
    if (tasks_decode(s, &r, &t) != 0)
        return CLI_EXIT_SERVER;
    *taken = 0;
    if (t.n > 0 && !(ids = malloc(t.n * sizeof(*ids)))) {
        tasks_free(&t);
        session_fail(s, "NOMEM", "out of memory");
        return CLI_EXIT_SERVER;
    }
    for (size_t i = 0; i < t.n; i++)
        ids[i] = t.v[i].id;
    if (t.n > 0)
        qsort(ids, t.n, sizeof(*ids), cmp_str);
    for (size_t i = 0; i < json_array_size(tasks) && t.n > 0; i++) {
        json_t *id = json_object_get(json_array_get(tasks, i), "id");
        if (!json_is_string(id))
            continue;
        struct proto_str key = {json_string_value(id), json_string_length(id)};
        if (!bsearch(&key, ids, t.n, sizeof(*ids), cmp_str))
            continue;
        if (++*taken <= 5) {
            size_t l = strlen(shown);
            snprintf(shown + l, sizeof(shown) - l, "%s%.*s", l ? ", " : "",
                     (int)(key.len > 20 ? 20 : key.len), key.ptr);
        }
    }
    free(ids);
    tasks_free(&t);
    if (*taken == 0)
        return 0;
    /* On stderr only: with --json, stdout carries the counts. */
    fprintf(stderr,
            "todo-cli: %zu of the %zu tasks have ids that the server holds already (%s%s); "
            "nothing was imported: give --on-conflict skip or --on-conflict replace\n",
            *taken, json_array_size(tasks), shown, *taken > 5 ? ", ..." : "");
    return -1;
}

static int run_import(struct session *s, const struct client_cmd *c, int argc, char **argv)
{
    json_error_t jerr;
    json_t *tasks = NULL;
    FILE *fp = stdin;
    const char *from = "stdin", *file = NULL;
    struct import_counts n = {0, 0, 0, 0};
    int mode = PROTO_IMPORT_FAIL, rc;
    (void)c;

    for (int i = 0; i < argc; i++) {
        const char *v = NULL;
        if (strcmp(argv[i], "--on-conflict") == 0) {
            if (i + 1 == argc) {
                session_fail(s, "USAGE", "--on-conflict needs skip, replace or fail");
                return CLI_EXIT_USAGE;
            }
            v = argv[++i];
        } else if (strncmp(argv[i], "--on-conflict=", 14) == 0) {
            v = argv[i] + 14;
        } else if (file == NULL) {
            file = argv[i];
            continue;
        } else {
            session_fail(s, "USAGE", "usage: import [--on-conflict skip|replace|fail] [FILE]");
            return CLI_EXIT_USAGE;
        }
        if ((mode = proto_import_mode_parse(v, strlen(v))) < 0) {
            session_fail(s, "USAGE", "--on-conflict takes skip, replace or fail, not '%s'", v);
            return CLI_EXIT_USAGE;
        }
    }
    if (file != NULL && strcmp(file, "-") != 0) {
        from = file;
        fp = fopen(from, "r");
        if (!fp) {
            session_fail(s, "USAGE", "cannot open %s: %s", from, strerror(errno));
            return CLI_EXIT_USAGE;
        }
    } else if (s->mode != SESSION_ONESHOT) {
        session_fail(s, "USAGE", "here import needs a FILE: stdin holds the commands");
        return CLI_EXIT_USAGE;
    }
    tasks = json_loadf(fp, JSON_REJECT_DUPLICATES, &jerr);
    if (fp != stdin)
        fclose(fp);
    if (!tasks || !json_is_array(tasks)) {
        if (tasks)
            session_fail(s, "USAGE", "%s does not hold a JSON array of tasks", from);
        else
            session_fail(s, "USAGE", "%s is not valid JSON: %s (line %d)", from, jerr.text,
                         jerr.line);
        json_decref(tasks);
        return CLI_EXIT_USAGE;
    }
    if ((rc = session_connect(s)) != 0)
        goto out;
    if (mode == PROTO_IMPORT_FAIL) {
        rc = import_precheck(s, tasks, &n.failed);
        if (rc > 0)
            goto out;
        if (rc < 0)
            goto report;
    }
    for (size_t i = 0; i < json_array_size(tasks); i += IMPORT_WINDOW) {
        size_t to = i + IMPORT_WINDOW;
        if (to > json_array_size(tasks))
            to = json_array_size(tasks);
        if ((rc = import_window(s, tasks, i, to, mode, &n)) != 0) {
            fprintf(stderr, "todo-cli: imported %zu tasks before the connection failed\n",
                    n.imported);
            goto out;
        }
    }
report:
    fprintf(stderr, "imported %zu, skipped %zu, replaced %zu, failed %zu\n", n.imported, n.skipped,
            n.replaced, n.failed);
    if (s->out.mode == OUT_JSON &&
        out_doc(&s->out, json_pack("{s:I,s:I,s:I,s:I}", "imported", (json_int_t)n.imported,
                                   "skipped", (json_int_t)n.skipped, "replaced",
                                   (json_int_t)n.replaced, "failed", (json_int_t)n.failed)) != 0)
        rc = output_failed(s);
    else
        rc = n.failed ? CLI_EXIT_SERVER : CLI_EXIT_OK;
out:
    json_decref(tasks);
    return rc;
}

/* auth (shell and batch): logs in and keeps the password for reconnects.
 * In the shell, auth without a password asks for it without echo. */
static int run_auth(struct session *s, const struct client_cmd *c, int argc, char **argv)
{
    struct proto_reply r;
    char *asked = NULL;
    int rc;

    if (argc == 0) {
        if (s->mode != SESSION_SHELL) {
            const char *u = cli_commands_usage(c);
            session_fail(s, "USAGE", "usage: %s %s (here it cannot be asked for)", c->name, u);
            return CLI_EXIT_USAGE;
        }
        if (!(asked = askpass("Password: ", s->conn.cancel)))
            return CLI_EXIT_USAGE;
    }
    const char *pw = asked ? asked : argv[0];
    if ((rc = session_connect(s)) != 0)
        goto out;
    /* With --user (TODO_USER), as that user. */
    const char *user = s->conn.cfg.user;
    struct proto_arg a[2] = {{user, user ? strlen(user) : 0, 0}, {pw, strlen(pw), 1}};
    enum cli_conn_status st = user ? cli_conn_call(&s->conn, PROTO_CMD_AUTH, a, 2, &r)
                                   : cli_conn_call(&s->conn, PROTO_CMD_AUTH, a + 1, 1, &r);
    if (st != CLI_CONN_OK) {
        rc = session_conn_failed(s, st);
        goto out;
    }
    if (r.kind == PROTO_REPLY_ERR) {
        rc = session_server_error(s, &r);
        goto out;
    }
    if (s->password) {
        explicit_bzero(s->password, strlen(s->password));
        free(s->password);
    }
    s->password = strdup(pw);
    s->conn.cfg.password = s->password;
    rc = out_text(&s->out, "reply", "OK", 2) == 0 ? CLI_EXIT_OK : output_failed(s);
out:
    if (asked) {
        explicit_bzero(asked, strlen(asked));
        free(asked);
    }
    return rc;
}

/* A command that sends one request takes the words libproto's table allows
 * it; only the client's own commands, and auth (which the shell asks the
 * password for when it is left out), give counts here. */
static const struct client_cmd table[] = {
    {.name = "add", .cmd = PROTO_CMD_ADD, .run = run_change},
    {.name = "get", .cmd = PROTO_CMD_GET, .run = run_tasks},
    {.name = "edit", .cmd = PROTO_CMD_EDIT, .run = run_change},
    {.name = "done", .cmd = PROTO_CMD_DONE, .run = run_change},
    {.name = "undone", .cmd = PROTO_CMD_UNDONE, .run = run_change},
    {.name = "del", .cmd = PROTO_CMD_DEL, .run = run_change},
    {.name = "undo", .cmd = PROTO_CMD_UNDO, .run = run_undo},
    {.name = "list", .cmd = PROTO_CMD_LIST, .run = run_tasks},
    {.name = "next",
     .cmd = PROTO_CMD_NONE,
     .usage = "[N]",
     .summary = "Shows the first N pending tasks (5 unless given) in the order of what needs "
                "doing first: overdue, then due soonest, then by priority, then the oldest.",
     .min_args = 0,
     .max_args = 1,
     .run = run_next},
    {.name = "tags", .cmd = PROTO_CMD_TAGS, .run = run_pairs},
    {.name = "stats", .cmd = PROTO_CMD_STATS, .run = run_pairs},
    {.name = "ping", .cmd = PROTO_CMD_PING, .run = run_ping},
    {.name = "share", .cmd = PROTO_CMD_SHARE, .run = run_ping},
    {.name = "unshare", .cmd = PROTO_CMD_UNSHARE, .run = run_ping},
    {.name = "shares", .cmd = PROTO_CMD_SHARES, .run = run_pairs},
    {.name = "user",
     .cmd = PROTO_CMD_USER,
     .usage = "list | add|passwd NAME | del|lock|unlock NAME",
     .summary = "For an admin: lists the users, adds one or sets one's password (asked for "
                "twice without echo, or the first line of stdin), removes one with their list, "
                "or locks or unlocks one.",
     .min_args = 1,
     .max_args = 2,
     .run = run_user,
     .flags = CMD_OWN_ARGS},
    {.name = "use",
     .cmd = PROTO_CMD_USE,
     .summary = "Works in LIST, a list shared with you, from now on (and after a reconnect); "
                "without LIST, in your own. One-shot commands take --list instead.",
     .run = run_use,
     .flags = CMD_NOT_ONESHOT},
    {.name = "help",
     .cmd = PROTO_CMD_NONE,
     .usage = "[COMMAND]",
     .summary = "Lists the commands, or shows how to use one of them.",
     .min_args = 0,
     .max_args = 1,
     .run = run_help},
    {.name = "export",
     .cmd = PROTO_CMD_NONE,
     .usage = "",
     .summary = "Writes every task as a JSON array to stdout.",
     .min_args = 0,
     .max_args = 0,
     .run = run_export},
    {.name = "import",
     .cmd = PROTO_CMD_NONE,
     .usage = "[--on-conflict skip|replace|fail] [FILE]",
     .summary = "Restores the tasks of an export (a JSON array) read from FILE or stdin: same ids, "
                "status, times and tags. A task whose id is taken fails the whole import unless "
                "--on-conflict skip or replace is given.",
     .min_args = 0,
     .max_args = 3,
     .run = run_import},
    {.name = "watch",
     .cmd = PROTO_CMD_WATCH,
     .usage = "[pending|done|all] [+TAG]...",
     .summary = "Prints each change to the tasks that match as it happens, until interrupted; "
                "reconnects when the connection is lost, missing nothing the server still keeps.",
     .min_args = 0,
     .max_args = 1 + PROTO_MAX_TAGS,
     .run = cli_watch_run,
     .flags = CMD_OWN_ARGS},
    {.name = "auth",
     .cmd = PROTO_CMD_AUTH,
     .usage = "[PASSWORD]",
     .summary = "Logs in (as --user's user, if given); in the shell, without PASSWORD it is "
                "asked for without echo.",
     .min_args = 0,
     .max_args = 1,
     .run = run_auth,
     .flags = CMD_NOT_ONESHOT | CMD_OWN_ARGS},
};

const struct client_cmd *cli_commands_at(size_t i)
{
    return i < sizeof(table) / sizeof(table[0]) ? &table[i] : NULL;
}

/* ASCII case folding: the command names are ASCII, and LC_CTYPE follows the
 * user's locale (main.c), where tolower('I') need not be 'i'. */
static char fold(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static int eq_nocase(const char *a, const char *b)
{
    while (*a && fold(*a) == fold(*b)) {
        a++;
        b++;
    }
    return *a == '\0' && *b == '\0';
}

const struct client_cmd *cli_commands_find(const char *name)
{
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (eq_nocase(table[i].name, name)) /* the protocol's verbs ignore case too */
            return &table[i];
    return NULL;
}

const char *cli_commands_usage(const struct client_cmd *c)
{
    return c->usage ? c->usage : proto_cmd_info(c->cmd)->usage;
}

const char *cli_commands_summary(const struct client_cmd *c)
{
    return c->summary ? c->summary : proto_cmd_info(c->cmd)->summary;
}

void cli_commands_arg_counts(const struct client_cmd *c, int *min, int *max)
{
    if (c->cmd == PROTO_CMD_NONE || (c->flags & CMD_OWN_ARGS)) {
        *min = c->min_args;
        *max = c->max_args;
        return;
    }
    *min = proto_cmd_info(c->cmd)->min_args;
    *max = proto_cmd_info(c->cmd)->max_args;
}

/* Edit distance with transpositions (optimal string alignment), ignoring
 * case, capped at 9: "doen" is one step from "done". */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t d[16][16];
    if (la > 15 || lb > 15)
        return 9;
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            char ca = fold(a[i - 1]);
            char cb = fold(b[j - 1]);
            size_t best = d[i - 1][j - 1] + (ca != cb);
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && ca == fold(b[j - 2]) && fold(a[i - 2]) == cb &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[la][lb];
}

const char *cli_commands_suggest(const char *name, enum session_mode mode)
{
    static const char *const shell_words[] = {"quit", "exit"};
    const char *best = NULL;
    size_t best_d = 9;
    /* One slip in a short word, two in a longer one; more is a guess. */
    size_t limit = strlen(name) <= 3 ? 1 : 2;

    for (size_t i = 0; cli_commands_at(i); i++) {
        const struct client_cmd *c = cli_commands_at(i);
        if ((c->flags & CMD_HIDDEN) || ((c->flags & CMD_NOT_ONESHOT) && mode == SESSION_ONESHOT))
            continue;
        size_t d = distance(name, c->name);
        if (d < best_d) {
            best_d = d;
            best = c->name;
        }
    }
    for (size_t i = 0; mode != SESSION_ONESHOT && i < 2; i++) {
        size_t d = distance(name, shell_words[i]);
        if (d < best_d) {
            best_d = d;
            best = shell_words[i];
        }
    }
    return best_d <= limit ? best : NULL;
}

/* Checks the words and runs c; argv and quoted are the command's words
 * after "--" was taken out. */
static int run_checked(struct session *s, const struct client_cmd *c, int argc, char **argv)
{
    int nargs = argc - 1, min_args, max_args;

    if ((c->flags & CMD_NOT_ONESHOT) && s->mode == SESSION_ONESHOT) {
        session_fail(s, "USAGE", "'%s' works in the shell; use --password-file or TODO_PASSWORD",
                     c->name);
        return CLI_EXIT_USAGE;
    }
    /* In the shell and a batch, `list --json` would search for the word
     * "--json": say where options belong instead of quietly finding
     * nothing. (One-shot mode takes them anywhere; options.c does that.) */
    for (int i = 1; s->mode != SESSION_ONESHOT && i < argc; i++) {
        if (s->quoted && s->quoted[i - 1])
            continue;
        for (size_t k = 0; cli_option_names[k]; k++) {
            size_t n = strlen(cli_option_names[k]);
            if (strncmp(argv[i], cli_option_names[k], n) == 0 &&
                (argv[i][n] == '\0' || argv[i][n] == '=')) {
                session_fail(s, "USAGE",
                             "%s is an option of todo-cli itself: give it when todo-cli starts "
                             "(quote it, or put it after --, to use it as a word)",
                             cli_option_names[k]);
                return CLI_EXIT_USAGE;
            }
        }
    }
    cli_commands_arg_counts(c, &min_args, &max_args);
    if (nargs < min_args || (max_args >= 0 && nargs > max_args)) {
        const char *u = cli_commands_usage(c);
        session_fail(s, "USAGE", "usage: %s%s%s", c->name, *u ? " " : "", u);
        return CLI_EXIT_USAGE;
    }
    return c->run(s, c, nargs, argv + 1);
}

int cli_commands_run(struct session *s, int argc, char **argv, const unsigned char *quoted)
{
    const struct client_cmd *c = cli_commands_find(argv[0]);

    if (!c || (c->flags & CMD_HIDDEN)) {
        const char *near = cli_commands_suggest(argv[0], s->mode);
        if (near)
            session_fail(s, "USAGE", "unknown command '%s'; did you mean '%s'?", argv[0], near);
        else
            session_fail(s, "USAGE", "unknown command '%s'; 'help' lists the commands", argv[0]);
        return CLI_EXIT_USAGE;
    }
    /* The words without an unquoted "--", and which of them are text:
     * the quoted ones and every word after "--". */
    char **v = malloc(((size_t)argc + 1) * sizeof(*v));
    unsigned char *q = calloc((size_t)argc + 1, 1);
    int n = 0, text = 0, rc;
    if (!v || !q) {
        free(v);
        free(q);
        session_fail(s, "NOMEM", "out of memory");
        return CLI_EXIT_SERVER;
    }
    v[n++] = argv[0];
    for (int i = 1; i < argc; i++) {
        int was_quoted = quoted && quoted[i];
        if (!text && !was_quoted && strcmp(argv[i], "--") == 0) {
            text = 1;
            continue;
        }
        q[n - 1] = (unsigned char)(was_quoted || text);
        v[n++] = argv[i];
    }
    v[n] = NULL;
    s->quoted = q;
    rc = run_checked(s, c, n, v);
    s->quoted = NULL;
    free(v);
    free(q);
    return rc;
}
