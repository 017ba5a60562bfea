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
    int timeout_ms;   /* --timeout, for a connect and for each reply */
    int json, plain, no_color, stop_on_error;
    int help, version;
    int first_arg; /* argv index of the command (argc when there is none) */
};

/* Looks an environment variable up; getenv in the program, a table in tests. */
typedef const char *(*cli_getenv_fn)(const char *name);

/* Parses argv with getopt_long, stopping at the first non-option word so a
 * command's own words ("edit 3 -shopping") are never taken as options.
 * Returns 0, or 2 (the usage exit status) with a sentence in err. On 0,
 * cli_opts_free() releases the password. */
int cli_parse_args(int argc, char **argv, cli_getenv_fn env, struct cli_opts *o, char *err,
                   size_t errcap);
void cli_opts_free(struct cli_opts *o);

/* The long option names ("--json", ...), NULL-terminated, for completion. */
extern const char *const cli_option_names[];

/* Writes the --help text. */
void cli_usage(FILE *fp);

#endif
