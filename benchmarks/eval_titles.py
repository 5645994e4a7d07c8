"""Quality of the title engine: dev-set precision/recall and the genuine-title misuse rate.

Usage::

    python benchmarks/eval_titles.py [--data DIR] [--show-errors]

1. ``benchmarks/title_devset.jsonl`` (hand-written, against the dev catalogue
   ``benchmarks/title_dev_catalog``): per evaluation category, precision and
   recall of ``misuse`` (brand, verdict) pairs, and exact-row accuracy (all
   findings' brand and verdict as expected, mentions included).
2. ``titles/genuine_titles.csv`` from the shared data (skipped when absent):
   the share of real genuine titles with any ``misuse`` finding, against a
   catalogue of simple-icons + the csv's brand column + the dev catalogue, and
   every flagged title so a person can judge it.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_titles import DEV_CATALOG, build_lexicon_catalog, data_dir  # noqa: E402

from counterfeit_vision.catalog import load_catalog  # noqa: E402
from counterfeit_vision.titles import TitleMatcher  # noqa: E402

DEVSET = Path(__file__).resolve().parent / "title_devset.jsonl"
log = logging.getLogger("eval_titles")


def _pairs(findings) -> set[tuple[str, str]]:
    return {(f["brand_id"], f["verdict"]) if isinstance(f, dict) else (f.brand_id, f.verdict) for f in findings}


def evaluate_devset(matcher: TitleMatcher, rows: list[dict], show_errors: bool) -> dict[str, dict]:
    """Per-category counts: misuse tp/fp/fn and exact-row matches."""
    stats: dict[str, dict] = defaultdict(lambda: dict(n=0, tp=0, fp=0, fn=0, exact=0))
    for row in rows:
        got = _pairs(matcher.match(row["title"]))
        want = _pairs(row["expected"])
        s = stats[row["category"]]
        s["n"] += 1
        got_m = {p for p in got if p[1] == "misuse"}
        want_m = {p for p in want if p[1] == "misuse"}
        s["tp"] += len(got_m & want_m)
        s["fp"] += len(got_m - want_m)
        s["fn"] += len(want_m - got_m)
        s["exact"] += got == want
        if show_errors and got != want:
            detail = [(f.brand_id, f.verdict, f.reasons) for f in matcher.match(row["title"])]
            print(f"  [{row['category']}] {row['title']!r}\n      want {sorted(want)} got {detail}")
    return stats


def _ratio(a: int, b: int) -> str:
    return f"{a / b:.3f}" if b else "  -  "


def print_devset(stats: dict[str, dict]) -> None:
    print(f"{'category':32} {'n':>4} {'misuse P':>9} {'misuse R':>9} {'exact':>7}")
    total = dict(n=0, tp=0, fp=0, fn=0, exact=0)
    for cat in sorted(stats):
        s = stats[cat]
        for k in total:
            total[k] += s[k]
        print(f"{cat:32} {s['n']:4d} {_ratio(s['tp'], s['tp'] + s['fp']):>9} "
              f"{_ratio(s['tp'], s['tp'] + s['fn']):>9} {_ratio(s['exact'], s['n']):>7}")
    t = total
    print(f"{'ALL':32} {t['n']:4d} {_ratio(t['tp'], t['tp'] + t['fp']):>9} "
          f"{_ratio(t['tp'], t['tp'] + t['fn']):>9} {_ratio(t['exact'], t['n']):>7}")


def evaluate_genuine(data: Path) -> None:
    path = data / "titles" / "genuine_titles.csv"
    if not path.exists():
        print(f"genuine titles: skipped ({path} not found; pass --data or set CV_SHARED_DATA)")
        return
    catalog = build_lexicon_catalog(data)
    started = time.perf_counter()
    matcher = TitleMatcher.from_catalog(catalog)
    compile_s = time.perf_counter() - started
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    flagged, mentioned = [], 0
    for row in rows:
        findings = matcher.match(row["title"], category=row.get("category") or None)
        mentioned += bool(findings)
        bad = [f for f in findings if f.verdict == "misuse"]
        if bad:
            flagged.append((row, bad))
    rate = len(flagged) / len(rows)
    print(f"\ngenuine titles: {len(rows)} titles, catalogue {len(catalog)} brands "
          f"(compiled in {compile_s:.2f}s); with any finding {mentioned}; "
          f"flagged misuse {len(flagged)} = {rate:.2%} (target <= 0.50%)")
    for row, bad in flagged:
        detail = "; ".join(f"{f.brand_id}:{'+'.join(f.reasons)} [{f.matched_text}]" for f in bad)
        print(f"  [{row['source']}] {row['title']!r} -> {detail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="shared data folder (default $CV_SHARED_DATA or ../shared/data)")
    parser.add_argument("--show-errors", action="store_true", help="list dev-set rows that differ")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    rows = [json.loads(line) for line in DEVSET.read_text(encoding="utf-8").splitlines() if line.strip()]
    matcher = TitleMatcher.from_catalog(load_catalog(DEV_CATALOG))
    print(f"dev set: {len(rows)} titles, dev catalogue {len(matcher.lexicon.brands)} brands")
    stats = evaluate_devset(matcher, rows, args.show_errors)
    print_devset(stats)
    evaluate_genuine(data_dir(args.data))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
