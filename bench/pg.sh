# bench/pg.sh - bench/compare's PostgreSQL rows (issue 19, --pg), sourced by
# it after lib.sh: todo-server on a private PostgreSQL 15 (scripts/pg-private,
# in its own temporary directory), one server and two servers on the same
# database, against pgbench running the statements a GET and an EDIT amount
# to on the same database, as the limit of what PostgreSQL gives here.
# compare sets SERVER, BENCH, TMP, DURATION, BIG_KEYS, SERVER_ARGS and
# defines die(), say(), bench(), RPS/P50/P99/ERR/REQS. pg_cleanup stops
# everything this file starts; compare's EXIT trap calls it.

HERE_PG=${HERE:-.}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_DIR=
PG_URI=
PG_A_PID=
PG_A_PORT=
PG_B_PID=
PG_B_PORT=
PG_C_PID=
PG_C_PORT=
# pgbench: Debian's, beside the server's binaries, else on PATH.
PGBENCH=$PG_BIN/pgbench
[ -x "$PGBENCH" ] || PGBENCH=$(command -v pgbench || true)

# pg_missing: why the rows cannot run here (empty when they can): the
# PostgreSQL server's binaries, pgbench, or a todo-server built without
# libpq (-DTODO_WITH_POSTGRES=OFF).
pg_missing() {
    local f libs
    for f in initdb pg_ctl createdb; do
        [ -x "$PG_BIN/$f" ] || { echo "$PG_BIN/$f is missing (apt-get install postgresql)"; return 0; }
    done
    [ -n "$PGBENCH" ] || { echo "pgbench is missing (apt-get install postgresql: Debian's postgresql-15 has it)"; return 0; }
    # The output taken whole: grep -q stopping early would kill ldd by
    # SIGPIPE, which pipefail would count as a failure.
    libs=$(ldd "$SERVER" 2>/dev/null || true)
    grep -q 'libpq\.so' <<<"$libs" ||
        { echo "$SERVER was built without PostgreSQL (cmake -DTODO_WITH_POSTGRES=ON, needs libpq-dev)"; return 0; }
    return 0
}

pg_cleanup() {
    stop_pid "$PG_C_PID"
    PG_C_PID=
    stop_pid "$PG_B_PID"
    PG_B_PID=
    stop_pid "$PG_A_PID"
    PG_A_PID=
    if [ -n "$PG_DIR" ]; then
        "$HERE_PG/../scripts/pg-private" stop "$PG_DIR" || true
        rm -rf "$PG_DIR"
        PG_DIR=
    fi
}

# pg_start_todo A|B|C [todo-server args]: a todo-server on the private
# database; sets PG_A_*, PG_B_* or PG_C_*.
pg_start_todo() {
    local saved=(${SERVER_ARGS[@]+"${SERVER_ARGS[@]}"})
    SERVER_ARGS=(${SERVER_ARGS[@]+"${SERVER_ARGS[@]}"} "${@:2}")
    start_todo "$PG_URI"
    SERVER_ARGS=(${saved[@]+"${saved[@]}"})
    printf -v "PG_$1_PID" %s "$TODO_PID"
    printf -v "PG_$1_PORT" %s "$TODO_PORT"
    TODO_PID=
}

pg_stop_b() {
    stop_pid "$PG_B_PID"
    PG_B_PID=
}

# pg_warm PORT: GET of every task once, pipelined on one connection, so
# that the server's cache holds the working set before the timed part (as
# the 100k rows' server does). Bounded: 180 s.
pg_warm() {
    local fd writer
    exec {fd}<>"/dev/tcp/127.0.0.1/$1"
    awk -v n="$PG_KEYS" 'BEGIN { for (i = 1; i <= n; i++) printf "GET %d\r\n", i; printf "PING\r\n" }' >&"$fd" &
    writer=$!
    timeout 180 grep -a -m1 -q 'PONG' <&"$fd" || die "warming the cache on port $1: no reply to the last request"
    wait "$writer" || true
    exec {fd}>&-
}

