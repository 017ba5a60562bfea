#!/usr/bin/env bash
# test_install.sh - `cmake --install` of this build into a DESTDIR puts every
# file where it belongs: the programs in bin/, each completion where its shell
# looks (proved by letting bash-completion, zsh's compinit and fish load it
# from there), the manual pages where man finds them, and the example systemd
# unit with ExecStart naming the installed server. A second install under
# /opt/todo proves that nothing escapes a non-/usr prefix.
set -u
export LC_ALL=C.UTF-8
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
[ -x "${TODO_CMAKE:-}" ] || skip "TODO_CMAKE is not set"
[ -d "${TODO_BINARY_DIR:-}" ] || skip "TODO_BINARY_DIR is not set"
[ -n "${TODO_SERVER:-}" ] && [ -n "${TODO_CLI:-}" ] ||
    skip "todo-server or todo-cli is not part of this build yet"
src=$TODO_SOURCE_DIR
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# install_into DESTDIR PREFIX: runs cmake --install; its log is kept for failures.
install_into() {
    if DESTDIR=$1 "$TODO_CMAKE" --install "$TODO_BINARY_DIR" --prefix "$2" >"$work/install.log" 2>&1; then
        pass "cmake --install --prefix $2 into a DESTDIR"
    else
        cat "$work/install.log" >&2
        fail "cmake --install --prefix $2 failed"
        finish
    fi
}

# expect_file PATH MODE: a regular file with that mode (octal, e.g. 644).
expect_file() {
    if [ -f "$1" ]; then
        local m
        m=$(stat -c %a "$1")
        [ "$m" = "$2" ] && pass "${1#"$work"} (mode $m)" || fail "${1#"$work"}: mode $m, want $2"
    else
        fail "missing: ${1#"$work"}"
    fi
}

# only_under DESTDIR TOP: nothing was installed outside DESTDIR/TOP.
only_under() {
    local stray
    stray=$(cd "$1" && find . -mindepth 1 -not -path "./${2#/}" -not -path "./${2#/}/*" \
        -not -path "./${2#/}" -type f)
    [ -z "$stray" ] && pass "every file is under $2" || fail "files outside $2: $stray"
}

# ---- --prefix /usr, as a distribution package would install it
d=$work/usr-root
install_into "$d" /usr
u=$d/usr
expect_file "$u/bin/todo-server" 755
expect_file "$u/bin/todo-cli" 755
expect_file "$u/share/bash-completion/completions/todo-cli" 644
expect_file "$u/share/zsh/site-functions/_todo-cli" 644
expect_file "$u/share/fish/vendor_completions.d/todo-cli.fish" 644
expect_file "$u/share/man/man1/todo-cli.1" 644
expect_file "$u/share/man/man8/todo-server.8" 644
expect_file "$u/share/doc/todo/examples/todo-server.service" 644
only_under "$d" /usr

cmp -s "$src/completions/todo-cli.bash" "$u/share/bash-completion/completions/todo-cli" &&
    cmp -s "$src/completions/_todo-cli" "$u/share/zsh/site-functions/_todo-cli" &&
    cmp -s "$src/completions/todo-cli.fish" "$u/share/fish/vendor_completions.d/todo-cli.fish" &&
    pass "installed completions are the sources" || fail "installed completions differ from the sources"

if command -v pkg-config >/dev/null && pkg-config --exists bash-completion; then
    bcdir=$(pkg-config --variable=completionsdir bash-completion)
    [ -f "$d$bcdir/todo-cli" ] && pass "bash completion is in bash-completion's completionsdir $bcdir" ||
        fail "bash completion is not in bash-completion's completionsdir $bcdir"
fi

"$u/bin/todo-cli" --version >/dev/null 2>&1 && pass "installed todo-cli --version runs" ||
    fail "installed todo-cli --version failed"
"$u/bin/todo-server" --version >/dev/null 2>&1 && pass "installed todo-server --version runs" ||
    fail "installed todo-server --version failed"

