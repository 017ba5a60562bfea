/*
 * auth.c - the shared password.
 */
#include "auth.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"

int auth_load_file(struct auth *a, const char *path, char *err, size_t errcap)
{
    char line[AUTH_MAX + 2];
    struct stat st;
    int rc = -1;

    memset(a, 0, sizeof(*a));
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errcap, "cannot open password file %s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fileno(f), &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
        log_warn("password file %s can be read by other users; chmod 600 it", path);
    if (fgets(line, sizeof(line), f) == NULL) {
        snprintf(err, errcap, "password file %s is empty", path);
        goto out;
    }
    size_t n = strlen(line);
    int whole = n > 0 && line[n - 1] == '\n';
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    if (!whole && !feof(f)) {
        snprintf(err, errcap, "password in %s is longer than %d bytes", path, AUTH_MAX);
        goto out;
    }
    if (n == 0) {
        snprintf(err, errcap, "password file %s starts with an empty line", path);
        goto out;
    }
    if (n > AUTH_MAX) {
        snprintf(err, errcap, "password in %s is longer than %d bytes", path, AUTH_MAX);
        goto out;
    }
    memcpy(a->secret, line, n);
    a->len = n;
    a->enabled = 1;
    rc = 0;
out:
    /* The line buffer held the secret; do not leave it on the stack. */
    memset(line, 0, sizeof(line));
    fclose(f);
    return rc;
}

int auth_check(const struct auth *a, const char *given, size_t len)
{
    /* The difference is accumulated over all AUTH_MAX bytes, whatever the
     * lengths, with no early exit; bytes past the candidate's end compare
     * as zero and the lengths are folded in at the end. volatile keeps the
     * compiler from turning the loop back into an early-exit memcmp. */
    volatile unsigned char diff = 0;
    for (size_t i = 0; i < AUTH_MAX; i++) {
        unsigned char g = i < len ? (unsigned char)given[i] : 0;
        diff |= (unsigned char)(g ^ a->secret[i]);
    }
    size_t ldiff = len ^ a->len;
    return a->enabled && diff == 0 && ldiff == 0;
}
