/*
 * test_hist.c - todo-bench's latency histogram reports percentiles within
 * its stated precision (under 1 %), never below the true value, and never
 * above the exact maximum.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "hist.h"

/* The histogram is large (tens of KiB): keep it off the stack. */
static struct hist h, g;

/* v is at least want and at most 1 % above it. */
static void assert_close_above(uint64_t v, uint64_t want)
{
    assert_true(v >= want);
    assert_true((double)v <= (double)want * 1.01);
}

static void test_empty(void **state)
{
    (void)state;
    hist_init(&h);
    assert_int_equal(hist_quantile(&h, 0.5), 0);
    assert_int_equal(hist_quantile(&h, 1.0), 0);
    assert_int_equal(h.count, 0);
}

static void test_small_values_are_exact(void **state)
{
    (void)state;
    hist_init(&h);
    for (uint64_t v = 1; v <= 200; v++)
        hist_record(&h, v);
    assert_int_equal(hist_quantile(&h, 0.5), 100);
    assert_int_equal(hist_quantile(&h, 0.99), 198);
    assert_int_equal(hist_quantile(&h, 1.0), 200);
    assert_int_equal(h.min, 1);
}

static void test_uniform_percentiles(void **state)
{
    (void)state;
    hist_init(&h);
    /* 1 us .. 1 s in ns, a million samples in random order. */
    uint64_t *v = malloc(1000000 * sizeof(*v));
    assert_non_null(v);
    for (uint64_t i = 0; i < 1000000; i++)
        v[i] = (i + 1) * 1000;
    uint64_t s = 88172645463325252ull;
    for (uint64_t i = 999999; i > 0; i--) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        uint64_t j = s % (i + 1), t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
    for (uint64_t i = 0; i < 1000000; i++)
        hist_record(&h, v[i]);
    free(v);
    assert_int_equal(h.count, 1000000);
    assert_close_above(hist_quantile(&h, 0.50), 500000000);
    assert_close_above(hist_quantile(&h, 0.99), 990000000);
    assert_close_above(hist_quantile(&h, 0.999), 999000000);
    assert_int_equal(hist_quantile(&h, 1.0), 1000000000);
    assert_int_equal(h.max, 1000000000);
}

static void test_outlier_is_the_max(void **state)
{
    (void)state;
    hist_init(&h);
    for (int i = 0; i < 999; i++)
        hist_record(&h, 50000);
    hist_record(&h, 7777777);
    assert_close_above(hist_quantile(&h, 0.99), 50000);
    assert_int_equal(hist_quantile(&h, 0.9995), 7777777);
    /* Past the top bucket the exact maximum is still reported. */
    hist_record(&h, UINT64_MAX / 2);
    assert_int_equal(hist_quantile(&h, 1.0), UINT64_MAX / 2);
}

static void test_merge(void **state)
{
    (void)state;
    hist_init(&h);
    hist_init(&g);
    for (uint64_t v = 1; v <= 100; v++)
        hist_record(&h, v * 10);
    for (uint64_t v = 101; v <= 200; v++)
        hist_record(&g, v * 10);
    hist_merge(&h, &g);
    assert_int_equal(h.count, 200);
    assert_int_equal(h.max, 2000);
    assert_int_equal(h.min, 10);
    assert_close_above(hist_quantile(&h, 0.5), 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_small_values_are_exact),
        cmocka_unit_test(test_uniform_percentiles),
        cmocka_unit_test(test_outlier_is_the_max),
        cmocka_unit_test(test_merge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