# pg_stat PORT NAME: NAME's value in that server's STATS.
pg_stat() {
    local port=$TODO_PORT v
    TODO_PORT=$1
    v=$(big_stat "$2")
    TODO_PORT=$port
    echo "$v"
}

# pg_two WL TEST: one half of a two-server row: todo-bench twice at once,
# 25 connections on each server, each adding up its halves in its own
# --accumulate files; pg_merge makes the row of both.
pg_two() {
    local wl=$1 test=$2 rc_a=0 rc_b=0 pid_a pid_b
    "$BENCH" -p "$PG_A_PORT" -c 25 -d "$SLICE" -r "$PG_KEYS" --existing --text-size 64 -t "$test" \
        --csv --accumulate "$ACC.two-a" >"$TMP/pg.two-a" 2>>"$TMP/bench.log" &
    pid_a=$!
    "$BENCH" -p "$PG_B_PORT" -c 25 -d "$SLICE" -r "$PG_KEYS" --existing --text-size 64 -t "$test" \
        --csv --accumulate "$ACC.two-b" >"$TMP/pg.two-b" 2>>"$TMP/bench.log" &
    pid_b=$!
    wait "$pid_a" || rc_a=$?
    wait "$pid_b" || rc_b=$?
    if [ "$rc_a" -ne 0 ] && [ "$rc_a" -ne 4 ] || [ "$rc_b" -ne 0 ] && [ "$rc_b" -ne 4 ]; then
        echo "compare: todo-bench on two servers $wl failed (exit $rc_a, $rc_b); its messages:" >&2
        tail -5 "$TMP/bench.log" >&2
    fi
}