# Each shell finds its completion in the installed tree on its own.
bc=/usr/share/bash-completion/bash_completion
if [ -r "$bc" ]; then
    got=$(XDG_DATA_DIRS=$u/share bash -c '. "$1"; __load_completion todo-cli; complete -p todo-cli' _ "$bc" 2>&1)
    [[ $got == *"-F _todo_cli todo-cli"* ]] && pass "bash-completion loads it on demand" ||
        fail "bash-completion did not load the installed completion: $got"
else
    echo "note: $bc not found; on-demand loading by bash-completion not checked"
fi
if command -v zsh >/dev/null; then
    got=$(HOME=$work zsh -fc 'fpath=("$1" $fpath); autoload -Uz compinit; compinit -u -D; print -r -- ${_comps[todo-cli]}' \
        _ "$u/share/zsh/site-functions" 2>&1)
    [ "$got" = "_todo-cli" ] && pass "zsh compinit binds todo-cli to _todo-cli" ||
        fail "zsh compinit did not pick up _todo-cli: '$got'"
fi
if command -v fish >/dev/null; then
    # fish's own config.fish builds the search path from XDG_DATA_DIRS, so
    # no --no-config here; the empty HOME keeps the user's files out.
    # fish loads completions only for commands it can find on PATH.
    got=$(HOME=$work XDG_CONFIG_HOME=$work/.config XDG_DATA_HOME=$work/.local/share \
        XDG_DATA_DIRS=$u/share PATH="$u/bin:$PATH" fish -c 'complete -C "todo-cli --no-"' 2>&1 | cut -f1)
    [ "$got" = "--no-color" ] && pass "fish loads it from vendor_completions.d" ||
        fail "fish did not load the installed completion: '$got'"
fi
if command -v man >/dev/null; then
    for page in todo-cli todo-server; do
        got=$(MANPATH=$u/share/man man -w "$page" 2>&1)
        case $got in
        "$u/share/man/man"[18]"/$page".[18]*) pass "man finds $page: ${got#"$work"}" ;;
        *) fail "man does not find $page in the installed tree: $got" ;;
        esac
    done
fi

unit=$u/share/doc/todo/examples/todo-server.service
exec_line=$(grep '^ExecStart=' "$unit")
case $exec_line in
"ExecStart=/usr/bin/todo-server "*"--db /var/lib/todo/todo.db"*) pass "unit: $exec_line" ;;
*) fail "unit: ExecStart does not run /usr/bin/todo-server on /var/lib/todo: $exec_line" ;;
esac
grep -qE '@[A-Z_]+@' "$unit" && fail "unit: unexpanded @VARIABLE@: $(grep -E '@[A-Z_]+@' "$unit")"
for key in DynamicUser=yes StateDirectory=todo WorkingDirectory=/var/lib/todo; do
    grep -qx "$key" "$unit" && pass "unit: $key" || fail "unit: no $key"
done
if command -v systemd-analyze >/dev/null; then
    # verify wants the executable at its real path: point a copy at the DESTDIR.
    sed "s|=/usr/bin/todo-server|=$u/bin/todo-server|" "$unit" >"$work/todo-server.service"
    err=$(cd "$work" && systemd-analyze verify --man=no ./todo-server.service 2>&1)
    [ -z "$err" ] && pass "systemd-analyze verify: no complaint" || fail "systemd-analyze verify: $err"
else
    echo "note: systemd-analyze not found; unit syntax not verified"
fi

# ---- --prefix /opt/todo: everything stays under the prefix
d=$work/opt-root
install_into "$d" /opt/todo
o=$d/opt/todo
expect_file "$o/bin/todo-cli" 755
expect_file "$o/share/bash-completion/completions/todo-cli" 644
expect_file "$o/share/zsh/site-functions/_todo-cli" 644
expect_file "$o/share/fish/vendor_completions.d/todo-cli.fish" 644
expect_file "$o/share/man/man8/todo-server.8" 644
only_under "$d" /opt/todo
grep -q '^ExecStart=/opt/todo/bin/todo-server ' "$o/share/doc/todo/examples/todo-server.service" &&
    pass "unit under /opt/todo runs /opt/todo/bin/todo-server" ||
    fail "unit under /opt/todo: $(grep '^ExecStart=' "$o/share/doc/todo/examples/todo-server.service")"
finish
