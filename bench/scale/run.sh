#!/usr/bin/env bash
# Scale: what the shared store (Redis) costs and what a second gateway
# instance buys, against the embedded store, measured in the same run:
#
#   reserve  durable reserve+capture per second through the real ledgers
#            (bench_reserve): SqliteLedger (embedded, group commit), then
#            RedisLedger from one process and from two processes sharing the
#            server, then the peer: redis-benchmark SET with as many clients
#            against the same server (one durable round trip, the floor of
#            what Redis does per write with appendfsync always).
#   jobs     completed image jobs per second under a closed loop of fixed
#            concurrency (bench_jobs), through one gateway on the embedded
#            store, one on Redis, and two on Redis (own data directories and
#            ports, one results directory and url_secret), in front of the
#            same zero-cost comfysim workers.
#   export   usage records per second from the gateway's outbox into
#            PostgreSQL and into ClickHouse (bench_export), per batch size.
#
# Every server runs on 127.0.0.1 at a free port with its data in a temporary
# directory, and is stopped on exit, even after a failure. Redis runs as the
# gateway requires it (appendonly yes, appendfsync always, noeviction), with
# no RDB snapshots and no AOF rewrite during a run. Before each measured run
# the script waits until no compiler runs and the machine is idle. A run is
# "disturbed" if it started busy, a compiler started while it ran, or other
# work kept more than OTHER_MAX cores busy meanwhile (each run reports the
# cores busy with anything but its own processes, and the busiest others);
# a disturbed run is repeated (RETRIES). Prints one table per part
# with the ratios, and the machine's conditions before and after.
#
# Builds go through the shared lock, one at a time:
#   flock /tmp/tollgate-build.lock cmake --build BUILD_DIR --target ... -j BUILD_JOBS
#
# Settings (environment):
#   PARTS ("reserve jobs export"), ROUNDS (1: the reserve and jobs parts are
#   repeated, each round in the same order), BUILD_DIR ($ROOT/build), BUILD_JOBS
#   (2), SKIP_BUILD (set: use the binaries as they are), BENCH_DIR (where the
#   temporary directories go; default $TMPDIR or /tmp; the disk under test,
#   never a tmpfs), QUIET_WAIT_S (1800: how long to wait for quiet before a
#   run, then run anyway and mark it disturbed), QUIET_BUSY_MAX (0.3: the
#   busiest the machine may be, in cores, to count as quiet), OTHER_MAX (0.4:
#   a run during which anything but its own processes kept more cores busy
#   counts as disturbed), RETRIES (2: a disturbed run is repeated up to this
#   many times; the last attempt is kept, marked, and the ones set aside are
#   listed at the end).
#   reserve: CLIENTS (16), RUN_SECONDS (10), WARMUP_SECONDS (1), ACCOUNTS
#     (1000), HOLD_TTL_MS (120000: job_timeout_ms 60000 + the gateway's 60 s
#     grace), SET_REQUESTS (200000).
#   jobs: CONCURRENCY (32 jobs in flight), JOB_SECONDS (15), JOB_WARMUP_SECONDS
#     (3), POLL_US (5000), WORKERS (2 comfysim processes), WORKER_JOBS (8:
#     [dispatch] worker_jobs_max), CONCURRENT_JOBS (64: concurrent_jobs_max
#     per instance), SERVER_THREADS (the gateway's [server] threads; default
#     its own), IMAGE_SIDE (64), JOB_ACCOUNTS (8 per instance).
#   export: RECORDS (100000), ACCOUNTS (1000), BATCHES ("100 1000 5000").
#
# When run as root, PostgreSQL's initdb and server run as the postgres user
# through runuser, since PostgreSQL refuses root.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PARTS=${PARTS:-reserve jobs export}
ROUNDS=${ROUNDS:-1}
BUILD=${BUILD_DIR:-$ROOT/build}
BUILD_LOCK=/tmp/tollgate-build.lock
QUIET_WAIT_S=${QUIET_WAIT_S:-1800}
QUIET_BUSY_MAX=${QUIET_BUSY_MAX:-0.3}
OTHER_MAX=${OTHER_MAX:-0.4}
RETRIES=${RETRIES:-2}
CLIENTS=${CLIENTS:-16}
RUN_SECONDS=${RUN_SECONDS:-10}
WARMUP_SECONDS=${WARMUP_SECONDS:-1}
ACCOUNTS=${ACCOUNTS:-1000}
HOLD_TTL_MS=${HOLD_TTL_MS:-120000}
SET_REQUESTS=${SET_REQUESTS:-200000}
CONCURRENCY=${CONCURRENCY:-32}
JOB_SECONDS=${JOB_SECONDS:-15}
JOB_WARMUP_SECONDS=${JOB_WARMUP_SECONDS:-3}
POLL_US=${POLL_US:-5000}
WORKERS=${WORKERS:-2}
WORKER_JOBS=${WORKER_JOBS:-8}
CONCURRENT_JOBS=${CONCURRENT_JOBS:-64}
SERVER_THREADS=${SERVER_THREADS:-}
IMAGE_SIDE=${IMAGE_SIDE:-64}
JOB_ACCOUNTS=${JOB_ACCOUNTS:-8}
RECORDS=${RECORDS:-100000}
BATCHES=${BATCHES:-100 1000 5000}
ADMIN_TOKEN=bench-scale-admin-token
URL_SECRET=bench-scale-shared-result-url-secret-0123456789
TEMPLATE="$ROOT/config/workflows/ddcolor_person.api.json"

