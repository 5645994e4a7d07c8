"""What the store's content depends on, as digests.

- the **stamp** (one per store): the models and options that make photo evidence (embedder
  and weights, precision, device, OCR backend and weights, photo options, library). Another
  stamp means another store: it is rebuilt, never mixed.
- the **index state**: the index version photo hits were found against (per-brand digests of
  entries, vectors and heads, so two indexes with the same brands and vectors are one state).
- the **scoring state** (per listing result): the catalogue, the index, the fusion model and
  the options results depend on. Its detail keeps the per-brand digests, so a re-scan can tell
  which brands changed (``delta``).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING

from counterfeit_vision.store.codec import brand_fingerprints, canonical, digest, index_fingerprints

if TYPE_CHECKING:
    from counterfeit_vision.detector import Detector, DetectorConfig

__all__ = ["PHOTO_OPTIONS", "ScoringState", "index_state", "scoring_state", "store_stamp"]

# the DetectorConfig fields photo evidence depends on
PHOTO_OPTIONS = ("use_images", "use_ocr", "ocr", "thorough", "image_draft_size")
_MODEL_KEYS = ("embedder", "embedder_weights", "device", "precision", "ocr", "library_version")


def store_stamp(detector: "Detector", config: "DetectorConfig") -> dict:
    """The versions and options photo evidence depends on."""
    info = detector.model_info
    return {"models": {k: info.get(k) for k in _MODEL_KEYS},
            "options": {k: getattr(config, k) for k in PHOTO_OPTIONS}}


def index_state(detector: "Detector") -> str:
    """The digest photo hits are stored under ("" when photos are not matched)."""
    if detector.image_matcher is None:
        return ""
    m = detector.image_matcher
    return digest({"brands": index_fingerprints(m.index), "nprobe": m.keypoint_nprobe})


class ScoringState:
    """The scoring state of a detector: ``key`` (stored with each result) and ``detail``."""

    def __init__(self, key: str, detail: dict):
        self.key = key
        self.detail = detail


def scoring_state(detector: "Detector", config: "DetectorConfig", *, seller_history: bool) -> ScoringState:
    """What ``detector``'s results depend on, with the per-brand digests ``delta`` compares."""
    options = {k: v for k, v in asdict(config).items() if k != "store"}
    detail = {
        "catalog": brand_fingerprints(detector.catalog),
        "index": index_fingerprints(detector.image_matcher.index) if detector.image_matcher is not None else {},
        "index_state": index_state(detector),
        "model": detector.model_info,
        "options": options,
        "seller_history": seller_history,
    }
    detail = json.loads(canonical(detail))  # as it reads back from the store (tuples as lists), so comparable
    return ScoringState(digest(detail), detail)
