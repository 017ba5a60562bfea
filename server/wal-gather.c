/*
 * wal-gather.c - the gathering VFS of wal-gather.h.
 *
 * Why it is safe: SQLite never makes frames visible to another connection
 * until the commit frame is written and the shared-memory index's header
 * is updated, which happens after the last xWrite of the commit returns.
 * The buffer is written out inside that last xWrite, so a reader (another
 * worker, the checkpoint thread) can only ever be told of frames that are
 * already in the file, and a failure is returned to SQLite, which then
 * fails the commit exactly as it would have without this VFS. Frames that
 * SQLite writes before the commit (a transaction too big for its cache)
 * stay in the buffer until the commit or until the connection reads them
 * back, which writes them out first.
 */
#include "wal-gather.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A WAL frame header (page number, commit mark, salts, checksums). */
#define FRAME_HEADER 24
/* The buffer, and so the largest write: a larger commit is written in
 * pieces of this size. It must stay below 128 KiB: the unix VFS cuts the
 * length of every write to 17 bits (it only ever writes pages of 64 KiB at
 * most) and then reports a short write as a full disk. */
#define GATHER_MAX (64 * 1024)

struct gather_file {
    sqlite3_file base;  /* base.pMethods is gather_methods */
    sqlite3_file *real; /* the default VFS's file, right after this struct */
    unsigned char *buf; /* GATHER_MAX bytes, at the first write; len of them to go at off */
    size_t len;
    sqlite3_int64 off;
    int commit_next; /* the next write completes a commit frame */
    /* Where the last commit written out ends: SQLite may write below it
     * only to rewrite frames it has published or is about to (the
     * checksums of a transaction that spilled pages into the WAL before
     * its commit), and such a write goes to the file at once. A new WAL
     * (its header written at offset 0) starts it over. */
    sqlite3_int64 commit_end;
};

static sqlite3_vfs *root;

#ifdef TODO_FAULT_INJECTION
/*
 * Fault injection, compiled in for test builds only (CMake option
 * TODO_FAULT_INJECTION, on with TODO_BUILD_TESTS, absent from a release
 * build). When the environment names a file in TODO_FAULT_FILE, every
 * commit written to the WAL and every read of it first reads that file:
 * "commit-full" in it fails the commit as a full disk would (SQLITE_FULL),
 * "commit-ioerr" as a failed write (SQLITE_IOERR_WRITE), "read-ioerr"
 * fails reads of the WAL (SQLITE_IOERR_READ). The failure comes from
 * below SQLite, where a real disk's would, so SQLite and the server handle
 * it exactly as they would a real one. Without the variable nothing is
 * read and nothing fails. A test that runs the store in its own process
 * (tests/server/test_store.c) says what fails by wal_gather_fault()
 * instead, through store_fault_set().
 */
static const char *fault_file;
/* wal_gather_fault()'s, for tests that run SQLite in their own process:
 * read by every connection's thread, so atomic. */
static atomic_int forced_commit, forced_read;

void wal_gather_fault(int commit_rc, int read_rc)
{
    atomic_store(&forced_commit, commit_rc);
    atomic_store(&forced_read, read_rc);
}

