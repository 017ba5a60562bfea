#!/usr/bin/env bash
# compare-pg.sh - bench/compare's PostgreSQL rows (--pg-only), run briefly:
# they start their own private PostgreSQL 15, load it through todo-server,
# and must print every row (one server, --cache-mb 0, two servers and
# pgbench, for GET and EDIT) with a rate above zero, no errors, and the
# three target lines. This proves the rows work; their numbers are taken
# by hand on a quiet machine (docs/PERFORMANCE.md), never here.
# Needs TODO_BUILD (the build directory) and TODO_SOURCE (the source tree);
# skipped (77) outside scripts/test's postgres stage (TODO_TEST_PG unset)
# or when PostgreSQL's programs are missing.
set -euo pipefail

: "${TODO_BUILD:?path to the build directory}" "${TODO_SOURCE:?path to the source tree}"
if [ -z "${TODO_TEST_PG:-}" ]; then
    echo "skipped: runs in scripts/test's postgres stage (TODO_TEST_PG unset)"
    exit 77
fi
[ -x /usr/lib/postgresql/15/bin/initdb ] || { echo "skipped: PostgreSQL 15 is not installed"; exit 77; }

out=$(mktemp)
trap 'rm -f "$out"' EXIT
rc=0
timeout 240 "$TODO_SOURCE/bench/compare" --pg-only -d 1 --big-keys 2000 "$TODO_BUILD" >"$out" 2>&1 || rc=$?
cat "$out"
failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}
[ "$rc" -eq 0 ] || fail "bench/compare --pg-only exited with $rc"
grep -q "PostgreSQL rows skipped" "$out" && fail "the PostgreSQL rows were skipped"

# Each row: "WORKLOAD SYSTEM REQ/S P50 P99 HITS ERRORS"; a system's name
# may have spaces ("2 todo-servers"), so the numbers are read from the end.
rows=0
while IFS= read -r line; do
    read -r -a f <<<"$line"
    n=${#f[@]}
    rate=${f[n - 5]} errors=${f[n - 1]}
    rows=$((rows + 1))
    awk -v r="$rate" 'BEGIN { exit !(r > 0) }' || fail "no rate in: $line"
    [ "$errors" = 0 ] || [ "$errors" = - ] || fail "errors in: $line"
done < <(grep -E '^(GET|EDIT) ' "$out")
[ "$rows" -ge 7 ] || fail "expected at least 7 rows (GET: one, no cache, two, pgbench; EDIT: one, two, pgbench), got $rows"
[ "$(grep -c '^target: ' "$out")" -ge 3 ] || fail "the target lines are missing"

if [ "$failures" -gt 0 ]; then
    echo "$failures failure(s)" >&2
    exit 1
fi
echo "compare-pg: $rows rows, all with a rate and no errors"
