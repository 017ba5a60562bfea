#!/bin/bash
# todo-cli watch against a real todo-server: one todo-cli watches in the
# background while another writes, and the watcher's lines are checked;
# then the server is restarted on the same port and database, and the
# watcher must come back by itself; SIGINT ends it with status 0.
. "$(dirname "$0")/lib.sh"

command -v jq >/dev/null || { echo "SKIP: no jq"; exit 77; }

# Generous: the same script runs under sanitizers on a busy machine.
WAIT_STEPS=1200 # of 0.05 s: 60 s

WATCHERS=()
stop_watchers() {
    local p
    for p in "${WATCHERS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${WATCHERS[@]}"; do wait "$p" 2>/dev/null; done
    WATCHERS=()
}
trap 'stop_watchers; stop_server; rm -rf "$TMP"' EXIT

# watch NAME ARGS...: todo-cli ARGS watch... in the background, its stdout
# in $TMP/NAME.out and stderr in $TMP/NAME.err; WPID is its pid.
watch_bg() {
    local name=$1
    shift
    "$TODO_CLI" -p "$SERVER_PORT" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
    WPID=$!
    WATCHERS+=("$WPID")
}

# wait_lines FILE N: until FILE has N lines.
wait_lines() {
    local i
    for ((i = 0; i < WAIT_STEPS; i++)); do
        [ "$(wc -l <"$1")" -ge "$2" ] && return 0
        sleep 0.05
    done
    fail "$1 did not reach $2 lines; it holds:
$(cat "$1")"
    return 1
}

# wait_text FILE TEXT: until FILE holds TEXT.
wait_text() {
    local i
    for ((i = 0; i < WAIT_STEPS; i++)); do
        grep -qF -- "$2" "$1" && return 0
        sleep 0.05
    done
    fail "$1 never held [$2]; it holds:
$(cat "$1")"
    return 1
}

# wait_file FILE: until FILE is there and not empty.
wait_file() {
    local i
    for ((i = 0; i < WAIT_STEPS; i++)); do
        [ -s "$1" ] && return 0
        sleep 0.05
    done
    return 1
}

# The watch has begun once the server counts a watcher (STATS).
wait_watchers() {
    local i
    for ((i = 0; i < WAIT_STEPS; i++)); do
        cli --plain stats
        [ "$(printf '%s\n' "$OUT" | awk -F'\t' '$1 == "watchers" {print $2}')" = "$1" ] && return 0
        sleep 0.05
    done
    fail "the server never counted $1 watchers: $OUT"
    return 1
}

RELAY_PIDS=()

# ---- every kind of change, in order, once; nothing for refused writes ----
DB=$TMP/todo.db
start_server --db "$DB" || exit 1
PORT=$SERVER_PORT

watch_bg json --json watch
JSON_PID=$WPID
watch_bg plain --plain watch pending +work
PLAIN_PID=$WPID
wait_watchers 2

cli add buy milk +shopping due:2026-12-01 pri:high
expect_rc 0 "add"
ID=$OUT
cli done 999
expect_rc 1 "done of a missing task"
cli edit "$ID" pri:low +home
cli done "$ID"
cli undone "$ID"
cli edit 999 x
cli del "$ID"
cli add write report +work
ID2=$OUT
wait_lines "$TMP/json.out" 6
got=$(jq -r '[.event, .id, .status // "-", .priority // "-"] | join(" ")' "$TMP/json.out")
expect_eq "$got" "add $ID pending high
edit $ID pending low
done $ID done low
undone $ID pending low
del $ID - -
add $ID2 pending -" "the JSON watcher's events"
# The task as it was right after each change, in list's schema.
got=$(head -n 1 "$TMP/json.out" | jq -c '[.text, .tags, .due]')
expect_eq "$got" '["buy milk",["shopping"],"2026-12-01"]' "the added task"
got=$(sed -n 2p "$TMP/json.out" | jq -c '.tags')
expect_eq "$got" '["home","shopping"]' "the edited task's tags"
# seq is a string of digits, strictly increasing.
seqs=$(jq -r '.seq' "$TMP/json.out")
expect_eq "$(printf '%s\n' "$seqs" | grep -cvE '^[1-9][0-9]*$')" "0" "seq is a decimal string"
expect_eq "$(printf '%s\n' "$seqs" | sort -n -c 2>&1 && echo sorted)" "sorted" "seq increases"
expect_eq "$(jq -r '.seq | type' "$TMP/json.out" | sort -u)" "string" "seq's JSON type"
[ "$(printf '%s\n' "$seqs" | sort -u | wc -l)" -eq 6 ] || fail "a seq came twice: $seqs"

# --plain: the event's fields tab-separated as --plain list prints tasks.
wait_lines "$TMP/plain.out" 1
cli --plain get "$ID2"
want=$(printf '%s\tadd\t%s' "$(jq -r 'select(.id == "'"$ID2"'") | .seq' "$TMP/json.out")" "$OUT")
wait_text "$TMP/plain.out" "$want"
expect_eq "$(grep -cxF -- "$want" "$TMP/plain.out")" "1" "the plain watcher's line for the +work task"

