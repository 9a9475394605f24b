#!/usr/bin/env bash
# Runs each libFuzzer target of build-fuzz/ (`make build-fuzz`) for a bounded
# time, FUZZ_JOBS of them at once (one per core by default), and fails if
# any finds a crash, a leak, a sanitizer report, a failed check, a timeout or
# an out-of-memory.
#   scripts/fuzz.sh [TARGET...]        (default: every target below)
#   FUZZ_SECONDS=60 scripts/fuzz.sh    (seconds per target, default 30)
#   FUZZ_JOBS=1 scripts/fuzz.sh        (targets at once, default nproc)
# Each target fuzzes a working copy of its committed corpus under
# build-fuzz/fuzz-runs/<target>/corpus, so the committed corpus never grows
# during a run (copy an input into tests/fuzz/corpus/ by hand to keep it).
# A finding is saved under build-fuzz/fuzz-runs/<target>/artifacts/; the
# summary prints its path and the command that replays it.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-30}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ] || [ "$seconds" -gt 86400 ]; then
  echo "FUZZ_SECONDS must be a whole number of seconds from 1 to 86400" >&2
  exit 2
fi
build=build-fuzz
runs="$build/fuzz-runs"
# Inputs larger than the largest seed of each target buy no coverage; these
# bounds keep every committed seed whole.
declare -A max_len_bytes=(
  [image_probe]=8192 [multipart]=4096 [url_query]=2048 [json_requests]=4096
  [price_book]=8192 [comfy_messages]=4096 [workflow_template]=4096 [tzif]=8192
  [sink_answers]=4096 [shared_store]=4096 [facade_prompt]=4096
)
rss_limit_mb=2048
timeout_seconds=10
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(image_probe multipart url_query json_requests price_book
                                     comfy_messages workflow_template tzif sink_answers
                                     shared_store facade_prompt)

symbolizer=/usr/lib/llvm-14/bin/llvm-symbolizer
[ -x "$symbolizer" ] && export ASAN_SYMBOLIZER_PATH="$symbolizer"
export UBSAN_OPTIONS="print_stacktrace=1"

# Checks every target first, so a typo fails before any time is spent.
for t in "${targets[@]}"; do
  if [ -z "${max_len_bytes[$t]:-}" ] || [ ! -x "$build/tests/fuzz/fuzz_$t" ]; then
    echo "fuzz: unknown target '$t' or $build/tests/fuzz/fuzz_$t missing (run make build-fuzz)" >&2
    exit 2
  fi
done

# Fuzzes one target and leaves its one-line verdict (and, on a finding, the
# lines that say how to replay it) in $dir/summary, and "failed" in
# $dir/failed when it found something.
fuzz_one() {
  local t="$1" bin="$build/tests/fuzz/fuzz_$1" max_len="${max_len_bytes[$1]}"
  local dir="$runs/$t" status=0
  rm -rf "$dir/artifacts" "$dir/summary" "$dir/failed"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  cp -r "tests/fuzz/corpus/$t/." "$dir/corpus/"
  "$bin" -max_total_time="$seconds" -max_len="$max_len" -rss_limit_mb="$rss_limit_mb" \
    -timeout="$timeout_seconds" -print_final_stats=1 -artifact_prefix="$dir/artifacts/" \
    "$dir/corpus" >"$dir/log" 2>&1 || status=$?
  local execs cov corpus_files finding
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
  cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$dir/log" | tail -1 || true)
  corpus_files=$(find "$dir/corpus" -type f | wc -l)
  finding=$(find "$dir/artifacts" -type f | head -1)
  if [ "$status" -ne 0 ] || [ -n "$finding" ]; then
    touch "$dir/failed"
    {
      echo "$t: FAILED (exit $status), log $dir/log"
      if [ -n "$finding" ]; then
        echo "  reproducer: $finding"
        echo "  replay:     $bin $finding"
      fi
      grep -m1 -E 'ERROR: |runtime error|assertion failed|SUMMARY:' "$dir/log" | sed 's/^/  /' || true
    } >"$dir/summary"
  else
    echo "$t: ok, ${execs:-?} runs, ${cov:-cov ?}, $corpus_files corpus files" >"$dir/summary"
  fi
}

# FUZZ_JOBS targets run at once (default: one per core); each is one process.
jobs="${FUZZ_JOBS:-$(nproc)}"
if ! [[ "$jobs" =~ ^[0-9]+$ ]] || [ "$jobs" -lt 1 ] || [ "$jobs" -gt 64 ]; then
  echo "FUZZ_JOBS must be a whole number from 1 to 64" >&2
  exit 2
fi
for t in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  echo "fuzz: $t for ${seconds}s (max_len ${max_len_bytes[$t]} bytes)"
  fuzz_one "$t" &
done
wait

failed=()
echo
for t in "${targets[@]}"; do
  if [ -s "$runs/$t/summary" ]; then
    cat "$runs/$t/summary"
  else
    echo "$t: FAILED, the run left no verdict (log $runs/$t/log)"
    touch "$runs/$t/failed"
  fi
  if [ -e "$runs/$t/failed" ]; then failed+=("$t"); fi
done
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz: findings in: ${failed[*]} (docs/operations.md, Fuzzing, says how to replay)" >&2
  exit 1
fi
