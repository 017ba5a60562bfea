#!/bin/bash
# todo-cli logging in as a user (--user, TODO_USER) of a real server whose
# database got its users from "todo-server user add".
. "$(dirname "$0")/lib.sh"
unset TODO_USER TODO_PASSWORD

DB=$TMP/todo.db
# todo-server user ARGS... on the test's database; the password on stdin.
user_cmd() {
    "$TODO_SERVER" user "$@" --db "$(test_db "$DB")" >/dev/null
}
printf 'alice pw 1\n' | user_cmd add alice --admin || fail "user add alice"
printf 'bob pw 2\n' | user_cmd add bob || fail "user add bob"
printf 'alice pw 1\n' >"$TMP/alice.pw"
printf 'not it\n' >"$TMP/wrong.pw"
start_server --db "$DB" || exit 1

# --user with --password-file: in, for one-shot commands.
cli --user alice --password-file "$TMP/alice.pw" add "alice's task"
expect_rc 0 "add as alice"
expect_eq "$OUT" "1" "add's id"
cli --user alice --password-file "$TMP/alice.pw" --plain list
expect_rc 0 "list as alice"
expect_has "$OUT" "alice's task" "alice's list"
# TODO_USER and TODO_PASSWORD do the same, --user after the command too,
# in bob's own list: alice's task 1 is not his, his first is 1 as well.
TODO_USER=bob TODO_PASSWORD="bob pw 2" cli get 1
expect_rc 1 "get of alice's id as bob"
expect_has "$ERR" "no task with id '1'" "alice's task is not bob's"
TODO_PASSWORD="bob pw 2" cli add "bob's task" --user bob
expect_rc 0 "--user after the command"
expect_eq "$OUT" "1" "bob's first id"
# Batch mode logs in once, at the connect.
printf 'ping\nadd from a batch\n' >"$TMP/batch"
TODO_USER=bob TODO_PASSWORD="bob pw 2" cli <"$TMP/batch"
expect_rc 0 "a batch as bob"
expect_has "$OUT" "2" "the batch's add"
cli --user alice --password-file "$TMP/alice.pw" --plain list
expect_rc 0 "alice's list again"
expect_has "$OUT" "alice's task" "alice's task is hers"
case $OUT in *"bob's task"* | *"from a batch"*) fail "alice sees bob's tasks: $OUT" ;; esac

# Sharing: alice lets bob into her list; he works there with --list (and
# TODO_LIST), a batch switches with use; unshare shuts him out again.
cli --user alice --password-file "$TMP/alice.pw" share bob
expect_rc 0 "alice shares her list with bob"
cli --user alice --password-file "$TMP/alice.pw" --plain shares
expect_eq "$OUT" "$(printf 'alice\tbob')" "alice's shares"
TODO_PASSWORD="bob pw 2" cli --user bob --list alice --plain list
expect_rc 0 "bob lists alice's list"
expect_has "$OUT" "alice's task" "bob sees alice's task there"
TODO_LIST=alice TODO_PASSWORD="bob pw 2" cli --user bob add "bob, in alice's list"
expect_rc 0 "bob adds to alice's list"
expect_eq "$OUT" "2" "the id in alice's list"
printf 'use alice\nget 2\nuse\nget 2\n' >"$TMP/use"
TODO_USER=bob TODO_PASSWORD="bob pw 2" cli --plain <"$TMP/use"
expect_has "$OUT" "bob, in alice's list" "use alice in a batch"
expect_has "$OUT" "from a batch" "use alone is bob's own list again"
cli --user alice --password-file "$TMP/alice.pw" --plain list
expect_has "$OUT" "bob, in alice's list" "alice sees what bob added"
cli --user alice --password-file "$TMP/alice.pw" unshare bob
expect_rc 0 "alice unshares"
TODO_PASSWORD="bob pw 2" cli --user bob --list alice list
expect_rc 3 "bob cannot use alice's list any more"
expect_has "$ERR" "not shared with you" "why bob cannot"

