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
#define SERVER_DEFAULT_IDLE_TIMEOUT 60
/* A client whose unread output passes this is disconnected. */
#define SERVER_OUTPUT_MAX (64u * 1024 * 1024)

struct server_config {
    const char *bind; /* numeric address or host name */
    int port;         /* 0: any free port */
    const char *db;   /* SQLite path, or ":memory:" */
    int threads;      /* worker threads */
    int max_clients;  /* open client connections at once */
    int idle_timeout; /* seconds without traffic before a close; 0 = never */
    size_t max_line;  /* longest request line in bytes */
    int sync_full;    /* SQLite synchronous=FULL instead of NORMAL */
    int sched_normal; /* workers keep SCHED_OTHER instead of SCHED_BATCH */
    int demo;         /* load the tutorial's three tasks into an empty store */
    int insecure;     /* allow a non-loopback bind without a password */
    struct auth auth; /* the password, if any */
};

#endif /* TODO_SERVER_CONFIG_H */
