/*
 * lineread.c - our own small line reader for builds without GNU readline:
 * a prompt, editing keys, Tab completion and an in-memory history. On a
 * terminal it switches to raw mode while a line is read; on anything else it
 * simply reads a line.
 */
#include "lineread.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "history.h"
#include "lineedit.h"
#include "words.h"

#define KEY_CTRL(c) ((c)&0x1f)

void lr_init(struct lr *e)
{
    memset(e, 0, sizeof(*e));
}

void lr_free(struct lr *e)
{
    for (size_t i = 0; i < e->nhist; i++)
        free(e->hist[i]);
    free(e->hist);
    e->hist = NULL;
    e->nhist = e->hidx = 0;
}

void lr_reset(struct lr *e)
{
    e->len = e->pos = 0;
    e->buf[0] = '\0';
    e->hidx = e->nhist;
    e->esc = 0;
}

int lr_history_add(struct lr *e, const char *line)
{
    if (e->nhist > 0 && strcmp(e->hist[e->nhist - 1], line) == 0) {
        e->hidx = e->nhist;
        return 0;
    }
    char *copy = strdup(line);
    if (!copy)
        return -1;
    if (e->nhist == HISTORY_MAX) {
        free(e->hist[0]);
        memmove(e->hist, e->hist + 1, (e->nhist - 1) * sizeof(*e->hist));
        e->nhist--;
    } else {
        char **h = realloc(e->hist, (e->nhist + 1) * sizeof(*h));
        if (!h) {
            free(copy);
            return -1;
        }
        e->hist = h;
    }
    e->hist[e->nhist++] = copy;
    e->hidx = e->nhist;
    return 0;
}

static int is_cont(char c)
{
    return ((unsigned char)c & 0xc0) == 0x80;
}

/* Moves over whole UTF-8 characters, not bytes. */
static size_t prev_char(const struct lr *e, size_t pos)
{
    while (pos > 0 && is_cont(e->buf[--pos]))
        ;
    return pos;
}

static size_t next_char(const struct lr *e, size_t pos)
{
    if (pos < e->len)
        pos++;
    while (pos < e->len && is_cont(e->buf[pos]))
        pos++;
    return pos;
}

static void delete_range(struct lr *e, size_t from, size_t to)
{
    memmove(e->buf + from, e->buf + to, e->len - to + 1);
    e->len -= to - from;
    if (e->pos > to)
        e->pos -= to - from;
    else if (e->pos > from)
        e->pos = from;
}

static int insert(struct lr *e, const char *s, size_t n)
{
    if (e->len + n > LR_MAX_LINE)
        return -1;
    memmove(e->buf + e->pos + n, e->buf + e->pos, e->len - e->pos + 1);
    memcpy(e->buf + e->pos, s, n);
    e->len += n;
    e->pos += n;
    return 0;
}

static void load(struct lr *e, const char *s)
{
    snprintf(e->buf, sizeof(e->buf), "%s", s);
    e->len = e->pos = strlen(e->buf);
}

static enum lr_action history_move(struct lr *e, int up)
{
    if (up ? e->hidx == 0 : e->hidx >= e->nhist)
        return LR_BELL;
    if (e->hidx == e->nhist)
        memcpy(e->saved, e->buf, e->len + 1);
    e->hidx = up ? e->hidx - 1 : e->hidx + 1;
    load(e, e->hidx == e->nhist ? e->saved : e->hist[e->hidx]);
    return LR_REDRAW;
}

/* The final byte of an escape sequence: arrows, Home, End, Delete. */
static enum lr_action escape_key(struct lr *e, unsigned char c)
{
    switch (c) {
    case 'A':
        return history_move(e, 1);
    case 'B':
        return history_move(e, 0);
    case 'C':
        e->pos = next_char(e, e->pos);
        return LR_REDRAW;
    case 'D':
        e->pos = prev_char(e, e->pos);
        return LR_REDRAW;
    case 'H':
        e->pos = 0;
        return LR_REDRAW;
    case 'F':
        e->pos = e->len;
        return LR_REDRAW;
    case '3': /* ESC [ 3 ~ */
        if (e->pos < e->len)
            delete_range(e, e->pos, next_char(e, e->pos));
        return LR_REDRAW;
    default:
        return LR_NONE;
    }
}

