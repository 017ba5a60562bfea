/*
 * wal-gather.h - an SQLite VFS that writes each commit's WAL frames with
 * one system call instead of two per frame.
 *
 * SQLite appends a commit to the WAL as frames, each a 24-byte header and
 * a page, and writes each part with its own pwrite(). This VFS sits on top
 * of the default one and, for WAL files only, gathers consecutive appends
 * in a buffer and writes them out with one pwrite() as soon as the frame
 * that carries the commit mark is complete, before SQLite publishes the
 * commit to readers, so that a write that fails still fails the commit.
 * A write below the end of the last commit written out (SQLite rewriting
 * the checksums of a commit) goes to the file at once.
 * Any other use of the WAL file (a read, a sync, a size, a write elsewhere)
 * writes the buffer out first, so nobody ever sees the file without it.
 * Every other file (the database itself, its shared-memory index) is the
 * default VFS's own, untouched.
 */
#ifndef TODO_SERVER_WAL_GATHER_H
#define TODO_SERVER_WAL_GATHER_H

/* Registers the VFS as SQLite's default. Call once, before the first
 * connection is opened. Returns SQLITE_OK or an SQLite error code. */
int wal_gather_register(void);

#ifdef TODO_FAULT_INJECTION
/* Test builds only: from now on, in this whole process, every commit
 * written to a WAL fails with commit_rc and every read of a WAL with
 * read_rc (SQLite codes; SQLITE_OK fails nothing), besides what the file
 * named by TODO_FAULT_FILE says (wal-gather.c). */
void wal_gather_fault(int commit_rc, int read_rc);
#endif

#endif /* TODO_SERVER_WAL_GATHER_H */
