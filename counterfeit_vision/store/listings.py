"""Listings remembered: a repeat scan of an unchanged listing with unchanged models is a lookup.

A listing's key is its input hash (``codec.input_hash``: the parsed row and the SHA-256 of
each photo's bytes); its result is kept with the scoring state it was made under
(``versions.scoring_state``) and is reused only under that same state. With it are kept the
brands it names or shows (its candidates) and a digest of what the title matcher found in
its title and in the text read in its photos, which ``delta`` compares after a catalogue change.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Sequence

from counterfeit_vision.image.decode import content_sha256
from counterfeit_vision.listing import Listing, Result
from counterfeit_vision.store.codec import digest, encode_listing, input_hash
from counterfeit_vision.store.db import EvidenceStore, ListingRecord
from counterfeit_vision.store.versions import ScoringState

if TYPE_CHECKING:
    from counterfeit_vision.fusion.evidence import ListingInputs

__all__ = ["ListingFacts", "ListingKey", "ListingMemory", "listing_facts", "text_signature"]


@dataclass(frozen=True)
class ListingFacts:
    """What the store keeps of a scored listing besides its result."""

    candidates: tuple[str, ...]   # brands its title, photo text or photos name or show
    text_sig: str                 # digest of the title matcher's findings in its title and photo text


@dataclass(frozen=True)
class ListingKey:
    """A listing with its input hash and its photos' content hashes."""

    listing: Listing
    input_hash: str
    photos: tuple[str | None, ...]   # SHA-256 of each photo's bytes (None: not a readable file)


def text_signature(title_findings: Sequence, photo_reads: Sequence[Sequence]) -> str:
    """Digest of the findings on a listing's title and on each text box read in its photos."""
    return digest({"title": [asdict(f) for f in title_findings],
                   "photos": [[[asdict(f) for f in found] for _, found in reads] for reads in photo_reads]})


def listing_facts(inputs: "ListingInputs") -> ListingFacts:
    """The candidates and text signature of a scored listing."""
    brands = {f.brand_id for f in inputs.title_findings}
    for photo in inputs.seen:
        brands.update(h.brand_id for h in photo.hits)
        brands.update(f.brand_id for _, found in photo.reads for f in found)
    return ListingFacts(tuple(sorted(brands)), text_signature(inputs.title_findings, [p.reads for p in inputs.seen]))


class ListingMemory:
    """The listings of ``store`` scored under ``state``."""

    def __init__(self, store: EvidenceStore, state: ScoringState):
        self.store = store
        self.state = state
        store.put_state(state.key, state.detail)

    def key(self, listing: Listing, extra: Any = None) -> ListingKey:
        photos = tuple(content_sha256(p) for p in listing.images)
        return ListingKey(listing, input_hash(listing, photos, extra), photos)

    def recall(self, keys: Sequence[ListingKey]) -> dict[str, Result]:
        """Input hash -> stored result, for the keys scored under this state."""
        return self.store.results([k.input_hash for k in keys], self.state.key)

    def remember(self, scored: Sequence[tuple[int, ListingKey, Result, ListingFacts | None]]) -> None:
        """One batch of (position, key, result, facts) in one transaction; rows that failed are not kept."""
        records = [ListingRecord(k.input_hash, pos, encode_listing(k.listing), k.photos, f.candidates, f.text_sig, r)
                   for pos, k, r, f in scored if f is not None and r.error is None]
        if records:
            self.store.put_listings(records, self.state.key)