has_part() { [[ " $PARTS " == *" $1 "* ]]; }

if has_part export; then
  "$ROOT/scripts/install-deps.sh" --test
else
  "$ROOT/scripts/install-deps.sh" redis-server
fi

WORK=$(mktemp -d -p "${BENCH_DIR:-${TMPDIR:-/tmp}}" tollgate-bench-scale.XXXXXX)
RESULTS="$WORK/results.txt"
: >"$RESULTS"
WATCHER=""     # the compiler watcher of the run under way
PG_BIN=""
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

cleanup() {
  set +e
  [ -n "$WATCHER" ] && kill "$WATCHER" 2>/dev/null
  stop_servers
  rm -rf "$WORK"
}
trap cleanup EXIT

# ---- Build ------------------------------------------------------------------

TARGETS=()
has_part reserve && TARGETS+=(bench_reserve)
has_part jobs && TARGETS+=(bench_jobs tollgate comfysim)
has_part export && TARGETS+=(bench_export)
if [ -z "${SKIP_BUILD:-}" ]; then
  export BUILD_TARGETS="${TARGETS[*]}" BUILD_JOBS_N="${BUILD_JOBS:-2}"
  configure=(cmake -S "$ROOT" -B "$BUILD")
  [ -f "$BUILD/CMakeCache.txt" ] || configure+=(-DCMAKE_BUILD_TYPE=Release)
  echo "building ${TARGETS[*]} in $BUILD (waiting for $BUILD_LOCK)" >&2
  # Configure first (the targets must be known even when bench/CMakeLists.txt
  # changed since the tree was last configured), then build, under one lock.
  flock "$BUILD_LOCK" bash -c '"${@:2}" && cmake --build "$1" --target ${BUILD_TARGETS} -j "$BUILD_JOBS_N"' \
    _ "$BUILD" "${configure[@]}" >"$WORK/build.log" 2>&1 ||
    { tail -n 40 "$WORK/build.log" >&2; exit 1; }
fi
BUILD_TYPE=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$BUILD/CMakeCache.txt")

# ---- Conditions and quiet -------------------------------------------------------

compiling() {
  local name
  for name in cc1plus cc1 collect2 ld; do pgrep -x "$name" >/dev/null && return 0; done
  return 1
}

# Cores busy over the next 2 s, whatever with (every process, from /proc/stat).
busy_cores() {
  python3 - <<'PY'
import os, time
def busy():
    v = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return v[0] + v[1] + v[2] + v[5] + v[6] + v[7]
b0 = busy()
time.sleep(2)
b1 = busy()
print(f"{(b1 - b0) / os.sysconf('SC_CLK_TCK') / 2:.2f}")
PY
}

