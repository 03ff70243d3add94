#!/usr/bin/env bash
# History benchmark (issue 17): N synthetic commitments (bench/synth_csv.py) imported, then
# EDITS of them revised in BATCHES re-imports (bench/history_edits.py: each raises the high
# amount of its rows by one unit), so that the records' and counted rows' histories hold
# EDITS past states over BATCHES versions, then 200 edits through the API (one audited
# change each, for the changes feed). bench/history.py then measures, through the release
# server: totals with and without `knownAt`, a page as known then, and `changes(since:)`.
# Markdown on stdout; see BENCHMARKS.md.
#
#   bench/history.sh [N] [EDITS] [BATCHES] [sqlite|postgres|both] [SECONDS]
#                                             (default: 1000000 100000 10 both 10)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000} EDITS=${2:-100000} BATCHES=${3:-10} WHICH=${4:-both} RUN_SECONDS=${5:-10}
source bench/lib.sh
missing=()
command -v wrk >/dev/null || missing+=(wrk)
[[ -x /usr/bin/time ]] || missing+=(time)
if ((${#missing[@]})); then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
fi

echo "building the release binary…" >&2
cargo build --release --quiet
python3 bench/synth_csv.py "$N" "$WORK/set"
python3 bench/history_edits.py "$WORK/set" "$WORK/edits" "$BATCHES" $((EDITS / BATCHES))
echo "Run: \`bench/history.sh $N $EDITS $BATCHES $WHICH $RUN_SECONDS\` on $(date -u +%Y-%m-%d), $(nproc) cores."

run_backend() { # label database-url
  local label=$1 url=$2 seconds peak token since mid batch_seconds=()
  "$BIN" migrate --database-url "$url" >/dev/null 2>&1
  "$BIN" import data/reference.json --database-url "$url" >/dev/null 2>&1
  "$BIN" import-rates data/ecb/eurofxref-hist.csv --source ecb-eurofxref-hist-1999-2026 --database-url "$url" \
    >/dev/null 2>&1
  read -r seconds peak < <(timed_import "$WORK/set" "$url")
  echo "$label: import of the set $seconds s (peak $peak MB)" >&2
  since=$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)
  for ((k = 0; k < BATCHES; k++)); do
    read -r s _ < <(timed_import "$WORK/edits/batch-$k" "$url")
    batch_seconds+=("$s")
    if ((k == BATCHES / 2 - 1)); then
      sleep 0.1
      mid=$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)
      sleep 0.1
    fi
  done
  echo "$label: edit batches ${batch_seconds[*]} s" >&2
  token=$("$BIN" token --database-url "$url" create --name bench --role editor 2>/dev/null | tail -1)
  start_server "$label" "$url"
  python3 - "$ADDRESS/graphql" "$token" <<'EOF'
import json, sys, urllib.request
url, token = sys.argv[1], sys.argv[2]
def gql(query, variables):
    body = json.dumps({"query": query, "variables": variables}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    answer = json.loads(urllib.request.urlopen(request).read())
    if answer.get("errors"):
        sys.exit(str(answer["errors"]))
    return answer["data"]
for i in range(200):
    slug = f"synthetic-{i}"
    row = gql("query($s: String!) { commitment(slug: $s) { version notes } }", {"s": slug})["commitment"]
    gql("mutation($s: String!, $v: Int!, $n: String) { updateCommitment(slug: $s, expectedVersion: $v, "
        "patch: { notes: $n }) { version } }", {"s": slug, "v": row["version"], "n": f"benchmark note {i}"})
EOF
  python3 bench/history.py --url "$ADDRESS" --backend "$label" --pid "$SERVER_PID" --mid "$mid" --since "$since" \
    --duration "$RUN_SECONDS" \
    --edits "$EDITS edits in $BATCHES imports (${batch_seconds[*]} s) and 200 through the API; the set's import took $seconds s"
  kill "$SERVER_PID"
  wait "$SERVER_PID" 2>/dev/null || true
}

on_backends run_backend
