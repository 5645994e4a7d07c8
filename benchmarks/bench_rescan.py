"""Catalogue re-scans with the evidence store (``scan --store``, ``rescan``), in one run.

    python benchmarks/bench_rescan.py [--data DIR] [--listings 1000] [--reuse 0.30] [--work DIR] [--device cpu]

Data (``../shared/data`` or ``CV_SHARED_DATA``; skips cleanly when absent): the listings and
catalogue of ``bench_scan.py`` (its functions, imported): FlickrLogos-27 photos and real titles,
a catalogue of 22 brands (5 held out), with ``--reuse`` of the photos the very same file as one of
an earlier listing. Then, each a whole ``scan_file`` / ``rescan`` (start-up included):

1. scan without a store, then the same scan with a new store (the store's cost on a first scan;
   repeated photos are looked at once in both, by the in-process memo), results byte-identical;
2. the same scan again with the warm store (every listing a lookup);
3. one held-out brand onboarded (``brand add``), then ``rescan`` against a full re-scan without
   the store: share of listings re-scored, speed-up, and whether the results are identical;
4. store size per photo.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import benchmarks.bench_scan as bench_scan  # noqa: E402
from benchmarks.eval_logos import default_data, load_flickr, split  # noqa: E402


def timed_scan(listings: Path, catalog: Path, index: Path, out: Path, store: Path | None, device: str) -> float:
    from counterfeit_vision.detector import DetectorConfig
    from counterfeit_vision.scan.runner import ScanOptions, scan_file

    t = time.perf_counter()
    scan_file(ScanOptions(listings=listings, catalog=catalog, out=out, index_dir=index, store=store,
                          config=DetectorConfig(device=device), progress=False))
    return time.perf_counter() - t


def add_brand(data: dict, folder: Path, brand: str, catalog: Path, index: Path, work: Path, device: str) -> int:
    """Onboard ``brand`` (half of its photos) into the catalogue and the index; returns its images."""
    from counterfeit_vision.embedders import create_embedder
    from counterfeit_vision.index.onboarding import onboard_brand_folder
    from counterfeit_vision.index.reference import ReferenceIndex

    photos = sorted(img for img, r in data.items() if r["brands"] == {brand})
    random.Random(1).shuffle(photos)
    staging = work / "new_brand"
    n = bench_scan.build_catalog(data, folder, {brand: photos[:max(1, len(photos) // 2)]}, staging)
    emb = create_embedder("auto", device=device)
    idx = ReferenceIndex.load(index, expect=emb.info)
    onboard_brand_folder(staging / brand, catalog_dir=catalog, index=idx, index_dir=index, embedder=emb)
    return n


def without_errors(path: Path) -> str:
    """Results rows that come from listings (rows that are not listings are not stored)."""
    return "".join(x + "\n" for x in path.read_text(encoding="utf-8").splitlines() if not json.loads(x)["error"])


def differing(a: Path, b: str | Path) -> tuple[int, int]:
    """(rows whose bytes differ, rows whose decision or brand differ) between two results texts."""
    ta = without_errors(a).splitlines()
    tb = (b.read_text(encoding="utf-8") if isinstance(b, Path) else b).splitlines()
    rows = [(json.loads(x), json.loads(y)) for x, y in zip(ta, tb)]
    return (sum(x != y for x, y in rows) + abs(len(ta) - len(tb)),
            sum((x["decision"], x["brand"]) != (y["decision"], y["brand"]) for x, y in rows))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=default_data())
    ap.add_argument("--listings", type=int, default=1000)
    ap.add_argument("--reuse", type=float, default=0.30, help="share of photos reused from an earlier listing")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--work", type=Path, help="keep the catalogue, index, photos and store here")
    args = ap.parse_args(argv)
    folder = args.data / "flickr_logos_27_train"
    if not (folder / "annotations.txt").is_file() or not (args.data / "titles" / "genuine_titles.csv").is_file():
        print(f"skip: shared data not found at {args.data} (pass --data DIR or set CV_SHARED_DATA)")
        return 0
    work = args.work or Path(tempfile.mkdtemp(prefix="cv-bench-rescan-"))
    catalog, index, store = work / "catalog", work / "index", work / "store"
    for p in (catalog, index, store):
        shutil.rmtree(p, ignore_errors=True)
    data = load_flickr(folder)
    _, held, refs, queries, negatives = split(data, args.seed, 5, 0.5)
    n_images = bench_scan.build_catalog(data, folder, refs, catalog)
    bench_scan.REUSE_SHARE = args.reuse  # build_listings reads it: photos that are an earlier listing's file
    listings, _ = bench_scan.build_listings(folder, args.data / "titles" / "genuine_titles.csv", refs, queries,
                                            negatives, args.listings, args.seed, work / "photos")
    src = work / "listings.jsonl"
    src.write_text("".join(json.dumps(x) + "\n" for x in listings))
    photos = [p for x in listings for p in x["images"]]
    print(f"catalogue: {len(refs)} brands, {n_images} images; listings: {len(listings)} with {len(photos)} photos "
          f"({len(set(photos))} distinct files, {1 - len(set(photos)) / len(photos):.0%} repeats)", flush=True)
    bench_scan.onboard(catalog, index, args.device, n_images)

    t_plain = timed_scan(src, catalog, index, work / "plain.jsonl", None, args.device)
    t_first = timed_scan(src, catalog, index, work / "first.jsonl", store, args.device)
    same_first = (work / "plain.jsonl").read_bytes() == (work / "first.jsonl").read_bytes()
    t_warm = timed_scan(src, catalog, index, work / "warm.jsonl", store, args.device)
    same_warm = (work / "plain.jsonl").read_bytes() == (work / "warm.jsonl").read_bytes()
    print(f"scan without store {t_plain:.1f} s; first scan with store {t_first:.1f} s "
          f"({t_plain / t_first:.2f}x, identical results: {same_first}); warm repeat {t_warm:.1f} s "
          f"({t_first / t_warm:.1f}x the first scan, identical: {same_warm})", flush=True)
    first_diff, warm_diff = (differing(work / "plain.jsonl", work / f"{x}.jsonl") for x in ("first", "warm"))
    print(f"  rows differing from the scan without store (bytes, decision or brand): first {first_diff}, "
          f"warm {warm_diff}")

    new = held[0]
    add_brand(data, folder, new, catalog, index, work, args.device)
    from counterfeit_vision.scan.rescan import RescanOptions, rescan

    t = time.perf_counter()
    outcome = rescan(RescanOptions(store=store, catalog=catalog, index_dir=index, out=work / "delta.jsonl",
                                   progress=False))
    t_delta = time.perf_counter() - t
    t_full = timed_scan(src, catalog, index, work / "full.jsonl", None, args.device)
    identical = without_errors(work / "full.jsonl") == (work / "delta.jsonl").read_text(encoding="utf-8")
    n = len(outcome.results)
    print(f"brand {new} added: delta re-scan {t_delta:.1f} s re-scored {outcome.rescored} of {n} listings "
          f"({outcome.rescored / max(1, n):.1%}; {outcome.reasons}); full re-scan {t_full:.1f} s; "
          f"speed-up {t_full / t_delta:.1f}x; identical results: {identical}; rows differing (bytes, decision or "
          f"brand): {differing(work / 'full.jsonl', work / 'delta.jsonl')}")
    from counterfeit_vision.store import DB_NAME

    size = sum(p.stat().st_size for p in store.glob(f"{DB_NAME}*"))
    with _counts(store / DB_NAME) as counts:
        print(f"store: {size / 1e6:.1f} MB for {counts['photos']} photos and {counts['listings']} listings = "
              f"{size / max(1, counts['photos']) / 1e3:.0f} kB per photo")
    return 0


class _counts:
    """Row counts of a store file, read-only (opening it as an EvidenceStore needs its stamp)."""

    def __init__(self, path: Path):
        import sqlite3

        self.con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)

    def __enter__(self) -> dict:
        return {t: self.con.execute(f"select count(*) from {t}").fetchone()[0] for t in ("photos", "listings")}

    def __exit__(self, *exc) -> None:
        self.con.close()


if __name__ == "__main__":
    sys.exit(main())
