"""Fitting operating points (``fusion.operating_points``) from labelled photos; not on the scoring path.

Input: photos scored by the image matcher and OCR (``ScoredPhoto``: each brand's best raw score
per kind) with the brands each photo really shows, some photos showing no catalogue brand at
all. For each kind, the anchors are the lowest raw scores that at most ``attribution_rate`` /
``review_rate`` of the photos without a catalogue logo reach (their best brand's score of that
kind). Then the whole neutral-listing decision (a photo, a neutral title, no price, an unknown
seller: the hand-set fusion on the mapped cues) is simulated on the same photos; while the named
or flagged share of the photos without a logo is above its target (several kinds together can
pass a level none reaches alone), the per-kind rates are tightened.

Fitted once per embedder on pooled development splits (``benchmarks/fit_operating_points.py``,
which also checks each split with points fitted on the others) and stamped into every index that
embedder builds (``index.onboarding.build_index``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from counterfeit_vision.fusion.cues import BrandCues
from counterfeit_vision.fusion.handset import MIN_ATTRIBUTION, HandSetFusion, decide
from counterfeit_vision.fusion.operating_points import KINDS, KindPoints, OperatingPoints

__all__ = ["NeutralOutcome", "ScoredPhoto", "fit_operating_points", "neutral_outcome", "outcome_rates",
           "precision_floor"]

# anchors stay strictly inside (0, 1) and apart, whatever the data
_EPS = 1e-4


@dataclass(frozen=True)
class ScoredPhoto:
    """One photo's raw scores: brand id -> kind (``logo``, ``text``, ``photo``) -> best score."""

    scores: Mapping[str, Mapping[str, float]]
    shows: frozenset[str] = field(default_factory=frozenset)  # the catalogue brands it really shows


@dataclass(frozen=True)
class NeutralOutcome:
    """What a listing made of this one photo gets: its brand (None below attribution) and decision."""

    brand: str | None
    decision: str


def neutral_outcome(photo: ScoredPhoto, points: OperatingPoints | None) -> NeutralOutcome:
    """The detector's result for a listing of one photo, a neutral title, no price and an unknown
    seller (``fusion.evidence.build_cues`` + the hand-set fusion, on the mapped cues)."""
    fusion = HandSetFusion()
    scored = []
    for brand_id, raw in photo.scores.items():
        cue = {k: (points.cue(k, raw.get(k, 0.0), brand_id) if points is not None else raw.get(k, 0.0))
               for k in KINDS}
        sighting = 1.0 - (1.0 - cue["logo"]) * (1.0 - cue["text"])
        cues = BrandCues(brand_id, ocr_brand=cue["text"], logo=cue["logo"], photo=cue["photo"],
                         hidden_brand=max(sighting, cue["photo"]))
        scored.append((fusion.score(cues).confidence, cues))
    scored.sort(key=lambda oc: (-oc[0], -oc[1].attribution, oc[1].brand_id))  # as the detector ranks them
    if not scored or scored[0][1].attribution < MIN_ATTRIBUTION:
        return NeutralOutcome(None, "pass")
    return NeutralOutcome(scored[0][1].brand_id, decide(scored[0][0]).decision)


def outcome_rates(photos: Sequence[ScoredPhoto], points: OperatingPoints | None) -> dict[str, float]:
    """Right brand and flagged shares of the photos with a logo; named and flagged shares of those without."""
    pos = [(p, neutral_outcome(p, points)) for p in photos if p.shows]
    neg = [neutral_outcome(p, points) for p in photos if not p.shows]
    flagged = ("review", "takedown")
    return {
        "right_brand": float(np.mean([o.brand in p.shows for p, o in pos])) if pos else 0.0,
        "flagged": float(np.mean([o.decision in flagged for _, o in pos])) if pos else 0.0,
        "no_logo_named": float(np.mean([o.brand is not None for o in neg])) if neg else 0.0,
        "no_logo_flagged": float(np.mean([o.decision in flagged for o in neg])) if neg else 0.0,
    }


def _level(values: np.ndarray, rate: float) -> float:
    """The lowest score that at most ``rate`` of ``values`` reach (just above the next one down)."""
    allowed = int(np.floor(rate * len(values) + 1e-9))
    ranked = np.sort(values)[::-1]
    if allowed >= len(ranked):
        return _EPS
    return float(ranked[allowed]) + _EPS


