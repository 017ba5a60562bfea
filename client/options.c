/*
 * options.c - todo-cli's options, environment variables and --help text.
 */
#include "options.h"

#include <errno.h>
#include "todo/proto.h"
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

enum {
    OPT_PASSWORD_FILE = 256,
    OPT_TIMEOUT,
    OPT_JSON,
    OPT_PLAIN,
    OPT_NO_COLOR,
    OPT_STOP_ON_ERROR,
    OPT_USER,
    OPT_LIST
};

static const struct option long_options[] = {
    {"host", required_argument, NULL, 'H'},
    {"port", required_argument, NULL, 'p'},
    {"password-file", required_argument, NULL, OPT_PASSWORD_FILE},
    {"user", required_argument, NULL, OPT_USER},
    {"list", required_argument, NULL, OPT_LIST},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"json", no_argument, NULL, OPT_JSON},
    {"plain", no_argument, NULL, OPT_PLAIN},
    {"no-color", no_argument, NULL, OPT_NO_COLOR},
    {"stop-on-error", no_argument, NULL, OPT_STOP_ON_ERROR},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

const char *const cli_option_names[] = {
    "--help",          "--host",    "--json", "--list",          "--no-color",
    "--password-file", "--plain",   "--port", "--stop-on-error", "--timeout",
    "--user",          "--version", NULL,
};

void cli_usage(FILE *fp)
{
    fputs("Usage: todo-cli [OPTIONS] [COMMAND [ARGS...]]\n"
          "\n"
          "A client for todo-server. With a COMMAND it runs it and exits; without one it\n"
          "opens an interactive shell when stdin is a terminal, and otherwise runs one\n"
          "command per line of stdin (batch mode; blank lines and lines starting with #\n"
          "are skipped; words are split like a shell's, with \"...\" and '...').\n"
          "\n"
          "Commands:\n"
          "  add TEXT... [+TAG]... [due:YYYY-MM-DD] [pri:low|med|high]   prints the new id\n"
          "  get ID                       show one task\n"
          "  edit ID [TEXT...] [+TAG] [-TAG] [due:DATE|due:none] [pri:LEVEL|pri:none]\n"
          "  done ID | undone ID | del ID mark done, mark pending, delete\n"
          "  list [pending|done|all] [+TAG]... [WORD...]   pending tasks by default\n"
          "    [--sort FIELD,..] [due:before:DATE] [due:after:DATE] [overdue] [pri:LEVEL]\n"
          "  next [N]                     the first N pending tasks of that order (5)\n"
          "  tags | stats | ping          tags with counts, server statistics, liveness\n"
          "  help [COMMAND]               the commands, or one command's syntax\n"
          "  export                       every task as a JSON array on stdout\n"
          "  import [--on-conflict skip|replace|fail] [FILE]\n"
          "                               restore an export (stdin by default): same ids,\n"
          "                               times, tags; if an id is taken, fail (the\n"
          "                               default) imports nothing\n"
          "  watch [pending|done|all] [+TAG]...\n"
          "                               each change as it happens, until Ctrl-C;\n"
          "                               --plain: seq, kind, the task's fields; --json:\n"
          "                               JSON Lines with \"seq\" and \"event\"\n"
          "  auth [PASSWORD]              shell, batch: log in (the shell asks if none given)\n"
          "Options go before or after the command; after it only long ones count, so in\n"
          "`todo-cli edit 3 -shopping`, -shopping is an argument of edit. `--` ends them.\n",
          fp);
    /* In parts: C17 promises string literals of 4,095 bytes, not more. */
    fputs("A word such as +tag, -tag, due:..., pri:... or a list keyword is taken as such,\n"
          "unless it was quoted: in the shell and batch mode any quoting (\"+urgent\"); on\n"
          "the command line an argument holding a blank, and every word after `--`\n"
          "(`todo-cli add -- +urgent` adds the text \"+urgent\"). Other words form the text.\n"
          "\n",
          fp);
    /* Two literals: C17 promises only 4095 bytes in one. */
    fputs("Options:\n"
          "  -H, --host HOST          server host (env TODO_HOST; default 127.0.0.1)\n"
          "  -p, --port PORT          server port (env TODO_PORT; default 9000)\n"
          "      --password-file PATH send AUTH with the first line of PATH (or env\n"
          "                           TODO_PASSWORD) after connecting\n"
          "      --list NAME          work in NAME's list, which its owner shared with --user\n"
          "                           (SHARE; env TODO_LIST); your own by default\n"
          "      --user NAME          log in as NAME, a user of a server with accounts\n"
          "                           (env TODO_USER); the password from --password-file,\n"
          "                           TODO_PASSWORD, or asked for on the terminal\n"
          "      --timeout SECONDS    limit for connecting and for each reply (default 5)\n"
          "      --json               JSON output (see below)\n"
          "      --plain              tab-separated lines even on a terminal\n"
          "      --no-color           no colours (also when NO_COLOR is set)\n"
          "      --stop-on-error      batch mode: stop at the first failing command\n"
          "  -h, --help               this help\n"
          "  -V, --version            the version\n"
          "The shell shows other clients' changes above the prompt (watch on|off in it;\n"
          "off from the start with TODO_CLI_WATCH=off).\n"
          "\n"
          "Output: on a terminal, an aligned table in colour. Otherwise (or with --plain)\n"
          "one task per line, tab-separated: id, status, pri, due, tags, created, updated,\n"
          "text; empty fields are \"-\", tags are joined by commas, times are UTC\n"
          "(2026-11-26T10:00:00Z), and tab, newline, CR and backslash in the text are\n"
          "written \\t \\n \\r \\\\. tags prints \"tag<TAB>count\", stats \"name<TAB>value\".\n"
          "No control sequence reaches the terminal: everywhere, ESC is shown as \\e, other\n"
          "control bytes and DEL as \\xHH, U+0080..U+009F as \\u00HH, bytes that are not\n"
          "UTF-8 as \\xHH. The table fits the terminal's width (long text wraps in its\n"
          "column); a pending task's due date is red when past, yellow when today, and\n"
          "in words within a week (\"tomorrow\", \"in 3 days\"; TODO_CLI_DATES=iso: dates).\n"
          "add, edit, done, undone and del print the task id; ping prints PONG.\n"
          "\n"
          "JSON: a task is {\"id\", \"text\", \"status\": \"pending\"|\"done\", \"priority\":\n"
          "\"low\"|\"med\"|\"high\"|null, \"due\": \"YYYY-MM-DD\"|null, \"tags\": [...], "
          "\"created\",\n"
          "\"updated\"}; get prints a task, list and export an array of tasks; add, edit,\n"
          "done, undone, del print {\"id\": \"3\"}; tags [{\"tag\": \"home\", \"count\": 2}];\n"
          "stats {\"name\": value}; ping {\"reply\": \"PONG\"}; import {\"imported\": N,\n"
          "\"skipped\": N, \"replaced\": N, \"failed\": N}; an error {\"error\": {\"code\":\n"
          "\"NOTFOUND\", \"message\": \"...\"}}, also on stdout, with the exit status below.\n"
          "In batch mode, one document per line (JSON Lines), and an error names its input\n"
          "line: {..., \"line\": 3}.\n"
          "\n"
          "Exit status: 0 success; 1 the server answered an error (e.g. no such task), or\n"
          "is older than list and next need (protocol version 3, checked with HELLO);\n"
          "2 usage error; 3 cannot connect or authenticate, or no reply in time.\n"
          "In batch mode: the worst status, or with --stop-on-error the first failure's.\n",
          fp);
}

