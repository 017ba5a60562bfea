/*
 * main.c - todo-server's command line: options, their checks, and the file
 * descriptor limit. Everything else starts in server_run().
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cache.h"
#include "config.h"
#include "log.h"
#include "server.h"
#include "store.h"
#include "todo/proto.h"
#include "user-cmd.h"
#include "watch.h"

/* Exit status for a bad command line, as with most Unix tools. */
#define EXIT_USAGE 2

static const char *prog = "todo-server";

static void usage(FILE *f, int threads, int remote_threads)
{
    fprintf(f,
            "Usage: %s [OPTION]...\n"
            "       %s user add|passwd|del|lock|unlock|list [NAME] [--db PATH]\n"
            "Serves a todo list over TCP: one request per line, replies OK, ERR or DATA.\n"
            "Try it with: nc 127.0.0.1 9000, then type HELP.\n"
            "\n"
            "  -b, --bind ADDR           address to listen on (default %s); any address but\n"
            "                            loopback needs --password-file or --insecure\n"
            "  -p, --port N              TCP port; 0 takes a free one (default %d)\n"
            "  -d, --db PATH             SQLite database file (default: %s in the current\n"
            "                            directory); :memory: keeps nothing; or a libpq URI,\n"
            "                            postgresql://USER@HOST:5432/DB (postgresql: alone\n"
            "                            takes the PG* environment), for PostgreSQL\n"
            "  -t, --threads N           worker threads (default: online CPUs less one, at\n"
            "                            least 1, here %d; on PostgreSQL %d per CPU, here\n"
            "                            %d, as its workers wait on the database)\n"
            "      --max-clients N       clients connected at once (default %d); when full,\n"
            "                            the one idle longest (1 s at least) is closed to\n"
            "                            let a new one in, or else the new one gets ERR BUSY\n"
            "      --idle-timeout SECS   close a client silent this long, telling it why;\n"
            "                            0 never (default %d)\n"
            "      --http-host NAME      a name HTTP clients may reach this server by (the\n"
            "                            Host header), besides its address and localhost;\n"
            "                            repeatable\n"
            "      --http-cors ORIGIN    let pages of ORIGIN (https://app.example) use the\n"
            "                            HTTP API (CORS); default: same origin only\n"
            "      --line-timeout SECS   close a client whose request line is not finished\n"
            "                            this long after its first byte; 0 never (default %d)\n"
            "      --max-line BYTES      longest request line (default %d)\n"
            "      --cache-mb N          memory for the cache of GET replies, shared by\n"
            "                            the workers, in MiB (default %d); 0 turns it off\n"
            "      --password-file PATH  clients must AUTH with the first line of PATH\n"
            "      --insecure            allow a non-loopback --bind without a password\n"
            "      --sync normal|full    normal: an acknowledged write survives a crash or\n"
            "                            kill -9 of the server (default); full: it also\n"
            "                            survives power loss, at the cost of an fsync per\n"
            "                            batch of writes\n"
            "      --sched batch|normal  batch: workers do not preempt other programs\n"
            "                            when woken, for throughput on a machine shared\n"
            "                            with clients (default); normal: lower tail\n"
            "                            latency\n"
            "      --watch-ring N        the latest changes kept for WATCH ... since:SEQ\n"
            "                            (default %d), while anyone watches\n"
            "      --watch-ring-bytes BYTES\n"
            "                            and their text at most (default %u, 16 MiB)\n"
            "      --watch-buffer BYTES  a watcher whose unsent output passes this gets\n"
            "                            EVENT overflow and its watch ends (default %u)\n"
            "      --demo                load the tutorial's task_01..task_03 into an empty\n"
            "                            store\n"
            "      --log-level LEVEL     error, warn, info or debug (default info); the log\n"
            "                            goes to stderr\n"
            "  -h, --help                show this help and exit\n"
            "  -V, --version             show the version and exit\n"
            "\n"
            "Once listening it prints \"listening on ADDR:PORT\" on stdout. SIGINT or SIGTERM\n"
            "stops it cleanly: requests already read are answered, the database is closed.\n",
            prog, prog, SERVER_DEFAULT_BIND, SERVER_DEFAULT_PORT, SERVER_DEFAULT_DB, threads,
            SERVER_REMOTE_THREADS_PER_CPU, remote_threads, SERVER_DEFAULT_MAX_CLIENTS,
            SERVER_DEFAULT_IDLE_TIMEOUT, SERVER_DEFAULT_LINE_TIMEOUT, PROTO_MAX_LINE_DEFAULT,
            CACHE_DEFAULT_MB, WATCH_RING_DEFAULT, WATCH_RING_BYTES_DEFAULT, WATCH_BUFFER_DEFAULT);
}

