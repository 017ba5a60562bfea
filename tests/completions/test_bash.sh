#!/usr/bin/env bash
# test_bash.sh - completions/todo-cli.bash: sources the script and calls
# _todo_cli with COMP_WORDS, COMP_CWORD, COMP_LINE and COMP_POINT set the way
# bash sets them for a Tab at the end of a line, once with bash-completion
# loaded and once in a plain bash, against a real todo-server.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
need_binaries
# A HOME of the test's own, for the password file.
HOME=$(mktemp -d)
export HOME
start_test_server
script=$TODO_SOURCE_DIR/completions/todo-cli.bash

# split_like_bash LINE: sets COMP_WORDS and COMP_CWORD as bash does, which
# cuts words at blanks and also at runs of ':' and '=' (COMP_WORDBREAKS).
split_like_bash() {
    local line=$1 w='' c q='' i
    COMP_WORDS=()
    for ((i = 0; i < ${#line}; i++)); do
        c=${line:i:1}
        if [[ -n $q ]]; then
            w+=$c
            [[ $c == "$q" ]] && q=''
            continue
        fi
        case $c in
        '"' | "'") q=$c; w+=$c ;;
        ' ' | $'\t') [[ -n $w ]] && COMP_WORDS+=("$w"); w='' ;;
        [=:])
            [[ -n $w && ${w: -1} != [=:] ]] && { COMP_WORDS+=("$w"); w=''; }
            w+=$c ;;
        *)
            [[ -n $w && ${w: -1} == [=:] ]] && { COMP_WORDS+=("$w"); w=''; }
            w+=$c ;;
        esac
    done
    COMP_WORDS+=("$w")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
}

# Records what the completion asks of compopt (it only works inside a real
# completion), so "no space after due:" can be checked.
compopt() { COMPOPTS+=" $*"; }

