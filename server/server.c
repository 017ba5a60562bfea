/*
 * server.c - the listening socket and the acceptor loop (main thread).
 *
 * The main thread prepares the store, listens, and then only accepts: each
 * new socket goes to a worker (worker.c), or, past --max-clients, gets one
 * BUSY line and is closed. Signals arrive through a signalfd in the same
 * epoll set, so nothing runs inside a signal handler.
 */
/* accept4() is a GNU extension. */
#define _GNU_SOURCE
#include "server.h"
#include "users.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "http-front.h"
#include "log.h"
#include "registry.h"
#include "store.h"
#include "todo/net.h"
#include "worker.h"

/* Names are resolved here as for a connection; the port is numeric. */
static int resolve(const char *addr, int port, struct addrinfo **res, char *err, size_t errcap)
{
    char ports[16];
    snprintf(ports, sizeof(ports), "%d", port);
    int rc = net_resolve(addr, ports, AI_PASSIVE | AI_NUMERICSERV, res);
    if (rc != 0) {
        snprintf(err, errcap, "cannot use --bind %s: %s", addr, gai_strerror(rc));
        return -1;
    }
    return 0;
}

int server_bind_is_loopback(const char *addr, char *err, size_t errcap)
{
    int gai_err = 0;
    int lo = net_host_is_loopback(addr, AI_PASSIVE, &gai_err);
    if (lo < 0)
        snprintf(err, errcap, "cannot use --bind %s: %s", addr, gai_strerror(gai_err));
    return lo;
}

/* "ADDR:PORT", with brackets around an IPv6 address. */
static void format_addr(const struct sockaddr *sa, char *buf, size_t cap)
{
    char host[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
        snprintf(buf, cap, "%s:%d", host, ntohs(a->sin_port));
    } else {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
        snprintf(buf, cap, "[%s]:%d", host, ntohs(a->sin6_port));
    }
}

/* "address already in use", from strerror's "Address already in use": the
 * reason reads as the end of one sentence. */
static void reason(int e, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", strerror(e));
    if (buf[0] >= 'A' && buf[0] <= 'Z' && !(buf[1] >= 'A' && buf[1] <= 'Z'))
        buf[0] = (char)(buf[0] - 'A' + 'a');
}

/* Binds the first address that works. Returns the socket, or -1 with a
 * sentence in err ("cannot listen on 127.0.0.1:9000: address already in
 * use"). */
static int listen_on(const struct server_config *cfg, char *where, size_t wcap, char *err,
                     size_t errcap)
{
    struct addrinfo *res;
    int fd = -1, saved = 0;
    char tried[96] = "";

    if (resolve(cfg->bind, cfg->port, &res, err, errcap) != 0)
        return -1;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if (tried[0] == '\0')
            format_addr(ai->ai_addr, tried, sizeof(tried));
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        int one = 1;
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
            bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 4096) != 0) {
            saved = errno;
            close(fd);
            fd = -1;
            continue;
        }
        break;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        char why[128];
        reason(saved, why, sizeof(why));
        snprintf(err, errcap, "cannot listen on %s: %s", tried[0] ? tried : cfg->bind, why);
        return -1;
    }
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
        snprintf(err, errcap, "getsockname: %s", strerror(errno));
        close(fd);
        return -1;
    }
    format_addr((struct sockaddr *)&ss, where, wcap);
    return fd;
}

/* The tutorial's three tasks, into an empty store only, in one write
 * batch of the engine's (the workers are not running yet). */
static int load_demo(struct store_engine *e, char *err, size_t errcap)
{
    static const char *const demo[][2] = {
        {"task_01", "see someone"},
        {"task_02", "read book"},
        {"task_03", "play basketball"},
    };
    struct store *w;
    char why[256];
    int64_t n;
    if (store_write_begin(e, &w, why, sizeof(why)) != STORE_OK) {
        snprintf(err, errcap, "--demo: %s", why);
        return -1;
    }
    if (store_count(w, &n) != STORE_OK)
        goto fail;
    if (n > 0) {
        store_write_end(e, 0, NULL, 0);
        log_info("--demo: the store already holds %lld tasks; leaving it as it is", (long long)n);
        return 0;
    }
    for (size_t i = 0; i < sizeof(demo) / sizeof(demo[0]); i++) {
        struct proto_str id = {demo[i][0], strlen(demo[i][0])};
        struct proto_str text = {demo[i][1], strlen(demo[i][1])};
        if (store_put(w, id, text, (int64_t)time(NULL)) != STORE_OK)
            goto fail;
    }
    if (store_write_end(e, 1, why, sizeof(why)) != STORE_OK) {
        snprintf(err, errcap, "--demo: %s", why);
        return -1;
    }
    log_info("--demo: loaded the tutorial's three tasks");
    return 0;
fail:
    snprintf(err, errcap, "--demo: %s", store_errmsg(w));
    store_write_end(e, 0, NULL, 0);
    return -1;
}

