/*
 * cli-batch.c - todo-cli's batch mode: one command per line of stdin, run in order.
 */
#include "shell.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "words.h"

int cli_batch_run(struct session *s, FILE *in, int stop_on_error)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    unsigned long lineno = 0;
    int worst = CLI_EXIT_OK;

    /* Many JSON documents, one after the other: one per line (JSON Lines),
     * which jq and `python3 -m json.tool --json-lines` read. */
    s->out.json_lines = 1;
    while ((n = getline(&line, &cap, in)) >= 0) {
        struct words w;
        char err[128];
        int rc;

        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        size_t skip = strspn(line, " \t");
        if (line[skip] == '\0' || line[skip] == '#')
            continue;
        /* A JSON error names the line it answers. */
        s->out.line = lineno;
        if (words_split(line, (size_t)n, 0, &w, err, sizeof(err)) != 0) {
            session_fail(s, "USAGE", "line %lu: %s", lineno, err);
            rc = CLI_EXIT_USAGE;
        } else {
            if (strcmp(w.v[0], "quit") == 0 || strcmp(w.v[0], "exit") == 0) {
                words_free(&w);
                break;
            }
            rc = cli_commands_run(s, (int)w.n, w.v, w.quoted);
            words_free(&w);
        }
        /* Keep each command's output ahead of the next one's messages. */
        if (fflush(stdout) != 0 && rc == CLI_EXIT_OK)
            rc = CLI_EXIT_SERVER;
        if (rc > worst)
            worst = rc;
        if (rc != CLI_EXIT_OK && stop_on_error) {
            worst = rc;
            break;
        }
    }
    s->out.line = 0;
    if (ferror(in)) {
        fprintf(stderr, "todo-cli: cannot read the commands: %s\n", strerror(errno));
        if (worst == CLI_EXIT_OK)
            worst = CLI_EXIT_USAGE;
    }
    free(line);
    return worst;
}
