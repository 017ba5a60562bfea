#!/usr/bin/env bash
# test_zsh.sh - completions/_todo-cli: an interactive zsh under zpty, with
# compinit loaded from the completions folder, presses Tab at the end of each
# line (zsh_complete.zsh); what zsh offers is checked against a real
# todo-server.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
command -v zsh >/dev/null || skip "zsh is not installed (apt-get install zsh)"
zsh -fc 'zmodload zsh/zpty' 2>/dev/null || skip "zsh has no zsh/zpty module"
need_binaries
start_test_server
p=$SERVER_PORT

# A private fpath holding only our function, and a HOME without a .zshrc.
fdir=$(mktemp -d)
cp "$TODO_SOURCE_DIR/completions/_todo-cli" "$fdir/" || fail "cannot copy _todo-cli"
export HOME=$fdir ZDOTDIR=$fdir

# tab LINE...: one zsh presses Tab after each LINE; got LINE then sets REPLY
# to what zsh offered there, sorted and joined by spaces.
declare -A offered
tab() {
    local out l key=''
    out=$(timeout 60 zsh -f "$here/zsh_complete.zsh" "$fdir" "$@") || fail "zsh_complete.zsh failed"
    while IFS= read -r l; do
        if [[ $l == "== "* ]]; then
            key=${l#== }
            offered[$key]=''
        elif [[ -n $key ]]; then
            offered[$key]+="$l"$'\n'
        fi
    done <<<"$out"
}
got() {
    if [[ -z ${offered[$1]+set} ]]; then
        REPLY="(no answer for '$1')"
        return
    fi
    REPLY=$(printf '%s' "${offered[$1]}" | sort | tr '\n' ' ')
    REPLY=${REPLY% }
}

: >"$fdir/secret-pw"
: >"$fdir/tasks-backup.json"
tab "todo-cli d" \
    "todo-cli --json -p $p undon" \
    "todo-cli ne" \
    "todo-cli --no-" \
    "todo-cli -p $p done " \
    "todo-cli -H 127.0.0.1 --port=$p get $ID2" \
    "todo-cli -p $p edit $ID1 +" \
    "todo-cli -p $p edit $ID1 -w" \
    "todo-cli -p $p list " \
    "todo-cli -p $p add milk pri:m" \
    "todo-cli --password-file $fdir/sec" \
    "todo-cli -p $p import $fdir/tasks-b" \
    "todo-cli -p $p wat" \
    "todo-cli -p $p watch " \
    "todo-cli -p $p watch done +h"

got "todo-cli d"
expect_eq "subcommands 'd'" "$REPLY" "del done"
got "todo-cli --json -p $p undon"
expect_eq "subcommand after options" "$REPLY" "undone"
got "todo-cli ne"
expect_eq "subcommand 'ne'" "$REPLY" "next"
got "todo-cli --no-"
expect_eq "option '--no-'" "$REPLY" "--no-color"
got "todo-cli -p $p done "
expect_word "live id for done" "$REPLY" "$ID1"
expect_word "live id for done" "$REPLY" "$ID2"
got "todo-cli -H 127.0.0.1 --port=$p get $ID2"
expect_eq "live id for get, by prefix" "$REPLY" "$ID2"
got "todo-cli -p $p edit $ID1 +"
expect_eq "live tags for edit" "$REPLY" "+home +work"
got "todo-cli -p $p edit $ID1 -w"
expect_eq "tag to remove for edit" "$REPLY" "-work"
got "todo-cli -p $p list "
expect_eq "list filters" "$REPLY" "all done pending"
got "todo-cli -p $p add milk pri:m"
expect_eq "pri: keyword" "$REPLY" "pri:med"
got "todo-cli --password-file $fdir/sec"
expect_word "--password-file takes a file" "$REPLY" "secret-pw"
got "todo-cli -p $p import $fdir/tasks-b"
expect_word "import takes a file" "$REPLY" "tasks-backup.json"
got "todo-cli -p $p wat"
expect_eq "watch" "$REPLY" "watch"
got "todo-cli -p $p watch "
expect_eq "watch filters" "$REPLY" "all done pending"
got "todo-cli -p $p watch done +h"
expect_eq "live tags for watch" "$REPLY" "+home"

tab "todo-cli -p $p add milk due:to"
got "todo-cli -p $p add milk due:to"
expect_eq "due: words" "$REPLY" "due:today due:tomorrow"

# A server that accepts but never answers must not hang the shell.
kill -STOP "$SERVER_PID"
t0=$(ms_now)
tab "todo-cli -p $p done "
t1=$(ms_now)
kill -CONT "$SERVER_PID"
got "todo-cli -p $p done "
expect_eq "nothing from a hung server" "$REPLY" ""
((t1 - t0 < 5000)) && pass "hung server: $((t1 - t0)) ms" || fail "hung server: took $((t1 - t0)) ms"

# The --password-file typed on the line is used for the live values.
restart_with_password
tab "todo-cli -p $SERVER_PORT --password-file ~/todo-pw done " "todo-cli -p $SERVER_PORT done "
got "todo-cli -p $SERVER_PORT --password-file ~/todo-pw done "
expect_eq "ids with --password-file ~/FILE" "$REPLY" "$PW_ID"
got "todo-cli -p $SERVER_PORT done "
expect_eq "no ids without the password" "$REPLY" ""

rm -rf "$fdir"
finish
