"""The review queue: one brand's listings from a results file, and the verdicts on them.

A reviewer belongs to one brand (:class:`~counterfeit_vision.feedback.store.Reviewer`) and sees
and judges only that brand's listings; every check of that lives here, so the web layer
cannot forget one. Verdicts go to the feedback store that ``feedback import`` and ``train``
use (:meth:`FeedbackStore.record_verdict`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from counterfeit_vision.feedback.store import FeedbackStore, Reviewer
from counterfeit_vision.listing import Listing, Result, read_listings, read_results

__all__ = ["QUEUE_DECISIONS", "AccessDenied", "NotFound", "QueueItem", "ReviewQueue"]

log = logging.getLogger(__name__)

QUEUE_DECISIONS = ("review", "takedown")   # review first: what the detector is unsure about


class NotFound(LookupError):
    """No listing with that id in the results."""


class AccessDenied(PermissionError):
    """The listing belongs to another brand than the reviewer's."""


@dataclass(frozen=True)
class QueueItem:
    """One row of ``GET /api/queue``."""

    id: str
    brand: str
    decision: str
    confidence: float
    verdict: str | None

    def to_dict(self) -> dict:
        return {"id": self.id, "brand": self.brand, "decision": self.decision,
                "confidence": round(self.confidence, 4), "verdict": self.verdict}


class ReviewQueue:
    """The listings referred to brands (review, then takedown), by brand."""

    def __init__(self, results: list[Result], store: FeedbackStore, listings: dict[str, Listing] | None = None):
        self.store = store
        self.listings = listings or {}
        self._by_id: dict[str, Result] = {}
        for r in results:
            if r.error or not r.brand or r.decision not in QUEUE_DECISIONS:
                continue
            if r.id in self._by_id:  # a verdict names a listing by id: the first row with it is the one judged
                log.warning("results: listing id %r appears more than once; the first row is reviewed", r.id)
                continue
            self._by_id[r.id] = r

    @classmethod
    def from_files(cls, results: str | Path, store: FeedbackStore,
                   listings: str | Path | None = None) -> "ReviewQueue":
        rows = {x.id: x for x in read_listings(listings) if isinstance(x, Listing)} if listings else {}
        return cls(list(read_results(results)), store, rows)

    def items(self, reviewer: Reviewer) -> list[QueueItem]:
        """The reviewer's brand's listings: review first, each group most confident first."""
        verdicts = self.store.latest_verdicts(reviewer.brand_id)
        mine = [r for r in self._by_id.values() if r.brand == reviewer.brand_id]
        mine.sort(key=lambda r: (QUEUE_DECISIONS.index(r.decision), -r.confidence, r.id))
        return [QueueItem(r.id, r.brand, r.decision, r.confidence, verdicts.get(r.id)) for r in mine]

    def result(self, reviewer: Reviewer, listing_id: str) -> Result:
        """The result of one of the reviewer's listings.

        Raises:
            NotFound: no such listing in the queue.
            AccessDenied: it is another brand's.
        """
        r = self._by_id.get(listing_id)
        if r is None:
            raise NotFound(listing_id)
        if r.brand != reviewer.brand_id:
            raise AccessDenied(listing_id)
        return r

    def judge(self, reviewer: Reviewer, listing_id: str, verdict: str, note: str | None = None) -> int:
        """Record a verdict (see :meth:`FeedbackStore.record_verdict`); returns its id.

        Raises:
            NotFound, AccessDenied: as :meth:`result`; ValueError: a bad verdict or note.
        """
        return self.store.record_verdict(self.result(reviewer, listing_id), reviewer, verdict, note)

    def confirmation_rate(self, reviewer: Reviewer) -> tuple[int, int]:
        """(confirmed, judged) for the reviewer's brand."""
        return self.store.confirmation_rate(reviewer.brand_id)
