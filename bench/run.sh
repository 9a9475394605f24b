#!/usr/bin/env bash
# `make bench`: every benchmark, each against a reference measured in the same
# run on the same machine, printed as one table (tollgate's figure, the
# reference's, their ratio, the target):
#
#   quote    POST /v1/quote of the seed's 800x600 portrait, against nginx
#            answering `return 200` to the same requests (wrk, 1 thread, 64
#            connections, QUOTE_SECONDS each);
#   jobs     POST /v1/jobs of a 0.5 MP JPEG through the gateway against the same
#            job sent straight to a zero-cost comfysim (bench/dispatch/run.sh
#            at JOBS_RATE jobs/s): jobs/s, and the median and p99 the gateway adds;
#   probe    image::probe() of a 50 MP image against a 1 MP one (bench_upload);
#   digests  MD5+SHA-256 in one pass (image::DigestStream) against
#            `openssl speed` of the same two digests, one after the other;
#   ledger   durable reserve+capture of the embedded ledger against Redis and
#            PostgreSQL, and with 1 M preloaded accounts (bench/ledger/run.sh);
#   memory   the gateway's resident set idle, and serving quotes with 1 M
#            accounts in its SQLite file.
#
# Each part prints its own detail on stderr first. Settings (environment):
# SECTIONS (all of the above), QUOTE_SECONDS (10), JOBS_RATE (20),
# LEDGER_SECONDS (5), ACCESS_CACHE_MS (the gateway's [server] access_cache_ms;
# default its own, 1000; 0 shows a quote that reads its key and terms from
# the store), BENCH_DIR (temporary data; on the disk under test, not a
# tmpfs). Exits 1 when a part fails to run; a target missed is reported, not
# an error.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SECTIONS=${SECTIONS:-quote jobs probe digests ledger memory}
QUOTE_SECONDS=${QUOTE_SECONDS:-10}
JOBS_RATE=${JOBS_RATE:-20}
LEDGER_SECONDS=${LEDGER_SECONDS:-5}
BUILD="$ROOT/build-bench"
ADMIN_TOKEN=bench-admin-token
PORTRAIT="$ROOT/config/samples/portrait_800x600.jpg"
TEMPLATE="$ROOT/config/workflows/ddcolor_person.api.json"

"$ROOT/scripts/install-deps.sh" --bench
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" --target tollgate comfysim bench_upload bench_ledger bench_dispatch \
  -j "$(nproc)" -- --no-print-directory >/dev/null

WORK=$(mktemp -d -p "${BENCH_DIR:-${TMPDIR:-/tmp}}" tollgate-bench.XXXXXX)
ROWS="$WORK/rows.tsv"
: >"$ROWS"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
cleanup() {
  set +e
  stop_servers
  rm -rf "$WORK"
}
trap cleanup EXIT

# One row of the table: name, tollgate, reference, ratio, target, verdict.
row() {
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$ROWS"
}

# Starts `tollgate serve` on an existing data directory and waits for its
# banner; sets GATEWAY (HOST:PORT) and GATEWAY_PID.
start_gateway() {  # dir
  local dir=$1
  # The seed's person price: 10 tokens + 2 per megapixel, at least 10.
  cat >"$dir/pricing.toml" <<'EOF'
version = "bench-1"
rounding = "floor"
time_zone = "UTC"
[workflows.person]
base = 10
per_megapixel = 2
upscale_surcharge = 5
minimum = 10
EOF
  cat >"$dir/tollgate.toml" <<EOF
[server]
admin_token = "$ADMIN_TOKEN"
${ACCESS_CACHE_MS:+access_cache_ms = $ACCESS_CACHE_MS}
${SERVER_THREADS:+threads = $SERVER_THREADS}
[pricing]
book = "pricing.toml"
[workflows.person]
template = "$TEMPLATE"
workers = ["http://127.0.0.1:9"]
EOF
  start_server "$dir" "tollgate listening on" 60000 "$BUILD/tollgate" serve \
    --config "$dir/tollgate.toml" --listen 127.0.0.1:0 --data-dir "$dir/data"
  GATEWAY=$ADDRESS
  GATEWAY_PID=$SERVER_PID
}

# A funded account's API key on GATEWAY.
api_key() {
  local admin=(-sf -H "Authorization: Bearer $ADMIN_TOKEN" -H "Content-Type: application/json")
  local id
  id=$(curl "${admin[@]}" -d '{"name":"bench"}' "http://$GATEWAY/admin/accounts" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["account_id"])')
  curl "${admin[@]}" -d '{"tokens":1000000,"reason":"bench"}' \
    "http://$GATEWAY/admin/accounts/$id/grants" >/dev/null
  curl "${admin[@]}" -d '{}' "http://$GATEWAY/admin/accounts/$id/keys" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["api_key"])'
}