/* Reads the first line of path (without its line end) as the password. */
static int read_password_file(const char *path, char **out, char *err, size_t errcap)
{
    FILE *fp = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    int ret = -1;

    if (!fp) {
        snprintf(err, errcap, "cannot read password file %s: %s", path, strerror(errno));
        return -1;
    }
    ssize_t n = getline(&line, &cap, fp);
    if (n < 0) {
        if (ferror(fp))
            snprintf(err, errcap, "cannot read password file %s: %s", path, strerror(errno));
        else
            snprintf(err, errcap, "password file %s is empty", path);
        goto out;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    *out = line;
    line = NULL;
    ret = 0;
out:
    free(line);
    if (fclose(fp) != 0 && ret == 0) {
        snprintf(err, errcap, "cannot read password file %s: %s", path, strerror(errno));
        free(*out);
        *out = NULL;
        ret = -1;
    }
    return ret;
}

static int parse_port(const char *s, char out[8])
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 1 || v > 65535 || s[0] == '+' ||
        s[0] == '-' || s[0] == ' ')
        return -1;
    snprintf(out, 8, "%ld", v);
    return 0;
}

static int parse_timeout(const char *s, int *ms)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(v > 0) || v > 86400)
        return -1;
    *ms = (int)(v * 1000 + 0.5);
    if (*ms < 1)
        *ms = 1;
    return 0;
}

