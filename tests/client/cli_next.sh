#!/bin/bash
# todo-cli next [N]: the first N pending tasks (5 by default) in list's
# "what needs doing first" order, against a real server (TODO_CLI_NOW fixes
# the clock, so due:tomorrow and the overdue task mean the same every day).
. "$(dirname "$0")/lib.sh"

start_server --db :memory: || exit 1
export TODO_CLI_NOW=2026-12-01T12:00:00Z TZ=UTC

# ids ARGS...: the ids `todo-cli ARGS` prints, joined by spaces.
ids() {
    cli "$@"
    [ "$RC" -eq 0 ] || fail "$*: status $RC ($ERR)"
    cut -f1 <<<"$OUT" | tr '\n' ' ' | sed 's/ $//'
}

cli next
expect_rc 0 "next with no tasks"
expect_eq "$OUT" "" "next with no tasks prints no line"

cli add plain
a=$OUT
cli add urgent pri:high
b=$OUT
cli add later due:2026-12-10
c=$OUT
cli add late due:2026-11-01
d=$OUT
cli add soon due:tomorrow pri:low
e=$OUT
cli add finished due:2026-11-02
f=$OUT
cli done "$f"
cli add oldest-low pri:low
g=$OUT

# Overdue first, then due soonest, then by priority, then the oldest; the
# done task (overdue as it is) never.
expect_eq "$(ids next)" "$d $e $c $b $g" "next: the first 5"
expect_eq "$(ids next 2)" "$d $e" "next 2"
expect_eq "$(ids next 100)" "$d $e $c $b $g $a" "next 100: every pending task"
expect_eq "$(ids next 1)" "$(ids list | cut -d' ' -f1)" "next 1 is list's first"
cli --json next 1
expect_eq "$(jq -r '.[0].id' <<<"$OUT")" "$d" "next --json: an array of the tasks"
expect_eq "$(jq -r '.[0].due' <<<"$OUT")" "2026-11-01" "next --json: ISO dates"
expect_eq "$(jq 'length' <<<"$OUT")" "1" "next --json 1: one task"
for bad in 0 -1 x 1x 1000001 " 3"; do
    cli next "$bad"
    expect_rc 2 "next '$bad'"
    expect_has "$ERR" "next takes how many tasks to show" "next '$bad' says why"
done
cli next 1 2
expect_rc 2 "next with two numbers"
cli help next
expect_has "$OUT" "usage: next [N]" "help next"
expect_has "$OUT" "5 unless given" "help next names the default"
finish
