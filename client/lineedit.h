/*
 * lineedit.h - reading a line in the interactive shell. Two
 * implementations: GNU readline (edit-readline.c) and our own small reader
 * (lineread.c) for builds without readline.
 */
#ifndef TODO_CLI_LINEEDIT_H
#define TODO_CLI_LINEEDIT_H

#include <signal.h>
#include <stddef.h>

#include "complete.h"

struct le_config {
    const char *histfile; /* kept across sessions when set and supported; NULL: in memory */
    /* Fills out with the candidates for the last of words[0..n). */
    int (*complete)(void *ctx, const char *const *words, size_t n, struct strlist *out);
    void *ctx;
};

/* Set by the shell's SIGINT handler; the reader clears the line when it sees it. */
extern volatile sig_atomic_t le_sigint;

/* 1 when history survives the session (the readline build). */
extern const int le_persistent_history;

int le_init(const struct le_config *cfg);
/* Shows prompt and reads one line. Returns it (malloc'd, no newline), or
 * NULL at end of input (Ctrl-D on an empty line) or on an error. */
char *le_read(const char *prompt);
/* Adds line to the history (and writes the history file, if any). */
void le_history_add(const char *line);
void le_end(void);

#endif
