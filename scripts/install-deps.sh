#!/usr/bin/env bash
# Installs the Debian packages tollgate needs to build, test and run the demo.
# Idempotent and silent when everything is already installed.
#   scripts/install-deps.sh [--fuzz] [--test] [--bench] [PACKAGE...]
# --fuzz adds what `make fuzz` needs: clang 14, its libFuzzer and sanitizer
# runtimes (libclang-rt-14-dev) and llvm-symbolizer (llvm-14) for readable
# reports. --test adds the real servers the tests start on 127.0.0.1
# (PostgreSQL and ClickHouse for the usage export, Redis for the shared
# backend), Debian's Chromium and a Chinese font for the browser tests, and
# python3-websocket for the ComfyUI client tests of the facade; the demo
# needs none. --bench adds what `make bench` measures against: nginx (its
# `return 200` is the HTTP reference), wrk, Redis and PostgreSQL. Extra
# package names are installed too.
set -euo pipefail

build_pkgs=(
  g++ cmake make pkg-config python3
  libboost-dev libssl-dev libsqlite3-dev nlohmann-json3-dev libtomlplusplus-dev
  libcli11-dev libspdlog-dev libfmt-dev libvips-dev libgtest-dev libgmock-dev
  libbenchmark-dev libhiredis-dev libpq-dev curl tzdata
)

fuzz_pkgs=(clang-14 libclang-rt-14-dev llvm-14)
test_pkgs=(postgresql clickhouse-server redis-server chromium python3-websocket fonts-wqy-microhei)
bench_pkgs=(nginx-light wrk redis-server postgresql)

extra_pkgs=()
for arg in "$@"; do
  if [ "$arg" = "--fuzz" ]; then
    extra_pkgs+=("${fuzz_pkgs[@]}")
  elif [ "$arg" = "--test" ]; then
    extra_pkgs+=("${test_pkgs[@]}")
  elif [ "$arg" = "--bench" ]; then
    extra_pkgs+=("${bench_pkgs[@]}")
  else
    extra_pkgs+=("$arg")
  fi
done

missing=()
for p in "${build_pkgs[@]}" "${extra_pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing: ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
