"""Catalogue re-scans beyond one machine, on Ray Data.

The driver checks (or builds) the reference index once, where every worker can read it;
Ray Data then streams the scan's batches of listings (the same fixed batches as a local
scan: ``runner.score_batches``) through a pool of actors, each holding one
:class:`Detector` (models load once per actor, not per batch), and the scored batches come
back in input order. Each actor scores with the same function as a local scan
(``runner.scored_with_facts``), the same fusion model and the same seller-history snapshot,
so both engines give the same rows. With ``--store`` every actor opens the same evidence
store (SQLite in WAL mode: concurrent writers queue behind a busy timeout) and writes the
photos it looks at; the driver looks listings up and commits each scored batch as it
arrives, so a killed Ray scan resumes like a local one. Ray is an optional dependency:
``pip install 'counterfeit-vision[distributed]'``.

    counterfeit-vision scan listings.jsonl --catalog brand_catalog --out r.jsonl --engine ray [--ray-address auto]
"""

from __future__ import annotations

import logging
import pickle
from dataclasses import asdict, replace
from pathlib import Path
from typing import Iterator

from counterfeit_vision.detector import Detector, DetectorConfig
from counterfeit_vision.errors import UsageError
from counterfeit_vision.listing import Listing, Result
from counterfeit_vision.scan.runner import (
    Row,
    ScanOptions,
    Scored,
    history_lookup,
    listing_memory,
    load_fusion,
    score_batches,
    scored_with_facts,
)

__all__ = ["ScoreActor", "score_file"]

log = logging.getLogger(__name__)


class ScoreActor:
    """One Detector per Ray actor; scores whole batches of listings (pickled lists)."""

    def __init__(self, catalog_dir: str, index_dir: str, config: dict, fusion_model: str | None,
                 seller_history: dict[str, float] | None, seller_cue=None):
        fusion = load_fusion(Path(fusion_model)) if fusion_model else None
        config = {**config, "image_roots": tuple(config.get("image_roots") or ())}
        self.detector = Detector.from_catalog(catalog_dir, index_dir=index_dir, config=DetectorConfig(**config),
                                              fusion=fusion)
        self.detector.seller_history = history_lookup(seller_history) if seller_history is not None else None
        self.detector.seller_cue = seller_cue

    def __call__(self, batch: dict) -> dict:
        # pickled whole, not as JSON: the driver records and reports exactly what a local scan would
        scored = [pickle.dumps(scored_with_facts(self.detector, pickle.loads(blob))) for blob in batch["listings"]]
        return {"k": batch["k"], "scored": scored}


def score_file(opts: ScanOptions, rows: list[Row], *, seller_history: dict[str, float],
               seller_cue=None) -> tuple[list[Result], dict]:
    """Score the rows of ``opts.listings`` on a Ray cluster; returns (results in input order, model info)."""
    try:
        import ray
    except ImportError as exc:
        raise UsageError("--engine ray needs Ray: pip install 'counterfeit-vision[distributed]'") from exc
    from tqdm import tqdm

    # check or build the index on the driver, so actors only load it; with a store, the driver also
    # opens it (checking or rebuilding it once) and needs the full models' versions to look listings up
    config = opts.config if opts.config.store else replace(opts.config, use_ocr=False)
    driver = Detector.from_catalog(opts.catalog, index_dir=opts.index_dir, config=config)
    memory = listing_memory(driver, opts) if opts.config.store else None
    info = driver.model_info if opts.config.store else {}
    if not ray.is_initialized():
        ray.init(address=opts.ray_address, ignore_reinit_error=True, log_to_driver=False,
                 include_dashboard=False, configure_logging=False)
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True  # results in input order
    kwargs = dict(catalog_dir=str(Path(opts.catalog).resolve()), index_dir=str(Path(opts.index_dir).resolve()),
                  config=asdict(opts.config),
                  fusion_model=str(Path(opts.fusion_model).resolve()) if opts.fusion_model else None,
                  seller_history=seller_history if opts.feedback_db else None, seller_cue=seller_cue)

    def score(batches: list[list[Listing]]) -> Iterator[list[Scored]]:
        if not batches:
            return
        ds = ray.data.from_items([{"k": k, "listings": pickle.dumps(b)} for k, b in enumerate(batches)])
        scored = ds.map_batches(ScoreActor, batch_size=1, concurrency=opts.actors, batch_format="numpy",
                                fn_constructor_kwargs=kwargs)
        for row in scored.iter_rows():
            yield pickle.loads(row["scored"])

    with tqdm(total=len(rows), desc="scanning (ray)", unit="listing", disable=not opts.progress) as bar:
        results = score_batches(rows, score, batch_size=opts.batch_size, model_info=info, memory=memory,
                                history=seller_history if opts.feedback_db else None, seller_cue=seller_cue,
                                progress=bar.update)
    log.info("ray scan scored %d rows", len(results))
    first = next((r for r in results if r.model), None)
    if first is None:
        return results, info
    # rows that failed to parse were answered on the driver, which (without a store) loads no models:
    # they name the actors' models, as on the local engine
    return [replace(r, model=first.model) if r.error and not r.model else r for r in results], first.model
