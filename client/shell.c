/*
 * shell.c - the interactive shell: a prompt that names the server (or says
 * it is not connected), the same commands as the one-shot form, help, quit.
 */
#include "shell.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "complete.h"
#include "history.h"
#include "lineedit.h"
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

int shell_run(struct session *s)
{
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
    (void)session_connect(s);

    for (;;) {
        if (cli_conn_is_open(&s->conn) && !cli_conn_alive(&s->conn))
            cli_conn_close(&s->conn);
        if (cli_conn_is_open(&s->conn))
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
        if (w.n > 0 && !leave) {
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
        }
        words_free(&w);
        if (leave)
            break;
    }
    le_end();
    free(histfile);
    s->conn.cancel = NULL;
    if (sigaction(SIGINT, &old_sa, NULL) != 0)
        fprintf(stderr, "todo-cli: cannot restore the Ctrl-C handler: %s\n", strerror(errno));
    return 0;
}
