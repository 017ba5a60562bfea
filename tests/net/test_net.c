/*
 * test_net.c - the network helpers that server, client and bench share:
 * which addresses count as loopback (the server's --bind check and
 * todo-bench's -H check rest on it), resolution, connecting, and the
 * monotonic clock. No traffic leaves the machine: other addresses are
 * only parsed (AI_NUMERICHOST), never connected to.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "todo/net.h"

/* Every address a numeric host resolves to, checked one by one. */
static int numeric_is_loopback(const char *host)
{
    struct addrinfo *res = NULL;
    assert_int_equal(net_resolve(host, "9000", AI_NUMERICHOST | AI_NUMERICSERV, &res), 0);
    assert_non_null(res);
    int all = 1;
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next)
        all &= net_addr_is_loopback(ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(res);
    return all;
}

/* Each numeric host in hosts is loopback (want 1) or not (want 0), both
 * address by address and through net_host_is_loopback(). */
static void check_hosts(const char *const *hosts, size_t n, int want)
{
    int e = 0;
    for (size_t i = 0; i < n; i++) {
        print_message("%s\n", hosts[i]);
        assert_int_equal(numeric_is_loopback(hosts[i]), want);
        assert_int_equal(net_host_is_loopback(hosts[i], AI_NUMERICHOST, &e), want);
    }
}

static void test_loopback_addresses(void **state)
{
    (void)state;
    static const char *const yes[] = {"127.0.0.1", "127.5.6.7",        "127.255.255.254",
                                      "::1",       "::ffff:127.0.0.1", "::ffff:127.9.8.7"};
    check_hosts(yes, sizeof(yes) / sizeof(yes[0]), 1);
}

static void test_other_addresses(void **state)
{
    (void)state;
    /* Documentation ranges, the neighbours of 127/8, the wildcard and an
     * IPv4-mapped public address: none is this machine's loopback. */
    static const char *const no[] = {
        "192.0.2.1", "2001:db8::1",      "128.0.0.1", "126.255.255.255", "0.0.0.0",
        "::",        "::ffff:192.0.2.1", "::2",       "fe80::1"};
    check_hosts(no, sizeof(no) / sizeof(no[0]), 0);
}

static void test_localhost(void **state)
{
    (void)state;
    int e = 0;
    /* Whatever /etc/hosts gives for it (127.0.0.1, ::1 or both). */
    assert_int_equal(net_host_is_loopback("localhost", 0, &e), 1);
}

static void test_wildcard_and_errors(void **state)
{
    (void)state;
    int e = 0;
    /* No host with AI_PASSIVE is every address: not loopback. */
    assert_int_equal(net_host_is_loopback(NULL, AI_PASSIVE, &e), 0);
    assert_int_equal(net_host_is_loopback("not an address", AI_NUMERICHOST, &e), -1);
    assert_int_not_equal(e, 0);
    assert_non_null(gai_strerror(e));
}

static void test_short_or_foreign_sockaddr(void **state)
{
    (void)state;
    struct sockaddr_in in;
    memset(&in, 0, sizeof(in));
    in.sin_family = AF_INET;
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(net_addr_is_loopback((struct sockaddr *)&in, sizeof(in)), 1);
    /* A length too short for the family is never read past. */
    assert_int_equal(net_addr_is_loopback((struct sockaddr *)&in, sizeof(in) - 1), 0);
    struct sockaddr_un un;
    memset(&un, 0, sizeof(un));
    un.sun_family = AF_UNIX;
    assert_int_equal(net_addr_is_loopback((struct sockaddr *)&un, sizeof(un)), 0);
}

static void test_clock_is_monotonic(void **state)
{
    (void)state;
    int64_t last = net_now_ns();
    assert_true(last > 0);
    for (int i = 0; i < 100000; i++) {
        int64_t now = net_now_ns();
        assert_true(now >= last);
        last = now;
    }
    /* The units agree: read in order ms, us, ns, each is no earlier. */
    int64_t ms = net_now_ms(), us = net_now_us(), ns = net_now_ns();
    assert_true(us / 1000 >= ms);
    assert_true(ns / 1000 >= us);
    /* A sleep of 5 ms moves the clock by at least that much (a sleep may
     * last longer, never shorter). */
    struct timespec ts = {0, 5 * 1000 * 1000};
    int64_t before = net_now_ms();
    while (nanosleep(&ts, &ts) != 0)
        assert_int_equal(errno, EINTR);
    assert_true(net_now_ms() - before >= 5);
}

