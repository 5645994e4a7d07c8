"""Seller networks: storefronts linked by shared photos, shared identifiers or one store-name pattern.

Links (each with its evidence, one line a reviewer can check):

- ``photo``: the two sellers' listings show the same photo: identical SHA-256 of the
  bytes, or perceptual hashes (64-bit pHash) within ``phash_bits`` (default 6) bits, which
  survives re-compression, resizing, light crops and small watermarks (two different photos
  of similar products differ by ~20-32 bits);
- ``contact`` / ``payment``: the same keyed hash of a contact or payment identifier
  (:mod:`counterfeit_vision.sellers.identifiers`; the clear value is never seen here);
- ``store_name``: the same store-name stem (``LuxWatch-01`` and ``luxwatch store``).

Guard against honest sellers sharing stock photos (the rule):

1. a photo only links when its listing invokes a brand (the result has a ``brand``):
   unbranded goods are sold with supplier photos by many unrelated shops;
2. a photo matched to a brand's own reference photo (``photo`` evidence) never links:
   honest resellers of genuine goods use the brand's official pictures;
3. a photo (all copies within ``phash_bits``, shown in any listing, branded or not), identifier
   or name stem shared by more than ``max_sellers`` (default 8) sellers is a stock item (a supplier's picture, a
   marketplace escrow account, a common shop name) and links no one;
4. a shared photo links only when at least one listing showing it was flagged (``takedown``
   or ``review``): resellers of genuine goods share a supplier's product shot in small groups
   too, and reuse says something about the operator only where the goods look suspicious.

Networks are the connected components (networkx) of the link graph with at least two
sellers; a network's id is ``net-`` + the first 12 hex digits of the SHA-256 of its sorted
member ids, so the same sellers always get the same id, whatever the input order.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import combinations
from typing import Iterable, Sequence

import numpy as np

from counterfeit_vision.listing import Photo
from counterfeit_vision.sellers.identifiers import store_stem
from counterfeit_vision.sellers.records import SellerListing

__all__ = ["Link", "NetworkConfig", "SellerNetworks", "build_networks", "network_id"]

LINK_KINDS = ("photo", "contact", "payment", "store_name")


@dataclass(frozen=True)
class NetworkConfig:
    """How sellers are linked (see the module doc for the rule)."""

    phash_bits: int = 6
    max_sellers: int = 8
    link_store_names: bool = True

    def __post_init__(self) -> None:
        if not 0 <= self.phash_bits <= 16:
            raise ValueError(f"phash_bits must be in [0, 16], got {self.phash_bits}")
        if self.max_sellers < 2:
            raise ValueError(f"max_sellers must be at least 2, got {self.max_sellers}")


@dataclass(frozen=True, order=True)
class Link:
    """An undirected link between two sellers (``a < b``) of one kind, with its evidence."""

    a: str
    b: str
    kind: str
    evidence: str

    def __post_init__(self) -> None:
        if not self.a < self.b:
            raise ValueError("a link's sellers must be distinct and in order (a < b)")
        if self.kind not in LINK_KINDS:
            raise ValueError(f"link kind must be one of {LINK_KINDS}, got {self.kind!r}")

    def other(self, seller_id: str) -> str:
        return self.b if seller_id == self.a else self.a


@dataclass
class SellerNetworks:
    """The link graph's result: every link, and each linked seller's network."""

    links: list[Link]
    network_of: dict[str, str]                      # seller -> network id (linked sellers only)
    members: dict[str, tuple[str, ...]] = field(default_factory=dict)   # network id -> sorted sellers

    def links_of(self, seller_id: str) -> list[Link]:
        """The seller's links, in link order."""
        if getattr(self, "_by_seller", None) is None:
            by: dict[str, list[Link]] = defaultdict(list)
            for lk in self.links:
                by[lk.a].append(lk)
                by[lk.b].append(lk)
            self._by_seller = dict(by)
        return list(self._by_seller.get(seller_id, ()))

    def size(self, seller_id: str) -> int:
        nid = self.network_of.get(seller_id)
        return len(self.members[nid]) if nid else 1


def network_id(members: Iterable[str]) -> str:
    """``net-`` + 12 hex digits of the SHA-256 of the sorted member ids, one per line."""
    return "net-" + hashlib.sha256("\n".join(sorted(members)).encode("utf-8")).hexdigest()[:12]


