# lib.sh - sourced by todo-cli's integration tests. Needs TODO_CLI and
# TODO_SERVER (paths to the binaries) and TESTS_COMMON (tests/common).
set -u
. "$TESTS_COMMON/server.sh"

FAILS=0
TMP=$(mktemp -d)
trap 'stop_server; rm -rf "$TMP"' EXIT

fail() {
    echo "FAIL: $*" >&2
    FAILS=$((FAILS + 1))
}

# cli ARGS...: runs todo-cli against the test server; sets OUT, ERR, RC.
cli() {
    "$TODO_CLI" -p "$SERVER_PORT" "$@" >"$TMP/out" 2>"$TMP/err"
    RC=$?
    OUT=$(cat "$TMP/out")
    ERR=$(cat "$TMP/err")
}

# expect_rc N WHAT: the last cli call exited with N.
expect_rc() {
    [ "$RC" -eq "$1" ] || fail "$2: exit status $RC, wanted $1 (stdout: $OUT; stderr: $ERR)"
}

# expect_eq GOT WANT WHAT
expect_eq() {
    [ "$1" = "$2" ] || fail "$3: got [$1], wanted [$2]"
}

# expect_has HAYSTACK NEEDLE WHAT
expect_has() {
    case "$1" in
    *"$2"*) ;;
    *) fail "$3: [$1] does not contain [$2]" ;;
    esac
}

# A port nothing listens on: the port of a server that was just stopped.
dead_port() {
    start_server --db :memory: || exit 1
    local p=$SERVER_PORT
    stop_server
    echo "$p"
}

finish() {
    if [ "$FAILS" -ne 0 ]; then
        echo "$FAILS check(s) failed" >&2
        exit 1
    fi
    echo "all checks passed"
    exit 0
}
