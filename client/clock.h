/*
 * clock.h - the client's idea of now and today, in the user's local zone.
 *
 * Due date words (due:tomorrow) are resolved against today before they are
 * sent, and the table's relative dates ("in 3 days") count from it. For
 * tests, TODO_CLI_NOW=YYYY-MM-DDTHH:MM:SSZ (UTC) stands for the clock; TZ
 * chooses the zone as usual.
 */
#ifndef TODO_CLI_CLOCK_H
#define TODO_CLI_CLOCK_H

#include <time.h>

#include "todo/proto.h"

/* Now, from TODO_CLI_NOW when it is set and well formed, else time().
 * 0, or -1 when neither gives a time. */
int cli_clock_now(time_t *now);

/* Today's local date as YYYY-MM-DD; 0, or -1 (out "") when unknown. */
int cli_clock_today(char out[PROTO_DATE_LEN + 1]);

#endif /* TODO_CLI_CLOCK_H */
