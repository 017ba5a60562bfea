#!/usr/bin/env bash
# smoke.sh - run every todo-bench test for about a second against a real
# todo-server and check that each reports a nonzero rate and no errors; then
# check -n's exact count, --raw (with escapes, and without a complete reply),
# --idle, --load-only/--existing with --text-size and --tags, tget, --raw-write, --watchers
# (every watcher's count) and --stalled-watcher (its EVENT overflow), and the exit statuses for
# nothing listening and a host not on this machine;
# then that bench/ab runs and prints its table (the current build against itself).
# Needs TODO_SERVER, TODO_BENCH and TESTS_COMMON (set by CTest).
set -euo pipefail

: "${TODO_SERVER:?path to todo-server}" "${TODO_BENCH:?path to todo-bench}"
. "${TESTS_COMMON:?path to tests/common}/server.sh"

DIR=$(mktemp -d)
cleanup() {
    stop_server || true
    rm -rf "$DIR"
}
trap cleanup EXIT

failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# check_rows CSV EXPECTED_TESTS: every row has a rate above zero and no errors.
check_rows() {
    local csv=$1 want=$2 seen=""
    local test conns pipe reqs secs rps p50 p99 p999 max errors
    while IFS=, read -r test conns pipe reqs secs rps p50 p99 p999 max errors; do
        [ "$test" = test ] && continue
        seen="$seen $test"
        echo "  $test: $reqs requests, $rps req/s, p99 $p99 us, $errors errors"
        awk -v r="$rps" 'BEGIN { exit !(r > 0) }' || fail "$test reported a rate of $rps"
        [ "$reqs" -gt 0 ] || fail "$test completed no requests"
        [ "$errors" = 0 ] || fail "$test reported $errors errors"
        awk -v a="$p50" -v b="$p99" -v c="$max" 'BEGIN { exit !(a > 0 && a <= b && b <= c) }' ||
            fail "$test latencies out of order: p50 $p50 p99 $p99 max $max"
    done <<<"$csv"
    [ "$seen" = "$want" ] || fail "expected rows '$want', got '$seen'"
}

