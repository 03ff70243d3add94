#!/usr/bin/env python3
"""Times GraphQL queries against a running pledgewatch: each query's first answer (not in
the totals cache) and the median of 20 more (cached while the data does not change).

Usage: measure.py http://127.0.0.1:PORT/graphql LABEL
Prints one Markdown table row per query.
"""
import json
import statistics
import sys
import time
import urllib.request

QUERIES = [
    ("totals, no grouping", '{ totals { grandTotal { low high count } } }'),
    ("totals by EVENT", '{ totals(groupBy: [EVENT]) { groups { low high } } }'),
    ("totals by PLEDGER", '{ totals(groupBy: [PLEDGER]) { groups { low high } } }'),
    ("totals by PLEDGER_COUNTRY x CURRENCY", '{ totals(groupBy: [PLEDGER_COUNTRY, CURRENCY]) { groups { low high } } }'),
    ("totals by MONTH, yearly-average FX", '{ totals(groupBy: [MONTH], fx: { method: YEARLY_AVERAGE }) { groups { low high } } }'),
    ("totals by PLEDGER as of 2025-06-30", '{ totals(groupBy: [PLEDGER], asOf: "2025-06-30") { groups { low high } } }'),
    ("50 commitments with pledger and sources", '{ commitments(first: 50) { nodes { slug pledger { name } sources { url } } } }'),
]


def run(url: str, query: str) -> float:
    body = json.dumps({"query": query}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    started = time.perf_counter()
    with urllib.request.urlopen(request) as response:
        answer = json.loads(response.read())
    elapsed = (time.perf_counter() - started) * 1000
    if "errors" in answer:
        sys.exit(f"{query}: {answer['errors']}")
    return elapsed


def main() -> None:
    url, label = sys.argv[1], sys.argv[2]
    for name, query in QUERIES:
        first = run(url, query)
        warm = statistics.median(run(url, query) for _ in range(20))
        print(f"| {label} | {name} | {first:.1f} ms | {warm:.1f} ms |")


if __name__ == "__main__":
    main()
