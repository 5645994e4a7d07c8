"""Builders of seller records for the seller tests."""

from __future__ import annotations

from counterfeit_vision.listing import Photo
from counterfeit_vision.sellers.records import SellerListing


def rec(lid: str, seller: str, *, brand: str | None = "velora", decision: str = "review", conf: float = 0.6,
        photos: tuple[tuple[str | None, str | None], ...] = (), **kw) -> SellerListing:
    """A record whose photos are given as (sha256, phash) pairs; paths are made from the listing id."""
    ph = tuple(Photo(f"{lid}/{k}.jpg", sha, phash) for k, (sha, phash) in enumerate(photos))
    return SellerListing(lid, seller, brand, decision, conf, ph, **kw)


def flip(phash: str, bits: int) -> str:
    """``phash`` with its lowest ``bits`` bits flipped."""
    return f"{int(phash, 16) ^ ((1 << bits) - 1):016x}"
