/*
 * connect.c - opening TCP connections, blocking or not.
 */
#include "todo/net.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

int net_connect_start(const struct addrinfo *ai, int *pending)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0)
        return -1;
    *pending = 0;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return fd;
    if (errno == EINPROGRESS) {
        *pending = 1;
        return fd;
    }
    int e = errno;
    close(fd);
    errno = e;
    return -1;
}

int net_connect_result(int fd)
{
    int soerr = 0;
    socklen_t sl = sizeof(soerr);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
        return errno;
    return soerr;
}

int net_dial(const struct addrinfo *ai, unsigned opts)
{
    int err = ECONNREFUSED;
    for (; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        int one = 1;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
            (!(opts & NET_DIAL_NODELAY) ||
             setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0) &&
            (!(opts & NET_DIAL_NONBLOCK) || fcntl(fd, F_SETFL, O_NONBLOCK) == 0))
            return fd;
        err = errno;
        close(fd);
    }
    errno = err;
    return -1;
}
