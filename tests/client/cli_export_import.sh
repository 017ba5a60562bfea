#!/bin/bash
# export / import is a backup: export, import into an empty server and
# export again gives the same bytes (ids, the tutorial's text ids too,
# status, created and updated times, tags, due, priority, text). Importing
# where some ids are taken does what --on-conflict says and counts it.
. "$(dirname "$0")/lib.sh"

# Texts that are hard to carry: quotes, backslashes, a tab, newlines, UTF-8,
# and words that would be tags or keywords if they were not quoted. These
# have no "id", as a file written by hand: they are added with new ids.
cat >"$TMP/in.json" <<'JSON'
[
  {"text": "say \"hi\" \\ back\\slash", "status": "pending", "priority": "high",
   "due": "2026-12-01", "tags": ["home", "x.y_z-1"]},
  {"text": "two\nlines\r\nand a\ttab", "status": "done", "priority": null, "due": null, "tags": []},
  {"text": "caf\u00e9 \u65e5\u672c\u8a9e \ud83d\ude00", "status": "done", "priority": "low", "tags": ["utf", "\u5bb6"]},
  {"text": "+nottag due:2026-01-01 pri:high", "status": "pending"},
  {"text": "  leading and  trailing  ", "priority": "med"}
]
JSON
# The source has the tutorial's tasks (text ids) as well.
start_server --db :memory: --demo || exit 1
"$TODO_CLI" -p "$SERVER_PORT" import <"$TMP/in.json" >"$TMP/out" 2>"$TMP/err"
expect_eq "$?" "0" "import"
expect_eq "$(cat "$TMP/err")" "imported 5, skipped 0, replaced 0, failed 0" "import report"
cli add "made by hand" +hand
cli edit 5 "edited later"
cli done task_02
"$TODO_CLI" -p "$SERVER_PORT" export >"$TMP/a.json" 2>"$TMP/err"
expect_eq "$?" "0" "export"
cli --plain list all
sort <<<"$OUT" >"$TMP/a.list"
stop_server

# Into an empty server, and back out: the same bytes.
start_server --db :memory: || exit 1
"$TODO_CLI" -p "$SERVER_PORT" import <"$TMP/a.json" >"$TMP/out" 2>"$TMP/err"
expect_eq "$?" "0" "re-import"
expect_eq "$(cat "$TMP/err")" "imported 9, skipped 0, replaced 0, failed 0" "re-import report"
"$TODO_CLI" -p "$SERVER_PORT" export >"$TMP/b.json"
cmp -s "$TMP/a.json" "$TMP/b.json" || fail "exports differ: $(diff "$TMP/a.json" "$TMP/b.json")"
grep -qF '"id": "task_02"' "$TMP/b.json" || fail "the tutorial's ids in the export"
grep -qF '"text": "two\nlines\r\nand a\ttab"' "$TMP/b.json" || fail "control bytes in the export"
grep -qF '"text": "+nottag due:2026-01-01 pri:high"' "$TMP/b.json" || fail "text that looks like tags"
grep -qF "café 日本語 😀" "$TMP/b.json" || fail "UTF-8 in the export"
# The ids of the source are taken by the import: ADD goes on after them.
cli add "after the import"
expect_eq "$OUT" "7" "next id after importing 1..6"

# Importing again: the default (fail) changes nothing and says why.
"$TODO_CLI" -p "$SERVER_PORT" import "$TMP/a.json" >"$TMP/out" 2>"$TMP/err"
expect_eq "$?" "1" "import into a server holding the ids"
expect_eq "$(tail -n 1 "$TMP/err")" "imported 0, skipped 0, replaced 0, failed 9" "fail report"
expect_has "$(cat "$TMP/err")" "nothing was imported: give --on-conflict skip" "fail says why"
cli --plain list all
expect_eq "$(wc -l <<<"$OUT")" "10" "nothing duplicated"
"$TODO_CLI" -p "$SERVER_PORT" --json import --on-conflict=fail "$TMP/a.json" >"$TMP/out" 2>/dev/null
expect_eq "$(tr -d ' \n' <"$TMP/out")" '{"imported":0,"skipped":0,"replaced":0,"failed":9}' \
    "fail --json"

# skip: what the server holds stays; the new ones go in.
cli edit 1 "changed on the target"
cli del 3
"$TODO_CLI" -p "$SERVER_PORT" import --on-conflict skip "$TMP/a.json" >"$TMP/out" 2>"$TMP/err"
expect_eq "$?" "0" "import --on-conflict skip"
expect_eq "$(cat "$TMP/err")" "imported 1, skipped 8, replaced 0, failed 0" "skip report"
cli get 1
expect_has "$OUT" "changed on the target" "skip leaves the task"
cli --plain list all
expect_eq "$(wc -l <<<"$OUT")" "10" "skip duplicates nothing"

# replace: every task of the file is as it was exported.
"$TODO_CLI" -p "$SERVER_PORT" --json import --on-conflict replace "$TMP/a.json" >"$TMP/out" \
    2>"$TMP/err"
