/*
 * hist.h - a log-linear latency histogram, in the spirit of HdrHistogram.
 *
 * Values (nanoseconds here) are counted in buckets whose width grows with
 * the value: below 2^(HIST_SUB_BITS+1) every value has its own bucket, above
 * it each power of two is split into 2^HIST_SUB_BITS equal buckets. A
 * recorded value is therefore known to within 1/2^HIST_SUB_BITS (under 1%),
 * recording is a few instructions with no allocation, and a percentile needs
 * one pass over a fixed number of buckets however many samples were taken.
 */
#ifndef TODO_BENCH_HIST_H
#define TODO_BENCH_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 7
#define HIST_MAX_SHIFT 40 /* values up to 2^(HIST_SUB_BITS+HIST_MAX_SHIFT+1): hours of ns */
#define HIST_BUCKETS ((2u << HIST_SUB_BITS) + HIST_MAX_SHIFT * (1u << HIST_SUB_BITS))

struct hist {
    uint64_t count;
    uint64_t max;
    uint64_t min;
    uint64_t buckets[HIST_BUCKETS];
};

void hist_init(struct hist *h);
/* Counts one value; values past the top bucket are counted in it. */
void hist_record(struct hist *h, uint64_t v);
/* Adds every count of src into dst. */
void hist_merge(struct hist *dst, const struct hist *src);
/* The smallest value v such that at least q (0..1) of the samples are <= v,
 * reported as the top of v's bucket (so it never understates), and never more
 * than the exact maximum. 0 for an empty histogram. */
uint64_t hist_quantile(const struct hist *h, double q);

#endif /* TODO_BENCH_HIST_H */