# Waits until no compiler runs and the machine is idle (busy below
# QUIET_BUSY_MAX cores over 2 s), at most QUIET_WAIT_S; then watches for a
# compiler starting while the run goes on.
quiet_start() {  # label
  local waited=0 busy
  while :; do
    busy=$(busy_cores)
    if ! compiling && python3 -c "import sys; sys.exit(0 if $busy <= $QUIET_BUSY_MAX else 1)"; then
      break
    fi
    [ "$waited" -ge "$QUIET_WAIT_S" ] && break
    [ $((waited % 60)) -eq 0 ] &&
      echo "$1: machine busy ($busy cores$(compiling && echo ', compiling')); waiting" >&2
    sleep 3
    waited=$((waited + 5))
  done
  QUIET_BUSY=" busy_before=$busy"
  DISTURBED_FILE="$WORK/disturbed-$1"
  rm -f "$DISTURBED_FILE"
  compiling && echo "compiler running at the start" >"$DISTURBED_FILE"
  python3 -c "import sys; sys.exit(0 if $busy <= $QUIET_BUSY_MAX else 1)" ||
    echo "machine busy at the start ($busy cores)" >>"$DISTURBED_FILE"
  (
    while :; do
      if compiling; then
        echo "compiler seen during the run" >>"$DISTURBED_FILE"
        exit 0
      fi
      sleep 0.5
    done
  ) &
  WATCHER=$!
}

# " disturbed=0|1" for the RESULT line of the run just ended.
quiet_end() {
  kill "$WATCHER" 2>/dev/null || true
  wait "$WATCHER" 2>/dev/null || true
  WATCHER=""
  if [ -s "$DISTURBED_FILE" ]; then
    echo "  (disturbed: $(head -n 1 "$DISTURBED_FILE"))" >&2
    DISTURBED=" disturbed=1"
  else
    DISTURBED=" disturbed=0"
  fi
  DISTURBED+=$QUIET_BUSY
}

# Runs one measurement (a function that appends one RESULT line to RESULTS)
# again while it comes out disturbed, at most RETRIES more times. ATTEMPT
# (0, 1, ...) lets the function use fresh names. The runs set aside go to
# discarded.txt; the one kept says how many attempts it took.
ATTEMPT=0
retrying() {  # function args...
  local try line
  for try in $(seq 0 "$RETRIES"); do
    ATTEMPT=$try
    "$@"
    line=$(tail -n 1 "$RESULTS")
    sed -i '$d' "$RESULTS"
    if awk -v max="$OTHER_MAX" '{
          for (i = 1; i <= NF; i++) {
            n = index($i, "="); k = substr($i, 1, n - 1); v = substr($i, n + 1)
            if (k == "disturbed" && v == "1") d = 1
            if (k == "other_busy_cores" && v + 0 > max) d = 1
          }
        } END { exit d ? 0 : 1 }' <<<"$line"; then
      line="${line/ disturbed=0/ disturbed=1} attempts=$((try + 1))"
      if [ "$try" -lt "$RETRIES" ]; then
        echo "$line" >>"$WORK/discarded.txt"
        echo "  disturbed: set aside, running it again" >&2
        continue
      fi
      echo "$line" >>"$RESULTS"
      return 0
    fi
    echo "$line attempts=$((try + 1))" >>"$RESULTS"
    return 0
  done
}

# Redis as the gateway requires it: appendfsync always, noeviction, and no
# AOF rewrite during a run; sets REDIS_PORT and REDIS_PID.
start_gateway_redis() {  # dir
  start_redis "$1" always --maxmemory-policy noeviction --auto-aof-rewrite-percentage 0
}

# ---- Part 1: reserve+capture through the real ledgers --------------------------

reserve_run() {  # label round, then bench_reserve's arguments
  local label=$1 round=$2
  shift 2
  local out="$WORK/reserve-$label-$round"
  echo "== reserve $label (round $round)" >&2
  quiet_start "reserve-$label-$round"
  local status=0
  "$BUILD/bench/bench_reserve" --clients "$CLIENTS" --seconds "$RUN_SECONDS" \
    --warmup-seconds "$WARMUP_SECONDS" --accounts "$ACCOUNTS" --hold-ttl-ms "$HOLD_TTL_MS" \
    "$@" >"$out.txt" 2>"$out.err" || status=$?
  quiet_end
  cat "$out.txt" "$out.err" >&2
  [ "$status" -eq 0 ] || { echo "reserve $label failed (exit $status)" >&2; exit 1; }
  sed -n "s/^RESULT /RESULT part=reserve label=$label round=$round /p" "$out.txt" |
    sed "s/\$/$DISTURBED/" >>"$RESULTS"
}

