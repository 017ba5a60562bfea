/*
 * cli-watch.h - `todo-cli watch`: each change to the tasks, printed as it
 * happens, until interrupted; and the pieces the shell shares with it.
 */
#ifndef TODO_CLI_CLI_WATCH_H
#define TODO_CLI_CLI_WATCH_H

#include <stdint.h>

#include "cli-commands.h"

/* Back-off between reconnects: from the first to the last, doubling. */
#define CLI_WATCH_RETRY_FIRST_MS 100
#define CLI_WATCH_RETRY_MAX_MS 2000

/* The watch command (the one command table's entry). */
int cli_watch_run(struct session *s, const struct client_cmd *c, int argc, char **argv);

/* The protocol version a HELLO reply's text names ("todo 4 todo-server/..."),
 * or -1 when the text is not such a greeting. */
int cli_watch_hello_version(const char *text, size_t len);

/* The SEQ of WATCH's "OK SEQ" reply text; 0, or -1 when it is not one. */
int cli_watch_parse_seq(const char *text, size_t len, uint64_t *seq);

/* Sends HELLO and then WATCH with words (and since:SEQ when since is set)
 * on s->conn, which must be open. 0 when watching (*seq: the OK's SEQ);
 * CLI_WATCH_EXPIRED when the server no longer keeps the changes after
 * since; CLI_WATCH_LOST when the connection failed (s->conn.err says how,
 * the connection is closed; CLI_CONN_E_INTR in *st when the user
 * interrupted); otherwise an exit status after a message (a server older
 * than protocol version 4, an ERR). */
#define CLI_WATCH_EXPIRED (-2)
#define CLI_WATCH_LOST (-1)
int cli_watch_start(struct session *s, const char *const *words, size_t nwords, int since_set,
                    uint64_t since, uint64_t *seq, enum cli_conn_status *st);

#endif
