/*
 * result.c - the calls handlers make on a sink (result.h): each passes the
 * part to the encoder and remembers a failure, so that a handler can go on
 * without checking and the front end learns of it once, at the end.
 */
#include "result.h"

/* A part that is the reply itself (or its end): failing it leaves a reply
 * that cannot be completed. */
static int whole(struct result_sink *k, int rc)
{
    if (rc != 0)
        k->failed = 1;
    return rc;
}

int result_ok(struct result_sink *k, const char *text)
{
    return k->failed ? -1 : whole(k, k->ops->ok(k, text));
}

int result_id(struct result_sink *k, const char *outcome, struct proto_str id)
{
    return k->failed ? -1 : whole(k, k->ops->id(k, outcome, id));
}

int result_error(struct result_sink *k, enum proto_err e, const char *msg)
{
    return k->failed ? -1 : whole(k, k->ops->error(k, e, msg));
}

int result_begin(struct result_sink *k, enum result_list kind)
{
    k->list_bytes = 0;
    return k->failed ? -1 : whole(k, k->ops->begin(k, kind));
}

/* A list's parts may fail without harm: the list is dropped and an error
 * answered in its place. */
int result_task(struct result_sink *k, const struct proto_task *t)
{
    return k->failed ? -1 : k->ops->task(k, t);
}

int result_pair(struct result_sink *k, struct proto_str key, struct proto_str value)
{
    return k->failed ? -1 : k->ops->pair(k, key, value);
}

int result_command(struct result_sink *k, const struct proto_cmd_info *c)
{
    return k->failed ? -1 : k->ops->command(k, c);
}

int result_end(struct result_sink *k)
{
    return k->failed ? -1 : whole(k, k->ops->end(k));
}

void result_drop(struct result_sink *k)
{
    k->ops->drop(k);
    k->list_bytes = 0;
}
