"""Catalogue re-scans beyond one machine, on Ray Data.

The driver checks (or builds) the reference index once, where every worker can read it;
Ray Data then streams the listing lines through a pool of actors, each holding one
:class:`Detector` (models load once per actor, not per batch), and the results come back
in input order. Each actor parses and scores its lines with the same functions as a local
scan (``runner.read_rows``' parser and ``runner.score_rows``), with the same fusion model
and the same seller-history snapshot, so both engines give the same rows. Ray is an
optional dependency: ``pip install 'counterfeit-vision[distributed]'``.

    counterfeit-vision scan listings.jsonl --catalog brand_catalog --out r.jsonl --engine ray [--ray-address auto]
"""

from __future__ import annotations

import logging
import pickle
from dataclasses import asdict, replace
from pathlib import Path

from counterfeit_vision.detector import Detector, DetectorConfig
from counterfeit_vision.errors import UsageError
from counterfeit_vision.listing import Result
from counterfeit_vision.scan.runner import (
    ScanOptions,
    history_lookup,
    load_fusion,
    numbered_lines,
    parse_row,
    score_rows,
)

__all__ = ["ScoreActor", "score_file"]

log = logging.getLogger(__name__)


class ScoreActor:
    """One Detector per Ray actor; scores batches of numbered JSONL lines."""

    def __init__(self, catalog_dir: str, index_dir: str, config: dict, base_dir: str, batch_size: int,
                 fusion_model: str | None, seller_history: dict[str, float] | None, seller_cue=None):
        fusion = load_fusion(Path(fusion_model)) if fusion_model else None
        self.detector = Detector.from_catalog(catalog_dir, index_dir=index_dir, config=DetectorConfig(**config),
                                              fusion=fusion)
        self.detector.seller_history = history_lookup(seller_history) if seller_history is not None else None
        self.detector.seller_cue = seller_cue
        self.base_dir = Path(base_dir)
        self.batch_size = batch_size

    def __call__(self, batch: dict) -> dict:
        rows = [parse_row(str(line), int(n), self.base_dir) for n, line in zip(batch["n"], batch["line"])]
        results = score_rows(rows, lambda ls: self.detector.score_batch(ls, batch_size=self.batch_size),
                             self.detector.model_info)
        # pickled whole, not as JSON: the driver records and reports exactly what a local scan would
        return {"n": batch["n"], "result": [pickle.dumps(r) for r in results]}


def score_file(opts: ScanOptions, *, seller_history: dict[str, float], seller_cue=None) -> tuple[list[Result], dict]:
    """Score ``opts.listings`` on a Ray cluster; returns (results in input order, model info)."""
    try:
        import ray
    except ImportError as exc:
        raise UsageError("--engine ray needs Ray: pip install 'counterfeit-vision[distributed]'") from exc
    from tqdm import tqdm

    listings = Path(opts.listings).resolve()
    # check or build the index on the driver (no OCR needed for that), so actors only load it
    driver = Detector.from_catalog(opts.catalog, index_dir=opts.index_dir,
                                   config=replace(opts.config, use_ocr=False))
    del driver
    if not ray.is_initialized():
        ray.init(address=opts.ray_address, ignore_reinit_error=True, log_to_driver=False,
                 include_dashboard=False, configure_logging=False)
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True  # results in input order
    lines = [{"n": n, "line": line} for n, line in numbered_lines(listings)]
    ds = ray.data.from_items(lines)
    scored = ds.map_batches(
        ScoreActor, batch_size=opts.batch_size, concurrency=opts.actors, batch_format="numpy",
        fn_constructor_kwargs=dict(
            catalog_dir=str(Path(opts.catalog).resolve()), index_dir=str(Path(opts.index_dir).resolve()),
            config=asdict(opts.config), base_dir=str(listings.parent), batch_size=opts.batch_size,
            fusion_model=str(Path(opts.fusion_model).resolve()) if opts.fusion_model else None,
            seller_history=seller_history if opts.feedback_db else None, seller_cue=seller_cue))
    results: list[Result] = []
    with tqdm(total=len(lines), desc="scanning (ray)", unit="listing", disable=not opts.progress) as bar:
        for row in scored.iter_rows():
            results.append(pickle.loads(row["result"]))
            bar.update(1)
    log.info("ray scan scored %d rows", len(results))
    info = results[0].model if results else {}
    return results, info