def precision_floor(photos: Sequence[ScoredPhoto], kind: str, precision: float,
                    brand_id: str | None = None) -> float:
    """The lowest raw score of ``kind`` at which the isotonic fit of P(the brand is really shown |
    score) reaches ``precision`` (1 when it never does), over each photo's *top* brand of that kind
    (the one a result would name; only photos whose top brand is ``brand_id`` when given).

    False alarms alone would put a kind that rarely fires on photos without a logo (text reads)
    at any score at all; the anchors must also mean that the brand named is likely right."""
    from sklearn.isotonic import IsotonicRegression

    pairs = []
    for p in photos:
        top = max(((s.get(kind, 0.0), b) for b, s in p.scores.items()), default=(0.0, None))
        if top[0] > 0 and brand_id in (None, top[1]):
            pairs.append((top[0], top[1] in p.shows))
    if not pairs:
        return 1.0
    x, y = np.array([v for v, _ in pairs]), np.array([float(t) for _, t in pairs])
    fitted = IsotonicRegression(increasing=True, out_of_bounds="clip").fit(x, y)
    grid = np.unique(x)
    ok = grid[fitted.predict(grid) >= precision]
    return float(ok[0]) if len(ok) else 1.0


def _kind_points(photos: Sequence[ScoredPhoto], kind: str, rates: Mapping[str, float],
                 precisions: Mapping[str, float]) -> KindPoints:
    negatives = [p for p in photos if not p.shows]
    best = np.array([max((s.get(kind, 0.0) for s in p.scores.values()), default=0.0) for p in negatives])
    a = max(_level(best, rates["attribution"]), precision_floor(photos, kind, precisions["attribution"]))
    r = max(_level(best, rates["review"]), precision_floor(photos, kind, precisions["review"]))
    a = min(1.0 - 2 * _EPS, max(_EPS, a))
    return KindPoints(a, min(1.0 - _EPS, max(a + _EPS, r)))


def _brand_points(photos: Sequence[ScoredPhoto], kinds: Mapping[str, KindPoints], precisions: Mapping[str, float],
                  min_positives: int) -> dict[str, dict[str, KindPoints]]:
    """Raised anchors for a brand whose own sightings are less precise than the pooled ones: only
    for a brand seen on at least ``min_positives`` photos that really show it (fewer say nothing)."""
    out: dict[str, dict[str, KindPoints]] = {}
    for brand_id in sorted({b for p in photos for b in p.shows}):
        for kind, kp in kinds.items():
            shown = sum(1 for p in photos if brand_id in p.shows and p.scores.get(brand_id, {}).get(kind, 0) > 0)
            if shown < min_positives:  # too few of its own sightings of this kind to say it differs
                continue
            a = max(kp.attribution, precision_floor(photos, kind, precisions["attribution"], brand_id))
            r = max(kp.review, precision_floor(photos, kind, precisions["review"], brand_id))
            a = min(1.0 - 2 * _EPS, a)
            if (a, r) != (kp.attribution, kp.review):
                out.setdefault(brand_id, {})[kind] = KindPoints(a, min(1.0 - _EPS, max(a + _EPS, r)))
    return out


def fit_operating_points(photos: Sequence[ScoredPhoto], *, attribution_rate: float = 0.10,
                         review_rate: float = 0.02, attribution_precision: float = 0.3,
                         review_precision: float = 0.9, kinds: Sequence[str] = ("logo", "text"),
                         min_brand_photos: int = 20, fitted_on: str = "", max_rounds: int = 12) -> OperatingPoints:
    """Anchors per kind for the target rates of photos without a catalogue logo named / flagged,
    never below the scores at which the brand named is right with the given isotonic precision.

    ``kinds`` left out keep their raw scores (photo reuse: the copy test's level is set on
    transformed copies by ``benchmarks/eval_stolen_photos.py``, and logo photos say nothing of it).
    A brand with at least ``min_brand_photos`` photos showing it gets its own, higher anchors where
    its sightings are less precise than the pooled ones.

    Raises:
        ValueError: no photo without a catalogue logo to measure false alarms on.
    """
    negatives = [p for p in photos if not p.shows]
    if not negatives:
        raise ValueError("operating points need photos without any catalogue logo")
    targets = {"attribution": attribution_rate, "review": review_rate}
    precisions = {"attribution": attribution_precision, "review": review_precision}
    scale = 1.0
    for _ in range(max_rounds):
        rates = {k: v * scale for k, v in targets.items()}
        pooled = {k: _kind_points(photos, k, rates, precisions) for k in kinds}
        points = OperatingPoints(pooled, _brand_points(photos, pooled, precisions, min_brand_photos),
                                 targets=targets, fitted_on=fitted_on)
        got = outcome_rates(negatives, points)
        if got["no_logo_named"] <= attribution_rate and got["no_logo_flagged"] <= review_rate:
            return points
        scale *= 0.7  # several kinds together passed a level: tighten every kind
    return points
