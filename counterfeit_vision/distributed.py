"""Catalogue re-scans beyond one machine, on Ray Data.

The driver builds (or checks) the reference index once and saves it where every
worker can read it; Ray Data then streams the listing rows through a pool of
actors, each holding one :class:`Detector` (models load once per actor, not per
batch), and the driver writes results in input order. Ray is an optional
dependency: ``pip install 'counterfeit-vision[distributed]'``.

    counterfeit-vision scan listings.jsonl --catalog brand_catalog --out r.jsonl --engine ray [--ray-address auto]
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from pathlib import Path
from typing import Iterator

from counterfeit_vision.detector import Detector, DetectorConfig
from counterfeit_vision.listing import Listing, Result, parse_line

__all__ = ["ScoreActor", "scan_with_ray"]

log = logging.getLogger(__name__)


class ScoreActor:
    """One Detector per Ray actor; scores batches of raw JSONL lines."""

    def __init__(self, catalog_dir: str, index_dir: str, config: dict, base_dir: str, batch_size: int):
        self.detector = Detector.from_catalog(catalog_dir, index_dir=index_dir, config=DetectorConfig(**config))
        self.base_dir = Path(base_dir)
        self.batch_size = batch_size

    def __call__(self, batch: dict) -> dict:
        rows: list[Listing | Result] = []
        for n, line in zip(batch["n"], batch["line"]):
            parsed = parse_line(str(line), int(n), self.base_dir)
            rows.append(Result.failed(*parsed) if isinstance(parsed, tuple) else parsed)
        listings = [r for r in rows if isinstance(r, Listing)]
        scored = iter(self.detector.score_batch(listings, batch_size=self.batch_size))
        results = [next(scored) if isinstance(r, Listing) else r for r in rows]
        return {"n": batch["n"], "result": [json.dumps(r.to_dict(), ensure_ascii=False) for r in results]}


def _numbered_lines(path: Path) -> Iterator[dict]:
    with path.open("r", encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, start=1):
            if line.strip():
                yield {"n": n, "line": line}


def scan_with_ray(listings: str | Path, catalog_dir: str | Path, out: str | Path, *, index_dir: str | Path,
                  config: DetectorConfig = DetectorConfig(), batch_size: int = 16, actors: int = 1,
                  ray_address: str | None = None) -> int:
    """Score a listings JSONL on a Ray cluster; returns the number of rows written.

    Args:
        ray_address: an existing cluster (``"auto"`` or ``ray://host:port``); None starts a local one.
        actors: Detector actors (each loads the models once).
    """
    import ray

    from counterfeit_vision._atomic import atomic_write

    listings = Path(listings).resolve()
    # Build/check the index on the driver so actors only load it.
    driver = Detector.from_catalog(catalog_dir, index_dir=index_dir, config=DetectorConfig(
        **{**asdict(config), "use_ocr": False}))
    del driver
    if not ray.is_initialized():
        ray.init(address=ray_address, ignore_reinit_error=True, log_to_driver=False,
                 include_dashboard=False, configure_logging=False)
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True  # results in input order
    ds = ray.data.from_items(list(_numbered_lines(listings)))
    scored = ds.map_batches(
        ScoreActor, batch_size=batch_size, concurrency=actors, batch_format="numpy",
        fn_constructor_kwargs=dict(catalog_dir=str(Path(catalog_dir).resolve()), index_dir=str(Path(index_dir).resolve()),
                                   config=asdict(config), base_dir=str(listings.parent), batch_size=batch_size))
    count = 0
    with atomic_write(out) as f:
        for row in scored.iter_rows():
            f.write(row["result"] + "\n")
            count += 1
    log.info("ray scan wrote %d rows to %s", count, out)
    return count
