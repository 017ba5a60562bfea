#!/bin/bash
# "todo-server user ...": accounts added, changed, listed and removed on a
# real database, as a person or a script would.
#
#   users_cli.sh pipe   the password from stdin; errors; a server running
#   users_cli.sh tty    the password typed at a real terminal (tmux), no echo
#
# Needs TODO_SERVER and TESTS_COMMON. Exit 0 passed, 1 failed, 77 skipped.
set -u
. "$TESTS_COMMON/server.sh"

FAILS=0
TMP=$(mktemp -d)
cd "$TMP" || exit 1
trap 'stop_server; cd /; rm -rf "$TMP"' EXIT

fail() {
    echo "FAIL: $*" >&2
    FAILS=$((FAILS + 1))
}

# user ARGS... [<input]: runs todo-server user on the test's database;
# sets OUT, ERR, RC.
DB=$(test_db "$TMP/todo.db")
user() {
    "$TODO_SERVER" user "$@" --db "$DB" >"$TMP/out" 2>"$TMP/err"
    RC=$?
    OUT=$(cat "$TMP/out")
    ERR=$(cat "$TMP/err")
}
expect_rc() {
    [ "$RC" -eq "$1" ] || fail "$2: exit status $RC, wanted $1 (stdout: $OUT; stderr: $ERR)"
}
expect_eq() {
    [ "$1" = "$2" ] || fail "$3: got [$1], wanted [$2]"
}
expect_has() {
    case "$1" in
    *"$2"*) ;;
    *) fail "$3: [$1] does not contain [$2]" ;;
    esac
}
expect_not() {
    case "$1" in
    *"$2"*) fail "$3: [$1] contains [$2]" ;;
    esac
}
# The users as list shows them, without the dates.
names() {
    user list
    expect_rc 0 "list"
    printf '%s\n' "$OUT" | cut -d' ' -f1-3
}
# The column of the users table, straight from the SQLite file (not on
# PostgreSQL, where the file is not ours to read).
on_sqlite() { [ -z "${TODO_TEST_DB_URI:-}" ]; }
sql() {
    python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
for r in c.execute(sys.argv[2]): print("|".join(str(x) for x in r))' "$TMP/todo.db" "$1"
}

scenario_pipe() {
    user list
    expect_rc 0 "list of a new database"
    expect_eq "$OUT" "" "a new database has no users"

    local alice_pw="correct horse"
    user add alice --admin <<<"correct horse"
    expect_rc 0 "add alice"
    expect_eq "$OUT" "user alice added (admin)" "add's report"
    # A password from a script: its first line, CRLF or not.
    user add bob < <(printf 'correct horse\r\nsecond line\n')
    expect_rc 0 "add bob"
    expect_eq "$(names)" "alice admin active
bob user active" "list after two adds"
    user list
    case $OUT in
    *' '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T*Z*) ;;
    *) fail "list shows when each user was added: [$OUT]" ;;
    esac
    expect_not "$OUT" "correct" "list shows no password"
    expect_not "$OUT" "argon2" "list shows no hash"

    if on_sqlite; then
        local ha hb
        ha=$(sql "SELECT hash FROM users WHERE name = 'alice'")
        hb=$(sql "SELECT hash FROM users WHERE name = 'bob'")
        expect_has "$ha" '$argon2id$' "alice's password is kept as an Argon2id hash"
        expect_not "$ha" "correct" "the hash is not the password"
        expect_not "$ha" "horse" "the hash holds no part of the password"
        [ "$ha" != "$hb" ] || fail "equal passwords have equal hashes: $ha"
        [ "$(sql "SELECT count(*) FROM users WHERE hash LIKE '%horse%'")" = 0 ] ||
            fail "a password is in the database"
        expect_eq "$(sql 'PRAGMA user_version')" 6 "schema version"
    fi

    # Refused, changing nothing: a name taken, a bad name, a password as an
    # argument, no password, an empty one, a missing user.
    user add alice <<<"other"
    expect_rc 1 "add alice again"
    expect_has "$ERR" "exists already" "add of a taken name"
    user add "bad name" <<<"pw"
    expect_rc 2 "a name with a space"
    expect_has "$ERR" "cannot name a user" "a bad name says why"
    user add -x <<<"pw"
    expect_rc 2 "a name like an option"
    user add carol s3cret <<<"pw"
    expect_rc 2 "a password as an argument"
    expect_has "$ERR" "never given as an argument" "why a password is no argument"
    user add carol </dev/null
    expect_rc 1 "add with no password"
    expect_has "$ERR" "no password" "no password says so"
    user add carol <<<""
    expect_rc 1 "add with an empty password"
    user add carol < <(head -c 300 /dev/zero | tr '\0' p)
    expect_rc 1 "add with a password of 300 bytes"
    expect_has "$ERR" "longer than 256 bytes" "a long password says so"
    user del carol
    expect_rc 1 "del of a missing user"
    expect_has "$ERR" "no user is named carol" "del of a missing user says so"
    user passwd carol <<<"pw"
    expect_rc 1 "passwd of a missing user"
    user passwd alice --admin <<<"pw"
    expect_rc 2 "--admin with passwd"
    user lock carol
    expect_rc 1 "lock of a missing user"
    user frobnicate
    expect_rc 2 "an unknown command"
    expect_eq "$(names)" "alice admin active