def build_networks(records: Sequence[SellerListing], config: NetworkConfig = NetworkConfig()) -> SellerNetworks:
    """Link the sellers of ``records`` and group them into networks (deterministic in the input set)."""
    import networkx as nx

    found: dict[tuple[str, str, str], str] = {}   # (a, b, kind) -> evidence; the first in sorted order wins
    for groups, kind in ((_photo_groups(records, config), "photo"),
                         (_field_groups(records, "contact_hash"), "contact"),
                         (_field_groups(records, "payment_hash"), "payment"),
                         (_name_groups(records) if config.link_store_names else {}, "store_name")):
        for evidence, by_seller in sorted(groups.items()):
            if not 2 <= len(by_seller) <= config.max_sellers:
                continue  # one seller: no link; very many: a stock item (rule 3)
            for a, b in combinations(sorted(by_seller), 2):
                found.setdefault((a, b, kind), f"{evidence}: listings {by_seller[a]} and {by_seller[b]}")
    links = sorted(Link(a, b, kind, ev) for (a, b, kind), ev in found.items())
    graph = nx.Graph()
    graph.add_edges_from((lk.a, lk.b) for lk in links)
    network_of, members = {}, {}
    for component in nx.connected_components(graph):
        ordered = tuple(sorted(component))
        nid = network_id(ordered)
        members[nid] = ordered
        network_of.update((s, nid) for s in ordered)
    return SellerNetworks(links, network_of, dict(sorted(members.items())))


def _first_listing(groups: dict[str, dict[str, str]], key: str, seller: str, listing_id: str) -> None:
    """Remember one listing per (group, seller) as the evidence: the smallest id, for determinism."""
    by_seller = groups[key]
    if seller not in by_seller or listing_id < by_seller[seller]:
        by_seller[seller] = listing_id


def _field_groups(records: Sequence[SellerListing], name: str) -> dict[str, dict[str, str]]:
    groups: dict[str, dict[str, str]] = defaultdict(dict)
    for r in records:
        value = getattr(r, name)
        if value:
            _first_listing(groups, f"same {name.replace('_hash', '')} {value}", r.seller_id, r.listing_id)
    return groups


def _name_groups(records: Sequence[SellerListing]) -> dict[str, dict[str, str]]:
    groups: dict[str, dict[str, str]] = defaultdict(dict)
    for r in records:
        stem = store_stem(r.seller_name)
        if stem:
            _first_listing(groups, f"store names share the stem {stem!r}", r.seller_id, r.listing_id)
    return groups


def _photo_groups(records: Sequence[SellerListing], config: NetworkConfig) -> dict[str, dict[str, str]]:
    """Photo clusters (same SHA-256, or pHash within ``phash_bits`` of each other, transitively) that may
    link sellers under the guard's rules, as {evidence: {seller: listing}}."""
    # every photo counts towards "shared by how many sellers" (rule 3), branded listing or not;
    # sorted, so the clusters' labels do not depend on the input order
    photos = sorted(((r, p) for r in records for p in r.photos if p.sha256 or p.phash),
                    key=lambda t: (t[0].seller_id, t[0].listing_id, t[1].path))
    cluster = _photo_clusters([p for _, p in photos], config.phash_bits)
    members: dict[int, list[int]] = defaultdict(list)
    for i, root in enumerate(cluster):
        members[root].append(i)
    groups: dict[str, dict[str, str]] = defaultdict(dict)
    for root, idx in sorted(members.items()):
        if len({photos[i][0].seller_id for i in idx}) > config.max_sellers:
            continue  # rule 3: a stock photo
        if not any(photos[i][0].flagged for i in idx):
            continue  # rule 4: no listing showing this photo looks suspicious
        first = photos[root][1]
        label = (f"same photo sha256 {first.sha256[:12]}" if first.sha256 else f"same photo phash {first.phash}") \
            + f" (SHA-256 or pHash within {config.phash_bits} bits)"
        for i in idx:
            r, p = photos[i]
            if r.brand and p.path not in r.official_photos:  # rules 1 and 2
                _first_listing(groups, label, r.seller_id, r.listing_id)
    return groups


def _photo_clusters(photos: Sequence[Photo], bits: int) -> list[int]:
    """The cluster (its smallest member's index) of each photo, by union-find over equal SHA-256 and near pHash."""
    parent = list(range(len(photos)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i: int, j: int) -> None:
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)

    first_by_sha: dict[str, int] = {}
    for i, p in enumerate(photos):
        if p.sha256:
            union(i, first_by_sha.setdefault(p.sha256, i))
    hashed = [i for i, p in enumerate(photos) if _valid_phash(p.phash)]
    for i, j in _near_pairs([photos[i].phash for i in hashed], bits):
        union(hashed[i], hashed[j])
    return [find(i) for i in range(len(photos))]


def _valid_phash(value: str | None) -> bool:
    if not value or len(value) != 16:
        return False
    try:
        int(value, 16)
    except ValueError:
        return False
    return True


def _near_pairs(hex_hashes: list[str], bits: int) -> list[tuple[int, int]]:
    """Index pairs (i < j) of hashes within ``bits`` Hamming distance (FAISS binary range search)."""
    import faiss

    if len(hex_hashes) < 2:
        return []
    xb = np.frombuffer(b"".join(bytes.fromhex(h) for h in hex_hashes), dtype=np.uint8).reshape(-1, 8)
    index = faiss.IndexBinaryFlat(64)
    index.add(xb)
    lims, _, I = index.range_search(xb, bits + 1)  # distances strictly below the radius
    pairs = []
    for i in range(len(hex_hashes)):
        pairs += [(i, int(j)) for j in I[lims[i]:lims[i + 1]] if j > i]
    return pairs
