# Shared by the bench scripts (sourced, not run): a work directory removed at exit, server
# processes stopped at exit, and a throwaway PostgreSQL cluster on a free port.
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

# Starts a throwaway cluster (as the postgres user when root); sets PG_URL and PG_PORT.
start_postgres() {
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  PGDATA_DIR="$WORK/pg"
  mkdir -p "$PGDATA_DIR"
  if [[ $(id -u) == 0 ]]; then chown -R postgres:postgres "$WORK"; fi
  as_pg "$PGBIN/initdb" -D "$PGDATA_DIR" -U postgres -A trust -E UTF8 --no-locale >/dev/null
  PG_PORT=$(free_port)
  as_pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -l "$WORK/pg.log" -w \
    -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$WORK" start >/dev/null
  PG_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
}

# Starts `pledgewatch serve` on DATABASE-URL; sets ADDRESS (http://host:port) and SERVER_PID.
start_server() { # label database-url [extra args…]
  local label=$1 url=$2
  shift 2
  "$BIN" serve --database-url "$url" --listen 127.0.0.1:0 --rate-limit-per-second 0 --no-reference-data "$@" \
    >"$WORK/serve-$label.log" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  ADDRESS=""
  for _ in $(seq 300); do
    ADDRESS=$(grep -o 'http://[0-9.:]*' "$WORK/serve-$label.log" | head -1 || true)
    [[ -n "$ADDRESS" ]] && return 0
    sleep 0.1
  done
  echo "the server did not start:" >&2
  cat "$WORK/serve-$label.log" >&2
  return 1
}

# Imports a path, timed, with the importer's peak memory; prints "SECONDS PEAK_MB".
timed_import() { # path database-url
  /usr/bin/time -f '%e %M' -o "$WORK/time.txt" "$BIN" import "$1" --database-url "$2" >"$WORK/import.log" 2>&1 \
    || { cat "$WORK/import.log" >&2; return 1; }
  awk '{ printf "%s %.0f\n", $1, $2 / 1024 }' "$WORK/time.txt"
}

# Runs FUNCTION (label, database-url) on SQLite, then on a throwaway PostgreSQL cluster, as
# $WHICH says (sqlite | postgres | both).
on_backends() { # function
  if [[ $WHICH == sqlite || $WHICH == both ]]; then
    "$1" sqlite "sqlite://$WORK/bench.db?mode=rwc"
  fi
  if [[ $WHICH == postgres || $WHICH == both ]]; then
    start_postgres
    "$1" postgres "$PG_URL"
  fi
}
