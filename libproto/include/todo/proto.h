/*
 * proto.h - the todo wire protocol: command table, request and reply
 * encoders and decoders.
 *
 * libproto is pure: it has no sockets, threads, globals, terminals or I/O.
 * Every function is reentrant. Memory is the caller's: decoders point into
 * the caller's buffers or write into a caller-supplied scratch area, and the
 * only allocating type is struct proto_buf, which the caller initialises and
 * frees. docs/PROTOCOL.md describes the protocol for people.
 *
 * Bump PROTO_VERSION whenever anything a peer can observe changes.
 */
#ifndef TODO_PROTO_H
#define TODO_PROTO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PROTO_NAME "todo"
#define PROTO_VERSION 4

/* Default and hard limits. A line is counted without its LF / CRLF. */
#define PROTO_MAX_LINE_DEFAULT (64 * 1024)
#define PROTO_MAX_ARGS 64 /* tokens after the verb */
#define PROTO_MAX_TAGS 16 /* tags on one task, and tag filters in one LIST */
#define PROTO_MAX_ID 64   /* bytes in a task id: [A-Za-z0-9_.-]{1,64} */
#define PROTO_MAX_USER 64 /* bytes in a user's name (AUTH USER PASSWORD), see proto_valid_user */
#define PROTO_MAX_TAG 32  /* bytes in a tag: 1 to 32 bytes of letters, digits, _ . - */
#define PROTO_DATE_LEN 10 /* "YYYY-MM-DD" */
#define PROTO_TIME_LEN 20 /* "YYYY-MM-DDTHH:MM:SSZ" */

/* The result of every incremental decoder. */
enum proto_status {
    PROTO_COMPLETE = 0, /* one whole item was decoded */
    PROTO_NEED_MORE,    /* the buffer holds no whole item yet; feed more bytes */
    PROTO_ERROR         /* the input is bad; see the function for what to do */
};

/* Stable, machine-readable error codes. They appear on the wire as the
 * upper-case word returned by proto_err_name(). */
enum proto_err {
    PROTO_E_NONE = 0,
    PROTO_E_SYNTAX,   /* malformed request (bad quoting, bad escape, legacy form) */
    PROTO_E_UNKNOWN,  /* no such command */
    PROTO_E_ARGS,     /* wrong number or kind of arguments, bad id/tag/date/priority */
    PROTO_E_NOTFOUND, /* no task with that id */
    PROTO_E_TOOLONG,  /* line longer than the server's maximum */
    PROTO_E_ENCODING, /* NUL byte or invalid UTF-8 */
    PROTO_E_AUTH,     /* authentication required or wrong password */
    PROTO_E_BUSY,     /* too many clients */
    PROTO_E_STORE,    /* the server's storage failed; nothing was changed */
    PROTO_E_INTERNAL, /* anything else on the server's side */
    PROTO_E_EXISTS,   /* IMPORT fail: a task with that id exists already */
    PROTO_E_TIMEOUT,  /* the connection was idle, or a request line too slow; closed */
    PROTO_E_CONFLICT, /* UNDO: the task changed after the change to undo; not undone */
    PROTO_E_EXPIRED,  /* WATCH since:SEQ: the changes after SEQ are no longer kept; reload */
    PROTO_E__COUNT
};

/* "SYNTAX", "NOTFOUND", ... ; "NONE" for PROTO_E_NONE; never NULL. */
const char *proto_err_name(enum proto_err e);
/* Inverse of proto_err_name (exact, upper case); PROTO_E_INTERNAL if unknown. */
enum proto_err proto_err_lookup(const char *name, size_t len);

/* A byte string that is not NUL-terminated. */
struct proto_str {
    const char *ptr;
    size_t len;
};

/* ------------------------------------------------------------------------
 * The command table. One table drives the server's dispatch, HELP, the
 * client's completion and the shell completion scripts.
 * ---------------------------------------------------------------------- */

