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
WORK=$(mktemp -d /tmp/pledgewatch-bench.XXXXXX)
chmod 755 "$WORK"
BIN=target/release/pledgewatch
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [[ -n "${PGDATA_DIR:-}" ]]; then as_pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m immediate stop >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
now_ms() { date +%s%3N; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

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
  "$BIN" serve --database-url "$url" --listen 127.0.0.1:0 --rate-limit-per-second 0 --no-reference-data \
    >"$WORK/serve-$label.log" 2>&1 &
  PIDS+=($!)
  local address=""
  for _ in $(seq 100); do
    address=$(grep -o 'http://[0-9.:]*' "$WORK/serve-$label.log" | head -1 || true)
    [[ -n "$address" ]] && break
    sleep 0.1
  done
  python3 bench/measure.py "$address/graphql" "$label"
  kill "${PIDS[-1]}"
}

echo "| database | measure | first answer | cached (median of 20) |"
echo "|---|---|---|---|"
if [[ $WHICH == sqlite || $WHICH == both ]]; then
  bench sqlite "sqlite://$WORK/bench.db?mode=rwc"
fi
if [[ $WHICH == postgres || $WHICH == both ]]; then
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  PGDATA_DIR="$WORK/pg"
  mkdir -p "$PGDATA_DIR"
  [[ $(id -u) == 0 ]] && chown -R postgres:postgres "$WORK"
  as_pg "$PGBIN/initdb" -D "$PGDATA_DIR" -U postgres -A trust -E UTF8 --no-locale >/dev/null
  PORT=$(free_port)
  as_pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -l "$WORK/pg.log" -w \
    -o "-p $PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$WORK" start >/dev/null
  bench postgres "postgres://postgres@127.0.0.1:$PORT/postgres"
fi
