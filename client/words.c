/*
 * words.c - shell-like splitting of a command line into words.
 */
#include "words.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void set_err(char *err, size_t errcap, const char *msg)
{
    if (err && errcap > 0)
        snprintf(err, errcap, "%s", msg);
}

int words_split(const char *line, size_t len, int partial, struct words *w, char *err,
                size_t errcap)
{
    /* Unescaping only shrinks, and each word adds one NUL, so len bytes
     * plus one per word (at most len / 2 + 2 words, plus the empty last one)
     * always fit. */
    size_t maxwords = len / 2 + 3;
    char *store = malloc(len + maxwords + 1);
    char **v = malloc((maxwords + 1) * sizeof(*v));
    unsigned char *quoted = calloc(maxwords + 1, 1);
    size_t n = 0, o = 0, i = 0;
    int open_word = 0; /* the last word runs to the end of the line */
    int ret = -1;

    if (!store || !v || !quoted) {
        set_err(err, errcap, "out of memory");
        goto out;
    }
    for (;;) {
        while (i < len && is_blank(line[i]))
            i++;
        if (i >= len)
            break;
        v[n++] = store + o;
        while (i < len && !is_blank(line[i])) {
            char c = line[i++];
            /* Any quoting makes the word text: "+urgent" is no tag. */
            if (c == '\\' || c == '\'' || c == '"')
                quoted[n - 1] = 1;
            if (c == '\\') {
                if (i < len)
                    store[o++] = line[i++];
            } else if (c == '\'') {
                while (i < len && line[i] != '\'')
                    store[o++] = line[i++];
                if (i >= len && !partial) {
                    set_err(err, errcap, "unterminated single quote");
                    goto out;
                }
                if (i < len)
                    i++;
            } else if (c == '"') {
                while (i < len && line[i] != '"') {
                    c = line[i++];
                    if (c == '\\' && i < len) {
                        char e = line[i];
                        if (e == '"' || e == '\\') {
                            c = e;
                            i++;
                        } else if (e == 'n') {
                            c = '\n';
                            i++;
                        } else if (e == 't') {
                            c = '\t';
                            i++;
                        }
                    }
                    store[o++] = c;
                }
                if (i >= len && !partial) {
                    set_err(err, errcap, "unterminated double quote");
                    goto out;
                }
                if (i < len)
                    i++;
            } else {
                store[o++] = c;
            }
        }
        store[o++] = '\0';
        open_word = i >= len;
    }
    /* The word being typed is empty when the line does not end inside one. */
    if (partial && !open_word) {
        v[n++] = store + o;
        store[o++] = '\0';
    }
    v[n] = NULL;
    w->v = v;
    w->n = n;
    w->store = store;
    w->quoted = quoted;
    v = NULL;
    store = NULL;
    quoted = NULL;
    ret = 0;
out:
    free(v);
    free(store);
    free(quoted);
    return ret;
}

void words_free(struct words *w)
{
    free(w->v);
    free(w->store);
    free(w->quoted);
    w->v = NULL;
    w->store = NULL;
    w->quoted = NULL;
    w->n = 0;
}
