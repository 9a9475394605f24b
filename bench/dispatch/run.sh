#!/usr/bin/env bash
# The gateway's added latency: the same open-loop load of image jobs, first
# straight against a comfysim worker with a zero-cost model (no GPU seconds,
# no cold starts, no cache), then through `tollgate serve` in front of such a
# worker, in the same run on the same machine. Prints both latency
# distributions and their difference at each percentile against the targets
# (median <= 100 us, p99 <= 1 ms), for each rate in RATES.
#
# Every rate gets fresh servers (two comfysim workers, one per mode, and a
# gateway with an empty data directory), stopped before the next rate, so an
# overloaded run leaves no queue or files behind for the next one.
#
# Settings (environment): RATES (jobs/s, "1000 100 20": the issue's rate, then
# two lower ones, where a quiet 2-core machine can keep up and the difference
# shows the gateway's own work rather than its queue), RUN_SECONDS (10, per mode),
# WARMUP_SECONDS (1), DRAIN_SECONDS (5: how long jobs still in flight at the
# end may take before they count as errors), FOLLOW (events: the gateway
# client follows each job on its event stream, as the direct mode follows the
# worker's WebSocket; poll: it sends GET /v1/jobs/{id} every POLL_US), POLL_US
# (1000), IMAGE_SIDE (64: the PNG's
# width and height), IMAGE (a PNG or JPEG file to send instead),
# CONCURRENT_JOBS (64: [dispatch] concurrent_jobs_max),
# WORKER_JOBS ([dispatch] worker_jobs_max; default: the gateway's own, 2),
# SERVER_THREADS ([server] threads, the gateway's HTTP threads; default: the
# gateway's own default), ACCOUNTS (8), BUILD_JOBS (parallel compile jobs, default all cores),
# BENCH_DIR (where the temporary directory goes: the gateway's SQLite data
# and results; default $TMPDIR or /tmp; it must be on the disk under test,
# not a tmpfs), ROWS_FILE (where bench/run.sh wants its table rows appended).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RATES=${RATES:-1000 100 20}
RUN_SECONDS=${RUN_SECONDS:-10}
WARMUP_SECONDS=${WARMUP_SECONDS:-1}
DRAIN_SECONDS=${DRAIN_SECONDS:-5}
POLL_US=${POLL_US:-1000}
FOLLOW=${FOLLOW:-events}
IMAGE_SIDE=${IMAGE_SIDE:-64}
CONCURRENT_JOBS=${CONCURRENT_JOBS:-64}
SERVER_THREADS=${SERVER_THREADS:-}
ACCOUNTS=${ACCOUNTS:-8}
ADMIN_TOKEN=bench-admin-token
BUILD="$ROOT/build-bench"
TEMPLATE="$ROOT/config/workflows/ddcolor_person.api.json"

cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" --target tollgate comfysim bench_dispatch -j "${BUILD_JOBS:-$(nproc)}" \
  -- --no-print-directory >/dev/null
BENCH="$BUILD/bench/bench_dispatch"

WORK=$(mktemp -d -p "${BENCH_DIR:-${TMPDIR:-/tmp}}" tollgate-bench-dispatch.XXXXXX)
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

cleanup() {
  set +e
  stop_servers
  rm -rf "$WORK"
}
trap cleanup EXIT

start_gateway() {  # dir worker-address
  mkdir -p "$1"
  cat >"$1/pricing.toml" <<'EOF'
version = "bench-1"
rounding = "floor"
time_zone = "UTC"
[workflows.person]
base = 1
per_megapixel = 0
upscale_surcharge = 0
minimum = 1
EOF
  cat >"$1/tollgate.toml" <<EOF
[server]
admin_token = "$ADMIN_TOKEN"
${SERVER_THREADS:+threads = $SERVER_THREADS}
[dispatch]
concurrent_jobs_max = $CONCURRENT_JOBS
account_jobs_max = 0
${WORKER_JOBS:+worker_jobs_max = $WORKER_JOBS}
job_timeout_ms = 60000
# One image is sent over and over: measure dispatch, not the reuse of results.
[dedupe]
policy = "allow"
near_policy = "allow"
[pricing]
book = "pricing.toml"
[workflows.person]
template = "$TEMPLATE"
workers = ["http://$2"]
EOF
  start_server "$1" "tollgate listening on" 30000 "$BUILD/tollgate" serve \
    --config "$1/tollgate.toml" --listen 127.0.0.1:0 --data-dir "$1/data"
}