expect_eq "$?" "0" "import --on-conflict replace"
expect_eq "$(tr -d ' \n' <"$TMP/out")" '{"imported":0,"skipped":0,"replaced":9,"failed":0}' \
    "replace --json"
cli del 7
# Task 3 was deleted and imported again, so it is a newer row: compare
# the tasks, not their order among tasks created in the same second.
cli --plain list all
sort <<<"$OUT" >"$TMP/c.list"
cmp -s "$TMP/a.list" "$TMP/c.list" || fail "replace did not restore: $(diff "$TMP/a.list" "$TMP/c.list")"

cli import --on-conflict sometimes "$TMP/a.json"
expect_rc 2 "a bad --on-conflict"
expect_has "$ERR" "--on-conflict takes skip, replace or fail" "bad --on-conflict message"
cli import --on-conflict
expect_rc 2 "--on-conflict without a value"
stop_server

# A number imported moves ADD's counter past it.
start_server --db :memory: || exit 1
echo '[{"id": "500", "text": "five hundred", "status": "done", "tags": ["家"],
        "created": "2026-01-02T03:04:05Z", "updated": "2026-01-03T00:00:00Z"}]' >"$TMP/500.json"
cli import "$TMP/500.json"
expect_rc 0 "import of id 500"
cli add "the next one"
expect_eq "$OUT" "501" "next id after importing 500"
cli --plain get 500
expect_eq "$OUT" "$(printf '500\tdone\t-\t-\t家\t2026-01-02T03:04:05Z\t2026-01-03T00:00:00Z\tfive hundred')" \
    "the imported task"
stop_server

# Bad entries are counted, the good ones still go in, and the status is 1.
start_server --db :memory: || exit 1
cat >"$TMP/bad.json" <<'JSON'
[{"text": "good one"}, {"tags": ["no text"]}, {"text": "bad date", "due": "2026-02-30"},
 {"text": "bad tag", "tags": ["no spaces allowed"]}, {"text": "good two", "status": "done"},
 {"id": "a/b", "text": "bad id"}, {"id": "9", "text": "bad time", "created": "yesterday"},
 {"id": "10", "text": "good three", "created": null}]
JSON
"$TODO_CLI" -p "$SERVER_PORT" import "$TMP/bad.json" >"$TMP/out" 2>"$TMP/err"
expect_eq "$?" "1" "import with failures"
expect_eq "$(tail -n 1 "$TMP/err")" "imported 3, skipped 0, replaced 0, failed 5" "failure report"
expect_has "$(cat "$TMP/err")" "task 2 of the input" "the bad entry is named"
echo '{"not": "an array"}' | "$TODO_CLI" -p "$SERVER_PORT" import >/dev/null 2>"$TMP/err"
expect_eq "$?" "2" "import of something else"

# Many tasks go through the pipelined windows.
{
    echo "["
    for i in $(seq 1 300); do
        sep=","
        [ "$i" -eq 300 ] && sep=""
        st=pending
        [ $((i % 3)) -eq 0 ] && st=done
        echo "{\"text\": \"bulk $i\", \"status\": \"$st\", \"tags\": [\"bulk\"]}$sep"
    done
    echo "]"
} >"$TMP/bulk.json"
"$TODO_CLI" -p "$SERVER_PORT" import "$TMP/bulk.json" 2>"$TMP/err"
expect_eq "$(cat "$TMP/err")" "imported 300, skipped 0, replaced 0, failed 0" "bulk import"
cli list done +bulk
expect_eq "$(wc -l <<<"$OUT")" "100" "done tasks of the bulk import"
"$TODO_CLI" -p "$SERVER_PORT" export >"$TMP/bulk-out.json"
stop_server
start_server --db :memory: || exit 1
"$TODO_CLI" -p "$SERVER_PORT" import "$TMP/bulk-out.json" 2>"$TMP/err"
expect_eq "$(cat "$TMP/err")" "imported 303, skipped 0, replaced 0, failed 0" "bulk restore"
"$TODO_CLI" -p "$SERVER_PORT" export >"$TMP/bulk-again.json"
cmp -s "$TMP/bulk-out.json" "$TMP/bulk-again.json" || fail "bulk round trip differs"
stop_server

# Tags of any script, end to end (issue 12: "add 学习 +家" was refused).
start_server --db :memory: || exit 1
cli add 学习 +家
expect_rc 0 "add 学习 +家"
expect_eq "$OUT" "1" "its id"
cli add "café au lait" +café +Ελληνικά
cli --plain list +家
expect_rc 0 "list +家"
expect_eq "$(cut -f1,5,8 <<<"$OUT")" "$(printf '1\t家\t学习')" "list +家 finds it"
cli --plain tags
expect_has "$OUT" "$(printf '家\t1')" "tags counts 家"
cli add x +😀
expect_rc 1 "an emoji tag is refused"
cli list all milk buy
expect_rc 0 "list with words"
cli add "buy milk"
cli --plain list all milk buy
expect_eq "$(cut -f8 <<<"$OUT")" "buy milk" "words in any order"
stop_server

finish