/* Applies option c (getopt's value) with its argument. 0, or 2 with err set. */
static int apply_option(struct cli_opts *o, int c, const char *arg, const char **password_file,
                        char *err, size_t errcap)
{
    if (!arg)
        arg = ""; /* options without a value do not look at it */
    switch (c) {
    case 'H':
        if (!*arg) {
            snprintf(err, errcap, "the host must not be empty");
            return 2;
        }
        o->host = arg;
        break;
    case 'p':
        if (parse_port(arg, o->port) != 0) {
            snprintf(err, errcap, "the port must be a number from 1 to 65535, not '%s'", arg);
            return 2;
        }
        break;
    case OPT_PASSWORD_FILE:
        *password_file = arg;
        break;
    case OPT_USER:
        if (!proto_valid_user(arg, strlen(arg))) {
            snprintf(err, errcap,
                     "'%s' cannot name a user: 1 to %d letters, digits, '.', '_' or '-', "
                     "beginning with a letter or a digit",
                     arg, PROTO_MAX_USER);
            return 2;
        }
        o->user = arg;
        break;
    case OPT_LIST:
        if (!proto_valid_user(arg, strlen(arg))) {
            snprintf(err, errcap, "'%s' cannot name a list: a list is named after its user", arg);
            return 2;
        }
        o->list = arg;
        break;
    case OPT_TIMEOUT:
        if (parse_timeout(arg, &o->timeout_ms) != 0) {
            snprintf(err, errcap, "the timeout must be a number of seconds above 0, not '%s'", arg);
            return 2;
        }
        break;
    case OPT_JSON:
        o->json = 1;
        break;
    case OPT_PLAIN:
        o->plain = 1;
        break;
    case OPT_NO_COLOR:
        o->no_color = 1;
        break;
    case OPT_STOP_ON_ERROR:
        o->stop_on_error = 1;
        break;
    case 'h':
        o->help = 1;
        break;
    case 'V':
        o->version = 1;
        break;
    }
    return 0;
}

/* A long option after the command word: "--name" or "--name=value", the
 * name in full (no abbreviations there: "--js" is more likely a typo than
 * a wish). Its value may be the next word. Returns 0 with *i moved past
 * what it used, or 2 with err set. */
static int long_option_after(struct cli_opts *o, int argc, char **argv, int *i,
                             const char **password_file, char *err, size_t errcap)
{
    const char *a = argv[*i] + 2, *eq = strchr(a, '=');
    size_t n = eq ? (size_t)(eq - a) : strlen(a);
    const struct option *opt = NULL;

    for (size_t k = 0; long_options[k].name; k++)
        if (strlen(long_options[k].name) == n && strncmp(long_options[k].name, a, n) == 0)
            opt = &long_options[k];
    if (!opt) {
        snprintf(err, errcap, "unknown option '%s' (after -- it is a word of the command)",
                 argv[*i]);
        return 2;
    }
    const char *val = NULL;
    if (opt->has_arg == required_argument) {
        if (eq) {
            val = eq + 1;
        } else if (*i + 1 < argc) {
            val = argv[++*i];
        } else {
            snprintf(err, errcap, "option '%s' needs an argument", argv[*i]);
            return 2;
        }
    } else if (eq) {
        snprintf(err, errcap, "option '--%s' takes no argument", opt->name);
        return 2;
    }
    (*i)++;
    return apply_option(o, opt->val, val, password_file, err, errcap);
}

/* Long options that belong to one command, not to todo-cli: after that
 * command's word they stay its arguments (with their value) for it to read,
 * instead of being refused as unknown global options. */
static const struct {
    const char *command, *option; /* option without its dashes */
} command_options[] = {
    {"import", "on-conflict"},
    {"list", "sort"},
};

/* 1 when argv[i] is one of cmd's own long options ("--name" or "--name=v"). */
static int command_option(const char *cmd, const char *arg)
{
    const char *eq = strchr(arg + 2, '=');
    size_t n = eq ? (size_t)(eq - (arg + 2)) : strlen(arg + 2);
    for (size_t k = 0; k < sizeof(command_options) / sizeof(command_options[0]); k++)
        if (strcmp(command_options[k].command, cmd) == 0 &&
            strlen(command_options[k].option) == n &&
            strncmp(command_options[k].option, arg + 2, n) == 0)
            return 1;
    return 0;
}

static int has_blank(const char *s)
{
    return strpbrk(s, " \t\n\r\v\f") != NULL;
}

