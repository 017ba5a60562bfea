# bench/lib.sh - shell helpers shared by bench/compare, bench/ab and
# bench/profile: start and stop todo-server and redis-server on 127.0.0.1 and
# free ports, and the list of todo-server's rows that compare and ab both run.
# The caller sets SERVER (todo-server binary), REDIS (redis-server binary),
# TMP (a scratch directory it removes), IDLE (idle connections Redis must
# accept) and defines die(). SERVER_ARGS (an array, may be empty) holds
# extra arguments for todo-server.

# Stops one process by pid: SIGTERM, then SIGKILL if it lingers.
stop_pid() {
    local pid=$1 i
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# start_todo DB: starts todo-server on a free port; sets TODO_PID, TODO_PORT
# and TODO_START_MS (time from exec to its "listening on" line), which it
# waits for TODO_START_TIMEOUT seconds (default 10; valgrind wants more).
start_todo() {
    local fifo=$TMP/todo.out.$RANDOM line t0 t1
    mkfifo "$fifo"
    t0=$EPOCHREALTIME
    TODO_T0=$t0
    "$SERVER" --bind 127.0.0.1 --port 0 --db "$1" ${SERVER_ARGS[@]+"${SERVER_ARGS[@]}"} \
        >"$fifo" 2>>"$TMP/todo.err" &
    TODO_PID=$!
    exec {TODO_FD}<"$fifo"
    # Both ends are open now, so the name can go: bench/ab starts dozens of
    # servers, and a $RANDOM name used twice would make mkfifo fail.
    rm -f "$fifo"
    if ! IFS= read -r -t "${TODO_START_TIMEOUT:-10}" line <&"$TODO_FD"; then
        cat "$TMP/todo.err" >&2
        die "todo-server printed no 'listening on' line"
    fi
    t1=$EPOCHREALTIME
    case "$line" in
    "listening on "*) TODO_PORT=${line##*:} ;;
    *) die "todo-server said '$line'" ;;
    esac
    TODO_START_MS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) * 1000 }')
    # The server may log more to stdout: drain it so it never blocks.
    cat <&"$TODO_FD" >/dev/null &
    exec {TODO_FD}<&-
}

stop_todo() {
    stop_pid "$TODO_PID"
    TODO_PID=
}

# start_redis: on a free port (tries a few random ones); sets REDIS_PID, REDIS_PORT.
start_redis() {
    local try port i
    mkdir -p "$TMP/redis"
    for ((try = 0; try < 20; try++)); do
        port=$((20000 + RANDOM % 30000))
        # Something already answers there: pick another.
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            continue
        fi
        "$REDIS" --bind 127.0.0.1 --port "$port" --dir "$TMP/redis" \
            --appendonly yes --appendfsync everysec --save '' \
            --maxclients $((IDLE + 1000)) --daemonize no \
            --logfile "$TMP/redis/redis.log" &
        REDIS_PID=$!
        for ((i = 0; i < 50; i++)); do
            kill -0 "$REDIS_PID" 2>/dev/null || break
            if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
                REDIS_PORT=$port
                return 0
            fi
            sleep 0.1
        done
        stop_pid "$REDIS_PID"
        REDIS_PID=
    done
    tail -5 "$TMP/redis/redis.log" >&2 || true
    die "redis-server would not start"
}

# A value of the size of a todo task line; GET's reply ends in "-end\r\n".
VALUE=bench-value-0123456789abcdef0123456789abcdef0123456789abcd-end

# Stores key:0 .. key:N-1 so every GET in the timed part hits.
fill_redis() {
    local n=$1 i line fd
    exec {fd}<>"/dev/tcp/127.0.0.1/$REDIS_PORT"
    for ((i = 0; i < n; i++)); do
        printf 'SET key:%d %s\r\n' "$i" "$VALUE"
    done >&"$fd"
    for ((i = 0; i < n; i++)); do
        IFS= read -r -t 10 line <&"$fd" || die "redis-server stopped answering while being filled"
        [ "$line" = $'+OK\r' ] || die "redis-server answered '$line' to SET"
    done
    exec {fd}>&-
}