# wrk posting the portrait to http://ADDRESS/PATH; prints "req/s p99_ms" and
# fails when any answer was not 2xx.
wrk_post() {  # address path key seconds
  local script="$WORK/post-$RANDOM.lua" out="$WORK/wrk-$RANDOM.txt"
  cat >"$script" <<EOF
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer $3"
wrk.headers["Content-Type"] = "image/jpeg"
local f = io.open("$PORTRAIT", "rb")
wrk.body = f:read("*a")
f:close()
EOF
  wrk -t1 -c64 -d"$4"s --latency -s "$script" "http://$1$2" >"$out"
  cat "$out" >&2
  if grep -q "Non-2xx" "$out"; then
    echo "wrk: answers other than 2xx from $1$2" >&2
    return 1
  fi
  python3 - "$out" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
rate = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
value, unit = re.search(r"\n\s+99%\s+([\d.]+)(us|ms|s)\b", text).groups()
print(f"{rate:.0f} {float(value) * {'us': 1e-3, 'ms': 1, 's': 1e3}[unit]:.2f}")
EOF
}

section_quote() {
  echo "== quote: tollgate against nginx" >&2
  local dir="$WORK/quote" port
  mkdir -p "$dir/nginx" "$dir/gateway"
  port=$(free_ports 1)
  cat >"$dir/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $dir/nginx/body;
  proxy_temp_path $dir/nginx/proxy;
  fastcgi_temp_path $dir/nginx/fastcgi;
  uwsgi_temp_path $dir/nginx/uwsgi;
  scgi_temp_path $dir/nginx/scgi;
  server {
    listen 127.0.0.1:$port;
    location / { return 200 "{}"; }
  }
}
EOF
  spawn nginx -c "$dir/nginx/nginx.conf" -p "$dir/nginx"
  local nginx_pid=$SERVER_PID
  wait_until 10000 "$nginx_pid" http_answers "http://127.0.0.1:$port/" || {
    echo "nginx did not start; its log:" >&2
    cat "$dir/nginx/error.log" >&2
    exit 1
  }
  start_gateway "$dir/gateway"
  local key
  key=$(api_key)
  local nginx_figures tollgate_figures
  nginx_figures=$(wrk_post "127.0.0.1:$port" / none "$QUOTE_SECONDS")
  tollgate_figures=$(wrk_post "$GATEWAY" "/v1/quote?workflow=person" "$key" "$QUOTE_SECONDS")
  stop "$GATEWAY_PID"
  stop "$nginx_pid"
  read -r n_rate n_p99 <<<"$nginx_figures"
  read -r t_rate t_p99 <<<"$tollgate_figures"
  row "POST /v1/quote req/s (nginx return 200)" "$t_rate" "$n_rate" \
    "$(ratio "$t_rate" "$n_rate")" ">= 0.5" "$(at_least "$t_rate" "$n_rate" 0.5)"
  row "POST /v1/quote p99 ms (nginx)" "$t_p99" "$n_p99" "$(ratio "$t_p99" "$n_p99")" "" ""
}

ratio() {  # a b
  python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print(f'{a / b:.2f}' if b else '-')" "$1" "$2"
}

at_least() {  # a b factor: "met" when a >= factor x b
  python3 -c "import sys; a, b, f = map(float, sys.argv[1:]); print('met' if a >= f * b else 'NOT met')" "$@"
}

section_jobs() {
  echo "== jobs: tollgate against comfysim called directly" >&2
  # A 0.5 MP JPEG (816x612): a synthetic photo, as sim-traffic sends.
  "$BUILD/bench/bench_upload" --write-photo "$WORK/half.jpg" 816 612
  RATES="$JOBS_RATE" RUN_SECONDS=10 IMAGE="$WORK/half.jpg" ROWS_FILE="$ROWS" BENCH_DIR="$WORK" \
    "$ROOT/bench/dispatch/run.sh" >&2
}

