#!/bin/bash
# export, then import into a fresh server: every task comes back with the
# same text (byte for byte), status, priority, due date and tags.
. "$(dirname "$0")/lib.sh"

# Texts that are hard to carry: quotes, backslashes, a tab, newlines, UTF-8,
# and words that would be tags or keywords if they were not quoted.
cat >"$TMP/in.json" <<'JSON'
[
  {"text": "say \"hi\" \\ back\\slash", "status": "pending", "priority": "high",
   "due": "2026-12-01", "tags": ["home", "x.y_z-1"]},
  {"text": "two\nlines\r\nand a\ttab", "status": "done", "priority": null, "due": null, "tags": []},
  {"text": "caf\u00e9 \u65e5\u672c\u8a9e \ud83d\ude00", "status": "done", "priority": "low", "tags": ["utf"]},
  {"text": "+nottag due:2026-01-01 pri:high", "status": "pending"},
  {"text": "  leading and trailing  ", "priority": "med"}
]
JSON
start_server --db :memory: || exit 1
"$TODO_CLI" -p "$SERVER_PORT" import <"$TMP/in.json" >"$TMP/out" 2>"$TMP/err"
expect_eq "$?" "0" "import"
expect_eq "$(cat "$TMP/err")" "imported 5 tasks, 0 failed" "import report"
cli add "made by hand" +hand
"$TODO_CLI" -p "$SERVER_PORT" export >"$TMP/a.json" 2>"$TMP/err"
expect_eq "$?" "0" "export"
cli list all
sort -t $'\t' -k8 <<<"$OUT" | cut -f2-5,8 >"$TMP/a.list"
stop_server

start_server --db :memory: || exit 1
"$TODO_CLI" -p "$SERVER_PORT" import <"$TMP/a.json" >"$TMP/out" 2>"$TMP/err"
expect_eq "$?" "0" "re-import"
expect_eq "$(cat "$TMP/err")" "imported 6 tasks, 0 failed" "re-import report"
"$TODO_CLI" -p "$SERVER_PORT" export >"$TMP/b.json"
cli list all
sort -t $'\t' -k8 <<<"$OUT" | cut -f2-5,8 >"$TMP/b.list"
cmp -s "$TMP/a.list" "$TMP/b.list" || fail "tasks differ after a round trip: $(diff "$TMP/a.list" "$TMP/b.list")"
[ "$(wc -l <"$TMP/b.list")" -eq 6 ] || fail "wrong task count: $(cat "$TMP/b.list")"
# The exports agree on everything but ids and times (one key per line).
strip() { grep -v -E '^    "(id|created|updated)": ' "$1"; }
cmp -s <(strip "$TMP/a.json") <(strip "$TMP/b.json") ||
    fail "exports differ: $(diff <(strip "$TMP/a.json") <(strip "$TMP/b.json"))"
grep -qF '"text": "two\nlines\r\nand a\ttab"' "$TMP/b.json" || fail "control bytes in the export"
grep -qF '"text": "+nottag due:2026-01-01 pri:high"' "$TMP/b.json" || fail "text that looks like tags"
grep -qF "café 日本語 😀" "$TMP/b.json" || fail "UTF-8 in the export"

# Bad entries are counted, the good ones still go in, and the status is 1.
cat >"$TMP/bad.json" <<'JSON'
[{"text": "good one"}, {"tags": ["no text"]}, {"text": "bad date", "due": "2026-02-30"},
 {"text": "bad tag", "tags": ["no spaces allowed"]}, {"text": "good two", "status": "done"}]
JSON
"$TODO_CLI" -p "$SERVER_PORT" import "$TMP/bad.json" >"$TMP/out" 2>"$TMP/err"
expect_eq "$?" "1" "import with failures"
expect_eq "$(tail -n 1 "$TMP/err")" "imported 2 tasks, 3 failed" "failure report"
expect_has "$(cat "$TMP/err")" "task 2 of the input" "the bad entry is named"
"$TODO_CLI" -p "$SERVER_PORT" --json import "$TMP/bad.json" >"$TMP/out" 2>/dev/null
expect_has "$(tr -d ' \n' <"$TMP/out")" '{"imported":2,"failed":3}' "import --json"
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
expect_eq "$(cat "$TMP/err")" "imported 300 tasks, 0 failed" "bulk import"
cli list done +bulk
expect_eq "$(wc -l <<<"$OUT")" "100" "done tasks of the bulk import"

finish