bob user active" "list after the refusals"
    for w in "$OUT" "$ERR"; do
        expect_not "$w" "correct horse" "no output shows a password"
    done

    # passwd changes the hash only: the role stays.
    if on_sqlite; then
        local before after
        before=$(sql "SELECT hash FROM users WHERE name = 'alice'")
        user passwd alice <<<"battery staple"
        alice_pw="battery staple"
        expect_rc 0 "passwd alice"
        expect_eq "$OUT" "user alice has a new password" "passwd's report"
        after=$(sql "SELECT hash || ' ' || admin FROM users WHERE name = 'alice'")
        [ "${after% 1}" != "$before" ] || fail "passwd kept the old hash"
        expect_eq "${after##* }" 1 "passwd keeps the admin role"
    fi

    user lock bob
    expect_rc 0 "lock bob"
    expect_eq "$OUT" "user bob locked: it cannot log in" "lock's report"
    expect_eq "$(names)" "alice admin active
bob user locked" "list shows the lock"
    user unlock bob
    expect_rc 0 "unlock bob"
    expect_eq "$(names)" "alice admin active
bob user active" "list after unlock"

    user del bob
    expect_rc 0 "del bob"
    expect_eq "$OUT" "user bob removed, with the 0 tasks of their list" "del's report"
    expect_eq "$(names)" "alice admin active" "list after del"

    # A running server: SQLite's file is the server's alone, so the
    # command is refused and says what to do; PostgreSQL takes the change
    # while the server runs.
    start_server --db "$TMP/todo.db" || exit 1
    user add dave <<<"pw"
    if on_sqlite; then
        expect_rc 1 "add while a server has the SQLite file"
        expect_has "$ERR" "in use by another process" "why add is refused"
        expect_has "$ERR" "Stop the server" "what to do instead"
        stop_server
        expect_eq "$(names)" "alice admin active" "the refused add changed nothing"
    else
        expect_rc 0 "add while a server runs on PostgreSQL"
        stop_server
        expect_eq "$(names)" "alice admin active
dave user active" "the add while the server ran is kept"
    fi

    # The server asks for a user's login now, and takes the password the
    # command gave.
    start_server --db "$TMP/todo.db" || exit 1
    local reply
    reply=$(printf 'ADD too soon\nAUTH alice "%s"\nADD still here\n' "$alice_pw" |
        nc -q 3 127.0.0.1 "$SERVER_PORT" 2>/dev/null | tr -d '\r')
    expect_eq "$reply" "ERR AUTH authentication required; send AUTH <user> <password>
OK
OK 1" "the server asks alice to log in, and adds her task"
    stop_server
}

scenario_tty() {
    command -v tmux >/dev/null || { echo "SKIP: no tmux"; exit 77; }
    local sock=$TMP/tmux.sock
    tm() { tmux -u -S "$sock" -f /dev/null "$@"; }
    trap 'tm kill-server 2>/dev/null; stop_server; cd /; rm -rf "$TMP"' EXIT
    screen() { tm capture-pane -p -S - -t "$1" 2>/dev/null; }
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
    type_line() {
        tm send-keys -t "$1" -l -- "$2"
        tm send-keys -t "$1" Enter
    }
    run_pane() {
        tm new-session -d -s "$1" -x 120 -y 30 \
            "$(printf '%q ' "$TODO_SERVER" user "${@:2}" --db "$DB"); echo \"__END__ \$?\"; sleep 600" ||
            fail "tmux cannot start $1"
    }

    # Typed twice, never shown.
    run_pane add add erin --admin
    wait_for add "Password for erin:" || return
    type_line add "hidden words 42"
    wait_for add "Again:" || return
    type_line add "hidden words 42"
    wait_for add "__END__" || return
    local shown
    shown=$(screen add)
    expect_has "$shown" "user erin added (admin)" "add at a terminal"
    expect_has "$shown" "__END__ 0" "add at a terminal succeeds"
    expect_not "$shown" "hidden" "the typed password is not echoed"

    # Two different passwords: nothing changes.
    run_pane slip passwd erin
    wait_for slip "Password for erin:" || return
    type_line slip "first try"
    wait_for slip "Again:" || return
    type_line slip "first trx"
    wait_for slip "__END__" || return
    shown=$(screen slip)
    expect_has "$shown" "the passwords differ; nothing changed" "a slip is caught"
    expect_has "$shown" "__END__ 1" "a slip fails"
    expect_not "$shown" "first" "neither password is echoed"

    # Ctrl-C at the prompt: nothing changes, and the echo is back on.
    run_pane stop add frank
    wait_for stop "Password for frank:" || return
    tm send-keys -t stop -l -- "half"
    tm send-keys -t stop C-c
    wait_for stop "__END__" || return
    expect_has "$(screen stop)" "__END__ 1" "Ctrl-C ends add"
    expect_not "$(screen stop)" "half" "the half-typed password is not echoed"
    if on_sqlite; then
        expect_eq "$(sql 'SELECT name FROM users ORDER BY name' | tr '\n' ' ')" "erin " \
            "only erin was added"
    fi
    tm kill-server 2>/dev/null
}

case ${1:-} in
pipe) scenario_pipe ;;
tty) scenario_tty ;;
*) echo "usage: users_cli.sh pipe|tty" >&2; exit 2 ;;
esac
if [ "$FAILS" -ne 0 ]; then
    echo "$FAILS check(s) failed" >&2
    exit 1
fi
echo "all checks passed"
