#!/usr/bin/env python3
"""Synthetic commitments for benchmarks, in pledgewatch's import format.

Usage: synth.py N [--seed S] > synth.json

The figures are made up (titles say so) and cite one synthetic source; they hang off the
reference data's real actors and events, so load data/reference.json first. One in five
is a part of an earlier headline (so the no-double-counting rules have work to do), one
in four is in US dollars on a date with an ECB rate in the reference data.
"""
import argparse
import json
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", type=int)
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    reference = json.loads((ROOT / "data" / "reference.json").read_text())
    actors = [a["slug"] for a in reference["actors"] if a["kind"] != "FOUNDATION"]
    events = [e["slug"] for e in reference["events"]]
    usd_dates = sorted({r["date"] for r in reference["exchange_rates"] if r["quote"] == "USD"})
    countries = ["FR", "DE", "US", "AE", "GB", "CA", "IN", "JP", None]
    sectors = ["AI infrastructure", "Research", "Start-ups", "Skills", None]
    headlines = []
    commitments = []
    for i in range(args.n):
        usd = rng.random() < 0.25
        on = rng.choice(usd_dates) if usd else f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        cents = rng.randint(1_000_00, 5_000_000_000_00)
        low = cents
        high = cents + (rng.randint(0, cents) if rng.random() < 0.3 else 0)
        record = {
            "slug": f"synthetic-{i}",
            "title": f"Synthetic benchmark commitment {i} (not a real figure)",
            "pledger": rng.choice(actors),
            "event": rng.choice(events),
            "announced_on": on,
            "amount_low": f"{low // 100}.{low % 100:02d}",
            "amount_high": f"{high // 100}.{high % 100:02d}",
            "currency": "USD" if usd else "EUR",
            "recipient_country": rng.choice(countries),
            "sector": rng.choice(sectors),
            "kind": "INVESTMENT",
            "status": rng.choice(["ANNOUNCED", "ANNOUNCED", "IN_PROGRESS", "DELIVERED", "WITHDRAWN"]),
            "sources": ["synthetic-benchmark-source"],
        }
        if headlines and rng.random() < 0.2:
            parent = rng.choice(headlines)
            record["parent"] = parent["slug"]
            record["relation"] = "PART_OF"
            record["event"] = parent["event"]
            record["currency"] = parent["currency"]
            record["announced_on"] = parent["announced_on"]
        elif rng.random() < 0.3:
            headlines.append(record)
        commitments.append(record)
    data = {
        "format": "pledgewatch/1",
        "description": f"{args.n} synthetic commitments for benchmarks (seed {args.seed}); not real figures",
        "sources": [
            {
                "slug": "synthetic-benchmark-source",
                "url": "https://example.org/pledgewatch-synthetic-benchmark",
                "publisher": "pledgewatch benchmark generator",
                "title": "Synthetic data for benchmarks (not a real source)",
            }
        ],
        "commitments": commitments,
    }
    json.dump(data, fp=__import__("sys").stdout)


if __name__ == "__main__":
    main()
