#!/usr/bin/env python3
"""Drives a running pledgewatch with wrk and times the bare SQL of each query on the same
database, so that every figure is also a ratio; checks the targets of BENCHMARKS.md.
Started by bench/run.sh (which builds, generates, imports and starts the server).

Usage: run.py --url http://127.0.0.1:PORT --db URL --backend sqlite|postgres --pid PID
              --token EDITOR_TOKEN [--duration SECONDS] [--import-seconds S --import-mb M]
Prints Markdown on stdout.
"""
import argparse
import json
import multiprocessing
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from decimal import Decimal

PAGE = ("{ commitments(first: 50) { nodes { slug title announcedOn amount { low high currency } "
        "pledger { name } event { name } sources { url } } } }")
BY_EVENT = "{ totals(groupBy: [EVENT]) { groups { key { value } low high count } grandTotal { low high count } } }"
BY_COUNTRY_CURRENCY = ("{ totals(groupBy: [PLEDGER_COUNTRY, CURRENCY]) { groups { key { value } low high count } "
                       "grandTotal { low high count } } }")
SEARCH = '{ commitments(filter: { text: "elysee" }, first: 50) { nodes { slug title pledger { name } } } }'

# The same questions asked of PostGraphile (bench/peer) over the same tables: the same page
# and relations (its sources through the helper view), and naïve GROUP BY sums of the raw
# amounts by its aggregates plugin: no conversion, no double-count rule, no exclusions.
PEER_PAGE = ("{ allCommitments(first: 50, orderBy: [ANNOUNCED_ON_DESC, PRIMARY_KEY_DESC]) { nodes { slug title "
             "announcedOn amountLow amountHigh currency actorByPledgerId { name } eventByEventId { name } "
             "peerCommitmentSourcesByCommitmentId { nodes { sourceBySourceId { url } } } } } }")
PEER_BY_EVENT = ("{ allCommitments { groupedAggregates(groupBy: [EVENT_ID, CURRENCY]) "
                 "{ keys sum { amountLow amountHigh } } } }")
PEER_BY_COUNTRY_CURRENCY = ("{ allPeerCommitmentCountries { groupedAggregates(groupBy: [PLEDGER_COUNTRY, CURRENCY]) "
                            "{ keys sum { amountLow amountHigh } } } }")

# The bare SQL the generic engine would run: the page with its names in one statement, and
# GROUP BY over the raw commitments table.
BARE_PAGE = ("SELECT c.slug, c.title, c.announced_on, c.amount_low, c.amount_high, c.currency, a.name, e.name "
             "FROM commitments c JOIN actors a ON a.id = c.pledger_id LEFT JOIN events e ON e.id = c.event_id "
             "ORDER BY c.announced_on DESC NULLS LAST, c.id DESC LIMIT 50")
BARE_BY_EVENT = ("SELECT event_id, currency, SUM(amount_low), SUM(amount_high), COUNT(*) FROM commitments "
                 "GROUP BY event_id, currency")
BARE_BY_COUNTRY_CURRENCY = ("SELECT a.country, c.currency, SUM(c.amount_low), SUM(c.amount_high), COUNT(*) "
                            "FROM commitments c JOIN actors a ON a.id = c.pledger_id GROUP BY a.country, c.currency")


def bare_filtered(sector: str, year: int) -> str:
    """(d)'s bare SQL over the project's own derived table, as the engine writes it."""
    return ("SELECT event_id, measure, currency, SUM(amount_low), SUM(amount_high), SUM(is_primary), "
            "CASE WHEN currency = 'EUR' THEN NULL ELSE rate_date END AS rk FROM counted_amounts "
            f"WHERE sector IN ('{sector}') AND announced_on >= '{year}-01-01' AND announced_on <= '{year}-12-31' "
            "AND status IN ('ANNOUNCED', 'CONFIRMED', 'IN_PROGRESS', 'DELIVERED', 'STALLED') "
            "AND (related_id IS NULL OR related_status IN ('ANNOUNCED', 'CONFIRMED', 'IN_PROGRESS', 'DELIVERED', 'STALLED')) "
            "GROUP BY event_id, measure, currency, rk")


def filtered(sector: str, year: int) -> str:
    return (f'{{ totals(groupBy: [EVENT], filter: {{ sectors: ["{sector}"], announcedFrom: "{year}-01-01", '
            f'announcedTo: "{year}-12-31" }}) {{ groups {{ low high }} grandTotal {{ low high count }} }} }}')