# A grayscale gradient PNG, unless IMAGE names one.
if [ -n "${IMAGE:-}" ]; then
  cp "$IMAGE" "$WORK/image.png"
else
  write_png "$WORK/image.png" "$IMAGE_SIDE"
fi

# CPU time (user + system) a process has used so far, in clock ticks.
cpu_ticks() {  # pid
  awk '{ print $14 + $15 }' "/proc/$1/stat"
}

STATUS=0
# Runs one mode and appends its RESULT line, plus the CPU ticks that the
# watched processes ("name=pid,...") used meanwhile, to results.txt.
bench() {  # rate mode watched, then bench_dispatch's arguments
  local rate=$1 mode=$2 watched=$3
  shift 3
  echo "== $mode at $rate jobs/s" >&2
  local -A before=()
  local entry
  for entry in ${watched//,/ }; do before[$entry]=$(cpu_ticks "${entry#*=}"); done
  local out="$WORK/$rate-$mode" status=0
  "$BENCH" --mode "$mode" --rate "$rate" --seconds "$RUN_SECONDS" \
    --warmup-seconds "$WARMUP_SECONDS" --drain-seconds "$DRAIN_SECONDS" \
    --image "$WORK/image.png" "$@" >"$out.txt" 2>"$out.err" || status=$?
  local cpu=""
  for entry in ${watched//,/ }; do
    cpu+=" ${entry%%=*}_cpu_ticks=$(($(cpu_ticks "${entry#*=}") - ${before[$entry]}))"
  done
  cat "$out.txt" "$out.err" >&2
  if [ "$status" -ne 0 ]; then
    echo "$mode at $rate jobs/s: exit status $status (errors above)" >&2
    STATUS=1
  fi
  local result
  result=$(grep '^RESULT ' "$out.txt") || {
    echo "$mode printed no RESULT line" >&2
    exit 1
  }
  echo "$result$cpu" >>"$WORK/results.txt"
}

run_rate() {  # rate
  local dir="$WORK/rate-$1"
  start_worker "$dir/worker-direct"
  local direct=$ADDRESS direct_pid=$SERVER_PID
  start_worker "$dir/worker-gateway"
  local worker=$ADDRESS worker_pid=$SERVER_PID
  start_gateway "$dir/gateway" "$worker"
  local gateway=$ADDRESS gateway_pid=$SERVER_PID

  bench "$1" direct "worker=$direct_pid" --target "$direct" --workflow-template "$TEMPLATE"
  # A worker that fell behind still has a queue: stop it before the next mode.
  stop "$direct_pid"
  bench "$1" gateway "gateway=$gateway_pid,worker=$worker_pid" --target "$gateway" \
    --admin-token "$ADMIN_TOKEN" --workflow person --accounts "$ACCOUNTS" --poll-us "$POLL_US" \
    --follow "$FOLLOW"
  # The jobs the gateway itself settled (its log has a line for each capture),
  # whether or not the client saw them finish in time.
  local captured
  captured=$(grep -c ' succeeded on ' "$dir/gateway/server.log" || true)
  sed -i "\$s/\$/ gateway_captured=$captured/" "$WORK/results.txt"
  stop "$gateway_pid" "$worker_pid"
}

conditions start
for rate in $RATES; do run_rate "$rate"; done
conditions end

IMAGE_NAME="${IMAGE_SIDE}x${IMAGE_SIDE} PNG"
[ -n "${IMAGE:-}" ] && IMAGE_NAME=$(basename "$IMAGE")
python3 - "$WORK/results.txt" "$WORK/conditions.txt" "$RUN_SECONDS" "$IMAGE_NAME" \
  "$([ "$FOLLOW" = events ] && echo "following each job's events" ||
    echo "polling every $POLL_US us")" "$(getconf CLK_TCK)" "$SERVER_THREADS" "${ROWS_FILE:-}" <<'EOF'
import sys

rows = {}
rates = []
for line in open(sys.argv[1]):
    fields = dict(p.split("=", 1) for p in line.split()[1:])
    rows[(fields["rate"], fields["mode"])] = fields
    if fields["rate"] not in rates:
        rates.append(fields["rate"])
seconds, side, poll, ticks_per_s = sys.argv[3:7]
tick_us = 1e6 / int(ticks_per_s)
cols = ["p50", "p90", "p99", "max"]

threads = sys.argv[7] or "default"
print(f"\nDispatch: {seconds} s per mode and rate, zero-cost comfysim, {side}, "
      f"gateway client {poll}, gateway HTTP threads {threads}")
print(open(sys.argv[2]).read())

def verdict(ok):
    return "met" if ok else "NOT met"

for rate in rates:
    d, g = rows[(rate, "direct")], rows[(rate, "gateway")]
    print(f"{rate} jobs/s offered")
    print(f"{'':<26}{'ok':>7}{'errors':>8}{'jobs/s':>9}"
          + "".join(f"{c + ' us':>10}" for c in cols))
    for mode, r in [("direct", d), ("gateway", g)]:
        print(f"{mode:<26}{r['ok']:>7}{r['errors']:>8}{float(r['achieved_per_s']):>9.1f}"
              + "".join(f"{int(r[c + '_us']):>10}" for c in cols))
    added = {c: int(g[c + "_us"]) - int(d[c + "_us"]) for c in cols}
    print(f"{'added (gateway - direct)':<50}" + "".join(f"{added[c]:>10}" for c in cols))
    print(f"{'gateway / direct':<50}"
          + "".join(f"{int(g[c + '_us']) / max(1, int(d[c + '_us'])):>9.2f}x" for c in cols))

    print("CPU per completed job (warm-up and drain included), us: ", end="")
    parts = []
    for mode, r in [("direct", d), ("gateway", g)]:
        done = max(1, int(r["ok_total"]))
        jobs = max(1, int(r["jobs_total"]))
        cpu = [f"client {int(r['client_cpu_us_per_job']) * jobs / done:.0f}"]
        for name in ["gateway", "worker"]:
            if name + "_cpu_ticks" in r:
                cpu.append(f"{name} {int(r[name + '_cpu_ticks']) * tick_us / done:.0f}")
        parts.append(f"{mode}: " + ", ".join(cpu))
    print("; ".join(parts))
    print("phases p50 / p99 us: direct: upload {upload_p50_us} / {upload_p99_us}, execute "
          "{execute_p50_us} / {execute_p99_us}, view {view_p50_us} / {view_p99_us}".format(**d))
    print("                     gateway: submit {submit_p50_us} / {submit_p99_us}, wait "
          "{wait_p50_us} / {wait_p99_us}, result {result_p50_us} / {result_p99_us}, "
          "created_to_finished (ms resolution) {created_to_finished_p50_us} / "
          "{created_to_finished_p99_us}, {polls_per_job} polls per job".format(**g))
    print(f"jobs the gateway captured (warm-up included): {g.get('gateway_captured', '?')} "
          f"of {g['jobs_total']} offered, {g['ok_total']} seen finished by the client")
    ok = int(d["errors"]) == 0 and int(g["errors"]) == 0
    print(f"target median added <= 100 us: {added['p50']} us, "
          f"{verdict(ok and added['p50'] <= 100)}")
    print(f"target p99 added <= 1000 us:   {added['p99']} us, "
          f"{verdict(ok and added['p99'] <= 1000)}")
    if not ok:
        print("(jobs failed or were unfinished at this rate: the percentiles cover only the "
              "completed ones; see the errors above)")
    print()
    if sys.argv[8]:
        with open(sys.argv[8], "a") as rows:
            def row(*cells):
                rows.write("\t".join(str(c) for c in cells) + "\n")
            gj, dj = float(g["achieved_per_s"]), float(d["achieved_per_s"])
            row(f"POST /v1/jobs jobs/s at {rate} offered (comfysim direct)", f"{gj:.1f}",
                f"{dj:.1f}", f"{gj / max(dj, 1e-9):.2f}", "", "" if ok else "errors")
            for c, limit in [("p50", 100), ("p99", 1000)]:
                row(f"POST /v1/jobs {c} us (direct), added", f"{int(g[c + '_us'])} (+{added[c]})",
                    d[c + "_us"], f"{int(g[c + '_us']) / max(1, int(d[c + '_us'])):.2f}",
                    f"added <= {limit}", verdict(ok and added[c] <= limit))
EOF
exit "$STATUS"