# server_stat NAME: the value of NAME in the running server's STATS.
server_stat() {
    local fd line n i
    exec {fd}<>"/dev/tcp/127.0.0.1/$SERVER_PORT"
    printf 'STATS\r\n' >&"$fd"
    IFS= read -r -t 10 line <&"$fd" || return 1
    n=${line#DATA }
    n=${n%$'\r'}
    for ((i = 0; i < n; i++)); do
        IFS= read -r -t 10 line <&"$fd" || break
        line=${line%$'\r'}
        [[ $line == "$1 "* ]] && echo "${line#"$1" }"
    done
    exec {fd}>&-
}

start_server --db "$DIR/smoke.db"
echo "todo-server on port $SERVER_PORT"

# A count, not a time: a row that runs for a time writes as much as the
# machine allows: 2 s of adds at full speed left a 64 MB WAL (74,408 adds),
# and the edits after them took it to the size at which writes wait for a
# checkpoint (CKPT_FORCE_FRAMES, store-sqlite-ckpt.c), which on a loaded
# machine took longer than the row (the edit row had no reply within 2 s
# at load 7; the list row under ASan within 1 s). 5,000 requests a row
# is enough to show each row works.
echo "every test, 5,000 requests each, 4 connections pipelined 2 deep, 2 client threads:"
out=$("$TODO_BENCH" -p "$SERVER_PORT" -c 4 -P 2 --threads 2 -n 5000 -r 200 --list-size 50 --csv \
    -t ping,get,add,edit,done,list,mixed) || fail "todo-bench exited with $?"
check_rows "$out" " ping get add edit done list mixed"

echo "-n 500 sends exactly 500 requests:"
out=$("$TODO_BENCH" -p "$SERVER_PORT" -c 3 -n 500 -r 50 --csv -t get) || fail "todo-bench -n exited with $?"
check_rows "$out" " get"
reqs=$(tail -1 <<<"$out" | cut -d, -f4)
[ "$reqs" = 500 ] || fail "-n 500 completed $reqs requests"

echo "--accumulate adds two runs of -n 300 and 200 into one of 500:"
for n in 300 200; do
    out=$("$TODO_BENCH" -p "$SERVER_PORT" -c 2 -n "$n" -r 50 --csv -t get --accumulate "$DIR/acc") ||
        fail "todo-bench --accumulate exited with $?"
done
check_rows "$out" " get"
reqs=$(tail -1 <<<"$out" | cut -d, -f4)
[ "$reqs" = 500 ] || fail "--accumulate reported $reqs requests, not 300 + 200"
[ "$(sed -n 2p "$DIR/acc.get" | cut -d' ' -f4)" = 500 ] ||
    fail "$DIR/acc.get does not hold 500 latencies: $(head -2 "$DIR/acc.get")"
echo "not a file of --accumulate" >"$DIR/bad.get"
rc=0
"$TODO_BENCH" -p "$SERVER_PORT" -c 1 -n 10 -r 5 -t get --accumulate "$DIR/bad" >/dev/null 2>"$DIR/err" || rc=$?
[ "$rc" = 1 ] || fail "a foreign --accumulate file: expected exit 1, got $rc"
grep -q "not a file of --accumulate" "$DIR/err" || fail "no message for a foreign file: $(cat "$DIR/err")"

echo "--raw PING against todo-server, with 100 idle connections held open:"
out=$("$TODO_BENCH" -p "$SERVER_PORT" -c 2 -d 0.5 --idle 100 --csv --raw PING \
    --reply-until 'PONG\r\n' 2>"$DIR/err") || fail "todo-bench --raw exited with $?"
check_rows "$out" " raw"
if grep -q 'idle connections were closed' "$DIR/err"; then
    fail "the server dropped idle connections: $(cat "$DIR/err")"
fi

echo "--raw with escapes: two lines in one request, both answered:"
out=$("$TODO_BENCH" -p "$SERVER_PORT" -c 2 -n 200 --csv --raw 'PING\r\nPING' \
    --reply-until 'PONG\r\nOK PONG\r\n' 2>"$DIR/err") || fail "todo-bench --raw with escapes exited with $? $(cat "$DIR/err")"
check_rows "$out" " raw"

echo "--raw whose replies never contain --reply-until: exit 1 and a message, not a rate of 0:"
rc=0
"$TODO_BENCH" -p "$SERVER_PORT" -c 2 -d 0.5 --raw PING --reply-until 'NEVER' >/dev/null 2>"$DIR/err" || rc=$?
[ "$rc" = 1 ] || fail "no complete reply: expected exit 1, got $rc"
grep -q "no reply was complete" "$DIR/err" || fail "no message for a run without replies: $(cat "$DIR/err")"

echo "--load-only with --text-size and --tags on a fresh server, then --existing tests over them:"
port=$SERVER_PORT
stop_server || true
start_server --db "$DIR/big.db"
"$TODO_BENCH" -p "$SERVER_PORT" -r 300 --text-size 64 --tags 3 --load-only 2>"$DIR/err" ||
    fail "--load-only exited with $?: $(cat "$DIR/err")"
[ "$("$TODO_BENCH" -p "$SERVER_PORT" -c 1 -n 1 -r 1 --csv -t ping | tail -1 | cut -d, -f11)" = 0 ] ||
    fail "the server does not answer after --load-only"
# Task 300 is there, with a 64-byte text and 3 tags; 301 is not.
exec {fd}<>"/dev/tcp/127.0.0.1/$SERVER_PORT"
printf 'GET 300\r\nGET 301\r\n' >&"$fd"
IFS= read -r -t 10 l1 <&"$fd" || true
IFS= read -r -t 10 l2 <&"$fd" || true
IFS= read -r -t 10 l3 <&"$fd" || true
exec {fd}>&-
[ "${l1%$'\r'}" = "DATA 1" ] || fail "GET 300 after --load-only: $l1"
text=${l2#*\"}
text=${text%\"*}
[ "${#text}" = 64 ] || fail "--text-size 64 made a text of ${#text} bytes: $l2"
tags=$(cut -d' ' -f5 <<<"$l2")
[ "$(tr ',' '\n' <<<"$tags" | wc -l)" = 3 ] || fail "--tags 3 made tags '$tags'"
[[ $l3 == "ERR NOTFOUND"* ]] || fail "--load-only -r 300 added more than 300 tasks: GET 301 said $l3"
out=$("$TODO_BENCH" -p "$SERVER_PORT" -c 4 -P 4 -d 0.5 -r 300 --existing --text-size 64 --csv \
    -t get,tget,edit,mixed) || fail "todo-bench --existing exited with $?"
check_rows "$out" " get tget edit mixed"
n=$(server_stat tasks)
[ "$n" = 300 ] || fail "--existing added tasks: the server has $n, not 300"
echo "--raw-write: a mix of two lines, each reply told apart by its own end:"
out=$("$TODO_BENCH" -p "$SERVER_PORT" -c 2 -n 400 --csv --raw PING --reply-until 'PONG\r\n' \
    --raw-write 'GET 1' --write-reply-until '"\r\n' --write-pct 50 2>"$DIR/err") ||
    fail "todo-bench --raw-write exited with $?: $(cat "$DIR/err")"
check_rows "$out" " raw"
rc=0
"$TODO_BENCH" -p "$SERVER_PORT" -n 1 --raw PING --reply-until 'PONG\r\n' --raw-write 'GET 1' \
    >/dev/null 2>"$DIR/err" || rc=$?
[ "$rc" = 2 ] || fail "--raw-write without --write-reply-until: expected exit 2, got $rc"

echo "--watchers 5 over 2 client threads, -n 3000 each of add, edit and done at 4 connections pipelined 2 deep:"
stop_server || true
# A ring of 2 MiB of event text (not 16), so that the server's memory below
# is bounded by what a stalled watcher must not grow.
start_server --db "$DIR/watch.db" --watch-ring-bytes 2097152
out=$("$TODO_BENCH" -p "$SERVER_PORT" -c 4 -P 2 --threads 2 -n 3000 -r 100 --watchers 5 --csv \
    -t add,edit,done 2>"$DIR/err") || fail "todo-bench --watchers exited with $?: $(cat "$DIR/err")"
seen=""
while IFS=, read -r test conns _ reqs _ rps p50 p99 _ max errors; do
    [ "$test" = test ] && continue
    seen="$seen $test"
    echo "  $test: $conns connections, $reqs requests or events, p50 $p50 us, p99 $p99 us, $errors errors"
    [ "$errors" = 0 ] || fail "$test reported $errors errors"
    case $test in
    *-watch | *-watch-sent)
        [ "$conns" = 5 ] || fail "$test: $conns watchers, not 5"
        # Every watcher got one event for each of the 3000 writes.
        [ "$reqs" = 15000 ] || fail "$test: the 5 watchers read $reqs events, not 5 x 3000"
        case $test in
        done-*) ;; # a DONE keeps the text: its events are counted, not timed
        *) awk -v a="$p50" -v b="$p99" -v c="$max" 'BEGIN { exit !(a >= 0 && a <= b && b <= c && c > 0) }' ||
            fail "$test: delays out of order or none: p50 $p50 p99 $p99 max $max" ;;
        esac
        ;;
    *) [ "$reqs" = 3000 ] || fail "$test completed $reqs requests, not 3000" ;;
    esac
