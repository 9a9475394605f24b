# shellcheck shell=bash
# Helpers shared by the benchmark scripts (bench/run.sh and bench/*/run.sh),
# sourced by each: servers started on 127.0.0.1 in the background, waited
# for, and stopped on exit, even after a failure.
#
# The script sets ROOT (the source tree) and WORK (its temporary directory);
# BUILD (the build tree) before start_worker, PG_BIN (PostgreSQL's bin
# directory) before start_postgres. Its EXIT trap calls stop_servers.
#
# A server started here must stay a child of the script's own shell: call
# these functions directly, never in $(...).

PIDS=()        # servers started here, stopped by stop_servers
SERVER_PID=""  # the server started last
ADDRESS=""     # HOST:PORT of the server start_server started last
PG_DATA=""     # PostgreSQL's data directory while it runs
# PostgreSQL refuses root: as root, its initdb and server run as the postgres
# user (the Debian package creates it) through runuser.
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
  as_pg=(runuser -u postgres --)
fi

# Free loopback ports, held open together so they differ.
free_ports() {  # count
  python3 -c '
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])' "$1"
}

# Runs a check every 100 ms until it succeeds; fails after timeout_ms, or as
# soon as process pid (unless empty) has exited.
wait_until() {  # timeout_ms pid check...
  local timeout_ms=$1 pid=$2 waited_ms=0
  shift 2
  while [ "$waited_ms" -lt "$timeout_ms" ]; do
    "$@" && return 0
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      return 1
    fi
    sleep 0.1
    waited_ms=$((waited_ms + 100))
  done
  return 1
}

# True when GET url answers 2xx.
http_answers() {  # url
  curl -sf -m 1 -o /dev/null "$1"
}

# Runs a command in the background and remembers its pid in PIDS and
# SERVER_PID (redirections on the call apply to the command).
spawn() {  # command...
  "$@" &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
}

# True once dir/server.out has the line "<banner> HOST:PORT"; sets ADDRESS.
has_banner() {  # dir banner
  ADDRESS=$(sed -n "s/^$2 \(.*\)$/\1/p" "$1/server.out")
  [ -n "$ADDRESS" ]
}

# Starts a server whose stdout says "<banner> HOST:PORT" once it listens on
# the port it picked (stdout to dir/server.out, stderr to dir/server.log);
# sets ADDRESS and SERVER_PID. Exits the script when it has not said so
# within timeout_ms.
start_server() {  # dir banner timeout_ms command...
  local dir=$1 banner=$2 timeout_ms=$3
  shift 3
  spawn "$@" >"$dir/server.out" 2>"$dir/server.log"
  ADDRESS=""
  wait_until "$timeout_ms" "$SERVER_PID" has_banner "$dir" "$banner" && return 0
  echo "$dir: the server did not start; its log:" >&2
  cat "$dir/server.log" >&2
  exit 1
}

# Stops processes with SIGTERM, and with SIGKILL those still running 5 s
# later (an overloaded gateway drains its dispatch queue first); reaps them
# and drops them from PIDS.
stop() {  # pid...
  local pid waited_ms=0 running keep=()
  for pid in "$@"; do kill "$pid" 2>/dev/null || true; done
  while [ "$waited_ms" -lt 5000 ]; do
    running=0
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && running=1; done
    [ "$running" -eq 0 ] && break
    sleep 0.1
    waited_ms=$((waited_ms + 100))
  done
  for pid in "$@"; do
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    [[ " $* " == *" $pid "* ]] || keep+=("$pid")
  done
  PIDS=("${keep[@]}")
}

# Stops PostgreSQL, if start_postgres started it.
stop_postgres() {
  [ -n "$PG_DATA" ] || return 0
  "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null 2>&1 || true
  PG_DATA=""
}

# Stops every server started here (for the EXIT trap).
stop_servers() {
  stop "${PIDS[@]}"
  stop_postgres
}

# A comfysim worker on a free port with the zero-cost model: every node's
# time is cost x (0 + 0 x MP) = 0 s, no model cold start, and no output
# cache, so every prompt really runs its three nodes (load, colorize, save).
# Sets ADDRESS and SERVER_PID.
start_worker() {  # dir
  mkdir -p "$1"
  start_server "$1" "comfysim listening on" 30000 "$BUILD/comfysim" \
    --listen 127.0.0.1:0 --data-dir "$1/data" \
    --cost-base-s 0 --cost-per-mp-s 0 --cold-start-s 0 --no-cache
}

# redis-server on a free port with its data in dir, durable (appendonly yes,
# appendfsync fsync_policy, no RDB snapshots), plus any further options;
# sets REDIS_PORT and REDIS_PID.
start_redis() {  # dir fsync_policy [redis-server option...]
  local dir=$1 fsync_policy=$2
  shift 2
  mkdir -p "$dir"
  REDIS_PORT=$(free_ports 1)
  spawn redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$dir" --appendonly yes \
    --appendfsync "$fsync_policy" --save '' "$@" --daemonize no --logfile "$dir/redis.log"
  REDIS_PID=$SERVER_PID
  wait_until 10000 "$REDIS_PID" redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping \
    >/dev/null 2>&1 && return 0
  echo "redis-server in $dir did not start; its log:" >&2
  cat "$dir/redis.log" >&2
  exit 1
}

# A new PostgreSQL cluster in dir (user bench, trust), its server on
# 127.0.0.1 at port with any further server options ("-c name=value").
# stop_postgres stops it.
start_postgres() {  # dir port [postgres option...]
  local dir=$1 port=$2
  shift 2
  mkdir -p "$dir"
  # The server runs as postgres when we are root: it needs to reach its dir.
  if [ ${#as_pg[@]} -gt 0 ]; then
    chmod 755 "$(dirname "$dir")"
    chown postgres: "$dir"
  fi
  "${as_pg[@]}" "$PG_BIN/initdb" -D "$dir/data" -U bench --auth=trust -E UTF8 \
    --locale=C.UTF-8 >/dev/null
  PG_DATA="$dir/data"
  "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$dir/server.log" -w \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1${*:+ $*}" start >/dev/null
}

# A grayscale gradient PNG, side x side pixels, written without an image library.
write_png() {  # path side
  python3 - "$1" "$2" <<'PY'
import struct, sys, zlib
path, side = sys.argv[1], int(sys.argv[2])
raw = bytearray()
for y in range(side):
    raw.append(0)
    raw.extend(((x + y) * 255 // (2 * side)) & 0xFF for x in range(side))
def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
       + chunk(b"IDAT", zlib.compress(bytes(raw), 6)) + chunk(b"IEND", b""))
open(path, "wb").write(png)
PY
}

# Cores, load and the disk's fdatasync latency, which bound every figure:
# appended to WORK/conditions.txt and shown on stderr.
conditions() {  # when
  python3 "$ROOT/bench/conditions.py" "$WORK" "$1" >>"$WORK/conditions.txt"
  tail -n 1 "$WORK/conditions.txt" >&2
}