# The peer: redis-benchmark SET, as many clients, same server; with the
# server's CPU (INFO) and the machine's busy cores over the run.
set_peer() {  # round port
  local out="$WORK/reserve-set-$1"
  echo "== reserve redis-benchmark SET (round $1)" >&2
  quiet_start "reserve-set-$1"
  python3 - "$2" "$CLIENTS" "$SET_REQUESTS" >"$out.txt" <<'PY'
import os, subprocess, sys, time
port, clients, requests = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def info():
    text = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", port, "INFO", "cpu"],
                          capture_output=True, text=True, check=True).stdout
    f = dict(l.strip().split(":", 1) for l in text.splitlines() if ":" in l)
    return float(f["used_cpu_user"]) + float(f["used_cpu_sys"])
def machine():
    v = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return v[0] + v[1] + v[2] + v[5] + v[6] + v[7], v[4], v[5] + v[6]
def children():
    import resource
    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    return u.ru_utime + u.ru_stime
c0, m0, t0, k0 = info(), machine(), time.monotonic(), children()
out = subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", port, "-c", str(clients),
                      "-n", str(requests), "-t", "set", "-r", "1000000", "-d", "64", "--csv"],
                     capture_output=True, text=True, check=True).stdout
t1, m1, k1 = time.monotonic(), machine(), children()
c1 = info()
rows = [l.replace('"', "").split(",") for l in out.strip().splitlines()]
head, row = rows[0], rows[-1]
f = dict(zip(head, row))
tick = float(os.sysconf("SC_CLK_TCK"))
secs = t1 - t0
print(f"SET: {f['rps']} requests/s, p50 {f['p50_latency_ms']} ms, p99 {f['p99_latency_ms']} ms")
print(f"RESULT backend=redis-set clients={clients} requests={requests} "
      f"ops_per_s={float(f['rps']):.0f} p50_us={float(f['p50_latency_ms']) * 1000:.0f} "
      f"p99_us={float(f['p99_latency_ms']) * 1000:.0f} "
      f"redis_busy_cores={(c1 - c0) / secs:.2f} "
      f"redis_cpu_us_per_op={(c1 - c0) * 1e6 / requests:.1f} "
      f"machine_busy_cores={(m1[0] - m0[0]) / tick / secs:.2f} "
      f"machine_iowait_cores={(m1[1] - m0[1]) / tick / secs:.2f} "
      f"client_cpu_us_per_op={(k1 - k0) * 1e6 / requests:.1f} "
      f"irq_cores={(m1[2] - m0[2]) / tick / secs:.2f} "
      f"other_busy_cores={max(0, (m1[0] - m0[0]) / tick / secs - (c1 - c0 + k1 - k0) / secs):.2f}")
PY
  quiet_end
  cat "$out.txt" >&2
  sed -n "s/^RESULT /RESULT part=reserve label=set round=$1 /p" "$out.txt" |
    sed "s/\$/$DISTURBED/" >>"$RESULTS"
}

reserve_sqlite() {  # round
  local dir="$WORK/reserve-sqlite-$1-$ATTEMPT"
  mkdir -p "$dir"
  reserve_run sqlite "$1" --backend sqlite --data-dir "$dir"
  rm -rf "$dir"
}

reserve_redis() {  # round port instances
  reserve_run "redis-$3" "$1" --backend redis --instances "$3" \
    --redis "redis://127.0.0.1:$2" --prefix "r$1.$3.$ATTEMPT:"
}

part_reserve() {
  local round
  start_gateway_redis "$WORK/reserve-redis"
  local port=$REDIS_PORT
  for round in $(seq "$ROUNDS"); do
    retrying reserve_sqlite "$round"
    retrying reserve_redis "$round" "$port" 1
    retrying reserve_redis "$round" "$port" 2
    retrying set_peer "$round" "$port"
  done
  echo "AOF $(du -h "$WORK/reserve-redis"/appendonlydir 2>/dev/null | tail -n 1 | cut -f1)" >&2
  stop "$REDIS_PID"
}

