#!/bin/bash
# Every one-shot command of todo-cli against a real server, with its output
# and exit status: 0 ok, 1 server error, 2 usage, 3 cannot connect.
. "$(dirname "$0")/lib.sh"

start_server --db :memory: || exit 1

cli add "buy milk" +shopping due:2026-12-01 pri:high
expect_rc 0 "add"
id=$OUT
[[ $id =~ ^[0-9]+$ ]] || fail "add printed [$id], not an id alone"

cli get "$id"
expect_rc 0 "get"
IFS=$'\t' read -r f_id f_st f_pri f_due f_tags f_created f_updated f_text <<<"$OUT"
expect_eq "$f_id|$f_st|$f_pri|$f_due|$f_tags|$f_text" \
    "$id|pending|high|2026-12-01|shopping|buy milk" "get plain fields"
[[ $f_created =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$ ]] ||
    fail "created time [$f_created]"

cli --json get "$id"
expect_rc 0 "get --json"
expect_has "$OUT" "\"text\": \"buy milk\"" "get --json text"
expect_has "$OUT" "\"tags\": [" "get --json tags"
expect_has "$OUT" "\"priority\": \"high\"" "get --json priority"

# -home after the command is edit's word, not an option.
cli edit "$id" -shopping +home pri:low "buy oat milk"
expect_rc 0 "edit"
expect_eq "$OUT" "$id" "edit prints the id"
cli get "$id"
expect_eq "$(cut -f3,5,8 <<<"$OUT")" "low	home	buy oat milk" "edit changed pri, tags, text"

cli add call mum
id2=$OUT
cli done "$id"
expect_rc 0 "done"
expect_eq "$OUT" "$id" "done prints the id"
cli list
expect_rc 0 "list"
expect_eq "$(cut -f1,2 <<<"$OUT")" "$id2	pending" "list shows pending only"
cli list done
expect_eq "$(cut -f1 <<<"$OUT")" "$id" "list done"
cli list all
expect_eq "$(wc -l <<<"$OUT")" "2" "list all"
cli list all +home
expect_eq "$(cut -f1 <<<"$OUT")" "$id" "list +tag"
cli list all mum
expect_eq "$(cut -f1 <<<"$OUT")" "$id2" "list word"
cli --json list all
expect_rc 0 "list --json"
[ "${OUT:0:1}" = "[" ] || fail "list --json is not an array: $OUT"
cli undone "$id"
expect_rc 0 "undone"
cli get "$id"
expect_eq "$(cut -f2 <<<"$OUT")" "pending" "undone"

cli tags
expect_rc 0 "tags"
expect_eq "$OUT" "home	1" "tags"
cli stats
expect_rc 0 "stats"
[ -n "$OUT" ] && ! grep -qv $'\t' <<<"$OUT" || fail "stats lines are not name<TAB>value: $OUT"
cli ping
expect_rc 0 "ping"
expect_eq "$OUT" "PONG" "ping"
# Command names ignore case, whatever the locale's idea of case is.
LC_ALL=tr_TR.UTF-8 cli PING
expect_eq "$OUT" "PONG" "PING in capitals"
cli --json ping
expect_has "$OUT" '"reply": "PONG"' "ping --json"

cli del "$id2"
expect_rc 0 "del"
cli get "$id2"
expect_rc 1 "get of a deleted task"
expect_eq "$OUT" "" "no stdout on an error"
[[ $ERR == "todo-cli: "*"(NOTFOUND)" ]] || fail "NOTFOUND message: [$ERR]"
cli --json get 999999
expect_rc 1 "get --json of a missing task"
expect_has "$OUT" '"code": "NOTFOUND"' "JSON error on stdout"
expect_has "$OUT" "\"message\": \"no task with id '999999'\"" "JSON message is the server's sentence alone"
cli edit "$id" due:2026-02-30
expect_rc 1 "a bad date is the server's error"
expect_has "$ERR" "(ARGS)" "bad date message"

# Terminal safety: the issue's sequences come back as escapes, never as
# the bytes that retitle or recolour a terminal (a C1 CSI and DEL too; the
# server refuses text that is not UTF-8, so test_cli_output covers that).
cli add $'\e]0;pwned\a\e[31mRED\xc2\x9b1m\x7f'
expect_rc 0 "add a text with control sequences"
eid=$OUT
shown='\e]0;pwned\x07\e[31mRED\u009b1m\x7f'
for how in "list --plain all" "get $eid" "--plain get $eid"; do
    cli $how
    expect_has "$OUT" "$shown" "$how shows the escapes"
    ! grep -q $'\e\|\a\|\x7f\|\xc2\x9b' "$TMP/out" || fail "$how wrote a control byte: $OUT"
done
cli --json get "$eid"
expect_eq "$(jq -r .text <<<"$OUT")" $'\e]0;pwned\a\e[31mRED\xc2\x9b1m\x7f' \
    "JSON keeps the text exact"
cli $'\e]0;pwned\a'
expect_eq "$ERR" "todo-cli: unknown command '\e]0;pwned\x07'; 'help' lists the commands" \
    "a message quoting the user's word is escaped"
cli del "$eid"

