/*
 * user-cmd.h - "todo-server user ...": adding, removing and listing the
 * people who may log in, on the database the server would use (--db).
 */
#ifndef TODO_SERVER_USER_CMD_H
#define TODO_SERVER_USER_CMD_H

/* Runs "todo-server user" with argv[0] = "user". Returns the exit
 * status: 0 done, 1 refused or failed (a sentence on stderr), 2 a bad
 * command line. */
int user_cmd_main(int argc, char **argv);

#include <stddef.h>

/* 1 if the database at db has users, 0 if not (a SQLite file that does
 * not exist has none, and is not made), -1 with a sentence in err when it
 * cannot be read. */
int user_cmd_db_has_users(const char *db, char *err, size_t errcap);

#endif /* TODO_SERVER_USER_CMD_H */
