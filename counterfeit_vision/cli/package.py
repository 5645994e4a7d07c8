"""``counterfeit-vision package RESULTS --brand ID --out DIR``: one brand's takedown package.

Registered by :mod:`counterfeit_vision.cli.main` through :func:`register`; the work is
:func:`counterfeit_vision.report.package.build_package`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from counterfeit_vision.errors import UsageError

__all__ = ["register", "cmd_package"]


def register(subparsers) -> None:
    """Add the ``package`` subcommand to ``subparsers``."""
    p = subparsers.add_parser(
        "package", help="write one brand's takedown package (HTML, evidence.json, crops, CSV) from a results file",
        description="From any past scan's results: the brand's takedown and review listings as an HTML page, "
                    "evidence.json (schema in the README), the evidence crops as PNG files and summary.csv. "
                    "Built twice from the same results, the package is byte-identical.")
    p.add_argument("results", metavar="RESULTS", type=Path, help="a scan's results JSONL")
    p.add_argument("--brand", required=True, metavar="ID", help="the brand id")
    p.add_argument("--out", required=True, metavar="DIR", type=Path, help="package folder (replaced atomically)")
    p.add_argument("--catalog", metavar="DIR", type=Path,
                   help="brand catalogue: the brand's name and the matched reference images")
    p.add_argument("--listings", metavar="LISTINGS.jsonl", type=Path,
                   help="the scanned listings, for the full titles and every photo")
    p.add_argument("--sellers", metavar="sellers.jsonl", type=Path,
                   help="`counterfeit-vision sellers` output: each listing shows its seller's risk and network")
    p.add_argument("--image-root", action="append", metavar="DIR",
                   help="read listing photos only from inside DIR (repeatable); recommended for listings "
                        "from untrusted sources")
    p.set_defaults(func=cmd_package)


def cmd_package(args: argparse.Namespace) -> int:
    """Build the package; exit 0 (2 for a missing results file or a brand not in the catalogue)."""
    from counterfeit_vision.catalog import load_catalog
    from counterfeit_vision.report.package import build_package, read_sellers

    if not args.results.is_file():
        raise UsageError(f"results file not found: {args.results}")
    catalog = load_catalog(args.catalog) if args.catalog else None
    if catalog is not None and args.brand not in catalog:
        raise UsageError(f"brand {args.brand!r} is not in the catalogue {args.catalog}")
    done = build_package(args.results, args.brand, args.out, catalog=catalog, listings_path=args.listings,
                         image_roots=args.image_root or (),
                         sellers=read_sellers(args.sellers) if args.sellers else None)
    print(f"wrote the {args.brand} package to {done.out}: {done.listings} listing(s), {done.crops} crop(s), "
          f"{done.unchecked_photos} photo(s) not checked")
    return 0
