#!/usr/bin/env bash
# The benchmark suite: N synthetic commitments (bench/synth_csv.py: about 20 000 actors,
# 200 events, ranges, four currencies, packages with parts, overlaps, status histories)
# imported through `pledgewatch import`, then each query of bench/run.py driven over HTTP
# by wrk at 1 and 16 clients, beside the bare SQL of the same query on the same database
# (pgbench / sqlite3), with the server's memory. Markdown on stdout; see BENCHMARKS.md.
#
#   bench/run.sh [N] [sqlite|postgres|both] [SECONDS]   (default: 1000000 both 10)
#   bench/run.sh --smoke                                (10 000 rows, 1 s per run: CI)
#
# Installs wrk (and GNU time) with apt-get when missing. PostgreSQL: a throwaway cluster
# from /usr/lib/postgresql/*/bin, removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
SMOKE=0
if [[ ${1:-} == --smoke ]]; then
  SMOKE=1 N=10000 WHICH=both RUN_SECONDS=1
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
  python3 bench/run.py --url "$ADDRESS" --db "$url" --backend "$label" --pid "$SERVER_PID" --token "$token" \
    --duration "$RUN_SECONDS" --import-seconds "$seconds" --import-mb "$peak"
  kill "$SERVER_PID"
  wait "$SERVER_PID" 2>/dev/null || true
}

if [[ $WHICH == sqlite || $WHICH == both ]]; then
  run_backend sqlite "sqlite://$WORK/bench.db?mode=rwc"
fi
if [[ $WHICH == postgres || $WHICH == both ]]; then
  start_postgres
  run_backend postgres "$PG_URL"
fi
