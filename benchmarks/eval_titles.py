"""Quality of the title engine: dev-set precision/recall and the genuine-title misuse rate.

Usage::

    python benchmarks/eval_titles.py [--data DIR] [--show-errors] [--real-catalog] [--extra-devset FILE ...]

1. ``benchmarks/title_devset.jsonl`` (hand-written, against the dev catalogue
   ``benchmarks/title_dev_catalog``): per evaluation category, precision and
   recall of ``misuse`` (brand, verdict) pairs, and exact-row accuracy (all
   findings' brand and verdict as expected, mentions included).
2. ``titles/genuine_titles.csv`` from the shared data (skipped when absent):
   the share of real genuine titles with any ``misuse`` finding, against a
   catalogue of simple-icons + the csv's brand column + the dev catalogue, and
   every flagged title so a person can judge it.
   ``benchmarks/title_devset_messy.jsonl``: the same, for the failure kinds of messy
   catalogues (split names, licensed merchandise, units, product lines, collaborations).
3. ``--real-catalog``: the same genuine titles against a catalogue written as a new user
   would submit it (:func:`bench_titles.write_real_catalog`: every simple-icons mark and
   every brand of the titles' ``brand`` column as its own ``brand.yaml``, nothing
   deduplicated or pre-marked, loaded with ``load_catalog``): the genuine-title misuse
   rate and the flagged titles listed by reason. A catalogue the loader refuses is
   reported with its problems, then scored with the clashing names dropped (as a user
   would have to) so the rate is still measured.
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

from bench_titles import DEV_CATALOG, build_lexicon_catalog, data_dir, write_real_catalog  # noqa: E402

from counterfeit_vision.catalog import Catalog, CatalogError, load_brand, load_catalog  # noqa: E402
from counterfeit_vision.titles import TitleMatcher  # noqa: E402

DEVSET = Path(__file__).resolve().parent / "title_devset.jsonl"
# Cases written for the failure kinds of real, messy catalogues (issue 22): split names, licensed
# merchandise, units equal to a short form, product lines implying their brand, collaborations.
MESSY_DEVSET = Path(__file__).resolve().parent / "title_devset_messy.jsonl"
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


def _load_deduplicated(root: Path) -> Catalog:
    """The catalogue with every name already claimed by an earlier brand dropped (what a
    user had to do while the loader refused shared names)."""
    import dataclasses

    taken: set[str] = set()
    brands = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        brand = load_brand(folder)
        if brand.name.casefold() in taken:
            continue
        aliases = tuple(a for a in brand.aliases if a.casefold() not in taken)
        taken.update(n.casefold() for n in (brand.name, *aliases))
        brands.append(dataclasses.replace(brand, aliases=aliases))
    return Catalog.from_brands(brands, root)


def evaluate_real_catalog(data: Path) -> None:
    """Genuine titles against a catalogue as submitted (see the module docstring, 3)."""
    import tempfile

    path = data / "titles" / "genuine_titles.csv"
    if not path.exists() or not (data / "simple_icons" / "simple-icons.json").exists():
        print(f"real catalogue: skipped (shared data not found at {data}; pass --data or set CV_SHARED_DATA)")
        return
    with tempfile.TemporaryDirectory(prefix="cv-real-catalog-") as tmp:
        root = Path(tmp) / "catalog"
        written = write_real_catalog(data, root)
        started = time.perf_counter()
        try:
            catalog = load_catalog(root)
            note = "loaded as written"
        except CatalogError as exc:
            print(f"\nreal catalogue: REFUSED by load_catalog ({len(exc.problems)} problems), e.g.:")
            for problem in exc.problems[:5]:
                print(f"  - {Path(problem.file).parent.name}: {problem.message}")
            catalog = _load_deduplicated(root)
            note = f"refused; scored with clashing names dropped ({written - len(catalog)} brands lost)"
        matcher = TitleMatcher.from_catalog(catalog)
        start_s = time.perf_counter() - started
        with open(path, encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        by_reason: dict[str, list[str]] = defaultdict(list)
        flagged = 0
        for row in rows:
            bad = [f for f in matcher.match(row["title"], category=row.get("category") or None)
                   if f.verdict == "misuse"]
            flagged += bool(bad)
            for f in bad:
                by_reason[f.reasons[0]].append(
                    f"[{row['source']}] {row['title']!r} -> {f.brand_id}:{'+'.join(f.reasons)} [{f.matched_text}]")
        print(f"\nreal catalogue: {written} brands written, {len(catalog)} loaded ({note}); "
              f"load + compile {start_s:.2f}s")
        print(f"genuine-title misuse rate: {flagged}/{len(rows)} = {flagged / len(rows):.2%} (target <= 0.20%)")
        for reason in sorted(by_reason, key=lambda r: -len(by_reason[r])):
            print(f"  {reason}: {len(by_reason[reason])} findings")
            for line in by_reason[reason]:
                print(f"    {line}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="shared data folder (default $CV_SHARED_DATA or ../shared/data)")
    parser.add_argument("--show-errors", action="store_true", help="list dev-set rows that differ")
    parser.add_argument("--real-catalog", action="store_true",
                        help="also score the genuine titles against the catalogue as a user would submit it")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    rows = [json.loads(line) for line in DEVSET.read_text(encoding="utf-8").splitlines() if line.strip()]
    matcher = TitleMatcher.from_catalog(load_catalog(DEV_CATALOG))
    print(f"dev set: {len(rows)} titles, dev catalogue {len(matcher.lexicon.brands)} brands")
    stats = evaluate_devset(matcher, rows, args.show_errors)
    print_devset(stats)
    messy = [json.loads(line) for line in MESSY_DEVSET.read_text(encoding="utf-8").splitlines() if line.strip()]
    print(f"\nmessy-catalogue dev cases: {len(messy)} titles ({MESSY_DEVSET.name}), same catalogue")
    print_devset(evaluate_devset(matcher, messy, args.show_errors))
    evaluate_genuine(data_dir(args.data))
    if args.real_catalog:
        evaluate_real_catalog(data_dir(args.data))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
