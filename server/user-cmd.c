/*
 * user-cmd.c - "todo-server user add|del|passwd|list": the accounts of
 * the database given by --db, changed through the store (store.h) as the
 * server would, in one write batch each.
 *
 * A password never comes from the command line, where ps and the shell's
 * history would show it: it is asked for on the terminal with the echo
 * off (twice, so that a typing slip does not lock someone out), or read
 * as the first line of stdin when stdin is not a terminal (a script, a
 * pipe from a password manager). Only its hash (users.h) reaches the
 * store; neither is ever printed or logged.
 *
 * While a server runs on the same database: SQLite's file is the
 * server's alone (store-sqlite.c opens it so), so this command is refused
 * with a sentence saying to stop the server first; PostgreSQL lets both
 * write, and a user added there can log in at once.
 */
#include "user-cmd.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "store.h"
#include "users.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2

static const char *prog = "todo-server user";

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: todo-server user add NAME [--admin] [--db PATH]\n"
            "       todo-server user passwd NAME [--db PATH]\n"
            "       todo-server user del|lock|unlock NAME [--db PATH]\n"
            "       todo-server user list [--db PATH]\n"
            "Manages the people who may log in (AUTH NAME PASSWORD) to the server on --db.\n"
            "\n"
            "  add NAME      a new user; the password is asked for on the terminal without\n"
            "                echo (twice), or read as the first line of stdin when stdin\n"
            "                is not a terminal; never give it as an argument\n"
            "  passwd NAME   a new password for NAME, asked for or read the same way\n"
            "  del NAME      removes NAME\n"
            "  lock NAME     NAME may not log in (the right password is told it is locked)\n"
            "  unlock NAME   NAME may log in again\n"
            "  list          every user, one a line: NAME, admin or user, active or\n"
            "                locked, and when it was added (no password, no hash)\n"
            "\n"
            "  -d, --db PATH  the database, as todo-server's --db (default %s)\n"
            "      --admin    add: an administrator, who may also manage the users who are\n"
            "                 not admins through the server (todo-cli user, USER)\n"
            "  -h, --help     show this help and exit\n"
            "\n"
            "A name has 1 to %d letters, digits, '.', '_' or '-', and begins with a letter\n"
            "or a digit. A SQLite database is changed with its server stopped; a\n"
            "PostgreSQL one while servers run.\n",
            SERVER_DEFAULT_DB, STORE_MAX_USER);
}

static int die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int die_usage(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'todo-server user --help' for more information.\n");
    return EXIT_USAGE;
}

/* Set by SIGINT while a password is being typed, so that the terminal's
 * echo is turned back on before the program ends. */
static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

/* Reads one line of fd into buf (cap bytes), without its CR/LF. The
 * length, or -1: end of input before any byte, an error, Ctrl-C, or a
 * line longer than USERS_PASSWORD_MAX (*toolong set). Reads a byte at a
 * time, so that nothing past the line is taken from a pipe. */
static long read_line(int fd, char *buf, size_t cap, int *toolong)
{
    size_t n = 0;
    int any = 0;
    *toolong = 0;
    for (;;) {
        char c;
        ssize_t r = read(fd, &c, 1);
        if (r < 0 && errno == EINTR && !interrupted)
            continue;
        if (r < 0 || interrupted)
            return -1;
        if (r == 0) {
            if (!any)
                return -1;
            break;
        }
        any = 1;
        if (c == '\n')
            break;
        if (n + 1 >= cap) {
            *toolong = 1;
            continue; /* read the rest of the line, keep nothing of it */
        }
        buf[n++] = c;
    }
    if (*toolong)
        return -1;
    while (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    return (long)n;
}

/* Asks for a password on the terminal (stdin) with the echo off. */
static long ask_tty(const char *prompt, char *buf, size_t cap, int *toolong)
{
    struct termios old, quiet;
    if (tcgetattr(STDIN_FILENO, &old) != 0) {
        fprintf(stderr, "%s: cannot read the terminal's settings: %s\n", prog, strerror(errno));
        return -1;
    }
    quiet = old;
    quiet.c_lflag &= (tcflag_t) ~(ECHO | ECHONL);
    quiet.c_lflag |= ICANON;
    fprintf(stderr, "%s", prompt);
    fflush(stderr);
    if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) != 0) {
        fprintf(stderr, "\n%s: cannot turn the terminal's echo off: %s\n", prog, strerror(errno));
        return -1;
    }
    long n = read_line(STDIN_FILENO, buf, cap, toolong);
    int saved = errno;
    if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &old) != 0)
        fprintf(stderr, "\n%s: cannot turn the terminal's echo back on: %s", prog, strerror(errno));
    fprintf(stderr, "\n");
    errno = saved;
    return n;
}

