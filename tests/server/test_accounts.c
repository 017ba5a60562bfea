/*
 * test_accounts.c - logging in as a user (AUTH USER PASSWORD, issue 18)
 * on a real server whose database got its users from "todo-server user",
 * run as a person would run it. What the server logs (its stderr, in a
 * file) is checked too: never a password.
 */
#include "srv_test.h"
#include "todo/proto.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static struct server_proc sp;
static int running;
static char dir[512], db[600], logpath[600], pwfile[600];

static const char ALICE_PW[] = "alice's long secret";
static const char BOB_PW[] = "bob pw";

/* todo-server user ARGS... on the test's database, the password (if any)
 * on its stdin. The exit status. */
static int user_cmd(const char *password, const char *a1, const char *a2, const char *a3)
{
    int in[2];
    assert_int_equal(pipe(in), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(in[0], STDIN_FILENO);
        close(in[0]);
        close(in[1]);
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0)
            dup2(null, STDOUT_FILENO);
        const char *argv[] = {srv_bin, "user", a1, a2, "--db", server_test_db(db), a3, NULL};
        execv(srv_bin, (char *const *)argv);
        _exit(127);
    }
    close(in[0]);
    if (password != NULL) {
        ssize_t n = write(in[1], password, strlen(password));
        assert_int_equal(n, (ssize_t)strlen(password));
        assert_int_equal(write(in[1], "\n", 1), 1);
    }
    close(in[1]);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Starts the server on the test's database, with extra arguments (NULL:
 * none) and its stderr in dir/log. */
static void start(const char *extra1, const char *extra2)
{
    const char *const extra[] = {"--db", db, "--threads", "2", extra1, extra2, NULL};
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, STDERR_FILENO);
    close(fd);
    int rc = server_start(&sp, srv_bin, extra);
    dup2(saved, STDERR_FILENO);
    close(saved);
    assert_int_equal(rc, 0);
    running = 1;
}

