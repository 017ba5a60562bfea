# server.sh - sourced by shell integration tests: start and stop a real
# todo-server on a free port. Needs TODO_SERVER (path to the binary).
#
#   start_server [extra args...]   sets SERVER_PID and SERVER_PORT
#   stop_server                     SIGTERM and wait
#
# With TODO_TEST_DB_URI (the postgres stage of scripts/test), a --db
# becomes a schema of that PostgreSQL database named after it, as
# server_test_db() does for the C tests (tests/common/server_proc.c).

# test_db DB: the database a test's --db DB is run on.
test_db() {
    local uri=${TODO_TEST_DB_URI:-} key=$1 sep='?'
    if [ -z "$uri" ]; then
        printf '%s' "$1"
        return
    fi
    case $key in
    :memory:) key="$key $$ $RANDOM $RANDOM $(date +%s%N)" ;;
    /*) ;;
    *) key="$PWD/$key" ;;
    esac
    case $uri in *\?*) sep='&' ;; esac
    printf '%s%soptions=-csearch_path%%3Dsh_%s' "$uri" "$sep" "$(printf '%s' "$key" | cksum | cut -d' ' -f1)"
}

start_server() {
    local fifo
    SERVER_OUT=$(mktemp -d)
    fifo="$SERVER_OUT/out"
    mkfifo "$fifo"
    local args=() has_db=0
    while [ $# -gt 0 ]; do
        case $1 in
        --db | -d)
            args+=("$1" "$(test_db "${2-}")")
            has_db=1
            shift 2 || shift
            continue
            ;;
        esac
        args+=("$1")
        shift
    done
    if [ "$has_db" = 0 ] && [ -n "${TODO_TEST_DB_URI:-}" ]; then
        args+=(--db "$(test_db todo.db)")
    fi
    "$TODO_SERVER" --bind 127.0.0.1 --port 0 "${args[@]}" >"$fifo" 2>"$SERVER_OUT/err" &
    SERVER_PID=$!
    exec {SERVER_FD}<"$fifo"
    local line
    if ! IFS= read -r -t 10 line <&"$SERVER_FD"; then
        echo "start_server: no 'listening on' line; stderr:" >&2
        cat "$SERVER_OUT/err" >&2
        return 1
    fi
    case "$line" in
    "listening on "*) SERVER_PORT=${line##*:} ;;
    *) echo "start_server: unexpected line '$line'" >&2; return 1 ;;
    esac
    export SERVER_PID SERVER_PORT
}

stop_server() {
    [ -n "${SERVER_PID:-}" ] || return 0
    kill -TERM "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
    local rc=$?
    exec {SERVER_FD}<&-
    rm -rf "$SERVER_OUT"
    SERVER_PID=
    return $rc
}