/* The new password of name into buf (at least USERS_PASSWORD_MAX + 2
 * bytes): its length, or -1 with a sentence printed. */
static long get_password(const char *name, char *buf, size_t cap)
{
    int toolong = 0;
    long n;
    if (isatty(STDIN_FILENO)) {
        char again[USERS_PASSWORD_MAX + 2];
        char prompt[STORE_MAX_USER + 32];
        snprintf(prompt, sizeof(prompt), "Password for %s: ", name);
        n = ask_tty(prompt, buf, cap, &toolong);
        if (n > 0) {
            long m = ask_tty("Again: ", again, sizeof(again), &toolong);
            if (m != n || memcmp(again, buf, (size_t)n) != 0) {
                if (m >= 0)
                    fprintf(stderr, "%s: the passwords differ; nothing changed\n", prog);
                n = m < 0 ? -1 : -2;
            }
        }
        explicit_bzero(again, sizeof(again));
    } else {
        n = read_line(STDIN_FILENO, buf, cap, &toolong);
    }
    if (n == -2)
        return -1;
    if (interrupted) {
        fprintf(stderr, "%s: interrupted; nothing changed\n", prog);
        return -1;
    }
    if (toolong) {
        fprintf(stderr, "%s: the password is longer than %d bytes\n", prog, USERS_PASSWORD_MAX);
        return -1;
    }
    if (n < 0) {
        fprintf(stderr, "%s: no password given (stdin ended)\n", prog);
        return -1;
    }
    if (n == 0) {
        fprintf(stderr, "%s: the password is empty\n", prog);
        return -1;
    }
    return n;
}

/* Opens the engine, telling in a sentence why not, with what to do when
 * a server has the SQLite file. */
static int open_db(const char *db, struct store_engine **e)
{
    char err[512], shown[512];
    /* A user change is rare and must not be lost to a power cut. */
    struct store_options o = {.path = db, .durable = 1};
    if (store_engine_open(e, &o, err, sizeof(err)) == STORE_OK)
        return 0;
    store_path_shown(db, shown, sizeof(shown));
    if (strstr(err, "in use by another process") != NULL)
        fprintf(stderr,
                "%s: %s\nStop the server on %s first: a SQLite database's users are changed "
                "here while no server has it open. While it runs, an admin changes them "
                "through it: todo-cli --user ADMIN user add|passwd|del|lock|unlock|list.\n",
                prog, err, shown);
    else
        fprintf(stderr, "%s: %s\n", prog, err);
    return -1;
}

enum op { OP_ADD, OP_PASSWD, OP_DEL, OP_LOCK, OP_UNLOCK, OP_LIST };

/* One write in a batch of its own. STORE_OK, or the store's code with a
 * sentence printed. A user removed takes their list with them (in the
 * same batch): *tasks is set to how many of its tasks went. */
