/*
 * complete.c - completion candidates for the shell's Tab key and for
 * `todo-cli __complete`, from libproto's command table and the live server.
 */
#include "complete.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli-commands.h"
#include "options.h"
#include "text.h"
#include "todo/net.h"

int strlist_add(struct strlist *l, const char *s, size_t len)
{
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 16;
        char **v = realloc(l->v, ncap * sizeof(*v));
        if (!v)
            return -1;
        l->v = v;
        l->cap = ncap;
    }
    char *d = malloc(len + 1);
    if (!d)
        return -1;
    memcpy(d, s, len);
    d[len] = '\0';
    l->v[l->n++] = d;
    return 0;
}

void strlist_free(struct strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends prefix + s when it starts with word. */
static int offer(struct strlist *out, const char *word, const char *prefix, const char *s)
{
    char buf[256];
    int n = snprintf(buf, sizeof(buf), "%s%s", prefix, s);
    if (n < 0 || (size_t)n >= sizeof(buf))
        return 0;
    if (strncmp(buf, word, strlen(word)) != 0)
        return 0;
    if (text_is_safe(buf, (size_t)n))
        return strlist_add(out, buf, (size_t)n);
    /* A candidate is printed by the shell scripts and the line editors:
     * shown escaped, never obeyed by the terminal. */
    struct proto_buf b;
    proto_buf_init(&b, 0);
    int rc = text_escape(&b, buf, (size_t)n) == 0 ? strlist_add(out, b.data, b.len) : -1;
    proto_buf_free(&b);
    return rc;
}

static int offer_live(struct strlist *out, const char *word, const char *prefix,
                      int (*fetch)(void *, struct strlist *), void *ctx)
{
    struct strlist live = {0};
    int rc = 0;
    if (fetch && fetch(ctx, &live) == 0)
        for (size_t i = 0; i < live.n && rc == 0; i++)
            rc = offer(out, word, prefix, live.v[i]);
    strlist_free(&live);
    return rc;
}

/* Words that may follow the subcommand c, given the word being typed. */
static int complete_args(const struct client_cmd *c, size_t pos, const char *word,
                         const struct complete_live *live, struct strlist *out)
{
    const struct proto_cmd_info *info = proto_cmd_info(c->cmd);
    int rc = 0;

    if (strcmp(c->name, "help") == 0) {
        if (pos != 1)
            return 0;
        for (size_t i = 0; cli_commands_at(i) && rc == 0; i++)
            if (!(cli_commands_at(i)->flags & CMD_HIDDEN))
                rc = offer(out, word, "", cli_commands_at(i)->name);
        return rc;
    }
    if (!info || c->cmd == PROTO_CMD_NONE)
        return 0;
    if (info->flags & PROTO_CMDF_ID) {
        /* The id comes first; only a command that takes more words (EDIT)
         * has anything to offer after it. */
        if (pos == 1)
            return live ? offer_live(out, word, "", live->ids, live->ctx) : 0;
        if (info->max_args >= 0 && pos > (size_t)info->max_args)
            return 0;
    }
    if ((info->flags & PROTO_CMDF_TAGS) && live && (word[0] == '+' || word[0] == '-')) {
        /* Only EDIT removes tags with -tag. */
        if (word[0] == '+')
            rc = offer_live(out, word, "+", live->tags, live->ctx);
        else if (info->flags & PROTO_CMDF_UNTAGS)
            rc = offer_live(out, word, "-", live->tags, live->ctx);
    }
    /* due: and pri: words, with due:none and pri:none for EDIT. Once the
     * word has its "due:", the date words follow it, and the bare "due:"
     * is no longer worth offering. */
    int in_due = (info->flags & PROTO_CMDF_ATTRS) && strncmp(word, "due:", 4) == 0;
    for (size_t i = 0; info->attrs[i] && rc == 0; i++)
        if (!in_due || strcmp(info->attrs[i], "due:") != 0)
            rc = offer(out, word, "", info->attrs[i]);
    for (const char *const *d = proto_date_words(); in_due && *d && rc == 0; d++)
        rc = offer(out, word, "due:", *d);
    /* LIST's order and date filters, once their prefix is typed: plain
     * "list " offers only the status words, as it always did. */
    if (c->cmd == PROTO_CMD_LIST) {
        static const char *const sorts[] = {"next",     "due",      "pri",  "created",
                                            "updated",  "id",       "-due", "-pri",
                                            "-created", "-updated", "-id",  NULL};
        static const char *const filters[] = {"due:before:", "due:after:"};
        if (strncmp(word, "sort:", 5) == 0)
            for (size_t i = 0; sorts[i] && rc == 0; i++)
                rc = offer(out, word, "sort:", sorts[i]);
        for (size_t f = 0; f < 2 && rc == 0; f++)
            if (strncmp(word, filters[f], strlen(filters[f])) == 0)
                for (const char *const *d = proto_date_words(); *d && rc == 0; d++)
                    rc = offer(out, word, filters[f], *d);
    }
    for (size_t i = 0; info->keywords[i] && rc == 0; i++)
        rc = offer(out, word, "", info->keywords[i]);
    return rc;
}

int complete_words(const char *const *words, size_t n, const struct complete_live *live,
                   unsigned flags, struct strlist *out)
{
    static const char *const shell_words[] = {"exit", "quit", NULL};
    int rc = 0;

    if (n == 0)
        return 0;
    const char *word = words[n - 1];
    if (n == 1) {
        if (word[0] == '-') {
            if (flags & COMPLETE_SHELL)
                return 0;
            for (size_t i = 0; cli_option_names[i] && rc == 0; i++)
                rc = offer(out, word, "", cli_option_names[i]);
        } else {
            for (size_t i = 0; cli_commands_at(i) && rc == 0; i++) {
                const struct client_cmd *c = cli_commands_at(i);
                if (c->flags & CMD_HIDDEN)
                    continue;
                if ((c->flags & CMD_NOT_ONESHOT) && !(flags & COMPLETE_SHELL))
                    continue;
                rc = offer(out, word, "", c->name);
            }
            for (size_t i = 0; (flags & COMPLETE_SHELL) && shell_words[i] && rc == 0; i++)
                rc = offer(out, word, "", shell_words[i]);
        }
    } else {
        const struct client_cmd *c = cli_commands_find(words[0]);
        int after_dashdash = 0;
        for (size_t i = 1; i + 1 < n; i++)
            after_dashdash |= strcmp(words[i], "--") == 0;
        if (c && !(c->flags & CMD_HIDDEN))
            rc = complete_args(c, n - 1, word, live, out);
        /* The shell's own `watch on|off`. */
        static const char *const switches[] = {"off", "on"};
        for (size_t i = 0; (flags & COMPLETE_SHELL) && n == 2 && c &&
                           strcmp(c->name, "watch") == 0 && i < 2 && rc == 0;
             i++)
            rc = offer(out, word, "", switches[i]);
        /* One-shot mode takes long options after the command too, up to "--". */
        if (!(flags & COMPLETE_SHELL) && !after_dashdash && strncmp(word, "--", 2) == 0)
            for (size_t i = 0; cli_option_names[i] && rc == 0; i++)
                rc = offer(out, word, "", cli_option_names[i]);
    }
    if (rc != 0)
        return -1;
    if (out->n == 0)
        return 0;
    qsort(out->v, out->n, sizeof(*out->v), cmp_str);
    /* Drop duplicates: an id or tag may be offered twice. */
    size_t k = 0;
    for (size_t i = 0; i < out->n; i++) {
        if (k > 0 && strcmp(out->v[k - 1], out->v[i]) == 0)
            free(out->v[i]);
        else
            out->v[k++] = out->v[i];
    }
    out->n = k;
    return 0;
}

/* ---- the live source --------------------------------------------------- */

void complete_server_init(struct complete_server *cs, const struct cli_conn_cfg *cfg, int budget_ms)
{
    struct cli_conn_cfg c = *cfg;
    if (c.timeout_ms > budget_ms)
        c.timeout_ms = budget_ms;
    cli_conn_init(&cs->c, &c);
    cs->budget_ms = budget_ms;
    cs->deadline = 0;
    cs->failed = 0;
}

void complete_server_free(struct complete_server *cs)
{
    cli_conn_free(&cs->c);
}

/* Sends one read-only request and hands each data line's first token to out. */
static int fetch_first_tokens(struct complete_server *cs, enum proto_cmd cmd,
                              const struct proto_arg *args, size_t nargs, struct strlist *out)
{
    struct proto_reply r;
    struct proto_str body, line;

    if (cs->failed)
        return -1;
    if (!cs->deadline) {
        cs->deadline = net_now_ms() + cs->budget_ms;
        cs->c.deadline = cs->deadline;
    }
    if (!cli_conn_is_open(&cs->c) && cli_conn_open(&cs->c) != CLI_CONN_OK)
        goto fail;
    if (cli_conn_call(&cs->c, cmd, args, nargs, &r) != CLI_CONN_OK || r.kind != PROTO_REPLY_DATA)
        goto fail;
    body = r.body;
    while (proto_body_next(&body, &line)) {
        /* Ids and tags are never quoted: the first token ends at a blank. */
        size_t k = 0;
        while (k < line.len && line.ptr[k] != ' ' && line.ptr[k] != '\t')
            k++;
        if (k > 0 && line.ptr[0] != '"' && strlist_add(out, line.ptr, k) != 0)
            goto fail;
    }
    return 0;
fail:
    cs->failed = 1;
    cli_conn_close(&cs->c);
    return -1;
}

static int live_ids(void *ctx, struct strlist *out)
{
    struct proto_arg all = {"all", 3, 0};
    return fetch_first_tokens(ctx, PROTO_CMD_LIST, &all, 1, out);
}

static int live_tags(void *ctx, struct strlist *out)
{
    return fetch_first_tokens(ctx, PROTO_CMD_TAGS, NULL, 0, out);
}

struct complete_live complete_server_live(struct complete_server *cs)
{
    return (struct complete_live){live_ids, live_tags, cs};
}

/* Half a second for everything: Tab must never make a shell wait. */
#define COMPLETE_BUDGET_MS 500

int complete_main(const struct cli_conn_cfg *cfg, int n, char **words)
{
    struct complete_server cs;
    struct strlist out = {0};
    int rc = 0;

    if (n < 1) {
        fprintf(stderr, "todo-cli: usage: todo-cli __complete WORD...\n");
        return CLI_EXIT_USAGE;
    }
    complete_server_init(&cs, cfg, COMPLETE_BUDGET_MS);
    struct complete_live live = complete_server_live(&cs);
    if (complete_words((const char *const *)words, (size_t)n, &live, 0, &out) != 0) {
        fprintf(stderr, "todo-cli: out of memory\n");
        rc = 1;
    }
    for (size_t i = 0; rc == 0 && i < out.n; i++)
        if (puts(out.v[i]) == EOF)
            rc = 1;
    strlist_free(&out);
    complete_server_free(&cs);
    return rc;
}
