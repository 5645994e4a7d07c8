"""From files to seller analyses: read a results file (and optionally listings, a feedback store, a
catalogue), build the networks and risks, and write ``sellers.jsonl`` rows.

A results row that cannot be read is skipped with a note naming its line; the rest are used.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from counterfeit_vision.listing import Listing, Result, read_listings
from counterfeit_vision.sellers.networks import NetworkConfig, SellerNetworks, build_networks
from counterfeit_vision.sellers.records import SellerListing, join_records
from counterfeit_vision.sellers.risk import RiskConfig, SellerRisk, Verdict, seller_risks, verdicts_from_store

__all__ = ["SellerAnalysis", "analyse", "read_results_tolerant", "seller_rows", "SELLER_ROW_KEYS"]

SELLER_ROW_KEYS = ("seller_id", "risk", "network_id", "reasons", "links")


@dataclass
class SellerAnalysis:
    """Everything the ``sellers`` and ``testbuy`` commands need, built once."""

    records: list[SellerListing]
    networks: SellerNetworks
    risks: dict[str, SellerRisk]
    verdicts: list[Verdict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    results: list[Result] = field(default_factory=list)
    listings: dict[str, Listing] = field(default_factory=dict)


def read_results_tolerant(path: str | Path, notes: list[str]) -> list[Result]:
    """Every readable result of a JSONL file; each unreadable line adds a note instead."""
    out = []
    with Path(path).open("r", encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                out.append(Result.from_dict(json.loads(line)))
            except (ValueError, TypeError, RecursionError) as exc:
                notes.append(f"{path}: line {n} skipped, not a result ({type(exc).__name__}: {str(exc)[:100]})")
    return out


def _listings(path: str | Path | None, notes: list[str]) -> dict[str, Listing]:
    if path is None:
        return {}
    out = {}
    for item in read_listings(path):
        if isinstance(item, Listing):
            out[item.id] = item
        else:
            notes.append(f"{path}: {item[1]}")
    return out


def _authorized(catalog: Any) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for b in catalog or ():
        for s in b.authorized_sellers:
            out.setdefault(s, set()).add(b.id)
    return out


def analyse(results: str | Path, *, listings: str | Path | None = None, feedback_db: str | Path | None = None,
            catalog: Any = None, network_config: NetworkConfig = NetworkConfig(),
            risk_config: RiskConfig = RiskConfig(), now: datetime | None = None) -> SellerAnalysis:
    """Networks and risks of the sellers of a results file (see :mod:`counterfeit_vision.sellers`)."""
    notes: list[str] = []
    read = read_results_tolerant(results, notes)
    by_id = _listings(listings, notes)
    records = join_records(read, by_id)
    verdicts: list[Verdict] = []
    if feedback_db is not None:
        from counterfeit_vision.feedback.store import FeedbackStore

        verdicts = verdicts_from_store(FeedbackStore(feedback_db))
    networks = build_networks(records, network_config)
    risks = seller_risks(records, verdicts, networks=networks, authorized=_authorized(catalog), now=now,
                         config=risk_config)
    return SellerAnalysis(records, networks, risks, verdicts, notes, read, by_id)


def seller_rows(analysis: SellerAnalysis) -> list[dict]:
    """One ``{"seller_id", "risk", "network_id", "reasons", "links"}`` row per seller, by seller id."""
    rows = []
    for seller, risk in sorted(analysis.risks.items()):
        links = [{"seller_id": lk.other(seller), "kind": lk.kind, "evidence": lk.evidence}
                 for lk in analysis.networks.links_of(seller)]
        rows.append({"seller_id": seller, "risk": round(risk.risk, 4),
                     "network_id": analysis.networks.network_of.get(seller), "reasons": list(risk.reasons),
                     "links": links})
    return rows
