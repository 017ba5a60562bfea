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

/* A descriptor le_read() waits on besides the terminal (-1 for none: the
 * shell's watching connection), and what it calls when that descriptor is
 * readable or closed. The call may show lines with le_show(), and must
 * either read what is there or set another descriptor (-1), or le_read()
 * would be woken for it again at once. */
void le_set_watch(int fd, void (*ready)(void *ctx), void *ctx);
/* Shows one line (n bytes, no newline, safe to print: escaped) above the
 * prompt while le_read() waits, leaving the prompt and the half-typed line
 * as they were, the cursor where it was; outside le_read() the line is
 * simply printed. */
void le_show(const char *line, size_t n);

#endif
