#!/usr/bin/env python3
"""Measures of the history benchmark (bench/history.sh), against a running server whose
database holds the synthetic set and its edits. Markdown on stdout.

- Totals by EVENT, first answers (each request with an `announcedFrom` of its own, so that
  no cache serves it): today, `knownAt` between the edit batches, `knownAt` now. Target
  (issue 17): a `knownAt` total within 2× of the same total without it, uncached.
- The first page of commitments (50, with pledger, event, sources), computed for each
  request: today and `knownAt` between the batches.
- `changes(since:)`, 50 a page, computed for each request, beside the commitments page.
  Target: in the time of a commitments page.
"""
import argparse
import datetime
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import Bench  # noqa: E402

TOTALS = ('query($from: Date, $at: DateTime) { totals(groupBy: [EVENT], knownAt: $at, filter: { announcedFrom: $from }) '
          '{ grandTotal { low high count } groups { low high } } }')
PAGE = ('query($at: DateTime) { commitments(first: 50, knownAt: $at) { nodes { slug title announcedOn '
        'amount { low high currency } pledger { name } event { name } sources { url } } } }')
CHANGES = ('query($since: DateTime) { changes(since: $since, first: 50) { nodes { at actor action entity slug summary } '
           'pageInfo { hasNextPage endCursor } } }')


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--backend", required=True)
    parser.add_argument("--pid", required=True, type=int)
    parser.add_argument("--mid", required=True, help="a moment between the edit batches")
    parser.add_argument("--since", required=True, help="a moment before the edits")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--edits", default="")
    args = parser.parse_args()
    args.db = ""
    b = Bench(args)
    count = b.gql("{ commitments(first: 1) { totalCount } }")["commitments"]["totalCount"]
    now = datetime.datetime.now(datetime.timezone.utc).isoformat()
    day = datetime.date(1990, 1, 1)

    def first_answers(at, n=7):
        nonlocal day
        timings, data = [], None
        for _ in range(n):
            day += datetime.timedelta(days=1)  # a question no cache has seen
            elapsed, data = b.timed(TOTALS, {"from": day.isoformat(), "at": at})
            timings.append(elapsed)
        return statistics.median(timings), data["totals"]["grandTotal"]

    today, today_total = first_answers(None)
    mid, mid_total = first_answers(args.mid)
    latest, latest_total = first_answers(now)
    page = {c: b.wrk(PAGE, c, uncached=True) for c in (1, 16)}
    page_known = {c: b.wrk(PAGE, c, {"at": args.mid}, uncached=True) for c in (1, 16)}
    changes = {c: b.wrk(CHANGES, c, {"since": args.since}, uncached=True) for c in (1, 16)}
    listed = b.gql(CHANGES, {"since": args.since})["changes"]["nodes"]

    print(f"\n#### {args.backend}: {count} commitments, {args.edits}\n")
    print("| measure | clients | p50 | p99 | throughput | errors |")
    print("|---|---|---|---|---|---|")
    print(f"| totals by EVENT, first answer (median of 7), today | 1 | {today:.1f} ms | | | |")
    print(f"| the same, `knownAt` between the edit batches | 1 | {mid:.1f} ms ({mid / today:.2f}×) | | | |")
    print(f"| the same, `knownAt` now | 1 | {latest:.1f} ms ({latest / today:.2f}×) | | | |")
    for name, runs in (("first page of 50 commitments, computed each time", page),
                       ("the same page, `knownAt` between the edit batches", page_known),
                       ("`changes(since:)`, 50 a page, computed each time", changes)):
        for c, (p50, p99, rate, errors) in runs.items():
            print(f"| {name} | {c} | {p50:.2f} ms | {p99:.2f} ms | {rate:.1f}/s | {errors} |")
    print(f"\nTotals: today {today_total['low']}–{today_total['high']} over {today_total['count']}; "
          f"known between the batches {mid_total['low']}–{mid_total['high']}; known now "
          f"{latest_total['low']}–{latest_total['high']} (equal to today's: "
          f"{'yes' if latest_total == today_total else 'NO'}). The changes feed's first page lists "
          f"{len(listed)} entries, newest: {listed[0]['summary'] if listed else '(none)'}.\n")
    print(f"Server peak RSS {b.rss_mb('VmHWM'):.0f} MB.\n")
    print(f"Targets ({args.backend}):\n")
    held = mid <= 2 * today and latest <= 2 * today
    print(f"- {'held' if held else '**not met**'}: a `knownAt` total within 2× of the same total without it, "
          f"uncached — {mid:.1f} and {latest:.1f} ms against {today:.1f} ms")
    held = changes[1][0] <= page[1][0] and changes[16][2] >= page[16][2]
    print(f"- {'held' if held else '**not met**'}: `changes(since:)` pages in the time of a commitments page — "
          f"p50 {changes[1][0]:.2f} ms against {page[1][0]:.2f} ms; {changes[16][2]:.0f}/s against "
          f"{page[16][2]:.0f}/s at 16 clients")


if __name__ == "__main__":
    main()