static void stop_server(void)
{
    if (!running)
        return;
    running = 0;
    int st = server_stop(&sp, SIGTERM);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* A database with alice (an admin) and bob. */
static int setup(void **state)
{
    (void)state;
    make_tmpdir(dir, sizeof(dir));
    snprintf(db, sizeof(db), "%s/todo.db", dir);
    snprintf(logpath, sizeof(logpath), "%s/log", dir);
    if (user_cmd(ALICE_PW, "add", "alice", "--admin") != 0 ||
        user_cmd(BOB_PW, "add", "bob", NULL) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (running) {
        running = 0;
        server_stop(&sp, SIGTERM);
    }
    /* No password of the test's ever reaches the server's log. */
    static char buf[256 * 1024];
    int fd = open(logpath, O_RDONLY | O_CLOEXEC);
    int bad = 0;
    if (fd >= 0) {
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        buf[n > 0 ? n : 0] = '\0';
        bad = strstr(buf, "secret") != NULL || strstr(buf, "bob pw") != NULL ||
              strstr(buf, "guess") != NULL;
        if (bad)
            fprintf(stderr, "the server's log shows a password:\n%s\n", buf);
    }
    rm_tree(dir);
    return bad ? -1 : 0;
}

/* A client connected from the loopback address `from` (127.0.0.2, say),
 * which the server tells apart from 127.0.0.1. */
static struct cli *cli_open_from(const char *from, int port)
{
    struct cli *c = malloc(sizeof(*c));
    assert_non_null(c);
    c->len = 0;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(c->fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    assert_int_equal(inet_pton(AF_INET, from, &a.sin_addr), 1);
    assert_int_equal(bind(c->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    a.sin_port = htons((uint16_t)port);
    assert_int_equal(inet_pton(AF_INET, "127.0.0.1", &a.sin_addr), 1);
    assert_int_equal(connect(c->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return c;
}

static const char *auth_line(const char *user, const char *pw)
{
    static char line[256];
    snprintf(line, sizeof(line), "AUTH %s \"%s\"\n", user, pw);
    return line;
}

/* A server whose database has users asks for AUTH USER PASSWORD before
 * anything but the commands allowed before AUTH; a wrong password, an
 * unknown name and a shared password it does not have are refused; the
 * right one lets the connection in, and only that connection. */
static void login_as_user(void **state)
{
    (void)state;
    start(NULL, NULL);
    struct cli *c = cli_open(sp.port);
    assert_non_null(c);
    assert_string_equal(cli_cmd(c, "PING\n"), "OK PONG\r\n");
    assert_string_equal(cli_cmd(c, "ADD too soon\n"),
                        "ERR AUTH authentication required; send AUTH <user> <password>\r\n");
    assert_string_equal(cli_cmd(c, auth_line("alice", "a wrong guess")),
                        "ERR AUTH wrong user or password\r\n");
    struct cli *d = cli_open_from("127.0.0.2", sp.port);
    /* A name nobody has gets the same answer as a wrong password. */
    assert_string_equal(cli_cmd(d, auth_line("nobody", "a guess")),
                        "ERR AUTH wrong user or password\r\n");
    /* The password of one user is not another's. */
    struct cli *e = cli_open_from("127.0.0.3", sp.port);
    assert_string_equal(cli_cmd(e, auth_line("bob", ALICE_PW)),
                        "ERR AUTH wrong user or password\r\n");
    assert_string_equal(cli_cmd(e, "AUTH \"open sesame\"\n"),
                        "ERR AUTH this server has accounts and no shared password: send AUTH "
                        "<user> <password>\r\n");
    struct cli *f = cli_open_from("127.0.0.4", sp.port);
    assert_string_equal(cli_cmd(f, auth_line("alice", ALICE_PW)), "OK\r\n");
    assert_string_equal(cli_cmd(f, "ADD logged in\n"), "OK 1\r\n");
    assert_string_equal(cli_cmd(e, "GET 1\n"),
                        "ERR AUTH authentication required; send AUTH <user> <password>\r\n");
    assert_int_equal(srv_stat(f, "accounts"), 1);
    assert_int_equal(srv_stat(f, "auth_user_failures"), 3);
    assert_int_equal(srv_stat(f, "auth_failures"), 3);
    cli_close(c);
    cli_close(d);
    cli_close(e);
    cli_close(f);
    stop_server();
}

/* Wrong passwords for one name slow down every try at it, whatever the
 * address: a try before its turn is refused, says how long to wait, and
 * is counted; after the wait the right password works, and the name
 * starts over. Another name is not held up. */
static void wrong_passwords_slow_the_user(void **state)
{
    (void)state;
    start(NULL, NULL);
    struct cli *c = cli_open(sp.port);
    assert_non_null(c);
    /* Four wrong on one connection (each waits out the delay the last
     * earned): alice's next try waits 0.8 s. */
    for (int i = 0; i < 4; i++)
        assert_string_equal(cli_cmd(c, auth_line("alice", "guess")),
                            "ERR AUTH wrong user or password\r\n");
    /* From another address, whose own slate is clean: refused at once,
     * without a look at the (right) password. */
    struct cli *d = cli_open_from("127.0.0.2", sp.port);
    const char *r = cli_cmd(d, auth_line("alice", ALICE_PW));
    assert_true(strncmp(r, "ERR AUTH too many wrong passwords for alice; try again in ", 58) == 0);
    /* bob is not held up by alice's guessers. */
    struct cli *e = cli_open_from("127.0.0.3", sp.port);
    assert_string_equal(cli_cmd(e, auth_line("bob", BOB_PW)), "OK\r\n");
    assert_true(srv_stat(e, "auth_user_delayed") >= 1);
    /* Waiting as told lets alice in (a bounded number of tries: each
     * refusal names the wait, at most 0.8 s here). */
    int ok = 0;
    for (int i = 0; i < 20 && !ok; i++) {
        r = cli_cmd(d, auth_line("alice", ALICE_PW));
        if (strcmp(r, "OK\r\n") == 0) {
            ok = 1;
            break;
        }
        double wait = 0;
        assert_int_equal(
            sscanf(r, "ERR AUTH too many wrong passwords for alice; try again in %lf", &wait), 1);
        if (!(wait > 0 && wait <= 0.8))
            fail_msg("alice waits more than her 4 failures earned: %s", r);
        usleep((useconds_t)(wait * 1e6) + 20000);
    }
    assert_true(ok);
    /* The right password forgets alice's failures: a new connection from
     * a clean address logs in at once. */
    struct cli *f = cli_open_from("127.0.0.4", sp.port);
    assert_string_equal(cli_cmd(f, auth_line("alice", ALICE_PW)), "OK\r\n");
    cli_close(c);
    cli_close(d);
    cli_close(e);
    cli_close(f);
    stop_server();
}

/* A locked account does not get in, and only the right password learns
 * that it is locked; unlocked, it gets in again. */
static void locked_account(void **state)
{
    (void)state;
    assert_int_equal(user_cmd(NULL, "lock", "bob", NULL), 0);
    start(NULL, NULL);
    struct cli *c = cli_open(sp.port);
    assert_non_null(c);
    assert_string_equal(cli_cmd(c, auth_line("bob", BOB_PW)),
                        "ERR AUTH the account bob is locked\r\n");
    assert_string_equal(cli_cmd(c, "GET 1\n"),
                        "ERR AUTH authentication required; send AUTH <user> <password>\r\n");
    struct cli *d = cli_open_from("127.0.0.2", sp.port);
    assert_string_equal(cli_cmd(d, auth_line("bob", "a guess")),
                        "ERR AUTH wrong user or password\r\n");
    struct cli *e = cli_open_from("127.0.0.3", sp.port);
    assert_string_equal(cli_cmd(e, auth_line("alice", ALICE_PW)), "OK\r\n");
    assert_int_equal(srv_stat(e, "auth_user_locked"), 1);
    cli_close(c);
    cli_close(d);
    cli_close(e);
    stop_server();

    assert_int_equal(user_cmd(NULL, "unlock", "bob", NULL), 0);
    start(NULL, NULL);
    c = cli_open(sp.port);
    assert_string_equal(cli_cmd(c, auth_line("bob", BOB_PW)), "OK\r\n");
    cli_close(c);
    stop_server();
}

/* With --password-file as well, both forms log in, each to its own list.
 * A new password (user passwd) replaces the old one. */
static void shared_password_too(void **state)
{
    (void)state;
    char pwdir[512];
    assert_int_equal(write_password_file(pwdir, sizeof(pwdir), pwfile, sizeof(pwfile)), 0);
    assert_int_equal(user_cmd("a new secret", "passwd", "alice", NULL), 0);
    start("--password-file", pwfile);
    struct cli *c = cli_open(sp.port);
    assert_string_equal(cli_cmd(c, "AUTH \"" SRV_TEST_PASSWORD "\"\n"), "OK\r\n");
    assert_string_equal(cli_cmd(c, "ADD by the shared password\n"), "OK 1\r\n");
    struct cli *e = cli_open_from("127.0.0.3", sp.port);
    assert_string_equal(cli_cmd(e, auth_line("alice", "a new secret")), "OK\r\n");
    /* The shared password works in the default list, alice in her own. */
    assert_string_equal(cli_cmd(e, "GET 1\n"), "ERR NOTFOUND no task with id '1'\r\n");
    assert_string_equal(cli_cmd(e, "ADD alice's own\n"), "OK 1\r\n");
    assert_non_null(strstr(cli_cmd(c, "GET 1\n"), "by the shared password"));
    struct cli *d = cli_open_from("127.0.0.2", sp.port);
    assert_string_equal(cli_cmd(d, auth_line("alice", ALICE_PW)),
                        "ERR AUTH wrong user or password\r\n");
    cli_close(c);
    cli_close(d);
    cli_close(e);
    stop_server();
    rm_tree(pwdir);
}

/* Lines c is sent within ms of quiet, joined into out (for the events a
 * watcher got). */
static void drain(struct cli *c, char *out, size_t cap, int ms)
{
    size_t n = 0;
    char line[1024];
    out[0] = '\0';
    while (cli_line(c, line, sizeof(line), ms) > 0)
        n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%s", line);
}

/*
 * Two users see nothing of each other's tasks: bob tries every command of
 * the protocol (libproto's table: a command added later without a check
 * here fails the test) on the ids alice's tasks have, and sees, changes,
 * lists, completes, deletes, tag-counts, undoes and watches only his own;
 * her tasks are as she left them, and her watcher never hears of his.
 * alice is an admin (setup): the role shows her nothing of bob's either.
 */
static void users_are_apart(void **state)
{
    (void)state;
    start(NULL, NULL);
    struct cli *a = cli_open(sp.port), *b = cli_open(sp.port);
    struct cli *aw = cli_open(sp.port), *bw = cli_open(sp.port);
    int tried[PROTO_CMD__COUNT] = {0};
#define TRIED(cmd) (tried[PROTO_CMD_##cmd] = 1)
    TRIED(AUTH);
    assert_string_equal(cli_cmd(a, auth_line("alice", ALICE_PW)), "OK\r\n");
    assert_string_equal(cli_cmd(aw, auth_line("alice", ALICE_PW)), "OK\r\n");
    assert_string_equal(cli_cmd(b, auth_line("bob", BOB_PW)), "OK\r\n");
    assert_string_equal(cli_cmd(bw, auth_line("bob", BOB_PW)), "OK\r\n");
    TRIED(WATCH);
    assert_true(strncmp(cli_cmd(aw, "WATCH all\n"), "OK ", 3) == 0);
    assert_true(strncmp(cli_cmd(bw, "WATCH all\n"), "OK ", 3) == 0);

    assert_string_equal(cli_cmd(a, "ADD alice's secret +private pri:high\n"), "OK 1\r\n");
    assert_string_equal(cli_cmd(a, "ADD alice's second +home\n"), "OK 2\r\n");
    assert_string_equal(cli_cmd(a, "POST/task_01=alice's key/status\n"), "submit success\r\n");

    TRIED(GET);
    assert_string_equal(cli_cmd(b, "GET 1\n"), "ERR NOTFOUND no task with id '1'\r\n");
    TRIED(LEGACY_GET);
    assert_string_equal(cli_cmd(b, "GET/task_01/status\n"), "no key match\r\n");
    TRIED(LIST);
    assert_string_equal(cli_cmd(b, "LIST all\n"), "DATA 0\r\n");
    assert_string_equal(cli_cmd(b, "LIST all +private\n"), "DATA 0\r\n");
    assert_string_equal(cli_cmd(b, "LIST all secret\n"), "DATA 0\r\n");
    assert_string_equal(cli_cmd(b, "LIST all sort:pri\n"), "DATA 0\r\n");
    TRIED(TAGS);
    assert_string_equal(cli_cmd(b, "TAGS\n"), "DATA 0\r\n");
    TRIED(STATS);
    assert_int_equal(srv_stat(b, "tasks"), 0);
    TRIED(EDIT);
    assert_string_equal(cli_cmd(b, "EDIT 1 bob was here\n"),
                        "ERR NOTFOUND no task with id '1'\r\n");
    TRIED(DONE);
    assert_string_equal(cli_cmd(b, "DONE 1\n"), "ERR NOTFOUND no task with id '1'\r\n");
    TRIED(UNDONE);
    assert_string_equal(cli_cmd(b, "UNDONE 2\n"), "ERR NOTFOUND no task with id '2'\r\n");
    TRIED(DEL);
    assert_string_equal(cli_cmd(b, "DEL 2\n"), "ERR NOTFOUND no task with id '2'\r\n");
    TRIED(UNDO);
    assert_true(strncmp(cli_cmd(b, "UNDO\n"), "ERR NOTFOUND nothing to undo", 28) == 0);
    /* Writes of bob's own, on the same ids, are his. */
    TRIED(IMPORT);
    assert_string_equal(cli_cmd(b, "IMPORT fail 1 pending - - \"bob's import\" +private\n"),
                        "OK imported 1\r\n");
    TRIED(ADD);
    assert_string_equal(cli_cmd(b, "ADD bob's own\n"), "OK 2\r\n");
    TRIED(LEGACY_POST);
    assert_string_equal(cli_cmd(b, "POST/task_01=bob's key/status\n"), "submit success\r\n");
    assert_string_equal(cli_cmd(b, "DONE 2\n"), "OK 2\r\n");
    assert_string_equal(cli_cmd(b, "UNDO\n"), "OK undid done 2\r\n");
    assert_string_equal(cli_cmd(b, "TAGS\n"), "DATA 1\r\nprivate 1\r\n");
    assert_int_equal(srv_stat(b, "tasks"), 3);
    /* Nor is her list bob's to USE, or to share or unshare. */
    TRIED(USE);
    assert_string_equal(cli_cmd(b, "USE alice\n"),
                        "ERR AUTH the list alice is not shared with you\r\n");
    assert_string_equal(cli_cmd(b, "USE nosuchuser\n"),
                        "ERR AUTH the list nosuchuser is not shared with you\r\n");
    TRIED(SHARE);
    assert_string_equal(cli_cmd(b, "SHARE alice bob\n"),
                        "ERR AUTH you can share only your own list, bob\r\n");
    TRIED(UNSHARE);
    assert_string_equal(cli_cmd(b, "UNSHARE alice\n"),
                        "ERR NOTFOUND your list is not shared with alice\r\n");
    TRIED(SHARES);
    assert_string_equal(cli_cmd(b, "SHARES\n"), "DATA 0\r\n");
    /* Nor may bob, who is not an admin, manage users. */
    TRIED(USER);
    assert_string_equal(cli_cmd(b, "USER lock alice\n"),
                        "ERR AUTH USER is for admins, and bob is not one (todo-server user add "
                        "NAME --admin makes one)\r\n");
    /* Commands that read no tasks say nothing of alice's either. */
    TRIED(PING);
    assert_string_equal(cli_cmd(b, "PING\n"), "OK PONG\r\n");
    TRIED(HELLO);
    assert_null(strstr(cli_cmd(b, "HELLO\n"), "alice"));
    TRIED(HELP);
    assert_null(strstr(cli_cmd(b, "HELP\n"), "alice"));

    /* Alice's tasks are as she left them. */
    char got[4096];
    snprintf(got, sizeof(got), "%s", cli_cmd(a, "LIST all\n"));
    assert_true(strncmp(got, "DATA 3\r\n1 pending high - private ", 33) == 0);
    assert_non_null(strstr(got, "\"alice's secret\""));
    assert_non_null(strstr(got, "\r\n2 pending - - home "));
    assert_non_null(strstr(got, "\"alice's key\""));
    assert_null(strstr(got, "bob"));
    assert_string_equal(cli_cmd(a, "GET/task_01/status\n"), "alice's key\r\n");
    assert_string_equal(cli_cmd(a, "TAGS\n"), "DATA 2\r\nhome 1\r\nprivate 1\r\n");
    assert_true(strncmp(cli_cmd(a, "UNDO\n"), "OK undid add 2", 14) == 0); /* her own newest */

    /* Each watcher heard its own user's changes only. */
    char ev[8192];
    drain(bw, ev, sizeof(ev), 500);
    assert_non_null(strstr(ev, "bob's own"));
    assert_null(strstr(ev, "alice"));
    drain(aw, ev, sizeof(ev), 500);
    assert_non_null(strstr(ev, "alice's secret"));
    assert_non_null(strstr(ev, "del 2\r\n")); /* her UNDO of her ADD */
    assert_null(strstr(ev, "bob"));
    TRIED(UNWATCH);
    assert_string_equal(cli_cmd(bw, "UNWATCH\n"), "OK\r\n");
    TRIED(QUIT);
    assert_string_equal(cli_cmd(b, "QUIT\n"), "OK bye\r\n");
#undef TRIED
    for (int i = PROTO_CMD_NONE + 1; i < PROTO_CMD__COUNT; i++)
        if (!tried[i])
            fail_msg("%s is not tried as the other user", proto_cmd_info((enum proto_cmd)i)->name);
    cli_close(a);
    cli_close(b);
    cli_close(aw);
    cli_close(bw);
    stop_server();
}

/* A user removed takes their list along: a new user of the same name
 * starts with nothing, ids from 1, and the others keep theirs. */
static void del_takes_the_list(void **state)
{
    (void)state;
    start(NULL, NULL);
    struct cli *b = cli_open(sp.port), *a = cli_open(sp.port);
    assert_string_equal(cli_cmd(b, auth_line("bob", BOB_PW)), "OK\r\n");
    assert_string_equal(cli_cmd(b, "ADD bob's first\n"), "OK 1\r\n");
    assert_string_equal(cli_cmd(b, "ADD bob's second\n"), "OK 2\r\n");
    assert_string_equal(cli_cmd(a, auth_line("alice", ALICE_PW)), "OK\r\n");
    assert_string_equal(cli_cmd(a, "ADD alice's\n"), "OK 1\r\n");
    cli_close(a);
    cli_close(b);
    stop_server();
    assert_int_equal(user_cmd(NULL, "del", "bob", NULL), 0);
    assert_int_equal(user_cmd("a new bob", "add", "bob", NULL), 0);
    start(NULL, NULL);
    b = cli_open(sp.port);
    assert_string_equal(cli_cmd(b, auth_line("bob", "a new bob")), "OK\r\n");
    assert_string_equal(cli_cmd(b, "LIST all\n"), "DATA 0\r\n");
    assert_true(strncmp(cli_cmd(b, "UNDO\n"), "ERR NOTFOUND nothing to undo", 28) == 0);
    assert_string_equal(cli_cmd(b, "ADD the new bob's\n"), "OK 1\r\n");
    a = cli_open(sp.port);
    assert_string_equal(cli_cmd(a, auth_line("alice", ALICE_PW)), "OK\r\n");
    assert_non_null(strstr(cli_cmd(a, "GET 1\n"), "\"alice's\""));
    cli_close(a);
    cli_close(b);
    stop_server();
}

/*
 * A shared list works for both sides: alice shares hers with bob, who
 * USEs it and reads, adds and completes there as she does, and watches it;
 * carol, not shared with, cannot; UNSHARE sends bob back to his own list at
 * his next command and ends his watch of hers.
 */
static void shared_list_both_sides(void **state)
{
    (void)state;
    assert_int_equal(user_cmd("carol pw", "add", "carol", NULL), 0);
    start(NULL, NULL);
    struct cli *a = cli_open(sp.port), *b = cli_open(sp.port), *bw = cli_open(sp.port);
    struct cli *c = cli_open(sp.port);
    assert_string_equal(cli_cmd(a, auth_line("alice", ALICE_PW)), "OK\r\n");
    assert_string_equal(cli_cmd(b, auth_line("bob", BOB_PW)), "OK\r\n");
    assert_string_equal(cli_cmd(bw, auth_line("bob", BOB_PW)), "OK\r\n");
    assert_string_equal(cli_cmd(c, auth_line("carol", "carol pw")), "OK\r\n");
    assert_string_equal(cli_cmd(b, "ADD bob's own\n"), "OK 1\r\n");

    assert_string_equal(cli_cmd(a, "SHARE bob\n"), "OK\r\n");
    assert_string_equal(cli_cmd(a, "SHARE alice bob\n"), "OK\r\n"); /* again, the long form */
    assert_string_equal(cli_cmd(a, "SHARE alice\n"), "ERR ARGS your list is yours already\r\n");
    assert_string_equal(cli_cmd(a, "SHARE nosuch\n"), "ERR NOTFOUND no user is named nosuch\r\n");
    assert_string_equal(cli_cmd(a, "ADD shared milk +shop\n"), "OK 1\r\n");
    assert_string_equal(cli_cmd(a, "SHARES\n"), "DATA 1\r\nalice bob\r\n");
    assert_string_equal(cli_cmd(b, "SHARES\n"), "DATA 1\r\nalice bob\r\n");

    assert_string_equal(cli_cmd(b, "USE alice\n"), "OK alice\r\n");
    assert_non_null(strstr(cli_cmd(b, "LIST all\n"), "\"shared milk\""));
    assert_string_equal(cli_cmd(b, "ADD bread, added by bob\n"), "OK 2\r\n");
    assert_string_equal(cli_cmd(b, "DONE 1\n"), "OK 1\r\n");
    assert_string_equal(cli_cmd(bw, "USE alice\n"), "OK alice\r\n");
    assert_true(strncmp(cli_cmd(bw, "WATCH all\n"), "OK ", 3) == 0);
    char got[4096];
    snprintf(got, sizeof(got), "%s", cli_cmd(a, "LIST all\n"));
    assert_true(strncmp(got, "DATA 2\r\n1 done - - shop ", 24) == 0);
    assert_non_null(strstr(got, "\"bread, added by bob\""));
    assert_string_equal(cli_cmd(a, "ADD seen by bob's watch\n"), "OK 3\r\n");
    char line[1024];
    assert_true(cli_line(bw, line, sizeof(line), 5000) > 0);
    assert_non_null(strstr(line, "\"seen by bob's watch\""));
    /* USE alone is bob's own list again. */
    assert_string_equal(cli_cmd(b, "USE\n"), "OK bob\r\n");
    assert_non_null(strstr(cli_cmd(b, "GET 1\n"), "\"bob's own\""));
    assert_string_equal(cli_cmd(b, "USE alice\n"), "OK alice\r\n");

    assert_string_equal(cli_cmd(c, "USE alice\n"),
                        "ERR AUTH the list alice is not shared with you\r\n");
    assert_string_equal(cli_cmd(c, "LIST all\n"), "DATA 0\r\n");

    assert_string_equal(cli_cmd(a, "UNSHARE bob\n"), "OK\r\n");
    assert_string_equal(cli_cmd(a, "UNSHARE bob\n"),
                        "ERR NOTFOUND your list is not shared with bob\r\n");
    assert_string_equal(cli_cmd(b, "LIST all\n"),
                        "ERR AUTH the list you were in is no longer shared with you; you are "
                        "back in your own\r\n");
    snprintf(got, sizeof(got), "%s", cli_cmd(b, "LIST all\n"));
    assert_true(strncmp(got, "DATA 1\r\n1 pending", 17) == 0);
    assert_non_null(strstr(got, "\"bob's own\""));
    assert_string_equal(cli_cmd(a, "ADD after the unshare\n"), "OK 4\r\n");
    assert_true(cli_line(bw, line, sizeof(line), 5000) > 0);
    assert_string_equal(line, "EVENT overflow\r\n");
    assert_true(cli_line(bw, line, sizeof(line), 300) <= 0); /* nothing of hers after that */
    assert_string_equal(cli_cmd(b, "SHARES\n"), "DATA 0\r\n");
    cli_close(a);
    cli_close(b);
    cli_close(bw);
    cli_close(c);
    stop_server();
}

/* Users removed down to none: the server is open again, as one that never
 * had any (nothing changes for someone who never adds a user), and AUTH
 * USER is answered as AUTH is there. */
static void no_users_no_login(void **state)
{
    (void)state;
    assert_int_equal(user_cmd(NULL, "del", "alice", NULL), 0);
    assert_int_equal(user_cmd(NULL, "del", "bob", NULL), 0);
    start(NULL, NULL);
    struct cli *c = cli_open(sp.port);
    assert_string_equal(cli_cmd(c, "ADD open\n"), "OK 1\r\n");
    assert_string_equal(cli_cmd(c, auth_line("alice", ALICE_PW)),
                        "ERR AUTH this server has no password; AUTH is not needed\r\n");
    assert_int_equal(srv_stat(c, "accounts"), 0);
    cli_close(c);
    stop_server();
}

/* A password's check (a tenth of a second) does not hold up the other
 * connections of the worker it came to: with one worker, a PING sent
 * after an AUTH is answered while the AUTH is still being checked, and
 * the AUTH's answer follows. Clients that leave during their check do no
 * harm (the sanitizer builds run this too). */
static void check_does_not_block_the_worker(void **state)
{
    (void)state;
    const char *const extra[] = {"--db", db, "--threads", "1", NULL};
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, STDERR_FILENO);
    close(fd);
    int rc = server_start(&sp, srv_bin, extra);
    dup2(saved, STDERR_FILENO);
    close(saved);
    assert_int_equal(rc, 0);
    running = 1;
    struct cli *a = cli_open(sp.port);
    struct cli *b = cli_open_from("127.0.0.2", sp.port);
    assert_non_null(a);
    assert_non_null(b);
    assert_string_equal(cli_cmd(b, "PING\n"), "OK PONG\r\n");
    char line[256];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(cli_send(a, auth_line(i == 2 ? "bob" : "alice", i == 2 ? BOB_PW : "x")),
                         0);
        /* b's PING comes back first: a's check is still under way. */
        assert_string_equal(cli_cmd(b, "PING\n"), "OK PONG\r\n");
        struct pollfd pa = {.fd = a->fd, .events = POLLIN};
        assert_int_equal(a->len, 0);
        assert_int_equal(poll(&pa, 1, 0), 0);
        assert_true(cli_line(a, line, sizeof(line), 10000) > 0);
        assert_string_equal(line, i == 2 ? "OK\r\n" : "ERR AUTH wrong user or password\r\n");
        /* Wait out alice's delay before the next try at her. */
        usleep(400000);
    }
    assert_string_equal(cli_cmd(a, "ADD after the checks\n"), "OK 1\r\n");
    /* Clients that leave while their check is under way, or queued behind
     * another's: the server goes on, and stops cleanly. */
    for (int i = 0; i < 3; i++) {
        struct cli *gone = cli_open_from(i == 0   ? "127.0.0.3"
                                         : i == 1 ? "127.0.0.4"
                                                  : "127.0.0.5",
                                         sp.port);
        assert_int_equal(cli_send(gone, auth_line("bob", BOB_PW)), 0);
        cli_close(gone);
    }
    assert_string_equal(cli_cmd(b, "PING\n"), "OK PONG\r\n");
    assert_non_null(strstr(cli_cmd(a, "GET 1\n"), "after the checks"));
    cli_close(a);
    cli_close(b);
    stop_server();
}

/*
 * An admin manages users through the server (USER), while it runs: adds
 * one who can log in at once, sets a password, locks and unlocks, removes
 * one with their list; the connections of a user locked or removed are
 * logged out at their next command. The admin sees no task of anyone
 * else's, manages no other admin, and cannot remove or lock themselves; a
 * user who is not an admin manages nobody.
 */
static void admin_manages_users(void **state)
{
    (void)state;
    assert_int_equal(user_cmd("erin's secret", "add", "erin", "--admin"), 0);
    start(NULL, NULL);
    struct cli *a = cli_open(sp.port), *b = cli_open(sp.port);
    assert_string_equal(cli_cmd(a, auth_line("alice", ALICE_PW)), "OK\r\n");
    assert_string_equal(cli_cmd(b, auth_line("bob", BOB_PW)), "OK\r\n");
    assert_string_equal(cli_cmd(b, "ADD bob's task\n"), "OK 1\r\n");
    assert_true(strncmp(cli_cmd(b, "USER list\n"), "ERR AUTH USER is for admins", 27) == 0);

    char got[4096];
    snprintf(got, sizeof(got), "%s", cli_cmd(a, "USER list\n"));
    assert_true(strncmp(got, "DATA 3\r\nalice \"admin active 20", 30) == 0);
    assert_non_null(strstr(got, "\r\nbob \"user active 20"));
    assert_non_null(strstr(got, "\r\nerin \"admin active 20"));
    assert_null(strstr(got, "$argon2")); /* no hash goes out */

    /* A new user logs in at once, in a list of their own. */
    assert_string_equal(cli_cmd(a, "USER add carol \"carol's secret\"\n"), "OK added\r\n");
    assert_string_equal(cli_cmd(a, "USER add carol \"another secret\"\n"),
                        "ERR EXISTS a user is named carol already\r\n");
    struct cli *c = cli_open(sp.port);
    assert_string_equal(cli_cmd(c, auth_line("carol", "carol's secret")), "OK\r\n");
    assert_string_equal(cli_cmd(c, "ADD carol's task\n"), "OK 1\r\n");

    /* The admin sees nobody's tasks but their own, and uses no list. */
    assert_string_equal(cli_cmd(a, "LIST all\n"), "DATA 0\r\n");
    assert_string_equal(cli_cmd(a, "GET 1\n"), "ERR NOTFOUND no task with id '1'\r\n");
    assert_string_equal(cli_cmd(a, "USE carol\n"),
                        "ERR AUTH the list carol is not shared with you\r\n");
    /* Nor manages another admin, nor removes or locks themselves. */
    assert_string_equal(cli_cmd(a, "USER lock erin\n"),
                        "ERR AUTH erin is an admin: admins are managed with todo-server user on "
                        "the server's machine\r\n");
    assert_true(strncmp(cli_cmd(a, "USER passwd erin \"x secret\"\n"), "ERR AUTH erin is an", 19) ==
                0);
    assert_string_equal(cli_cmd(a, "USER del alice\n"), "ERR ARGS you cannot remove yourself\r\n");
    assert_string_equal(cli_cmd(a, "USER lock alice\n"), "ERR ARGS you cannot lock yourself\r\n");
    assert_string_equal(cli_cmd(a, "USER lock nobody\n"),
                        "ERR NOTFOUND no user is named nobody\r\n");
    assert_true(strncmp(cli_cmd(a, "USER add dave\n"), "ERR ARGS USER takes", 19) == 0);

    /* A new password: the old one no longer logs in, the new one does. */
    assert_string_equal(cli_cmd(a, "USER passwd carol \"carol's new secret\"\n"),
                        "OK has a new password\r\n");
    struct cli *c2 = cli_open(sp.port);
    assert_string_equal(cli_cmd(c2, auth_line("carol", "carol's secret")),
                        "ERR AUTH wrong user or password\r\n");
    cli_close(c2);
    c2 = cli_open(sp.port);
    assert_string_equal(cli_cmd(c2, auth_line("carol", "carol's new secret")), "OK\r\n");
    cli_close(c2);

    /* Locked: carol's open connection is logged out at its next command. */
    assert_string_equal(cli_cmd(a, "USER lock carol\n"), "OK locked\r\n");
    assert_string_equal(cli_cmd(c, "LIST all\n"),
                        "ERR AUTH your account was locked; you are logged out\r\n");
    assert_string_equal(cli_cmd(c, "LIST all\n"),
                        "ERR AUTH authentication required; send AUTH <user> <password>\r\n");
    assert_string_equal(cli_cmd(c, auth_line("carol", "carol's new secret")),
                        "ERR AUTH the account carol is locked\r\n");
    /* Others' connections go on as they were. */
    assert_non_null(strstr(cli_cmd(b, "GET 1\n"), "\"bob's task\""));
    assert_string_equal(cli_cmd(a, "USER unlock carol\n"), "OK unlocked\r\n");
    assert_string_equal(cli_cmd(c, auth_line("carol", "carol's new secret")), "OK\r\n");
    assert_non_null(strstr(cli_cmd(c, "GET 1\n"), "\"carol's task\""));

    /* Removed: with her list; her connection is logged out. */
    assert_string_equal(cli_cmd(a, "USER del carol\n"), "OK removed 1 task\r\n");
    assert_string_equal(cli_cmd(c, "GET 1\n"),
                        "ERR AUTH your account was removed; you are logged out\r\n");
    assert_string_equal(cli_cmd(c, auth_line("carol", "carol's new secret")),
                        "ERR AUTH wrong user or password\r\n");
    snprintf(got, sizeof(got), "%s", cli_cmd(a, "USER list\n"));
    assert_true(strncmp(got, "DATA 3\r\n", 8) == 0);
    assert_null(strstr(got, "carol"));
    /* A carol made again starts with nothing. */
    assert_string_equal(cli_cmd(a, "USER add carol \"carol's third secret\"\n"), "OK added\r\n");
    cli_close(c);
    c = cli_open(sp.port);
    assert_string_equal(cli_cmd(c, auth_line("carol", "carol's third secret")), "OK\r\n");
    assert_string_equal(cli_cmd(c, "LIST all\n"), "DATA 0\r\n");
    assert_non_null(strstr(cli_cmd(b, "GET 1\n"), "\"bob's task\""));
    cli_close(c);
    cli_close(b);
    cli_close(a);
    stop_server();
    /* What the server did is what `todo-server user list` reads. */
    assert_int_equal(user_cmd(NULL, "del", "carol", NULL), 0);
    assert_int_equal(user_cmd(NULL, "del", "carol", NULL), 1);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(login_as_user, setup, teardown),
        cmocka_unit_test_setup_teardown(wrong_passwords_slow_the_user, setup, teardown),
        cmocka_unit_test_setup_teardown(locked_account, setup, teardown),
        cmocka_unit_test_setup_teardown(shared_password_too, setup, teardown),
        cmocka_unit_test_setup_teardown(users_are_apart, setup, teardown),
        cmocka_unit_test_setup_teardown(del_takes_the_list, setup, teardown),
        cmocka_unit_test_setup_teardown(shared_list_both_sides, setup, teardown),
        cmocka_unit_test_setup_teardown(no_users_no_login, setup, teardown),
        cmocka_unit_test_setup_teardown(check_does_not_block_the_worker, setup, teardown),
        cmocka_unit_test_setup_teardown(admin_manages_users, setup, teardown),
    };
    return srv_test_main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]));
}