done <<<"$out"
want=""
for t in add edit done; do want="$want $t $t-watch $t-watch-sent"; done
[ "$seen" = "$want" ] || fail "expected rows '$want', got '$seen'"
# The delay from the send includes the round trip, so it is the larger.
p50_ok=$(grep '^edit-watch,' <<<"$out" | cut -d, -f7)
p50_sent=$(grep '^edit-watch-sent,' <<<"$out" | cut -d, -f7)
awk -v a="$p50_ok" -v b="$p50_sent" 'BEGIN { exit !(b > 0 && a <= b) }' ||
    fail "edit: the delay from the OK ($p50_ok us) is not below the one from the send ($p50_sent us)"
n=$(server_stat events_sent)
[ "$n" -ge 45000 ] || fail "STATS events_sent is $n, not at least 5 x 9000"

echo "--stalled-watcher during 100000 EDITs of 200-byte texts: EVENT overflow, once, and bounded memory:"
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER_PID/status"; }
rss_before=$(rss)
out=$("$TODO_BENCH" -p "$SERVER_PORT" -c 8 -P 8 -n 100000 -r 100 --text-size 200 --stalled-watcher \
    --csv -t edit 2>"$DIR/err") || fail "todo-bench --stalled-watcher exited with $?: $(cat "$DIR/err")"