enum proto_cmd {
    PROTO_CMD_NONE = 0, /* an empty line: the server ignores it and sends nothing */
    PROTO_CMD_PING,
    PROTO_CMD_HELLO,
    PROTO_CMD_HELP,
    PROTO_CMD_ADD,
    PROTO_CMD_GET,
    PROTO_CMD_EDIT,
    PROTO_CMD_DONE,
    PROTO_CMD_UNDONE,
    PROTO_CMD_DEL,
    PROTO_CMD_IMPORT, /* restores a task as export wrote it */
    PROTO_CMD_LIST,
    PROTO_CMD_TAGS,
    PROTO_CMD_STATS,
    PROTO_CMD_AUTH,
    PROTO_CMD_QUIT,
    PROTO_CMD_UNDO,        /* reverts the last change kept in the server's undo history */
    PROTO_CMD_WATCH,       /* subscribes the connection to committed changes (EVENT lines) */
    PROTO_CMD_UNWATCH,     /* ends it */
    PROTO_CMD_SHARE,       /* lets another user use the caller's list */
    PROTO_CMD_UNSHARE,     /* takes that back */
    PROTO_CMD_USE,         /* works in a list shared with the caller, or in the caller's own */
    PROTO_CMD_SHARES,      /* who shares with whom, as far as the caller is concerned */
    PROTO_CMD_USER,        /* an admin manages users: USER add|passwd|del|lock|unlock|list */
    PROTO_CMD_LEGACY_GET,  /* the tutorial's GET/<key>/<field> */
    PROTO_CMD_LEGACY_POST, /* the tutorial's POST/<key>=<text>/<field> */
    PROTO_CMD__COUNT
};

/* Flags of a command table entry. */
#define PROTO_CMDF_WRITE 0x01  /* changes the store */
#define PROTO_CMDF_NOAUTH 0x02 /* allowed before AUTH when a password is set */
#define PROTO_CMDF_ID 0x04     /* first argument is a task id (complete live ids) */
#define PROTO_CMDF_TAGS 0x08   /* takes +tag words (complete live tags) */
#define PROTO_CMDF_HIDDEN 0x10 /* legacy form: not listed by HELP or completion */
#define PROTO_CMDF_ATTRS 0x20  /* takes due:DATE and pri:LEVEL words */
#define PROTO_CMDF_UNTAGS 0x40 /* takes -tag words, which remove a tag (EDIT) */
#define PROTO_CMDF_CLEARS 0x80 /* takes due:none and pri:none, which clear them (EDIT) */

struct proto_cmd_info {
    enum proto_cmd cmd;
    const char *name;    /* upper case, as sent: "ADD"; "" for PROTO_CMD_NONE */
    const char *usage;   /* arguments after the name: "TEXT... [+TAG]... [due:DATE] [pri:LEVEL]" */
    const char *summary; /* one sentence for HELP */
    unsigned flags;      /* PROTO_CMDF_* */
    /* Words this command takes literally (LIST's "pending", "done", "all"),
     * NULL-terminated; never NULL itself. */
    const char *const *keywords;
    /* The due: and pri: words it takes, as completion offers them ("due:",
     * "pri:high", and "due:none" with PROTO_CMDF_CLEARS), NULL-terminated;
     * never NULL itself, empty without PROTO_CMDF_ATTRS. */
    const char *const *attrs;
    /* How many words after the name proto_request_parse() accepts: at least
     * min_args and at most max_args (-1: any number, up to PROTO_MAX_ARGS).
     * A count in range may still be refused for what the words say. */
    int min_args, max_args;
};

/* The entry for cmd, or NULL if cmd is out of range. */
const struct proto_cmd_info *proto_cmd_info(enum proto_cmd cmd);
/* Looks a verb up case-insensitively among visible commands; PROTO_CMD_NONE if unknown. */
enum proto_cmd proto_cmd_lookup(const char *name, size_t len);

/* Priority levels. On the wire: "-", "low", "med", "high". */
enum proto_pri { PROTO_PRI_NONE = 0, PROTO_PRI_LOW, PROTO_PRI_MED, PROTO_PRI_HIGH };
#define PROTO_PRI_KEEP (-1)          /* EDIT: leave the priority as it is */
const char *proto_pri_name(int pri); /* "-" for NONE; "?" out of range */
/* Accepts "low|med|high|none" and their short forms "l|m|h|0|1|2|3"; -1 if invalid. */
int proto_pri_parse(const char *s, size_t len);

/* What IMPORT does when a task with the id exists: leave it and answer
 * "OK skipped ID", replace it ("OK replaced ID"), or refuse (ERR EXISTS).
 * On the wire: "skip", "replace", "fail". */
