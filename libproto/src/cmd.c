/*
 * cmd.c - the command table, error code names and priority names.
 *
 * One table drives the server's dispatch, HELP, the client's completion and
 * the shell completion scripts, so they cannot drift apart. It is indexed by
 * enum proto_cmd (designated initialisers keep the two in step). The
 * argument counts are what proto_request_parse() accepts (a unit test holds
 * the two together), so a client can refuse a short command before sending
 * it, with the same limits the server applies.
 */
#include <string.h>

#include "proto-internal.h"

/* For a command without keywords, or without due: and pri: words. */
static const char *const no_words[] = {NULL};
static const char *const list_keywords[] = {"pending", "done", "all", NULL};
static const char *const user_keywords[] = {"list", "add", "passwd", "del", "lock", "unlock", NULL};
static const char *const import_keywords[] = {"skip", "replace", "fail", "pending", "done", NULL};
/* The due: and pri: words as completion offers them; "due:" waits for its
 * date. Only EDIT clears a date or a priority, so only it gets the :none
 * forms (ADD takes them too, but they change nothing there). */
static const char *const attr_words[] = {"due:", "pri:low", "pri:med", "pri:high", NULL};
static const char *const edit_attr_words[] = {"due:",     "pri:low",  "pri:med", "pri:high",
                                              "due:none", "pri:none", NULL};