int cli_parse_args(int argc, char **argv, cli_getenv_fn env, struct cli_opts *o, char *err,
                   size_t errcap)
{
    const char *password_file = NULL;
    const char *e, *last_arg = NULL;
    int c, rc;

    memset(o, 0, sizeof(*o));
    o->host = CLI_DEFAULT_HOST;
    snprintf(o->port, sizeof(o->port), "%s", CLI_DEFAULT_PORT);
    o->timeout_ms = CLI_DEFAULT_TIMEOUT_MS;

    if ((e = env("TODO_HOST")) && *e)
        o->host = e;
    if ((e = env("TODO_PORT")) && *e && parse_port(e, o->port) != 0) {
        snprintf(err, errcap, "TODO_PORT must be a port number from 1 to 65535, not '%s'", e);
        return 2;
    }
    if ((e = env("NO_COLOR")) && *e)
        o->no_color = 1;
    if ((e = env("TODO_USER")) && *e) {
        if (!proto_valid_user(e, strlen(e))) {
            snprintf(err, errcap, "TODO_USER '%s' cannot name a user", e);
            return 2;
        }
        o->user = e;
    }
    if ((e = env("TODO_LIST")) && *e) {
        if (!proto_valid_user(e, strlen(e))) {
            snprintf(err, errcap, "TODO_LIST '%s' cannot name a list", e);
            return 2;
        }
        o->list = e;
    }

    /* Before the command word: every option, short or long, as getopt
     * knows them. "+" stops at the first non-option (the command); ":"
     * reports a missing argument apart from an unknown option. optind = 0
     * makes getopt start afresh, which tests rely on. */
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:H:p:hV", long_options, NULL)) != -1) {
        last_arg = optarg;
        switch (c) {
        case ':':
            snprintf(err, errcap, "option '%s' needs an argument", argv[optind - 1]);
            return 2;
        case '?':
            if (optopt)
                snprintf(err, errcap, "unknown option '-%c'", optopt);
            else
                snprintf(err, errcap, "unknown option '%s'", argv[optind - 1]);
            return 2;
        default:
            if ((rc = apply_option(o, c, optarg, &password_file, err, errcap)) != 0)
                return rc;
        }
    }
    /* getopt took a "--" before the command (and not as an option's value):
     * then no later word is an option either. */
    int no_options =
        optind > 1 && strcmp(argv[optind - 1], "--") == 0 && last_arg != argv[optind - 1];

    o->args = calloc((size_t)(argc - optind) + 1, sizeof(*o->args));
    o->text = calloc((size_t)(argc - optind) + 1, 1);
    if (!o->args || !o->text) {
        snprintf(err, errcap, "out of memory");
        cli_opts_free(o);
        return 2;
    }
    /* After the command word: long options still count (todo-cli list
     * --json), but a word with one dash is the command's (edit 3 -shopping
     * removes a tag), and after "--" every word is text (add -- +urgent).
     * The hidden __complete takes its words as they are. */
    int text = 0, raw = optind < argc && strcmp(argv[optind], "__complete") == 0;
    for (int i = optind; i < argc;) {
        const char *a = argv[i];
        if (o->nargs > 0 && !raw && !no_options && !text) {
            if (strcmp(a, "--") == 0) {
                text = 1;
                i++;
                continue;
            }
            if (a[0] == '-' && a[1] == '-' && command_option(o->args[0], a)) {
                o->text[o->nargs] = 0;
                o->args[o->nargs++] = argv[i++];
                if (strchr(a, '=') == NULL && i < argc) {
                    o->text[o->nargs] = 0;
                    o->args[o->nargs++] = argv[i++]; /* its value */
                }
                continue;
            }
            if (a[0] == '-' && a[1] == '-') {
                if ((rc = long_option_after(o, argc, argv, &i, &password_file, err, errcap)) != 0) {
                    cli_opts_free(o);
                    return rc;
                }
                continue;
            }
        }
        /* The user's shell has removed any quotes: a word holding a blank
         * was quoted, so it is text; and after "--" every word is. */
        o->text[o->nargs] = o->nargs > 0 && !raw && (text || has_blank(a));
        o->args[o->nargs++] = argv[i++];
    }
    if (o->json && o->plain) {
        snprintf(err, errcap, "--json and --plain cannot be used together");
        cli_opts_free(o);
        return 2;
    }
    if (password_file) {
        if (read_password_file(password_file, &o->password, err, errcap) != 0) {
            cli_opts_free(o);
            return 2;
        }
    } else if ((e = env("TODO_PASSWORD")) && *e) {
        o->password = strdup(e);
        if (!o->password) {
            snprintf(err, errcap, "out of memory");
            cli_opts_free(o);
            return 2;
        }
    }
    return 0;
}

void cli_opts_free(struct cli_opts *o)
{
    free(o->args);
    free(o->text);
    o->args = NULL;
    o->text = NULL;
    o->nargs = 0;
    if (o->password) {
        /* Do not leave the secret in freed memory. */
        explicit_bzero(o->password, strlen(o->password));
        free(o->password);
        o->password = NULL;
    }
}