# pg_merge WL TEST: the two servers' accumulated halves as one row: the
# rates added (the two ran at the same time), the latencies of both in one
# histogram (the buckets of bench/hist.c, whose top a percentile reports).
pg_merge() {
    local wl=$1 test=$2 out
    [ -f "$ACC.two-a.$test" ] && [ -f "$ACC.two-b.$test" ] || return 0
    out=$(awk '
        function top(i,   shift, t) {
            if (i < 256) return i
            shift = int((i - 256) / 128) + 1
            t = 128 + (i - 256) % 128
            return (t + 1) * 2 ^ shift - 1
        }
        function q(p,   rank, seen, i, v) {
            rank = p * count
            if (rank > int(rank)) rank = int(rank) + 1
            if (rank < 1) rank = 1
            seen = 0
            for (i = 0; i <= maxb; i++) {
                seen += b[i]
                if (seen >= rank) { v = top(i); return v < max ? v : max }
            }
            return max
        }
        FNR == 1 { next }
        FNR == 2 { done += $1; err += $2; if ($3 > 0) rps += $1 / $3; count += $4
                   if ($6 > max) max = $6; next }
        { b[$1] += $2; if ($1 > maxb) maxb = $1 }
        END { printf "%d %.1f %.1f %.1f %.1f %d\n", done, rps, q(0.5) / 1000, q(0.99) / 1000,
              q(0.999) / 1000, err }' "$ACC.two-a.$test" "$ACC.two-b.$test")
    local k="$wl|two|$test" n r p50 p99 p999 e
    read -r n r p50 p99 p999 e <<<"$out"
    REQS[$k]=$n
    RPS[$k]=$r
    P50[$k]=$p50
    P99[$k]=$p99
    P999[$k]=$p999
    ERR[$k]=$e
}

# pg_bench WL TEST: one half of pgbench's row: SLICE seconds of the custom
# script $TMP/pg.TEST.sql at 50 connections, 2 threads, prepared statements,
# every transaction's latency logged (-l); the halves' transactions and
# times are added up in PGB_N/PGB_S, their logs kept for pgbench_report.
declare -A PGB_N=() PGB_S=() PGB_AVG=()
pg_bench() {
    local wl=$1 test=$2 out n tps avg try
    # On a loaded machine, 50 clients can take all of a 1 s half to
    # connect, and pgbench then runs no transaction and prints no rate
    # (seen once in the postgres stage beside other work): once more, then.
    for try in 1 2; do
        out=$(timeout $((SLICE + 60)) "$PGBENCH" -n -c 50 -j 2 -T "$SLICE" -M prepared -f "$TMP/pg.$test.sql" \
            -l --log-prefix "$TMP/pgb.$test" "$PG_URI" 2>>"$TMP/pgbench.err") ||
            { tail -5 "$TMP/pgbench.err" >&2; die "pgbench $test failed"; }
        echo "$out" >>"$TMP/pgbench.out"
        n=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
        [ "${n:-0}" -eq 0 ] && [ "$try" -eq 1 ] || break
        say "pgbench $test ran no transaction in $SLICE s; once more"
    done
    tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out")
    avg=$(sed -n 's/^latency average = \([0-9.]*\) ms.*/\1/p' <<<"$out")
    [ -n "$n" ] && [ -n "$tps" ] || die "pgbench $test printed no rate: $out"
    PGB_N[$wl]=$((${PGB_N[$wl]:-0} + n))
    PGB_S[$wl]=$(awk -v s="${PGB_S[$wl]:-0}" -v n="$n" -v t="$tps" 'BEGIN { printf "%.6f", s + (t > 0 ? n / t : 0) }')
    PGB_AVG[$wl]="${PGB_AVG[$wl]:+${PGB_AVG[$wl]}/}$avg"
}

# pgbench_report WL TEST: the row from both halves: transactions over
# their time (pgbench's tps excludes the connections' setup), p50/p99 of
# every logged transaction's latency (the third field of -l, in us).
pgbench_report() {
    local wl=$1 test=$2 n k="$1|pgbench|$2" p50 p99
    n=${PGB_N[$wl]:-0}
    REQS[$k]=$n
    RPS[$k]=$(awk -v n="$n" -v s="${PGB_S[$wl]:-0}" 'BEGIN { printf "%.1f", (s > 0 ? n / s : 0) }')
    read -r p50 p99 <<<"$(cat "$TMP/pgb.$test".* | cut -d' ' -f3 | sort -n |
        awk '{ v[NR] = $1 } END { if (NR == 0) { print "0 0"; exit }
            r50 = int(NR * 0.5); if (r50 < NR * 0.5) r50++; if (r50 < 1) r50 = 1
            r99 = int(NR * 0.99); if (r99 < NR * 0.99) r99++; if (r99 < 1) r99 = 1
            print v[r50], v[r99] }')"
    P50[$k]=$p50
    P99[$k]=$p99
    ERR[$k]=0
}

# The rows: label, todo-bench test, the pgbench script it is compared with.
PG_WL_GET="GET at random, 50 conns"
PG_WL_EDIT="EDIT at random, 50 conns"
declare -A PG_HITS=()