static const struct proto_cmd_info cmd_table[PROTO_CMD__COUNT] = {
    [PROTO_CMD_NONE] = {PROTO_CMD_NONE, "", "", "", 0, no_words, no_words, 0, 0},
    [PROTO_CMD_PING] = {PROTO_CMD_PING, "PING", "", "Checks that the server answers; replies PONG.",
                        PROTO_CMDF_NOAUTH, no_words, no_words, 0, 0},
    [PROTO_CMD_HELLO] = {PROTO_CMD_HELLO, "HELLO", "",
                         "Shows the protocol name, its version and the server's version.",
                         PROTO_CMDF_NOAUTH, no_words, no_words, 0, 0},
    [PROTO_CMD_HELP] = {PROTO_CMD_HELP, "HELP", "[COMMAND]",
                        "Lists the commands, or shows how to use one of them.", PROTO_CMDF_NOAUTH,
                        no_words, no_words, 0, 1},
    [PROTO_CMD_ADD] = {PROTO_CMD_ADD, "ADD",
                       "TEXT... [+TAG]... [due:YYYY-MM-DD] [pri:low|med|high]",
                       "Adds a pending task and replies with its new id.",
                       PROTO_CMDF_WRITE | PROTO_CMDF_TAGS | PROTO_CMDF_ATTRS, no_words, attr_words,
                       1, -1},
    [PROTO_CMD_GET] = {PROTO_CMD_GET, "GET", "ID", "Shows one task.", PROTO_CMDF_ID, no_words,
                       no_words, 1, 1},
    [PROTO_CMD_EDIT] = {PROTO_CMD_EDIT, "EDIT",
                        "ID [TEXT...] [+TAG]... [-TAG]... [due:DATE|due:none] [pri:LEVEL|pri:none]",
                        "Changes a task's text, tags, due date or priority.",
                        PROTO_CMDF_WRITE | PROTO_CMDF_ID | PROTO_CMDF_TAGS | PROTO_CMDF_UNTAGS |
                            PROTO_CMDF_ATTRS | PROTO_CMDF_CLEARS,
                        no_words, edit_attr_words, 2, -1},
    [PROTO_CMD_DONE] = {PROTO_CMD_DONE, "DONE", "ID", "Marks a task as done.",
                        PROTO_CMDF_WRITE | PROTO_CMDF_ID, no_words, no_words, 1, 1},
    [PROTO_CMD_UNDONE] = {PROTO_CMD_UNDONE, "UNDONE", "ID", "Marks a done task as pending again.",
                          PROTO_CMDF_WRITE | PROTO_CMDF_ID, no_words, no_words, 1, 1},
    [PROTO_CMD_DEL] = {PROTO_CMD_DEL, "DEL", "ID", "Deletes a task.",
                       PROTO_CMDF_WRITE | PROTO_CMDF_ID, no_words, no_words, 1, 1},
    [PROTO_CMD_IMPORT] = {PROTO_CMD_IMPORT, "IMPORT",
                          "skip|replace|fail ID pending|done CREATED|- UPDATED|- TEXT... [+TAG]... "
                          "[due:DATE] [pri:LEVEL]",
                          "Restores a task as export wrote it: id, status, times, tags and all.",
                          PROTO_CMDF_WRITE | PROTO_CMDF_TAGS | PROTO_CMDF_ATTRS, import_keywords,
                          attr_words, 6, -1},
    [PROTO_CMD_LIST] = {PROTO_CMD_LIST, "LIST",
                        "[pending|done|all] [+TAG]... [WORD...] [sort:FIELD[,FIELD]...] "
                        "[due:before:DATE] [due:after:DATE] [overdue] [pri:LEVEL]",
                        "Lists tasks (pending ones by default) that have all the tags and words, "
                        "in creation order or as sort: says.",
                        PROTO_CMDF_TAGS, list_keywords, no_words, 0, -1},
    [PROTO_CMD_TAGS] = {PROTO_CMD_TAGS, "TAGS", "",
                        "Lists the tags in use and how many tasks have each.", 0, no_words,
                        no_words, 0, 0},
    [PROTO_CMD_STATS] = {PROTO_CMD_STATS, "STATS", "", "Shows the server's counters.", 0, no_words,
                         no_words, 0, 0},
    [PROTO_CMD_AUTH] = {PROTO_CMD_AUTH, "AUTH", "[USER] PASSWORD",
                        "Logs in: as USER when the server has accounts, or with the server's "
                        "one password.",
                        PROTO_CMDF_NOAUTH, no_words, no_words, 1, 2},
    [PROTO_CMD_QUIT] = {PROTO_CMD_QUIT, "QUIT", "", "Says goodbye and closes the connection.",
                        PROTO_CMDF_NOAUTH, no_words, no_words, 0, 0},
    [PROTO_CMD_UNDO] = {PROTO_CMD_UNDO, "UNDO", "",
                        "Reverts the last change (ADD, EDIT, DONE, UNDONE, DEL, IMPORT), and again "
                        "for the one before.",
                        PROTO_CMDF_WRITE, no_words, no_words, 0, 0},
    [PROTO_CMD_WATCH] = {PROTO_CMD_WATCH, "WATCH", "[pending|done|all] [+TAG]... [since:SEQ]",
                         "Sends an EVENT line for each committed change to a task that matches "
                         "(all tasks by default), after replaying those after since:SEQ.",
                         PROTO_CMDF_TAGS, list_keywords, no_words, 0, PROTO_WATCH_MAX_ARGS},
    [PROTO_CMD_UNWATCH] = {PROTO_CMD_UNWATCH, "UNWATCH", "", "Stops the EVENT lines of WATCH.", 0,
                           no_words, no_words, 0, 0},
    [PROTO_CMD_SHARE] = {PROTO_CMD_SHARE, "SHARE", "[LIST] USER",
                         "Lets USER see and change the tasks of your list (LIST, if given, must "
                         "be yours: each user has one, named after them).",
                         PROTO_CMDF_WRITE, no_words, no_words, 1, 2},
    [PROTO_CMD_UNSHARE] = {PROTO_CMD_UNSHARE, "UNSHARE", "[LIST] USER",
                           "Takes back SHARE: USER no longer sees your list.", PROTO_CMDF_WRITE,
                           no_words, no_words, 1, 2},
    [PROTO_CMD_USE] = {PROTO_CMD_USE, "USE", "[LIST]",
                       "Works in LIST from now on: a list shared with you, or your own (the "
                       "default).",
                       0, no_words, no_words, 0, 1},
    [PROTO_CMD_SHARES] = {PROTO_CMD_SHARES, "SHARES", "",
                          "Lists the shares of your list and those with you, as LIST USER pairs.",
                          0, no_words, no_words, 0, 0},
    [PROTO_CMD_USER] = {PROTO_CMD_USER, "USER",
                        "list | add|passwd USER PASSWORD | del|lock|unlock USER",
                        "For an admin: lists the users, adds one, sets one's password, removes one "
                        "with their list, or locks and unlocks one.",
                        PROTO_CMDF_WRITE, user_keywords, no_words, 1, 3},
    [PROTO_CMD_LEGACY_GET] =
        {PROTO_CMD_LEGACY_GET, "GET/", "KEY/FIELD",
         "The tutorial's query: replies with the task's text, or no key match.", PROTO_CMDF_HIDDEN,
         no_words, no_words, 0, 0},
    [PROTO_CMD_LEGACY_POST] = {PROTO_CMD_LEGACY_POST, "POST/", "KEY=TEXT/FIELD",
                               "The tutorial's update: stores the text under the key.",
                               PROTO_CMDF_HIDDEN | PROTO_CMDF_WRITE, no_words, no_words, 0, 0},
};

const struct proto_cmd_info *proto_cmd_info(enum proto_cmd cmd)
{
    if ((int)cmd < 0 || cmd >= PROTO_CMD__COUNT)
        return NULL;
    return &cmd_table[cmd];
}

/* Hidden entries (the legacy forms) are recognised by their shape in
 * proto_request_parse(), never by name, so the lookup skips them. */
enum proto_cmd proto_cmd_lookup(const char *name, size_t len)
{
    if (name == NULL || len == 0)
        return PROTO_CMD_NONE;
    for (int i = PROTO_CMD_NONE + 1; i < PROTO_CMD__COUNT; i++) {
        const struct proto_cmd_info *c = &cmd_table[i];
        if (c->flags & PROTO_CMDF_HIDDEN)
            continue;
        if (proto__eq_nocase(name, len, c->name))
            return c->cmd;
    }
    return PROTO_CMD_NONE;
}

