/*
 * test_users.c - accounts' passwords and names (server/users.h): a hash
 * is never the password, differs for equal passwords, and checks only the
 * password it was made of; names are one safe word.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "users.h"

static void hash_then_verify(void **state)
{
    (void)state;
    char a[STORE_MAX_HASH], b[STORE_MAX_HASH], err[128];
    const char pw[] = "correct horse battery staple";
    assert_int_equal(users_hash(pw, strlen(pw), a, err, sizeof(err)), 0);
    assert_int_equal(users_hash(pw, strlen(pw), b, err, sizeof(err)), 0);
    /* Salted: the same password twice gives two hashes; neither holds the
     * password, and each names Argon2id. */
    assert_string_not_equal(a, b);
    assert_null(strstr(a, pw));
    assert_null(strstr(a, "horse"));
    assert_int_equal(strncmp(a, "$argon2id$", 10), 0);
    assert_true(strlen(a) < STORE_MAX_HASH);

    assert_int_equal(users_verify(a, pw, strlen(pw)), 1);
    assert_int_equal(users_verify(b, pw, strlen(pw)), 1);
    /* Anything else is refused: one byte off, a prefix, the password and
     * more, another case, nothing. */
    assert_int_equal(users_verify(a, "correct horse battery stapLe", strlen(pw)), 0);
    assert_int_equal(users_verify(a, pw, strlen(pw) - 1), 0);
    assert_int_equal(users_verify(a, "correct horse battery staple!", strlen(pw) + 1), 0);
    assert_int_equal(users_verify(a, "CORRECT HORSE BATTERY STAPLE", strlen(pw)), 0);
    assert_int_equal(users_verify(a, "", 0), 0);
}

/* A hash that users_hash could not have made matches nothing, not even
 * the empty password; nor does a string without its NUL. */
static void verify_refuses_bad_hashes(void **state)
{
    (void)state;
    assert_int_equal(users_verify("", "", 0), 0);
    assert_int_equal(users_verify("secret", "secret", 6), 0);
    assert_int_equal(users_verify("$argon2id$v=19$m=65536,t=2,p=1$", "x", 1), 0);
    char full[STORE_MAX_HASH];
    memset(full, 'a', sizeof(full));
    assert_int_equal(users_verify(full, "a", 1), 0);
}

/* A password has 1 to USERS_PASSWORD_MAX bytes; a longer one is refused
 * with a sentence, and none is hashed. */
static void hash_refuses_bad_lengths(void **state)
{
    (void)state;
    char out[STORE_MAX_HASH], err[128] = "";
    static char big[USERS_PASSWORD_MAX + 1];
    memset(big, 'p', sizeof(big));
    assert_int_equal(users_hash("", 0, out, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "1 to"));
    assert_string_equal(out, "");
    assert_int_equal(users_hash(big, sizeof(big), out, err, sizeof(err)), -1);
    assert_string_equal(out, "");
    assert_int_equal(users_hash(big, USERS_PASSWORD_MAX, out, err, sizeof(err)), 0);
    assert_int_equal(users_verify(out, big, USERS_PASSWORD_MAX), 1);
    assert_int_equal(users_verify(out, big, sizeof(big)), 0);
}

static void names(void **state)
{
    (void)state;
    static const char *const good[] = {"alice", "Bob", "x", "0", "al.ice", "a-b_c.d", "42"};
    static const char *const bad[] = {"",   "-alice", ".x",  "_x",   "a b",  "a:b", "a/b",
                                      "é",  "a\tb",   "a,b", "a\nb", "ali*", "a@b", "a+b",
                                      "~x", "a'b",    "a\"", "a\\b", "$(id)"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(users_name_ok(good[i], strlen(good[i])));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(users_name_ok(bad[i], strlen(bad[i])));
    char longest[STORE_MAX_USER + 1];
    memset(longest, 'n', sizeof(longest));
    assert_true(users_name_ok(longest, STORE_MAX_USER));
    assert_false(users_name_ok(longest, STORE_MAX_USER + 1));
    /* A NUL inside the given length is no part of a name. */
    assert_false(users_name_ok("ab\0c", 4));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hash_then_verify),
        cmocka_unit_test(verify_refuses_bad_hashes),
        cmocka_unit_test(hash_refuses_bad_lengths),
        cmocka_unit_test(names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
