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

#endif
