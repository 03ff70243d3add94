#!/usr/bin/env python3
"""A synthetic CSV set for benchmarks, streamed to disk row by row (flat memory at any N).

Usage: synth_csv.py N OUT_DIR [--seed S] [--actors A] [--events E]

Deterministic for a given seed. Everything it writes is made up and says so: actors are
"Synthetic actor 17", events "Synthetic event 4", commitments "(not a real figure)", all
citing one synthetic source. Exchange rates for GBP and JPY are synthetic too (flagged by
that source); the US dollar uses the reference data's real ECB rates, so load
data/reference.json first.

Shape (per commitment, by chance): 30% are headline packages, 20% are parts of an earlier
headline in the last 5000 rows (same currency, below the headline's amount), 30% are ranges,
1 in 50 has an overlap with an earlier commitment, 1 in 5 has a two-row status history.
Currencies: EUR 55%, USD 25%, GBP 12%, JPY 8%.
"""
import argparse
import csv
import json
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = "synthetic-benchmark-source"
SECTORS = ["AI infrastructure", "Research", "Start-ups", "Skills", "Compute", "Health"]
COUNTRIES = ["FR", "DE", "US", "AE", "GB", "CA", "IN", "JP", "IT", "ES", "NL", "SE", ""]
KINDS = ["GOVERNMENT", "COMPANY", "INVESTMENT_FUND", "PUBLIC_BANK", "FOUNDATION", "INTERNATIONAL_ORG", "OTHER"]


def money(cents: int, exponent: int) -> str:
    if exponent == 0:
        return str(cents // 100)
    return f"{cents // 100}.{cents % 100:02d}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--actors", type=int, default=20_000)
    parser.add_argument("--events", type=int, default=200)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    reference = json.loads((ROOT / "data" / "reference.json").read_text())
    usd_dates = sorted({r["date"] for r in reference["exchange_rates"] if r["quote"] == "USD"})

    with open(out / "sources.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["slug", "url", "publisher", "title"])
        w.writerow([SOURCE, "https://example.org/pledgewatch-synthetic-benchmark",
                    "pledgewatch benchmark generator", "Synthetic data for benchmarks (not a real source)"])
    with open(out / "actors.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["slug", "name", "kind", "country", "sources"])
        for i in range(args.actors):
            w.writerow([f"synthetic-actor-{i}", f"Synthetic actor {i} (not real)", KINDS[i % len(KINDS)],
                        COUNTRIES[i % len(COUNTRIES)], SOURCE])
    with open(out / "events.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["slug", "name", "kind", "city", "country", "start_date", "end_date", "sources"])
        for i in range(args.events):
            day = usd_dates[i % len(usd_dates)]
            w.writerow([f"synthetic-event-{i}", f"Synthetic event {i} (not real)", "SUMMIT", "Nowhere", "FR",
                        day, day, SOURCE])
    # Synthetic GBP and JPY rates on the dates the US dollar has real ones: not real figures.
    with open(out / "exchange_rates.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["date", "base", "quote", "rate", "sources"])
        for k, day in enumerate(usd_dates):
            w.writerow([day, "EUR", "GBP", f"0.83{k % 10}0", SOURCE])
            w.writerow([day, "EUR", "JPY", f"16{k % 10}.50", SOURCE])

    recent = []  # (slug, currency, cents, date, event) of recent headlines: bounded memory
    with open(out / "commitments.csv", "w", newline="") as fc, \
            open(out / "status_history.csv", "w", newline="") as fs, \
            open(out / "overlaps.csv", "w", newline="") as fo:
        wc, ws, wo = csv.writer(fc), csv.writer(fs), csv.writer(fo)
        wc.writerow(["slug", "title", "pledger", "event", "announced_on", "amount_low", "amount_high", "currency",
                     "recipient_country", "sector", "kind", "status", "parent", "relation", "sources"])
        ws.writerow(["commitment", "status", "effective_on", "sources"])
        wo.writerow(["later", "earlier", "amount_low", "amount_high", "currency", "note", "sources"])
        for i in range(args.n):
            slug = f"synthetic-{i}"
            r = rng.random()
            currency = "EUR" if r < 0.55 else "USD" if r < 0.80 else "GBP" if r < 0.92 else "JPY"
            exponent = 0 if currency == "JPY" else 2
            day = rng.choice(usd_dates)
            event = f"synthetic-event-{rng.randrange(args.events)}"
            cents = rng.randint(1_000_00, 5_000_000_000_00)
            parent = relation = ""
            if recent and rng.random() < 0.2:
                h_slug, currency, h_cents, day, event = rng.choice(recent)
                exponent = 0 if currency == "JPY" else 2
                parent, relation = h_slug, "PART_OF"
                cents = max(100, h_cents // rng.randint(3, 20))
            elif rng.random() < 0.3:
                recent.append((slug, currency, cents, day, event))
                if len(recent) > 5000:
                    recent.pop(0)
            high = cents + (rng.randint(0, cents) if not parent and rng.random() < 0.3 else 0)
            history = rng.random() < 0.2
            status = "CONFIRMED" if history else rng.choice(["ANNOUNCED", "ANNOUNCED", "IN_PROGRESS", "DELIVERED"])
            wc.writerow([slug, f"Synthetic commitment {i} (not a real figure)",
                         f"synthetic-actor-{rng.randrange(args.actors)}", event, day,
                         money(cents, exponent), money(high, exponent), currency, rng.choice(COUNTRIES),
                         rng.choice(SECTORS), "INVESTMENT", status, parent, relation, SOURCE])
            if history:
                ws.writerow([slug, "ANNOUNCED", day, SOURCE])
                ws.writerow([slug, "CONFIRMED", "2025-03-01", SOURCE])
            if i > 100 and not parent and rng.random() < 0.02:
                earlier = rng.randrange(max(0, i - 1000), i)
                wo.writerow([slug, f"synthetic-{earlier}", "", money(min(cents, 1_000_000_00), 2), "EUR",
                             "synthetic overlap (not real)", SOURCE])


if __name__ == "__main__":
    main()
