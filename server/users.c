/*
 * users.c - accounts' passwords and names (users.h).
 */
#include "users.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

/* libsodium's own hash string must fit store.h's column and struct. */
_Static_assert(crypto_pwhash_STRBYTES <= STORE_MAX_HASH, "a hash string fits STORE_MAX_HASH");

int users_name_ok(const char *name, size_t len)
{
    if (len == 0 || len > STORE_MAX_USER)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
            return 0;
    }
    return 1;
}

/* sodium_init() is safe to call from any thread, any number of times: it
 * does its work once. */
static int sodium_ready(void)
{
    return sodium_init() >= 0;
}

int users_hash(const char *password, size_t len, char out[STORE_MAX_HASH], char *err, size_t errcap)
{
    memset(out, 0, STORE_MAX_HASH);
    if (len == 0 || len > USERS_PASSWORD_MAX) {
        snprintf(err, errcap, "a password has 1 to %d bytes", USERS_PASSWORD_MAX);
        return -1;
    }
    if (!sodium_ready()) {
        snprintf(err, errcap, "libsodium cannot start");
        return -1;
    }
    /* Argon2id at libsodium's interactive costs: the ones it recommends for
     * a login answered while the user waits. */
    if (crypto_pwhash_str(out, password, len, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
        snprintf(err, errcap, "cannot hash the password: out of memory");
        return -1;
    }
    return 0;
}

int users_verify(const char *hash, const char *password, size_t len)
{
    if (len > USERS_PASSWORD_MAX || !sodium_ready())
        return 0;
    /* The hash must be a whole string of ours: crypto_pwhash_str_verify
     * reads up to its NUL. */
    if (memchr(hash, '\0', STORE_MAX_HASH) == NULL)
        return 0;
    return crypto_pwhash_str_verify(hash, password, len) == 0;
}