# ---- Part 2: jobs per second through one or two gateways -----------------------

write_gateway_config() {  # dir store-url-or-empty results-dir workers...
  local dir=$1 store=$2 results=$3
  shift 3
  local workers="" w store_lines=""
  for w in "$@"; do workers+="${workers:+, }\"http://$w\""; done
  # The shared store, under one prefix for every instance of the run.
  [ -n "$store" ] && store_lines=$(printf 'store = "%s"\nstore_prefix = "tgbench:"' "$store")
  cat >"$dir/pricing.toml" <<'EOF'
version = "bench-1"
rounding = "floor"
time_zone = "UTC"
[workflows.person]
base = 1
per_megapixel = 0
upscale_surcharge = 0
minimum = 1
EOF
  cat >"$dir/tollgate.toml" <<EOF
[server]
admin_token = "$ADMIN_TOKEN"
$store_lines
${SERVER_THREADS:+threads = $SERVER_THREADS}
[dispatch]
concurrent_jobs_max = $CONCURRENT_JOBS
account_jobs_max = 0
worker_jobs_max = $WORKER_JOBS
job_timeout_ms = 60000
# One image is sent over and over: measure the jobs, not the reuse of results.
[dedupe]
policy = "allow"
near_policy = "allow"
[pricing]
book = "pricing.toml"
[results]
dir = "$results"
url_secret = "$URL_SECRET"
[workflows.person]
template = "$TEMPLATE"
workers = [$workers]
EOF
}

jobs_run() {  # label round store(sqlite|redis) instances
  local label=$1 round=$2 store=$3 instances=$4
  local dir="$WORK/jobs-$label-$round"
  mkdir -p "$dir/results"
  echo "== jobs $label (round $round)" >&2
  local started=() watch="" workers=() i
  for i in $(seq "$WORKERS"); do
    start_worker "$dir/worker-$i"
    workers+=("$ADDRESS")
    started+=("$SERVER_PID")
    watch+="${watch:+,}worker=$SERVER_PID"
  done
  local url=""
  if [ "$store" = redis ]; then
    start_gateway_redis "$dir/redis"
    url="redis://127.0.0.1:$REDIS_PORT"
    started+=("$REDIS_PID")
    watch+=",redis=$REDIS_PID"
  fi
  local targets=()
  for i in $(seq "$instances"); do
    mkdir -p "$dir/gateway-$i"
    write_gateway_config "$dir/gateway-$i" "$url" "$dir/results" "${workers[@]}"
    start_server "$dir/gateway-$i" "tollgate listening on" 30000 "$BUILD/tollgate" serve \
      --config "$dir/gateway-$i/tollgate.toml" --listen 127.0.0.1:0 \
      --data-dir "$dir/gateway-$i/data"
    targets+=(--target "$ADDRESS")
    started+=("$SERVER_PID")
    watch+=",gateway=$SERVER_PID"
  done
  quiet_start "jobs-$label-$round"
  local status=0
  "$BUILD/bench/bench_jobs" "${targets[@]}" --image "$WORK/image.png" \
    --admin-token "$ADMIN_TOKEN" --accounts "$JOB_ACCOUNTS" --concurrency "$CONCURRENCY" \
    --seconds "$JOB_SECONDS" --warmup-seconds "$JOB_WARMUP_SECONDS" --poll-us "$POLL_US" \
    --watch "$watch" >"$dir/bench.txt" 2>"$dir/bench.err" || status=$?
  quiet_end
  cat "$dir/bench.txt" "$dir/bench.err" >&2
  [ "$status" -eq 0 ] || echo "jobs $label: exit status $status (errors above)" >&2
  # The jobs the gateways themselves settled (a log line per capture), warm-up included.
  local captured=0 n
  for i in $(seq "$instances"); do
    n=$(grep -c ' succeeded on ' "$dir/gateway-$i/server.log" || true)
    captured=$((captured + n))
  done
  local result
  result=$(grep '^RESULT ' "$dir/bench.txt") || { echo "jobs $label: no RESULT" >&2; exit 1; }
  echo "${result/RESULT /RESULT part=jobs label=$label round=$round store=$store } captured=$captured exit=$status$DISTURBED" \
    >>"$RESULTS"
  stop "${started[@]}"
  rm -rf "$dir"
}