# Refused, exit 3: a wrong password, another's password, no user for a
# server with accounts and no shared password.
cli --user alice --password-file "$TMP/wrong.pw" list
expect_rc 3 "a wrong password"
expect_has "$ERR" "wrong user or password" "a wrong password says so"
TODO_PASSWORD="alice pw 1" cli --user bob list
expect_rc 3 "alice's password for bob"
cli --password-file "$TMP/alice.pw" list
expect_rc 3 "no --user"
expect_has "$ERR" "send AUTH <user> <password>" "no --user says how"
# Usage errors, exit 2: no password and no terminal to ask on, a name
# that is no name.
cli --user alice list </dev/null
expect_rc 2 "--user without a password, not on a terminal"
expect_has "$ERR" "needs a password" "why --user without a password fails"
cli --user "-x" --password-file "$TMP/alice.pw" list
expect_rc 2 "--user -x"
TODO_USER="a b" cli --password-file "$TMP/alice.pw" list
expect_rc 2 "TODO_USER with a blank"
expect_has "$ERR" "TODO_USER" "a bad TODO_USER is named"
# An admin (alice) manages users through the running server: user add
# reads the new password from stdin when it is not a terminal.
printf 'carol pw 3\n' >"$TMP/carol.pw"
cli --user alice --password-file "$TMP/alice.pw" user add carol <"$TMP/carol.pw"
expect_rc 0 "alice adds carol"
expect_eq "$OUT" "user carol added" "what user add prints"
cli --user carol --password-file "$TMP/carol.pw" add "carol's task"
expect_rc 0 "carol logs in at once"
expect_eq "$OUT" "1" "carol's first id"
cli --user alice --password-file "$TMP/alice.pw" --plain user list
expect_rc 0 "user list"
expect_has "$OUT" "$(printf 'alice\tadmin\tactive\t')" "alice is an admin"
expect_has "$OUT" "$(printf 'carol\tuser\tactive\t')" "carol is a user"
cli --user alice --password-file "$TMP/alice.pw" --json user list
expect_has "$OUT" '"role": "admin"' "user list in JSON"
cli --user alice --password-file "$TMP/alice.pw" user lock carol
expect_eq "$OUT" "user carol locked" "user lock"
cli --user carol --password-file "$TMP/carol.pw" list
expect_rc 3 "carol, locked"
expect_has "$ERR" "the account carol is locked" "why carol cannot log in"
cli --user alice --password-file "$TMP/alice.pw" user unlock carol
expect_rc 0 "user unlock"
# An empty password, none at all, or a word too many: refused, nothing sent.
printf '\n' >"$TMP/empty.pw"
cli --user alice --password-file "$TMP/alice.pw" user passwd carol <"$TMP/empty.pw"
expect_rc 2 "an empty password"
expect_has "$ERR" "empty" "why the empty password is refused"
cli --user alice --password-file "$TMP/alice.pw" user passwd carol </dev/null
expect_rc 2 "no password on stdin"
cli --user alice --password-file "$TMP/alice.pw" user add dave secret
expect_rc 2 "a password as a word"
# In a batch, stdin is the commands: the password cannot be read there.
printf 'user passwd carol\n' >"$TMP/passwd.batch"
TODO_USER=alice TODO_PASSWORD="alice pw 1" cli <"$TMP/passwd.batch"
expect_has "$ERR" "asked for on a terminal" "user passwd in a batch says why not"
cli --user carol --password-file "$TMP/carol.pw" get 1
expect_rc 0 "carol's password is as it was"
# Bob is no admin: refused, exit status 3, nothing changed.
TODO_PASSWORD="bob pw 2" cli --user bob user del carol
expect_rc 3 "bob removes carol"
expect_has "$ERR" "USER is for admins" "why bob cannot"
cli --user alice --password-file "$TMP/alice.pw" user del carol
expect_rc 0 "alice removes carol"
expect_eq "$OUT" "user carol removed 1 task" "what user del prints"
cli --user carol --password-file "$TMP/carol.pw" list
expect_rc 3 "carol is gone"

# Nothing the client printed holds a password.
for w in "$OUT" "$ERR"; do
    case $w in *"pw 1"* | *"pw 2"* | *"pw 3"*) fail "the output shows a password: $w" ;; esac
done
finish
