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
#include <fcntl.h>
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
/* Set while le_read() has readline's handler installed: le_show() then
 * draws around the prompt. */
static int reading;
static int watch_fd = -1;
static void (*watch_ready)(void *ctx);
static void *watch_ctx;

void le_set_watch(int fd, void (*ready)(void *ctx), void *ctx)
{
    watch_fd = ready ? fd : -1;
    watch_ready = ready;
    watch_ctx = ctx;
}

void le_show(const char *line, size_t n)
{
    if (!reading) {
        fwrite(line, 1, n, stdout);
        putchar('\n');
        fflush(stdout);
        return;
    }
    /* Readline clears the prompt and the line (all the rows it takes), the
     * line goes where they were, and readline draws both again below it,
     * the half-typed text and the cursor as they were. */
    rl_clear_visible_line();
    fwrite(line, 1, n, stdout);
    fputs("\r\n", stdout);
    fflush(stdout);
    rl_on_new_line();
    rl_forced_update_display();
}

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
/* The line as typed when it held a password: the line editor was given a
 * masked copy to show, this is what the shell gets. */
static char *secret_line;
static int accept_line(int count, int key);

int le_init(const struct le_config *c)
{
    cfg = *c;
    rl_readline_name = "todo-cli";
    rl_attempted_completion_function = attempt_completion;
    /* Only blanks separate words: +tag, due:DATE and pri:high are one word each. */
    rl_completer_word_break_characters = " \t";
    rl_completer_quote_characters = "\"'";
    rl_catch_signals = 0;
    /* Enter masks a password typed on the line, in emacs and vi mode alike. */
    Keymap maps[] = {emacs_standard_keymap, vi_insertion_keymap, vi_movement_keymap};
    for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
        rl_bind_key_in_map('\r', accept_line, maps[i]);
        rl_bind_key_in_map('\n', accept_line, maps[i]);
    }
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
    free(secret_line);
    secret_line = NULL;
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
    if (last && strcmp(last->line, line) == 0)
        return;
    add_history(line);
    if (!histfile)
        return;
    /* This line is appended to the file at once, so a crash or a closed
     * terminal loses nothing, and appended rather than the whole history
     * written, so two shells open at once both keep their lines (bash's
     * histappend). The lock keeps one shell's trim from undoing the other's
     * append; the file is private (0600) because commands may name private
     * things. */
    int lock = history_lock(histfile), rc = 0;
    if (lock < 0)
        rc = errno;
    if (rc == 0) {
        int fd = open(histfile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd < 0 || close(fd) != 0)
            rc = errno; /* append_history() does not make the file */
    }
    if (rc == 0)
        rc = append_history(1, histfile);
    if (rc == 0)
        rc = history_truncate_file(histfile, HISTORY_MAX);
    if (rc == 0 && chmod(histfile, 0600) != 0)
        rc = errno;
    history_unlock(lock);
    if (rc != 0) {
        fprintf(stderr, "todo-cli: cannot write the history %s: %s; it is kept in memory only\n",
                histfile, strerror(rc));
        free(histfile);
        histfile = NULL;
    }
}

/* Enter: a password typed on the line ("auth secret") is masked on the
 * screen before the line is accepted, and dropped from readline's undo
 * list; the shell still gets the line as typed. */
static int accept_line(int count, int key)
{
    int at = history_secret_at(rl_line_buffer);
    if (at >= 0) {
        free(secret_line);
        secret_line = strdup(rl_line_buffer);
        char *masked = malloc((size_t)at + 9);
        if (secret_line && masked) {
            memcpy(masked, rl_line_buffer, (size_t)at);
            memcpy(masked + at, "********", 9);
            rl_replace_line(masked, 1);
            rl_point = rl_end;
            rl_redisplay();
        }
        free(masked);
    }
    return rl_newline(count, key);
}

static void on_line(char *line)
{
    if (secret_line && line) {
        explicit_bzero(line, strlen(line));
        free(line);
        line = secret_line;
        secret_line = NULL;
    }
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
    reading = 1;
    while (!line_done) {
        struct pollfd p[2] = {{.fd = STDIN_FILENO, .events = POLLIN},
                              {.fd = watch_fd, .events = POLLIN}};
        int r = poll(p, watch_fd >= 0 ? 2 : 1, -1);
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
            reading = 0;
            return NULL;
        }
        /* Keys first: what the user types is never held up by events. */
        if (p[0].revents) {
            rl_callback_read_char();
            continue;
        }
        if (watch_fd >= 0 && p[1].revents && watch_ready)
            watch_ready(watch_ctx);
    }
    reading = 0;
    if (!line_read)
        putchar('\n');
    return line_read;
}