part_jobs() {
  write_png "$WORK/image.png" "$IMAGE_SIDE"
  local round
  for round in $(seq "$ROUNDS"); do
    retrying jobs_run embedded "$round" sqlite 1
    retrying jobs_run redis-1 "$round" redis 1
    retrying jobs_run redis-2 "$round" redis 2
  done
}

# ---- Part 3: the usage exporter into PostgreSQL and ClickHouse --------------------

CH_DIR=""
start_clickhouse() {  # http-port tcp-port
  local dir="$WORK/clickhouse"
  mkdir -p "$dir"
  CH_DIR=$dir
  sed -e "s|@HTTP_PORT@|$1|g" -e "s|@TCP_PORT@|$2|g" -e "s|@DIR@|$dir|g" \
    "$ROOT/tests/support/clickhouse-server.xml" >"$dir/config.xml"
  spawn /usr/sbin/clickhouse-server --config-file="$dir/config.xml" >"$dir/server.log" 2>&1
  CH_PID=$SERVER_PID
  wait_until 30000 "$CH_PID" http_answers "http://127.0.0.1:$1/ping" && return 0
  echo "clickhouse-server did not start; see $dir/server.log" >&2
  exit 1
}

export_run() {  # label sink-url batch
  local dir="$WORK/$1-$ATTEMPT"
  mkdir -p "$dir"
  echo "== export $1" >&2
  quiet_start "export-$1"
  local status=0
  "$BUILD/bench/bench_export" --sink "$2" --data-dir "$dir" --records "$RECORDS" \
    --accounts "$ACCOUNTS" --batch "$3" >"$dir/out" 2>&1 || status=$?
  quiet_end
  cat "$dir/out" >&2
  [ "$status" -eq 0 ] || { echo "export $1 failed (exit $status)" >&2; exit 1; }
  sed -n "s/^RESULT /RESULT part=export label=$1 /p" "$dir/out" | sed "s/\$/$DISTURBED/" \
    >>"$RESULTS"
}

# A database of its own per run (and attempt), so each starts from an empty table.
export_postgres() {  # port batch
  local db="bench_$2_$ATTEMPT"
  psql -q -h 127.0.0.1 -p "$1" -U bench -d postgres -c "CREATE DATABASE $db" >/dev/null
  export_run "postgres-$2" "postgresql://bench@127.0.0.1:$1/$db?sslmode=disable" "$2"
}

export_clickhouse() {  # port batch
  export_run "clickhouse-$2" "clickhouse://127.0.0.1:$1/bench_$2_$ATTEMPT" "$2"
}

part_export() {
  PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  local port_pg port_ch port_ch_tcp b
  read -r port_pg port_ch port_ch_tcp < <(free_ports 3)
  start_postgres "$WORK/postgres" "$port_pg"
  start_clickhouse "$port_ch" "$port_ch_tcp"
  for b in $BATCHES; do
    retrying export_postgres "$port_pg" "$b"
    retrying export_clickhouse "$port_ch" "$b"
  done
  stop_postgres
  stop "$CH_PID"
}

# ---- Run --------------------------------------------------------------------------

{
  echo "build: $BUILD ($BUILD_TYPE), HEAD $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null ||
    echo '?'), $(git -C "$ROOT" status --short -- src 2>/dev/null | wc -l) changed files in src/"
} >"$WORK/conditions.txt"
conditions start
has_part reserve && part_reserve
has_part jobs && part_jobs
has_part export && part_export
conditions end

touch "$WORK/discarded.txt"
python3 - "$RESULTS" "$WORK/conditions.txt" "$CLIENTS" "$RUN_SECONDS" "$ACCOUNTS" \
  "$HOLD_TTL_MS" "$CONCURRENCY" "$JOB_SECONDS" "$POLL_US" "$WORKERS" "$WORKER_JOBS" \
  "$RECORDS" "$WORK/discarded.txt" <<'PY'
import statistics, sys

