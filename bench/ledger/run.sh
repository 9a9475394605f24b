#!/usr/bin/env bash
# Durable reserve+capture: the embedded ledger against Redis (Lua, AOF always
# and everysec) and PostgreSQL (synchronous_commit on), all started here on
# 127.0.0.1 from the Debian packages, measured in the same run with the same
# clients and duration; then the scale check (an empty ledger against one
# preloaded with 1 M accounts and 10 M entries). Prints a table with ratios,
# and each backend's share of the durability floor: the same clients making
# each step durable with nothing else to do (one append and one group
# fdatasync per step, no ledger), which no durable design can beat here.
#
# Settings (environment): CLIENTS (16), RUN_SECONDS (10, per backend),
# ACCOUNTS (1000), PRELOAD_ACCOUNTS (1000000), PRELOAD_ENTRIES (10000000),
# BENCH_DIR (where the temporary data directories go; default $TMPDIR or
# /tmp; it must be on the disk under test, not a tmpfs), ROWS_FILE (where
# bench/run.sh wants its table rows appended).
#
# When run as root, PostgreSQL's initdb and server run as the postgres user (the
# Debian package creates it) through runuser, since PostgreSQL refuses root.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CLIENTS=${CLIENTS:-16}
RUN_SECONDS=${RUN_SECONDS:-10}
ACCOUNTS=${ACCOUNTS:-1000}
PRELOAD_ACCOUNTS=${PRELOAD_ACCOUNTS:-1000000}
PRELOAD_ENTRIES=${PRELOAD_ENTRIES:-10000000}
PG_BIN=/usr/lib/postgresql/15/bin

"$ROOT/scripts/install-deps.sh" redis-server postgresql
cmake -S "$ROOT" -B "$ROOT/build-bench" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$ROOT/build-bench" --target bench_ledger -j "$(nproc)" -- --no-print-directory \
  >/dev/null
BENCH="$ROOT/build-bench/bench/bench_ledger"

WORK=$(mktemp -d -p "${BENCH_DIR:-${TMPDIR:-/tmp}}" tollgate-bench-ledger.XXXXXX)
RESULTS="$WORK/results.txt"
: >"$RESULTS"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

cleanup() {
  set +e
  stop_servers
  rm -rf "$WORK"
}
trap cleanup EXIT

bench() {  # label, then bench_ledger's arguments
  local label=$1
  shift
  echo "== $label" >&2
  local status=0
  "$BENCH" --clients "$CLIENTS" --seconds "$RUN_SECONDS" "$@" >"$WORK/$label.out" || status=$?
  cat "$WORK/$label.out" >&2
  [ "$status" -eq 0 ] || { echo "$label failed (exit $status)" >&2; exit "$status"; }
  sed -n "s/^RESULT /RESULT label=$label /p; s/^PRELOAD /PRELOAD label=$label /p" \
    "$WORK/$label.out" >>"$RESULTS"
}

conditions start
start_redis "$WORK/redis-always" always
PORT_ALWAYS=$REDIS_PORT
start_redis "$WORK/redis-everysec" everysec
PORT_EVERYSEC=$REDIS_PORT
PORT_PG=$(free_ports 1)
start_postgres "$WORK/postgres" "$PORT_PG" -c synchronous_commit=on -c fsync=on

mkdir -p "$WORK/floor" "$WORK/sqlite-1" "$WORK/sqlite-2" "$WORK/sqlite-preload"
bench floor --backend floor --accounts "$ACCOUNTS" --data-dir "$WORK/floor"
bench sqlite --backend sqlite --accounts "$ACCOUNTS" --data-dir "$WORK/sqlite-1"
bench redis-always --backend redis --accounts "$ACCOUNTS" --redis "127.0.0.1:$PORT_ALWAYS"
bench redis-everysec --backend redis --accounts "$ACCOUNTS" --redis "127.0.0.1:$PORT_EVERYSEC"
bench postgres --backend postgres --accounts "$ACCOUNTS" \
  --pg "host=127.0.0.1 port=$PORT_PG user=bench dbname=postgres"

# Scale: a fresh empty run next to the preloaded ones, so they share conditions.
bench sqlite-empty --backend sqlite --accounts "$ACCOUNTS" --data-dir "$WORK/sqlite-2"
bench sqlite-preload-all --backend sqlite --data-dir "$WORK/sqlite-preload" \
  --preload-accounts "$PRELOAD_ACCOUNTS" --preload-entries "$PRELOAD_ENTRIES"