row=$(grep '^edit-stalled,' <<<"$out") || fail "no edit-stalled row: $out"
IFS=, read -r _ conns _ queued _ _ _ _ _ _ errors <<<"$row"
echo "  edit-stalled: $queued events queued before EVENT overflow, $errors errors"
[ "$errors" = 0 ] || fail "the stalled watcher got no EVENT overflow: $(cat "$DIR/err")"
[ "$queued" -gt 0 ] && [ "$queued" -lt 100000 ] || fail "$queued events queued for the stalled watcher"
[ "$(server_stat watch_overflows)" = 1 ] || fail "STATS watch_overflows is $(server_stat watch_overflows), not 1"
rss_after=$(rss)
echo "  server VmRSS $rss_before KiB before, $rss_after KiB after (30 MB of events were made)"
# The stalled watcher may hold its --watch-buffer (1 MiB), the ring 2 MiB,
# SQLite's caches a few more. Under a sanitizer the server's size says little
# (freed memory waits in ASan's quarantine), so only a plain build checks it.
# (grep without -q: under pipefail, -q's early exit made ldd die of SIGPIPE
# and the test took an ASan build for a plain one.)
if ldd "$TODO_SERVER" 2>/dev/null | grep -E 'lib(a|t|ub)san' >/dev/null; then
    echo "  (a sanitizer build: the memory bound is not checked)"
elif [ $((rss_after - rss_before)) -ge 16384 ]; then
    fail "the server grew by $((rss_after - rss_before)) KiB with a stalled watcher"
fi
rc=0
"$TODO_BENCH" -p "$SERVER_PORT" -n 1 --watchers 1 --raw PING --reply-until 'PONG\r\n' >/dev/null 2>"$DIR/err" || rc=$?
[ "$rc" = 2 ] || fail "--watchers with --raw: expected exit 2, got $rc"

port=$SERVER_PORT
stop_server || true
echo "nothing listening: exit status 3 and a message naming the address:"
rc=0
"$TODO_BENCH" -p "$port" -n 1 -t ping 2>"$DIR/err" >/dev/null || rc=$?
[ "$rc" = 3 ] || fail "expected exit 3 when nothing listens, got $rc"
grep -q "127.0.0.1:$port" "$DIR/err" || fail "message does not name 127.0.0.1:$port: $(cat "$DIR/err")"

echo "a host that is not this machine: refused before any connection, exit status 2:"
for host in 192.0.2.1 2001:db8::1; do
    rc=0
    "$TODO_BENCH" -H "$host" -p "$port" -n 1 -t ping 2>"$DIR/err" >/dev/null || rc=$?
    [ "$rc" = 2 ] || fail "-H $host: expected exit 2, got $rc"
    grep -q "$host is not a loopback address" "$DIR/err" ||
        fail "-H $host: no message saying why: $(cat "$DIR/err")"
done
echo "-H ::1 and -H localhost are this machine (nothing listens: exit 3, not 2):"
for host in ::1 localhost; do
    rc=0
    "$TODO_BENCH" -H "$host" -p "$port" -n 1 -t ping 2>"$DIR/err" >/dev/null || rc=$?
    [ "$rc" = 3 ] || fail "-H $host: expected exit 3 when nothing listens, got $rc: $(cat "$DIR/err")"
done

