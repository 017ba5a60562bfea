/*
 * sqlite-mem.h - SQLite's memory allocator with per-thread lists of small
 * blocks (sqlite-mem.c says why).
 */
#ifndef TODO_SERVER_SQLITE_MEM_H
#define TODO_SERVER_SQLITE_MEM_H

/* Installs it (SQLITE_CONFIG_MALLOC); must run before SQLite's first use,
 * once. 0, or -1 when SQLite is in use already or a thread key cannot be
 * had: SQLite then keeps its own allocator, which is only slower. Under a
 * sanitizer it installs nothing and returns 0. */
int sqlite_mem_install(void);

#endif /* TODO_SERVER_SQLITE_MEM_H */
