#!/bin/bash
# `todo-cli __complete WORD...` with a live server (real ids and tags) and
# without one (only the static candidates, exit 0, no waiting).
. "$(dirname "$0")/lib.sh"

# comp WORDS...: sets COUT (the candidates, one per line) and CRC.
comp() {
    "$TODO_CLI" -p "$PORT" __complete "$@" >"$TMP/cout" 2>"$TMP/cerr"
    CRC=$?
    COUT=$(cat "$TMP/cout")
}

start_server --db :memory: || exit 1
PORT=$SERVER_PORT
cli add "first" +home +work
a=$OUT
cli add "second" +home
b=$OUT
cli done "$b"

comp done ""
expect_eq "$COUT" "$(printf '%s\n' "$a" "$b" | sort)" "live ids"
expect_eq "$CRC" "0" "__complete status"
comp get "$a"
expect_eq "$COUT" "$a" "ids by prefix"
comp list +
expect_eq "$COUT" "$(printf '+home\n+work')" "live tags"
comp add milk +w
expect_eq "$COUT" "+work" "tags for add"
comp edit "$a" -h
expect_eq "$COUT" "-home" "-tag for edit"
comp list ""
expect_eq "$COUT" "$(printf 'all\ndone\npending')" "list keywords"
comp l
expect_eq "$COUT" "list" "subcommand"
comp --no
expect_eq "$COUT" "--no-color" "option"
comp list all --js
expect_eq "$COUT" "--json" "a long option after the command"
comp add -- --js
expect_eq "$COUT" "" "no option after --"
comp add ""
expect_eq "$(tr '\n' ' ' <<<"$COUT")" "due: pri:high pri:low pri:med " "add keywords"

# Completion never changes a task.
cli list all
before=$OUT
comp done ""
comp edit "$a" ""
cli list all
expect_eq "$OUT" "$before" "tasks unchanged by completion"

# A password is used for the live values too.
stop_server
echo pw >"$TMP/pw"
start_server --db :memory: --password-file "$TMP/pw" || exit 1
PORT=$SERVER_PORT
locked=$(TODO_PASSWORD=pw "$TODO_CLI" -p "$PORT" add locked)
expect_eq "$(TODO_PASSWORD=pw "$TODO_CLI" -p "$PORT" __complete del "")" "$locked" "ids with AUTH"
comp del ""
expect_eq "$COUT" "" "no ids without the password"
expect_eq "$CRC" "0" "status without the password"
stop_server

# No server: the static candidates only, at once.
PORT=$(dead_port)
comp list ""
expect_eq "$COUT" "$(printf 'all\ndone\npending')" "keywords without a server"
expect_eq "$CRC" "0" "status without a server"
comp done ""
expect_eq "$COUT" "" "no ids without a server"
expect_eq "$(cat "$TMP/cerr")" "" "nothing on stderr"

finish
