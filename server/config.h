/*
 * config.h - the server's settings, filled in by main.c from the command
 * line and read-only once the worker threads have started.
 */
#ifndef TODO_SERVER_CONFIG_H
#define TODO_SERVER_CONFIG_H

#include <stddef.h>

#include "auth.h"

#define SERVER_DEFAULT_BIND "127.0.0.1"
#define SERVER_DEFAULT_PORT 9000
#define SERVER_DEFAULT_DB "todo.db"
#define SERVER_DEFAULT_MAX_CLIENTS 10240
/* Workers per CPU when the store is PostgreSQL: one each, and not one
 * less as on SQLite, since there a worker waits on the database's round
 * trips. Not more: a worker sends its pass's reads and first writes to
 * the database together (store_read_ahead), so more workers only make
 * smaller batches, and EDIT went faster with two than with four on 2
 * cores (docs/PERFORMANCE.md, "Reading and writing ahead"). */
#define SERVER_REMOTE_THREADS_PER_CPU 1
/* Long enough for a person typing into nc, short enough that connections a
 * crashed program or a dropped network left behind do not pile up. */
#define SERVER_DEFAULT_IDLE_TIMEOUT 300
/* A request line must be finished this long after its first byte: a
 * person types one in well under a minute; a client trickling a byte at a
 * time (which the idle timeout never catches) holds its slot no longer. */
#define SERVER_DEFAULT_LINE_TIMEOUT 60
/* At --max-clients, the connection idle longest makes room for a new
 * client if it has been idle at least this long (ms); if none has, the
 * newcomer gets ERR BUSY. */
#define SERVER_EVICT_MIN_IDLE_MS 1000
/* A client whose unread output passes this is disconnected. */
#define SERVER_OUTPUT_MAX (64u * 1024 * 1024)

#define SERVER_HTTP_HOSTS_MAX 16

struct server_config {
    const char *bind;        /* numeric address or host name */
    int port;                /* 0: any free port */
    const char *db;          /* the store: a file, or ":memory:" */
    int threads;             /* worker threads */
    int max_clients;         /* open client connections at once */
    int idle_timeout;        /* seconds without traffic before a close; 0 = never */
    int line_timeout;        /* seconds from a request line's first byte to its end; 0 = no limit */
    size_t max_line;         /* longest request line in bytes */
    int durable;             /* every commit survives power loss (--sync full) */
    int sched_normal;        /* workers keep SCHED_OTHER instead of SCHED_BATCH */
    int demo;                /* load the tutorial's three tasks into an empty store */
    size_t cache_mb;         /* the shared GET cache's size in MiB; 0: no cache */
    int insecure;            /* allow a non-loopback bind without a password */
    struct auth auth;        /* the password, if any */
    int accounts;            /* the database had users at start: AUTH USER PASSWORD needed */
    size_t watch_ring;       /* changes kept for WATCH since: (--watch-ring) */
    size_t watch_ring_bytes; /* and their bytes at most (--watch-ring-bytes) */
    size_t watch_buffer;     /* a watcher's unsent output past which its watch ends */
    /* HTTP (docs/HTTP.md): names the Host header may give besides the bind
     * address, localhost and IP literals (--http-host, repeatable), and the
     * one foreign origin allowed with CORS (--http-cors; NULL: none). */
    const char *http_hosts[SERVER_HTTP_HOSTS_MAX];
    size_t nhttp_hosts;
    const char *http_cors;
};

#endif /* TODO_SERVER_CONFIG_H */
