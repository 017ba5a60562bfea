#!/bin/bash
# Batch mode: one command per line of stdin, the worst exit status, and
# --stop-on-error ending the run at the first failure.
. "$(dirname "$0")/lib.sh"

start_server --db :memory: || exit 1

cat >"$TMP/cmds" <<'CMDS'
# a comment, then a blank line

add "first task" +batch
add 'second "quoted" task' pri:med
add "line one\nline two"
get 999999
list all +batch
CMDS
"$TODO_CLI" -p "$SERVER_PORT" <"$TMP/cmds" >"$TMP/out" 2>"$TMP/err"
RC=$?
expect_eq "$RC" "1" "the worst status of a batch with one NOTFOUND"
mapfile -t lines <"$TMP/out"
[[ ${lines[0]} =~ ^[0-9]+$ && ${lines[1]} =~ ^[0-9]+$ && ${lines[2]} =~ ^[0-9]+$ ]] ||
    fail "the adds did not print ids: ${lines[*]}"
expect_eq "$(cut -f8 <<<"${lines[3]}")" "first task" "list after the failed get still ran"
expect_has "$(cat "$TMP/err")" "(NOTFOUND)" "batch error message"
cli get "${lines[1]}"
expect_eq "$(cut -f3,8 <<<"$OUT")" 'med	second "quoted" task' "single quotes keep double quotes"
cli get "${lines[2]}"
expect_eq "$(cut -f8 <<<"$OUT")" 'line one\nline two' "\\n in double quotes is a newline"

# The worst status wins: a usage error (2) over a server error (1).
printf 'get 999999\nfrob\nping\n' | "$TODO_CLI" -p "$SERVER_PORT" >"$TMP/out" 2>/dev/null
expect_eq "$?" "2" "worst status"
expect_eq "$(cat "$TMP/out")" "PONG" "commands after failures still run"

# --stop-on-error: the first failure's status, nothing after it runs.
printf 'add stop one\nget 999999\nadd stop two\n' |
    "$TODO_CLI" -p "$SERVER_PORT" --stop-on-error >"$TMP/out" 2>/dev/null
expect_eq "$?" "1" "--stop-on-error status"
cli list all stop
expect_eq "$(cut -f8 <<<"$OUT")" "stop one" "--stop-on-error stopped before the third line"
printf 'ping\n"unterminated\nping\n' | "$TODO_CLI" -p "$SERVER_PORT" --stop-on-error \
    >"$TMP/out" 2>"$TMP/err"
expect_eq "$?" "2" "a bad line is a usage error"
expect_has "$(cat "$TMP/err")" "line 2" "bad line is named"
expect_eq "$(cat "$TMP/out")" "PONG" "stopped after the bad line"

# quit ends a batch early.
printf 'ping\nquit\nfrob\n' | "$TODO_CLI" -p "$SERVER_PORT" >"$TMP/out" 2>&1
expect_eq "$?" "0" "quit ends the batch"

# A server that goes away: exit 3 for the commands that could not run.
port=$SERVER_PORT
stop_server
printf 'ping\n' | "$TODO_CLI" -p "$port" >/dev/null 2>"$TMP/err"
expect_eq "$?" "3" "batch with no server"
expect_has "$(cat "$TMP/err")" "cannot connect to 127.0.0.1:$port" "batch connect message"

finish