# fill_redis_fast N: the same as fill_redis for a big N (100,000 keys): the
# SETs go in one stream from awk while head and awk take the replies, up
# to a DBSIZE sent last, so that bash never reads them a byte at a time.
# Bounded: 120 s at most.
fill_redis_fast() {
    local n=$1 fd got writer
    exec {fd}<>"/dev/tcp/127.0.0.1/$REDIS_PORT"
    awk -v n="$n" -v v="$VALUE" \
        'BEGIN { for (i = 0; i < n; i++) printf "SET key:%d %s\r\n", i, v; printf "DBSIZE\r\n" }' >&"$fd" &
    writer=$!
    # head stops after the replies expected (awk could wait for a whole
    # block of input that never comes).
    got=$(timeout 120 head -n $((n + 1)) <&"$fd" | awk '{ sub(/\r$/, "") } /^:/ { print substr($0, 2); exit }
        $0 != "+OK" { print "answered " $0; exit }') || true
    wait "$writer" || true
    exec {fd}>&-
    [ "$got" -ge "$n" ] 2>/dev/null || die "filling redis-server with $n keys: DBSIZE said '$got'"
}

# The key space of every run: todo-bench adds this many tasks before a timed
# get or edit, and Redis is filled with as many keys.
KEYSPACE=10000

# todo_rows: defines todo-server's rows of bench/compare, which bench/ab runs
# too, in one place so the two scripts cannot drift apart. Call it once IDLE is
# set. It sets W1..W4 (the workloads' names in the tables), WL_ARGS[workload]
# (their todo-bench arguments besides -p, -d, -r and -t), ROW_IDS (every row's
# id, in the tables' order), ROW_WL[id] and ROW_TEST[id] (its workload and
# todo-bench test), and COMPARE_ROWS: the rows bench/compare runs without
# --all (its 3-minute budget leaves out the pipelined writes and edit with
# idle connections).
todo_rows() {
    local wl test id
    W1="1 connection"
    W2="50 connections"
    W3="50 conns, pipeline 16"
    W4="50 conns + $IDLE idle"
    declare -gA WL_ARGS=(["$W1"]="-c 1" ["$W2"]="-c 50" ["$W3"]="-c 50 -P 16" ["$W4"]="-c 50 --idle $IDLE")
    declare -gA WL_ID=(["$W1"]=c1 ["$W2"]=c50 ["$W3"]=p16 ["$W4"]=idle)
    declare -gA ROW_WL=() ROW_TEST=()
    ROW_IDS=()
    for wl in "$W1" "$W2" "$W3" "$W4"; do
        for test in get add edit; do
            id=${WL_ID[$wl]}-$test
            ROW_IDS+=("$id")
            ROW_WL[$id]=$wl
            ROW_TEST[$id]=$test
        done
    done
    COMPARE_ROWS=(c1-get c1-add c1-edit c50-get c50-add c50-edit p16-get idle-get idle-add)
}

# rows_in WORKLOAD get|set ROW_ID...: the todo-bench tests of WORKLOAD among
# the rows given, get for "get" and the writes (add, edit) for "set", in
# the tables' order, separated by spaces.
rows_in() {
    local wl=$1 kind=$2 id out=()
    shift 2
    for id in "$@"; do
        [ "${ROW_WL[$id]}" = "$wl" ] || continue
        case "$kind:${ROW_TEST[$id]}" in
        get:get | set:add | set:edit) out+=("${ROW_TEST[$id]}") ;;
        esac
    done
    echo "${out[*]}"
}

