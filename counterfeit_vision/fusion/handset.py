"""Fusion: per-brand cues -> takedown confidence -> decision.

The hand-set formula (the fallback when a catalogue has no labelled outcomes yet)::

    attribution  = max(title_brand, ocr_brand, logo, photo)
    illegitimacy = 1 - prod_i (1 - w_i * c_i)          # noisy-OR over illegitimacy cues
    confidence   = attribution * illegitimacy
    if authorized_seller: confidence *= AUTHORIZED_FACTOR

with the weights ``w_i`` in :data:`HAND_SET_WEIGHTS`. Noisy-OR means each cue can
raise the confidence on its own, more cues never lower it, and the result stays
in [0, 1]. A listing invoking no brand (attribution below MIN_ATTRIBUTION) passes.

Decision: ``takedown`` at or above the takedown threshold, ``review`` at or above
the review threshold, else ``pass`` (per-brand thresholds from the catalogue).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Protocol

from counterfeit_vision.catalog import Thresholds
from counterfeit_vision.fusion.cues import BrandCues

__all__ = ["Decision", "FusionModel", "FusionOutput", "HandSetFusion", "HAND_SET_WEIGHTS", "cap_misspelling_alone",
           "decide"]

HAND_SET_WEIGHTS: Mapping[str, float] = {
    "title_misuse": 0.95,      # evasive names and indicator words are deliberate
    "ocr_misuse": 0.8,
    "photo": 0.7,              # an official photo reused by a non-authorised seller
    "price_below_floor": 0.75,
    "hidden_brand": 0.5,       # weak alone: plenty of honest sellers write lazy titles
    "seller_history": 0.6,
}
AUTHORIZED_FACTOR = 0.1
MIN_ATTRIBUTION = 0.35
DEFAULT_THRESHOLDS = Thresholds()


@dataclass(frozen=True)
class FusionOutput:
    """A fusion model's confidence for one brand and each cue's share of it."""

    confidence: float
    contributions: dict[str, float]  # cue -> its share of the confidence, for reviewers


class FusionModel(Protocol):
    """Anything that turns cues into a confidence: the hand-set formula or a learned model."""

    version: str

    def score(self, cues: BrandCues) -> FusionOutput: ...

    def thresholds_for(self, brand_id: str | None) -> Thresholds | None:
        """The model's own decision thresholds for a brand, or None to use the brand's."""
        ...


class HandSetFusion:
    """The documented formula above; no training needed."""

    version = "hand-set-v1"

    def __init__(self, weights: Mapping[str, float] = HAND_SET_WEIGHTS):
        self.weights = dict(weights)

    def score(self, cues: BrandCues) -> FusionOutput:
        attribution = cues.attribution
        if attribution < MIN_ATTRIBUTION:
            return FusionOutput(0.0, {})
        terms = {name: w * getattr(cues, name) for name, w in self.weights.items()}
        illegitimacy = 1.0 - math.prod(1.0 - t for t in terms.values())
        confidence = attribution * illegitimacy
        if cues.authorized_seller:
            confidence *= AUTHORIZED_FACTOR
        return FusionOutput(min(1.0, max(0.0, confidence)), _shares(terms, confidence))

    def thresholds_for(self, brand_id: str | None) -> Thresholds | None:
        """None: the hand-set formula has no thresholds of its own, the brand's apply."""
        return None


def _shares(terms: dict[str, float], confidence: float) -> dict[str, float]:
    """Split the confidence among cues in proportion to their -log(1 - term)."""
    logs = {k: -math.log(max(1e-9, 1.0 - t)) for k, t in terms.items() if t > 0}
    total = sum(logs.values())
    if total <= 0:
        return {}
    return {k: confidence * v / total for k, v in sorted(logs.items(), key=lambda kv: -kv[1])}


@dataclass(frozen=True)
class Decision:
    """The action for a listing (takedown, review or pass) and the thresholds that chose it."""

    decision: str
    thresholds: Thresholds


def decide(confidence: float, thresholds: Thresholds | None = None) -> Decision:
    """Takedown, review or pass by comparing ``confidence`` with the thresholds (default ``DEFAULT_THRESHOLDS``)."""
    t = thresholds or DEFAULT_THRESHOLDS
    if confidence >= t.takedown:
        return Decision("takedown", t)
    if confidence >= t.review:
        return Decision("review", t)
    return Decision("pass", t)


def cap_misspelling_alone(decision: Decision, cues: BrandCues) -> Decision:
    """A misspelt brand name with no other cue (no indicator, price, photo, seller history) is
    ``review``-strength whatever the model says: genuine sellers mistype names too."""
    if decision.decision == "takedown" and cues.misspelling_alone:
        return Decision("review", decision.thresholds)
    return decision
