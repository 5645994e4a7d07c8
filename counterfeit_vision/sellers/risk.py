"""Seller risk: one documented, monotone score in [0, 1] per seller, with its reasons.

Components, each in [0, 1] and each non-decreasing in the evidence it reads::

    offences  T = sum over the seller's confirmed-fake verdicts of  w * 0.5 ** (age_days / half_life_days)
              w = 1 for a brand's confirmation, appeal_denied_weight (1.5) for a lost appeal
              c_offences = 1 - exp(-T)                   one fresh confirmation: 0.63, two: 0.86
    flagged   c_flagged  = flagged_weight * (takedowns + 0.5 * reviews) / (listings + 4)   past results
    brands    c_brands   = brands_weight * min(1, (brands - 1) / 4)   distinct brands flagged or confirmed
    new       c_new      = new_account_weight * max(0, 1 - account_age_days / new_account_days)  (seller_since)
    network   c_network  = network_weight * max c_offences of the other members of its seller network

    risk = 1 - prod(1 - c_i);   risk *= authorized_factor (0.5) when the seller is authorised for a brand

A confirmed takedown only adds to T (and to the brands and, for its network, to c_network),
so it never lowers anyone's risk; an upheld appeal replaces the verdict and removes it.

The seller cue in fusion (``seller_history`` feature, :class:`SellerCues`): for a listing of
brand B by seller S, ``max(risk(S), repeat)`` where ``repeat`` is the brand's
``thresholds.repeat_offender`` (0.9) when S has a counterfeit of B confirmed within the brand's
``thresholds.repeat_window_days`` (365), else 0; and 0 when S is authorised for B, so an
authorised seller's listing never gets a higher score from it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Iterable, Mapping, Sequence

from counterfeit_vision.sellers.networks import SellerNetworks
from counterfeit_vision.sellers.records import SellerListing

__all__ = ["RiskConfig", "SellerCues", "SellerRisk", "Verdict", "seller_risks", "verdicts_from_store"]


@dataclass(frozen=True)
class RiskConfig:
    """The weights of :mod:`counterfeit_vision.sellers.risk` (module doc)."""

    half_life_days: float = 180.0
    appeal_denied_weight: float = 1.5
    flagged_weight: float = 0.5
    brands_weight: float = 0.2
    new_account_weight: float = 0.2
    new_account_days: float = 90.0
    network_weight: float = 0.6
    authorized_factor: float = 0.5

    def __post_init__(self) -> None:
        for name in ("flagged_weight", "brands_weight", "new_account_weight", "network_weight", "authorized_factor"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.half_life_days <= 0 or self.new_account_days <= 0 or self.appeal_denied_weight < 0:
            raise ValueError("half_life_days and new_account_days must be > 0, appeal_denied_weight >= 0")


@dataclass(frozen=True)
class Verdict:
    """A current verdict about one (listing, brand) of a seller."""

    listing_id: str
    brand_id: str
    seller_id: str
    is_fake: bool
    outcome: str
    decided_at: datetime | None = None


@dataclass(frozen=True)
class SellerRisk:
    """One seller's risk, its components and the reasons a reviewer reads."""

    seller_id: str
    risk: float
    reasons: tuple[str, ...] = ()
    components: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0.0 <= self.risk <= 1.0:
            raise ValueError(f"risk must be in [0, 1], got {self.risk}")


def verdicts_from_store(store) -> list[Verdict]:
    """The feedback store's current verdicts that name a seller."""
    return [Verdict(r["listing_id"], r["brand_id"], r["seller_id"], bool(r["is_fake"]), r["outcome"],
                    _parse_time(r["decided_at"])) for r in store.labelled_verdicts() if r["seller_id"]]


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def _age_days(then: datetime | None, now: datetime) -> float:
    """Days since ``then``; a verdict without a time counts as fresh (the cautious reading)."""
    return 0.0 if then is None else max(0.0, (now - then).total_seconds() / 86400.0)


def _offences(verdicts: Sequence[Verdict], now: datetime, cfg: RiskConfig) -> float:
    return sum((cfg.appeal_denied_weight if v.outcome == "appeal_denied" else 1.0)
               * 0.5 ** (_age_days(v.decided_at, now) / cfg.half_life_days) for v in verdicts if v.is_fake)


