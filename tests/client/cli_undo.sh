#!/bin/bash
# todo-cli undo: what it prints in each output mode and its exit status
# (1, a server error, when there is nothing to undo or the task changed).
. "$(dirname "$0")/lib.sh"

start_server --db :memory: || exit 1

cli undo
expect_rc 1 "undo with an empty history"
expect_has "$ERR" "nothing to undo" "empty history message"

cli add "buy milk" +shop
cli edit 1 "buy oat milk"
cli done 1
cli del 1
cli undo
expect_rc 0 "undo del"
expect_eq "$OUT" "del 1" "plain undo prints KIND ID"
cli get 1
expect_rc 0 "the task is back"
expect_has "$OUT" "buy oat milk" "back as it was"
cli --json undo
expect_rc 0 "undo --json"
expect_has "$OUT" "\"undid\": \"done\"" "undo --json kind"
expect_has "$OUT" "\"id\": \"1\"" "undo --json id"
cli undo
expect_eq "$OUT" "edit 1" "the one before"
cli get 1
expect_has "$OUT" "buy milk" "edit undone"

# A change UNDO does not keep (the tutorial's POST/) makes it refuse.
exec 3<>"/dev/tcp/127.0.0.1/$SERVER_PORT"
printf 'POST/1=changed/status\n' >&3
read -r -t 5 line <&3
exec 3>&-
expect_eq "${line%$'\r'}" "submit success" "POST/ over the socket"
cli undo
expect_rc 1 "undo of a task changed since"
expect_has "$ERR" "task 1 was changed after that add" "the refusal says why"
expect_has "$ERR" "(CONFLICT)" "the refusal names the code"
cli get 1
expect_has "$OUT" "changed" "and changes nothing"

# An import is one step: undo takes back every task it brought.
cli del 1
"$TODO_CLI" -p "$SERVER_PORT" --json export >"$TMP/empty.json"
cli add one
cli add two
cli add three
"$TODO_CLI" -p "$SERVER_PORT" --json export >"$TMP/three.json"
cli del 2
cli del 3
cli del 4
"$TODO_CLI" -p "$SERVER_PORT" import <"$TMP/three.json" >"$TMP/out" 2>"$TMP/err"
expect_eq "$?" "0" "import of three tasks"
cli undo
expect_rc 0 "undo of the import"
expect_eq "$OUT" "import 2 3" "plain undo of an import prints KIND FIRST-ID COUNT"
cli list all
expect_eq "$OUT" "" "the import's tasks are gone"
"$TODO_CLI" -p "$SERVER_PORT" import <"$TMP/three.json" >"$TMP/out" 2>"$TMP/err"
cli --json undo
expect_has "$OUT" "\"count\": 3" "undo --json of an import gives the count"

stop_server
finish
