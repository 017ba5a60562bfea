# server.sh - sourced by shell integration tests: start and stop a real
# todo-server on a free port. Needs TODO_SERVER (path to the binary).
#
#   start_server [extra args...]   sets SERVER_PID and SERVER_PORT
#   stop_server                     SIGTERM and wait

start_server() {
    local fifo
    SERVER_OUT=$(mktemp -d)
    fifo="$SERVER_OUT/out"
    mkfifo "$fifo"
    "$TODO_SERVER" --bind 127.0.0.1 --port 0 "$@" >"$fifo" 2>"$SERVER_OUT/err" &
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
