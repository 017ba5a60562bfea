/*
 * history.c - the shell history's file name and what it may hold.
 */
#include "history.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* mkdir -p for the directories above path's last component. */
static int make_parents(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int r = mkdir(path, 0700);
        int e = errno;
        *p = '/';
        if (r != 0 && e != EEXIST)
            return -1;
    }
    return 0;
}

static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 1;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s%s", a, b);
    return p;
}

char *history_path(void)
{
    const char *e = getenv("TODO_CLI_HISTFILE");
    char *path = NULL;

    if (e && *e)
        return strdup(e);
    if ((e = getenv("XDG_STATE_HOME")) && e[0] == '/') {
        path = join(e, "/todo-cli/history");
    } else if ((e = getenv("HOME")) && *e) {
        path = join(e, "/.local/state/todo-cli/history");
    } else {
        return NULL;
    }
    if (!path)
        return NULL;
    if (make_parents(path) != 0) {
        free(path);
        return NULL;
    }
    return path;
}

int history_keep(const char *line)
{
    while (isspace((unsigned char)*line))
        line++;
    if (!*line)
        return 0;
    /* "auth secret" holds a password; keep it off the disk and out of reach of Up. */
    if (strncasecmp(line, "auth", 4) == 0 && (line[4] == '\0' || isspace((unsigned char)line[4])))
        return 0;
    return 1;
}

int history_secret_at(const char *line)
{
    const char *p = line;
    while (isspace((unsigned char)*p))
        p++;
    if (strncasecmp(p, "auth", 4) != 0 || !isspace((unsigned char)p[4]))
        return -1;
    p += 4;
    while (isspace((unsigned char)*p))
        p++;
    return *p ? (int)(p - line) : -1;
}

int history_lock(const char *path)
{
    char *lock = join(path, ".lock");
    if (!lock) {
        errno = ENOMEM;
        return -1;
    }
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    int e = errno;
    free(lock);
    if (fd < 0) {
        errno = e;
        return -1;
    }
    while (flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            e = errno;
            close(fd);
            errno = e;
            return -1;
        }
    }
    return fd;
}

void history_unlock(int fd)
{
    /* Closing the descriptor releases the lock. */
    if (fd >= 0)
        close(fd);
}

int history_load(const char *path, int (*add)(void *ctx, const char *line), void *ctx)
{
    FILE *fp = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;

    if (!fp)
        return errno == ENOENT ? 0 : errno;
    while ((n = getline(&line, &cap, fp)) >= 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n > 0 && add(ctx, line) != 0) {
            rc = ENOMEM;
            break;
        }
    }
    if (rc == 0 && ferror(fp))
        rc = errno ? errno : EIO;
    free(line);
    fclose(fp);
    return rc;
}

/* Keeps the last max lines of path, through a new file renamed over it so
 * that a crash leaves the old file or the new one, never half of one. The
 * caller holds the lock. */
static int trim(const char *path, int max)
{
    FILE *in = fopen(path, "r"), *out = NULL;
    char *line = NULL, *tmp = NULL;
    size_t cap = 0;
    long total = 0, skip;
    int rc = 0;

    if (!in)
        return errno;
    while (getline(&line, &cap, in) >= 0)
        total++;
    if (ferror(in)) {
        rc = errno ? errno : EIO;
        goto out;
    }
    if (total <= max)
        goto out;
    if (!(tmp = join(path, ".tmp"))) {
        rc = ENOMEM;
        goto out;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || !(out = fdopen(fd, "w"))) {
        rc = errno;
        if (fd >= 0)
            close(fd);
        goto out;
    }
    rewind(in);
    skip = total - max;
    while (getline(&line, &cap, in) >= 0)
        if (skip-- <= 0 && fputs(line, out) == EOF) {
            rc = errno;
            break;
        }
    if (fclose(out) != 0 && rc == 0)
        rc = errno;
    out = NULL;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = errno;
    if (rc != 0)
        unlink(tmp);
out:
    free(line);
    free(tmp);
    fclose(in);
    return rc;
}

int history_append(const char *path, const char *line, int max)
{
    int lock = history_lock(path);
    if (lock < 0)
        return errno;
    int rc = 0;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = errno;
        goto out;
    }
    /* One write of the whole line, so that it lands in one piece. */
    size_t n = strlen(line);
    char *buf = malloc(n + 1);
    if (!buf) {
        rc = ENOMEM;
    } else {
        memcpy(buf, line, n + 1);
        buf[n] = '\n'; /* in place of the NUL: the bytes written are the line and LF */
        ssize_t w = write(fd, buf, n + 1);
        if (w < 0)
            rc = errno;
        else if ((size_t)w != n + 1)
            rc = EIO;
        free(buf);
    }
    if (fchmod(fd, 0600) != 0 && rc == 0)
        rc = errno;
    if (close(fd) != 0 && rc == 0)
        rc = errno;
    if (rc == 0)
        rc = trim(path, max);
out:
    history_unlock(lock);
    return rc;
}