enum proto_import_mode { PROTO_IMPORT_FAIL = 0, PROTO_IMPORT_SKIP, PROTO_IMPORT_REPLACE };
/* "fail", "skip", "replace"; "?" out of range. */
const char *proto_import_mode_name(int mode);
/* The inverse, without regard to case; -1 if invalid. */
int proto_import_mode_parse(const char *s, size_t len);
/* USER's first word: what an admin does to a user (USER list: to none).
 * On the wire: "list", "add", "passwd", "del", "lock", "unlock". */
enum proto_user_op {
    PROTO_USER_LIST = 0,
    PROTO_USER_ADD,
    PROTO_USER_PASSWD,
    PROTO_USER_DEL,
    PROTO_USER_LOCK,
    PROTO_USER_UNLOCK
};
/* "list", "add", ...; "?" out of range. */
const char *proto_user_op_name(int op);
/* The inverse, without regard to case; -1 if invalid. */
int proto_user_op_parse(const char *s, size_t len);

/* IMPORT's CREATED or UPDATED given as "-": the server's time now. */
#define PROTO_TIME_NOW INT64_MIN

/* LIST's and WATCH's status filter. */
enum proto_filter { PROTO_FILTER_PENDING = 0, PROTO_FILTER_DONE, PROTO_FILTER_ALL };

/* LIST's sort:FIELD[,FIELD]... fields, each in its natural order (due:
 * soonest first, tasks without one last; pri: high first; created and
 * updated: oldest first; id: numeric ids in numeric order); a '-' before
 * the field reverses it. Ties always fall back to creation order, so the
 * order is stable. "sort:next" is due,pri,created,id: what needs doing
 * first. Without sort:, LIST keeps creation order. */
enum proto_sort {
    PROTO_SORT_DUE = 1,
    PROTO_SORT_PRI,
    PROTO_SORT_CREATED,
    PROTO_SORT_UPDATED,
    PROTO_SORT_ID
};
#define PROTO_MAX_SORT 5 /* fields in one sort: */
/* WATCH's words at most: one status word, PROTO_MAX_TAGS tags, since:SEQ. */
#define PROTO_WATCH_MAX_ARGS (PROTO_MAX_TAGS + 2)

/* ------------------------------------------------------------------------
 * Validation helpers, shared by both ends.
 * ---------------------------------------------------------------------- */

int proto_valid_utf8(const char *s,
                     size_t len);              /* 1 if valid UTF-8 (no overlongs, no surrogates) */
int proto_valid_id(const char *s, size_t len); /* 1 if [A-Za-z0-9_.-]{1,PROTO_MAX_ID} */
/* 1 if s may name a user: 1 to PROTO_MAX_USER bytes of ASCII letters,
 * digits, '.', '_' and '-', beginning with a letter or a digit (so that
 * a name is one word on the wire and in a shell, and never looks like an
 * option). Case matters. */
int proto_valid_user(const char *s, size_t len);
/* 1 if s is 1 to PROTO_MAX_TAG bytes of valid UTF-8 made of letters,
 * marks and decimal digits of any script (proto_letter_or_digit), '_', '.'
 * and '-'. Tags compare byte for byte: case matters and no Unicode
 * normalization is done (send NFC; "caf\u00e9" and "cafe\u0301" differ). */
int proto_valid_tag(const char *s, size_t len);
int proto_valid_date(const char *s, size_t len); /* 1 if a real calendar date YYYY-MM-DD */

/* 1 if the code point is an ASCII letter or digit, or past ASCII a letter
 * (L*), mark (M*) or decimal digit (Nd) in the Unicode version that
 * proto_unicode_version() names (libproto's own table; no locale). */
int proto_letter_or_digit(uint32_t cp);
const char *proto_unicode_version(void); /* "14.0.0" */

/* LIST's word filter: 1 if every word of words (separated by blanks) is in
 * text as a word, in any order, ignoring ASCII case. A word is found where
 * the text does not go on with a letter, digit or '_' before or after it
 * (checked only on a side where the word itself has a letter or digit);
 * letters of scripts written without spaces (Chinese, Japanese, Thai, ...)
 * never join, so such words are found anywhere. Both are valid UTF-8. */