# comp LINE: completes at the end of LINE; REPLY holds the candidates,
# sorted and joined by spaces.
comp() {
    COMP_LINE=$1
    COMP_POINT=${#1}
    COMP_TYPE=9
    COMP_KEY=9
    COMPOPTS=''
    split_like_bash "$1"
    COMPREPLY=()
    _todo_cli todo-cli "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
    REPLY=$(printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ')
    REPLY=${REPLY% }
}

checks() {
    local mode=$1 p=$SERVER_PORT
    # shellcheck source=../../completions/todo-cli.bash
    . "$script" || { fail "$mode: sourcing $script failed"; return; }
    declare -F _todo_cli >/dev/null || { fail "$mode: no function _todo_cli"; return; }
    [[ $(complete -p todo-cli 2>/dev/null) == *"-F _todo_cli"* ]] ||
        fail "$mode: 'complete -F _todo_cli todo-cli' not registered"

    comp "todo-cli d"
    expect_eq "$mode: subcommands 'd'" "$REPLY" "del done"
    comp "todo-cli "
    expect_word "$mode: subcommands ''" "$REPLY" "add"
    expect_word "$mode: subcommands ''" "$REPLY" "export"
    expect_no_word "$mode: subcommands ''" "$REPLY" "__complete"
    comp "todo-cli --json -p $p st"
    expect_eq "$mode: subcommand after options" "$REPLY" "stats"
    comp "todo-cli ne"
    expect_eq "$mode: subcommand 'ne'" "$REPLY" "next"

    comp "todo-cli --no-"
    expect_eq "$mode: option '--no-'" "$REPLY" "--no-color"
    comp "todo-cli -p $p --pa"
    expect_eq "$mode: option after an option with a value" "$REPLY" "--password-file"

    local dir
    dir=$(mktemp -d)
    : >"$dir/secret-pw"
    comp "todo-cli --password-file $dir/sec"
    expect_eq "$mode: --password-file takes a file" "$REPLY" "$dir/secret-pw"
    comp "todo-cli --password-file=$dir/sec"
    expect_eq "$mode: --password-file=FILE" "$REPLY" "$dir/secret-pw"
    printf '127.0.0.1 todo-test-host.example\n' >"$dir/hosts"
    HOSTFILE=$dir/hosts comp "todo-cli -H todo-test-h"
    expect_word "$mode: -H takes a host" "$REPLY" "todo-test-host.example"
    comp "todo-cli -p "
    expect_eq "$mode: -p takes a port, nothing to offer" "$REPLY" ""
    : >"$dir/tasks-backup.json"
    comp "todo-cli -p $p import $dir/tasks-b"
    expect_eq "$mode: import takes a file" "$REPLY" "$dir/tasks-backup.json"
    rm -rf "$dir"

    comp "todo-cli -p $p done "
    expect_word "$mode: live id for done" "$REPLY" "$ID1"
    expect_word "$mode: live id for done" "$REPLY" "$ID2"
    comp "todo-cli -H 127.0.0.1 --port $p --no-color get $ID2"
    expect_word "$mode: live id for get, prefix, -H and --port" "$REPLY" "$ID2"
    expect_no_word "$mode: live id for get, prefix" "$REPLY" "$ID1"
    comp "todo-cli --port=$p del "
    expect_word "$mode: live id for del, --port=PORT" "$REPLY" "$ID1"
    comp "todo-cli -p$p edit $ID1 +"
    expect_eq "$mode: live tags for edit" "$REPLY" "+home +work"
    comp "todo-cli -p $p edit $ID1 -h"
    expect_eq "$mode: tag to remove for edit" "$REPLY" "-home"
    comp "todo-cli -p $p list p"
    expect_eq "$mode: list filter" "$REPLY" "pending"
    comp "todo-cli -p $p wat"
    expect_eq "$mode: watch" "$REPLY" "watch"
    comp "todo-cli -p $p watch "
    expect_eq "$mode: watch filters" "$REPLY" "all done pending"
    comp "todo-cli -p $p watch pending +h"
    expect_eq "$mode: live tags for watch" "$REPLY" "+home"
    comp "todo-cli -p $p add \"buy milk\" du"
    expect_eq "$mode: due: keyword" "$REPLY" "due:"
    [[ $COMPOPTS == *nospace* ]] && pass "$mode: no space after due:" ||
        fail "$mode: no 'compopt -o nospace' after due: (got '$COMPOPTS')"
    # bash replaces only what follows the ':', so that is what is offered.
    comp "todo-cli -p $p add milk pri:h"
    expect_eq "$mode: pri: keyword after the colon" "$REPLY" "high"
    comp "todo-cli -p $p add milk pri:"
    expect_eq "$mode: every priority" "$REPLY" "high low med"
    comp "todo-cli -p $p add milk due:to"
    expect_eq "$mode: due: words after the colon" "$REPLY" "today tomorrow"
    comp "todo-cli -p $p edit $ID1 due:e"
    expect_eq "$mode: due: ends of week, month, year" "$REPLY" "eom eow eoy"

    # A server that accepts but never answers must not hang the shell.
    kill -STOP "$SERVER_PID"
    local t0 t1
    t0=$(ms_now)
    comp "todo-cli -p $p done "
    t1=$(ms_now)
    kill -CONT "$SERVER_PID"
    expect_eq "$mode: nothing from a hung server" "$REPLY" ""
    if ((t1 - t0 < 3000)); then
        pass "$mode: hung server: completion returned after $((t1 - t0)) ms"
    else
        fail "$mode: hung server: completion took $((t1 - t0)) ms"
    fi
}

# Plain bash first, then with bash-completion, each in its own subshell so
# neither sees the other's functions. FAILURES travels back as the status.
(
    FAILURES=0
    checks "plain bash"
    exit $((FAILURES > 0))
) || FAILURES=$((FAILURES + 1))

bc=/usr/share/bash-completion/bash_completion
if [ -r "$bc" ]; then
    (
        FAILURES=0
        # bash_completion expects an interactive-looking shell's options.
        shopt -s extglob progcomp
        # shellcheck source=/dev/null
        . "$bc"
        checks "bash-completion"
        exit $((FAILURES > 0))
    ) || FAILURES=$((FAILURES + 1))
else
    echo "note: $bc not found; checked plain bash only"
fi

# Nothing listens on the port any more: still nothing, still quick.
old_port=$SERVER_PORT
stop_server
trap - EXIT
. "$script"
t0=$(ms_now)
comp "todo-cli -p $old_port done "
t1=$(ms_now)
expect_eq "server gone: no ids" "$REPLY" ""
((t1 - t0 < 3000)) && pass "server gone: $((t1 - t0)) ms" || fail "server gone: took $((t1 - t0)) ms"

# The --password-file typed on the line is used for the live values.
restart_with_password
trap 'stop_server; rm -rf "$HOME"' EXIT
comp "todo-cli -p $SERVER_PORT --password-file ~/todo-pw done "
expect_eq "ids with --password-file ~/FILE" "$REPLY" "$PW_ID"
comp "todo-cli --password-file=$HOME/todo-pw -p $SERVER_PORT get "
expect_eq "ids with --password-file=FILE" "$REPLY" "$PW_ID"
comp "todo-cli -p $SERVER_PORT done "
expect_eq "no ids without the password" "$REPLY" ""
finish
