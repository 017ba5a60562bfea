/*
 * hist.c - the log-linear histogram described in hist.h.
 */
#include "hist.h"

#include <string.h>

#define SUB_COUNT (1u << HIST_SUB_BITS)
#define LINEAR_TOP (2u << HIST_SUB_BITS) /* values below this have a bucket each */

static unsigned bucket_of(uint64_t v)
{
    if (v < LINEAR_TOP)
        return (unsigned)v;
    unsigned msb = 63u - (unsigned)__builtin_clzll(v);
    unsigned shift = msb - HIST_SUB_BITS; /* >= 1 here */
    if (shift > HIST_MAX_SHIFT)
        return HIST_BUCKETS - 1;
    unsigned top = (unsigned)(v >> shift); /* in [SUB_COUNT, 2 * SUB_COUNT) */
    return LINEAR_TOP + (shift - 1) * SUB_COUNT + (top - SUB_COUNT);
}

/* The largest value that falls in bucket i. */
static uint64_t bucket_top(unsigned i)
{
    if (i < LINEAR_TOP)
        return i;
    unsigned shift = (i - LINEAR_TOP) / SUB_COUNT + 1;
    uint64_t top = SUB_COUNT + (i - LINEAR_TOP) % SUB_COUNT;
    return ((top + 1) << shift) - 1;
}

void hist_init(struct hist *h)
{
    memset(h, 0, sizeof(*h));
    h->min = UINT64_MAX;
}

void hist_record(struct hist *h, uint64_t v)
{
    h->buckets[bucket_of(v)]++;
    h->count++;
    if (v > h->max)
        h->max = v;
    if (v < h->min)
        h->min = v;
}

void hist_merge(struct hist *dst, const struct hist *src)
{
    for (unsigned i = 0; i < HIST_BUCKETS; i++)
        dst->buckets[i] += src->buckets[i];
    dst->count += src->count;
    if (src->max > dst->max)
        dst->max = src->max;
    if (src->min < dst->min)
        dst->min = src->min;
}

uint64_t hist_quantile(const struct hist *h, double q)
{
    if (h->count == 0)
        return 0;
    if (q >= 1)
        return h->max; /* known exactly, even past the top bucket */
    if (q < 0)
        q = 0;
    /* The rank of the sample we want, counted from 1; ceil without libm. */
    double want = q * (double)h->count;
    uint64_t rank = (uint64_t)want;
    if ((double)rank < want)
        rank++;
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->buckets[i];
        if (seen >= rank) {
            uint64_t v = bucket_top(i);
            return v < h->max ? v : h->max;
        }
    }
    return h->max;
}