int proto_text_has_words(const char *text, size_t tlen, const char *words, size_t wlen);

/* Resolves a due date word against today ("YYYY-MM-DD", the caller's local
 * date: libproto has no clock) into out as YYYY-MM-DD. Words, in any case:
 *   YYYY-MM-DD                itself
 *   today tomorrow yesterday  today, +1 day, -1 day
 *   monday..sunday, mon..sun  the next such day strictly after today
 *                             (said on a Monday, "mon" is a week ahead)
 *   +Nd +Nw +Nm               N (0..9999) days, weeks or months ahead; a
 *                             month step clamps to the month's last day
 *                             (Jan 31 +1m is Feb 28, or 29 in a leap year)
 *   eow eom eoy               the end of the ISO week (the coming Sunday,
 *                             today when today is a Sunday), month, year
 *   none                      no date: returns 1 and leaves out ""
 * Returns 0, 1 for none, or -1 (out "") for anything else, a bad today, or a
 * date outside the years 0001..9999. */
int proto_date_resolve(const char *word, size_t len, const char *today,
                       char out[PROTO_DATE_LEN + 1]);
/* 1 if word is one proto_date_resolve() takes (none included), whatever today is. */
int proto_date_word_valid(const char *word, size_t len);
/* The words completion offers after "due:" (today, tomorrow, mon, ...,
 * eow, +1d, ...), NULL-terminated; "none" is not among them (it is one of
 * EDIT's attrs). */
const char *const *proto_date_words(void);
/* Days since 1970-01-01 of a YYYY-MM-DD date; INT64_MIN if it is not one. */
int64_t proto_date_days(const char *s, size_t len);

/* Formats seconds since the epoch as "YYYY-MM-DDTHH:MM:SSZ" (UTC) into out,
 * which must hold PROTO_TIME_LEN + 1 bytes. */
void proto_time_format(int64_t t, char out[PROTO_TIME_LEN + 1]);
/* Parses that form back; 0 on success, -1 if malformed. */
int proto_time_parse(const char *s, size_t len, int64_t *t);

/* ------------------------------------------------------------------------
 * A growable output buffer, capped at a maximum size.
 * ---------------------------------------------------------------------- */

struct proto_buf {
    char *data; /* NULL until the first append */
    size_t len; /* bytes held */
    size_t cap; /* bytes allocated */
    size_t max; /* appends that would pass this fail; 0 means SIZE_MAX */
};

void proto_buf_init(struct proto_buf *b, size_t max);
void proto_buf_free(struct proto_buf *b); /* frees data; b may be reused after init */
/* Appends n bytes. 0 on success; -1 (nothing appended) when out of memory or past max. */
int proto_buf_append(struct proto_buf *b, const void *p, size_t n);
/* Drops the first n bytes (n <= len), e.g. after they were written to a socket. */
void proto_buf_consume(struct proto_buf *b, size_t n);

/* Appends s as one token: bare when it is non-empty and holds only bytes
 * other than space, '"', '\\', control bytes and DEL; otherwise (or when
 * force is set) double-quoted with \" \\ \n \r \t and \xHH escapes. Any
 * byte string round-trips through proto_tokenize(). 0 or -1 as above. */
int proto_quote_append(struct proto_buf *b, const char *s, size_t n, int force);

/* ------------------------------------------------------------------------
 * The tokenizer, shared by requests and data lines.
 * ---------------------------------------------------------------------- */

struct proto_token {
    struct proto_str s; /* unescaped bytes (in scratch when quoted, else in the line) */
    int quoted;         /* 1 if the token was double-quoted on the wire */
};

/* Splits line (no terminator) into tokens separated by spaces or tabs.
 * Quoted tokens are unescaped into scratch, which needs at most len bytes.
 * Returns the number of tokens (0..max) on success, or -1 with a sentence in
 * err (errcap bytes, always NUL-terminated) on an unterminated quote, a bad
 * escape, a quote not followed by a space, or more than max tokens. */
int proto_tokenize(const char *line, size_t len, char *scratch, size_t scratch_cap,
                   struct proto_token *toks, size_t max, char *err, size_t errcap);

/* ------------------------------------------------------------------------
 * Requests: framing (server), parsing (server) and encoding (client).
 * ---------------------------------------------------------------------- */