enum lr_action lr_feed(struct lr *e, unsigned char c)
{
    /* esc: 1 after ESC, 2 after ESC [ or ESC O, 3 inside ESC [ digits. */
    if (e->esc == 1) {
        e->esc = (c == '[' || c == 'O') ? 2 : 0;
        return LR_NONE;
    }
    if (e->esc == 2) {
        if (c >= '0' && c <= '9') {
            e->esc = c == '3' ? 3 : 4;
            return LR_NONE;
        }
        e->esc = 0;
        return escape_key(e, c);
    }
    if (e->esc >= 3) {
        if (c >= 0x40 && c <= 0x7e) {
            int del = e->esc == 3 && c == '~';
            e->esc = 0;
            return del ? escape_key(e, '3') : LR_NONE;
        }
        return LR_NONE;
    }
    switch (c) {
    case '\r':
    case '\n':
        return LR_ENTER;
    case 0x1b:
        e->esc = 1;
        return LR_NONE;
    case KEY_CTRL('C'):
        lr_reset(e);
        return LR_CANCEL;
    case KEY_CTRL('D'):
        if (e->len == 0)
            return LR_EOF;
        if (e->pos < e->len)
            delete_range(e, e->pos, next_char(e, e->pos));
        return LR_REDRAW;
    case 0x7f:
    case KEY_CTRL('H'):
        if (e->pos == 0)
            return LR_BELL;
        delete_range(e, prev_char(e, e->pos), e->pos);
        return LR_REDRAW;
    case '\t':
        return LR_COMPLETE;
    case KEY_CTRL('A'):
        e->pos = 0;
        return LR_REDRAW;
    case KEY_CTRL('E'):
        e->pos = e->len;
        return LR_REDRAW;
    case KEY_CTRL('B'):
        e->pos = prev_char(e, e->pos);
        return LR_REDRAW;
    case KEY_CTRL('F'):
        e->pos = next_char(e, e->pos);
        return LR_REDRAW;
    case KEY_CTRL('K'):
        delete_range(e, e->pos, e->len);
        return LR_REDRAW;
    case KEY_CTRL('U'):
        delete_range(e, 0, e->pos);
        return LR_REDRAW;
    case KEY_CTRL('W'): {
        size_t p = e->pos;
        while (p > 0 && e->buf[p - 1] == ' ')
            p--;
        while (p > 0 && e->buf[p - 1] != ' ')
            p--;
        delete_range(e, p, e->pos);
        return LR_REDRAW;
    }
    case KEY_CTRL('P'):
        return history_move(e, 1);
    case KEY_CTRL('N'):
        return history_move(e, 0);
    case KEY_CTRL('L'):
        return LR_REDRAW;
    default:
        if (c < 0x20)
            return LR_BELL;
        return insert(e, (const char *)&c, 1) == 0 ? LR_REDRAW : LR_BELL;
    }
}

size_t lr_word_start(const struct lr *e)
{
    size_t p = e->pos;
    while (p > 0 && e->buf[p - 1] != ' ' && e->buf[p - 1] != '\t')
        p--;
    return p;
}

