/*
 * clock.c - now and today for the client (see clock.h).
 */
#include "clock.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int cli_clock_now(time_t *now)
{
    const char *fixed = getenv("TODO_CLI_NOW");
    int64_t t;
    /* A malformed value is ignored rather than refused: it is for tests,
     * and a user who sets it by mistake still gets the real clock. */
    if (fixed && proto_time_parse(fixed, strlen(fixed), &t) == 0) {
        *now = (time_t)t;
        return 0;
    }
    *now = time(NULL);
    return *now == (time_t)-1 ? -1 : 0;
}

int cli_clock_today(char out[PROTO_DATE_LEN + 1])
{
    time_t now;
    struct tm tm;
    out[0] = '\0';
    if (cli_clock_now(&now) != 0 || localtime_r(&now, &tm) == NULL ||
        strftime(out, PROTO_DATE_LEN + 1, "%Y-%m-%d", &tm) != PROTO_DATE_LEN) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}
