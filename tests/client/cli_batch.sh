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

# A quoted word is text, as it is on the wire: no tag, no tag removal,
# no keyword, no attribute. Unquoted, the same words keep their meaning.
printf '%s\n' 'add "+urgent"' 'add "+1" for the idea' "add 'pri:high' due:2026-12-24" \
    'add \+escaped' 'add plain +qtag' | "$TODO_CLI" -p "$SERVER_PORT" >"$TMP/out" 2>"$TMP/err"
expect_eq "$?" "0" "quoted words are accepted: $(cat "$TMP/err")"
mapfile -t q <"$TMP/out"
cli get "${q[0]}"
expect_eq "$(cut -f5,8 <<<"$OUT")" "-	+urgent" "add \"+urgent\" is text"
cli get "${q[1]}"
expect_eq "$(cut -f5,8 <<<"$OUT")" "-	+1 for the idea" "add \"+1\" for the idea makes no tag"
cli get "${q[2]}"
expect_eq "$(cut -f3,4,8 <<<"$OUT")" "-	2026-12-24	pri:high" "'pri:high' is text, due: is not"
cli get "${q[3]}"
expect_eq "$(cut -f5,8 <<<"$OUT")" "-	+escaped" "a backslash quotes too"
printf '%s\n' "edit ${q[4]} \"-qtag\"" "edit ${q[4]} -- +more" "list \"all\"" \
    | "$TODO_CLI" -p "$SERVER_PORT" >"$TMP/out" 2>"$TMP/err"
cli get "${q[4]}"
expect_eq "$(cut -f5,8 <<<"$OUT")" "qtag	+more" "edit \"-qtag\" and -- +more change the text only"
expect_eq "$(tail -n +3 "$TMP/out")" "" "list \"all\" searches for the word all"
printf 'list --json\nlist "--json"\n' | "$TODO_CLI" -p "$SERVER_PORT" >"$TMP/out" 2>"$TMP/err"
expect_eq "$?" "2" "an option inside a batch"
expect_has "$(cat "$TMP/err")" "--json is an option of todo-cli itself" "option in a batch"
printf 'doen 1\nqiut\n' | "$TODO_CLI" -p "$SERVER_PORT" >/dev/null 2>"$TMP/err"
expect_eq "$(cat "$TMP/err")" "todo-cli: unknown command 'doen'; did you mean 'done'?
todo-cli: unknown command 'qiut'; did you mean 'quit'?" "did you mean, in a batch"

# --json: one document per line (JSON Lines), errors name their line.
printf '%s\n' 'add "json lines" +jl' '# comment' '' 'get 999999' 'list all +jl' 'ping' 'frob' \
    '"open' | "$TODO_CLI" -p "$SERVER_PORT" --json >"$TMP/out" 2>/dev/null
expect_eq "$(wc -l <"$TMP/out")" "6" "one line per answer"
jq -c . "$TMP/out" >"$TMP/jq" 2>&1 || fail "jq cannot read the batch output: $(cat "$TMP/jq")"
python3 -m json.tool --json-lines "$TMP/out" >/dev/null 2>&1 ||
    fail "json.tool --json-lines cannot read the batch output: $(cat "$TMP/out")"
expect_eq "$(jq -c '.error // empty | [.code, .line]' "$TMP/out" | tr '\n' ' ')" \
    '["NOTFOUND",4] ["USAGE",7] ["USAGE",8] ' "errors name the input line"
expect_eq "$(sed -n 3p "$TMP/out" | jq -r '.[0].text')" "json lines" "a list on one line"
expect_eq "$(sed -n 4p "$TMP/out")" '{"reply":"PONG"}' "ping as one compact line"
"$TODO_CLI" -p "$SERVER_PORT" --json get 999999 >"$TMP/out" 2>/dev/null
expect_eq "$(jq -c . "$TMP/out")" \
    '{"error":{"code":"NOTFOUND","message":"no task with id '"'"'999999'"'"'"}}' \
    "one-shot errors carry no line"

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