static int write_user(struct store_engine *e, enum op op, const struct store_user *u,
                      int64_t *tasks)
{
    char err[512];
    struct store *w;
    if (store_write_begin(e, &w, err, sizeof(err)) != STORE_OK) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return STORE_ERROR;
    }
    struct store_user old;
    int rc;
    switch (op) {
    case OP_ADD:
        rc = store_user_add(w, u);
        break;
    case OP_PASSWD:
    case OP_LOCK:
    case OP_UNLOCK:
        /* passwd changes the hash only, lock and unlock the lock only. */
        rc = store_user_get(w, (struct proto_str){u->name, strlen(u->name)}, &old);
        if (rc == STORE_OK) {
            if (op == OP_PASSWD)
                memcpy(old.hash, u->hash, sizeof(old.hash));
            else
                old.locked = op == OP_LOCK;
            rc = store_user_update(w, &old);
        }
        explicit_bzero(&old, sizeof(old));
        break;
    default:
        rc = store_user_del(w, (struct proto_str){u->name, strlen(u->name)});
        if (rc == STORE_OK)
            rc = store_list_drop(w, (struct proto_str){u->name, strlen(u->name)}, tasks);
        break;
    }
    if (rc == STORE_ERROR)
        fprintf(stderr, "%s: %s\n", prog, store_errmsg(w));
    if (store_write_end(e, rc == STORE_OK, err, sizeof(err)) != STORE_OK && rc == STORE_OK) {
        fprintf(stderr, "%s: %s\n", prog, err);
        rc = STORE_ERROR;
    }
    if (rc == STORE_EXISTS)
        fprintf(stderr, "%s: a user named %s exists already\n", prog, u->name);
    else if (rc == STORE_NOTFOUND)
        fprintf(stderr, "%s: no user is named %s\n", prog, u->name);
    return rc;
}

static int print_user(void *arg, const struct store_user *u)
{
    (void)arg;
    char when[32] = "-";
    time_t t = (time_t)u->created;
    struct tm tm;
    if (gmtime_r(&t, &tm) != NULL)
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    printf("%s %s %s %s\n", u->name, u->admin ? "admin" : "user", u->locked ? "locked" : "active",
           when);
    return 0;
}

static int list_users(struct store_engine *e)
{
    char err[512];
    struct store *r;
    if (store_connect(e, STORE_ROLE_READ, &r, err, sizeof(err)) != STORE_OK) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return EXIT_FAIL;
    }
    int rc = store_users(r, print_user, NULL);
    if (rc != STORE_OK)
        fprintf(stderr, "%s: %s\n", prog, store_errmsg(r));
    store_read_end(r);
    store_close(r);
    if (fflush(stdout) != 0) {
        fprintf(stderr, "%s: cannot write the list: %s\n", prog, strerror(errno));
        return EXIT_FAIL;
    }
    return rc == STORE_OK ? 0 : EXIT_FAIL;
}

static int count_one(void *arg, const struct store_user *u)
{
    (void)u;
    ++*(int *)arg;
    return 1; /* one is enough */
}

int user_cmd_db_has_users(const char *db, char *err, size_t errcap)
{
    if (strcmp(db, ":memory:") == 0)
        return 0;
    if (strncmp(db, "postgres", 8) != 0 && access(db, F_OK) != 0)
        return 0;
    struct store_engine *e;
    struct store *r = NULL;
    struct store_options o = {.path = db, .durable = 0};
    if (store_engine_open(&e, &o, err, errcap) != STORE_OK)
        return -1;
    int n = 0, rc = store_connect(e, STORE_ROLE_READ, &r, err, errcap);
    if (rc == STORE_OK) {
        rc = store_users(r, count_one, &n);
        if (rc == STORE_STOPPED)
            rc = STORE_OK;
        if (rc != STORE_OK)
            snprintf(err, errcap, "cannot read the users: %s", store_errmsg(r));
        store_read_end(r);
        store_close(r);
    }
    store_engine_close(e);
    return rc == STORE_OK ? n > 0 : -1;
}