# bench/ab takes build dirs; this build's is the one holding todo-server.
BUILD=${TODO_SERVER%/server/todo-server}
AB=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../bench" && pwd)/ab
echo "bench/ab -d 1 -r 1, two rows, this build against itself: a table of both:"
rc=0
"$AB" -d 1 -r 1 --idle 50 --rows c1-get,idle-add "$BUILD" "$BUILD" >"$DIR/ab.out" 2>"$DIR/ab.err" || rc=$?
sed 's/^/  /' "$DIR/ab.out"
[ "$rc" = 0 ] || fail "bench/ab exited with $rc: $(tail -5 "$DIR/ab.err")"
[ "$BUILD/bench/todo-bench" -ef "$TODO_BENCH" ] || fail "$BUILD/bench/todo-bench is not $TODO_BENCH"
grep -q '^workload  *test  *A req/s  *B req/s  *B vs A' "$DIR/ab.out" || fail "bench/ab printed no table header"
# Each row: both medians above 0, a delta, and both spreads.
for row in '1 connection +get' '50 conns \+ 50 idle +add'; do
    grep -Eq "^$row +[1-9][0-9]* +[1-9][0-9]* +[-+][0-9.]+% +[0-9]+-[0-9]+ \([0-9.]+%\) +[0-9]+-[0-9]+ \([0-9.]+%\) +0" \
        "$DIR/ab.out" || fail "bench/ab printed no complete row '$row'"
done
for line in '^command: ' '^date: ' '^A: .*build type' '^B: .*build type' '^load average at start: .*, at end: ' \
    '^rows with B more than 3 % below A: '; do
    grep -q "$line" "$DIR/ab.out" || fail "bench/ab printed no line matching '$line'"
done
echo "bench/ab --fail-below -1000000 (B 10,001 times faster than A, or it fails: runs of one build under load differed 40 times over once): exit status 1:"
rc=0
"$AB" -d 0.5 -r 1 --rows c1-get --fail-below -1000000 "$BUILD" "$BUILD" >"$DIR/ab.out" 2>"$DIR/ab.err" || rc=$?
[ "$rc" = 1 ] || fail "--fail-below with a row below: expected exit 1, got $rc: $(tail -5 "$DIR/ab.err")"
grep -q 'rows with B more than -1000000 % below A: 1 (c1-get)' "$DIR/ab.out" ||
    fail "--fail-below: the row is not reported: $(cat "$DIR/ab.out")"
echo "bench/ab with one build dir: usage error, exit status 2:"
rc=0
"$AB" "$BUILD" >/dev/null 2>"$DIR/ab.err" || rc=$?
[ "$rc" = 2 ] || fail "bench/ab with one build: expected exit 2, got $rc"

# bench/instructions: one small run, when valgrind is there (it is on the
# machines this project runs on, but not a dependency of the tests).
if ldd "$TODO_SERVER" 2>/dev/null | grep -E 'lib(a|t|ub)san' >/dev/null; then
    echo "a sanitizer build: valgrind cannot run it, bench/instructions not tried"
    rc=0
    "${AB%/ab}/instructions" -n 200 -t ping "$BUILD" "$BUILD" >/dev/null 2>"$DIR/in.err" || rc=$?
    [ "$rc" = 1 ] && grep -q 'built with a sanitizer' "$DIR/in.err" ||
        fail "bench/instructions on a sanitizer build: expected exit 1 and a sentence, got $rc: $(cat "$DIR/in.err")"
elif command -v valgrind >/dev/null; then
    echo "bench/instructions -n 200 -t ping (the build against itself):"
    rc=0
    "${AB%/ab}/instructions" -n 200 -t ping "$BUILD" "$BUILD" >"$DIR/in.out" 2>"$DIR/in.err" || rc=$?
    sed 's/^/  /' "$DIR/in.out"
    [ "$rc" = 0 ] || fail "bench/instructions exited with $rc: $(tail -5 "$DIR/in.err")"
    # The same binary twice counts the same instructions, to within a few.
    grep -Eq '^ping +[1-9][0-9]+ +[1-9][0-9]+ +[-+][0-9]\.[0-9]%$' "$DIR/in.out" ||
        fail "bench/instructions printed no row for ping within 10 %"
else
    echo "valgrind is not installed: bench/instructions not tried"
fi

if [ "$failures" -ne 0 ]; then
    echo "$failures check(s) failed" >&2
    exit 1
fi
echo "all checks passed"