# Usage errors: exit 2, nothing sent.
cli get
expect_rc 2 "get without an id"
expect_eq "$ERR" "todo-cli: usage: get ID" "usage message"
cli frob
expect_rc 2 "unknown command"
expect_eq "$ERR" "todo-cli: unknown command 'frob'; 'help' lists the commands" \
    "an unknown command far from any"
cli doen 1
expect_rc 2 "a misspelt command"
expect_eq "$ERR" "todo-cli: unknown command 'doen'; did you mean 'done'?" "did you mean"
cli lsit
expect_eq "$ERR" "todo-cli: unknown command 'lsit'; did you mean 'list'?" "did you mean list"
cli aut x
expect_has "$ERR" "'help' lists the commands" "auth is not suggested outside the shell"
cli --frob list
expect_rc 2 "unknown option"

# Options go before or after the command word.
cli list all --json
expect_rc 0 "an option after the command"
[ "${OUT:0:1}" = "[" ] || fail "list all --json did not print JSON: $OUT"
cli list all
all_out=$OUT
cli list --plain all --timeout 2
expect_rc 0 "options between the command's words"
expect_eq "$OUT" "$all_out" "list --plain all --timeout 2 is list all"
cli list --jsn
expect_rc 2 "an unknown long option after the command"
expect_has "$ERR" "unknown option '--jsn'" "unknown option after the command"
for v in -V --version; do
    "$TODO_CLI" $v >"$TMP/out" 2>&1
    expect_eq "$?" "0" "$v"
    [[ $(cat "$TMP/out") =~ ^todo-cli\ [0-9]+\.[0-9]+\.[0-9]+\ \(protocol\ [A-Za-z]+\ [0-9]+\)$ ]] ||
        fail "$v prints [$(cat "$TMP/out")]"
done

# After --, every word is text: a tag-looking word, an option-looking word.
cli add -- +urgent
expect_rc 0 "add -- +urgent"
cli get "$OUT"
expect_eq "$(cut -f5,8 <<<"$OUT")" "-	+urgent" "add -- +urgent adds the text, no tag"
cli add -- --not-an-option
expect_rc 0 "add -- --not-an-option"
cli get "$OUT"
expect_eq "$(cut -f8 <<<"$OUT")" "--not-an-option" "after -- an option is text"
cli add call +later -- pri:high due:2026-01-01
cli get "$OUT"
expect_eq "$(cut -f3,4,5,8 <<<"$OUT")" "-	-	later	call pri:high due:2026-01-01" \
    "words before -- keep their meaning, those after are text"
# An argument holding a blank was quoted in the user's shell: it is text.
cli add "+1 for the idea"
expect_rc 0 "add '+1 for the idea'"
qid=$OUT
cli get "$qid"
expect_eq "$(cut -f5,8 <<<"$OUT")" "-	+1 for the idea" "a word with a blank is text"
cli edit "$qid" -- -old
expect_rc 0 "edit -- -old"
cli get "$qid"
expect_eq "$(cut -f5,8 <<<"$OUT")" "-	-old" "edit -- -old sets the text, removes no tag"
cli auth secret
expect_rc 2 "auth is for the shell"
cli help
expect_rc 0 "help"
expect_has "$OUT" "list [pending|done|all]" "help shows syntax"
cli help edit
expect_has "$OUT" "usage: edit ID" "help edit"
"$TODO_CLI" --help >"$TMP/help"
expect_has "$(cat "$TMP/help")" "Exit status" "--help documents exit codes"

# Connection settings from the environment.
TODO_HOST=127.0.0.1 TODO_PORT=$SERVER_PORT "$TODO_CLI" ping >"$TMP/out" 2>&1
expect_eq "$(cat "$TMP/out")" "PONG" "TODO_HOST / TODO_PORT"

stop_server

# A password: AUTH after connecting, from a file or the environment.
echo "s3cret" >"$TMP/pw"
start_server --db :memory: --password-file "$TMP/pw" || exit 1
cli ping
cli list
expect_rc 3 "no password for a server that wants one"
"$TODO_CLI" -p "$SERVER_PORT" --password-file "$TMP/pw" list >"$TMP/out" 2>"$TMP/err"
expect_eq "$?" "0" "--password-file"
TODO_PASSWORD=s3cret "$TODO_CLI" -p "$SERVER_PORT" add secret task >/dev/null 2>"$TMP/err"
expect_eq "$?" "0" "TODO_PASSWORD"
TODO_PASSWORD=guessed-pw-7 "$TODO_CLI" -p "$SERVER_PORT" list >/dev/null 2>"$TMP/err"
expect_eq "$?" "3" "a wrong password"
expect_has "$(cat "$TMP/err")" "todo-cli: cannot authenticate to 127.0.0.1:$SERVER_PORT" \
    "wrong password message"
! grep -q guessed-pw-7 "$TMP/err" || fail "the password was echoed: $(cat "$TMP/err")"
stop_server

# Nothing listening: exit 3 and one sentence naming host, port and cause.
port=$(dead_port)
"$TODO_CLI" -p "$port" list >"$TMP/out" 2>"$TMP/err"
expect_eq "$?" "3" "unreachable server"
expect_eq "$(cat "$TMP/err")" "todo-cli: cannot connect to 127.0.0.1:$port: connection refused" \
    "unreachable message"
"$TODO_CLI" -p "$port" help >/dev/null 2>&1
expect_eq "$?" "0" "help needs no server"

finish
