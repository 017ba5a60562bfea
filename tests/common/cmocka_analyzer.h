/*
 * cmocka_analyzer.h - for the static analyzer only: a failed cmocka
 * assertion ends the test.
 *
 * At run time a failed assertion longjmps out of the test, but cmocka's
 * header does not say so, and the analyzer then follows paths on which an
 * assertion failed and reports what happens after it. Under
 * __clang_analyzer__ alone, assert_true() and assert_int_equal() end the
 * program instead; the compiled tests use cmocka's own. Include it after
 * <cmocka.h>.
 */
#ifndef TODO_TESTS_CMOCKA_ANALYZER_H
#define TODO_TESTS_CMOCKA_ANALYZER_H

#ifdef __clang_analyzer__
#include <stdlib.h>
#undef assert_true
#define assert_true(c) ((c) ? (void)0 : abort())
#undef assert_int_equal
#define assert_int_equal(a, b)                                                                     \
    (cast_to_largest_integral_type(a) == cast_to_largest_integral_type(b) ? (void)0 : abort())
#endif

#endif
