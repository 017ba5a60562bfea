/*
 * guard.c - AUTH delays by connection and address, the cross-protocol
 * check, and their rate-limited log lines.
 */
#include "guard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "log.h"

/* A user's name at most (PROTO_MAX_USER; guard.h does not need libproto). */
#define GUARD_USER_NAME_MAX 64

/* What is remembered of one address. */
struct entry {
    struct guard_addr addr;
    int used;
    int64_t seen; /* last event of any kind: the least recent is replaced */
    /* Wrong passwords: how many recently, the last one's time, and when
     * the address may try again. */
    int auth_fails;
    int64_t auth_last;
    int64_t auth_next;
    /* Log lines: when the last one of each kind was written, and the
     * events since then that it has not told of. 0: never written. */
    int64_t auth_logged, http_logged;
    unsigned long auth_unlogged, http_unlogged;
};

/* What is remembered of one user name (guard_user_*). */
struct user_entry {
    char name[GUARD_USER_NAME_MAX + 1];
    size_t len;
    int used;
    int64_t seen; /* last try: the least recent is replaced */
    int fails;
    int64_t last, next;
    int64_t logged; /* the last log line's time; 0: never written */
    unsigned long unlogged;
};

static struct {
    pthread_mutex_t lock; /* guards table and users */
    struct entry table[GUARD_ADDRS];
    struct user_entry users[GUARD_USERS];
    atomic_ullong auth_failures, auth_delayed, auth_closed, http_closed;
    atomic_ullong user_failures, user_delayed, user_locked;
} g = {.lock = PTHREAD_MUTEX_INITIALIZER};

void guard_addr_from(struct guard_addr *a, const struct sockaddr *sa)
{
    memset(a, 0, sizeof(*a));
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        a->b[10] = a->b[11] = 0xff;
        memcpy(a->b + 12, &in->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        memcpy(a->b, &in6->sin6_addr, 16);
    }
}

void guard_addr_format(const struct guard_addr *a, char *buf, size_t cap)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    char host[INET6_ADDRSTRLEN] = "?";
    if (memcmp(a->b, mapped, sizeof(mapped)) == 0)
        inet_ntop(AF_INET, a->b + 12, host, sizeof(host));
    else
        inet_ntop(AF_INET6, a->b, host, sizeof(host));
    snprintf(buf, cap, "%s", host);
}

/* The entry of a, or NULL; g.lock held. */
static struct entry *find(const struct guard_addr *a)
{
    for (size_t i = 0; i < GUARD_ADDRS; i++)
        if (g.table[i].used && memcmp(g.table[i].addr.b, a->b, sizeof(a->b)) == 0)
            return &g.table[i];
    return NULL;
}

/* The entry of a, made (in place of a free one or of the one heard from
 * least recently) if there is none; g.lock held. */
static struct entry *find_or_add(const struct guard_addr *a, int64_t now)
{
    struct entry *e = find(a);
    if (e != NULL)
        return e;
    e = &g.table[0];
    for (size_t i = 0; i < GUARD_ADDRS && e->used; i++)
        if (!g.table[i].used || g.table[i].seen < e->seen)
            e = &g.table[i];
    memset(e, 0, sizeof(*e));
    e->addr = *a;
    e->used = 1;
    e->seen = now;
    return e;
}

int64_t guard_auth_delay(int n)
{
    if (n <= 0)
        return 0;
    int64_t d = GUARD_AUTH_DELAY_MS;
    for (int i = 1; i < n && d < GUARD_AUTH_DELAY_MAX_MS; i++)
        d *= 2;
    return d < GUARD_AUTH_DELAY_MAX_MS ? d : GUARD_AUTH_DELAY_MAX_MS;
}

/* An address's failures count only while recent. */
static void expire(struct entry *e, int64_t now)
{
    if (e->auth_fails > 0 && now - e->auth_last >= GUARD_FORGET_MS) {
        e->auth_fails = 0;
        e->auth_next = 0;
    }
}

int64_t guard_auth_turn(const struct guard_addr *a, int64_t now_ms)
{
    int64_t wait = 0;
    pthread_mutex_lock(&g.lock);
    struct entry *e = find(a);
    if (e != NULL) {
        expire(e, now_ms);
        if (e->auth_next > now_ms) {
            wait = e->auth_next - now_ms;
        } else if (e->auth_fails > 0) {
            /* This try is the address's turn: its other connections wait
             * as long again, so that many connections at once guess no
             * faster than one. */
            e->auth_next = now_ms + guard_auth_delay(e->auth_fails);
        }
    }
    pthread_mutex_unlock(&g.lock);
    return wait;
}

void guard_auth_delayed(void)
{
    atomic_fetch_add_explicit(&g.auth_delayed, 1, memory_order_relaxed);
}

