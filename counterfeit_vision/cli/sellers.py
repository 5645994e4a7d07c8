"""CLI: ``counterfeit-vision sellers RESULTS --out FILE`` and ``counterfeit-vision testbuy RESULTS --budget N``.

``sellers`` writes one JSON row per seller of the results file::

    {"seller_id", "risk", "network_id", "reasons": [...], "links": [{"seller_id", "kind", "evidence"}]}

``testbuy`` writes a CSV of the listings to buy, best first, with the reason for each pick.
Both read the seller fields a results file does not carry (store name, account age, price,
sales, hashed contact and payment identifiers) from ``--listings`` when given. Unreadable
results rows are skipped with a note on stderr; exit code 0 when the command ran, 2 for a
missing file or a bad option.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

from counterfeit_vision.errors import UsageError

__all__ = ["register"]


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("results", type=Path, metavar="RESULTS", help="results JSONL of a scan")
    p.add_argument("--listings", type=Path, metavar="FILE",
                   help="the scanned listings JSONL: store names, URLs, account age, price, sales, contact and "
                        "payment identifiers (hashed on reading)")
    p.add_argument("--feedback-db", type=Path, metavar="FILE", help="feedback store: confirmed takedowns, appeals")
    p.add_argument("--catalog", type=Path, metavar="DIR", help="brand catalogue (authorised sellers)")
    p.add_argument("--store", type=Path, metavar="DIR",
                   help="photo-evidence store of past scans (photo hashes across listings); ignored with a note "
                        "when absent or not supported by this version")
    p.add_argument("--phash-bits", type=int, default=6, help="pHash Hamming distance for the same photo (default 6)")
    p.add_argument("--max-sellers", type=int, default=8,
                   help="a photo, identifier or name shared by more sellers is stock and links none (default 8)")


def register(subparsers) -> None:
    """Add the ``sellers`` and ``testbuy`` subcommands."""
    sp = subparsers.add_parser("sellers", help="seller risk and networks of dummy storefronts, one row per seller",
                               description=__doc__.split("\n\n")[1])
    _common(sp)
    sp.add_argument("--out", required=True, type=Path, metavar="FILE", help="sellers JSONL")
    sp.add_argument("--report", type=Path, metavar="FILE",
                    help="also write the evidence page, each card showing its seller's risk, network and links")
    sp.set_defaults(func=cmd_sellers)
    tb = subparsers.add_parser("testbuy", help="rank listings for test purchases by expected value (CSV)")
    _common(tb)
    tb.add_argument("--budget", required=True, type=int, metavar="N", help="number of purchases")
    tb.add_argument("--per-network", type=int, default=1, metavar="N",
                    help="listings per seller network at most (default 1)")
    tb.add_argument("--out", type=Path, default=Path("testbuy.csv"), metavar="FILE", help="CSV (default testbuy.csv)")
    tb.set_defaults(func=cmd_testbuy)


def _analyse(args):
    from counterfeit_vision.sellers.analysis import analyse
    from counterfeit_vision.sellers.networks import NetworkConfig

    for name in ("results", "listings", "feedback_db"):
        p = getattr(args, name)
        if p is not None and not p.is_file():
            raise UsageError(f"{name.replace('_', '-')} file not found: {p}")
    if args.catalog is not None and not args.catalog.is_dir():
        raise UsageError(f"catalogue folder not found: {args.catalog}")
    try:
        config = NetworkConfig(phash_bits=args.phash_bits, max_sellers=args.max_sellers)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.store is not None:
        print(f"note: --store {args.store} ignored: this version builds networks from the results' photo hashes",
              file=sys.stderr)
    catalog = None
    if args.catalog is not None:
        from counterfeit_vision.catalog import load_catalog

        catalog = load_catalog(args.catalog)
    analysis = analyse(args.results, listings=args.listings, feedback_db=args.feedback_db, catalog=catalog,
                       network_config=config)
    for note in analysis.notes:
        print(f"note: {note}", file=sys.stderr)
    return analysis, catalog


def cmd_sellers(args) -> int:
    from counterfeit_vision._atomic import atomic_write
    from counterfeit_vision.sellers.analysis import seller_rows

    analysis, catalog = _analyse(args)
    rows = seller_rows(analysis)
    with atomic_write(args.out) as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(rows)} sellers, {len(analysis.networks.members)} networks, {len(analysis.networks.links)} links "
          f"-> {args.out}")
    if args.report is not None:
        from counterfeit_vision.report import write_report

        write_report(analysis.results, args.report, catalog=catalog, listings=list(analysis.listings.values()),
                     sellers={r["seller_id"]: r for r in rows})
        print(f"evidence page -> {args.report}")
    return 0


def cmd_testbuy(args) -> int:
    from counterfeit_vision._atomic import atomic_write
    from counterfeit_vision.sellers.testbuy import TESTBUY_COLUMNS, TestBuyConfig, rank_test_buys

    if args.budget < 0 or args.per_network < 1:
        raise UsageError("--budget must be >= 0 and --per-network >= 1")
    analysis, _ = _analyse(args)
    picks = rank_test_buys(analysis.records, args.budget, risks=analysis.risks, networks=analysis.networks,
                           decided_listings={v.listing_id for v in analysis.verdicts},
                           sellers_with_verdicts={v.seller_id for v in analysis.verdicts},
                           config=TestBuyConfig(per_network=args.per_network))
    with atomic_write(args.out) as f:
        w = csv.DictWriter(f, fieldnames=TESTBUY_COLUMNS, lineterminator="\n")
        w.writeheader()
        for p in picks:
            w.writerow(p.row())
    print(f"{len(picks)} test buys (budget {args.budget}) -> {args.out}")
    return 0