pg_measure() {
    local why text wl kind half h0 m0 h1 m1 hits misses halves=()
    why=$(pg_missing)
    if [ -n "$why" ]; then
        say "PostgreSQL rows skipped: $why"
        PG_SKIPPED=$why
        return 0
    fi
    # The earlier rows' servers go (with --pg after them): their CPU
    # would be taken from these, and their pids from cleanup.
    stop_todo
    stop_pid "$REDIS_PID"
    REDIS_PID=
    stop_pid "$NGINX_PID"
    NGINX_PID=
    PG_KEYS=$BIG_KEYS
    KEYSPACE=$PG_KEYS
    # pgbench -T takes whole seconds: every half of these rows is that long.
    SLICE=$(awk -v d="$DURATION" 'BEGIN { s = int(d / 2 + 0.5); print (s < 1 ? 1 : s) }')
    PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/todo-compare-pg.XXXXXX")
    say "PostgreSQL: a private PostgreSQL 15 (scripts/pg-private), $PG_KEYS tasks loaded through todo-server..."
    PG_URI=$("$HERE_PG/../scripts/pg-private" start "$PG_DIR") || die "the private PostgreSQL would not start"
    PG_VERSION=$("$PG_BIN/postgres" --version 2>/dev/null | cut -d' ' -f3 || true)
    pg_start_todo A
    "$BENCH" -p "$PG_A_PORT" -r "$PG_KEYS" --text-size 64 --tags 3 --load-only 2>>"$TMP/bench.log" ||
        die "loading $PG_KEYS tasks through todo-server on PostgreSQL failed: $(tail -3 "$TMP/bench.log")"
    pg_start_todo B
    # The third server has no cache: its every GET runs the SELECT that
    # pgbench runs, which is the issue's "same statements" for reads.
    pg_start_todo C --cache-mb 0
    say "PostgreSQL: loaded; every task read once through each server..."
    pg_warm "$PG_A_PORT"
    pg_warm "$PG_B_PORT"

    # pgbench's scripts: the statement a GET that misses the cache runs
    # (server/store-pg.c's ST_GET), and the UPDATE an EDIT of the text runs
    # (ST_EDIT: the task's row keeps its before-image for UNDO), each one
    # transaction on its own, ids at random over the same range. EDIT's
    # new text is as long as todo-bench's (--text-size 64).
    text=$(printf '%064d' 0 | tr 0 e)
    cat >"$TMP/pg.get.sql" <<SQL
\\set id random(1, $PG_KEYS)
SELECT t.id, t.text, t.done, t.pri, t.due, t.created, t.updated, t.tags FROM tasks t WHERE t.id = :id;
SQL
    cat >"$TMP/pg.edit.sql" <<SQL
\\set id random(1, $PG_KEYS)
UPDATE tasks SET u_b = 1, u_text = text, u_done = done, u_pri = pri, u_due = due, u_created = created, u_updated = updated, u_tags = tags, u_ver = ver, u_kind = 2, ver = ver + 1, text = '$text', updated = (extract(epoch FROM clock_timestamp()) * 1000)::bigint WHERE id = :id;
SQL

    # Each row in halves in a mirrored order, one server (and for GET the
    # one without a cache), two servers, pgbench, pgbench, two, (none,) one, so that the machine's drift cancels out
    # of the ratios. For EDIT the second server runs only in its halves:
    # a server that follows the log of another's writes reads it from
    # PostgreSQL, which the one-server row should not pay. GET writes
    # nothing, so the second server stays up (and its cache warm) then.
    for wl in "$PG_WL_GET" "$PG_WL_EDIT"; do
        case $wl in "$PG_WL_GET") kind=get ;; *) kind=edit ;; esac
        ACC=$TMP/acc.pg.$kind
        hits=0
        misses=0
        if [ "$kind" = get ]; then
            say "PostgreSQL: $wl, one server, one without a cache, two servers, pgbench..."
            halves=(one none two pgbench pgbench two none one)
        else
            stop_pid "$PG_C_PID"
            PG_C_PID=
            say "PostgreSQL: $wl, one server, two servers, pgbench..."
            halves=(one two pgbench pgbench two one)
        fi
        for half in "${halves[@]}"; do
            case $half in
            none)
                bench "$wl" none "$PG_C_PID" "$PG_C_PORT" -c 50 --existing --text-size 64 -t "$kind"
                ;;
            one)
                [ "$kind" = get ] || pg_stop_b
                h0=$(pg_stat "$PG_A_PORT" cache_hits)
                m0=$(pg_stat "$PG_A_PORT" cache_misses)
                bench "$wl" one "$PG_A_PID" "$PG_A_PORT" -c 50 --existing --text-size 64 -t "$kind"
                h1=$(pg_stat "$PG_A_PORT" cache_hits)
                m1=$(pg_stat "$PG_A_PORT" cache_misses)
                hits=$((hits + h1 - h0))
                misses=$((misses + m1 - m0))
                ;;
            two)
                [ -n "$PG_B_PID" ] || pg_start_todo B
                pg_two "$wl" "$kind"
                ;;
            pgbench)
                [ "$kind" = get ] || pg_stop_b
                pg_bench "$wl" "$kind"
                ;;
            esac
        done
        pg_merge "$wl" "$kind"
        pgbench_report "$wl" "$kind"
        [ "$kind" != get ] ||
            PG_HITS[$wl]=$(awk -v h="$hits" -v m="$misses" 'BEGIN { if (h + m > 0) printf "%.1f", 100 * h / (h + m); else print "-" }')
    done
    pg_cleanup
    say "PostgreSQL: done"
}