int guard_auth_failed(struct guard_peer *p, int64_t now_ms)
{
    char host[INET6_ADDRSTRLEN];
    unsigned long told = 0;
    int fails;
    int64_t delay;

    p->auth_fails++;
    p->auth_next = now_ms + guard_auth_delay(p->auth_fails);
    atomic_fetch_add_explicit(&g.auth_failures, 1, memory_order_relaxed);
    int closing = p->auth_fails >= GUARD_AUTH_MAX_FAILS;
    if (closing)
        atomic_fetch_add_explicit(&g.auth_closed, 1, memory_order_relaxed);

    pthread_mutex_lock(&g.lock);
    struct entry *e = find_or_add(&p->addr, now_ms);
    expire(e, now_ms);
    e->seen = now_ms;
    e->auth_fails++;
    e->auth_last = now_ms;
    e->auth_next = now_ms + guard_auth_delay(e->auth_fails);
    fails = e->auth_fails;
    delay = guard_auth_delay(fails);
    e->auth_unlogged++;
    if (e->auth_logged == 0 || now_ms - e->auth_logged >= GUARD_LOG_EVERY_MS) {
        told = e->auth_unlogged;
        e->auth_unlogged = 0;
        e->auth_logged = now_ms;
    }
    pthread_mutex_unlock(&g.lock);

    /* Outside the lock: a slow stderr must not hold up other addresses. */
    if (told > 0) {
        guard_addr_format(&p->addr, host, sizeof(host));
        log_warn("wrong password from %s: %lu since the last such line, %d recent from this "
                 "address, whose next try waits %.1f s; a connection is closed after %d (this "
                 "line comes at most once a minute per address)",
                 host, told, fails, (double)delay / 1000, GUARD_AUTH_MAX_FAILS);
    }
    return closing;
}

/* ---- per user ---- */

/* The entry of name, or NULL; g.lock held. */
static struct user_entry *user_find(const char *name, size_t len)
{
    for (size_t i = 0; i < GUARD_USERS; i++) {
        struct user_entry *u = &g.users[i];
        if (u->used && u->len == len && memcmp(u->name, name, len) == 0)
            return u;
    }
    return NULL;
}

/* The entry of name, made in place of a free one or of the one heard of
 * least recently; g.lock held. */
static struct user_entry *user_find_or_add(const char *name, size_t len, int64_t now)
{
    struct user_entry *u = user_find(name, len);
    if (u != NULL)
        return u;
    u = &g.users[0];
    for (size_t i = 0; i < GUARD_USERS && u->used; i++)
        if (!g.users[i].used || g.users[i].seen < u->seen)
            u = &g.users[i];
    memset(u, 0, sizeof(*u));
    memcpy(u->name, name, len);
    u->len = len;
    u->used = 1;
    u->seen = now;
    return u;
}

static void user_expire(struct user_entry *u, int64_t now)
{
    if (u->fails > 0 && now - u->last >= GUARD_FORGET_MS) {
        u->fails = 0;
        u->next = 0;
    }
}

int64_t guard_user_turn(const char *name, size_t len, int64_t now_ms)
{
    int64_t wait = 0;
    if (len > GUARD_USER_NAME_MAX)
        len = GUARD_USER_NAME_MAX;
    pthread_mutex_lock(&g.lock);
    struct user_entry *u = user_find(name, len);
    if (u != NULL) {
        user_expire(u, now_ms);
        u->seen = now_ms;
        if (u->next > now_ms)
            wait = u->next - now_ms;
        else if (u->fails > 0)
            /* This try is the name's turn: tries from elsewhere wait as
             * long again, so many at once guess no faster than one. */
            u->next = now_ms + guard_auth_delay(u->fails);
    }
    pthread_mutex_unlock(&g.lock);
    if (wait > 0)
        atomic_fetch_add_explicit(&g.user_delayed, 1, memory_order_relaxed);
    return wait;
}

int64_t guard_user_wait(const char *name, size_t len, int64_t now_ms)
{
    int64_t wait = 0;
    if (len > GUARD_USER_NAME_MAX)
        len = GUARD_USER_NAME_MAX;
    pthread_mutex_lock(&g.lock);
    struct user_entry *u = user_find(name, len);
    if (u != NULL && u->next > now_ms && !(u->fails > 0 && now_ms - u->last >= GUARD_FORGET_MS))
        wait = u->next - now_ms;
    pthread_mutex_unlock(&g.lock);
    return wait;
}

