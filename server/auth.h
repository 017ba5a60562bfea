/*
 * auth.h - the shared password: loading it and checking a candidate in
 * constant time.
 */
#ifndef TODO_SERVER_AUTH_H
#define TODO_SERVER_AUTH_H

#include <stddef.h>

/* Longest password accepted. Comparison always walks this many bytes, so
 * its time says nothing about the password or the guess. */
#define AUTH_MAX 256

struct auth {
    int enabled;
    size_t len;
    unsigned char secret[AUTH_MAX]; /* zero-padded */
};

/* Reads the first line of path (trailing CR/LF stripped) as the password.
 * 0, or -1 with a sentence in err. */
int auth_load_file(struct auth *a, const char *path, char *err, size_t errcap);

/* 1 if the candidate equals the password, 0 if not. Takes the same time
 * for any candidate of any length. */
int auth_check(const struct auth *a, const char *given, size_t len);

#endif /* TODO_SERVER_AUTH_H */
