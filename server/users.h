/*
 * users.h - what an account's password and name must be: the password
 * kept only as a salted, slow hash (libsodium's crypto_pwhash_str,
 * Argon2id), and names of a few safe characters. The users themselves are
 * kept by the store (store.h's store_user_*).
 */
#ifndef TODO_SERVER_USERS_H
#define TODO_SERVER_USERS_H

#include <stddef.h>

#include "auth.h"
#include "store.h"

/* Longest password accepted, as for --password-file. */
#define USERS_PASSWORD_MAX AUTH_MAX

/* 1 if name (len bytes) may name a user: libproto's proto_valid_user, 1
 * to STORE_MAX_USER bytes of ASCII letters, digits, '.', '_' and '-',
 * beginning with a letter or a digit, so that a name is one word of the
 * protocol and of a shell, and never looks like an option. */
int users_name_ok(const char *name, size_t len);

/* Hashes the password (len bytes, 1 to USERS_PASSWORD_MAX) into out, a
 * NUL-terminated string that holds the algorithm, its costs and a random
 * salt: two hashes of one password differ. It takes about a tenth of a
 * second and 64 MiB on purpose (libsodium's "interactive" costs), so that
 * guessing from a stolen database is slow. 0, or -1 with a sentence in err
 * (out of memory, libsodium failing to start). */
int users_hash(const char *password, size_t len, char out[STORE_MAX_HASH], char *err,
               size_t errcap);

/* 1 if the password matches hash (as users_hash made it), 0 if not, or if
 * hash is not one users_hash could have made. It costs what users_hash
 * does, whatever the password's length. */
int users_verify(const char *hash, const char *password, size_t len);

/* Makes the hash users_check() checks a name nobody has against (about
 * 0.4 s, once): a server with accounts calls it at start, so that the
 * first such name costs no more than the next (users_check makes it
 * otherwise). 0, or -1 when it could not be made. */
int users_prepare(void);

/* 1 if u may log in with the password: u's hash matches it. u NULL (no
 * such user) is checked against a hash of a random password made once,
 * so that it takes as long as a user's and the time tells nobody whether
 * the name exists; it is always 0. u's lock is the caller's business. */
int users_check(const struct store_user *u, const char *password, size_t len);

/*
 * A user's HTTP session (POST /api/login's cookie): "USER:MAC", MAC the
 * hex of an HMAC (libsodium's crypto_auth, HMAC-SHA-512-256) of the name
 * under a key the server makes at start, so that the cookie names its
 * user, cannot be made for another without the key, and ends with the
 * server. Whether the user still exists and is not locked is the caller's
 * to check at each request.
 */
#define USERS_TOKEN_KEY 32 /* crypto_auth_KEYBYTES */
#define USERS_TOKEN_MAX (STORE_MAX_USER + 1 + 64)
/* Writes user's token (NUL-terminated) to out. 0, or -1 when the name is
 * not one (users_name_ok) or libsodium cannot start. */
int users_token(const unsigned char key[USERS_TOKEN_KEY], const char *user, size_t len,
                char out[USERS_TOKEN_MAX + 1]);
/* 1 with its user's name in name when tok[0..n) is a token users_token
 * made under key (the MAC compared in constant time), else 0. */
int users_token_check(const unsigned char key[USERS_TOKEN_KEY], const char *tok, size_t n,
                      char name[STORE_MAX_USER + 1]);

#endif /* TODO_SERVER_USERS_H */
