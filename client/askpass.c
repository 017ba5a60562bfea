/*
 * askpass.c - asking for a password on the terminal, without echo.
 */
#include "askpass.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

char *askpass(const char *prompt, const volatile sig_atomic_t *cancel)
{
    struct termios saved, quiet;
    char buf[1024];
    size_t n = 0;
    int ok = 0;

    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved) != 0) {
        fprintf(stderr, "todo-cli: a password can only be asked for on a terminal\n");
        return NULL;
    }
    quiet = saved;
    /* No echo, but lines and Ctrl-C as usual: our SIGINT handler makes
     * read() fail with EINTR, which cancels. */
    quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
    quiet.c_lflag |= ICANON | ISIG;
    /* The echo goes off before the prompt shows, so nothing typed after
     * the prompt is ever echoed; what was typed before it is dropped. */
    if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) != 0) {
        fprintf(stderr, "todo-cli: cannot turn the echo off: %s\n", strerror(errno));
        return NULL;
    }
    if (fputs(prompt, stdout) == EOF || fflush(stdout) != 0) {
        if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved) != 0)
            fprintf(stderr, "todo-cli: cannot restore the terminal: %s\n", strerror(errno));
        return NULL;
    }
    for (;;) {
        char c;
        ssize_t r = read(STDIN_FILENO, &c, 1);
        if (r < 0 && errno == EINTR && !(cancel && *cancel))
            continue;
        if (r <= 0)
            break; /* Ctrl-C, Ctrl-D or an error: no password */
        if (c == '\n' || c == '\r') {
            ok = 1;
            break;
        }
        if (n + 1 < sizeof(buf))
            buf[n++] = c;
    }
    buf[n] = '\0';
    if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved) != 0)
        fprintf(stderr, "todo-cli: cannot restore the terminal: %s\n", strerror(errno));
    /* The Enter was not echoed: end the prompt's line. */
    putchar('\n');
    char *pw = ok ? strdup(buf) : NULL;
    explicit_bzero(buf, sizeof(buf));
    return pw;
}
