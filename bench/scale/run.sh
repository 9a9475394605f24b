#!/usr/bin/env bash
# Usage export: records per second from the gateway's outbox into PostgreSQL
# and into ClickHouse, both started here on 127.0.0.1 from the Debian
# packages, measured in the same run with the same records. Each run checks
# that the sink counts every record exactly once. Prints a table.
#
# Settings (environment): RECORDS (100000), ACCOUNTS (1000), BATCHES
# ("100 1000 5000": one run per batch size and sink), BENCH_DIR (where the
# temporary directories go; default $TMPDIR or /tmp).
#
# When run as root, PostgreSQL's initdb and server run as the postgres user
# through runuser, since PostgreSQL refuses root.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RECORDS=${RECORDS:-100000}
ACCOUNTS=${ACCOUNTS:-1000}
BATCHES=${BATCHES:-100 1000 5000}

"$ROOT/scripts/install-deps.sh" --test
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
cmake -S "$ROOT" -B "$ROOT/build-bench" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$ROOT/build-bench" --target bench_export -j "$(nproc)" -- --no-print-directory \
  >/dev/null
BENCH="$ROOT/build-bench/bench/bench_export"

WORK=$(mktemp -d -p "${BENCH_DIR:-${TMPDIR:-/tmp}}" tollgate-bench-scale.XXXXXX)
RESULTS="$WORK/results.txt"
: >"$RESULTS"
PG_DATA=""
CH_PID=""
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
  as_pg=(runuser -u postgres --)
fi

cleanup() {
  set +e
  [ -n "$CH_PID" ] && kill "$CH_PID" 2>/dev/null && wait "$CH_PID" 2>/dev/null
  if [ -n "$PG_DATA" ]; then
    "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null 2>&1
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

read -r PORT_PG PORT_CH PORT_CH_TCP < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])')

start_postgres() {
  local dir="$WORK/postgres"
  mkdir -p "$dir"
  [ ${#as_pg[@]} -gt 0 ] && chmod 755 "$WORK" && chown postgres: "$dir"
  "${as_pg[@]}" "$PG_BIN/initdb" -D "$dir/data" -U bench --auth=trust -E UTF8 \
    --locale=C.UTF-8 >/dev/null
  PG_DATA="$dir/data"
  "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$dir/server.log" -w \
    -o "-p $PORT_PG -k $dir -c listen_addresses=127.0.0.1" start >/dev/null
}

start_clickhouse() {
  local dir="$WORK/clickhouse"
  mkdir -p "$dir"
  cat >"$dir/config.xml" <<XML
<yandex>
  <logger><level>warning</level><console>1</console></logger>
  <http_port>$PORT_CH</http_port><tcp_port>$PORT_CH_TCP</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>$dir/data/</path><tmp_path>$dir/tmp/</tmp_path>
  <user_files_path>$dir/user_files/</user_files_path>
  <format_schema_path>$dir/format_schemas/</format_schema_path>
  <users_config>$dir/users.xml</users_config>
  <default_profile>default</default_profile><default_database>default</default_database>
  <mark_cache_size>5368709120</mark_cache_size>
</yandex>
XML
  cat >"$dir/users.xml" <<XML
<yandex><profiles><default></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks>
  <profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas></yandex>
XML
  /usr/sbin/clickhouse-server --config-file="$dir/config.xml" >"$dir/server.log" 2>&1 &
  CH_PID=$!
  for _ in $(seq 300); do
    curl -s -m 1 "http://127.0.0.1:$PORT_CH/ping" 2>/dev/null | grep -q Ok && return 0
    sleep 0.1
  done
  echo "clickhouse-server did not start; see $dir/server.log" >&2
  exit 1
}

bench() {  # label sink-url batch
  local dir="$WORK/$1"
  mkdir -p "$dir"
  echo "== $1" >&2
  "$BENCH" --sink "$2" --data-dir "$dir" --records "$RECORDS" --accounts "$ACCOUNTS" \
    --batch "$3" >"$dir/out" || { cat "$dir/out" >&2; echo "$1 failed" >&2; exit 1; }
  cat "$dir/out" >&2
  sed -n "s/^RESULT /RESULT label=$1 /p" "$dir/out" >>"$RESULTS"
}

python3 "$ROOT/bench/conditions.py" "$WORK" start >"$WORK/conditions.txt"
start_postgres
start_clickhouse
for b in $BATCHES; do
  # A database of its own per run, so each starts from an empty table.
  psql -q -h 127.0.0.1 -p "$PORT_PG" -U bench -d postgres -c "CREATE DATABASE bench_$b" >/dev/null
  bench "postgres-$b" "postgresql://bench@127.0.0.1:$PORT_PG/bench_$b?sslmode=disable" "$b"
  bench "clickhouse-$b" "clickhouse://127.0.0.1:$PORT_CH/bench_$b" "$b"
done
python3 "$ROOT/bench/conditions.py" "$WORK" end >>"$WORK/conditions.txt"

python3 - "$RESULTS" "$RECORDS" "$WORK/conditions.txt" <<'PY'
import sys
print(f"\nUsage export, {sys.argv[2]} records per run")
print(open(sys.argv[3]).read())
print(f"{'run':<18}{'batch':>7}{'records/s':>11}{'ms':>8}  exact")
for line in open(sys.argv[1]):
    f = dict(p.split("=", 1) for p in line.split()[1:])
    print(f"{f['label']:<18}{f['batch']:>7}{f['records_per_s']:>11}{f['ms']:>8}  "
          f"{'yes' if f['exact'] == '1' else 'NO'}")
PY