pg_report() {
    local wl test sys x o t
    echo
    if [ -n "${PG_SKIPPED:-}" ]; then
        echo "PostgreSQL rows skipped: $PG_SKIPPED"
        return 0
    fi
    echo "PostgreSQL ${PG_VERSION:-15} (private, scripts/pg-private: fsync off, on 127.0.0.1), $PG_KEYS tasks"
    echo "(texts of 64 bytes, 3 tags), loaded through todo-server, at random, 50 connections:"
    printf '%-26s %-16s %10s %9s %9s %7s %6s\n' row system "req/s" "p50 us" "p99 us" "hits %" errors
    for wl in "$PG_WL_GET" "$PG_WL_EDIT"; do
        case $wl in "$PG_WL_GET") test=get ;; *) test=edit ;; esac
        for sys in one none two pgbench; do
            [ -n "${RPS[$wl|$sys|$test]:-}" ] || continue
            case $sys in
            one) t="1 todo-server" ;;
            none) t="1, --cache-mb 0" ;;
            two) t="2 todo-servers" ;;
            pgbench) t="pgbench" ;;
            esac
            x=-
            [ "$sys$test" != oneget ] || x=${PG_HITS[$wl]:--}
            printf '%-26s %-16s %10.0f %9s %9s %7s %6s\n' "$wl" "$t" "${RPS[$wl|$sys|$test]}" \
                "${P50[$wl|$sys|$test]:-?}" "${P99[$wl|$sys|$test]:-?}" "$x" "${ERR[$wl|$sys|$test]:-0}"
        done
    done
    echo "(req/s over ${SLICE} s x 2 per system and row, halves in the order one, (--cache-mb 0,) two,"
    echo " pgbench, pgbench, two, (--cache-mb 0,) one; 2 todo-servers = 25 connections on each at"
    echo " once, their rates added, p50/p99 of both in one histogram; pgbench -n -c 50 -j 2 -T ${SLICE}"
    echo " -M prepared, one statement per transaction (GET: the SELECT by id a cache miss runs;"
    echo " EDIT: the UPDATE of text by id that EDIT runs), its rate = transactions / time without"
    echo " connecting, p50/p99 over every transaction in its -l log, latency average per half"
    echo " ${PGB_AVG[$PG_WL_GET]:-?} ms (GET), ${PGB_AVG[$PG_WL_EDIT]:-?} ms (EDIT); hits % = the one server's GETs"
    echo " answered from its cache; p99 in microseconds)"
    echo
    pg_ratio() { awk -v a="${RPS[$1|$2|$3]:-0}" -v b="${RPS[$1|pgbench|$3]:-0}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print 0 }'; }
    x=$(pg_ratio "$PG_WL_GET" none get)
    echo "target: one todo-server's GET without a cache >= 0.8x pgbench's SELECT by id: ${x}x -> $(verdict "$(ge "$x" 0.8)")"
    x=$(pg_ratio "$PG_WL_EDIT" one edit)
    echo "target: one todo-server's EDIT >= 0.8x pgbench's UPDATE by id: ${x}x -> $(verdict "$(ge "$x" 0.8)")"
    x=$(pg_ratio "$PG_WL_GET" one get)
    echo "target: one todo-server's GET (cache) >= 2x pgbench's SELECT by id: ${x}x -> $(verdict "$(ge "$x" 2)")"
    x=$(pg_ratio "$PG_WL_GET" two get)
    echo "target: two todo-servers' GET (cache) >= 2x pgbench's SELECT by id: ${x}x -> $(verdict "$(ge "$x" 2)")"
    o=$(pg_ratio "$PG_WL_EDIT" two edit)
    echo "(not a target: two todo-servers' EDIT against pgbench's UPDATE: ${o}x)"
}
