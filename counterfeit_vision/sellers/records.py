"""What the seller analyses read about one listing: its result joined with the listing's seller fields.

Results files carry the seller (``seller_id``), the photos (``photos``: SHA-256 and pHash)
and the decision; the optional store fields (name, URL, account age, sales, hashed contact
and payment identifiers, price) come from the listings file when one is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

from counterfeit_vision.listing import Listing, Photo, Result

__all__ = ["SellerListing", "join_records"]


@dataclass(frozen=True)
class SellerListing:
    """One scored listing as the seller analyses see it."""

    listing_id: str
    seller_id: str
    brand: str | None
    decision: str
    confidence: float
    photos: tuple[Photo, ...] = ()
    official_photos: frozenset[str] = frozenset()  # photo paths matched to a brand's own reference photo
    seller_name: str | None = None
    url: str | None = None
    seller_since: str | None = None
    price: float | None = None
    sales: float | None = None
    contact_hash: str | None = None
    payment_hash: str | None = None

    def __post_init__(self) -> None:
        if not self.seller_id:
            raise ValueError("a seller listing needs a seller_id")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must be in [0, 1], got {self.confidence}")

    @property
    def flagged(self) -> bool:
        return self.decision in ("takedown", "review")

    @classmethod
    def of(cls, result: Result, listing: Listing | None = None) -> "SellerListing | None":
        """The record of a result (None when neither it nor its listing names a seller, or it failed)."""
        seller = result.seller_id or (listing.seller_id if listing is not None else None)
        if not seller or result.error:
            return None
        official = frozenset(e.image for e in result.evidence if e.kind == "photo" and e.image)
        # a results file from anywhere: hashes that are not text are dropped, never trusted
        photos = tuple(Photo(p.path, p.sha256 if isinstance(p.sha256, str) else None,
                             p.phash if isinstance(p.phash, str) else None) for p in result.photos)
        extra = {}
        if listing is not None:
            extra = {"seller_name": listing.seller_name, "url": listing.url, "seller_since": listing.seller_since,
                     "price": listing.price, "sales": listing.sales, "contact_hash": listing.contact_hash,
                     "payment_hash": listing.payment_hash}
        brand = result.brand if isinstance(result.brand, str) else None
        return cls(result.id, seller, brand, result.decision, result.confidence, photos, official, **extra)


def join_records(results: Iterable[Result], listings: Mapping[str, Listing] | None = None) -> list[SellerListing]:
    """One record per result that names a seller, joined by listing id with ``listings``."""
    listings = listings or {}
    out = []
    for r in results:
        rec = SellerListing.of(r, listings.get(r.id))
        if rec is not None:
            out.append(rec)
    return out
