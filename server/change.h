/*
 * change.h - what a committed write changed, as data.
 *
 * Each write command that succeeds appends one record to the change log
 * of the batch it ran in: which task, what kind of change, which of its
 * fields. The batch hands the log to its subscriber once COMMIT has
 * succeeded, and drops it on rollback, so that a record always describes
 * a change that is in the store (the WATCH command publishes them; tests
 * read them). A write that was refused records nothing.
 */
#ifndef TODO_SERVER_CHANGE_H
#define TODO_SERVER_CHANGE_H

#include <stddef.h>

#include "todo/proto.h"

enum change_kind {
    CHANGE_ADD,    /* a new task (ADD; IMPORT of an id not there before; the tutorial's POST/) */
    CHANGE_EDIT,   /* fields of an existing task changed */
    CHANGE_DELETE, /* the task is gone */
    CHANGE_PUT,    /* the tutorial's POST/: the text set, of a task that may be new */
};

/* Which fields a change set (CHANGE_ADD: those given). */
enum {
    CHANGE_F_TEXT = 1u << 0,
    CHANGE_F_DONE = 1u << 1, /* the status: done or pending */
    CHANGE_F_PRI = 1u << 2,
    CHANGE_F_DUE = 1u << 3,
    CHANGE_F_TAGS = 1u << 4,
    CHANGE_F_ALL = (1u << 5) - 1, /* IMPORT replace: the task as a whole */
};

struct change {
    enum change_kind kind;
    enum proto_cmd cmd;            /* the command that made it */
    unsigned fields;               /* CHANGE_F_* */
    char list[PROTO_MAX_USER + 1]; /* the task's list (store.h's store_scope) */
    char id[PROTO_MAX_ID + 1];     /* its id in that list */
    /* CHANGE_PUT: 1 when the key was there before (an edit), 0 when the
     * put made it (an add), -1 when nobody asked (no one watched). */
    int existed;
    /* The task as it was right after this change, kept only while someone
     * watches (watch.h), since a later write of the same batch may change
     * it again: its task line (with CRLF) and its tags in the log's text,
     * and its status, which WATCH's filters look at. */
    int has_task;
    int done;
    size_t line_off, line_len, tags_off, tags_len;
};

struct change_log {
    struct change *v;
    size_t n, cap;
    int lost;              /* a record could not be kept (no memory): the log is incomplete */
    struct proto_buf text; /* the task lines and tags of the records that have them */
};

void change_log_init(struct change_log *l);
void change_log_free(struct change_log *l);
/* Empties l, keeping its memory for the next batch (up to a bound). */
void change_log_clear(struct change_log *l);
/* Appends a record of task id of list; on no memory sets l->lost instead. */
void change_log_add(struct change_log *l, enum change_kind kind, enum proto_cmd cmd,
                    unsigned fields, struct proto_str list, struct proto_str id);
/* Keeps task t (as it is right after the change) with record i; 0, or -1
 * when out of memory (the record then has no task, and its event is made
 * from the store at the end of the batch, watch.c). */
int change_log_set_task(struct change_log *l, size_t i, const struct proto_task *t);
/* Records from index mark on are dropped (a write whose savepoint was
 * rolled back after all). */
void change_log_truncate(struct change_log *l, size_t mark);

#endif /* TODO_SERVER_CHANGE_H */
