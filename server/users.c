/*
 * users.c - accounts' passwords and names (users.h).
 */
#include "users.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

/* libsodium's own hash string must fit store.h's column and struct. */
_Static_assert(crypto_pwhash_STRBYTES <= STORE_MAX_HASH, "a hash string fits STORE_MAX_HASH");

int users_name_ok(const char *name, size_t len)
{
    /* One rule for both ends: the name AUTH USER PASSWORD carries. */
    return proto_valid_user(name, len);
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

/* The hash an unknown name is checked against, made once, of a random
 * password nobody knows, at users_hash's costs. "" when it could not be
 * made (out of memory): then an unknown name is refused faster. */
static char dummy_hash[STORE_MAX_HASH];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void dummy_make(void)
{
    char pw[32], err[128];
    if (!sodium_ready())
        return;
    randombytes_buf(pw, sizeof(pw));
    if (users_hash(pw, sizeof(pw), dummy_hash, err, sizeof(err)) != 0)
        dummy_hash[0] = '\0';
    sodium_memzero(pw, sizeof(pw));
}

int users_prepare(void)
{
    pthread_once(&dummy_once, dummy_make);
    return dummy_hash[0] != '\0' ? 0 : -1;
}

int users_check(const struct store_user *u, const char *password, size_t len)
{
    if (u != NULL)
        return users_verify(u->hash, password, len);
    pthread_once(&dummy_once, dummy_make);
    (void)users_verify(dummy_hash, password, len);
    return 0;
}

_Static_assert(USERS_TOKEN_KEY == crypto_auth_KEYBYTES, "the token key is crypto_auth's");
_Static_assert(crypto_auth_BYTES * 2 == 64, "a token's MAC is 64 hex digits");

int users_token(const unsigned char key[USERS_TOKEN_KEY], const char *user, size_t len,
                char out[USERS_TOKEN_MAX + 1])
{
    out[0] = '\0';
    if (!users_name_ok(user, len) || !sodium_ready())
        return -1;
    unsigned char mac[crypto_auth_BYTES];
    crypto_auth(mac, (const unsigned char *)user, len, key);
    memcpy(out, user, len);
    out[len] = ':';
    sodium_bin2hex(out + len + 1, USERS_TOKEN_MAX + 1 - len - 1, mac, sizeof(mac));
    return 0;
}

int users_token_check(const unsigned char key[USERS_TOKEN_KEY], const char *tok, size_t n,
                      char name[STORE_MAX_USER + 1])
{
    name[0] = '\0';
    const char *colon = memchr(tok, ':', n);
    if (colon == NULL || !sodium_ready())
        return 0;
    size_t len = (size_t)(colon - tok), hexlen = n - len - 1;
    unsigned char mac[crypto_auth_BYTES];
    size_t got = 0;
    if (!users_name_ok(tok, len) || hexlen != 2 * sizeof(mac) ||
        sodium_hex2bin(mac, sizeof(mac), colon + 1, hexlen, NULL, &got, NULL) != 0 ||
        got != sizeof(mac) || crypto_auth_verify(mac, (const unsigned char *)tok, len, key) != 0)
        return 0;
    memcpy(name, tok, len);
    name[len] = '\0';
    return 1;
}
