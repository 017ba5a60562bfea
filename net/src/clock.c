/*
 * clock.c - the monotonic clock, in the units the programs count in.
 */
#include "todo/net.h"

#include <time.h>

int64_t net_now_ns(void)
{
    struct timespec ts;
    /* CLOCK_MONOTONIC cannot fail on Linux with a valid pointer, and it is
     * all these helpers use, so the result is not checked. */
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Each works from the timespec itself rather than from net_now_ns(): the
 * server reads the clock once per pass of its loop, and a call less is
 * measurable there (bench/instructions). */
int64_t net_now_us(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t net_now_ms(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