void guard_user_failed(const char *name, size_t len, int64_t now_ms)
{
    unsigned long told = 0;
    int fails;
    if (len > GUARD_USER_NAME_MAX)
        len = GUARD_USER_NAME_MAX;
    atomic_fetch_add_explicit(&g.user_failures, 1, memory_order_relaxed);
    pthread_mutex_lock(&g.lock);
    struct user_entry *u = user_find_or_add(name, len, now_ms);
    user_expire(u, now_ms);
    u->seen = now_ms;
    u->fails++;
    u->last = now_ms;
    u->next = now_ms + guard_auth_delay(u->fails);
    fails = u->fails;
    u->unlogged++;
    if (u->logged == 0 || now_ms - u->logged >= GUARD_LOG_EVERY_MS) {
        told = u->unlogged;
        u->unlogged = 0;
        u->logged = now_ms;
    }
    pthread_mutex_unlock(&g.lock);
    /* A valid name is safe to print (letters, digits, '.', '_', '-'); the
     * password never reaches this file. */
    if (told > 0)
        log_warn("wrong password for user %.*s: %lu since the last such line, %d recent, whose "
                 "next try waits %.1f s (this line comes at most once a minute per user)",
                 (int)len, name, told, fails, (double)guard_auth_delay(fails) / 1000);
}

void guard_user_ok(const char *name, size_t len)
{
    if (len > GUARD_USER_NAME_MAX)
        len = GUARD_USER_NAME_MAX;
    pthread_mutex_lock(&g.lock);
    struct user_entry *u = user_find(name, len);
    if (u != NULL) {
        u->fails = 0;
        u->next = 0;
    }
    pthread_mutex_unlock(&g.lock);
}

void guard_user_locked(void)
{
    atomic_fetch_add_explicit(&g.user_locked, 1, memory_order_relaxed);
}

/* RFC 9110's token characters, of which a method is made. */
static int is_tchar(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

int guard_http_line(const char *line, size_t len, int first)
{
    if (len >= 5 && strncasecmp(line, "host:", 5) == 0)
        return 1;
    if (!first)
        return 0;
    /* METHOD SP TARGET SP HTTP/d.d: a method token, a target with no space
     * in it, and the version, which ends the line. */
    size_t i = 0;
    while (i < len && is_tchar((unsigned char)line[i]))
        i++;
    if (i == 0 || i >= len || line[i] != ' ')
        return 0;
    size_t t = ++i;
    while (i < len && line[i] != ' ' && line[i] != '\t')
        i++;
    if (i == t || i >= len || line[i] != ' ')
        return 0;
    i++;
    return len - i == 8 && memcmp(line + i, "HTTP/", 5) == 0 && line[i + 5] >= '0' &&
           line[i + 5] <= '9' && line[i + 6] == '.' && line[i + 7] >= '0' && line[i + 7] <= '9';
}

void guard_http_seen(const struct guard_addr *a, int64_t now_ms, const char *line, size_t len)
{
    char host[INET6_ADDRSTRLEN], shown[64];
    unsigned long told = 0;

    atomic_fetch_add_explicit(&g.http_closed, 1, memory_order_relaxed);
    pthread_mutex_lock(&g.lock);
    struct entry *e = find_or_add(a, now_ms);
    e->seen = now_ms;
    e->http_unlogged++;
    if (e->http_logged == 0 || now_ms - e->http_logged >= GUARD_LOG_EVERY_MS) {
        told = e->http_unlogged;
        e->http_unlogged = 0;
        e->http_logged = now_ms;
    }
    pthread_mutex_unlock(&g.lock);
    if (told == 0)
        return;
    /* The line is the attacker's: only printable ASCII of it reaches the
     * log, and not much. */
    size_t n = 0;
    for (; n < len && n < sizeof(shown) - 1; n++) {
        unsigned char ch = (unsigned char)line[n];
        shown[n] = ch >= 0x20 && ch < 0x7f && ch != '"' ? (char)ch : '?';
    }
    shown[n] = '\0';
    guard_addr_format(a, host, sizeof(host));
    log_warn("Possible SECURITY ATTACK detected: %s sent \"%s%s\", a line of an HTTP request "
             "such as a web page can make a browser send to this port; closed the connection "
             "before running anything more of it (%lu such connection(s) from this address "
             "since the last such line, which comes at most once a minute per address)",
             host, shown, n < len ? "..." : "", told);
}

void guard_stats(struct guard_stats *st)
{
    st->auth_failures = atomic_load_explicit(&g.auth_failures, memory_order_relaxed);
    st->auth_delayed = atomic_load_explicit(&g.auth_delayed, memory_order_relaxed);
    st->auth_closed = atomic_load_explicit(&g.auth_closed, memory_order_relaxed);
    st->http_closed = atomic_load_explicit(&g.http_closed, memory_order_relaxed);
    st->user_failures = atomic_load_explicit(&g.user_failures, memory_order_relaxed);
    st->user_delayed = atomic_load_explicit(&g.user_delayed, memory_order_relaxed);
    st->user_locked = atomic_load_explicit(&g.user_locked, memory_order_relaxed);
}
