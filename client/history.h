/*
 * history.h - where the shell's history lives and which lines it keeps.
 */
#ifndef TODO_CLI_HISTORY_H
#define TODO_CLI_HISTORY_H

#define HISTORY_MAX 1000 /* lines kept, in memory and in the file */

/* The history file: $TODO_CLI_HISTFILE, else $XDG_STATE_HOME/todo-cli/history,
 * else $HOME/.local/state/todo-cli/history. The directories are created
 * (mode 0700) for the last two. Returns a malloc'd path, or NULL when there
 * is no home or a directory cannot be made. */
char *history_path(void);

/* 0 for lines that must never be remembered: blank lines and AUTH (which
 * holds a password); 1 otherwise. */
int history_keep(const char *line);

/* Where the password starts in "auth PASSWORD" (any case, blanks around),
 * or -1 when line is not an auth with a password. */
int history_secret_at(const char *line);

/* Takes the lock that keeps shells sharing a history file from appending
 * and trimming it at the same time (an flock on PATH.lock, which is made
 * with mode 0600 and never removed). Returns the fd for history_unlock(),
 * or -1 with errno set. */
int history_lock(const char *path);
void history_unlock(int fd);

/* The built-in line reader's history file (readline has its own functions).
 * The format is readline's: one line per entry.
 *
 * history_load calls add for each line of path, oldest first; a missing
 * file is no error. history_append appends line (as bash's histappend does,
 * so two shells open at once both keep their lines) and trims the file to
 * its last max lines; the file is made with mode 0600. Each returns 0, or
 * an errno value. */
int history_load(const char *path, int (*add)(void *ctx, const char *line), void *ctx);
int history_append(const char *path, const char *line, int max);

#endif
