#!/bin/bash
# todo-cli against an older server: list and next rely on protocol version
# 3 (LIST's sort:next and its filters), which a version 2 server would take
# as words to search for, answering an empty list. todo-cli asks HELLO
# (in the same write as the LIST) and refuses with both versions named.
#
# The old server is a fake, the only one in these tests: a few lines of
# Python that answer as a version 2 todo-server did (HELLO with
# "OK todo 2 ...", LIST with the one task it holds whatever the words),
# because no version 2 server is built any more. Everything else here
# runs against the real server.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || { echo "SKIP: no python3"; exit 77; }

# fake_server HELLO-REPLY: starts it; sets FAKE_PID and FAKE_PORT. It logs
# each request line to $TMP/fake.log.
fake_server() {
    rm -f "$TMP/fake.port" "$TMP/fake.log"
    python3 - "$1" "$TMP/fake.port" "$TMP/fake.log" <<'PY' &
import socket, sys, threading
hello, portfile, logfile = sys.argv[1], sys.argv[2], sys.argv[3]
task = '1 pending - - - 2026-11-01T10:00:00Z 2026-11-01T10:00:00Z "old task"'
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(8)
srv.settimeout(60)  # bounded: the fake never outlives a stuck test by much
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.getsockname()[1]))
import os
os.rename(portfile + ".tmp", portfile)

def serve(c):
    f = c.makefile("rwb")
    for line in f:
        word = line.split(b" ", 1)[0].strip().upper()
        with open(logfile, "ab") as log:
            log.write(line)
        if word == b"HELLO":
            f.write(hello.encode() + b"\n" if hello else b"ERR UNKNOWN unknown command 'HELLO'\n")
        elif word == b"LIST":
            f.write(b"DATA 1\n" + task.encode() + b"\n")
        elif word == b"PING":
            f.write(b"OK PONG\n")
        else:
            f.write(b"OK 1\n")
        f.flush()
    c.close()

while True:
    try:
        c, _ = srv.accept()
    except socket.timeout:
        break
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
    FAKE_PID=$!
    local i
    for ((i = 0; i < 200; i++)); do
        [ -s "$TMP/fake.port" ] && break
        sleep 0.05
    done
    FAKE_PORT=$(cat "$TMP/fake.port" 2>/dev/null)
    [ -n "$FAKE_PORT" ] || { fail "the fake server did not start"; finish; }
}
stop_fake() {
    kill "$FAKE_PID" 2>/dev/null
    wait "$FAKE_PID" 2>/dev/null
}
trap 'stop_fake; stop_server; rm -rf "$TMP"' EXIT

# fcli ARGS...: todo-cli against the fake server.
fcli() {
    "$TODO_CLI" -p "$FAKE_PORT" "$@" >"$TMP/out" 2>"$TMP/err"
    RC=$?
    OUT=$(cat "$TMP/out")
    ERR=$(cat "$TMP/err")
}

fake_server "OK todo 2 todo-server/0.0.9"
for cmd in "list" "list --sort due" "list due:before:tomorrow" "next"; do
    # shellcheck disable=SC2086 # the words are split on purpose
    fcli $cmd
    expect_rc 1 "$cmd against version 2: the status of a server error"
    expect_eq "$OUT" "" "$cmd against version 2 prints no (empty) list"
    expect_has "$ERR" "speaks version 2 of the todo protocol" "$cmd names the server's version"
    expect_has "$ERR" "todo-cli ${cmd%% *} needs version 3 or later" "$cmd names what needs which version"
    expect_has "$ERR" "todo-cli $("$TODO_CLI" --version | cut -d' ' -f2) speaks version $("$TODO_CLI" --version | sed -E 's/.*protocol todo ([0-9]+).*/\1/')" \
        "$cmd names the client's own version"
done
fcli --json list
expect_eq "$(jq -r .error.code <<<"$OUT")" "VERSION" "--json: the error's code"
# Requests that mean the same to every version still work there, and ask
# nothing more.
: >"$TMP/fake.log"
fcli ping
expect_rc 0 "ping against version 2"
expect_eq "$OUT" "PONG" "ping's reply"
fcli add milk due:tomorrow
expect_rc 0 "add with a date word against version 2 (sent as a date)"
grep -q "^ADD milk due:20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]" "$TMP/fake.log" ||
    fail "add's date word was not sent as a date: $(cat "$TMP/fake.log")"
! grep -q "^HELLO" "$TMP/fake.log" || fail "ping and add asked HELLO: $(cat "$TMP/fake.log")"
# In the shell's batch mode one connection asks once; the second list is
# refused without asking again.
: >"$TMP/fake.log"
printf 'list\nlist\nping\n' | "$TODO_CLI" -p "$FAKE_PORT" >"$TMP/out" 2>"$TMP/err"
expect_eq "$(grep -c "speaks version 2" "$TMP/err")" "2" "batch: both lists refused"
expect_eq "$(cat "$TMP/out")" "PONG" "batch: ping still answered"
expect_eq "$(grep -c "^HELLO" "$TMP/fake.log")" "1" "batch: HELLO asked once on the connection"
stop_fake

# A server that has no HELLO at all is older still.
fake_server ""
fcli list
expect_rc 1 "list against a server without HELLO"
expect_has "$ERR" "speaks version 1 of the todo protocol" "no HELLO counts as version 1"
stop_fake

# The real server: HELLO goes in the same write as the LIST, once per
# connection, and list works as ever.
start_server --db :memory: || exit 1
cli add real
cli list
expect_rc 0 "list against the real server"
expect_has "$OUT" "real" "list shows the task"
printf 'list\nlist\n' | "$TODO_CLI" -p "$SERVER_PORT" >"$TMP/out" 2>"$TMP/err"
expect_eq "$(grep -c real "$TMP/out")" "2" "batch: two lists against the real server"
expect_eq "$(cat "$TMP/err")" "" "batch: no error against the real server"
finish