static int fault_get(const char *what, int code)
{
    char text[256];
    if (fault_file == NULL)
        return SQLITE_OK;
    int fd = open(fault_file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return SQLITE_OK;
    ssize_t n = read(fd, text, sizeof(text) - 1);
    close(fd);
    if (n <= 0)
        return SQLITE_OK;
    text[n] = '\0';
    return strstr(text, what) != NULL ? code : SQLITE_OK;
}

static int fault_commit(void)
{
    int rc = atomic_load(&forced_commit);
    if (rc == SQLITE_OK)
        rc = fault_get("commit-full", SQLITE_FULL);
    return rc != SQLITE_OK ? rc : fault_get("commit-ioerr", SQLITE_IOERR_WRITE);
}

static int fault_read(void)
{
    int rc = atomic_load(&forced_read);
    return rc != SQLITE_OK ? rc : fault_get("read-ioerr", SQLITE_IOERR_READ);
}
#else
static int fault_commit(void)
{
    return SQLITE_OK;
}

static int fault_read(void)
{
    return SQLITE_OK;
}
#endif

/* Writes the buffer out. It is emptied even on failure: SQLite treats a
 * failed write as leaving those bytes unknown, and the commit they belong
 * to fails. */
static int flush(struct gather_file *g)
{
    if (g->len == 0)
        return SQLITE_OK;
    int rc = g->real->pMethods->xWrite(g->real, g->buf, (int)g->len, g->off);
    g->len = 0;
    g->commit_next = 0;
    return rc;
}

static int gather_close(sqlite3_file *f)
{
    struct gather_file *g = (struct gather_file *)f;
    int rc = flush(g);
    int rc2 = g->real->pMethods->xClose(g->real);
    free(g->buf);
    g->buf = NULL;
    return rc != SQLITE_OK ? rc : rc2;
}

static int gather_read(sqlite3_file *f, void *p, int amt, sqlite3_int64 off)
{
    struct gather_file *g = (struct gather_file *)f;
    int rc = flush(g);
    if (rc == SQLITE_OK)
        rc = fault_read();
    return rc != SQLITE_OK ? rc : g->real->pMethods->xRead(g->real, p, amt, off);
}

static int gather_write(sqlite3_file *f, const void *p, int amt, sqlite3_int64 off)
{
    struct gather_file *g = (struct gather_file *)f;
    /* Taken before anything else: the flush below for a write that does
     * not fit clears it, and this write must still go out at once. */
    int completes_commit = g->commit_next;
    int rc = SQLITE_OK;

    if (off == 0)
        g->commit_end = 0;
    /* Only appends are gathered: anything else writes the buffer out
     * first, so the file sees every write in SQLite's order; so does an
     * append that would not fit. */
    if (g->len > 0 &&
        (off != g->off + (sqlite3_int64)g->len || g->len + (size_t)amt > GATHER_MAX)) {
        rc = flush(g);
        if (rc != SQLITE_OK)
            return rc;
    }
    g->commit_next = 0;
    if (g->buf == NULL)
        g->buf = malloc(GATHER_MAX);
    /* Without a buffer (out of memory), for a write larger than it, or for
     * a rewrite of what a commit has written out, SQLite's write goes
     * through as it is. */
    if (g->buf == NULL || (size_t)amt > GATHER_MAX || off < g->commit_end)
        return g->real->pMethods->xWrite(g->real, p, amt, off);
    if (g->len == 0)
        g->off = off;
    memcpy(g->buf + g->len, p, (size_t)amt);
    g->len += (size_t)amt;

    if (completes_commit) {
        rc = fault_commit();
        if (rc != SQLITE_OK) {
            /* As a write that failed: the bytes are unknown, the commit fails. */
            g->len = 0;
            g->commit_next = 0;
            return rc;
        }
        g->commit_end = g->off + (sqlite3_int64)g->len;
        return flush(g);
    }
    /* A frame header with a nonzero database size (bytes 4 to 7) marks the
     * last frame of a commit: its page is the next write. */
    if (amt == FRAME_HEADER) {
        const unsigned char *h = p;
        g->commit_next = (h[4] | h[5] | h[6] | h[7]) != 0;
    }
    return SQLITE_OK;
}

static int gather_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    struct gather_file *g = (struct gather_file *)f;
    int rc = flush(g);
    if (g->commit_end > size)
        g->commit_end = size;
    return rc != SQLITE_OK ? rc : g->real->pMethods->xTruncate(g->real, size);
}

static int gather_sync(sqlite3_file *f, int flags)
{
    struct gather_file *g = (struct gather_file *)f;
    int rc = flush(g);
    return rc != SQLITE_OK ? rc : g->real->pMethods->xSync(g->real, flags);
}

static int gather_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
    struct gather_file *g = (struct gather_file *)f;
    int rc = flush(g);
    return rc != SQLITE_OK ? rc : g->real->pMethods->xFileSize(g->real, size);
}

static int gather_lock(sqlite3_file *f, int level)
{
    struct gather_file *g = (struct gather_file *)f;
    return g->real->pMethods->xLock(g->real, level);
}

static int gather_unlock(sqlite3_file *f, int level)
{
    struct gather_file *g = (struct gather_file *)f;
    return g->real->pMethods->xUnlock(g->real, level);
}

static int gather_check_reserved(sqlite3_file *f, int *out)
{
    struct gather_file *g = (struct gather_file *)f;
    return g->real->pMethods->xCheckReservedLock(g->real, out);
}

static int gather_file_control(sqlite3_file *f, int op, void *arg)
{
    struct gather_file *g = (struct gather_file *)f;
    int rc = flush(g);
    return rc != SQLITE_OK ? rc : g->real->pMethods->xFileControl(g->real, op, arg);
}

static int gather_sector_size(sqlite3_file *f)
{
    struct gather_file *g = (struct gather_file *)f;
    return g->real->pMethods->xSectorSize(g->real);
}

static int gather_device(sqlite3_file *f)
{
    struct gather_file *g = (struct gather_file *)f;
    return g->real->pMethods->xDeviceCharacteristics(g->real);
}