(results, conditions, clients, seconds, accounts, ttl, concurrency, job_seconds, poll, workers,
 worker_jobs, records, discarded) = sys.argv[1:]
rows = []
for line in open(results):
    rows.append(dict(p.split("=", 1) for p in line.split()[1:]))

def pick(part, label=None, rnd=None):
    return [r for r in rows if r["part"] == part and (label is None or r["label"] == label)
            and (rnd is None or r.get("round") == rnd)]

def ms(us):
    return f"{int(us) / 1000:.1f}"

def mark(r):
    notes = []
    if r.get("disturbed") == "1":
        notes.append("disturbed")
    if int(r.get("attempts", "1")) > 1:
        notes.append(f"attempt {r['attempts']}")
    return f" ({', '.join(notes)})" if notes else ""

print(open(conditions).read())
rounds = sorted({r["round"] for r in rows if "round" in r}, key=int)

if pick("reserve"):
    print(f"Reserve+capture through the real ledgers: {clients} clients, {seconds} s, "
          f"{accounts} accounts, hold TTL {ttl} ms")
    print(f"{'round':<6}{'run':<10}{'ops/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'res p50':>8}"
          f"{'cap p50':>8}{'÷sqlite':>8}{'rt/op':>6}{'cmd/op':>7}{'redis us/op':>12}"
          f"{'client us/op':>13}{'busy':>6}{'other':>6}{'iowait':>7}")
    ratios = {"redis-1/sqlite": [], "redis-2/redis-1": [], "redis-2/sqlite": [],
              "redis-1/SET": [], "redis-2/SET": []}
    for rnd in rounds:
        by = {r["label"]: r for r in pick("reserve", rnd=rnd)}
        if not by:
            continue
        ops = {k: int(v["ops_per_s"]) for k, v in by.items()}
        base = max(1, ops.get("sqlite", 1))
        for label in ["sqlite", "redis-1", "redis-2", "set"]:
            r = by.get(label)
            if not r:
                continue
            name = {"set": "SET peer"}.get(label, label)
            res = ms(r["reserve_p50_us"]) if "reserve_p50_us" in r else "-"
            cap = ms(r["capture_p50_us"]) if "capture_p50_us" in r else "-"
            rt = r.get("round_trips_per_op", "1" if label == "set" else "-")
            cmd = r.get("commands_per_op", "1" if label == "set" else "-")
            rcpu = r.get("redis_cpu_us_per_op", "-")
            ccpu = r.get("client_cpu_us_per_op", "-")
            print(f"{rnd:<6}{name:<10}{ops[label]:>8}{ms(r['p50_us']):>8}{ms(r['p99_us']):>8}"
                  f"{res:>8}{cap:>8}{ops[label] / base:>7.2f}x{rt:>6}{cmd:>7}{rcpu:>12}{ccpu:>13}"
                  f"{r.get('machine_busy_cores', '-'):>6}{r.get('other_busy_cores', '-'):>6}"
                  f"{r.get('machine_iowait_cores', '-'):>7}"
                  f"{mark(r)}")
        if "redis-2" in by:
            print(f"{'':<6}redis-2 per instance: {by['redis-2']['instance_ops_per_s']} ops/s")
        def ratio(a, b):
            if a in ops and b in ops and ops[b]:
                return ops[a] / ops[b]
            return None
        for key, (a, b) in {"redis-1/sqlite": ("redis-1", "sqlite"),
                            "redis-2/redis-1": ("redis-2", "redis-1"),
                            "redis-2/sqlite": ("redis-2", "sqlite"),
                            "redis-1/SET": ("redis-1", "set"),
                            "redis-2/SET": ("redis-2", "set")}.items():
            v = ratio(a, b)
            if v is not None:
                ratios[key].append(v)
        for label in ["redis-1", "redis-2"]:
            if "set" in ops and label in by and "round_trips_per_op" in by[label]:
                rt = float(by[label]["round_trips_per_op"])
                print(f"{'':<6}{label}: {rt:.2f} round trips per operation, "
                      f"{ops[label] * rt:.0f} round trips/s = "
                      f"{ops[label] * rt / max(1, ops['set']) * 100:.0f}% of the SET peer's rate")
    print("ratios" + (" (median of the rounds)" if len(rounds) > 1 else "") + ": " +
          ", ".join(f"{k} {statistics.median(v):.2f}x" for k, v in ratios.items() if v))
    print()

