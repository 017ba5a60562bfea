/*
 * lineread.h - the line editor of builds without readline: a byte-at-a-time
 * state machine (tested on its own) driven by lineread.c's terminal code.
 */
#ifndef TODO_CLI_LINEREAD_H
#define TODO_CLI_LINEREAD_H

#include <stddef.h>

#include "complete.h"

#define LR_MAX_LINE 4096

struct lr {
    char buf[LR_MAX_LINE + 1];   /* the line, NUL-terminated */
    size_t len, pos;             /* bytes held; the cursor */
    char **hist;                 /* oldest first */
    size_t nhist, hidx;          /* hidx == nhist: editing a new line */
    char saved[LR_MAX_LINE + 1]; /* the new line while browsing history */
    int esc;                     /* escape sequence state */
};

enum lr_action {
    LR_NONE = 0, /* nothing to show */
    LR_REDRAW,   /* the line changed: draw it again */
    LR_ENTER,    /* the line is complete */
    LR_EOF,      /* Ctrl-D on an empty line */
    LR_CANCEL,   /* Ctrl-C: the line was dropped */
    LR_COMPLETE, /* Tab: complete the word before the cursor */
    LR_BELL      /* nothing can be done with that key */
};

void lr_init(struct lr *e);
void lr_free(struct lr *e);
/* Empties the line (the history stays). */
void lr_reset(struct lr *e);
/* Feeds one input byte; says what the caller should do. */
enum lr_action lr_feed(struct lr *e, unsigned char c);
/* Adds line to the in-memory history (bounded; repeats are kept once). */
int lr_history_add(struct lr *e, const char *line);
/* Where the word before the cursor starts. */
size_t lr_word_start(const struct lr *e);
/* Applies candidates for that word: one is inserted whole (with a blank
 * after it), several extend the word to their common prefix. Returns 1 when
 * the line changed, 0 when it did not (the caller may list them). */
int lr_complete_apply(struct lr *e, const struct strlist *cands);

#endif
