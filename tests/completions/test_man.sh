#!/usr/bin/env bash
# test_man.sh - docs/todo-cli.1 and docs/todo-server.8 render with man(1)
# without a single groff warning, fit 80 columns, carry the sections a reader
# looks for, are indexed by whatis (lexgrog), and describe every option the
# programs' --help prints and every command todo-cli completes.
set -u
export LC_ALL=C.UTF-8
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
command -v man >/dev/null || skip "man is not installed (apt-get install man-db)"
docs=$TODO_SOURCE_DIR/docs
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# render PAGE: the page as text, 80 columns wide, into $out/PAGE.txt.
render() {
    local page=$1 name
    name=$(basename "$page")
    LC_ALL=C.UTF-8 MANWIDTH=80 MANROFFSEQ='' MAN_KEEP_FORMATTING='' \
        man --warnings -l "$page" >"$out/$name.txt" 2>"$out/$name.err"
    local rc=$?
    [ $rc -eq 0 ] || fail "$name: man exited $rc"
    if [ -s "$out/$name.err" ]; then
        fail "$name: warnings: $(cat "$out/$name.err")"
    else
        pass "$name: renders without warnings"
    fi
    # No overstrike or escape sequences when the output is not a terminal.
    sed -i 's/.\x08//g' "$out/$name.txt"
    local wide='' line n=0
    while IFS= read -r line; do
        n=$((n + 1))
        # ${#line} counts characters, not bytes, in a UTF-8 locale.
        ((${#line} > 80)) && wide+="
$n: $line"
    done < <(cat "$out/$name.txt")
    [ -z "$wide" ] && pass "$name: fits 80 columns" || fail "$name: lines wider than 80: $wide"
    local s
    for s in NAME SYNOPSIS DESCRIPTION OPTIONS ENVIRONMENT FILES "EXIT STATUS" EXAMPLES "SEE ALSO"; do
        grep -qx "$s" "$out/$name.txt" || fail "$name: no $s section"
    done
    if command -v lexgrog >/dev/null; then
        local w
        w=$(lexgrog "$page" 2>&1)
        case $w in
        *": \"${name%.*} - "*) pass "$name: whatis entry: ${w#*: }" ;;
        *) fail "$name: lexgrog cannot parse the NAME section: $w" ;;
        esac
    fi
}

# options_of PROGRAM: every long option its --help mentions.
options_of() {
    "$1" --help 2>&1 | grep -oE -- '--[a-z][a-z-]*[a-z]' | sort -u
}

# expect_in_page PAGE WORD...: each word is in the rendered page.
expect_in_page() {
    local name=$1 w missing=''
    shift
    for w in "$@"; do
        grep -qF -- "$w" "$out/$name.txt" || missing+=" $w"
    done
    [ -z "$missing" ] && pass "$name: describes $*" || fail "$name: does not describe:$missing"
}

render "$docs/todo-cli.1"
render "$docs/todo-server.8"

# The pages against the programs they describe.
if [ -x "${TODO_CLI:-}" ]; then
    mapfile -t opts < <(options_of "$TODO_CLI")
    [ ${#opts[@]} -gt 3 ] || fail "todo-cli --help lists only: ${opts[*]}"
    expect_in_page todo-cli.1 "${opts[@]}"
    mapfile -t cmds < <("$TODO_CLI" __complete "" 2>/dev/null)
    [ ${#cmds[@]} -gt 5 ] || fail "todo-cli __complete '' lists only: ${cmds[*]}"
    missing=''
    for c in "${cmds[@]}"; do
        sed -n '/^COMMANDS/,/^[A-Z]/p' "$out/todo-cli.1.txt" | grep -qE "^       $c( |$)" ||
            missing+=" $c"
    done
    [ -z "$missing" ] && pass "todo-cli.1: COMMANDS has ${cmds[*]}" ||
        fail "todo-cli.1: COMMANDS lacks:$missing"
else
    echo "note: todo-cli not built; its options were not compared with the page"
fi
if [ -x "${TODO_SERVER:-}" ]; then
    mapfile -t opts < <(options_of "$TODO_SERVER")
    [ ${#opts[@]} -gt 5 ] || fail "todo-server --help lists only: ${opts[*]}"
    expect_in_page todo-server.8 "${opts[@]}"
else
    echo "note: todo-server not built; its options were not compared with the page"
fi
finish
