/*
 * proto_test.h - small helpers shared by the libproto unit tests.
 *
 * cmocka wants <stdarg.h>, <stddef.h>, <stdint.h> and <setjmp.h> before
 * <cmocka.h>; every test includes this header first so that order holds.
 */
#ifndef TODO_PROTO_TEST_H
#define TODO_PROTO_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../common/cmocka_analyzer.h"

#include "todo/proto.h"

/* Compares a counted string with an expected byte string of known length.
 * The length is checked first so a mismatch prints something readable. */
#define assert_bytes(got_ptr, got_len, want_ptr, want_len)                                         \
    do {                                                                                           \
        assert_int_equal((got_len), (want_len));                                                   \
        if ((want_len) > 0)                                                                        \
            assert_memory_equal((got_ptr), (want_ptr), (want_len));                                \
    } while (0)

/* A proto_str against a C string literal or NUL-terminated string. */
#define assert_pstr(s, want) assert_bytes((s).ptr, (s).len, (want), strlen(want))

/* A proto_buf's contents against a C string. */
#define assert_buf(b, want) assert_bytes((b)->data, (b)->len, (want), strlen(want))

#endif /* TODO_PROTO_TEST_H */