/* Splits a byte stream into lines. The caller keeps the unconsumed bytes at
 * the start of its buffer and passes them again with new bytes appended. */
struct proto_reader {
    size_t max_line;
    size_t scanned; /* bytes already searched for LF (private) */
    int discarding; /* skipping the rest of an oversized line (private) */
};

/* max_line 0 means PROTO_MAX_LINE_DEFAULT. */
void proto_reader_init(struct proto_reader *r, size_t max_line);

/* Finds the next line in buf[0..len).
 * PROTO_COMPLETE: *line / *line_len is the line without LF or CRLF (it points
 *   into buf); *consumed counts the line and its terminator.
 * PROTO_NEED_MORE: no whole line yet. *consumed bytes (only while an oversized
 *   line is being skipped) may be dropped; keep the rest.
 * PROTO_ERROR: a line passed max_line: answer PROTO_E_TOOLONG once. *consumed
 *   bytes may be dropped; the reader skips silently to the end of that line
 *   and then carries on, so the connection stays usable. */
enum proto_status proto_reader_next(struct proto_reader *r, const char *buf, size_t len,
                                    const char **line, size_t *line_len, size_t *consumed);

/* A parsed request. String fields point into the line or the scratch area
 * given to proto_request_parse() and live as long as both do. */
struct proto_request {
    enum proto_cmd cmd;
    struct proto_str id;   /* GET EDIT DONE UNDONE DEL; legacy key */
    struct proto_str text; /* ADD EDIT legacy-POST: task text; LIST: word filter;
                            * AUTH: password; HELP: command name */
    struct proto_str user; /* AUTH USER PASSWORD: the user (len 0: AUTH PASSWORD);
                            * SHARE, UNSHARE, USER: the user */
    int user_op;           /* USER: enum proto_user_op (text: the password of add, passwd) */
    int has_text;          /* text was given (EDIT: replace the text) */
    int pri;               /* ADD: PROTO_PRI_*; EDIT: PROTO_PRI_* or PROTO_PRI_KEEP */
    int due_op;            /* 0 keep / none, 1 set to due, -1 clear (EDIT due:none) */
    char due[PROTO_DATE_LEN + 1];
    enum proto_filter filter; /* LIST */
    /* LIST: the sort fields (enum proto_sort, negative for descending), in
     * order; nsort 0 for creation order. */
    size_t nsort;
    int sort[PROTO_MAX_SORT];
    /* LIST: due:before:DATE and due:after:DATE ("" when not given; both
     * leave out tasks without a due date), "overdue" (pending and due
     * before today), pri:LEVEL (the level + 1, so that a zeroed request
     * filters nothing; 0 for any). */
    char due_before[PROTO_DATE_LEN + 1], due_after[PROTO_DATE_LEN + 1];
    int overdue;
    int pri_match;
    size_t ntags; /* ADD: tags; EDIT: tags to add; LIST: tags to match (all) */
    struct proto_str tags[PROTO_MAX_TAGS];
    size_t nuntags; /* EDIT: tags to remove (-tag) */
    struct proto_str untags[PROTO_MAX_TAGS];
    /* IMPORT (id, text, tags, pri, due as for ADD and GET): */
    int import_mode;          /* enum proto_import_mode */
    int done;                 /* the task's status is done */
    int64_t created, updated; /* seconds since the epoch, or PROTO_TIME_NOW */
    /* WATCH: filter (default PROTO_FILTER_ALL) and tags as LIST's, and
     * since:SEQ (has_since set): replay the changes after SEQ first. */
    int has_since;
    uint64_t since;
};

/* Parses one line (as given by proto_reader_next) into req. Text that needs
 * unescaping is written into scratch, which needs at most len + 1 bytes.
 * Returns PROTO_E_NONE, or an error code with a sentence for people in err
 * (errcap bytes, always NUL-terminated). An empty or blank line gives
 * PROTO_CMD_NONE. Never reads outside line[0..len). */
enum proto_err proto_request_parse(const char *line, size_t len, char *scratch, size_t scratch_cap,
                                   struct proto_request *req, char *err, size_t errcap);

