/*
 * guard.h - defences against clients that attack rather than talk: AUTH
 * guesses slowed down per connection, per client address and per user
 * name, and requests
 * that a web browser sent on a web page's behalf (cross-protocol requests)
 * told apart from todo requests. The log lines they cause are limited to
 * one a minute per address, with counts, so an attacker cannot flood the
 * log either.
 *
 * What is remembered by address lives in a small table of GUARD_ADDRS
 * entries under one mutex: every function may be called from any thread.
 * Nothing here sleeps; a delay is a time the caller waits for in its event
 * loop.
 */
#ifndef TODO_SERVER_GUARD_H
#define TODO_SERVER_GUARD_H

#include <stddef.h>
#include <stdint.h>

struct sockaddr;

/* Addresses remembered at once; past that, the one heard from least
 * recently is forgotten. */
#define GUARD_ADDRS 256
/* Wrong passwords a connection may send; the last is answered "closing the
 * connection" and the connection is closed. */
#define GUARD_AUTH_MAX_FAILS 5
/* The delay after the first failure, doubled after each further one from
 * the same connection or address, up to GUARD_AUTH_DELAY_MAX_MS. */
#define GUARD_AUTH_DELAY_MS 100
#define GUARD_AUTH_DELAY_MAX_MS 10000
/* An address that has sent no wrong password for this long starts over. */
#define GUARD_FORGET_MS (10 * 60 * 1000)
/* At most one log line per address and kind of event in this time. */
#define GUARD_LOG_EVERY_MS (60 * 1000)

/* A client address: IPv4 as an IPv4-mapped IPv6 address. */
struct guard_addr {
    unsigned char b[16];
};

/* A connection's standing: its address and its wrong passwords. Owned by
 * whoever owns the connection. */
struct guard_peer {
    struct guard_addr addr;
    int auth_fails;    /* wrong passwords sent on this connection */
    int64_t auth_next; /* monotonic ms: no request of it runs before this */
};

/* The address of sa (AF_INET or AF_INET6; anything else is all zeros). */
void guard_addr_from(struct guard_addr *a, const struct sockaddr *sa);
/* "127.0.0.1" or "::1" into buf. */
void guard_addr_format(const struct guard_addr *a, char *buf, size_t cap);

/* The wait before a connection of a's may try a password at now_ms, in
 * ms: 0 means now, and then the turn is taken, so that the address's other
 * connections wait for the delay its failures earned. */
int64_t guard_auth_turn(const struct guard_addr *a, int64_t now_ms);
/* Records a wrong password from p at now_ms: counts it for the connection
 * and its address, sets p->auth_next, and logs (at most once a minute per
 * address). Returns 1 when the connection is to be closed
 * (GUARD_AUTH_MAX_FAILS reached), else 0. */
int guard_auth_failed(struct guard_peer *p, int64_t now_ms);
/* Counts a connection held back by an AUTH delay (for STATS). */
void guard_auth_delayed(void);
/* The delay earned by n wrong passwords (0 for none). */
int64_t guard_auth_delay(int n);

/*
 * 1 if line (without its line end) is what a browser sends, not a todo
 * request: an HTTP request line ("METHOD /target HTTP/1.1", any method
 * token) when it is the connection's first line (first != 0), or a
 * "Host:" header line (any case) at any point. The tutorial's GET/key and
 * POST/key=text forms, with no space after the verb, and native requests
 * such as "GET 7" are not. This is the one place that tells the two
 * protocols apart, should the port ever serve HTTP as well.
 */
int guard_http_line(const char *line, size_t len, int first);
/* Records that a of this address sent line (the one guard_http_line()
 * flagged) and was closed: logs "Possible SECURITY ATTACK detected" at
 * most once a minute per address, with a count. */
void guard_http_seen(const struct guard_addr *a, int64_t now_ms, const char *line, size_t len);

/*
 * Per user (AUTH USER PASSWORD, accounts): wrong passwords for one name
 * slow down every try at that name, from whatever connection or address,
 * so that guessing one person's password from many addresses is no faster
 * than from one. A try before the name's turn is refused without its
 * password being looked at (no hash is checked: it costs nothing), and
 * says how long to wait. Names are remembered in a table of GUARD_USERS
 * entries (the least recently heard of is forgotten first), whether or
 * not a user has the name, so that the answer tells nobody which names
 * exist. name is a valid user name (proto_valid_user).
 */
#define GUARD_USERS 256

/* The wait in ms before a password for name may be checked at now_ms: 0
 * means now, and then the turn is taken (the name's other tries wait the
 * delay its failures earned); else the try is refused and counted. */
int64_t guard_user_turn(const char *name, size_t len, int64_t now_ms);
/* The wait guard_user_turn would give, without taking the turn or
 * counting anything. */
int64_t guard_user_wait(const char *name, size_t len, int64_t now_ms);
/* Records a wrong password for name: its next try waits longer (the same
 * doubling delay as an address's), and the log tells of it at most once a
 * minute per name, with a count. */
void guard_user_failed(const char *name, size_t len, int64_t now_ms);
/* The right password for name: its failures are forgotten. */
void guard_user_ok(const char *name, size_t len);

/* Totals since start, for STATS. */
struct guard_stats {
    unsigned long long auth_failures; /* wrong passwords */
    unsigned long long auth_delayed;  /* times requests waited for an AUTH delay */
    unsigned long long auth_closed;   /* connections closed for too many of them */
    unsigned long long http_closed;   /* connections closed as cross-protocol requests */
    unsigned long long user_failures; /* wrong passwords given for a user (AUTH USER PASSWORD) */
    unsigned long long user_delayed;  /* AUTH USER tries refused before the user's turn */
    unsigned long long user_locked;   /* right passwords for a locked account */
};
/* Counts a right password for a locked account (for STATS). */
void guard_user_locked(void);
void guard_stats(struct guard_stats *st);

#endif /* TODO_SERVER_GUARD_H */