static void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die_usage(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s --help' for more information.\n", prog);
    exit(EXIT_USAGE);
}

/* A whole decimal number within [min, max], or a usage error. */
static long parse_num(const char *opt, const char *s, long min, long max)
{
    char *end;
    char range[64];
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
        snprintf(range, sizeof(range), "%ld to %ld", min, max);
        fprintf(stderr, "%s: %s wants a number from %s, not '%s'\n", prog, opt, range, s);
        fprintf(stderr, "Try '%s --help' for more information.\n", prog);
        exit(EXIT_USAGE);
    }
    return v;
}

/*
 * Raises the soft limit on open files to the hard limit, and checks that
 * --max-clients fits: each client is one descriptor, and the server needs
 * some of its own (listener, signalfd, a spare, per worker an epoll, an
 * eventfd and SQLite's database, WAL and shm files, and the epoll and
 * eventfd of its watching connections).
 */
static void fit_fd_limit(struct server_config *cfg, int explicit_max)
{
    struct rlimit rl;
    rlim_t own = 32 + 8 * (rlim_t)cfg->threads;
    rlim_t need = (rlim_t)cfg->max_clients + own;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        log_warn("getrlimit: %s", strerror(errno));
        return;
    }
    if (rl.rlim_cur < rl.rlim_max) {
        struct rlimit want = rl;
        want.rlim_cur = rl.rlim_max == RLIM_INFINITY ? need : rl.rlim_max;
        if (want.rlim_cur > rl.rlim_cur && setrlimit(RLIMIT_NOFILE, &want) == 0)
            rl = want;
    }
    if (rl.rlim_cur != RLIM_INFINITY && need > rl.rlim_cur) {
        if (explicit_max) {
            fprintf(stderr,
                    "%s: --max-clients %d needs about %llu open files, but this process may "
                    "open only %llu (ulimit -n, hard limit %llu); lower --max-clients or raise "
                    "the limit\n",
                    prog, cfg->max_clients, (unsigned long long)need,
                    (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
            exit(EXIT_USAGE);
        }
        int fit = rl.rlim_cur > own ? (int)(rl.rlim_cur - own) : 1;
        log_warn("the open files limit (%llu) allows %d clients, not %d; using %d "
                 "(raise ulimit -n for more)",
                 (unsigned long long)rl.rlim_cur, fit, cfg->max_clients, fit);
        cfg->max_clients = fit;
    }
}

enum {
    OPT_MAX_CLIENTS = 256,
    OPT_IDLE_TIMEOUT,
    OPT_LINE_TIMEOUT,
    OPT_HTTP_HOST,
    OPT_HTTP_CORS,
    OPT_MAX_LINE,
    OPT_PASSWORD_FILE,
    OPT_INSECURE,
    OPT_SYNC,
    OPT_SCHED,
    OPT_DEMO,
    OPT_LOG_LEVEL,
    OPT_WATCH_RING,
    OPT_WATCH_RING_BYTES,
    OPT_WATCH_BUFFER,
    OPT_CACHE_MB,
};

static const struct option long_opts[] = {
    {"bind", required_argument, NULL, 'b'},
    {"port", required_argument, NULL, 'p'},
    {"db", required_argument, NULL, 'd'},
    {"threads", required_argument, NULL, 't'},
    {"max-clients", required_argument, NULL, OPT_MAX_CLIENTS},
    {"idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT},
    {"line-timeout", required_argument, NULL, OPT_LINE_TIMEOUT},
    {"http-host", required_argument, NULL, OPT_HTTP_HOST},
    {"http-cors", required_argument, NULL, OPT_HTTP_CORS},
    {"max-line", required_argument, NULL, OPT_MAX_LINE},
    {"password-file", required_argument, NULL, OPT_PASSWORD_FILE},
    {"insecure", no_argument, NULL, OPT_INSECURE},
    {"sync", required_argument, NULL, OPT_SYNC},
    {"sched", required_argument, NULL, OPT_SCHED},
    {"demo", no_argument, NULL, OPT_DEMO},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"watch-ring", required_argument, NULL, OPT_WATCH_RING},
    {"watch-ring-bytes", required_argument, NULL, OPT_WATCH_RING_BYTES},
    {"watch-buffer", required_argument, NULL, OPT_WATCH_BUFFER},
    {"cache-mb", required_argument, NULL, OPT_CACHE_MB},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

int main(int argc, char **argv)
{
    static struct server_config cfg; /* static: the workers read it until exit */
    const char *password_file = NULL;
    int explicit_max = 0, opt;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    char err[512];

    /* "todo-server user ..." manages accounts and serves nothing. */
    if (argc > 1 && strcmp(argv[1], "user") == 0)
        return user_cmd_main(argc - 1, argv + 1);
    if (ncpu < 1)
        ncpu = 1;
    if (ncpu > 256)
        ncpu = 256;
    cfg.bind = SERVER_DEFAULT_BIND;
    cfg.port = SERVER_DEFAULT_PORT;
    cfg.db = SERVER_DEFAULT_DB;
    /* One core is left to the checkpoint thread, the acceptor and, often,
     * clients on the same machine: on 2 cores one worker beat two in every
     * row of bench/compare (docs/PERFORMANCE.md). */
    int default_threads = ncpu > 1 ? (int)ncpu - 1 : 1;
    int remote_threads = SERVER_REMOTE_THREADS_PER_CPU * (int)ncpu;
    if (remote_threads > 256)
        remote_threads = 256;
    int explicit_threads = 0;
    cfg.threads = default_threads;
    cfg.max_clients = SERVER_DEFAULT_MAX_CLIENTS;
    cfg.idle_timeout = SERVER_DEFAULT_IDLE_TIMEOUT;
    cfg.line_timeout = SERVER_DEFAULT_LINE_TIMEOUT;
    cfg.max_line = PROTO_MAX_LINE_DEFAULT;
    cfg.watch_ring = WATCH_RING_DEFAULT;
    cfg.watch_ring_bytes = WATCH_RING_BYTES_DEFAULT;
    cfg.watch_buffer = WATCH_BUFFER_DEFAULT;
    cfg.cache_mb = CACHE_DEFAULT_MB;

    while ((opt = getopt_long(argc, argv, "b:p:d:t:hV", long_opts, NULL)) != -1) {
        switch (opt) {
        case 'b':
            cfg.bind = optarg;
            break;
        case 'p':
            cfg.port = (int)parse_num("--port", optarg, 0, 65535);
            break;
        case 'd':
            if (*optarg == '\0')
                die_usage("--db wants a file name (or :memory:)");
            cfg.db = optarg;
            break;
        case 't':
            cfg.threads = (int)parse_num("--threads", optarg, 1, 256);
            explicit_threads = 1;
            break;
        case OPT_MAX_CLIENTS:
            cfg.max_clients = (int)parse_num("--max-clients", optarg, 1, 1000000);
            explicit_max = 1;
            break;
        case OPT_IDLE_TIMEOUT:
            cfg.idle_timeout = (int)parse_num("--idle-timeout", optarg, 0, 7 * 24 * 3600);
            break;
        case OPT_LINE_TIMEOUT:
            cfg.line_timeout = (int)parse_num("--line-timeout", optarg, 0, 7 * 24 * 3600);
            break;
        case OPT_HTTP_HOST:
            if (cfg.nhttp_hosts == SERVER_HTTP_HOSTS_MAX)
                die_usage("at most %d --http-host names", SERVER_HTTP_HOSTS_MAX);
            cfg.http_hosts[cfg.nhttp_hosts++] = optarg;
            break;
        case OPT_HTTP_CORS:
            cfg.http_cors = optarg;
            break;
        case OPT_MAX_LINE:
            cfg.max_line = (size_t)parse_num("--max-line", optarg, 64, 16L * 1024 * 1024);
            break;
        case OPT_CACHE_MB:
            /* Up to 1 TiB: a bound that keeps the byte count far from
             * overflowing, not a suggestion. */
            cfg.cache_mb = (size_t)parse_num("--cache-mb", optarg, 0, 1024L * 1024);
            break;
        case OPT_PASSWORD_FILE:
            password_file = optarg;
            break;
        case OPT_INSECURE:
            cfg.insecure = 1;
            break;
        case OPT_SYNC:
            if (strcmp(optarg, "normal") == 0)
                cfg.durable = 0;
            else if (strcmp(optarg, "full") == 0)
                cfg.durable = 1;
            else
                die_usage("--sync wants normal or full, not '%s'", optarg);
            break;
        case OPT_SCHED:
            if (strcmp(optarg, "batch") == 0)
                cfg.sched_normal = 0;
            else if (strcmp(optarg, "normal") == 0)
                cfg.sched_normal = 1;
            else
                die_usage("--sched wants batch or normal, not '%s'", optarg);
            break;
        case OPT_WATCH_RING:
            cfg.watch_ring = (size_t)parse_num("--watch-ring", optarg, 1, 16L * 1024 * 1024);
            break;
        case OPT_WATCH_RING_BYTES:
            cfg.watch_ring_bytes =
                (size_t)parse_num("--watch-ring-bytes", optarg, 4096, 4L * 1024 * 1024 * 1024);
            break;
        case OPT_WATCH_BUFFER:
            cfg.watch_buffer =
                (size_t)parse_num("--watch-buffer", optarg, 1024, SERVER_OUTPUT_MAX / 2);
            break;
        case OPT_DEMO:
            cfg.demo = 1;
            break;
        case OPT_LOG_LEVEL: {
            int l = log_level_parse(optarg);
            if (l < 0)
                die_usage("--log-level wants error, warn, info or debug, not '%s'", optarg);
            log_set_level((enum log_level)l);
            break;
        }
        case 'h':
            usage(stdout, default_threads, remote_threads);
            return 0;
        case 'V':
            printf("todo-server %s (protocol %s %d)\n", TODO_VERSION, PROTO_NAME, PROTO_VERSION);
            return 0;
        default:
            /* getopt_long has said what was wrong. */
            fprintf(stderr, "Try '%s --help' for more information.\n", prog);
            return EXIT_USAGE;
        }
    }
    if (optind < argc)
        die_usage("unexpected argument '%s'", argv[optind]);
    if (!explicit_threads && store_path_is_remote(cfg.db))
        cfg.threads = remote_threads;

    if (password_file && auth_load_file(&cfg.auth, password_file, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return EXIT_USAGE;
    }
    int lo = server_bind_is_loopback(cfg.bind, err, sizeof(err));
    if (lo < 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return EXIT_USAGE;
    }
    /* Accounts guard a non-loopback bind as a password does; the database
     * is looked at only when nothing else would let the server start. */
    if (!lo && !cfg.auth.enabled && !cfg.insecure) {
        int users = user_cmd_db_has_users(cfg.db, err, sizeof(err));
        if (users < 0) {
            fprintf(stderr, "%s: %s\n", prog, err);
            return 1;
        }
        cfg.accounts = users;
    }
    if (!lo && !cfg.auth.enabled && !cfg.accounts && !cfg.insecure) {
        fprintf(stderr,
                "%s: refusing to listen on %s without a password: anyone who can reach it "
                "could read and change every task.\n"
                "Give --password-file PATH, add users (todo-server user add NAME), or\n"
                "--insecure if the network is trusted.\n",
                prog, cfg.bind);
        return EXIT_USAGE;
    }
    if (!lo && !cfg.auth.enabled && !cfg.accounts)
        log_warn("listening on %s without a password (--insecure)", cfg.bind);

    fit_fd_limit(&cfg, explicit_max);
    return server_run(&cfg);
}
