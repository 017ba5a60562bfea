/*
 * main.c - todo-cli: options, then a one-shot command, the batch mode, the
 * interactive shell, or the hidden __complete helper.
 */
#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "askpass.h"
#include "cli-commands.h"
#include "complete.h"
#include "options.h"
#include "shell.h"

static const char *env(const char *name)
{
    return getenv(name);
}

int main(int argc, char **argv)
{
    struct cli_opts o;
    struct session s;
    char err[512];
    int rc;

    /* The locale's character type, for the display width of text and for
     * readline's handling of UTF-8 input. Nothing else (numbers, messages)
     * changes with it. When it fails the "C" locale stays, for which
     * text.c has width tables of its own. */
    (void)setlocale(LC_CTYPE, "");
    /* A server that goes away must give an error, not kill us. */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
        perror("todo-cli: signal");
        return 1;
    }
    if (cli_parse_args(argc, argv, env, &o, err, sizeof(err)) != 0) {
        fprintf(stderr, "todo-cli: %s\nTry 'todo-cli --help'.\n", err);
        return CLI_EXIT_USAGE;
    }
    if (o.help || o.version) {
        if (o.help)
            cli_usage(stdout);
        else
            printf("todo-cli %s (protocol %s %d)\n", TODO_VERSION, PROTO_NAME, PROTO_VERSION);
        cli_opts_free(&o);
        return fflush(stdout) == 0 ? CLI_EXIT_OK : 1;
    }

    int nargs = o.nargs;
    char **args = o.args;
    int completing = nargs > 0 && strcmp(args[0], "__complete") == 0;
    /* --user without a password: asked for on the terminal, without echo,
     * before anything is sent (completion never asks: it would hang the
     * user's shell). */
    if (o.user && !o.password && !completing) {
        if (!isatty(STDIN_FILENO)) {
            fprintf(stderr,
                    "todo-cli: --user %s needs a password: --password-file, TODO_PASSWORD, or a "
                    "terminal to type it on\n",
                    o.user);
            cli_opts_free(&o);
            return CLI_EXIT_USAGE;
        }
        char prompt[PROTO_MAX_USER + 32];
        snprintf(prompt, sizeof(prompt), "Password for %s: ", o.user);
        o.password = askpass(prompt, NULL);
        if (!o.password) {
            cli_opts_free(&o);
            return CLI_EXIT_USAGE;
        }
    }
    struct cli_conn_cfg cfg = {o.host, o.port, o.password, o.timeout_ms, o.user, o.list};
    memset(&s, 0, sizeof(s));
    cli_conn_init(&s.conn, &cfg);
    s.out.fp = stdout;
    if (o.json)
        s.out.mode = OUT_JSON;
    else if (o.plain || !isatty(STDOUT_FILENO))
        s.out.mode = OUT_PLAIN;
    else
        s.out.mode = OUT_TABLE;
    const char *term = getenv("TERM");
    s.out.color = s.out.mode == OUT_TABLE && !o.no_color && !(term && strcmp(term, "dumb") == 0);
    /* The table is for people, who read "tomorrow" faster than a date;
     * scripts read --plain or --json, which keep ISO dates whatever this says. */
    const char *dates = getenv("TODO_CLI_DATES");
    s.out.iso_dates = dates && strcmp(dates, "iso") == 0;

    if (s.out.mode == OUT_TABLE)
        out_term_update(&s.out);

    if (completing) {
        rc = complete_main(&cfg, nargs - 1, args + 1);
    } else if (nargs > 0) {
        s.mode = SESSION_ONESHOT;
        rc = cli_commands_run(&s, nargs, args, o.text);
    } else if (isatty(STDIN_FILENO)) {
        s.mode = SESSION_SHELL;
        rc = shell_run(&s);
    } else {
        s.mode = SESSION_BATCH;
        rc = cli_batch_run(&s, stdin, o.stop_on_error);
    }

    cli_conn_free(&s.conn);
    free(s.list);
    if (s.password) {
        explicit_bzero(s.password, strlen(s.password));
        free(s.password);
    }
    cli_opts_free(&o);
    if (fflush(stdout) != 0 && errno != EPIPE) {
        fprintf(stderr, "todo-cli: cannot write the output: %s\n", strerror(errno));
        if (rc == CLI_EXIT_OK)
            rc = 1;
    }
    return rc;
}
