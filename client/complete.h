/*
 * complete.h - the one source of completion candidates, driven by
 * libproto's command table. The shell's Tab key and the hidden
 * `todo-cli __complete WORD...` (used by the bash, zsh and fish scripts)
 * both ask it.
 */
#ifndef TODO_CLI_COMPLETE_H
#define TODO_CLI_COMPLETE_H

#include <stddef.h>
#include <stdint.h>

#include "cli-conn.h"

/* A growable list of strings. */
struct strlist {
    char **v;
    size_t n, cap;
};
int strlist_add(struct strlist *l, const char *s, size_t len); /* 0, or -1 when out of memory */
void strlist_free(struct strlist *l);

/* Where live ids and tags come from. Each fills out (tags without '+') and
 * returns 0, or -1 when they cannot be had; completion then offers only the
 * static candidates. */
struct complete_live {
    int (*ids)(void *ctx, struct strlist *out);
    int (*tags)(void *ctx, struct strlist *out);
    void *ctx;
};

#define COMPLETE_SHELL 0x01 /* the shell: also offer quit, exit and auth */

/* words[0..n) is a command line after the program name and its options,
 * subcommand first; the last word is the one being completed (possibly "").
 * Appends the candidates that start with it to out, sorted and unique.
 * live may be NULL. 0, or -1 when out of memory. */
int complete_words(const char *const *words, size_t n, const struct complete_live *live,
                   unsigned flags, struct strlist *out);

/* A live source that asks the server at cfg over one short connection,
 * all of it within budget_ms; ids come from LIST all, tags from TAGS. It
 * only ever reads. */
struct complete_server {
    struct cli_conn c;
    int budget_ms;
    int64_t deadline; /* set on first use */
    int failed;
};
void complete_server_init(struct complete_server *cs, const struct cli_conn_cfg *cfg,
                          int budget_ms);
void complete_server_free(struct complete_server *cs);
struct complete_live complete_server_live(struct complete_server *cs);

/* `todo-cli __complete WORD...`: prints the candidates one per line.
 * Returns the exit status (0, or 2 when no word was given). */
int complete_main(const struct cli_conn_cfg *cfg, int n, char **words);

#endif
