#!/bin/bash
# todo-cli on a real terminal: tmux runs it in a pane, and the pane's
# screen (capture-pane; -e keeps the colours as escapes) and title are what
# a person would see.
#
#   cli_tmux.sh SCENARIO     escapes | width | overdue | words | history | auth | watch | user
#
# Exit 0 passed, 1 failed, 77 skipped (no tmux).
. "$(dirname "$0")/lib.sh"

command -v tmux >/dev/null || { echo "SKIP: no tmux"; exit 77; }
TM_SOCK=$TMP/tmux.sock
# -u: UTF-8 whatever the locale; -f /dev/null: none of the user's settings.
tm() { tmux -u -S "$TM_SOCK" -f /dev/null "$@"; }
trap 'tm kill-server 2>/dev/null; stop_server; rm -rf "$TMP"' EXIT
# The panes' programs get this environment (tmux's server keeps it).
unset NO_COLOR TODO_PASSWORD TODO_HOST TODO_PORT
export LANG=C.UTF-8 TODO_CLI_HISTFILE=$TMP/default-history

# tm_run NAME COLS COMMAND: a new pane, COLS wide, running the shell COMMAND.
tm_run() {
    tm new-session -d -s "$1" -x "$2" -y 50 "$3" || fail "tmux cannot start $1"
}

# screen NAME [-e]: everything the pane shows, scrolled-off rows included.
screen() {
    tm capture-pane -p -S - -t "$1" ${2:-} 2>/dev/null
}

# wait_for NAME TEXT: until TEXT is on the screen, at most 10 s.
wait_for() {
    local i
    for ((i = 0; i < 200; i++)); do
        screen "$1" | grep -qF -- "$2" && return 0
        sleep 0.05
    done
    fail "$1: [$2] did not appear; the pane shows:
$(screen "$1")"
    return 1
}

# wait_n NAME TEXT N: until TEXT is on the screen N times, at most 10 s.
# Typing waits for the prompt, so that no key reaches the terminal before
# the program has turned its echo off.
wait_n() {
    local i
    for ((i = 0; i < 200; i++)); do
        [ "$(screen "$1" | grep -oF -- "$2" | wc -l)" -ge "$3" ] && return 0
        sleep 0.05
    done
    fail "$1: [$2] did not appear $3 times; the pane shows:
$(screen "$1")"
    return 1
}

# type NAME TEXT: types TEXT and Enter.
type_line() {
    tm send-keys -t "$1" -l -- "$2"
    tm send-keys -t "$1" Enter
}

# oneshot NAME COLS ARGS...: runs todo-cli ARGS in a pane, waits for it to end.
oneshot() {
    local name=$1 cols=$2
    shift 2
    tm_run "$name" "$cols" "$(printf '%q ' "$TODO_CLI" -p "$SERVER_PORT" "$@"); echo __END__; sleep 600"
    wait_for "$name" __END__
}

ESC=$'\e'
EVIL=$'\e]0;pwned\a\e[31mRED\xc2\x9b1m\x7f'
SHOWN='\e]0;pwned\x07\e[31mRED\u009b1m\x7f'

# No byte of a task's text may retitle or recolour the terminal: not in the
# table, not in get, not in the shell.
scenario_escapes() {
    start_server --db :memory: || exit 1
    cli add "$EVIL" +safe
    local id=$OUT
    local title
    oneshot list 100 list
    oneshot get 100 get "$id"
    tm_run shell 100 "$(printf '%q ' "$TODO_CLI" -p "$SERVER_PORT")"
    wait_for shell "todo 127.0.0.1:$SERVER_PORT>"
    type_line shell "list +safe"
    wait_for shell "$SHOWN"
    type_line shell "get $id"
    type_line shell "ping"
    wait_for shell PONG
    for p in list get shell; do
        expect_has "$(screen $p)" "$SHOWN" "$p shows the text's escapes"
        title=$(tm display -p -t "$p" '#{pane_title}')
        [ "$title" != pwned ] || fail "$p: the task's text retitled the pane"
        ! screen "$p" -e | grep -qF "$ESC[31m" || fail "$p: the task's text turned the pane red:
$(screen "$p" -e | cat -v)"
    done
    type_line shell quit
}

