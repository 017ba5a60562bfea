/*
 * todo/net.h - the small network helpers that todo-server, todo-cli and
 * todo-bench share: which addresses are loopback ones, resolving a host,
 * connecting, and the monotonic clock their timeouts are measured on.
 *
 * Nothing here prints, exits or keeps state: errors come back as codes
 * (errno values, getaddrinfo codes) for the caller to put into a sentence.
 */
#ifndef TODO_NET_H
#define TODO_NET_H

#include <netdb.h>
#include <stdint.h>
#include <sys/socket.h>

/* ---- addresses (addr.c) ------------------------------------------------- */

/* 1 if sa (len bytes) is a loopback address: 127.0.0.0/8, ::1, or an IPv4
 * loopback address mapped into IPv6 (::ffff:127.x.y.z); 0 for any other
 * address, a family other than IPv4 and IPv6, or a len too short for its
 * family. */
int net_addr_is_loopback(const struct sockaddr *sa, socklen_t len);

/* getaddrinfo() for TCP, over IPv4 and IPv6: host is numeric or a name,
 * port numeric or a service name (NULL for none); flags are AI_* flags
 * (AI_PASSIVE, AI_NUMERICHOST, AI_NUMERICSERV). Returns 0 with *res to be
 * freed with freeaddrinfo(), or the getaddrinfo code (for gai_strerror();
 * EAI_SYSTEM leaves errno set). */
int net_resolve(const char *host, const char *port, int flags, struct addrinfo **res);

/* 1 if every address host resolves to (with flags, as for net_resolve; a
 * NULL host with AI_PASSIVE is the wildcard address) is a loopback one, 0 if some is not, -1 with
 * the getaddrinfo code in *gai_err when it does not resolve. */
int net_host_is_loopback(const char *host, int flags, int *gai_err);

/* ---- connecting (connect.c) --------------------------------------------- */

/* Starts a connect to the one address ai (its ai_next is not followed) from
 * a new close-on-exec, non-blocking socket. Returns the socket, with
 * *pending set to 1 while the connect is still under way (wait for it to be
 * writable, then ask net_connect_result()) or 0 when it is done; or -1 with
 * errno set, the socket closed. */
int net_connect_start(const struct addrinfo *ai, int *pending);

/* How a connect started by net_connect_start() ended once the socket is
 * writable: 0 connected, else the errno value it failed with. */
int net_connect_result(int fd);

#define NET_DIAL_NONBLOCK 0x01 /* leave the connected socket non-blocking */
#define NET_DIAL_NODELAY 0x02  /* TCP_NODELAY: small requests leave at once */

/* Connects, blocking, to the first address of the list ai that answers,
 * with NET_DIAL_* options. Returns a close-on-exec socket, or -1 with errno
 * set from the last address tried. */
int net_dial(const struct addrinfo *ai, unsigned opts);

/* ---- the monotonic clock (clock.c) -------------------------------------- */

/* Time on CLOCK_MONOTONIC, which no change of the wall clock moves: for
 * deadlines and durations, never for dates. */
int64_t net_now_ms(void);
int64_t net_now_us(void);
int64_t net_now_ns(void);

#endif /* TODO_NET_H */