/* A socket bound to a free port on 127.0.0.1, listening when listening is
 * set (a bound socket that does not listen refuses connections, and holds
 * the port so that nothing else can take it meanwhile). */
static int bound_socket(int listening, char *port, size_t cap)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in in;
    memset(&in, 0, sizeof(in));
    in.sin_family = AF_INET;
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&in, sizeof(in)), 0);
    if (listening)
        assert_int_equal(listen(fd, 8), 0);
    socklen_t len = sizeof(in);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&in, &len), 0);
    snprintf(port, cap, "%d", ntohs(in.sin_port));
    return fd;
}

static struct addrinfo *local(const char *port)
{
    struct addrinfo *res = NULL;
    assert_int_equal(net_resolve("127.0.0.1", port, AI_NUMERICHOST | AI_NUMERICSERV, &res), 0);
    return res;
}

static void test_dial(void **state)
{
    (void)state;
    char port[16];
    int lfd = bound_socket(1, port, sizeof(port));
    struct addrinfo *ai = local(port);

    int fd = net_dial(ai, NET_DIAL_NODELAY | NET_DIAL_NONBLOCK);
    assert_true(fd >= 0);
    int fl = fcntl(fd, F_GETFL);
    assert_true(fl >= 0 && (fl & O_NONBLOCK));
    int one = 0;
    socklen_t sl = sizeof(one);
    assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, &sl), 0);
    assert_int_not_equal(one, 0);
    int afd = accept(lfd, NULL, NULL);
    assert_true(afd >= 0);
    assert_int_equal(write(fd, "PING\n", 5), 5);
    char buf[8];
    assert_int_equal(read(afd, buf, sizeof(buf)), 5);
    assert_memory_equal(buf, "PING\n", 5);
    close(afd);
    close(fd);

    /* Blocking unless asked. */
    fd = net_dial(ai, 0);
    assert_true(fd >= 0);
    fl = fcntl(fd, F_GETFL);
    assert_true(fl >= 0 && !(fl & O_NONBLOCK));
    close(fd);
    freeaddrinfo(ai);
    close(lfd);

    /* Refused: -1 with the reason in errno. */
    lfd = bound_socket(0, port, sizeof(port));
    ai = local(port);
    errno = 0;
    assert_int_equal(net_dial(ai, 0), -1);
    assert_int_equal(errno, ECONNREFUSED);
    freeaddrinfo(ai);
    close(lfd);
}

/* Starts a non-blocking connect and waits (at most 10 s) for its end:
 * 0 when connected, else the errno value. */
static int connect_and_wait(const struct addrinfo *ai)
{
    int pending = -1;
    int fd = net_connect_start(ai, &pending);
    if (fd < 0)
        return errno;
    int fl = fcntl(fd, F_GETFL);
    assert_true(fl >= 0 && (fl & O_NONBLOCK));
    int rc = 0;
    if (pending) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        assert_int_equal(poll(&p, 1, 10000), 1);
        rc = net_connect_result(fd);
    }
    close(fd);
    return rc;
}

static void test_connect_start(void **state)
{
    (void)state;
    char port[16];
    int lfd = bound_socket(1, port, sizeof(port));
    struct addrinfo *ai = local(port);
    assert_int_equal(connect_and_wait(ai), 0);
    freeaddrinfo(ai);
    close(lfd);

    lfd = bound_socket(0, port, sizeof(port));
    ai = local(port);
    assert_int_equal(connect_and_wait(ai), ECONNREFUSED);
    freeaddrinfo(ai);
    close(lfd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loopback_addresses),
        cmocka_unit_test(test_other_addresses),
        cmocka_unit_test(test_localhost),
        cmocka_unit_test(test_wildcard_and_errors),
        cmocka_unit_test(test_short_or_foreign_sockaddr),
        cmocka_unit_test(test_clock_is_monotonic),
        cmocka_unit_test(test_dial),
        cmocka_unit_test(test_connect_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
