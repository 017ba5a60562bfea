/*
 * addr.c - resolving a host for TCP and telling loopback addresses apart.
 */
#include "todo/net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

int net_addr_is_loopback(const struct sockaddr *sa, socklen_t len)
{
    /* Copied out rather than cast, so a sockaddr that is only aligned as
     * one (inside a getaddrinfo result or a byte buffer) is read safely. */
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        struct sockaddr_in in;
        memcpy(&in, sa, sizeof(in));
        return (ntohl(in.sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 in6;
        memcpy(&in6, sa, sizeof(in6));
        if (IN6_IS_ADDR_LOOPBACK(&in6.sin6_addr))
            return 1;
        return IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr) && in6.sin6_addr.s6_addr[12] == 127;
    }
    return 0;
}

int net_resolve(const char *host, const char *port, int flags, struct addrinfo **res)
{
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = flags;
    *res = NULL;
    return getaddrinfo(host, port, &hints, res);
}

int net_host_is_loopback(const char *host, int flags, int *gai_err)
{
    struct addrinfo *res;
    /* A port, so that a NULL host with AI_PASSIVE means the wildcard
     * address (which is not loopback) rather than an error. */
    int rc = net_resolve(host, "0", flags | AI_NUMERICSERV, &res);
    if (rc != 0) {
        *gai_err = rc;
        return -1;
    }
    /* One address elsewhere is enough to say no: "localhost" in a broken
     * /etc/hosts, or a name with a public address beside 127.0.0.1. */
    int all = 1;
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next)
        if (!net_addr_is_loopback(ai->ai_addr, ai->ai_addrlen))
            all = 0;
    freeaddrinfo(res);
    return all;
}