if pick("jobs"):
    print(f"Jobs through the gateway: closed loop of {concurrency} jobs in flight, {job_seconds} s, "
          f"{workers} zero-cost comfysim workers ({worker_jobs} jobs each), polling every "
          f"{poll} us")
    print(f"{'round':<6}{'run':<10}{'jobs/s':>8}{'÷embedded':>10}{'p50 ms':>8}{'p99 ms':>8}"
          f"{'errors':>7}{'busy':>6}{'other':>6}{'iowait':>7}  CPU ms per job")
    ratios = {"redis-1/embedded": [], "redis-2/redis-1": [], "redis-2/embedded": []}
    for rnd in rounds:
        by = {r["label"]: r for r in pick("jobs", rnd=rnd)}
        if not by:
            continue
        jps = {k: float(v["jobs_per_s"]) for k, v in by.items()}
        base = jps.get("embedded") or 1
        for label in ["embedded", "redis-1", "redis-2"]:
            r = by.get(label)
            if not r:
                continue
            cpu = ", ".join(f"{n} {int(r[n + '_cpu_us_per_job']) / 1000:.2f}"
                            for n in ["gateway", "worker", "redis", "client"]
                            if n + "_cpu_us_per_job" in r)
            print(f"{rnd:<6}{label:<10}{jps[label]:>8.1f}{jps[label] / base:>9.2f}x"
                  f"{ms(r['p50_us']):>8}{ms(r['p99_us']):>8}{r['errors_total']:>7}"
                  f"{r['machine_busy_cores']:>6}{r['other_busy_cores']:>6}"
                  f"{r['machine_iowait_cores']:>7}  {cpu}{mark(r)}")
            print(f"{'':<16}phases p50 ms: submit {ms(r['submit_p50_us'])}, wait "
                  f"{ms(r['wait_p50_us'])}, result {ms(r['result_p50_us'])}; polls per job "
                  f"{r.get('t0_polls_per_job', '?')}")
            if label == "redis-2":
                print(f"{'':<6}redis-2 per instance: {r['target_jobs_per_s']} jobs/s")
        for key, (a, b) in {"redis-1/embedded": ("redis-1", "embedded"),
                            "redis-2/redis-1": ("redis-2", "redis-1"),
                            "redis-2/embedded": ("redis-2", "embedded")}.items():
            if a in jps and b in jps and jps[b]:
                ratios[key].append(jps[a] / jps[b])
    print("ratios" + (" (median of the rounds)" if len(rounds) > 1 else "") + ": " +
          ", ".join(f"{k} {statistics.median(v):.2f}x" for k, v in ratios.items() if v))
    print()

if pick("export"):
    print(f"Usage export, {records} records per run")
    print(f"{'run':<18}{'batch':>7}{'records/s':>11}{'ms':>8}  exact")
    for r in pick("export"):
        print(f"{r['label']:<18}{r['batch']:>7}{r['records_per_s']:>11}{r['ms']:>8}  "
              f"{'yes' if r['exact'] == '1' else 'NO'}{mark(r)}")
    print()
def where(r):
    return f"{r['part']} {r['label']}" + (f" round {r['round']}" if "round" in r else "")

print("Cores busy with anything but each run's own processes (interrupts included), "
      "and the busiest others:")
for r in rows:
    if "other_busy_cores" in r:
        print(f"  {where(r):<26} {r['other_busy_cores']} (interrupts {r.get('irq_cores', '?')}), "
              f"{r.get('others', '-')}, busy before {r.get('busy_before', '?')}")
set_aside = [dict(p.split("=", 1) for p in l.split()[1:]) for l in open(discarded) if l.strip()]
if set_aside:
    print("Runs set aside as disturbed, and repeated:")
    for r in set_aside:
        figure = r.get("ops_per_s") or r.get("jobs_per_s") or r.get("records_per_s")
        print(f"  {where(r):<26} {figure}/s, other {r.get('other_busy_cores', '?')} cores, "
              f"{r.get('others', '-')}")
print()

PY
