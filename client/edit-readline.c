/*
 * edit-readline.c - the shell's line editor on GNU readline: editing,
 * history kept in a file across sessions, and Tab completion from
 * complete.c.
 *
 * Readline's callback interface is used so that Ctrl-C can clear the line:
 * our SIGINT handler only sets a flag, poll() returns EINTR, and the line is
 * dropped here, outside the handler, where readline may be called safely.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "history.h"
#include "lineedit.h"
#include "words.h"

volatile sig_atomic_t le_sigint;
const int le_persistent_history = 1;

static struct le_config cfg;
static char *line_read;
static int line_done;

/* Readline asks for candidates one at a time; they are computed on the
 * first call for a word and handed out from this list. */
static struct strlist matches;
static size_t match_next;

static char *match_generator(const char *text, int state)
{
    (void)text;
    if (state == 0)
        match_next = 0;
    if (match_next >= matches.n)
        return NULL;
    return strdup(matches.v[match_next++]);
}

static char **attempt_completion(const char *text, int start, int end)
{
    struct words w;
    (void)end;
    rl_attempted_completion_over = 1; /* never fall back to file names */
    strlist_free(&matches);
    if (!cfg.complete || words_split(rl_line_buffer, (size_t)start, 1, &w, NULL, 0) != 0)
        return NULL;
    /* The words before the one being completed, then that word itself. */
    const char **all = malloc((w.n + 1) * sizeof(*all));
    if (!all) {
        words_free(&w);
        return NULL;
    }
    size_t n = 0;
    for (size_t i = 0; i + 1 < w.n; i++)
        all[n++] = w.v[i];
    all[n++] = text;
    if (cfg.complete(cfg.ctx, all, n, &matches) != 0)
        strlist_free(&matches);
    free(all);
    words_free(&w);
    /* "due:" wants its date right after it, not a blank. */
    rl_completion_append_character = ' ';
    if (matches.n == 1 && matches.v[0][0] && matches.v[0][strlen(matches.v[0]) - 1] == ':')
        rl_completion_append_character = '\0';
    return rl_completion_matches(text, match_generator);
}

static char *histfile;

int le_init(const struct le_config *c)
{
    cfg = *c;
    rl_readline_name = "todo-cli";
    rl_attempted_completion_function = attempt_completion;
    /* Only blanks separate words: +tag, due:DATE and pri:high are one word each. */
    rl_completer_word_break_characters = " \t";
    rl_completer_quote_characters = "\"'";
    rl_catch_signals = 0;
    using_history();
    stifle_history(HISTORY_MAX);
    if (cfg.histfile) {
        histfile = strdup(cfg.histfile);
        /* A missing file is a first session, not an error. */
        if (histfile && read_history(histfile) != 0 && errno != ENOENT)
            fprintf(stderr, "todo-cli: cannot read the history %s: %s\n", histfile,
                    strerror(errno));
    }
    return 0;
}

void le_end(void)
{
    strlist_free(&matches);
    free(histfile);
    histfile = NULL;
    clear_history();
}

void le_history_add(const char *line)
{
    if (!history_keep(line))
        return;
    HIST_ENTRY *last = history_length > 0 ? history_get(history_base + history_length - 1) : NULL;
    if (!last || strcmp(last->line, line) != 0)
        add_history(line);
    if (!histfile)
        return;
    /* Written after every line, so a crash or a closed terminal loses nothing;
     * the file is private (0600) because commands may name private things. */
    int rc = write_history(histfile);
    if (rc == 0)
        rc = history_truncate_file(histfile, HISTORY_MAX);
    if (rc == 0 && chmod(histfile, 0600) != 0)
        rc = errno;
    if (rc != 0) {
        fprintf(stderr, "todo-cli: cannot write the history %s: %s; it is kept in memory only\n",
                histfile, strerror(rc));
        free(histfile);
        histfile = NULL;
    }
}

static void on_line(char *line)
{
    line_read = line;
    line_done = 1;
    rl_callback_handler_remove();
}

char *le_read(const char *prompt)
{
    line_read = NULL;
    line_done = 0;
    le_sigint = 0;
    rl_callback_handler_install(prompt, on_line);
    while (!line_done) {
        struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
        int r = poll(&p, 1, -1);
        if (r < 0 && errno == EINTR) {
            if (le_sigint) {
                /* Ctrl-C: drop the line and start afresh on a new one. */
                le_sigint = 0;
                rl_free_line_state();
                rl_callback_sigcleanup();
                rl_replace_line("", 0);
                rl_crlf();
                rl_on_new_line();
                rl_redisplay();
            }
            continue;
        }
        if (r < 0) {
            fprintf(stderr, "todo-cli: cannot read the terminal: %s\n", strerror(errno));
            rl_callback_handler_remove();
            return NULL;
        }
        rl_callback_read_char();
    }
    if (!line_read)
        putchar('\n');
    return line_read;
}
