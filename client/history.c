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
#include <sys/stat.h>

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
