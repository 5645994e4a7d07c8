"""Operating points: where the image and text scores meet the fusion's attribution and review levels.

The logo, text and photo scores come from different machinery (few-shot heads and keypoint
verification, OCR confidences, the copy test), and how often a photo *without* the brand
reaches a given score depends on the embedder and the catalogue, not on the fusion. The hand-set
fusion, on the other hand, has fixed levels: a brand is named when its attribution reaches
``MIN_ATTRIBUTION``, and a listing with nothing but a photo showing the brand (a neutral title,
no price, an unknown seller) goes to review when the photo cue reaches

    review_cue = sqrt(review / w_hidden)        (confidence = cue * w_hidden * cue)

So each kind of score is mapped onto the fusion's scale by a monotone piecewise-linear map
through two anchors, both chosen for a target false-alarm rate on photos without the brand
(``fusion.operating_fit``)::

    raw 0 -> 0,   raw attribution -> MIN_ATTRIBUTION,   raw review -> review_cue,   raw 1 -> 1

A raw score at the kind's ``attribution`` level names the brand as often on photos without any
catalogue logo as the target says, and one at ``review`` flags as often; that is what makes
the thresholds mean the same false-alarm rate on new photos whatever the kind. A brand with
enough references may have its own anchors (``brands``).

The points are saved in the index's manifest (``ReferenceIndex.operating_points``): an index
without them (saved before they existed) keeps today's behaviour, the raw scores as cues.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

import numpy as np

from counterfeit_vision.fusion.handset import DEFAULT_THRESHOLDS, HAND_SET_WEIGHTS, MIN_ATTRIBUTION

if TYPE_CHECKING:  # the embedders import torch; the scoring side reads only names and digests
    from counterfeit_vision.embedders.base import EmbedderInfo

__all__ = ["KINDS", "KindPoints", "OperatingPoints", "fitted_points", "review_cue", "write_fitted_points"]

log = logging.getLogger(__name__)

KINDS = ("logo", "text", "photo")
FORMAT_VERSION = 1


def review_cue() -> float:
    """The photo cue at which a listing showing the brand and nothing else reaches the review level."""
    # a hair above the root, so that cue * w * cue is not a rounding error short of the level
    return math.sqrt(DEFAULT_THRESHOLDS.review / HAND_SET_WEIGHTS["hidden_brand"]) + 1e-9


@dataclass(frozen=True)
class KindPoints:
    """The raw scores of one kind that map onto the attribution and review levels."""

    attribution: float
    review: float

    def __post_init__(self) -> None:
        if not 0.0 < self.attribution < self.review < 1.0:
            raise ValueError(f"need 0 < attribution < review < 1, got {self.attribution}, {self.review}")

    def cue(self, raw: float) -> float:
        """The raw score on the fusion's scale (monotone, 0 -> 0 and 1 -> 1)."""
        xs = (0.0, self.attribution, self.review, 1.0)
        ys = (0.0, MIN_ATTRIBUTION, review_cue(), 1.0)
        return float(np.interp(min(1.0, max(0.0, raw)), xs, ys))


@dataclass(frozen=True)
class OperatingPoints:
    """Per kind of score (``KINDS``), the anchors chosen for ``targets``; optional per-brand anchors.

    Attributes:
        kinds: kind -> anchors; a kind left out keeps its raw score.
        brands: brand id -> kind -> anchors that replace the kind's for that brand.
        targets: the false-alarm rates the anchors were chosen for (``attribution``, ``review``).
        fitted_on: what they were fitted on (data, splits, embedder), for the record.
    """

    kinds: Mapping[str, KindPoints]
    brands: Mapping[str, Mapping[str, KindPoints]] = field(default_factory=dict)
    targets: Mapping[str, float] = field(default_factory=dict)
    fitted_on: str = ""

    def __post_init__(self) -> None:
        unknown = set(self.kinds) - set(KINDS) | {k for b in self.brands.values() for k in b} - set(KINDS)
        if unknown:
            raise ValueError(f"unknown score kind(s) {sorted(unknown)}; known: {', '.join(KINDS)}")

    def cue(self, kind: str, raw: float, brand_id: str | None = None) -> float:
        """A raw score of ``kind`` for ``brand_id`` as the fusion's cue."""
        points = self.brands.get(brand_id, {}).get(kind) or self.kinds.get(kind)
        return float(min(1.0, max(0.0, raw))) if points is None else points.cue(raw)

    # ------------------------------------------------------------ persistence
    def to_dict(self) -> dict:
        body = {"format_version": FORMAT_VERSION,
                "kinds": {k: _points_dict(p) for k, p in sorted(self.kinds.items())},
                "brands": {b: {k: _points_dict(p) for k, p in sorted(kp.items())}
                           for b, kp in sorted(self.brands.items())},
                "targets": dict(sorted(self.targets.items())), "fitted_on": self.fitted_on}
        return {**body, "sha256": _digest(body)}

    @classmethod
    def from_dict(cls, raw: Mapping) -> "OperatingPoints":
        """The inverse of :meth:`to_dict`, checked: ``ValueError`` naming what is wrong when the
        digest does not match (hand-edited or damaged), the format is another or an anchor is bad."""
        if not isinstance(raw, Mapping):
            raise ValueError("operating points must be an object")
        body = {k: v for k, v in raw.items() if k != "sha256"}
        if raw.get("sha256") != _digest(body):
            raise ValueError("operating points do not match their SHA-256")
        if body.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"operating points of format {body.get('format_version')}, this library reads "
                             f"{FORMAT_VERSION}")
        try:
            return cls(kinds={k: KindPoints(**p) for k, p in body["kinds"].items()},
                       brands={b: {k: KindPoints(**p) for k, p in kp.items()} for b, kp in body["brands"].items()},
                       targets={k: float(v) for k, v in body["targets"].items()},
                       fitted_on=str(body.get("fitted_on", "")))
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"operating points are malformed ({type(exc).__name__}: {exc})") from None


def _points_dict(p: KindPoints) -> dict:
    return {"attribution": round(p.attribution, 6), "review": round(p.review, 6)}


def _digest(body: Mapping) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


# operating points fitted per embedder (benchmarks/fit_operating_points.py), stamped into the indexes it builds
FITTED_DIR = Path(__file__).resolve().parent / "fitted"


def fitted_points(embedder: EmbedderInfo) -> OperatingPoints | None:
    """The operating points fitted for ``embedder`` (its name and weights digest), or None when
    none were (its indexes keep the raw scores as cues)."""
    path = FITTED_DIR / f"{embedder.name.split(':')[0]}.json"
    if not path.is_file():
        return None
    raw = json.loads(path.read_text(encoding="utf-8"))
    if raw.get("embedder") != embedder.name or raw.get("weights_digest") != embedder.weights_digest:
        log.warning("operating points in %s were fitted for other weights; %s keeps raw scores", path, embedder.name)
        return None
    return OperatingPoints.from_dict(raw["points"])


def write_fitted_points(points: OperatingPoints, embedder: EmbedderInfo, folder: Path = FITTED_DIR) -> Path:
    """Save ``points`` as the ones fitted for ``embedder`` (atomically); returns the file."""
    from counterfeit_vision._atomic import write_json_atomic

    path = Path(folder) / f"{embedder.name.split(':')[0]}.json"
    write_json_atomic(path, {"embedder": embedder.name, "weights_digest": embedder.weights_digest,
                             "points": points.to_dict()})
    return path