/* Answers ERR BUSY with why (max > 0: --max-clients; 0: out of file
 * descriptors) and closes fd. */
static void reject_busy(int fd, int max)
{
    char msg[96];
    struct proto_buf b;
    proto_buf_init(&b, 0);
    if (max > 0)
        snprintf(msg, sizeof(msg), "too many clients (max %d); try again later", max);
    else
        snprintf(msg, sizeof(msg), "server out of file descriptors; try again later");
    /* An HTTP client is answered in HTTP (503). What it sent is looked at
     * without waiting, but for a moment (10 ms) when nothing has come yet:
     * browsers and curl send their request right after the connect. The
     * acceptor waits no more than that per client it turns away. */
    char peek[16];
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    ssize_t got = recv(fd, peek, sizeof(peek), MSG_PEEK | MSG_DONTWAIT);
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && poll(&pf, 1, 10) == 1)
        got = recv(fd, peek, sizeof(peek), MSG_PEEK | MSG_DONTWAIT);
    const char *sp = got > 0 ? memchr(peek, ' ', (size_t)got) : NULL;
    int rc = sp != NULL && sp > peek && (size_t)(sp - peek) + 1 < (size_t)got && sp[1] == '/'
                 ? http_error_response(&b, 503, "BUSY", msg, 0, 0)
                 : proto_reply_err(&b, PROTO_E_BUSY, msg);
    if (rc == 0) {
        /* A fresh socket's buffer takes one short line; if not, the client
         * sees the close, which is the same answer. */
        if (send(fd, b.data, b.len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
            log_debug("BUSY reply: %s", strerror(errno));
    }
    proto_buf_free(&b);
    /* Unread input at close() would make it a reset, which may cost the
     * client the answer: read away what came (a bounded amount). */
    for (int i = 0; i < 4 && got > 0; i++) {
        char junk[4096];
        if (recv(fd, junk, sizeof(junk), MSG_DONTWAIT) <= 0)
            break;
    }
    shutdown(fd, SHUT_WR);
    close(fd);
}

/* Logs refused clients at most once a second, so a crowd at the door
 * cannot flood the log. Acceptor thread only. */
static void note_busy(int max)
{
    static time_t last;
    static unsigned long missed;
    time_t now = time(NULL);
    if (now == last) {
        missed++;
        return;
    }
    log_warn("refused %lu client(s): %d clients connected (--max-clients)", missed + 1, max);
    last = now;
    missed = 0;
}

/*
 * Accepts until the queue is empty. When the process is out of file
 * descriptors the pending connection would wake epoll forever: the spare
 * descriptor is given up for a moment to accept it and close it at once.
 */
static void accept_all(int lfd, int *spare, const struct server_config *cfg)
{
    for (;;) {
        struct sockaddr_storage peer;
        socklen_t plen = sizeof(peer);
        memset(&peer, 0, sizeof(peer));
        int fd = accept4(lfd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            if ((errno == EMFILE || errno == ENFILE) && *spare >= 0) {
                /* accept() fails so whether or not a client waits: only
                 * the accept made with the spare's descriptor tells. */
                int why = errno;
                close(*spare);
                fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
                if (fd >= 0) {
                    log_warn("out of file descriptors (%s); refusing a client", strerror(why));
                    reject_busy(fd, 0);
                }
                *spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                    return; /* nobody else waits (or accept failed): back to epoll */
                continue;
            }
            log_error("accept: %s", strerror(errno));
            return;
        }
        /* Full: the connection idle longest makes room, if it has been
         * idle a while (registry_evict); else the newcomer is refused. The
         * evicted one is told why and closed by its worker at once, so the
         * count may pass the limit by the few being closed. */
        if (registry_connections() >= (unsigned)cfg->max_clients && !registry_evict()) {
            note_busy(cfg->max_clients);
            reject_busy(fd, cfg->max_clients);
            continue;
        }
        workers_hand(fd, (struct sockaddr *)&peer);
    }
}

static int count_one(void *arg, const struct store_user *u)
{
    (void)u;
    ++*(int *)arg;
    return 0;
}

/* How many users the database has (store.h), or -1 with a sentence. */
static int count_users(struct store_engine *e, char *err, size_t errcap)
{
    struct store *r;
    int n = 0;
    if (store_connect(e, STORE_ROLE_READ, &r, err, errcap) != STORE_OK)
        return -1;
    int rc = store_users(r, count_one, &n);
    if (rc != STORE_OK)
        snprintf(err, errcap, "cannot read the users: %s", store_errmsg(r));
    store_read_end(r);
    store_close(r);
    return rc == STORE_OK ? n : -1;
}

int server_run(struct server_config *cfg)
{
    char err[512], where[96];
    struct store_engine *engine = NULL;
    int lfd = -1, sfd = -1, ep = -1, spare = -1, status = 1, workers = 0;
    sigset_t mask;

    /* A client that goes away mid-reply must not kill the server; sends
     * also pass MSG_NOSIGNAL. */
    signal(SIGPIPE, SIG_IGN);
    /* Past a file size limit (ulimit -f) a write must fail with EFBIG, to
     * be answered ERR STORE, rather than kill the server. */
    signal(SIGXFSZ, SIG_IGN);
    /* Block SIGINT and SIGTERM in every thread (workers inherit the mask)
     * and read them from a signalfd in the acceptor's loop instead. */
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    if (pthread_sigmask(SIG_BLOCK, &mask, NULL) != 0) {
        log_error("cannot block signals");
        return 1;
    }
    sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sfd < 0) {
        log_error("signalfd: %s", strerror(errno));
        goto out;
    }

    /* Listen before the store is opened: a server that cannot listen (the
     * port taken, the address not this machine's) must leave no new
     * database file behind. It says so in one sentence and exits 2, as for
     * a bad command line, since the fix is in how it was started. Clients
     * that connect meanwhile wait in the listen queue. */
    lfd = listen_on(cfg, where, sizeof(where), err, sizeof(err));
    if (lfd < 0) {
        fprintf(stderr, "todo-server: %s\n", err);
        status = 2;
        goto out;
    }

    /* The engine creates or upgrades the schema before any worker
     * connects, and keeps an in-memory database for as long as it is
     * open. */
    struct store_options so = {.path = cfg->db, .durable = cfg->durable};
    if (store_engine_open(&engine, &so, err, sizeof(err)) != STORE_OK) {
        log_error("%s", err);
        goto out;
    }
    /* A database with users (todo-server user add) asks every client to
     * log in as one; read once, before the workers read cfg. */
    int users = count_users(engine, err, sizeof(err));
    if (users < 0) {
        log_error("%s", err);
        goto out;
    }
    cfg->accounts = users > 0;
    if (cfg->accounts && users_prepare() != 0)
        log_warn("cannot make the hash an unknown user's AUTH is checked against: such an AUTH "
                 "is answered sooner than a known user's");
    if (cfg->demo && load_demo(engine, err, sizeof(err)) != 0) {
        log_error("%s", err);
        goto out;
    }

    if (workers_start(cfg, engine, err, sizeof(err)) != 0) {
        log_error("%s", err);
        goto out;
    }
    workers = 1;
    spare = open("/dev/null", O_RDONLY | O_CLOEXEC);

    ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
    struct epoll_event evs = {.events = EPOLLIN, .data.fd = sfd};
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) != 0 ||
        epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &evs) != 0) {
        log_error("epoll: %s", strerror(errno));
        goto out;
    }

    printf("listening on %s\n", where);
    fflush(stdout);
    /* A PostgreSQL URI may hold a password, which a log must not. */
    char db_shown[512];
    store_path_shown(cfg->db, db_shown, sizeof(db_shown));
    log_info("todo-server %s on %s: %d worker thread%s, database %s (%s), at most %d clients, "
             "idle timeout %d s, line timeout %d s, %s",
             TODO_VERSION, where, cfg->threads, cfg->threads == 1 ? "" : "s", db_shown,
             store_engine_describe(engine), cfg->max_clients, cfg->idle_timeout, cfg->line_timeout,
             cfg->accounts && cfg->auth.enabled ? "accounts and a password"
             : cfg->accounts                    ? "accounts: AUTH <user> <password> required"
             : cfg->auth.enabled                ? "password required"
                                                : "no password");

    for (;;) {
        struct epoll_event got[8];
        /* Once a second at least, for the sweep (timeouts, and closing
         * connections told to go that have not). */
        int n = epoll_wait(ep, got, 8, 1000);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            log_error("epoll_wait: %s", strerror(errno));
            goto out;
        }
        for (int i = 0; i < n; i++) {
            if (got[i].data.fd == sfd) {
                struct signalfd_siginfo si;
                if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                    log_info("%s: finishing requests in flight and stopping",
                             si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
                    status = 0;
                    goto out;
                }
            } else {
                accept_all(lfd, &spare, cfg);
            }
        }
        registry_sweep();
    }
out:
    /* Stop accepting first, then let the workers finish. */
    if (lfd >= 0)
        close(lfd);
    if (workers)
        workers_stop();
    store_engine_close(engine);
    if (ep >= 0)
        close(ep);
    if (sfd >= 0)
        close(sfd);
    if (spare >= 0)
        close(spare);
    if (status == 0)
        log_info("stopped cleanly");
    return status;
}
