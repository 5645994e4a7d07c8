"""Test-buy targeting: which listings to buy so that purchases confirm the most counterfeits and teach the most.

The expected value of buying a listing (brand ``B``, seller ``S`` in network ``N``)::

    p_confirm   = 1 - (1 - confidence) * (1 - risk_weight * risk(S))     0 when no brand is invoked
    information = 1 + uncertainty_weight (0.3) * (1 - |2 * confidence - 1|)   a decision near 0.5 gains most
                    + network_weight (0.2) * log2(size(N))                     a ring is exposed by one buy
                    + unknown_seller_weight (0.2) * [S has no verdict yet]
    reach       = 1 + price_weight (0.1) * log10(1 + price) + sales_weight (0.1) * log10(1 + sales)
    value       = p_confirm * information * reach

Listings with a verdict already (confirmed or cleared) are not bought again. Picks go by
value, at most ``per_network`` (1) per seller network (a seller outside any network is its
own), until the budget is spent; ties go by listing id, so the ranking is deterministic.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from counterfeit_vision.sellers.networks import SellerNetworks
from counterfeit_vision.sellers.records import SellerListing
from counterfeit_vision.sellers.risk import SellerRisk

__all__ = ["TestBuyConfig", "TestBuyPick", "rank_test_buys", "TESTBUY_COLUMNS"]

TESTBUY_COLUMNS = ("rank", "listing_id", "seller_id", "network_id", "brand", "confidence", "p_confirm",
                   "information", "reach", "value", "reason")


@dataclass(frozen=True)
class TestBuyConfig:
    """Weights of the expected value (module doc) and the per-network cap."""

    __test__ = False  # not a pytest class, whatever its name

    # the bonuses are small beside p_confirm: a purchase that confirms nothing teaches little
    risk_weight: float = 0.5
    uncertainty_weight: float = 0.3
    network_weight: float = 0.2
    unknown_seller_weight: float = 0.2
    price_weight: float = 0.1
    sales_weight: float = 0.1
    per_network: int = 1

    def __post_init__(self) -> None:
        if self.per_network < 1:
            raise ValueError(f"per_network must be at least 1, got {self.per_network}")
        if not 0.0 <= self.risk_weight <= 1.0:
            raise ValueError(f"risk_weight must be in [0, 1], got {self.risk_weight}")


@dataclass(frozen=True)
class TestBuyPick:
    """One listing to buy, with the parts of its value and the reason in words."""

    __test__ = False

    rank: int
    listing_id: str
    seller_id: str
    network_id: str | None
    brand: str
    confidence: float
    p_confirm: float
    information: float
    reach: float
    value: float
    reason: str

    def row(self) -> dict:
        return {"rank": self.rank, "listing_id": self.listing_id, "seller_id": self.seller_id,
                "network_id": self.network_id or "", "brand": self.brand, "confidence": round(self.confidence, 4),
                "p_confirm": round(self.p_confirm, 4), "information": round(self.information, 4),
                "reach": round(self.reach, 4), "value": round(self.value, 4), "reason": self.reason}


def _value(r: SellerListing, risk: float, size: int, unknown: bool, cfg: TestBuyConfig) -> tuple[float, float, float]:
    p = 1.0 - (1.0 - r.confidence) * (1.0 - cfg.risk_weight * risk)
    info = (1.0 + cfg.uncertainty_weight * (1.0 - abs(2.0 * r.confidence - 1.0))
            + cfg.network_weight * math.log2(max(1, size)) + (cfg.unknown_seller_weight if unknown else 0.0))
    reach = (1.0 + cfg.price_weight * math.log10(1.0 + (r.price or 0.0))
             + cfg.sales_weight * math.log10(1.0 + (r.sales or 0.0)))
    return p, info, reach


def _reason(r: SellerListing, risk: SellerRisk | None, size: int, unknown: bool, nid: str | None) -> str:
    parts = [f"{r.decision} at confidence {r.confidence:.2f} for {r.brand}"]
    if risk is not None and risk.risk > 0:
        parts.append(f"seller risk {risk.risk:.2f}" + (f" ({risk.reasons[0]})" if risk.reasons else ""))
    if size > 1:
        parts.append(f"network {nid} of {size} sellers")
    if unknown:
        parts.append("seller has no verdict yet")
    if r.price is not None or r.sales is not None:
        price, sales = ("?" if v is None else f"{v:g}" for v in (r.price, r.sales))
        parts.append(f"price {price}, sales {sales}")
    return "; ".join(parts)


def rank_test_buys(records: Sequence[SellerListing], budget: int, *, risks: Mapping[str, SellerRisk] | None = None,
                   networks: SellerNetworks | None = None, decided_listings: Iterable[str] = (),
                   sellers_with_verdicts: Iterable[str] = (), config: TestBuyConfig = TestBuyConfig()
                   ) -> list[TestBuyPick]:
    """Up to ``budget`` listings to buy, best first (see the module doc)."""
    if budget < 0:
        raise ValueError(f"budget must be >= 0, got {budget}")
    risks = risks or {}
    decided, known = set(decided_listings), set(sellers_with_verdicts)
    scored = []
    for r in records:
        if not r.brand or r.listing_id in decided:
            continue  # a purchase confirms a counterfeit of a brand; nothing to confirm without one
        nid = networks.network_of.get(r.seller_id) if networks else None
        size = networks.size(r.seller_id) if networks else 1
        risk = risks.get(r.seller_id)
        unknown = r.seller_id not in known
        p, info, reach = _value(r, risk.risk if risk else 0.0, size, unknown, config)
        scored.append((-(p * info * reach), r.listing_id, r, nid, size, risk, unknown, p, info, reach))
    scored.sort(key=lambda t: (t[0], t[1]))
    taken: Counter = Counter()
    seen: set[str] = set()
    picks: list[TestBuyPick] = []
    for neg, lid, r, nid, size, risk, unknown, p, info, reach in scored:
        if len(picks) >= budget:
            break
        group = nid or f"seller:{r.seller_id}"
        if taken[group] >= config.per_network or lid in seen:
            continue
        taken[group] += 1
        seen.add(lid)
        picks.append(TestBuyPick(len(picks) + 1, lid, r.seller_id, nid, r.brand, r.confidence, p, info, reach, -neg,
                                 _reason(r, risk, size, unknown, nid)))
    return picks