section_probe_and_digests() {
  local json="$WORK/upload.json"
  "$BUILD/bench/bench_upload" --benchmark_min_time=1 --benchmark_repetitions=3 \
    --benchmark_report_aggregates_only=true --benchmark_format=json >"$json"
  python3 - "$json" "$SECTIONS" "$ROWS" <<'EOF'
import json, subprocess, sys
data = json.load(open(sys.argv[1]))["benchmarks"]
sections = sys.argv[2].split()
rows = open(sys.argv[3], "a")
median = {b["run_name"]: b for b in data if b.get("aggregate_name") == "median"}
def row(*cells):
    rows.write("\t".join(str(c) for c in cells) + "\n")
if "probe" in sections:
    for fmt, arg in [("JPEG", 0), ("PNG", 1)]:
        small = median[f"BM_Probe/{arg}/0"]["real_time"]
        large = median[f"BM_Probe/{arg}/1"]["real_time"]
        unit = median[f"BM_Probe/{arg}/0"]["time_unit"]
        ratio = large / small
        row(f"probe {fmt} 50 MP / 1 MP ({unit})", f"{large:.0f}", f"{small:.0f}", f"{ratio:.2f}",
            "about 1 (<= 1.5)", "met" if ratio <= 1.5 else "NOT met")
if "digests" in sections:
    ours = median["BM_Digest"]["bytes_per_second"] / 1e6
    def openssl(algorithm):
        out = subprocess.run(["openssl", "speed", "-evp", algorithm, "-bytes", "5242880",
                              "-seconds", "3", "-mr"], capture_output=True, text=True,
                             check=True).stdout
        line = [l for l in out.splitlines() if l.startswith("+F:")][0]
        return float(line.split(":")[-1]) / 1e6  # bytes per second -> MB/s
    md5, sha256 = openssl("md5"), openssl("sha256")
    both = 1 / (1 / md5 + 1 / sha256)  # one after the other over the same bytes
    ratio = ours / both
    row(f"MD5+SHA-256 MB/s (openssl speed: md5 {md5:.0f}, sha256 {sha256:.0f})", f"{ours:.0f}",
        f"{both:.0f}", f"{ratio:.2f}", ">= 0.9", "met" if ratio >= 0.9 else "NOT met")
EOF
}

section_ledger() {
  echo "== ledger: embedded against Redis and PostgreSQL" >&2
  # Its own temporary directory, which PostgreSQL's user can enter (this one is 0700).
  RUN_SECONDS="$LEDGER_SECONDS" ROWS_FILE="$ROWS" "$ROOT/bench/ledger/run.sh" >&2
}

rss_mb() {  # pid: resident and peak resident set, MB
  awk '/^VmRSS:/ { rss = $2 } /^VmHWM:/ { hwm = $2 } END { printf "%.1f %.1f\n", rss / 1024, hwm / 1024 }' \
    "/proc/$1/status"
}

section_memory() {
  echo "== memory: idle, and with 1 M accounts" >&2
  local idle="$WORK/memory-idle" full="$WORK/memory-1m"
  mkdir -p "$idle" "$full/data" "$full/preload"
  start_gateway "$idle"
  sleep 2
  local idle_rss
  read -r idle_rss _ <<<"$(rss_mb "$GATEWAY_PID")"
  stop "$GATEWAY_PID"
  "$BUILD/bench/bench_ledger" --backend sqlite --data-dir "$full/preload" --seconds 0 \
    --preload-accounts 1000000 --preload-entries 1000000 >&2
  for f in "$full/preload"/ledger.db*; do mv "$f" "$full/data/tollgate.db${f##*ledger.db}"; done
  start_gateway "$full"
  local key
  key=$(api_key)
  wrk_post "$GATEWAY" "/v1/quote?workflow=person" "$key" 5 >/dev/null
  local full_rss full_peak
  read -r full_rss full_peak <<<"$(rss_mb "$GATEWAY_PID")"
  stop "$GATEWAY_PID"
  row "RSS MB, idle" "$idle_rss" "" "" "<= 64" "$(at_most "$idle_rss" 64)"
  row "RSS MB, 1 M accounts, after 5 s of quotes (peak $full_peak)" "$full_rss" "" "" "<= 64" \
    "$(at_most "$full_peak" 64)"
}

at_most() {  # a limit
  python3 -c "import sys; print('met' if float(sys.argv[1]) <= float(sys.argv[2]) else 'NOT met')" "$@"
}

python3 "$ROOT/bench/conditions.py" "$WORK" start | tee "$WORK/conditions.txt" >&2
for section in $SECTIONS; do
  case $section in
    quote) section_quote ;;
    jobs) section_jobs ;;
    probe | digests) [ -z "${UPLOAD_DONE:-}" ] && section_probe_and_digests && UPLOAD_DONE=1 ;;
    ledger) section_ledger ;;
    memory) section_memory ;;
    *) echo "unknown section $section" >&2; exit 2 ;;
  esac
done
python3 "$ROOT/bench/conditions.py" "$WORK" end >>"$WORK/conditions.txt"

python3 - "$ROWS" "$WORK/conditions.txt" <<'EOF'
import sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1]) if line.strip()]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"\ntollgate bench, {cpu}")
print(open(sys.argv[2]).read().rstrip())
head = ["benchmark", "tollgate", "reference", "ratio", "target", ""]
widths = [max(len(r[i]) for r in rows + [head]) for i in range(6)]
for r in [head] + rows:
    print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip())
EOF
