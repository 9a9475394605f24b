#!/usr/bin/env bash
# `make demo`: two simulated ComfyUI workers, the embedded gateway on
# 127.0.0.1:8080 (fresh SQLite data under ./data/demo), a demo account
# with 50 tokens, and `tollgate sim-traffic` sending a day's worth of demo
# traffic every 24 minutes (DEMO_TRAFFIC=0 leaves it out).
# Ctrl-C stops everything this script started.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=build
CONFIG=config/tollgate.toml
ADMIN_TOKEN=demo-admin-token
GATEWAY=http://127.0.0.1:8080
pids=()

cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "demo stopped"
}
trap cleanup EXIT INT TERM

wait_for() {  # url
  for _ in $(seq 1 100); do
    curl -fs -o /dev/null "$1" && return 0
    sleep 0.1
  done
  echo "timed out waiting for $1" >&2
  exit 1
}

rm -rf data/demo
mkdir -p data/demo data/comfysim-person data/comfysim-building
"$BIN/comfysim" --listen 127.0.0.1:8188 --data-dir data/comfysim-person \
  --cost-base-s 1 --cost-per-mp-s 0.5 --fail-rate 0.02 >data/comfysim-person.log 2>&1 &
pids+=($!)
"$BIN/comfysim" --listen 127.0.0.1:8189 --data-dir data/comfysim-building \
  --cost-base-s 2 --cost-per-mp-s 0.5 --fail-rate 0.02 >data/comfysim-building.log 2>&1 &
pids+=($!)
wait_for http://127.0.0.1:8188/system_stats
wait_for http://127.0.0.1:8189/system_stats

"$BIN/tollgate" serve --config "$CONFIG" --data-dir data/demo >data/tollgate.log 2>&1 &
pids+=($!)
wait_for "$GATEWAY/healthz"

admin() {  # method path [json]
  curl -fsS -X "$1" -H "Authorization: Bearer $ADMIN_TOKEN" \
    -H 'Content-Type: application/json' ${3:+-d "$3"} "$GATEWAY$2"
}
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

account=$(admin POST /admin/accounts '{"name":"demo"}' | field account_id)
admin POST "/admin/accounts/$account/grants" '{"tokens":50,"reason":"demo credit"}' >/dev/null
key=$(admin POST "/admin/accounts/$account/keys" | field api_key)

traffic="Demo traffic is off (DEMO_TRAFFIC=0)."
if [ "${DEMO_TRAFFIC:-1}" != 0 ]; then
  "$BIN/tollgate" sim-traffic --gateway "$GATEWAY" --admin-token "$ADMIN_TOKEN" \
    >data/sim-traffic.log 2>&1 &
  pids+=($!)
  traffic="Demo traffic: tollgate sim-traffic sends jobs from accounts sim-1 to sim-6, a simulated
day every 24 minutes, with duplicates, bad uploads and a few worker failures
(log in data/sim-traffic.log; DEMO_TRAFFIC=0 make demo leaves it out)."
fi

cat <<TXT

Tollgate is running on $GATEWAY (logs in data/tollgate.log).
$traffic
Demo account $account has 50 tokens. Its API key:

  export KEY=$key

The customer's page: open $GATEWAY/ and sign in with that key to price a photo, colorize it
and see the history (docs/api.md, Customer page). Or do the same with curl:

Price the bundled 800x600 portrait (charges nothing):

  curl -s -X POST "$GATEWAY/v1/quote?workflow=person" -H "Authorization: Bearer \$KEY" \\
       --data-binary @config/samples/portrait_800x600.jpg

Colorize it (holds 10 tokens, captured when the job succeeds):

  curl -s -X POST "$GATEWAY/v1/jobs?workflow=person" -H "Authorization: Bearer \$KEY" \\
       --data-binary @config/samples/portrait_800x600.jpg

Then, with the job_id it returns:

  curl -s "$GATEWAY/v1/jobs/JOB_ID" -H "Authorization: Bearer \$KEY"
  curl -s "$GATEWAY/v1/jobs/JOB_ID/result" -H "Authorization: Bearer \$KEY" -o colorized.png
  curl -s "$GATEWAY/v1/account" -H "Authorization: Bearer \$KEY"

Other capabilities (super_resolution, denoise, scratch_removal, ocr) and options:

  curl -s -X POST "$GATEWAY/v1/quote?workflow=super_resolution&upscale_factor=4" \\
       -H "Authorization: Bearer \$KEY" --data-binary @config/samples/portrait_800x600.jpg
  curl -s -X POST "$GATEWAY/v1/quote?workflow=person&quality=high" \\
       -H "Authorization: Bearer \$KEY" --data-binary @config/samples/portrait_800x600.jpg
  curl -s "$GATEWAY/v1/plans" -H "Authorization: Bearer \$KEY"

A ComfyUI client works too: point it at $GATEWAY instead of ComfyUI and add the key
(Authorization: Bearer \$KEY, or ?token=\$KEY on /ws). For example, upload then prompt:

  curl -s "$GATEWAY/upload/image" -H "Authorization: Bearer \$KEY" \\
       -F image=@config/samples/portrait_800x600.jpg
  python3 -c 'import json; g=json.load(open("config/workflows/ddcolor_person.api.json"));
g["1"]["inputs"]["image"]="portrait_800x600.jpg"; print(json.dumps({"prompt": g}))' |
  curl -s "$GATEWAY/prompt" -H "Authorization: Bearer \$KEY" -d @-

The operator's view: open $GATEWAY/dashboard and log in with $ADMIN_TOKEN, or ask directly:

  curl -s "$GATEWAY/admin/reports/hourly" -H "Authorization: Bearer $ADMIN_TOKEN"
  curl -s "$GATEWAY/metrics" -H "Authorization: Bearer $ADMIN_TOKEN"
  build/tollgate calibrate --config "$CONFIG" --data-dir data/demo --days 7

Subscribe the account to the monthly plan (1000 tokens each calendar month):

  curl -s -X POST "$GATEWAY/admin/accounts/$account/plans" \\
       -H "Authorization: Bearer $ADMIN_TOKEN" -d '{"plan":"monthly"}'

Edit config/pricing.toml, then reload it (an invalid book is refused, the old one stays):

  curl -s -X POST "$GATEWAY/admin/pricing/reload" -H "Authorization: Bearer $ADMIN_TOKEN"

Press Ctrl-C to stop.
TXT
wait
