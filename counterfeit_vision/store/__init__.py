"""The photo-evidence and listing store (``scan --store DIR``, ``rescan``): see ``db`` for the schema.

Public API: :class:`EvidenceStore` (the SQLite file), :func:`attach_store` (a detector's photos
looked up in and written to it), :class:`ListingMemory` (listings remembered by input hash),
``delta`` (re-scans that cost what changed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from counterfeit_vision.store.db import DB_NAME, EvidenceStore, StoreFullError
from counterfeit_vision.store.listings import ListingFacts, ListingKey, ListingMemory, listing_facts
from counterfeit_vision.store.photos import PhotoEvidence, SeenPhoto
from counterfeit_vision.store.versions import ScoringState, index_state, scoring_state, store_stamp

if TYPE_CHECKING:
    from counterfeit_vision.detector import Detector, DetectorConfig

__all__ = ["DB_NAME", "EvidenceStore", "ListingFacts", "ListingKey", "ListingMemory", "PhotoEvidence",
           "ScoringState", "SeenPhoto", "StoreFullError", "attach_store", "index_state", "listing_facts",
           "scoring_state", "store_stamp"]


def attach_store(detector: "Detector", config: "DetectorConfig", *, max_bytes: int | None = None) -> EvidenceStore:
    """Open the store named by ``config.store`` for ``detector``'s models; its photos are looked up there.

    ``max_bytes`` (default: ``$CV_STORE_MAX_BYTES``, unset: no limit) caps the store's size: past it a
    scan stops as on a full disk."""
    import os

    if max_bytes is None and os.environ.get("CV_STORE_MAX_BYTES"):
        max_bytes = int(os.environ["CV_STORE_MAX_BYTES"])
    store = EvidenceStore(config.store, store_stamp(detector, config), max_bytes=max_bytes)
    detector.store = store
    if detector.image_matcher is not None or detector.ocr is not None:
        detector.photo_evidence = PhotoEvidence(store, index_state(detector), detector.title_matcher)
    return store
