"""``counterfeit-vision scan``: score a listings JSONL, on this machine or on Ray (one path: ``scan.runner``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from counterfeit_vision.cli._options import add_model_options, default_index, detector_config

__all__ = ["register", "summary_table"]


def register(sub) -> None:
    """Add the ``scan`` subcommand (score a JSONL file of listings) to ``sub``."""
    scan = sub.add_parser("scan", help="score listings from a JSONL, CSV or Parquet file")
    scan.add_argument("listings", metavar="LISTINGS.jsonl")
    scan.add_argument("--catalog", required=True, metavar="DIR")
    scan.add_argument("--out", required=True, metavar="RESULTS.jsonl")
    scan.add_argument("--index", metavar="DIR", help="reference index folder (default: indexes/<catalog name>)")
    scan.add_argument("--batch-size", type=int, default=16)
    scan.add_argument("--ocr", default="rapidocr", choices=("rapidocr", "easyocr", "none"),
                      help="OCR backend for text in photos (rapidocr: PP-OCR, Latin and Chinese script; "
                           "easyocr: English only; none: no OCR)")
    scan.add_argument("--no-ocr", action="store_true", help="skip OCR of photos (same as --ocr none)")
    scan.add_argument("--thorough", action="store_true",
                      help="research: the exhaustive pipeline (OCR of every photo at full canvas, every stage "
                           "on every photo) that the fast default is measured against")
    scan.add_argument("--no-images", action="store_true", help="skip photo matching")
    scan.add_argument("--image-root", action="append", metavar="DIR",
                      help="read listing photos only from inside DIR (repeatable); recommended for listings "
                           "from untrusted sources")
    scan.add_argument("--report", metavar="report.html", help="write an HTML evidence page")
    scan.add_argument("--feedback-db", metavar="FILE", help="SQLite feedback store to record decisions in")
    scan.add_argument("--fusion-model", metavar="DIR", help="learned fusion model folder")
    scan.add_argument("--store", metavar="DIR",
                      help="evidence store (SQLite): photos and listings seen before are looked up, a killed "
                           "scan resumes, `rescan` re-scores what a catalogue change can reach")
    scan.add_argument("--engine", default="local", choices=("local", "ray"),
                      help="local: this process; ray: a Ray cluster (pip install 'counterfeit-vision[distributed]')")
    scan.add_argument("--ray-address", default=None, help="Ray cluster address (default: start a local one)")
    scan.add_argument("--actors", type=int, default=1, help="Detector actors for --engine ray")
    scan.add_argument("-q", "--quiet", action="store_true")
    add_model_options(scan)
    scan.set_defaults(func=cmd_scan)


def cmd_scan(args: argparse.Namespace) -> int:
    from counterfeit_vision.scan.runner import ScanOptions, scan_file

    opts = ScanOptions(
        listings=Path(args.listings), catalog=Path(args.catalog), out=Path(args.out),
        index_dir=Path(args.index) if args.index else default_index(Path(args.catalog)),
        config=detector_config(args), batch_size=args.batch_size,
        fusion_model=_path(args.fusion_model), feedback_db=_path(args.feedback_db), report=_path(args.report),
        engine=args.engine, ray_address=args.ray_address, actors=args.actors, progress=not args.quiet,
        store=_path(args.store))
    outcome = scan_file(opts)
    if not args.quiet:
        print(summary_table([r.to_dict() for r in outcome.results]))
        print(f"\nwrote {len(outcome.results)} results to {args.out} "
              f"(engine: {args.engine}, embedder: {outcome.model_info.get('embedder', 'off')})")
    return 0


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def summary_table(rows: list[dict]) -> str:
    """A fixed-width table of result rows (their JSON form): one line each, then counts per decision."""
    lines = [f"{'id':28} {'decision':9} {'conf':>5}  {'brand':10} top evidence / error"]
    lines.append("-" * 100)
    for r in rows:
        top = r["error"] or (r["evidence"][0]["detail"] if r["evidence"] else "; ".join(r.get("notes", [])[:1]))
        lines.append(f"{r['id'][:28]:28} {r['decision']:9} {r['confidence']:5.2f}  "
                     f"{(r['brand'] or '-')[:10]:10} {top[:60]}")
    counts = {d: sum(r["decision"] == d for r in rows) for d in ("takedown", "review", "pass")}
    errors = sum(r["error"] is not None for r in rows)
    lines.append("-" * 100)
    lines.append("  ".join(f"{d}: {n}" for d, n in counts.items()) + f"  errors: {errors}")
    return "\n".join(lines)