/* proto_request_parse() with the peer's "today" (YYYY-MM-DD, in the zone
 * the words are meant in): ADD's and EDIT's due: then also take the words
 * of proto_date_resolve(), resolved against it, so that req->due is always
 * a date. proto_request_parse() is this with today NULL: ISO dates only.
 * IMPORT takes ISO dates only either way. */
enum proto_err proto_request_parse_dated(const char *line, size_t len, char *scratch,
                                         size_t scratch_cap, const char *today,
                                         struct proto_request *req, char *err, size_t errcap);

/* An argument for proto_request_encode(). */
struct proto_arg {
    const char *ptr;
    size_t len;
    int force_quote; /* 1: always quoted, so the server takes it as text, never as
                      * +tag / -tag / due: / pri: / a LIST keyword */
};

/* Appends "VERB arg arg...\r\n" for cmd (visible commands only), quoting
 * each argument as proto_quote_append() does. 0, or -1 if out of memory,
 * past the buffer's max, or cmd is not a visible command. */
int proto_request_encode(struct proto_buf *b, enum proto_cmd cmd, const struct proto_arg *args,
                         size_t nargs);

/* ------------------------------------------------------------------------
 * Replies: encoding (server) and incremental decoding (client).
 *
 *   OK [text]\r\n            success on one line (text has no CR or LF)
 *   ERR CODE sentence\r\n    failure, with a stable code
 *   DATA n\r\n + n lines     success with n data lines, each ending in CRLF
 *
 * The tutorial's legacy forms are answered with bare lines instead
 * ("read book", "no key match", "submit success"), as the tutorial did.
 * ---------------------------------------------------------------------- */

/* Each returns 0, or -1 if out of memory / past the buffer's max. CR, LF and
 * other control bytes in text and msg are replaced by spaces so a reply
 * can never be split. */
int proto_reply_ok(struct proto_buf *b, const char *text);
int proto_reply_err(struct proto_buf *b, enum proto_err e, const char *msg);
int proto_reply_data(struct proto_buf *b, size_t nlines); /* the header only */
/* A data line made of tokens, each quoted as proto_quote_append() decides. */
int proto_reply_fields(struct proto_buf *b, const struct proto_str *fields, size_t n);
/* A legacy bare line: control bytes are escaped as in quoting, without quotes. */
int proto_reply_bare(struct proto_buf *b, const char *s, size_t n);

/* A task as it travels in GET / LIST data lines:
 *   ID STATUS PRI DUE TAGS CREATED UPDATED TEXT
 *   42 pending high 2026-12-01 home,shopping 2026-11-26T10:00:00Z 2026-11-26T10:00:00Z "buy milk"
 * STATUS is "pending" or "done"; PRI "-" or a level; DUE "-" or a date;
 * TAGS "-" or tags joined by commas; TEXT is always quoted. */
struct proto_task {
    struct proto_str id;
    struct proto_str text;
    int done;
    int pri;                      /* PROTO_PRI_* */
    char due[PROTO_DATE_LEN + 1]; /* "" when none */
    struct proto_str tags;        /* comma-separated, len 0 when none */
    int64_t created, updated;     /* seconds since the epoch, UTC */
};
#define PROTO_TASK_FIELDS 8

int proto_task_encode(struct proto_buf *b, const struct proto_task *t); /* one data line */
/* Decodes one data line (without CRLF). Strings point into line or scratch
 * (needs at most len bytes). PROTO_E_NONE, or PROTO_E_SYNTAX with err set. */
enum proto_err proto_task_decode(const char *line, size_t len, char *scratch, size_t scratch_cap,
                                 struct proto_task *t, char *err, size_t errcap);

/* PROTO_REPLY_EVENT is a line the server sends unasked to a watching
 * connection (WATCH), only ever between replies: it answers no request, so
 * a client hands it to its event handler (proto_event_decode()) and goes
 * on waiting for the reply it expects. */
enum proto_reply_kind { PROTO_REPLY_OK = 0, PROTO_REPLY_ERR, PROTO_REPLY_DATA, PROTO_REPLY_EVENT };