def _base_components(seller: str, records: Sequence[SellerListing], verdicts: Sequence[Verdict], now: datetime,
                     cfg: RiskConfig) -> tuple[dict[str, float], list[str]]:
    fakes = [v for v in verdicts if v.is_fake]
    T = _offences(verdicts, now, cfg)
    takedowns = sum(r.decision == "takedown" for r in records)
    reviews = sum(r.decision == "review" for r in records)
    brands = {r.brand for r in records if r.flagged and r.brand} | {v.brand_id for v in fakes}
    comp = {"offences": 1.0 - math.exp(-T),
            "flagged": cfg.flagged_weight * (takedowns + 0.5 * reviews) / (len(records) + 4),
            "brands": cfg.brands_weight * min(1.0, max(0, len(brands) - 1) / 4),
            "new_account": 0.0}
    reasons = []
    if fakes:
        denied = sum(v.outcome == "appeal_denied" for v in fakes)
        reasons.append(f"{len(fakes)} confirmed counterfeit(s)" + (f", {denied} after a rejected appeal" if denied
                                                                   else "") + f" (decayed weight {T:.2f})")
    if takedowns or reviews:
        reasons.append(f"{takedowns} takedown and {reviews} review decision(s) among {len(records)} listing(s)")
    if len(brands) > 1:
        reasons.append(f"{len(brands)} brands involved: {', '.join(sorted(brands)[:6])}")
    since = min((r.seller_since for r in records if r.seller_since), default=None)
    if since:
        age = (now.date() - date.fromisoformat(since)).days
        comp["new_account"] = cfg.new_account_weight * max(0.0, 1.0 - age / cfg.new_account_days)
        if comp["new_account"] > 0:
            reasons.append(f"account opened {since} ({age} days ago)")
    return comp, reasons


def seller_risks(records: Iterable[SellerListing], verdicts: Iterable[Verdict] = (), *,
                 networks: SellerNetworks | None = None, authorized: Mapping[str, Iterable[str]] | None = None,
                 now: datetime | None = None, config: RiskConfig = RiskConfig()) -> dict[str, SellerRisk]:
    """The risk of every seller named by ``records`` or ``verdicts`` (see the module doc).

    ``authorized`` maps a seller to the brands it is authorised for (catalogue
    ``authorized_sellers``).
    """
    now = now or datetime.now(timezone.utc)
    by_seller_r: dict[str, list[SellerListing]] = defaultdict(list)
    by_seller_v: dict[str, list[Verdict]] = defaultdict(list)
    for r in records:
        by_seller_r[r.seller_id].append(r)
    for v in verdicts:
        by_seller_v[v.seller_id].append(v)
    authorized = {s: sorted(b) for s, b in (authorized or {}).items() if b}
    base = {s: _base_components(s, by_seller_r.get(s, []), by_seller_v.get(s, []), now, config)
            for s in sorted(set(by_seller_r) | set(by_seller_v))}
    out = {}
    graphs: dict[str, Any] = {}  # network id -> its link graph, built once
    for s, (comp, reasons) in base.items():
        comp = dict(comp)
        comp["network"], why = _network_component(s, base, networks, config, graphs)
        reasons = reasons + why
        risk = 1.0 - math.prod(1.0 - min(1.0, c) for c in comp.values())
        if s in authorized:
            risk *= config.authorized_factor
            reasons.append(f"authorised seller of {', '.join(authorized[s])} (risk x{config.authorized_factor})")
        out[s] = SellerRisk(s, float(min(1.0, max(0.0, risk))), tuple(reasons), comp)
    return out


def _network_component(seller: str, base: Mapping[str, tuple[dict, list]], networks: SellerNetworks | None,
                       cfg: RiskConfig, graphs: dict[str, Any]) -> tuple[float, list[str]]:
    """``network_weight`` x the strongest offence record among the seller's network, with the path to it."""
    if networks is None or seller not in networks.network_of:
        return 0.0, []
    nid = networks.network_of[seller]
    offenders = [(base[m][0]["offences"], m) for m in networks.members[nid] if m != seller and m in base
                 and base[m][0]["offences"] > 0]
    if not offenders:
        return 0.0, []
    strength, worst = max(offenders, key=lambda t: (t[0], t[1]))
    path = _path(networks, nid, seller, worst, graphs)
    hops = "; ".join(f"{lk.a} ~ {lk.b} [{lk.kind}: {lk.evidence}]" for lk in path)
    return cfg.network_weight * strength, [f"network {nid} ({len(networks.members[nid])} sellers) includes "
                                           f"confirmed counterfeiter {worst}; linked by {hops}"]


