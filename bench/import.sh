#!/usr/bin/env bash
# Bulk import benchmark: writes a synthetic CSV set of N commitments (bench/synth_csv.py,
# about 20 000 actors and 200 events) and imports it with `pledgewatch import` on top of
# the reference data, reporting wall time and the importer's peak resident memory.
#
#   bench/import.sh [N] [sqlite|postgres|both]     (default: 1000000 both)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
WHICH=${2:-both}
source bench/lib.sh
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install -y time)" >&2; exit 1; }

echo "building the release binary…" >&2
cargo build --release --quiet
python3 bench/synth_csv.py "$N" "$WORK/set"
rows=$(($(wc -l <"$WORK/set/commitments.csv") - 1))
statuses=$(($(wc -l <"$WORK/set/status_history.csv") - 1))
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); $rows commitments, $statuses status rows, $(du -sh "$WORK/set" | cut -f1) of CSV" >&2

run() { # label database-url
  "$BIN" import data/reference.json --database-url "$2" >/dev/null 2>&1
  read -r seconds peak < <(timed_import "$WORK/set" "$2")
  echo "| $1 | $rows | $seconds s | $peak MB |"
}

echo "| database | commitments | import time | importer peak RSS |"
echo "|---|---|---|---|"
on_backends run
