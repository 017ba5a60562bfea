/*
 * options.h - todo-cli's command-line options and environment.
 */
#ifndef TODO_CLI_OPTIONS_H
#define TODO_CLI_OPTIONS_H

#include <stddef.h>
#include <stdio.h>

#define CLI_DEFAULT_HOST "127.0.0.1"
#define CLI_DEFAULT_PORT "9000"
#define CLI_DEFAULT_TIMEOUT_MS 5000

struct cli_opts {
    const char *host; /* from -H, TODO_HOST or the default; points into argv/env */
    char port[8];     /* decimal 1..65535 */
    char *password;   /* from --password-file or TODO_PASSWORD; malloc'd, or NULL */
    const char *user; /* from --user or TODO_USER (AUTH USER PASSWORD); points into argv/env */
    const char *list; /* from --list or TODO_LIST: USE after logging in (a shared list) */
    int timeout_ms;   /* --timeout, for a connect and for each reply */
    int json, plain, no_color, stop_on_error;
    int help, version;
    char **args;         /* nargs words (command first) and a NULL; they point into argv */
    unsigned char *text; /* text[i]: args[i] must reach the server as text (quoted) */
    int nargs;           /* 0 when there is no command */
};

/* Looks an environment variable up; getenv in the program, a table in tests. */
typedef const char *(*cli_getenv_fn)(const char *name);

/* Parses argv. Before the command word every option counts; after it, long
 * options (--json) still do, words with one dash are the command's own
 * ("edit 3 -shopping"), and after "--" every word is text. A word holding
 * whitespace is text too (the user's shell removed the quotes around it).
 * Returns 0, or 2 (the usage exit status) with a sentence in err. On 0,
 * cli_opts_free() releases the password and the word list. */
int cli_parse_args(int argc, char **argv, cli_getenv_fn env, struct cli_opts *o, char *err,
                   size_t errcap);
void cli_opts_free(struct cli_opts *o);

/* The long option names ("--json", ...), NULL-terminated, for completion. */
extern const char *const cli_option_names[];

/* Writes the --help text. */
void cli_usage(FILE *fp);

#endif
