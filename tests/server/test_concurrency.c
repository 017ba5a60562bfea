/*
 * test_concurrency.c - 32 clients x 1,000 mixed writes at once (ADD, DONE,
 * EDIT, DEL, pipelined), on several worker threads; afterwards every live
 * task is there exactly once, as its client last left it, ids are unique,
 * and no deleted task is left.
 */
#include "srv_test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

#define CLIENTS 32
#define OPS 1000
#define WINDOW 25
#define MAX_IDS (CLIENTS * OPS + 16)

/* What each id should be, written only by the client that got the id. */
struct expect {
    atomic_int owner; /* client + 1; 0 while unused */
    int done;
    int deleted;
    int edited;
    int seq; /* the ADD's number within its client */
};

static struct expect *ids;
static atomic_int failures;
static char first_failure[256];
static pthread_mutex_t fail_lock = PTHREAD_MUTEX_INITIALIZER;

/* cmocka's asserts cannot be used off the main thread: client threads
 * record the first failure here and the test reports it. */
static void failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void failf(const char *fmt, ...)
{
    if (atomic_fetch_add(&failures, 1) == 0) {
        va_list ap;
        va_start(ap, fmt);
        pthread_mutex_lock(&fail_lock);
        vsnprintf(first_failure, sizeof(first_failure), fmt, ap);
        pthread_mutex_unlock(&fail_lock);
        va_end(ap);
    }
}

struct client {
    int port, k;
    pthread_t t;
};

static void *client_main(void *arg)
{
    struct client *cl = arg;
    struct cli *c = cli_open(cl->port);
    if (c == NULL) {
        failf("client %d: cannot connect", cl->k);
        return NULL;
    }
    long mine[OPS];
    int nmine = 0, next_target = 0, seq = 0;
    char line[256];

    for (int op = 0; op < OPS; op += WINDOW) {
        char win[WINDOW * 64];
        int kind[WINDOW];
        long target[WINDOW];
        size_t n = 0;
        for (int j = 0; j < WINDOW; j++) {
            /* 15 of 25 are ADDs; the rest act on this client's older tasks. */
            int want = j < 15 ? 0 : j < 19 ? 1 : j < 22 ? 2 : 3;
            if (want != 0 && next_target >= nmine)
                want = 0;
            kind[j] = want;
            if (want == 0) {
                target[j] = seq;
                n += (size_t)sprintf(win + n, "ADD c%d-%d +k%d\n", cl->k, seq++, cl->k);
            } else {
                target[j] = mine[next_target++];
                static const char *const verb[] = {"", "DONE", "EDIT", "DEL"};
                if (want == 2)
                    n += (size_t)sprintf(win + n, "EDIT %ld edited +e\n", target[j]);
                else
                    n += (size_t)sprintf(win + n, "%s %ld\n", verb[want], target[j]);
            }
        }
        if (sock_send_all(c->fd, win, n) != 0) {
            failf("client %d: send failed at op %d", cl->k, op);
            break;
        }
        for (int j = 0; j < WINDOW; j++) {
            if (cli_line(c, line, sizeof(line), 20000) <= 0 || strncmp(line, "OK ", 3) != 0) {
                failf("client %d: bad reply at op %d: %s", cl->k, op + j, line);
                goto out;
            }
            long id = atol(line + 3);
            if (id < 1 || id >= MAX_IDS) {
                failf("client %d: id %ld out of range", cl->k, id);
                goto out;
            }
            if (kind[j] == 0) {
                int expected = 0;
                if (!atomic_compare_exchange_strong(&ids[id].owner, &expected, cl->k + 1)) {
                    failf("id %ld handed out twice (also to client %d)", id, expected - 1);
                    goto out;
                }
                ids[id].seq = (int)target[j];
                mine[nmine++] = id;
            } else if (id != target[j]) {
                failf("reply for %ld names %ld", target[j], id);
                goto out;
            } else if (kind[j] == 1) {
                ids[id].done = 1;
            } else if (kind[j] == 2) {
                ids[id].edited = 1;
            } else {
                ids[id].deleted = 1;
            }
        }
    }
out:
    cli_close(c);
    return NULL;
}

static void many_writers(void **state)
{
    (void)state;
    char dir[512], db[600];
    struct server_proc sp;
    static struct client cls[CLIENTS];

    make_tmpdir(dir, sizeof(dir));
    snprintf(db, sizeof(db), "%s/todo.db", dir);
    const char *const extra[] = {"--db", db, "--threads", "4", NULL};
    srv_start(&sp, extra);
    ids = calloc(MAX_IDS, sizeof(*ids));
    assert_non_null(ids);

    for (int k = 0; k < CLIENTS; k++) {
        cls[k].port = sp.port;
        cls[k].k = k;
        assert_int_equal(pthread_create(&cls[k].t, NULL, client_main, &cls[k]), 0);
    }
    for (int k = 0; k < CLIENTS; k++)
        pthread_join(cls[k].t, NULL);
    if (atomic_load(&failures) > 0)
        fail_msg("%d failures; first: %s", atomic_load(&failures), first_failure);

    /* Every live task exactly once, as its client left it. */
    long live = 0;
    for (long id = 0; id < MAX_IDS; id++)
        if (atomic_load(&ids[id].owner) && !ids[id].deleted)
            live++;
    struct cli *c = cli_open(sp.port);
    assert_non_null(c);
    assert_int_equal(cli_send(c, "LIST all\n"), 0);
    char line[512];
    assert_true(cli_line(c, line, sizeof(line), 10000) > 0);
    assert_true(strncmp(line, "DATA ", 5) == 0);
    long n = atol(line + 5);
    assert_int_equal(n, live);
    char *seen = calloc(MAX_IDS, 1);
    assert_non_null(seen);
    for (long i = 0; i < n; i++) {
        assert_true(cli_line(c, line, sizeof(line), 10000) > 0);
        long id = atol(line);
        assert_true(id > 0 && id < MAX_IDS);
        struct expect *e = &ids[id];
        int owner = atomic_load(&e->owner);
        if (owner == 0 || e->deleted || seen[id])
            fail_msg("task %ld should not be listed (owner %d, deleted %d, seen %d): %s", id, owner,
                     e->deleted, seen[id], line);
        seen[id] = 1;
        char want[128];
        if (e->edited)
            snprintf(want, sizeof(want), "\"edited\"\r\n");
        else
            snprintf(want, sizeof(want), "\"c%d-%d\"\r\n", owner - 1, e->seq);
        if (strstr(line, want) == NULL)
            fail_msg("task %ld: wanted text %s in %s", id, want, line);
        const char *status = strchr(line, ' ') + 1;
        if (strncmp(status, e->done ? "done " : "pending ", e->done ? 5 : 8) != 0)
            fail_msg("task %ld: wrong status in %s", id, line);
    }
    free(seen);
    long long writes = srv_stat(c, "writes");
    long long batches = srv_stat(c, "batches");
    assert_int_equal(writes, CLIENTS * OPS);
    print_message("%d writes in %lld commits (group commit)\n", CLIENTS * OPS, batches);
    cli_close(c);

    int st = server_stop(&sp, SIGTERM);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    free(ids);
    rm_tree(dir);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(many_writers),
    };
    return srv_test_main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]));
}
