/*
 * shell.h - the two ways of running many commands: the interactive shell
 * (stdin is a terminal) and the batch mode (commands read from stdin).
 */
#ifndef TODO_CLI_SHELL_H
#define TODO_CLI_SHELL_H

#include <stdio.h>

#include "cli-commands.h"

/* Runs the interactive shell until quit, exit or Ctrl-D; returns 0. */
int shell_run(struct session *s);

/* Runs one command per line of in. Returns the worst exit status, or with
 * stop_on_error the status of the first command that failed. */
int cli_batch_run(struct session *s, FILE *in, int stop_on_error);

#endif
