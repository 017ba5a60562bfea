/*
 * askpass.h - asking for a password on the terminal, without echo.
 */
#ifndef TODO_CLI_ASKPASS_H
#define TODO_CLI_ASKPASS_H

#include <signal.h>

/* Shows prompt and reads a line from the terminal on stdin with the echo
 * off. Returns it (malloc'd; clear it with explicit_bzero before free), or
 * NULL when the user pressed Ctrl-D or cancelled (a read interrupted while
 * *cancel is set, as the shell's Ctrl-C does), or stdin is not a terminal
 * (a sentence has been printed then). */
char *askpass(const char *prompt, const volatile sig_atomic_t *cancel);

#endif