# A pipe into jq sees each line at once, while the watcher goes on.
mkfifo "$TMP/pipe"
"$TODO_CLI" -p "$PORT" --json watch >"$TMP/pipe" 2>"$TMP/pipe.err" &
PIPE_PID=$!
WATCHERS+=("$PIPE_PID")
jq --unbuffered -r '.event + " " + .id' <"$TMP/pipe" >"$TMP/pipe.out" &
JQ_PID=$!
WATCHERS+=("$JQ_PID")
wait_watchers 3
cli add piped
PIPED=$OUT
wait_text "$TMP/pipe.out" "add $PIPED"

# ---- a dropped connection, the server still up: the watcher resumes ----
# A relay between a watcher and the server is cut (the server goes on)
# while changes are made; once it lets connections through again, the
# watcher asks for the changes after its last one and gets each once, in
# order, with no reload.
if command -v python3 >/dev/null; then
    python3 "$(dirname "$0")/relay.py" "$TMP/relay.port" "$PORT" "$TMP/cut" &
    RELAY_PIDS+=("$!")
    wait_file "$TMP/relay.port" || fail "the relay did not start"
    "$TODO_CLI" -p "$(cat "$TMP/relay.port")" --json watch >"$TMP/relay.out" 2>"$TMP/relay.err" &
    RELAY_PIDS+=("$!")
    WATCHERS+=("$!")
    wait_watchers 4
    cli add before the cut
    CUT1=$OUT
    wait_text "$TMP/relay.out" "\"id\":\"$CUT1\""
    : >"$TMP/cut"
    wait_text "$TMP/relay.err" "closed the connection; reconnecting"
    wait_watchers 3
    cli add during the cut
    CUT2=$OUT
    cli done "$CUT2"
    cli del "$CUT1"
    rm -f "$TMP/cut"
    wait_text "$TMP/relay.err" "reconnected to 127.0.0.1:"
    wait_lines "$TMP/relay.out" 4
    got=$(jq -r '.event + " " + (.id // "-")' "$TMP/relay.out")
    expect_eq "$got" "add $CUT1
add $CUT2
done $CUT2
del $CUT1" "the events around a cut, replayed"
    expect_eq "$(grep -c reload "$TMP/relay.out")" "0" "no reload after a replay"
    # Byte for byte what the watcher that was never cut printed.
    wait_lines "$TMP/json.out" 11
    expect_eq "$(cat "$TMP/relay.out")" "$(tail -n 4 "$TMP/json.out")" "replayed lines as the live ones"
fi

# ---- restart on the same port and database: the watcher comes back ----
# A run numbers its changes from its start time in seconds (PROTOCOL.md):
# two runs within one second would share numbers, so the next run starts
# in a later second than this one.
t0=$(date +%s)
stop_server
for ((i = 0; i < WAIT_STEPS && $(date +%s) == t0; i++)); do sleep 0.05; done
# The port may still be held for a moment (a reconnecting watcher's
# connect in flight): try again rather than fail at once.
for ((i = 0; i < 100; i++)); do
    start_server --db "$DB" --port "$PORT" 2>"$TMP/restart.err" && break
    stop_server # the one that could not listen: reaped (it has exited, so no other gets its pid)
    sleep 0.1
done
[ "$i" -lt 100 ] || { cat "$TMP/restart.err" >&2; fail "the server cannot listen on $PORT again"; exit 1; }
[ "$SERVER_PORT" = "$PORT" ] || fail "the server came back on port $SERVER_PORT, not $PORT"
# The first run's numbers are below every number of this run: the server
# no longer has the changes after them, and the watcher says so and
# watches afresh (JSON: a reload line).
wait_text "$TMP/json.err" "reconnected to 127.0.0.1:$PORT"
expect_has "$(cat "$TMP/json.err")" "closed the connection; reconnecting" "the watcher said it lost the server"
expect_has "$(cat "$TMP/json.err")" "no longer keeps the changes after" "the watcher said what it missed"
wait_text "$TMP/json.out" '{"event":"reload"}'
wait_text "$TMP/plain.err" "reconnected to 127.0.0.1:$PORT"
before=$(wc -l <"$TMP/json.out")
cli add after restart +work
ID3=$OUT
wait_lines "$TMP/json.out" $((before + 1))
expect_eq "$(tail -n 1 "$TMP/json.out" | jq -r '.event + " " + .id + " " + .text')" \
    "add $ID3 after restart" "the first event after the restart"
