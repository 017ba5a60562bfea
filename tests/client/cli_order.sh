#!/bin/bash
# todo-cli list: "what needs doing first" by default (LIST sort:next on the
# wire; LIST itself keeps creation order), --sort FIELD[,FIELD], and the
# filters due:before: / due:after: / overdue / pri:, whose words todo-cli
# resolves in the local zone (TODO_CLI_NOW fixes the clock).
. "$(dirname "$0")/lib.sh"

start_server --db :memory: || exit 1
export TODO_CLI_NOW=2026-12-01T12:00:00Z TZ=UTC

cli add plain
a=$OUT
cli add urgent pri:high
b=$OUT
cli add later due:2026-12-10
c=$OUT
cli add late due:2026-11-01
d=$OUT
cli add soon due:2026-12-10 pri:high
e=$OUT

# ids LIST-ARGS...: the ids todo-cli list prints, joined by spaces.
ids() {
    cli list "$@"
    [ "$RC" -eq 0 ] || fail "list $*: status $RC ($ERR)"
    cut -f1 <<<"$OUT" | tr '\n' ' ' | sed 's/ $//'
}

expect_eq "$(ids)" "$d $e $c $b $a" "list: overdue, due soonest, priority, oldest"
expect_eq "$(ids --sort created)" "$a $b $c $d $e" "--sort created"
expect_eq "$(ids --sort=-id)" "$e $d $c $b $a" "--sort=-id"
expect_eq "$(ids --sort pri,-id)" "$e $b $d $c $a" "--sort pri,-id"
expect_eq "$(ids sort:due)" "$d $c $e $a $b" "sort: as a word"
expect_eq "$(ids overdue)" "$d" "overdue, by the local today"
expect_eq "$(ids due:before:+10d)" "$d $e $c" "due:before: a word"
expect_eq "$(ids due:after:today)" "$e $c" "due:after:today"
expect_eq "$(ids pri:high)" "$e $b" "pri:high"
cli list --sort title
expect_rc 1 "--sort with an unknown field"
cli list --sort
expect_rc 2 "--sort without a field"
# Another zone, another today: at UTC-12 it is still 2026-12-01, at UTC+14
# already 2026-12-02; a task due on 2026-12-02 is overdue in neither.
cli add edge due:2026-12-02
f=$OUT
expect_eq "$(TZ=EAST-14 ids due:before:tomorrow)" "$d $f" "due:before:tomorrow east"
expect_eq "$(TZ=WEST+12 ids due:before:tomorrow)" "$d" "due:before:tomorrow west"
finish
