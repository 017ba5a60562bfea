# lib.sh - sourced by the completion and install tests: checks, skips and a
# todo-server to complete live values from.
#
# The environment comes from CMake: TODO_SERVER and TODO_CLI (the built
# binaries), TODO_SOURCE_DIR (the source tree) and TODO_BINARY_DIR (the build).

FAILURES=0

# fail MESSAGE: records a failed check; the test goes on so one run shows all.
fail() {
    printf 'FAIL: %s\n' "$*" >&2
    FAILURES=$((FAILURES + 1))
}

pass() {
    printf 'ok: %s\n' "$*"
}

# skip REASON: ctest shows the test as skipped (SKIP_RETURN_CODE 77).
skip() {
    printf 'SKIP: %s\n' "$*"
    exit 77
}

# finish: the exit status of the whole test.
finish() {
    if [ "$FAILURES" -ne 0 ]; then
        printf '%d check(s) failed\n' "$FAILURES" >&2
        exit 1
    fi
    exit 0
}

# expect_eq WHAT GOT WANT
expect_eq() {
    if [ "$2" = "$3" ]; then
        pass "$1: '$2'"
    else
        fail "$1: got '$2', want '$3'"
    fi
}

# expect_word WHAT LIST WORD: WORD is one of the blank-separated words in LIST.
expect_word() {
    case " $2 " in
    *" $3 "*) pass "$1: '$3' in '$2'" ;;
    *) fail "$1: '$3' not in '$2'" ;;
    esac
}

# expect_no_word WHAT LIST WORD
expect_no_word() {
    case " $2 " in
    *" $3 "*) fail "$1: '$3' should not be in '$2'" ;;
    *) pass "$1: '$3' not in '$2'" ;;
    esac
}

# need_binaries: both programs were built; todo-cli is first on PATH, because
# the completion scripts run it by name as an installed one would be.
need_binaries() {
    [ -x "${TODO_SERVER:-}" ] || skip "todo-server not built (TODO_SERVER='${TODO_SERVER:-}')"
    [ -x "${TODO_CLI:-}" ] || skip "todo-cli not built (TODO_CLI='${TODO_CLI:-}')"
    PATH="$(dirname "$TODO_CLI"):$PATH"
    export PATH TODO_SERVER
}

# start_test_server: a fresh in-memory todo-server on a free port, stopped
# when the test exits, with two tasks to complete: ID1 (+home) and ID2 (+work).
start_test_server() {
    # shellcheck source=../common/server.sh
    . "$TODO_SOURCE_DIR/tests/common/server.sh"
    start_server --db :memory: || { fail "todo-server did not start"; finish; }
    trap 'kill -CONT "$SERVER_PID" 2>/dev/null; stop_server' EXIT
    # Settings from the caller's environment must not redirect todo-cli.
    unset TODO_HOST TODO_PORT TODO_PASSWORD
    ID1=$(todo-cli -p "$SERVER_PORT" add "walk the dog" +home) || fail "todo-cli add failed"
    ID2=$(todo-cli -p "$SERVER_PORT" add "write the report" +work pri:high) || fail "todo-cli add failed"
    [ -n "$ID1" ] && [ -n "$ID2" ] && [ "$ID1" != "$ID2" ] ||
        { fail "todo-cli add printed ids '$ID1' and '$ID2'"; finish; }
    echo "server on port $SERVER_PORT, tasks $ID1 and $ID2"
}

# ms_now: milliseconds since the epoch.
ms_now() {
    local t
    t=$(date +%s%N)
    echo $((t / 1000000))
}

# restart_with_password: replaces the server by one that wants the password
# in $HOME/todo-pw (HOME is the test's own), holding one task, PW_ID.
restart_with_password() {
    stop_server
    echo "s3cret word" >"$HOME/todo-pw"
    start_server --db :memory: --password-file "$HOME/todo-pw" ||
        { fail "todo-server with a password did not start"; finish; }
    PW_ID=$(TODO_PASSWORD="s3cret word" todo-cli -p "$SERVER_PORT" add "locked away") ||
        fail "todo-cli add with TODO_PASSWORD failed"
    echo "server with a password on port $SERVER_PORT, task $PW_ID"
}