int lr_complete_apply(struct lr *e, const struct strlist *cands)
{
    size_t start = lr_word_start(e), have = e->pos - start;
    if (cands->n == 0)
        return 0;
    /* The longest prefix the candidates share. */
    size_t common = strlen(cands->v[0]);
    for (size_t i = 1; i < cands->n; i++) {
        size_t k = 0;
        while (k < common && cands->v[i][k] == cands->v[0][k])
            k++;
        common = k;
    }
    if (common < have)
        return 0;
    int changed = common > have;
    if (changed && insert(e, cands->v[0] + have, common - have) != 0)
        return 0;
    /* A whole word gets a blank after it, except "due:", which wants its date. */
    size_t clen = strlen(cands->v[0]);
    int open_ended = clen > 0 && cands->v[0][clen - 1] == ':';
    if (cands->n == 1 && !open_ended && (e->pos == e->len || e->buf[e->pos] != ' ')) {
        if (insert(e, " ", 1) != 0)
            return changed;
        changed = 1;
    }
    return changed;
}

/* ---- the terminal driver -------------------------------------------- */

volatile sig_atomic_t le_sigint;
const int le_persistent_history = 1;

static struct le_config cfg;
static struct lr ed;
static char *histfile;
/* The prompt while le_read() edits a line on the terminal, else NULL:
 * le_show() then draws the line again below what it shows. */
static const char *shown_prompt;
static int watch_fd = -1;
static void (*watch_ready)(void *ctx);
static void *watch_ctx;

void le_set_watch(int fd, void (*ready)(void *ctx), void *ctx)
{
    watch_fd = ready ? fd : -1;
    watch_ready = ready;
    watch_ctx = ctx;
}

static int load_one(void *ctx, const char *line)
{
    return lr_history_add(ctx, line);
}

int le_init(const struct le_config *c)
{
    cfg = *c;
    lr_init(&ed);
    if (cfg.histfile && (histfile = strdup(cfg.histfile))) {
        int rc = history_load(histfile, load_one, &ed);
        if (rc != 0)
            fprintf(stderr, "todo-cli: cannot read the history %s: %s\n", histfile, strerror(rc));
    }
    return 0;
}

void le_end(void)
{
    lr_free(&ed);
    free(histfile);
    histfile = NULL;
}

void le_history_add(const char *line)
{
    if (!history_keep(line))
        return;
    size_t before = ed.nhist;
    const char *last = before > 0 ? ed.hist[before - 1] : NULL;
    int repeat = last && strcmp(last, line) == 0;
    if (lr_history_add(&ed, line) != 0) {
        fprintf(stderr, "todo-cli: out of memory for the history\n");
        return;
    }
    if (!histfile || repeat)
        return;
    /* Appended at once and only this line, so that two shells open at
     * once both keep their lines (history.c). */
    int rc = history_append(histfile, line, HISTORY_MAX);
    if (rc != 0) {
        fprintf(stderr, "todo-cli: cannot write the history %s: %s; it is kept in memory only\n",
                histfile, strerror(rc));
        free(histfile);
        histfile = NULL;
    }
}

