#!/usr/bin/env bash
# Builds the web pages' assets into BUILD_DIR/web (default build/web): the
# operator dashboard the gateway serves at /dashboard (the page, its script
# and style, and uPlot from npm), and in web/customer the customer page it
# serves at / (plain ES modules, no bundling). Installs the npm packages of
# web/package-lock.json first when they are missing or older than the lock
# (uPlot, and playwright-core for the browser tests). Idempotent and quiet
# when nothing changed.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/build}/web"
web="$root/web"

if [ ! -d "$web/node_modules/uplot" ] || [ "$web/package-lock.json" -nt "$web/node_modules/.package-lock.json" ]; then
  (cd "$web" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

mkdir -p "$out"
for f in "$web"/src/*; do
  cp -u "$f" "$out/"
done
cp -u "$web/node_modules/uplot/dist/uPlot.iife.min.js" "$out/uplot.js"
cp -u "$web/node_modules/uplot/dist/uPlot.min.css" "$out/uplot.css"

mkdir -p "$out/customer"
for f in "$web"/customer/*; do
  cp -u "$f" "$out/customer/"
done
