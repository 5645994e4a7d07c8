"""``counterfeit-vision rescan``: the current result of every listing in an evidence store.

After ``brand add`` / ``brand remove``, a changed reference photo or threshold, the store's
listings are scored against the catalogue and index given: those the change can reach
(``store.delta``) go through the detector again, in batches, as in a scan (their photos the
change cannot reach are looked up, not looked at); the others keep their result, with the
current ``model`` versions. Results are written in the order the listings were first
scanned, and stored under the new scoring state, so a repeat ``scan`` of the same file is
a lookup again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

from counterfeit_vision.errors import UsageError
from counterfeit_vision.listing import Result

__all__ = ["RescanOptions", "RescanOutcome", "rescan"]


@dataclass(frozen=True)
class RescanOptions:
    """Everything ``rescan`` reads."""

    store: Path
    catalog: Path
    index_dir: Path
    out: Path
    fusion_model: Path | None = None
    batch_size: int = 16
    progress: bool = True


@dataclass
class RescanOutcome:
    """What a re-scan wrote and how much of it was scored again."""

    results: list[Result]
    rescored: int
    reasons: dict[str, int] = field(default_factory=dict)


def rescan(opts: RescanOptions) -> RescanOutcome:
    """Re-score what changed in ``opts.store``'s listings and write all of their current results to ``opts.out``."""
    from tqdm import tqdm

    from counterfeit_vision.catalog import load_catalog
    from counterfeit_vision.detector import Detector, DetectorConfig
    from counterfeit_vision.scan.runner import load_fusion, scored_with_facts, write_results
    from counterfeit_vision.store import EvidenceStore, ListingKey, ListingMemory, index_state, scoring_state
    from counterfeit_vision.store.codec import decode_listing
    from counterfeit_vision.store.db import ListingRecord
    from counterfeit_vision.store.delta import plan_rescan

    catalog = load_catalog(opts.catalog)
    saved = EvidenceStore.read_meta(opts.store, "config")
    if saved is None:
        raise UsageError(f"no evidence store with scanned listings at {opts.store}: run "
                         f"`counterfeit-vision scan LISTINGS --catalog DIR --store {opts.store} --out RESULTS` first")
    options = json.loads(saved)
    config = DetectorConfig(**{**options, "image_roots": tuple(options.get("image_roots") or ()),
                               "store": str(opts.store)})
    detector = Detector.from_catalog(catalog, index_dir=opts.index_dir, config=config,
                                     fusion=load_fusion(opts.fusion_model))
    store = detector.store
    memory = ListingMemory(store, scoring_state(detector, config, seller_history=False))
    plan = plan_rescan(store, detector, memory.state)
    for old_state, shas in plan.carry.items():
        store.carry_hits(shas, old_state, index_state(detector))
    results: dict[int, Result] = {}
    todo = [s for s in plan.listings if s.seq in plan.rescore]
    with tqdm(total=len(todo), desc="re-scoring", unit="listing", disable=not opts.progress) as bar:
        for start in range(0, len(todo), opts.batch_size):
            batch = todo[start:start + opts.batch_size]
            keys = [ListingKey(decode_listing(s.listing), s.input_hash, s.photos) for s in batch]
            scored = scored_with_facts(detector, [k.listing for k in keys])
            memory.remember([(0, k, r, f) for k, (r, f) in zip(keys, scored)])
            results.update((s.seq, r) for s, (r, _) in zip(batch, scored))
            bar.update(len(batch))
    kept = [s for s in plan.listings if s.seq not in plan.rescore]
    for start in range(0, len(kept), 512):  # unchanged results, under the new state with today's versions
        records = [ListingRecord(s.input_hash, 0, s.listing, s.photos, s.candidates, s.text_sig,
                                 replace(s.result, model=detector.model_info)) for s in kept[start:start + 512]]
        store.put_listings(records, memory.state.key)
        results.update((s.seq, r.result) for s, r in zip(kept[start:start + 512], records))
    ordered = [results[s.seq] for s in plan.listings]
    write_results(opts.out, ordered)
    return RescanOutcome(ordered, len(todo), plan.reasons)
