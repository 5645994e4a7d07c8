"""Trusted reporters: how often each reporter's verdicts and notices stood.

A reporter's outcome is *upheld* when the current verdict of its (listing, brand) agrees with
it, and *overturned* when a later outcome (a seller's upheld appeal against a notice, a
counter-notice) reversed it. Accuracy is smoothed so that one lucky notice is not trust::

    accuracy = (upheld + 1) / (outcomes + 2)

``contested`` counts the reporter's outcomes whose pair also has a seller's appeal: the
outcomes that were actually put to the test. ``counterfeit-vision feedback stats`` lists every
reporter; ``counterfeit-vision train --trusted-accuracy A --trusted-weight W`` gives the labels
whose reporter's accuracy is at least A a sample weight of W (others 1).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Mapping

__all__ = ["ReporterAccuracy", "reporter_accuracy", "label_weights"]


@dataclass(frozen=True)
class ReporterAccuracy:
    """One reporter's record."""

    reporter: str
    outcomes: int
    upheld: int
    overturned: int
    contested: int
    accuracy: float

    def to_dict(self) -> dict:
        return asdict(self) | {"accuracy": round(self.accuracy, 4)}


def reporter_accuracy(store) -> dict[str, ReporterAccuracy]:
    """Every reporter named in the store's outcomes, with its accuracy (module doc)."""
    labels = {(r["listing_id"], r["brand_id"]): r["is_fake"] for r in store.labels()}
    outcomes = store.outcomes()
    appealed = {(o["listing_id"], o["brand_id"]) for o in outcomes if o["source"] == "seller"}
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # outcomes, upheld, contested
    for o in outcomes:
        if not o.get("reporter"):
            continue
        pair = (o["listing_id"], o["brand_id"])
        c = counts[o["reporter"]]
        c[0] += 1
        c[1] += int(labels.get(pair) == o["is_fake"])
        c[2] += int(pair in appealed and o["source"] != "seller")
    return {r: ReporterAccuracy(r, n, up, n - up, contested, (up + 1) / (n + 2))
            for r, (n, up, contested) in sorted(counts.items())}


def label_weights(rows, accuracy: Mapping[str, ReporterAccuracy], *, trusted_accuracy: float,
                  trusted_weight: float) -> list[float]:
    """Sample weight per training row: ``trusted_weight`` when its reporter is trusted, else 1."""
    if trusted_weight <= 0:
        raise ValueError(f"trusted_weight must be > 0, got {trusted_weight}")
    return [trusted_weight if (r.get("reporter") in accuracy
                               and accuracy[r["reporter"]].accuracy >= trusted_accuracy) else 1.0 for r in rows]