class Bench:
    def __init__(self, args):
        self.args = args
        self.graphql = args.url + "/graphql"
        self.work = tempfile.mkdtemp(prefix="pledgewatch-run-")

    # ---------- HTTP ----------

    def gql(self, query, variables=None, token=None, url=None):
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(url or self.graphql, body, headers)
        with urllib.request.urlopen(request) as response:
            answer = json.loads(response.read())
        if answer.get("errors"):
            sys.exit(f"{query[:80]}…: {answer['errors']}")
        return answer["data"]

    def timed(self, query, variables=None, token=None):
        started = time.perf_counter()
        data = self.gql(query, variables, token)
        return (time.perf_counter() - started) * 1000, data

    def wrk(self, query, clients, variables=None, uncached=False, url=None, pid=None):
        """wrk over HTTP: (p50 ms, p99 ms, requests/s, errors). With `uncached`, every
        request carries a variable of its own (unused by the query), so that none is
        answered from the server's response cache."""
        self.gql(query, variables, url=url)  # answers without errors
        body = json.dumps({"query": query, "variables": variables or {}})
        script = os.path.join(self.work, "post.lua")
        with open(script, "w") as f:
            f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n')
            f.write(f"wrk.body = [==[{body}]==]\n")
            if uncached:
                template = json.dumps({"query": query, "variables": {**(variables or {}), "nocache": 123456789}})
                template = template.replace("%", "%%").replace("123456789", "%d")
                f.write("local threads = 0\n"
                        "function setup(thread) thread:set('base', threads * 1000000000); threads = threads + 1 end\n"
                        "function init(args) counter = base end\n"
                        f"function request() counter = counter + 1; "
                        f"return wrk.format(nil, nil, nil, string.format([==[{template}]==], counter)) end\n")
        self.phase_peaks = getattr(self, "phase_peaks", [])
        threads = min(clients, 2)
        out = subprocess.run(
            ["wrk", "-t", str(threads), "-c", str(clients), "-d", f"{self.args.duration}s", "--latency", "-s", script,
             url or self.graphql], capture_output=True, text=True, check=True).stdout
        percentiles = dict(re.findall(r"^\s+(\d+)%\s+([\d.]+\w+)", out, re.M))
        rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
        socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
        if socket:
            errors += sum(int(n) for n in socket.groups())
        name = re.search(r"\{\s*(\w+)", query).group(1) + (" (computed)" if uncached else "")
        if pid is None:
            self.phase_peaks.append((name, clients, self.rss_mb("VmHWM")))
        return to_ms(percentiles["50"]), to_ms(percentiles["99"]), rate, errors

    # ---------- bare SQL ----------

    def bare(self, sql, clients):
        """The statement alone on the same database: (p50 ms or None, requests/s)."""
        if self.args.backend == "postgres":
            path = os.path.join(self.work, "bare.sql")
            with open(path, "w") as f:
                f.write(sql + ";\n")
            out = subprocess.run(
                [pgbench(), "-n", "-c", str(clients), "-j", str(min(clients, 2)), "-T", str(self.args.duration), "-f",
                 path, "-d", self.args.db], capture_output=True, text=True, check=True).stdout
            tps = float(re.search(r"tps = ([\d.]+)", out).group(1))
            latency = float(re.search(r"latency average = ([\d.]+) ms", out).group(1))
            return latency, tps
        path = self.args.db.split("sqlite://", 1)[1].split("?", 1)[0]
        with multiprocessing.Pool(clients) as pool:
            results = pool.starmap(sqlite_loop, [(path, sql, self.args.duration)] * clients)
        timings = [t for r in results for t in r]
        return statistics.median(timings), len(timings) / self.args.duration

    def bare_once(self, sql):
        """One execution of the statement, in ms (a fresh connection, like a first answer)."""
        if self.args.backend == "postgres":
            out = subprocess.run(["psql", "-X", "-At", "-d", self.args.db, "-c", "\\timing on", "-c", sql],
                                 capture_output=True, text=True, check=True).stdout
            return float(re.findall(r"Time: ([\d.]+) ms", out)[-1])
        path = self.args.db.split("sqlite://", 1)[1].split("?", 1)[0]
        connection = sqlite3.connect(path)
        started = time.perf_counter()
        connection.execute(sql).fetchall()
        return (time.perf_counter() - started) * 1000

    def scalar(self, sql):
        """The one value a statement selects."""
        if self.args.backend == "postgres":
            return subprocess.run(["psql", "-X", "-At", "-d", self.args.db, "-c", sql],
                                  capture_output=True, text=True, check=True).stdout.strip()
        path = self.args.db.split("sqlite://", 1)[1].split("?", 1)[0]
        return str(sqlite3.connect(path).execute(sql).fetchone()[0])

    # ---------- memory ----------

    def rss_mb(self, field, pid=None):
        with open(f"/proc/{pid or self.args.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
        return float("nan")


def to_ms(text):
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def pgbench():
    for candidate in sorted(os.listdir("/usr/lib/postgresql"), reverse=True):
        path = f"/usr/lib/postgresql/{candidate}/bin/pgbench"
        if os.path.exists(path):
            return path
    return "pgbench"


def sqlite_loop(path, sql, duration):
    connection = sqlite3.connect(path)
    timings = []
    end = time.perf_counter() + duration
    while time.perf_counter() < end:
        started = time.perf_counter()
        connection.execute(sql).fetchall()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def cursor_of_page(bench, page):
    """The cursor after `page - 1` pages of 50 (fetched 500 rows at a time)."""
    after = None
    rows = (page - 1) * 50
    while rows > 0:
        step = min(rows, 500)
        data = bench.gql("query($after: String, $first: Int) { commitments(first: $first, after: $after) "
                         "{ pageInfo { endCursor } } }", {"after": after, "first": step})
        after = data["commitments"]["pageInfo"]["endCursor"]
        rows -= step
    return after


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--backend", required=True)
    parser.add_argument("--pid", required=True, type=int)
    parser.add_argument("--token", required=True)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--import-seconds", default="")
    parser.add_argument("--import-mb", default="")
    parser.add_argument("--peer", default="", help="PostGraphile's base URL (bench/peer), to measure beside")
    parser.add_argument("--peer-pid", type=int, default=0)
    args = parser.parse_args()
    b = Bench(args)
    label = args.backend
    idle = b.rss_mb("VmRSS")
    count = b.gql("{ commitments(first: 1) { totalCount } }")["commitments"]["totalCount"]
    rows, held = [], []

    peer_url = args.peer + "/graphql" if args.peer else None

    def peer_run(query, clients):
        """PostGraphile's (p50, p99, rate, errors) for `query`, or None without the peer."""
        return b.wrk(query, clients, url=peer_url, pid=args.peer_pid) if peer_url else None

    def row(name, clients, ours, bare=None, peer=None):
        p50, p99, rate, errors = ours
        ratio = f"{rate / bare[1]:.2f}×" if bare else ""
        bare_text = f"{bare[1]:.1f}/s ({bare[0]:.2f} ms)" if bare else ""
        peer_text = (f"{peer[2]:.1f}/s (p50 {peer[0]:.2f} ms, p99 {peer[1]:.2f} ms, {peer[3]} errors)"
                     if peer else "")
        peer_ratio = f"{rate / peer[2]:.2f}×" if peer else ""
        rows.append(f"| {name} | {clients} | {p50:.2f} ms | {p99:.2f} ms | {rate:.1f}/s | {errors} | {bare_text} | "
                    f"{ratio} | {peer_text} | {peer_ratio} |")

    # (a) the first page (from the response cache after its first answers, and computed
    # each time), and (e) page 1000 through its cursor.
    page = {c: b.wrk(PAGE, c) for c in (1, 16)}
    computed = {c: b.wrk(PAGE, c, uncached=True) for c in (1, 16)}
    bare_page = {c: b.bare(BARE_PAGE, c) for c in (1, 16)}
    peer_page = {c: peer_run(PEER_PAGE, c) for c in (1, 16)}
    for c in (1, 16):
        row("(a) first page of 50, with pledger, event, sources", c, page[c], bare_page[c], peer_page[c])
    for c in (1, 16):
        row("(a) the same, computed for each request (response cache bypassed)", c, computed[c], bare_page[c],
            peer_page[c])
    deep_page = min(1000, max(2, count // 50))
    cursor = cursor_of_page(b, deep_page)
    deep_query = ("query($after: String) { commitments(first: 50, after: $after) { nodes { slug title announcedOn "
                  "amount { low high currency } pledger { name } event { name } sources { url } } } }")
    deep = {c: b.wrk(deep_query, c, {"after": cursor}, uncached=True) for c in (1, 16)}
    first_computed = {c: b.wrk(deep_query, c, {"after": None}, uncached=True) for c in (1, 16)}
    for c in (1, 16):
        row(f"(e) page {deep_page} of 50 via its cursor (computed each time)", c, deep[c])
    for c in (1, 16):
        row("(e) page 1 of the same query (computed each time)", c, first_computed[c])

    # (b), (c): repeated dashboard totals against the bare GROUP BY over the raw table.
    totals = {}
    firsts = {}
    peer_firsts = []
    for name, query, bare_sql, peer_query in (
            ("(b) totals by EVENT", BY_EVENT, BARE_BY_EVENT, PEER_BY_EVENT),
            ("(c) totals by PLEDGER_COUNTRY × CURRENCY", BY_COUNTRY_CURRENCY, BARE_BY_COUNTRY_CURRENCY,
             PEER_BY_COUNTRY_CURRENCY)):
        first, _ = b.timed(query)  # nothing cached yet for these arguments
        firsts[name] = first
        if peer_url:
            started = time.perf_counter()
            b.gql(peer_query, url=peer_url)
            peer_firsts.append((name, (time.perf_counter() - started) * 1000))
        for c in (1, 16):
            ours, bare, peer = b.wrk(query, c), b.bare(bare_sql, c), peer_run(peer_query, c)
            totals[(name, c)] = (ours, bare)
            row(name + f" (first answer {first:.1f} ms)" if c == 1 else name, c, ours, bare, peer)

    # (d) a selective filter, first (uncached) answers against the same SQL over the derived table.
    combos = [(s, y) for y in (2024, 2025) for s in ("Research", "Skills", "Health", "Compute", "Start-ups")]
    ours_first = statistics.median(b.timed(filtered(s, y))[0] for s, y in combos)
    bare_first = statistics.median(b.bare_once(bare_filtered(s, y)) for s, y in combos)
    rows.append(f"| (d) totals by EVENT, one sector and one year: first answer, median of {len(combos)} filters | 1 | "
                f"{ours_first:.2f} ms | | | | {bare_first:.2f} ms (derived table) | {ours_first / bare_first:.2f}× the time |")

    # (f) accent-insensitive search.
    search = {c: b.wrk(SEARCH, c, uncached=True) for c in (1, 16)}
    for c in (1, 16):
        row("(f) search \"elysee\" (finds Élysée), computed each time", c, search[c])

    # (g) totals right after a write, exact after every write.
    before = Decimal(b.gql(BY_EVENT)["totals"]["grandTotal"]["low"])
    after_write, exact = [], True
    create = ('mutation($slug: String!) { createCommitment(input: { slug: $slug, title: "Benchmark write (not a real '
              'figure)", pledger: "synthetic-actor-1", event: "synthetic-event-0", announcedOn: "2025-02-10", '
              'amountLow: "1000000.01", amountHigh: "1000000.01", currency: "EUR", kind: INVESTMENT, '
              'sources: ["synthetic-benchmark-source"] }) { slug } }')
    runs = 20
    for i in range(runs):
        b.gql(create, {"slug": f"bench-write-{os.getpid()}-{i}"}, token=args.token)
        elapsed, data = b.timed(BY_EVENT)
        after_write.append(elapsed)
        now = Decimal(data["totals"]["grandTotal"]["low"])
        exact &= now - before == Decimal("1000000.01")
        before = now
    after_write.sort()
    rows.append(f"| (g) totals by EVENT right after a write, {runs} writes | 1 | {statistics.median(after_write):.2f} ms | "
                f"{after_write[-1]:.2f} ms (max) | | 0 | | exact after every write: {'yes' if exact else 'NO'} |")

    peak = b.rss_mb("VmHWM")
    print(f"\n#### {label}: {count} commitments\n")
    if args.import_seconds:
        print(f"Import of the CSV set: {args.import_seconds} s, importer peak RSS {args.import_mb} MB.\n")
    print("| query | clients | p50 | p99 | throughput | errors | bare SQL (same database) | ratio | "
          "PostGraphile (same database) | ratio to PostGraphile |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    counted = b.scalar("SELECT COUNT(*) FROM counted_amounts")
    summed = b.scalar("SELECT COUNT(*) FROM counted_sums WHERE n_rows <> 0")
    print(f"\n(b) and (c) add up the write-time sums: {summed} rows of counted_sums, against {counted} counted rows.")
    print(f"\nServer RSS: {idle:.0f} MB idle (after start), {peak:.0f} MB peak (after all of the above).")
    print("Peak RSS after each load run: " + ", ".join(
        f"{name} ×{c}: {hwm:.0f} MB" for name, c, hwm in b.phase_peaks) + ".\n")
    if peer_url:
        print(f"PostGraphile 5.1.5 (bench/peer): peak RSS {b.rss_mb('VmHWM', args.peer_pid):.0f} MB; first answers "
              + ", ".join(f"{name}: {ms:.1f} ms" for name, ms in peer_firsts)
              + ". Its totals are naïve sums of the stored amounts by the aggregates plugin (no conversion, "
                "no double-count rule, no exclusions), not the same answer.\n")

    def target(text, ok, measured):
        held.append(ok)
        print(f"- {'held' if ok else '**not met**'}: {text} — {measured}")

    print(f"Targets ({label}):\n")
    a16, bare16 = page[16], bare_page[16]
    target("(a) throughput ≥ 25% of the bare SQL's at 16 clients", a16[2] >= 0.25 * bare16[1],
           f"{a16[2]:.0f}/s vs {bare16[1]:.0f}/s = {100 * a16[2] / bare16[1]:.0f}%")
    target("(a) p99 ≤ 3× p50 at 16 clients", a16[1] <= 3 * a16[0], f"p50 {a16[0]:.2f} ms, p99 {a16[1]:.2f} ms")
    c1, c16 = computed[1], computed[16]
    target("(a) computed each time: p99 ≤ 3× p50 at 16 clients", c16[1] <= 3 * c16[0],
           f"p50 {c16[0]:.2f} ms, p99 {c16[1]:.2f} ms")
    if peer_url:
        p1, p16 = peer_page[1], peer_page[16]
        target("(a) computed each time: ≥ 2× PostGraphile's throughput at 16 clients", c16[2] >= 2 * p16[2],
               f"{c16[2]:.0f}/s vs {p16[2]:.0f}/s = {c16[2] / p16[2]:.2f}×")
        target("(a) computed each time: 1-client p50 ≤ PostGraphile's", c1[0] <= p1[0],
               f"{c1[0]:.2f} ms vs {p1[0]:.2f} ms")
    for name in ("(b) totals by EVENT", "(c) totals by PLEDGER_COUNTRY × CURRENCY"):
        ours, bare = totals[(name, 16)]
        target(f"{name}: ≥ 50× the bare GROUP BY's throughput at 16 clients", ours[2] >= 50 * bare[1],
               f"{ours[2]:.0f}/s vs {bare[1]:.1f}/s = {ours[2] / bare[1]:.0f}×")
    for name in ("(b) totals by EVENT", "(c) totals by PLEDGER_COUNTRY × CURRENCY"):
        first, bare = firsts[name], totals[(name, 1)][1][0]
        target(f"{name}: first answer ≤ 1.2× the bare GROUP BY (1 client)", first <= 1.2 * bare,
               f"{first:.1f} ms vs {bare:.1f} ms = {first / bare:.2f}×")
    target("(g) totals right after a write ≤ 50 ms (median)", statistics.median(after_write) <= 50,
           f"{statistics.median(after_write):.1f} ms")
    target("(b), (c) exact after every write", exact, f"{runs} writes of 1000000.01 EUR, each seen exactly")
    target("(d) first answer within 1.2× the bare SQL over the derived table", ours_first <= 1.2 * bare_first,
           f"{ours_first:.2f} ms vs {bare_first:.2f} ms = {ours_first / bare_first:.2f}×")
    target("(e) a deep page costs the same as the first (within 1.5× at 1 client, both computed)",
           deep[1][0] <= 1.5 * first_computed[1][0],
           f"page {deep_page}: {deep[1][0]:.2f} ms, first page: {first_computed[1][0]:.2f} ms")
    target("server RSS ≤ 60 MB idle", idle <= 60, f"{idle:.0f} MB")
    target("server RSS ≤ 150 MB under the 16-client load", peak <= 150, f"{peak:.0f} MB")
    runs = {"(a)": [*page.values(), *computed.values()], "(e)": [*deep.values(), *first_computed.values()],
            "(b), (c)": [v[0] for v in totals.values()], "(f)": list(search.values())}
    failing = {name: sum(r[3] for r in results) for name, results in runs.items()}
    errors = sum(failing.values())
    target("no errors under load", errors == 0,
           f"{errors} errors" + "".join(f", {n} in {name}" for name, n in failing.items() if n))


if __name__ == "__main__":
    main()