/* Version 1: SQLite never maps a WAL file or uses it for shared memory. */
static const sqlite3_io_methods gather_methods = {
    .iVersion = 1,
    .xClose = gather_close,
    .xRead = gather_read,
    .xWrite = gather_write,
    .xTruncate = gather_truncate,
    .xSync = gather_sync,
    .xFileSize = gather_file_size,
    .xLock = gather_lock,
    .xUnlock = gather_unlock,
    .xCheckReservedLock = gather_check_reserved,
    .xFileControl = gather_file_control,
    .xSectorSize = gather_sector_size,
    .xDeviceCharacteristics = gather_device,
};

/* A WAL file is wrapped; any other file is opened by the default VFS right
 * in f, so it costs nothing. */
static int gather_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags,
                       int *out_flags)
{
    (void)vfs;
    if (!(flags & SQLITE_OPEN_WAL))
        return root->xOpen(root, name, f, flags, out_flags);

    struct gather_file *g = (struct gather_file *)f;
    memset(g, 0, sizeof(*g));
    g->real = (sqlite3_file *)(g + 1);
    int rc = root->xOpen(root, name, g->real, flags, out_flags);
    if (rc != SQLITE_OK) {
        /* SQLite closes f only if f->pMethods is set: close the real file
         * here if the default VFS left it half open. */
        if (g->real->pMethods != NULL)
            g->real->pMethods->xClose(g->real);
        g->base.pMethods = NULL;
        return rc;
    }
    g->base.pMethods = &gather_methods;
    return SQLITE_OK;
}

/* The rest of the VFS is the default one's. */
static int gather_delete(sqlite3_vfs *v, const char *name, int sync_dir)
{
    (void)v;
    return root->xDelete(root, name, sync_dir);
}

static int gather_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
    (void)v;
    return root->xAccess(root, name, flags, out);
}

static int gather_full_pathname(sqlite3_vfs *v, const char *name, int n, char *out)
{
    (void)v;
    return root->xFullPathname(root, name, n, out);
}

static void *gather_dlopen(sqlite3_vfs *v, const char *name)
{
    (void)v;
    return root->xDlOpen(root, name);
}

static void gather_dlerror(sqlite3_vfs *v, int n, char *msg)
{
    (void)v;
    root->xDlError(root, n, msg);
}

static void (*gather_dlsym(sqlite3_vfs *v, void *h, const char *sym))(void)
{
    (void)v;
    return root->xDlSym(root, h, sym);
}

static void gather_dlclose(sqlite3_vfs *v, void *h)
{
    (void)v;
    root->xDlClose(root, h);
}

static int gather_randomness(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    return root->xRandomness(root, n, out);
}

static int gather_sleep(sqlite3_vfs *v, int us)
{
    (void)v;
    return root->xSleep(root, us);
}

static int gather_current_time(sqlite3_vfs *v, double *t)
{
    (void)v;
    return root->xCurrentTime(root, t);
}

static int gather_last_error(sqlite3_vfs *v, int n, char *msg)
{
    (void)v;
    return root->xGetLastError(root, n, msg);
}

static int gather_current_time64(sqlite3_vfs *v, sqlite3_int64 *t)
{
    (void)v;
    return root->xCurrentTimeInt64(root, t);
}

static sqlite3_vfs gather_vfs = {
    .iVersion = 2,
    .zName = "todo-wal-gather",
    .xOpen = gather_open,
    .xDelete = gather_delete,
    .xAccess = gather_access,
    .xFullPathname = gather_full_pathname,
    .xDlOpen = gather_dlopen,
    .xDlError = gather_dlerror,
    .xDlSym = gather_dlsym,
    .xDlClose = gather_dlclose,
    .xRandomness = gather_randomness,
    .xSleep = gather_sleep,
    .xCurrentTime = gather_current_time,
    .xGetLastError = gather_last_error,
    .xCurrentTimeInt64 = gather_current_time64,
};

int wal_gather_register(void)
{
#ifdef TODO_FAULT_INJECTION
    fault_file = getenv("TODO_FAULT_FILE");
#endif
    root = sqlite3_vfs_find("unix-excl");
    if (root == NULL)
        return SQLITE_ERROR;
    if (root->iVersion < 2)
        return SQLITE_MISUSE;
    int wrapped = (int)sizeof(struct gather_file) + root->szOsFile;
    gather_vfs.szOsFile = wrapped > root->szOsFile ? wrapped : root->szOsFile;
    gather_vfs.mxPathname = root->mxPathname;
    return sqlite3_vfs_register(&gather_vfs, 1);
}
