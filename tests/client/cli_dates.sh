#!/bin/bash
# Due date words: todo-cli resolves them in the user's local zone before it
# sends, so the server (in whatever zone) always gets an ISO date from it;
# a raw client's words are resolved by the server in its own zone. The
# clock is fixed with TODO_CLI_NOW; the zones are POSIX TZ strings, so no
# time zone database is needed: "EAST-14" is UTC+14, "WEST+12" UTC-12, on
# either side of the date line.
. "$(dirname "$0")/lib.sh"

# The server sits in UTC-12, so that its "today" differs from the client's.
TZ=WEST+12 start_server --db :memory: || exit 1

# 2026-12-01T23:30Z is Wednesday 2026-12-02 13:30 at UTC+14 and Tuesday
# 2026-12-01 11:30 at UTC-12.
NOW=2026-12-01T23:30:00Z

# due WORD ZONE: the date todo-cli stores for due:WORD said in ZONE.
due() {
    TODO_CLI_NOW=$NOW TZ=$2 cli add "word $1" "due:$1"
    [ "$RC" -eq 0 ] || {
        fail "add due:$1 in $2: status $RC ($ERR)"
        return
    }
    local id=$OUT
    cli get "$id"
    cut -f4 <<<"$OUT"
}

expect_eq "$(due today EAST-14)" "2026-12-02" "today east of the date line"
expect_eq "$(due today WEST+12)" "2026-12-01" "today west of the date line"
# The server's today is 2026-12-01: its "tomorrow" would be 12-02.
expect_eq "$(due tomorrow EAST-14)" "2026-12-03" "tomorrow east: the client's zone decides"
expect_eq "$(due tomorrow WEST+12)" "2026-12-02" "tomorrow west"
expect_eq "$(due yesterday EAST-14)" "2026-12-01" "yesterday east"
expect_eq "$(due yesterday WEST+12)" "2026-11-30" "yesterday west"
# Wednesday east, Tuesday west: "wed" is tomorrow west, a week ahead east.
expect_eq "$(due wed EAST-14)" "2026-12-09" "wed said on a Wednesday is next week"
expect_eq "$(due wed WEST+12)" "2026-12-02" "wed said on a Tuesday"
expect_eq "$(due Tuesday WEST+12)" "2026-12-08" "tuesday said on a Tuesday"
expect_eq "$(due +3d EAST-14)" "2026-12-05" "+3d"
expect_eq "$(due +2w WEST+12)" "2026-12-15" "+2w"
expect_eq "$(due +1m EAST-14)" "2027-01-02" "+1m"
expect_eq "$(due eow EAST-14)" "2026-12-06" "eow"
expect_eq "$(due eom WEST+12)" "2026-12-31" "eom"
expect_eq "$(due eoy EAST-14)" "2026-12-31" "eoy"
expect_eq "$(due 2027-05-06 EAST-14)" "2027-05-06" "an ISO date goes as it is"

# edit takes the words too, and due:none still clears.
TODO_CLI_NOW=$NOW TZ=EAST-14 cli add edited
id=$OUT
TODO_CLI_NOW=$NOW TZ=EAST-14 cli edit "$id" due:fri
cli get "$id"
expect_eq "$(cut -f4 <<<"$OUT")" "2026-12-04" "edit due:fri"
TODO_CLI_NOW=$NOW TZ=EAST-14 cli edit "$id" due:none
cli get "$id"
expect_eq "$(cut -f4 <<<"$OUT")" "-" "edit due:none"

# A word that is no date is refused by the server, which says what it takes.
cli add bad due:someday
expect_rc 1 "add due:someday"
expect_has "$ERR" "tomorrow" "the refusal names the words"

# A raw client (nc): the server resolves the words against its own today.
exec 3<>"/dev/tcp/127.0.0.1/$SERVER_PORT" || fail "cannot connect to the server"
printf 'ADD raw due:tomorrow\r\n' >&3
IFS= read -r -t 10 reply <&3
reply=${reply%$'\r'}
[[ $reply =~ ^OK\ ([0-9]+)$ ]] || fail "raw ADD due:tomorrow: [$reply]"
want=$(TZ=WEST+12 date -d tomorrow +%F)
printf 'GET %s\r\n' "${BASH_REMATCH[1]}" >&3
IFS= read -r -t 10 reply <&3
IFS= read -r -t 10 line <&3
expect_has "$line" " $want " "the server's zone resolves a raw client's word"
printf 'EDIT %s due:yesterday\r\n' "${BASH_REMATCH[1]}" >&3
IFS= read -r -t 10 reply <&3
expect_has "$reply" "OK" "raw EDIT due:yesterday"
printf 'IMPORT fail 900 pending - - x due:tomorrow\r\n' >&3
IFS= read -r -t 10 reply <&3
expect_has "$reply" "ERR ARGS" "IMPORT takes ISO dates only"
exec 3>&-

finish
