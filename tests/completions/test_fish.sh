#!/usr/bin/env bash
# test_fish.sh - completions/todo-cli.fish: fish sources the script and
# `complete -C LINE` prints what a Tab at the end of LINE offers, checked
# against a real todo-server.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
command -v fish >/dev/null || skip "fish is not installed (apt-get install fish)"
need_binaries
start_test_server
p=$SERVER_PORT
script=$TODO_SOURCE_DIR/completions/todo-cli.fish

# A HOME without fish configuration, with one known ssh host to complete.
home=$(mktemp -d)
mkdir -p "$home/.ssh"
echo "todo-test-host.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA" >"$home/.ssh/known_hosts"
export HOME=$home XDG_CONFIG_HOME=$home/.config XDG_DATA_HOME=$home/.local/share

# comp LINE: REPLY is the candidates (without fish's descriptions), sorted.
comp() {
    REPLY=$(fish --no-config -c 'source $argv[1]; complete -C $argv[2]' "$script" "$1" |
        cut -f1 | sort | tr '\n' ' ')
    REPLY=${REPLY% }
}

comp "todo-cli d"
expect_eq "subcommands 'd'" "$REPLY" "del done"
comp "todo-cli --plain -p $p ta"
expect_eq "subcommand after options" "$REPLY" "tags"
comp "todo-cli --no-"
expect_eq "option '--no-'" "$REPLY" "--no-color"
comp "todo-cli -p $p done "
expect_word "live id for done" "$REPLY" "$ID1"
expect_word "live id for done" "$REPLY" "$ID2"
comp "todo-cli --host 127.0.0.1 --port=$p get $ID2"
expect_eq "live id for get, by prefix" "$REPLY" "$ID2"
comp "todo-cli -p$p edit $ID2 +"
expect_eq "live tags for edit" "$REPLY" "+home +work"
comp "todo-cli -p $p edit $ID2 -h"
expect_eq "tag to remove for edit" "$REPLY" "-home"
comp "todo-cli ne"
expect_eq "subcommand 'ne'" "$REPLY" "next"
comp "todo-cli -p $p list d"
expect_eq "list filter" "$REPLY" "done"
comp "todo-cli -p $p wat"
expect_eq "watch" "$REPLY" "watch"
comp "todo-cli -p $p watch "
expect_eq "watch filters" "$REPLY" "all done pending"
comp "todo-cli -p $p watch +w"
expect_eq "live tags for watch" "$REPLY" "+work"
comp "todo-cli -p $p add milk du"
expect_eq "due: keyword" "$REPLY" "due:"
comp "todo-cli -p $p add milk due:to"
expect_eq "due: words" "$REPLY" "due:today due:tomorrow"
: >"$home/secret-pw"
comp "todo-cli --password-file $home/sec"
expect_eq "--password-file takes a file" "$REPLY" "$home/secret-pw"
: >"$home/tasks-backup.json"
comp "todo-cli -p $p import $home/tasks-b"
expect_eq "import takes a file" "$REPLY" "$home/tasks-backup.json"
comp "todo-cli -p $p done $home/tasks-b"
expect_eq "done takes no file" "$REPLY" ""
comp "todo-cli -H todo-test"
expect_eq "-H takes a known host" "$REPLY" "todo-test-host.example"

kill -STOP "$SERVER_PID"
t0=$(ms_now)
comp "todo-cli -p $p done "
t1=$(ms_now)
kill -CONT "$SERVER_PID"
expect_eq "nothing from a hung server" "$REPLY" ""
((t1 - t0 < 5000)) && pass "hung server: $((t1 - t0)) ms" || fail "hung server: took $((t1 - t0)) ms"

# The --password-file typed on the line is used for the live values.
restart_with_password
comp "todo-cli -p $SERVER_PORT --password-file ~/todo-pw done "
expect_eq "ids with --password-file ~/FILE" "$REPLY" "$PW_ID"
comp "todo-cli --password-file=~/todo-pw -p $SERVER_PORT get "
expect_eq "ids with --password-file=~/FILE" "$REPLY" "$PW_ID"
comp "todo-cli -p $SERVER_PORT done "
expect_eq "no ids without the password" "$REPLY" ""

rm -rf "$home"
finish