static int put(const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDOUT_FILENO, s, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

static int puts_out(const char *s)
{
    return put(s, strlen(s));
}

/* Draws prompt and line on one row, the cursor where it belongs. */
static void redraw(const char *prompt)
{
    char tail[32];
    size_t chars = 0;
    for (size_t i = ed.pos; i < ed.len; i++)
        chars += !is_cont(ed.buf[i]);
    puts_out("\r");
    puts_out(prompt);
    put(ed.buf, ed.len);
    puts_out("\033[K");
    if (chars > 0) {
        snprintf(tail, sizeof(tail), "\033[%zuD", chars);
        puts_out(tail);
    }
}

void le_show(const char *line, size_t n)
{
    if (!shown_prompt) {
        fwrite(line, 1, n, stdout);
        putchar('\n');
        fflush(stdout);
        return;
    }
    /* The line is drawn on one row: clear it, put the text there, and draw
     * the prompt and the half-typed line again below, cursor and all. */
    puts_out("\r\033[K");
    put(line, n);
    puts_out("\r\n");
    redraw(shown_prompt);
}

/* Waits for a key, handing the watch descriptor's readiness to its
 * callback meanwhile. 1 when a key can be read, 0 at end of input, -1 on
 * an error. */
static int wait_key(void)
{
    for (;;) {
        struct pollfd p[2] = {{.fd = STDIN_FILENO, .events = POLLIN},
                              {.fd = watch_fd, .events = POLLIN}};
        int r = poll(p, watch_fd >= 0 ? 2 : 1, -1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        /* Keys first: what the user types is never held up by events. */
        if (p[0].revents)
            return 1;
        if (watch_fd >= 0 && p[1].revents && watch_ready)
            watch_ready(watch_ctx);
    }
}

static void complete(const char *prompt)
{
    struct words w;
    struct strlist cands = {0};

    if (!cfg.complete || words_split(ed.buf, ed.pos, 1, &w, NULL, 0) != 0)
        return;
    if (cfg.complete(cfg.ctx, (const char *const *)w.v, w.n, &cands) == 0 &&
        !lr_complete_apply(&ed, &cands)) {
        if (cands.n > 1) {
            /* Nothing more can be typed for the user: show the choices. */
            puts_out("\r\n");
            for (size_t i = 0; i < cands.n; i++) {
                puts_out(cands.v[i]);
                puts_out(i + 1 < cands.n ? "  " : "\r\n");
            }
        } else {
            puts_out("\a");
        }
    }
    strlist_free(&cands);
    words_free(&w);
    redraw(prompt);
}

/* Without a terminal: print the prompt and read up to a newline. */
static char *read_plain(const char *prompt)
{
    char buf[LR_MAX_LINE + 1];
    size_t n = 0;
    if (puts_out(prompt) != 0)
        return NULL;
    for (;;) {
        char c;
        ssize_t r = read(STDIN_FILENO, &c, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (n == 0)
                return NULL;
            break;
        }
        if (c == '\n')
            break;
        if (n < LR_MAX_LINE)
            buf[n++] = c;
    }
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    return strdup(buf);
}

char *le_read(const char *prompt)
{
    struct termios saved, raw;
    char *line = NULL;

    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved) != 0)
        return read_plain(prompt);
    raw = saved;
    /* Keys come one at a time and unechoed; Ctrl-C arrives as a byte. */
    raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO | ISIG | IEXTEN);
    raw.c_iflag &= ~(tcflag_t)(IXON | ICRNL | INLCR);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    if (tcsetattr(STDIN_FILENO, TCSADRAIN, &raw) != 0)
        return read_plain(prompt);
    lr_reset(&ed);
    redraw(prompt);
    shown_prompt = prompt;
    for (;;) {
        unsigned char c;
        if (wait_key() < 0)
            break;
        ssize_t r = read(STDIN_FILENO, &c, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        enum lr_action a = lr_feed(&ed, c);
        if (a == LR_ENTER) {
            line = strdup(ed.buf);
            /* A password typed on the line ("auth secret") is masked on
             * the screen before the line is left. */
            int at = history_secret_at(ed.buf);
            if (at >= 0) {
                snprintf(ed.buf + at, sizeof(ed.buf) - (size_t)at, "********");
                ed.len = ed.pos = strlen(ed.buf);
                redraw(prompt);
                explicit_bzero(ed.buf, sizeof(ed.buf));
                lr_reset(&ed);
            }
            puts_out("\r\n");
            if (!line)
                fprintf(stderr, "todo-cli: out of memory\n");
            break;
        }
        if (a == LR_EOF) {
            puts_out("\r\n");
            break;
        }
        if (a == LR_CANCEL) {
            puts_out("^C\r\n");
            redraw(prompt);
        } else if (a == LR_REDRAW) {
            redraw(prompt);
        } else if (a == LR_BELL) {
            puts_out("\a");
        } else if (a == LR_COMPLETE) {
            complete(prompt);
        }
    }
    shown_prompt = NULL;
    if (tcsetattr(STDIN_FILENO, TCSADRAIN, &saved) != 0)
        fprintf(stderr, "todo-cli: cannot restore the terminal: %s\n", strerror(errno));
    return line;
}