struct proto_reply {
    enum proto_reply_kind kind;
    enum proto_err err;    /* ERR: the code (PROTO_E_INTERNAL if not known to us) */
    struct proto_str code; /* ERR: the code word as sent */
    struct proto_str text; /* OK: text after "OK "; ERR: the sentence; DATA: empty;
                            * EVENT: the whole line, "EVENT ..." (no CRLF) */
    size_t nlines;         /* DATA: number of data lines */
    struct proto_str body; /* DATA: the data lines, each ending in CRLF */
};

struct proto_reply_decoder {
    size_t max_line;        /* per line; the whole reply is bounded only by the caller's buffer */
    size_t scanned;         /* private */
    size_t seen;            /* private: data lines found so far */
    size_t header_len;      /* private */
    int have_header;        /* private */
    struct proto_reply hdr; /* private */
};

/* max_line 0 means PROTO_MAX_LINE_DEFAULT. */
void proto_reply_decoder_init(struct proto_reply_decoder *d, size_t max_line);

/* Decodes the next reply in buf[0..len), with the same buffer contract as
 * proto_reader_next(). PROTO_COMPLETE fills *out (pointing into buf) and sets
 * *consumed to the reply's size; drop those bytes before the next call.
 * PROTO_NEED_MORE: keep everything and feed more. PROTO_ERROR: the peer does
 * not speak this protocol (a sentence is in err); give up on the connection. */
enum proto_status proto_reply_decode(struct proto_reply_decoder *d, const char *buf, size_t len,
                                     size_t *consumed, struct proto_reply *out, char *err,
                                     size_t errcap);

/* Takes the next line (without CRLF) off the front of a DATA body. Returns 1
 * and sets *line, or 0 when the body is empty. */
int proto_body_next(struct proto_str *body, struct proto_str *line);

/* ------------------------------------------------------------------------
 * Events: what a watching connection is sent after each committed change.
 *
 *   EVENT SEQ add TASK       a new task (ADD, IMPORT of a new id, POST/)
 *   EVENT SEQ edit TASK      a changed task (EDIT, IMPORT replace, POST/)
 *   EVENT SEQ done TASK      DONE; TASK's status is done
 *   EVENT SEQ undone TASK    UNDONE; TASK's status is pending
 *   EVENT SEQ del ID         DEL
 *   EVENT overflow           the watcher fell behind; its watch has ended
 *
 * SEQ is an unsigned 64-bit decimal number, strictly increasing across
 * the server's life and its restarts; TASK is the task as it was right
 * after the change, as in a task line (proto_task_decode()).
 * ---------------------------------------------------------------------- */

enum proto_event_kind {
    PROTO_EVENT_ADD = 1,
    PROTO_EVENT_EDIT,
    PROTO_EVENT_DONE,
    PROTO_EVENT_UNDONE,
    PROTO_EVENT_DEL,
    PROTO_EVENT_OVERFLOW
};
/* An event line is at most the longest task line plus this many bytes. */
#define PROTO_EVENT_OVERHEAD 64

struct proto_event {
    enum proto_event_kind kind;
    uint64_t seq;           /* 0 for overflow */
    struct proto_str id;    /* the task's id (every kind but overflow) */
    struct proto_task task; /* add, edit, done, undone; zeroed otherwise */
};

/* "add", "edit", "done", "undone", "del", "overflow"; "?" out of range. */
const char *proto_event_kind_name(int kind);

/* Decodes one event line (the whole line, "EVENT ...", without CRLF, as
 * proto_reply_decode() gives it in text). Strings point into line or
 * scratch, which needs at most len bytes. Strict: one space between the
 * words, a SEQ of 1 to 20 digits without a leading zero that fits in 64
 * bits, a known kind, and for add/edit/done/undone a valid task line
 * (whose status agrees with done/undone); for del exactly one valid id.
 * PROTO_E_NONE, or PROTO_E_SYNTAX with a sentence in err. */
enum proto_err proto_event_decode(const char *line, size_t len, char *scratch, size_t scratch_cap,
                                  struct proto_event *ev, char *err, size_t errcap);

/* Appends ev as one event line with CRLF, whole or not at all: for add,
 * edit, done and undone the task (ev->task), for del the id (ev->id).
 * 0, or -1 if out of memory, past the buffer's max, or ev's kind is not one. */
int proto_event_encode(struct proto_buf *b, const struct proto_event *ev);

#ifdef __cplusplus
}
#endif

#endif /* TODO_PROTO_H */