def _path(networks: SellerNetworks, nid: str, a: str, b: str, graphs: dict[str, Any]) -> list:
    """The links on a shortest path from ``a`` to ``b`` in their network (the first link per pair)."""
    import networkx as nx

    if nid not in graphs:
        g = nx.Graph()
        for m in networks.members[nid]:
            for lk in networks.links_of(m):
                if not g.has_edge(lk.a, lk.b):
                    g.add_edge(lk.a, lk.b, link=lk)
        graphs[nid] = g
    g = graphs[nid]
    nodes = nx.shortest_path(g, a, b)
    return [g.edges[u, v]["link"] for u, v in zip(nodes, nodes[1:])]


@dataclass(frozen=True)
class SellerCues:
    """The fusion's seller cue: risk per seller and the repeat-offender floor per (seller, brand).

    Picklable (plain dicts), so a Ray actor gets the same snapshot the local scan uses.
    """

    risk: dict[str, float] = field(default_factory=dict)
    repeat: dict[str, dict[str, float]] = field(default_factory=dict)   # seller -> brand -> cue floor

    def __call__(self, seller_id: str, brand_id: str) -> float:
        return max(self.risk.get(seller_id, 0.0), self.repeat.get(seller_id, {}).get(brand_id, 0.0))

    def for_seller(self, seller_id: str) -> list:
        """Everything the cue says of one seller, as plain JSON (what a stored result depends on)."""
        return [self.risk.get(seller_id, 0.0), sorted(self.repeat.get(seller_id, {}).items())]

    @classmethod
    def build(cls, risks: Mapping[str, SellerRisk], verdicts: Iterable[Verdict], catalog: Any, *,
              now: datetime | None = None) -> "SellerCues":
        """The cue table from seller risks and verdicts; repeat rules from each brand's ``thresholds``."""
        from counterfeit_vision.catalog import Thresholds

        now = now or datetime.now(timezone.utc)
        repeat: dict[str, dict[str, float]] = defaultdict(dict)
        for v in verdicts:
            if not v.is_fake or v.brand_id not in catalog:
                continue
            t = catalog[v.brand_id].thresholds or Thresholds()
            if t.repeat_offender > 0 and _age_days(v.decided_at, now) <= t.repeat_window_days:
                repeat[v.seller_id][v.brand_id] = t.repeat_offender
        return cls({s: r.risk for s, r in risks.items()}, dict(repeat))

    @classmethod
    def from_store(cls, store, catalog: Any, *, now: datetime | None = None,
                   network_config: Any = None) -> "SellerCues":
        """The cue table from a feedback store: its verdicts and its recorded decisions (the latest per
        listing: past results, with their photos, so networks with confirmed counterfeiters count)."""
        from counterfeit_vision.listing import Result
        from counterfeit_vision.sellers.networks import NetworkConfig, build_networks

        verdicts = verdicts_from_store(store)
        latest: dict[str, dict] = {}
        for d in store.decisions():  # oldest first: a re-scan's decision replaces the earlier one
            if d["seller_id"] and not d["error"]:
                latest[d["listing_id"]] = d
        records = []
        for d in latest.values():
            try:
                result = Result.from_dict({"id": d["listing_id"], "decision": d["decision"],
                                           "confidence": min(1.0, max(0.0, d["confidence"])), "brand": d["brand_id"],
                                           "evidence": d["evidence"], "photos": d["photos"],
                                           "seller_id": d["seller_id"]})
            except (ValueError, TypeError):
                continue  # a row another tool wrote oddly: it just does not count
            rec = SellerListing.of(result)
            if rec is not None:
                records.append(rec)
        authorized = defaultdict(set)
        for b in catalog:
            for s in b.authorized_sellers:
                authorized[s].add(b.id)
        networks = build_networks(records, network_config or NetworkConfig())
        risks = seller_risks(records, verdicts, networks=networks, authorized=authorized, now=now)
        return cls.build(risks, verdicts, catalog, now=now)
