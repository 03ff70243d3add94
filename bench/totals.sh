#!/usr/bin/env bash
# Totals benchmark on SQLite and PostgreSQL: imports N synthetic commitments (bench/synth.py)
# on top of the reference data, then times the totals queries of bench/measure.py through
# the release server. Results: Markdown rows on stdout; see BENCHMARKS.md.
#
#   bench/totals.sh [N] [sqlite|postgres|both]     (default: 20000 both)
#
# PostgreSQL: a throwaway cluster from /usr/lib/postgresql/*/bin on a free port (as the
# postgres user when run as root), removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-20000}
WHICH=${2:-both}
source bench/lib.sh

echo "building the release binary…" >&2
cargo build --release --quiet
python3 bench/synth.py "$N" >"$WORK/synth.json"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); N=$N synthetic commitments" >&2

bench() { # label database-url
  local label=$1 url=$2
  "$BIN" migrate --database-url "$url" >/dev/null 2>&1
  "$BIN" import data/reference.json --database-url "$url" >/dev/null 2>&1
  local t0; t0=$(now_ms)
  "$BIN" import "$WORK/synth.json" --database-url "$url" >/dev/null 2>&1
  echo "| $label | import of $N commitments (one transaction, totals rebuilt) | $(( $(now_ms) - t0 )) ms | |"
  start_server "$label" "$url"
  python3 bench/measure.py "$ADDRESS/graphql" "$label"
  kill "$SERVER_PID"
}

echo "| database | measure | first answer | cached (median of 20) |"
echo "|---|---|---|---|"
on_backends bench
