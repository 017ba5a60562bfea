/*
 * stream.h - LIST replies too big to make at once, made and sent a slice
 * at a time.
 *
 * A LIST that does not fit in CMD_LIST_INLINE_MAX bytes (commands.h) is taken over by a
 * stream: a read connection of its own from a small pool (STREAM_MAX),
 * whose read transaction holds one snapshot for the whole reply, so that
 * the "DATA n" it sends first and the n lines that follow agree, while
 * the worker's own connection goes on reading fresh data for everyone
 * else. The stream first counts the tasks, a bounded number of rows per
 * turn, then sends "DATA n" and the lines, one slice of at most
 * STREAM_SLICE bytes per turn of the worker's loop, and only once the
 * client has taken most of what was sent before (worker.c): other
 * connections get their turn between slices, and a client that does not
 * read holds a few hundred KiB of replies, not the whole list.
 *
 * A snapshot kept open holds the store's maintenance back (SQLite cannot
 * checkpoint its WAL past it and start it over), so a stream that the
 * client stops taking is not kept:
 * streams_reap() shuts down the connection of a stream that made no
 * progress for STREAM_STALL_MS. When every stream is in use, LIST of a
 * big list is answered ERR BUSY (the caller's choice).
 *
 * A stream belongs to the connection it serves, and so to that
 * connection's owner (worker.c); streams_reap() only reads the fields
 * marked below, under the pool's lock.
 */
#ifndef TODO_SERVER_STREAM_H
#define TODO_SERVER_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "todo/proto.h"

/* Task lines made per turn, in bytes (one line may pass it), and rows
 * counted per turn before "DATA n" can be sent: each some 0.2 ms of the
 * worker. With two clients looping LIST all of 100,000 tasks on one
 * worker, a third client's PING had a p99 of 0.9-3.0 ms with 16 KiB and
 * 256 rows, 2.3-5.6 ms with 32 KiB and 512, 4.7 ms with 64 KiB and 1,024,
 * 13-30 ms with 256 KiB and 4,096 (under load), for about the same LIST
 * throughput (bench/list-load, docs/PERFORMANCE.md). */
#define STREAM_SLICE (16 * 1024)
#define STREAM_COUNT_ROWS 256
/* Streams at once in the whole server. */
#define STREAM_MAX 8
/* A stream that has sent nothing for this long is ended. */
#define STREAM_STALL_MS 10000

struct stream;
struct store_engine;

/* Sets up the pool for the store of e (which must outlive it); its
 * connections (STORE_ROLE_STREAM) are opened when first needed. */
void streams_init(struct store_engine *e);
/* Closes the pool's connections; no stream may be in use. */
void streams_close(void);

/* Takes a free stream for the client on socket fd and begins req's LIST
 * of list (the client's, store.h's store_scope) on it. NULL when every
 * stream is in use (*busy set), or on an error (a sentence in err). */
struct stream *stream_start(int fd, const struct proto_request *req, struct proto_str list,
                            int64_t now_ms, int *busy, char *err, size_t errcap);

enum stream_rc {
    STREAM_MORE,   /* call again once the client has taken most of out */
    STREAM_DONE,   /* the reply is complete, or an error reply replaced it */
    STREAM_BROKEN, /* failed after "DATA n" was sent: the reply cannot be completed */
};
/* One turn: counts, or appends the next slice of the reply to out. */
enum stream_rc stream_turn(struct stream *st, struct proto_buf *out, int64_t now_ms);
/* Ends the stream (its snapshot too) and gives it back to the pool. */
void stream_end(struct stream *st);

/* Shuts down (shutdown(2); its owner closes it) the connection of every
 * stream that has made no progress for STREAM_STALL_MS. Cheap when no
 * stream is in use; any thread. */
void streams_reap(int64_t now_ms);

#endif /* TODO_SERVER_STREAM_H */
