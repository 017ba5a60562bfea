/*
 * cli-commands.h - todo-cli's subcommands: the table and the dispatcher shared
 * by the one-shot form, the batch mode and the shell.
 */
#ifndef TODO_CLI_CLI_COMMANDS_H
#define TODO_CLI_CLI_COMMANDS_H

#include <stdio.h>

#include "cli-conn.h"
#include "output.h"

/* Exit statuses, as documented in --help. */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_SERVER = 1, /* the server answered an error */
    CLI_EXIT_USAGE = 2,  /* bad options, command or arguments */
    CLI_EXIT_CONNECT = 3 /* cannot connect or authenticate, or no reply in time */
};

enum session_mode { SESSION_ONESHOT = 0, SESSION_BATCH, SESSION_SHELL };

struct session {
    struct cli_conn conn;
    struct out out;
    enum session_mode mode;
    char *password; /* given with auth in the shell or a batch; kept for reconnects */
    char *list;     /* given with use in the shell or a batch; kept for reconnects */
    int list_moved; /* use changed the list: the shell's watch must be sent again */
    /* While a command runs: quoted[i] is 1 when its i-th argument is text
     * (the user quoted it, or it came after "--"); NULL for none. */
    const unsigned char *quoted;
    /* The last change a command made here (add, edit, done, undone, del,
     * on OK; PROTO_CMD_NONE for none), so that the shell's watch can leave
     * out the events of its own writes. The shell resets it. */
    enum proto_cmd changed;
    char changed_id[PROTO_MAX_ID + 1];
};

struct client_cmd;
typedef int (*client_cmd_fn)(struct session *s, const struct client_cmd *c, int argc, char **argv);

#define CMD_NOT_ONESHOT 0x01 /* only in the shell and batch mode (auth) */
#define CMD_HIDDEN 0x02      /* left out of help and completion */
#define CMD_OWN_ARGS 0x04    /* takes other counts of words than its request (auth) */

struct client_cmd {
    const char *name;    /* as typed: "add" */
    enum proto_cmd cmd;  /* the request it sends; PROTO_CMD_NONE for local commands */
    const char *usage;   /* NULL: libproto's usage for cmd */
    const char *summary; /* NULL: libproto's summary for cmd */
    /* Words after the name, max -1 for no limit, for a command of the
     * client's own (cmd PROTO_CMD_NONE) or one with CMD_OWN_ARGS; any other
     * takes the counts of libproto's table, which the server applies too. */
    int min_args, max_args;
    client_cmd_fn run;
    unsigned flags;
};

/* The i-th command, or NULL past the end. */
const struct client_cmd *cli_commands_at(size_t i);
/* The command named name (in any case), or NULL. */
const struct client_cmd *cli_commands_find(const char *name);
const char *cli_commands_usage(const struct client_cmd *c);
const char *cli_commands_summary(const struct client_cmd *c);
/* How many words may follow c's name: *min to *max (-1: no limit). */
void cli_commands_arg_counts(const struct client_cmd *c, int *min, int *max);

/* Runs argv[0] with its arguments; returns an exit status. Messages go to
 * stderr, results to s->out. quoted (NULL: none) marks the words that are
 * text whatever they look like; after an unquoted "--" every word is. */
int cli_commands_run(struct session *s, int argc, char **argv, const unsigned char *quoted);

/* The command nearest to name by edit distance (for "did you mean"), or
 * NULL when none is near enough. Shell words (quit, exit) count in the
 * shell and batch modes. */
const char *cli_commands_suggest(const char *name, enum session_mode mode);

/* Connects s->conn if it is not open. 0, or CLI_EXIT_CONNECT after printing why. */
int session_connect(struct session *s);

/* Reports a failed connection call (c->conn.err); returns the exit status for it. */
int session_conn_failed(struct session *s, enum cli_conn_status st);
/* Reports an ERR reply (its sentence and code); returns the exit status for it. */
int session_server_error(struct session *s, const struct proto_reply *r);

/* Prints "todo-cli: MESSAGE" on stderr (and the JSON error on stdout in JSON mode). */
void session_fail(struct session *s, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
