"""Simulated feedback for tests and notebooks: labelled cue rows, detector-like results, outcome files.

Not real data: a generative story per listing (see :func:`simulate_feedback`). The fitting
itself lives in the library (``counterfeit_vision.fusion.fitting``), which this imports.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from counterfeit_vision.fusion.cues import FEATURE_NAMES
from counterfeit_vision.fusion.fitting import FeatureTable
from counterfeit_vision.fusion.handset import FusionModel, HandSetFusion

__all__ = ["simulate_feedback", "simulated_outcomes", "simulated_results"]


def simulate_feedback(n: int = 4000, *, brands: Sequence[str] = ("haldane", "korvex", "nimbly", "velora"),
                      fake_rate: float = 0.4, label_noise: float = 0.005, seed: int = 0) -> list[dict]:
    """Synthetic labelled cue rows (features, label, brand_id, listing_id, seller_id) for tests and notebooks.

    A generative story per listing, not real data: fakes come as evasive or indicator
    titles, stolen official photos, brand shown but hidden from the title, or plain
    titles at a low price from sellers with a record; genuine listings are official
    stores (authorised, official photos), resellers (sometimes below the floor, the odd
    indicator-looking word), lazy titles with a logo in the photo, and accessories.
    ``label_noise`` flips that share of labels (reviewers err, too).
    """
    rng = np.random.default_rng(seed)
    U = lambda a, b: float(rng.uniform(a, b))  # noqa: E731
    fake_sellers = [f"fake-shop-{i}" for i in range(60)]
    honest_sellers = [f"reseller-{i}" for i in range(300)]
    # a seller's history as the store would report it: confirmed / (decided + 2)
    fake_hist = {s: int(rng.integers(0, 6)) for s in fake_sellers}
    rows = []
    for i in range(n):
        brand = str(rng.choice(brands))
        f = dict.fromkeys(FEATURE_NAMES, 0.0)
        fake = rng.random() < fake_rate
        if fake:
            seller = str(rng.choice(fake_sellers))
            k = fake_hist[seller]
            f["seller_history"] = k / (k + 2) if rng.random() < 0.6 else 0.0
            kind = rng.choice(["evasive", "indicator", "stolen_photo", "hidden", "plain"], p=[.3, .2, .15, .15, .2])
            f["logo"] = U(0.4, 0.95) if rng.random() < 0.6 else 0.0
            f["price_below_floor"] = U(0.2, 1.0) if rng.random() < 0.7 else 0.0
            if kind == "evasive":
                f["title_brand"], f["title_misuse"] = 1.0, U(0.6, 1.0)
            elif kind == "indicator":
                f["title_brand"], f["title_misuse"] = 1.0, U(0.8, 1.0)
            elif kind == "stolen_photo":
                f["photo"] = U(0.7, 1.0)
                f["title_brand"] = 1.0 if rng.random() < 0.5 else 0.0
                f["hidden_brand"] = 0.0 if f["title_brand"] else f["photo"]
            elif kind == "hidden":
                f["logo"] = U(0.5, 0.95)
                f["hidden_brand"] = f["logo"]
            else:
                f["title_brand"] = 1.0
                f["price_below_floor"] = U(0.0, 0.8)
            if rng.random() < 0.2:
                f["ocr_brand"], f["ocr_misuse"] = 1.0, U(0.5, 1.0)
        else:
            kind = rng.choice(["official", "reseller", "lazy", "accessory"], p=[.25, .5, .15, .1])
            seller = f"{brand}-official" if kind == "official" else str(rng.choice(honest_sellers))
            f["seller_history"] = 0.0 if rng.random() < 0.95 else 1 / 3
            if kind == "official":
                f["authorized_seller"] = 1.0
                f["title_brand"], f["logo"], f["photo"] = 1.0, U(0.6, 1.0), U(0.7, 1.0)
            elif kind == "reseller":
                f["title_brand"] = 1.0
                f["logo"] = U(0.4, 0.95) if rng.random() < 0.6 else 0.0
                f["photo"] = U(0.6, 1.0) if rng.random() < 0.08 else 0.0
                f["price_below_floor"] = U(0.0, 0.6) if rng.random() < 0.15 else 0.0
                f["title_misuse"] = U(0.3, 0.8) if rng.random() < 0.03 else 0.0
            elif kind == "lazy":
                f["logo"] = U(0.4, 0.9)
                f["hidden_brand"] = f["logo"]
                f["price_below_floor"] = U(0.0, 0.4) if rng.random() < 0.2 else 0.0
            else:
                f["title_brand"] = 0.0
                f["ocr_brand"] = 1.0 if rng.random() < 0.3 else 0.0
                f["logo"] = U(0.3, 0.7)
        label = int(fake) if rng.random() >= label_noise else int(not fake)
        rows.append({"listing_id": f"sim-{seed}-{i}", "brand_id": brand, "seller_id": seller,
                     "label": label, "kind": str(kind), "features": f})
    return rows


def simulated_results(rows: Sequence[Mapping[str, Any]], fusion: FusionModel | None = None) -> list:
    """Detector-like :class:`~counterfeit_vision.listing.Result` objects for simulated rows
    (scored by ``fusion``, default the hand-set formula), to record in a feedback store."""
    from counterfeit_vision.fusion.handset import decide
    from counterfeit_vision.listing import Evidence, Result

    fusion = fusion or HandSetFusion()
    table = FeatureTable.from_rows(rows)
    out = []
    for i, r in enumerate(rows):
        cues = table.cues(i)
        o = fusion.score(cues)
        t = fusion.thresholds_for(cues.brand_id)
        signals = {**cues.features(), "attribution": cues.attribution,
                   **{f"contribution.{k}": v for k, v in o.contributions.items()}}
        ev = (Evidence("seller", cues.brand_id, 1.0 if cues.authorized_seller else cues.seller_history,
                       f"seller {r['seller_id']}", text=r["seller_id"]),) if r.get("seller_id") else ()
        out.append(Result(str(r["listing_id"]), decide(o.confidence, t).decision, o.confidence, cues.brand_id,
                          signals, ev, None, {"fusion": fusion.version, "source": "simulated"}))
    return out


def simulated_outcomes(rows: Sequence[Mapping[str, Any]], results: Sequence[Any], *, audit_share: float = 0.3,
                       brand_error: float = 0.2, seed: int = 0) -> list[dict]:
    """Outcome rows as brands and sellers would send them for simulated listings.

    Every ``takedown`` and ``review`` is reviewed by the brand; a random ``audit_share``
    of ``pass`` decisions is audited too (without audits a model only ever learns from
    what it already referred). A genuine listing taken down is wrongly confirmed by the
    brand with probability ``brand_error`` and then wins its appeal (``appeal_upheld``);
    some fakes taken down appeal and lose (``appeal_denied``). The last outcome always
    equals the row's label.
    """
    rng = np.random.default_rng(seed)
    out = []
    for k, (r, res) in enumerate(zip(rows, results)):
        if res.decision == "pass" and rng.random() >= audit_share:
            continue
        base = {"listing_id": str(r["listing_id"]), "brand_id": r["brand_id"], "seller_id": r.get("seller_id")}
        day = f"2025-01-{1 + k % 28:02d}T12:00:00+00:00"
        later = f"2025-02-{1 + k % 28:02d}T12:00:00+00:00"
        fake = bool(r["label"])
        if res.decision == "takedown" and not fake and rng.random() < brand_error:
            out.append({**base, "outcome": "confirmed_fake", "source": "brand", "reviewer": "brand-ops",
                        "decided_at": day})
            out.append({**base, "outcome": "appeal_upheld", "source": "seller", "reviewer": "appeals",
                        "decided_at": later})
        elif res.decision == "takedown" and fake and rng.random() < 0.1:
            out.append({**base, "outcome": "confirmed_fake", "source": "brand", "reviewer": "brand-ops",
                        "decided_at": day})
            out.append({**base, "outcome": "appeal_denied", "source": "seller", "reviewer": "appeals",
                        "decided_at": later})
        else:
            out.append({**base, "outcome": "confirmed_fake" if fake else "rejected", "source": "brand",
                        "reviewer": "brand-ops", "decided_at": day})
    return out