last_old=$(jq -r 'select(.seq) | .seq' "$TMP/json.out" | tail -n 2 | head -n 1)
last_new=$(tail -n 1 "$TMP/json.out" | jq -r '.seq')
# Compared as numbers of 17 digits: bash's integers are 64-bit signed.
[ "${#last_new}" -gt "${#last_old}" ] || [[ "$last_new" > "$last_old" ]] ||
    fail "the new run's seq $last_new is not above the old run's $last_old"
wait_text "$TMP/plain.out" "	add	$ID3	"

# ---- SIGINT and SIGTERM end a watch with status 0 ----
kill -INT "$JSON_PID"
wait "$JSON_PID"
expect_eq "$?" "0" "watch's exit status after SIGINT"
kill -TERM "$PLAIN_PID"
wait "$PLAIN_PID"
expect_eq "$?" "0" "watch's exit status after SIGTERM"
# Only the ones still running are stopped: a pid that was waited for may
# have been given to another process since.
WATCHERS=("$PIPE_PID" "$JQ_PID" ${RELAY_PIDS[@]+"${RELAY_PIDS[@]}"})
stop_watchers
WATCHERS=()

# ---- a watcher that falls behind: overflow, then it goes on afresh ----
# The watcher is stopped while 24 MB of changes are made, far more than the
# sockets between it and the server hold, so that the server's buffer for
# it passes --watch-buffer: it is sent EVENT overflow and its watch ends.
stop_server
start_server --db :memory: --watch-buffer 65536 || exit 1
watch_bg slow --json watch
SLOW_PID=$WPID
wait_watchers 1
kill -STOP "$SLOW_PID"
big=$(head -c 60000 /dev/zero | tr '\0' x)
for ((i = 0; i < 400; i++)); do printf 'add %s\n' "$big"; done >"$TMP/big.txt"
"$TODO_CLI" -p "$SERVER_PORT" --stop-on-error <"$TMP/big.txt" >/dev/null 2>"$TMP/big.err" ||
    fail "the big batch failed: $(head -c 300 "$TMP/big.err")"
kill -CONT "$SLOW_PID"
wait_text "$TMP/slow.err" "the watch fell too far behind the server; watching afresh"
wait_text "$TMP/slow.out" '{"event":"reload"}'
wait_watchers 1
cli add after the overflow
AFTER=$OUT
wait_text "$TMP/slow.out" "\"id\":\"$AFTER\""
jq -e . "$TMP/slow.out" >/dev/null || fail "the slow watcher printed a line that is not JSON"
expect_eq "$(tail -n 1 "$TMP/slow.out" | jq -r '.event + " " + .text')" "add after the overflow" \
    "the first change after the overflow"
expect_eq "$(grep -c '"event":"reload"' "$TMP/slow.out")" "1" "one reload line"
kill -TERM "$SLOW_PID"
wait "$SLOW_PID"
expect_eq "$?" "0" "the slow watcher's exit status"
WATCHERS=()

# ---- usage, an unreachable server, an old server ----
cli watch pending done
expect_rc 2 "two status words"
expect_has "$ERR" "one of pending, done and all" "two status words"
cli watch since:5
expect_rc 2 "since: is the client's own business"
cli watch "+bad tag"
expect_rc 2 "a bad tag"

dead=$(dead_port)
"$TODO_CLI" -p "$dead" watch >"$TMP/out" 2>"$TMP/err"
RC=$?
expect_eq "$RC" "3" "watch of a server that is not there"
expect_has "$(cat "$TMP/err")" "cannot connect to 127.0.0.1:$dead" "watch of a server that is not there"
"$TODO_CLI" -p "$dead" --json watch >"$TMP/out" 2>"$TMP/err"
expect_eq "$(jq -c '.error.code' "$TMP/out")" '"CONNECT"' "watch --json: the error as JSON"
expect_eq "$(wc -l <"$TMP/out")" "1" "watch --json: the error on one line, as the events are"

# A server of protocol version 3 (a stand-in that only greets): a clear
# error at once, not a hang. This is the one place a fake server is used.
if command -v python3 >/dev/null; then
    python3 - "$TMP/fake.port" <<'EOF' &
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.settimeout(60)
c, _ = s.accept()
f = c.makefile("rb")
for line in f:
    if line.startswith(b"HELLO"):
        c.sendall(b"OK todo 3 todo-server/0.3.0\r\n")
    else:
        c.sendall(b"ERR UNKNOWN no such command\r\n")
EOF
    FAKE_PID=$!
    wait_file "$TMP/fake.port" || fail "the stand-in server did not start"
    timeout 30 "$TODO_CLI" -p "$(cat "$TMP/fake.port")" watch >"$TMP/out" 2>"$TMP/err"
    RC=$?
    expect_eq "$RC" "1" "watch of a version 3 server"
    expect_has "$(cat "$TMP/err")" "speaks protocol version 3; watching needs version 4 or later" \
        "watch of a version 3 server"
    kill "$FAKE_PID" 2>/dev/null
    wait "$FAKE_PID" 2>/dev/null
fi

finish