static const char *const err_names[PROTO_E__COUNT] = {
    [PROTO_E_NONE] = "NONE",         [PROTO_E_SYNTAX] = "SYNTAX",     [PROTO_E_UNKNOWN] = "UNKNOWN",
    [PROTO_E_ARGS] = "ARGS",         [PROTO_E_NOTFOUND] = "NOTFOUND", [PROTO_E_TOOLONG] = "TOOLONG",
    [PROTO_E_ENCODING] = "ENCODING", [PROTO_E_AUTH] = "AUTH",         [PROTO_E_BUSY] = "BUSY",
    [PROTO_E_STORE] = "STORE",       [PROTO_E_INTERNAL] = "INTERNAL", [PROTO_E_EXISTS] = "EXISTS",
    [PROTO_E_TIMEOUT] = "TIMEOUT",   [PROTO_E_CONFLICT] = "CONFLICT", [PROTO_E_EXPIRED] = "EXPIRED",
};

/* An out-of-range code is a bug on our side, so it is named INTERNAL. */
const char *proto_err_name(enum proto_err e)
{
    if ((int)e < 0 || e >= PROTO_E__COUNT)
        return err_names[PROTO_E_INTERNAL];
    return err_names[e];
}

/* Exact and case-sensitive: codes are machine-readable words. A code from a
 * newer peer that we do not know is reported as INTERNAL. */
enum proto_err proto_err_lookup(const char *name, size_t len)
{
    if (name == NULL)
        return PROTO_E_INTERNAL;
    for (int i = 0; i < PROTO_E__COUNT; i++)
        if (proto__eq(name, len, err_names[i]))
            return (enum proto_err)i;
    return PROTO_E_INTERNAL;
}

static const char *const pri_names[] = {[PROTO_PRI_NONE] = "-",
                                        [PROTO_PRI_LOW] = "low",
                                        [PROTO_PRI_MED] = "med",
                                        [PROTO_PRI_HIGH] = "high"};

const char *proto_pri_name(int pri)
{
    if (pri < PROTO_PRI_NONE || pri > PROTO_PRI_HIGH)
        return "?";
    return pri_names[pri];
}

static const char *const import_modes[] = {
    [PROTO_IMPORT_FAIL] = "fail", [PROTO_IMPORT_SKIP] = "skip", [PROTO_IMPORT_REPLACE] = "replace"};

const char *proto_import_mode_name(int mode)
{
    if (mode < PROTO_IMPORT_FAIL || mode > PROTO_IMPORT_REPLACE)
        return "?";
    return import_modes[mode];
}

int proto_import_mode_parse(const char *s, size_t len)
{
    if (s == NULL)
        return -1;
    for (int i = PROTO_IMPORT_FAIL; i <= PROTO_IMPORT_REPLACE; i++)
        if (proto__eq_nocase(s, len, import_modes[i]))
            return i;
    return -1;
}

const char *proto_user_op_name(int op)
{
    if (op < PROTO_USER_LIST || op > PROTO_USER_UNLOCK)
        return "?";
    return user_keywords[op];
}

int proto_user_op_parse(const char *s, size_t len)
{
    if (s == NULL)
        return -1;
    for (int i = PROTO_USER_LIST; i <= PROTO_USER_UNLOCK; i++)
        if (proto__eq_nocase(s, len, user_keywords[i]))
            return i;
    return -1;
}

/* People type these, so they are matched without regard to case. The digits
 * count up from none (0) to high (3). "-" is the wire form of "none" in
 * task lines and is handled by proto_task_decode(), not here. */
int proto_pri_parse(const char *s, size_t len)
{
    static const struct {
        const char *word;
        int pri;
    } forms[] = {
        {"none", PROTO_PRI_NONE}, {"0", PROTO_PRI_NONE}, {"low", PROTO_PRI_LOW},
        {"l", PROTO_PRI_LOW},     {"1", PROTO_PRI_LOW},  {"med", PROTO_PRI_MED},
        {"m", PROTO_PRI_MED},     {"2", PROTO_PRI_MED},  {"high", PROTO_PRI_HIGH},
        {"h", PROTO_PRI_HIGH},    {"3", PROTO_PRI_HIGH},
    };
    if (s == NULL)
        return -1;
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++)
        if (proto__eq_nocase(s, len, forms[i].word))
            return forms[i].pri;
    return -1;
}

int proto__eq_nocase(const char *s, size_t n, const char *word)
{
    size_t wl = strlen(word);
    if (n != wl)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char a = (unsigned char)s[i], b = (unsigned char)word[i];
        if (a >= 'A' && a <= 'Z')
            a = (unsigned char)(a - 'A' + 'a');
        if (b >= 'A' && b <= 'Z')
            b = (unsigned char)(b - 'A' + 'a');
        if (a != b)
            return 0;
    }
    return 1;
}

int proto__eq(const char *s, size_t n, const char *word)
{
    if (n != strlen(word))
        return 0;
    return n == 0 || memcmp(s, word, n) == 0;
}
