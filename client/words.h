/*
 * words.h - split a command line into words, the way a shell would with
 * double and single quotes. Used by the batch mode, the shell and completion.
 */
#ifndef TODO_CLI_WORDS_H
#define TODO_CLI_WORDS_H

#include <stddef.h>

struct words {
    char **v; /* n words, each NUL-terminated, then a NULL */
    size_t n;
    char *store;           /* one allocation holding every word */
    unsigned char *quoted; /* quoted[i]: some part of word i was quoted or
                            * backslash-escaped, so it is text to the server */
};

/* Splits line[0..len) into w. Words are separated by blanks; "..." keeps
 * blanks and understands \" \\ \n \t (other backslashes stay as they are);
 * '...' is taken literally; outside quotes a backslash escapes the next byte;
 * quoted and bare parts next to each other make one word.
 *
 * With partial set (completion of a line being typed), an unterminated quote
 * is accepted, and when the line is empty or ends in an unquoted blank an
 * empty last word is added: the last word is always the one being typed.
 *
 * Returns 0, or -1 with a sentence in err on an unterminated quote or when
 * out of memory. w needs words_free() after a 0 return only. */
int words_split(const char *line, size_t len, int partial, struct words *w, char *err,
                size_t errcap);
void words_free(struct words *w);

#endif