static const struct option long_opts[] = {
    {"db", required_argument, NULL, 'd'},
    {"admin", no_argument, NULL, 'a'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

int user_cmd_main(int argc, char **argv)
{
    const char *db = SERVER_DEFAULT_DB;
    int admin = 0, opt;

    /* The engine's lines (a database created) are not this command's
     * business; warnings and errors still show. */
    log_set_level(LOG_WARN);
    optind = 1;
    while ((opt = getopt_long(argc, argv, "d:h", long_opts, NULL)) != -1) {
        switch (opt) {
        case 'd':
            if (*optarg == '\0')
                return die_usage("--db wants a file name or a URI");
            db = optarg;
            break;
        case 'a':
            admin = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            fprintf(stderr, "Try 'todo-server user --help' for more information.\n");
            return EXIT_USAGE;
        }
    }
    if (optind >= argc)
        return die_usage("which: add, passwd, del, lock, unlock or list?");
    const char *sub = argv[optind++];
    enum op op;
    if (strcmp(sub, "add") == 0)
        op = OP_ADD;
    else if (strcmp(sub, "passwd") == 0)
        op = OP_PASSWD;
    else if (strcmp(sub, "del") == 0)
        op = OP_DEL;
    else if (strcmp(sub, "lock") == 0)
        op = OP_LOCK;
    else if (strcmp(sub, "unlock") == 0)
        op = OP_UNLOCK;
    else if (strcmp(sub, "list") == 0)
        op = OP_LIST;
    else
        return die_usage("unknown command '%s': add, passwd, del, lock, unlock or list", sub);
    if (admin && op != OP_ADD)
        return die_usage("--admin goes with add");
    if (op == OP_LIST) {
        if (optind < argc)
            return die_usage("list takes no name, not '%s'", argv[optind]);
        struct store_engine *e;
        if (open_db(db, &e) != 0)
            return EXIT_FAIL;
        int rc = list_users(e);
        store_engine_close(e);
        return rc;
    }
    if (optind >= argc)
        return die_usage("%s wants a user's name", sub);
    const char *name = argv[optind++];
    if (optind < argc)
        return die_usage("unexpected argument after the name (a password is never given "
                         "as an argument: it is asked for, or read from stdin)");
    if (!users_name_ok(name, strlen(name)))
        return die_usage("'%s' cannot name a user: 1 to %d letters, digits, '.', '_' or '-', "
                         "beginning with a letter or a digit",
                         name, STORE_MAX_USER);

    struct store_user u;
    memset(&u, 0, sizeof(u));
    snprintf(u.name, sizeof(u.name), "%s", name);
    u.admin = admin;
    u.created = (int64_t)time(NULL);

    struct store_engine *e = NULL;
    int status = EXIT_FAIL;
    char pw[USERS_PASSWORD_MAX + 2];
    /* The database first: a password is not asked for only to find that
     * the server has the file. */
    if (open_db(db, &e) != 0)
        goto out;
    if (op == OP_ADD || op == OP_PASSWD) {
        struct sigaction sa, old_int;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_sigint; /* no SA_RESTART: the read must end */
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGINT, &sa, &old_int) != 0) {
            fprintf(stderr, "%s: sigaction: %s\n", prog, strerror(errno));
            goto out;
        }
        long n = get_password(name, pw, sizeof(pw));
        sigaction(SIGINT, &old_int, NULL);
        if (n < 0)
            goto out;
        char err[256];
        if (users_hash(pw, (size_t)n, u.hash, err, sizeof(err)) != 0) {
            fprintf(stderr, "%s: %s\n", prog, err);
            goto out;
        }
    }
    int64_t tasks = 0;
    if (write_user(e, op, &u, &tasks) != STORE_OK)
        goto out;
    static const char *const done[] = {[OP_ADD] = "added",
                                       [OP_PASSWD] = "has a new password",
                                       [OP_DEL] = "removed",
                                       [OP_LOCK] = "locked: it cannot log in",
                                       [OP_UNLOCK] = "unlocked"};
    if (op == OP_DEL)
        printf("user %s removed, with the %lld task%s of their list\n", name, (long long)tasks,
               tasks == 1 ? "" : "s");
    else
        printf("user %s %s%s\n", name, done[op], op == OP_ADD && admin ? " (admin)" : "");
    status = fflush(stdout) == 0 ? 0 : EXIT_FAIL;
out:
    explicit_bzero(pw, sizeof(pw));
    explicit_bzero(&u, sizeof(u));
    store_engine_close(e);
    return status;
}