# The table fits 60 columns: long text and CJK text wrap inside the text
# column, and no row spills into the id column.
scenario_width() {
    start_server --db :memory: || exit 1
    local long="the quick brown fox jumps over the lazy dog and then it keeps running far away from home"
    local cjk=$'\u4e2d\u6587\u6f22\u5b57\u65e5\u672c\u8a9e\u306e\u6587\u5b57\u5217\u3067\u3059\u3088\u3002\u5e45\u304c\u4e8c\u3064\u5206\u3042\u308b\u6587\u5b57\u3067\u3059\u306d'
    cli add "$long" +width
    cli add "$cjk" +width
    oneshot table 60 list
    local s
    s=$(screen table | sed '/^__END__/,$d')
    local head textcol rows=0 bad=0
    head=$(head -n 1 <<<"$s")
    textcol=${head%%TEXT*}
    textcol=${#textcol}
    while IFS= read -r row; do
        rows=$((rows + 1))
        [ "$rows" -eq 1 ] && continue
        [ -z "$row" ] && continue
        if [[ $row =~ ^[0-9]+\  ]]; then
            continue
        fi
        # A continuation row is blank up to the text column.
        [[ ${row:0:textcol} =~ ^\ *$ ]] || {
            fail "a row spills into the first columns: [$row]"
            bad=1
        }
    done <<<"$s"
    [ "$rows" -ge 5 ] || fail "the long texts did not wrap: $s"
    # Read back in order, the text column holds the whole texts.
    local joined
    joined=$(tail -n +2 <<<"$s" | cut -c$((textcol + 1))- | tr -d '\n')
    expect_has "$(tr -d ' ' <<<"$joined")" "${long// /}" "the long text is all there"
    expect_has "$(tr -d ' ' <<<"$joined")" "$cjk" "the CJK text is all there"
    # Each CJK row holds whole characters in at most 60 cells: tmux puts a
    # character that does not fit at the start of the next row instead.
    local w
    while IFS= read -r row; do
        w=$(python3 -c 'import sys,unicodedata as u; s=sys.argv[1]; print(sum(2 if u.east_asian_width(c) in "WF" else 1 for c in s))' "$row")
        [ "$w" -le 60 ] || fail "a row is $w cells wide: [$row]"
    done <<<"$s"
    [ "$bad" -eq 0 ] || echo "$s" >&2

    # The shell reads the width before each command: after a resize from
    # 200 to 60 columns, the long text wraps.
    tm_run sh 200 "$(printf '%q ' "$TODO_CLI" -p "$SERVER_PORT")"
    wait_n sh "todo 127.0.0.1:$SERVER_PORT>" 1
    type_line sh "list"
    wait_n sh "todo 127.0.0.1:$SERVER_PORT>" 2
    expect_has "$(screen sh)" "$long" "at 200 columns the long text is on one row"
    tm resize-window -t sh -x 60 -y 50
    type_line sh "list"
    wait_n sh "todo 127.0.0.1:$SERVER_PORT>" 3
    # The row as the one-shot table wrapped it, blanks up to the text column
    # and all (tmux's own reflow of the old rows never starts with blanks).
    local row3
    row3=$(sed -n 3p <<<"$s")
    screen sh | grep -qxF -- "$row3" ||
        fail "after the resize the shell does not wrap as the one-shot table does: [$row3]
$(screen sh)"
    type_line sh quit
}

# Pending tasks due before today are red, due today yellow; later dates,
# done tasks and --no-color are not marked.
# The clock is fixed (TODO_CLI_NOW, here and in the panes, which take
# tmux's global environment), so that the words and marks do not depend on
# the day the test runs, nor on a midnight passing during it.
scenario_overdue() {
    export TODO_CLI_NOW=2026-12-01T12:00:00Z TZ=UTC
    tm set-environment -g TODO_CLI_NOW "$TODO_CLI_NOW"
    tm set-environment -g TZ "$TZ"
    start_server --db :memory: || exit 1
    local yday=2026-11-30 today=2026-12-01 tmrw=2026-12-02
    cli add late due:"$yday"
    cli add now due:"$today"
    cli add later due:"$tmrw"
    cli add finished due:"$yday"
    cli done "$OUT"
    cli add soon due:2026-12-04
    cli add past due:2026-11-29
    cli add far due:2026-12-11
    cli add long-ago due:2026-11-01
    oneshot color 100 list all
    oneshot nocolor 100 --no-color list all
    local s
    s=$(screen color -e)
    local late now later finished
    late=$(grep -w late <<<"$s")
    now=$(grep -w now <<<"$s")
    later=$(grep -w later <<<"$s")
    finished=$(grep -w finished <<<"$s")
    # Dates in words by default, marked as the dates were.
    expect_has "$late" "$ESC[31myesterday" "an overdue date is red, in words"
    expect_has "$now" "$ESC[33mtoday" "today's date is yellow, in words"
    expect_has "$later" "tomorrow" "tomorrow in words"
    ! grep -qF "mtomorrow" <<<"$later" || fail "a later date is marked: $(cat -v <<<"$later")"
    ! grep -qF "myesterday" <<<"$finished" ||
        fail "a done task is marked overdue: $(cat -v <<<"$finished")"
    ! screen nocolor -e | grep -qF "$ESC[3" || fail "--no-color still colours"
    s=$(screen nocolor)
    expect_has "$(grep -w soon <<<"$s")" "in 3 days" "three days ahead"
    expect_has "$(grep -w past <<<"$s")" "2 days ago" "two days back"
    expect_has "$(grep -w far <<<"$s")" "2026-12-11" "ten days ahead: the date"
    expect_has "$(grep -w long-ago <<<"$s")" "2026-11-01" "a month back: the date"
    # TODO_CLI_DATES=iso: the table shows the dates, marked the same.
    tm_run iso 100 "TODO_CLI_DATES=iso $(printf '%q ' "$TODO_CLI" -p "$SERVER_PORT" list all); echo __END__; sleep 600"
    wait_for iso __END__
    s=$(screen iso -e)
    expect_has "$(grep -w late <<<"$s")" "$ESC[31m$yday" "iso: an overdue date is red"
    expect_has "$(grep -w now <<<"$s")" "$ESC[33m$today" "iso: today's date is yellow"
    expect_has "$(grep -w later <<<"$s")" "$tmrw" "iso: tomorrow's date"
    ! grep -qE "today|tomorrow|yesterday|days" <<<"$(screen iso)" ||
        fail "iso: words in the table: $(screen iso)"
    # --plain on the terminal keeps ISO dates without being asked.
    oneshot plain 100 --plain list all
    expect_has "$(grep -w soon <<<"$(screen plain)")" "2026-12-04" "--plain keeps the date"
    ! grep -qE "tomorrow|days" <<<"$(screen plain)" || fail "--plain shows words: $(screen plain)"
}

# In the shell, a quoted word is text, a misspelt command gets a
# suggestion, and an option of todo-cli's own is pointed out.
scenario_words() {
    start_server --db :memory: || exit 1
    tm_run sh 100 "$(printf '%q ' "$TODO_CLI" -p "$SERVER_PORT")"
    wait_for sh "todo 127.0.0.1:$SERVER_PORT>"
    type_line sh 'add "+urgent" now'
    type_line sh 'add "+1" for the idea'
    type_line sh 'list "+urgent"'
    wait_for sh "+urgent now"
    type_line sh 'doen 1'
    wait_for sh "unknown command 'doen'; did you mean 'done'?"
    type_line sh 'list --json'
    wait_for sh "--json is an option of todo-cli itself"
    type_line sh quit
    cli get 2
    expect_eq "$(cut -f5,8 <<<"$OUT")" "-	+1 for the idea" "the shell sent \"+1\" as text"
    cli tags
    expect_eq "$OUT" "" "no tag was made"
}

# Two shells open at once both keep their lines in the one history file.
scenario_history() {
    start_server --db :memory: || exit 1
    local hist=$TMP/hist cmd
    cmd="TODO_CLI_HISTFILE=$(printf '%q' "$hist") $(printf '%q ' "$TODO_CLI" -p "$SERVER_PORT")"
    tm_run a 100 "$cmd"
    tm_run b 100 "$cmd"
    wait_for a "todo 127.0.0.1:$SERVER_PORT>"
    wait_for b "todo 127.0.0.1:$SERVER_PORT>"
    type_line a "ping"
    wait_for a PONG
    type_line b "stats"
    wait_for b uptime
    type_line a "tags"
    wait_for a "(no tags)"
    type_line b "help ping"
    wait_for b "usage: ping"
    # Ctrl-D leaves without a line of its own in the history.
    tm send-keys -t a C-d
    tm send-keys -t b C-d
    local i
    for ((i = 0; i < 200; i++)); do
        tm has-session -t a 2>/dev/null || tm has-session -t b 2>/dev/null || break
        sleep 0.05
    done
    for l in ping stats tags "help ping"; do
        grep -qx -- "$l" "$hist" || fail "the history lost [$l]: $(cat "$hist")"
    done
    expect_eq "$(stat -c %a "$hist")" "600" "the history file is private"
    # A third shell starts with both: Up brings back the last line of all.
    tm_run c 100 "$cmd"
    wait_for c "todo 127.0.0.1:$SERVER_PORT>"
    tm send-keys -t c Up
    tm send-keys -t c Enter
    wait_for c "usage: ping"
    type_line c quit
}

# auth: a password on the line is masked, without one it is asked for
# without echo, and neither reaches the screen or the history.
scenario_auth() {
    echo "s3cret-word" >"$TMP/pw"
    start_server --db :memory: --password-file "$TMP/pw" || exit 1
    local hist=$TMP/hist cmd
    cmd="TODO_CLI_HISTFILE=$(printf '%q' "$hist") $(printf '%q ' "$TODO_CLI" -p "$SERVER_PORT")"
    local prompt="todo 127.0.0.1:$SERVER_PORT>"
    tm_run sh 100 "$cmd"
    wait_n sh "$prompt" 1
    type_line sh "list"
    wait_for sh "(AUTH)"
    wait_n sh "$prompt" 2
    type_line sh "auth s3cret-word"
    wait_for sh "OK"
    wait_n sh "$prompt" 3
    type_line sh "list"
    wait_for sh "(no tasks)"
    local seen
    seen=$(screen sh)
    expect_has "$seen" "auth ********" "the typed password is masked"
    tm kill-session -t sh
    tm_run sh2 100 "$cmd"
    wait_n sh2 "$prompt" 1
    type_line sh2 "auth"
    wait_n sh2 "Password:" 1
    type_line sh2 "s3cret-word"
    wait_for sh2 "OK"
    wait_n sh2 "$prompt" 2
    type_line sh2 "add asked +pw"
    wait_n sh2 "$prompt" 3
    type_line sh2 "list +pw"
    wait_for sh2 "asked"
    wait_n sh2 "$prompt" 4
    type_line sh2 "auth"
    wait_n sh2 "Password:" 2
    type_line sh2 "wrong-guess-7"
    wait_for sh2 "(AUTH)"
    wait_n sh2 "$prompt" 5
    seen+=$(screen sh2)
    expect_has "$seen" "asked" "the second shell's screen was read"
    type_line sh2 quit
    # In readline's vi mode too.
    printf 'set editing-mode vi\n' >"$TMP/inputrc"
    tm_run vi 100 "INPUTRC=$(printf '%q' "$TMP/inputrc") $cmd"
    wait_n vi "$prompt" 1
    type_line vi "auth s3cret-word"
    wait_for vi "OK"
    wait_n vi "$prompt" 2
    seen+=$(screen vi)
    expect_has "$(screen vi)" "auth ********" "the typed password is masked in vi mode"
    type_line vi quit
    # The screens as they were before each shell left.
    ! grep -q "s3cret\|wrong-guess" <<<"$seen" || fail "a screen shows a password:
$seen"
    ! grep -q "s3cret\|wrong-guess\|^auth" "$hist" || fail "the history holds a password: $(cat "$hist")"
    grep -qx "add asked +pw" "$hist" || fail "the history lost a line: $(cat "$hist")"
}

# watch: another client's change appears above the prompt while a line is
# half typed, the line stays as it was and still runs on Enter; the shell
# does not echo its own writes; watch off and TODO_CLI_WATCH=off stop it.
scenario_watch() {
    start_server --db :memory: || exit 1
    local prompt="todo 127.0.0.1:$SERVER_PORT>" cmd i
    cmd="$(printf '%q ' "$TODO_CLI" -p "$SERVER_PORT")"
    tm_run a 100 "TODO_CLI_WATCH= $cmd"
    wait_for a "$prompt"
    # The shell watches once the server counts it.
    for ((i = 0; i < 400; i++)); do
        cli --plain stats
        [ "$(awk -F'\t' '$1 == "watchers" {print $2}' <<<"$OUT")" = 1 ] && break
        sleep 0.05
    done
    [ "$i" -lt 400 ] || fail "the shell does not watch: $OUT"

    tm send-keys -t a -l -- "add half typed"
    wait_for a "$prompt add half typed"
    cli add buy milk +shopping
    local id=$OUT
    wait_for a "added $id \"buy milk\" +shopping"
    # The change is above the prompt, which still holds the half-typed line.
    local rows
    rows=$(screen a | grep -v '^$' | tail -n 2)
    expect_eq "$rows" "added $id \"buy milk\" +shopping
$prompt add half typed" "the event above the half-typed line"
    # The cursor is still at the end of it: what is typed next follows it.
    tm send-keys -t a -l -- " +typed"
    tm send-keys -t a Enter
    wait_n a "$prompt" 2
    local mine=""
    for ((i = 0; i < 200; i++)); do
        cli --plain list all +typed
        mine=$(awk -F'\t' '$8 == "half typed" {print $1}' <<<"$OUT")
        [ -n "$mine" ] && break
        sleep 0.05
    done
    [ -n "$mine" ] || fail "the half-typed line did not run as typed: $(screen a)"
    # The shell's own add is not told back to it; another client's done,
    # which comes after it, is.
    cli done "$id"
    wait_for a "done $id \"buy milk\""
    ! screen a | grep -qF "added $mine " || fail "the shell told its own add back:
$(screen a)"

    # watch off: nothing more is shown; watch on: shown again.
    type_line a "watch off"
    wait_for a "watch off:"
    wait_n a "$prompt" 3
    cli add unseen
    local unseen=$OUT
    type_line a "ping"
    wait_for a "PONG"
    wait_n a "$prompt" 4
    ! screen a | grep -qF "added $unseen " || fail "watch off still shows changes:
$(screen a)"
    type_line a "watch on"
    wait_for a "watch on:"
    cli add seen again
    wait_for a "added $OUT \"seen again\""
    type_line a quit

    # TODO_CLI_WATCH=off: the shell never watches.
    tm_run b 100 "TODO_CLI_WATCH=off $cmd"
    wait_for b "$prompt"
    cli add not for b
    local nb=$OUT
    type_line b "ping"
    wait_for b "PONG"
    ! screen b | grep -qF "added $nb " || fail "TODO_CLI_WATCH=off still shows changes:
$(screen b)"
    cli --plain stats
    expect_eq "$(awk -F'\t' '$1 == "watchers" {print $2}' <<<"$OUT")" "0" "watchers with TODO_CLI_WATCH=off"
    type_line b quit
}

# --user without a password: asked for on the terminal, never shown; the
# shell's auth logs in as that user too.
scenario_user() {
    local db=$TMP/todo.db
    printf 'carol pw\n' | "$TODO_SERVER" user add carol --admin --db "$(test_db "$db")" >/dev/null ||
        fail "user add carol"
    start_server --db "$db" || exit 1
    oneshot_user() {
        tm_run "$1" 100 "$(printf '%q ' "$TODO_CLI" -p "$SERVER_PORT" --user carol "${@:2}"); echo __END__ \$?; sleep 600"
    }
    oneshot_user one add typed at a prompt
    wait_for one "Password for carol:" || return
    type_line one "carol pw"
    wait_for one "__END__" || return
    local seen
    seen=$(screen one)
    expect_has "$seen" "__END__ 0" "add after typing carol's password"
    case $seen in *"carol pw"*) fail "the typed password is shown: $seen" ;; esac
    oneshot_user two add a slip
    wait_for two "Password for carol:" || return
    type_line two "carol px"
    wait_for two "__END__" || return
    seen=$(screen two)
    expect_has "$seen" "wrong user or password" "a slip is refused"
    expect_has "$seen" "__END__ 3" "a slip exits 3"
    case $seen in *"carol px"*) fail "the slip is shown: $seen" ;; esac
    # The shell asks for carol's password once, at its start; its auth
    # asks again and logs in as carol.
    local prompt="todo 127.0.0.1:$SERVER_PORT>"
    tm_run sh 100 "TODO_USER=carol TODO_CLI_HISTFILE=$(printf '%q' "$TMP/hist") $(printf '%q ' "$TODO_CLI" -p "$SERVER_PORT")"
    wait_for sh "Password for carol:" || return
    type_line sh "carol pw"
    wait_n sh "$prompt" 1 || return
    type_line sh "list"
    wait_for sh "typed at a prompt" || return
    wait_n sh "$prompt" 2 || return
    type_line sh "auth"
    wait_n sh "Password:" 1 || return
    type_line sh "carol pw"
    wait_for sh "OK" || return
    wait_n sh "$prompt" 3 || return
    # carol is an admin: user add asks for the new password twice, shows
    # neither, and the new user logs in at once; two that differ change
    # nothing.
    type_line sh "user add erin"
    wait_for sh "New password for erin:" || return
    type_line sh "erin pw"
    wait_for sh "Again:" || return
    type_line sh "erin pw"
    wait_for sh "user erin added" || return
    wait_n sh "$prompt" 4 || return
    type_line sh "user add frank"
    wait_for sh "New password for frank:" || return
    type_line sh "frank pw"
    wait_n sh "Again:" 2 || return
    type_line sh "frank px"
    wait_for sh "the two passwords differ" || return
    wait_n sh "$prompt" 5 || return
    seen=$(screen sh)
    case $seen in *"carol pw"* | *"erin pw"* | *"frank p"*) fail "the shell shows a password: $seen" ;; esac
    type_line sh quit
    printf 'erin pw\n' >"$TMP/erin.pw"
    "$TODO_CLI" -p "$SERVER_PORT" --user erin --password-file "$TMP/erin.pw" ping >/dev/null ||
        fail "erin, added in the shell, cannot log in"
    printf 'frank pw\n' >"$TMP/frank.pw"
    ! "$TODO_CLI" -p "$SERVER_PORT" --user frank --password-file "$TMP/frank.pw" ping >/dev/null 2>&1 ||
        fail "frank was added though his passwords differed"
    ! grep -q "pw" "$TMP/hist" || fail "the history holds a password: $(cat "$TMP/hist")"

    # A shared list: dave shares his with carol; in her shell, use dave
    # names the list in the prompt and watches it (dave's add shows above
    # the prompt), and use alone takes her back, where his next add is not
    # shown.
    printf 'dave pw\n' >"$TMP/dave.pw"
    stop_server
    printf 'dave pw\n' | "$TODO_SERVER" user add dave --db "$(test_db "$db")" >/dev/null ||
        fail "user add dave"
    start_server --db "$db" || exit 1
    prompt="todo 127.0.0.1:$SERVER_PORT>"
    local dave=(-p "$SERVER_PORT" --user dave --password-file "$TMP/dave.pw")
    "$TODO_CLI" "${dave[@]}" share carol >/dev/null || fail "dave shares with carol"
    tm_run sh2 100 "TODO_USER=carol $(printf '%q ' "$TODO_CLI" -p "$SERVER_PORT")"
    wait_for sh2 "Password for carol:" || return
    type_line sh2 "carol pw"
    wait_n sh2 "$prompt" 1 || return
    type_line sh2 "use dave"
    wait_for sh2 "todo 127.0.0.1:$SERVER_PORT (dave)>" || return
    "$TODO_CLI" "${dave[@]}" add dave added this >/dev/null || fail "dave's add"
    wait_for sh2 'added 1 "dave added this"' || return
    type_line sh2 "use"
    wait_n sh2 "$prompt" 2 || return
    "$TODO_CLI" "${dave[@]}" add not for carol >/dev/null || fail "dave's second add"
    type_line sh2 "list"
    wait_for sh2 "typed at a prompt" || return
    sleep 0.5
    seen=$(screen sh2)
    case $seen in *"not for carol"*) fail "carol's own list shows dave's add: $seen" ;; esac
    type_line sh2 quit
}

# One session that lasts, so the tmux server does not exit (and race with
# the next new-session) when a test's last pane has closed.
tm new-session -d -s keep "sleep 600" || { echo "tmux cannot start" >&2; exit 1; }

case "${1:-}" in
escapes | width | overdue | words | history | auth | watch | user) "scenario_$1" ;;
*)
    echo "usage: $0 escapes|width|overdue|words|history|auth|watch|user" >&2
    exit 2
    ;;
esac
finish
