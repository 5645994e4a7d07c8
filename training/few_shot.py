"""Retrain the few-shot heads of a saved index (researchers' command; the fitting lives in the library).

    python -m training.few_shot --index indexes/default --catalog brand_catalog [--brand ID ...] [--feature-map sqrt]
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Sequence

from counterfeit_vision.index.heads import FEATURE_MAPS, BrandHeads

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="retrain the few-shot adaptation heads of a saved index")
    ap.add_argument("--index", required=True)
    ap.add_argument("--catalog", required=True)
    ap.add_argument("--embedder", default="auto")
    ap.add_argument("--brand", action="append", help="only these brands (default: all)")
    ap.add_argument("--feature-map", choices=sorted(FEATURE_MAPS),
                    help="switch the heads' feature map (retrains every head; default: keep the index's)")
    args = ap.parse_args(argv)
    if args.feature_map and args.brand:
        ap.error("--feature-map retrains every head (all heads of an index share one map): drop --brand")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from counterfeit_vision.catalog import load_catalog
    from counterfeit_vision.embedders import create_embedder
    from counterfeit_vision.index.onboarding import adapt_brands
    from counterfeit_vision.index.reference import ReferenceIndex

    catalog = load_catalog(args.catalog)
    embedder = create_embedder(args.embedder)
    index = ReferenceIndex.load(args.index, expect=embedder.info)
    brands = args.brand
    if args.feature_map:  # every head, including brands no longer in this catalogue, must move to the new map
        if index.heads is None:
            index.heads = BrandHeads(embedder.info, args.feature_map)
        else:
            index.heads.feature_map = args.feature_map
        brands = sorted(set(index.heads.brand_ids) | {b.id for b in catalog})
    adapt_brands(index, catalog, embedder, brands=brands, index_dir=Path(args.index))
    index.save(args.index)
    print(f"trained {len(index.heads)} heads ({index.heads.feature_map} features) -> {Path(args.index) / 'heads'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
