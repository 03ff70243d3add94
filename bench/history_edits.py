#!/usr/bin/env python3
"""Edit batches for the history benchmark (bench/history.sh): re-imports of commitments of a
synthetic set (bench/synth_csv.py) with their high amount raised by one unit.

Usage: history_edits.py SET_DIR OUT_DIR BATCHES PER_BATCH

Writes OUT_DIR/batch-0 … batch-(BATCHES-1), each a CSV set of PER_BATCH commitments
(commitments.csv alone). Batch k raises the figures of its rows by one unit, so a total
known between two batches differs from today's. Only commitments that a re-import changes
by their amount alone are taken: no parent, no parts, no status history, no overlap (the
others' families and histories would be rewritten too, which is not what is measured).
Rows are spread over the whole set (every k-th candidate), not the newest only.
"""
import csv
import sys
from pathlib import Path


def raised(amount: str) -> str:
    if "." in amount:
        whole, cents = amount.split(".")
        return f"{int(whole) + 1}.{cents}"
    return str(int(amount) + 1)


def main() -> None:
    set_dir, out, batches, per_batch = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    excluded = set()
    with open(set_dir / "status_history.csv", newline="") as f:
        excluded.update(row["commitment"] for row in csv.DictReader(f))
    with open(set_dir / "overlaps.csv", newline="") as f:
        for row in csv.DictReader(f):
            excluded.update((row["later"], row["earlier"]))
    candidates = 0
    with open(set_dir / "commitments.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row["parent"]:
                excluded.add(row["parent"])
    with open(set_dir / "commitments.csv", newline="") as f:
        for row in csv.DictReader(f):
            if not row["parent"] and row["slug"] not in excluded:
                candidates += 1
    wanted = batches * per_batch
    if candidates < wanted:
        sys.exit(f"only {candidates} commitments can be edited alone, {wanted} wanted")
    stride = candidates // wanted
    writers, files = [], []
    for k in range(batches):
        (out / f"batch-{k}").mkdir(parents=True, exist_ok=True)
        files.append(open(out / f"batch-{k}" / "commitments.csv", "w", newline=""))
    written = seen = 0
    with open(set_dir / "commitments.csv", newline="") as f:
        reader = csv.DictReader(f)
        for file in files:
            writer = csv.DictWriter(file, fieldnames=reader.fieldnames)
            writer.writeheader()
            writers.append(writer)
        for row in reader:
            if row["parent"] or row["slug"] in excluded:
                continue
            seen += 1
            if seen % stride or written >= wanted:
                continue
            row["amount_high"] = raised(row["amount_high"])
            writers[written % batches].writerow(row)
            written += 1
    for file in files:
        file.close()
    print(f"{written} edits in {batches} batches ({candidates} candidates)", file=sys.stderr)


if __name__ == "__main__":
    main()
