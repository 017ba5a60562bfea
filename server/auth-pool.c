/*
 * auth-pool.c - the thread that checks users' password hashes
 * (auth-pool.h). One thread, a fixed ring of jobs under one mutex: logins
 * are rare next to requests, and one check at a time bounds the memory
 * Argon2id takes (64 MiB each) however many clients log in at once.
 */
#include "auth-pool.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

struct job {
    void *conn;
    int found;
    char hash[STORE_MAX_HASH];
    char password[USERS_PASSWORD_MAX];
    size_t len;
};

static struct {
    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t more, idle;
    void *current; /* the connection whose check is under way, or NULL */
    struct job ring[AUTH_POOL_QUEUE];
    size_t head, n;
    int running, stopping;
    pthread_t thread;
    void (*done)(void *conn, int ok);
} ap = {.lock = PTHREAD_MUTEX_INITIALIZER,
        .more = PTHREAD_COND_INITIALIZER,
        .idle = PTHREAD_COND_INITIALIZER};

static void *auth_main(void *arg)
{
    (void)arg;
    struct job j;
    pthread_mutex_lock(&ap.lock);
    for (;;) {
        while (ap.n == 0 && !ap.stopping)
            pthread_cond_wait(&ap.more, &ap.lock);
        if (ap.stopping)
            break;
        struct job *q = &ap.ring[ap.head];
        j = *q;
        explicit_bzero(q, sizeof(*q));
        ap.head = (ap.head + 1) % AUTH_POOL_QUEUE;
        ap.n--;
        ap.current = j.conn;
        pthread_mutex_unlock(&ap.lock);
        /* users_check with the user's hash, or with none for a name nobody
         * has: the same work either way. */
        struct store_user u;
        memset(&u, 0, sizeof(u));
        memcpy(u.hash, j.hash, sizeof(u.hash));
        int ok = users_check(j.found ? &u : NULL, j.password, j.len);
        explicit_bzero(&j.password, sizeof(j.password));
        explicit_bzero(&u, sizeof(u));
        ap.done(j.conn, ok);
        pthread_mutex_lock(&ap.lock);
        ap.current = NULL;
        pthread_cond_broadcast(&ap.idle);
    }
    pthread_mutex_unlock(&ap.lock);
    explicit_bzero(&j, sizeof(j));
    return NULL;
}

int auth_pool_start(void (*done)(void *conn, int ok), char *err, size_t errcap)
{
    pthread_mutex_lock(&ap.lock);
    ap.done = done;
    ap.head = ap.n = 0;
    ap.stopping = 0;
    int rc = pthread_create(&ap.thread, NULL, auth_main, NULL);
    ap.running = rc == 0;
    pthread_mutex_unlock(&ap.lock);
    if (rc != 0) {
        snprintf(err, errcap, "cannot start the password-checking thread: %s", strerror(rc));
        return -1;
    }
    return 0;
}

int auth_pool_submit(void *conn, const struct store_user *u, const char *password, size_t len)
{
    if (len > USERS_PASSWORD_MAX)
        return -1;
    pthread_mutex_lock(&ap.lock);
    if (!ap.running || ap.stopping || ap.n == AUTH_POOL_QUEUE) {
        pthread_mutex_unlock(&ap.lock);
        return -1;
    }
    struct job *q = &ap.ring[(ap.head + ap.n) % AUTH_POOL_QUEUE];
    q->conn = conn;
    q->found = u != NULL;
    if (u != NULL)
        memcpy(q->hash, u->hash, sizeof(q->hash));
    memcpy(q->password, password, len);
    q->len = len;
    ap.n++;
    pthread_cond_signal(&ap.more);
    pthread_mutex_unlock(&ap.lock);
    return 0;
}

void auth_pool_cancel(void *conn)
{
    pthread_mutex_lock(&ap.lock);
    size_t kept = 0;
    for (size_t i = 0; i < ap.n; i++) {
        struct job *q = &ap.ring[(ap.head + i) % AUTH_POOL_QUEUE];
        if (q->conn == conn) {
            explicit_bzero(q, sizeof(*q));
            continue;
        }
        if (kept != i)
            ap.ring[(ap.head + kept) % AUTH_POOL_QUEUE] = *q;
        kept++;
    }
    ap.n = kept;
    while (ap.current == conn)
        pthread_cond_wait(&ap.idle, &ap.lock);
    pthread_mutex_unlock(&ap.lock);
}

void auth_pool_stop(void)
{
    pthread_mutex_lock(&ap.lock);
    int running = ap.running;
    ap.stopping = 1;
    pthread_cond_signal(&ap.more);
    pthread_mutex_unlock(&ap.lock);
    if (running)
        pthread_join(ap.thread, NULL);
    pthread_mutex_lock(&ap.lock);
    explicit_bzero(ap.ring, sizeof(ap.ring));
    ap.n = 0;
    ap.running = 0;
    pthread_mutex_unlock(&ap.lock);
}