bench sqlite-preload-hot --backend sqlite --accounts "$ACCOUNTS" \
  --data-dir "$WORK/sqlite-preload" \
  --preload-accounts "$PRELOAD_ACCOUNTS" --preload-entries "$PRELOAD_ENTRIES"
ls -l "$WORK/sqlite-preload" | awk 'NR > 1 { print "file", $NF, $5, "bytes" }' >&2
conditions end

python3 - "$RESULTS" "$CLIENTS" "$RUN_SECONDS" "$WORK/conditions.txt" "${ROWS_FILE:-}" <<'EOF'
import sys

rows, preload = {}, None
for line in open(sys.argv[1]):
    kind, *pairs = line.split()
    fields = dict(p.split("=", 1) for p in pairs)
    if kind == "PRELOAD":
        preload = fields
    else:
        rows[fields["label"]] = fields

def ops(label):
    return int(rows[label]["ops_per_s"])

print(f"\nDurable reserve+capture, {sys.argv[2]} clients, {sys.argv[3]} s per backend")
print(open(sys.argv[4]).read())
print(f"{'backend':<16}{'ops/s':>9}{'p50 us':>9}{'p99 us':>9}{'sqlite / it':>13}"
      f"{'of floor':>10}")
for label in ["floor", "sqlite", "redis-always", "redis-everysec", "postgres"]:
    r = rows[label]
    ratio = ops("sqlite") / max(1, ops(label))
    share = ops(label) / max(1, ops("floor")) * 100
    print(f"{label:<16}{ops(label):>9}{r['p50_us']:>9}{r['p99_us']:>9}{ratio:>12.2f}x"
          f"{share:>9.0f}%")

def verdict(ok):
    return "met" if ok else "NOT met"

r_always = ops("sqlite") / max(1, ops("redis-always"))
r_pg = ops("sqlite") / max(1, ops("postgres"))
print(f"\ntarget sqlite >= 2x redis-always: {r_always:.2f}x, {verdict(r_always >= 2)}")
print(f"target sqlite >= 10x postgres:    {r_pg:.2f}x, {verdict(r_pg >= 10)}")
# What the targets ask of the embedded ledger as a share of the floor: above
# 100% no durable design can meet them on this disk with these clients.
need = max(2 * ops("redis-always"), 10 * ops("postgres"))
print(f"the targets need {need} ops/s: {need / max(1, ops('floor')) * 100:.0f}% of the floor")

print("\nScale")
if preload:
    print(f"preload: {preload['accounts']} accounts, {preload['entries']} entries "
          f"in {int(preload['ms']) / 1000:.0f} s")
print(f"{'ledger':<34}{'ops/s':>9}{'p50 us':>9}{'p99 us':>9}{'slowdown':>10}")
base = ops("sqlite-empty")
def accounts(label):
    return rows[label]["accounts"]

for label, what in [("sqlite-empty", f"empty, {accounts('sqlite-empty')} accounts"),
                    ("sqlite-preload-all", f"preloaded, all {accounts('sqlite-preload-all')}"),
                    ("sqlite-preload-hot", f"preloaded, {accounts('sqlite-preload-hot')} of them")]:
    r = rows[label]
    slowdown = (1 - ops(label) / max(1, base)) * 100
    print(f"{what:<34}{ops(label):>9}{r['p50_us']:>9}{r['p99_us']:>9}{slowdown:>9.1f}%")
worst = max((1 - ops(label) / max(1, base)) * 100
            for label in ["sqlite-preload-all", "sqlite-preload-hot"])
print(f"\ntarget slowdown < 20%: worst {worst:.1f}%, {verdict(worst < 20)}")

if sys.argv[5]:
    with open(sys.argv[5], "a") as out:
        def row(*cells):
            out.write("\t".join(str(c) for c in cells) + "\n")
        for label, name, factor in [("redis-always", "Redis Lua, AOF always", 2),
                                    ("redis-everysec", "Redis Lua, AOF everysec", None),
                                    ("postgres", "PostgreSQL", 10)]:
            ratio = ops("sqlite") / max(1, ops(label))
            row(f"ledger reserve+capture ops/s ({name})", ops("sqlite"), ops(label),
                f"{ratio:.2f}", f">= {factor}" if factor else "",
                verdict(ratio >= factor) if factor else "")
        row("ledger ops/s, 1 M accounts preloaded (empty ledger)",
            min(ops("sqlite-preload-all"), ops("sqlite-preload-hot")), base,
            f"{min(ops('sqlite-preload-all'), ops('sqlite-preload-hot')) / max(1, base):.2f}",
            ">= 0.8", verdict(worst < 20))
EOF