# start_nginx DOCROOT: Debian's nginx-light serving DOCROOT's files on
# 127.0.0.1 and a free port (tries a few random ones), as a fair opponent
# for a static file: one worker (the issue's terms), access log off,
# sendfile and an open-file cache (what a tuned static server runs with),
# keep-alive without a cap on requests (nginx closes a connection after
# 1000 by default, which a load generator would count as an error), and
# its config, pid file, temp and error log under $TMP/nginx. Run as root,
# its worker drops to nobody, who must be able to reach DOCROOT, so $TMP
# is made traversable (its files stay the owner's). Sets NGINX_PID and
# NGINX_PORT. The caller sets NGINX (the binary).
start_nginx() {
    local root=$1 dir=$TMP/nginx try port i
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then
        chmod 711 "$TMP"
        chmod -R a+rX "$root"
    fi
    for ((try = 0; try < 20; try++)); do
        port=$((20000 + RANDOM % 30000))
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            continue
        fi
        cat >"$dir/nginx.conf" <<NGX
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    open_file_cache max=64 inactive=60s;
    keepalive_requests 1000000000;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    types { }
    default_type application/json;
    server {
        listen 127.0.0.1:$port;
        root $root;
    }
}
NGX
        "$NGINX" -e "$dir/error.log" -p "$dir" -c "$dir/nginx.conf" 2>>"$dir/error.log" &
        NGINX_PID=$!
        for ((i = 0; i < 50; i++)); do
            kill -0 "$NGINX_PID" 2>/dev/null || break
            if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
                NGINX_PORT=$port
                return 0
            fi
            sleep 0.1
        done
        stop_pid "$NGINX_PID"
        NGINX_PID=
        # Another process took the port between the probe and the bind: try another.
        grep -q 'Address already in use' "$dir/error.log" 2>/dev/null || break
    done
    tail -5 "$dir/error.log" >&2 || true
    die "nginx would not start"
}

# http_body PORT PATH FILE: the body of GET PATH from 127.0.0.1:PORT into
# FILE, read by bash alone (no curl needed), its size checked against the
# response's Content-Length. Bounded: 10 s.
http_body() {
    local port=$1 path=$2 file=$3 fd len
    exec {fd}<>"/dev/tcp/127.0.0.1/$port"
    printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n' "$path" "$port" >&"$fd"
    timeout 10 cat <&"$fd" >"$file.resp" || true
    exec {fd}>&-
    head -1 "$file.resp" | grep -q '^HTTP/1\.1 200 ' || die "GET $path answered '$(head -1 "$file.resp")'"
    len=$(sed -n 's/^[Cc]ontent-[Ll]ength: *\([0-9]*\).*/\1/p' "$file.resp" | head -1)
    # The body is what follows the first empty line (CRLF).
    sed '1,/^\r$/d' "$file.resp" >"$file"
    [ "$(wc -c <"$file")" = "$len" ] || die "GET $path: a body of $(wc -c <"$file") bytes, Content-Length $len"
    rm -f "$file.resp"
}

# wrk_run URL SCRIPT SECONDS: one run of wrk (one thread, 50 connections,
# --latency) with the Lua SCRIPT; sets WRK_REQS, WRK_SECS, WRK_P50, WRK_P99
# (microseconds, wrk's own histogram) and WRK_ERR (non-2xx responses and
# socket errors of every kind). Bounded: SECONDS + 30 s.
wrk_run() {
    local url=$1 script=$2 secs=$3 out
    out=$(timeout $((secs + 30)) "$WRK" -t1 -c50 -d"${secs}s" --latency -s "$script" "$url" 2>&1) ||
        die "wrk against $url failed: $out"
    read -r WRK_REQS WRK_SECS WRK_P50 WRK_P99 WRK_ERR <<<"$(awk '
        function us(v) {
            if (v ~ /us$/) return v + 0
            if (v ~ /ms$/) return v * 1000
            if (v ~ /m$/) return v * 60e6
            return v * 1e6
        }
        $2 == "requests" && $3 == "in" { reqs = $1; secs = $4 + 0 }
        $1 == "50%" { p50 = us($2) }
        $1 == "99%" { p99 = us($2) }
        /^ *Non-2xx or 3xx responses:/ { err += $NF }
        /^ *Socket errors:/ { gsub(/,/, ""); err += $4 + $6 + $8 + $10 }
        END { printf "%d %.3f %.1f %.1f %d\n", reqs, secs, p50, p99, err }' <<<"$out")"
    [ "${WRK_REQS:-0}" -gt 0 ] || die "wrk against $url made no request: $out"
}
