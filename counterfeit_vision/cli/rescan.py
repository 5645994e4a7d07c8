"""``counterfeit-vision rescan``: re-score what a catalogue change can reach in an evidence store."""

from __future__ import annotations

import argparse
from pathlib import Path

from counterfeit_vision.cli._options import default_index

__all__ = ["register"]


def register(sub) -> None:
    """Add the ``rescan`` subcommand to ``sub``."""
    p = sub.add_parser("rescan", help="write the current result of every listing in an evidence store, "
                                      "re-scoring only those a catalogue change can reach")
    p.add_argument("--store", required=True, metavar="DIR")
    p.add_argument("--catalog", required=True, metavar="DIR")
    p.add_argument("--index", metavar="DIR", help="reference index folder (default: indexes/<catalog name>)")
    p.add_argument("--out", required=True, metavar="RESULTS", help="results file (.jsonl or .parquet)")
    p.add_argument("--fusion-model", metavar="DIR", help="learned fusion model folder")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=cmd_rescan)


def cmd_rescan(args: argparse.Namespace) -> int:
    from counterfeit_vision.scan.rescan import RescanOptions, rescan

    outcome = rescan(RescanOptions(
        store=Path(args.store), catalog=Path(args.catalog),
        index_dir=Path(args.index) if args.index else default_index(Path(args.catalog)), out=Path(args.out),
        fusion_model=Path(args.fusion_model) if args.fusion_model else None, batch_size=max(1, args.batch_size),
        progress=not args.quiet))
    why = ", ".join(f"{n} {reason}" for reason, n in sorted(outcome.reasons.items()))
    print(f"re-scored {outcome.rescored} of {len(outcome.results)} listings" + (f" ({why})" if why else "")
          + f"; wrote {args.out}")
    return 0
