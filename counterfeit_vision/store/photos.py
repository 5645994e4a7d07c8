"""The detector's side of the store: a photo seen in any earlier scan is looked up, not looked at.

What is kept of a photo is what the models saw that does not depend on the catalogue's
words: its image hits against one index version (keyed by that version), the OCR text
boxes, its size and pHash, and its window features. The brand names in the text boxes
are found again with the catalogue in use (``photo_brands_from``: a title-matcher call per
box, microseconds), so a brand added with a new alias is read in every stored photo
without looking at one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np

from counterfeit_vision.image.photo_brands import PhotoBrands, photo_brands_from
from counterfeit_vision.store.codec import decode_boxes, decode_hits, encode_boxes, encode_features, encode_hits
from counterfeit_vision.store.db import EvidenceStore, StoredPhoto

if TYPE_CHECKING:
    from counterfeit_vision.detector import PhotoShape
    from counterfeit_vision.titles import TitleMatcher

__all__ = ["PhotoEvidence", "SeenPhoto"]

_SHAPE_INFO = ("original_size", "draft_scale", "bound_scale")  # what evidence boxes need of the decode


@dataclass(frozen=True)
class SeenPhoto:
    """One photo just looked at, to be remembered."""

    sha256: str
    shape: "PhotoShape"
    findings: PhotoBrands
    phash: str | None
    features: np.ndarray | None


class PhotoEvidence:
    """Photos of ``store`` under the index version ``index_state``, named with ``titles``."""

    def __init__(self, store: EvidenceStore, index_state: str, titles: "TitleMatcher"):
        self.store = store
        self.index_state = index_state
        self.titles = titles

    def lookup(self, sha256: str) -> tuple["PhotoShape", PhotoBrands, str | None] | None:
        """(shape, findings numbered 0, pHash) of a stored photo, or None."""
        from counterfeit_vision.detector import PhotoShape

        p = self.store.photo(sha256, self.index_state)
        if p is None:
            return None
        info = {k: tuple(v) if isinstance(v, list) else v for k, v in p.shape["info"].items()}
        findings = photo_brands_from(decode_hits(p.hits, 0), decode_boxes(p.boxes, 0), self.titles)
        return PhotoShape(tuple(p.shape["size"]), info), findings, p.phash

    def boxes(self, sha256: str | None, image_index: int) -> list | None:
        """The text boxes read in a stored photo (numbered ``image_index``), or None when it is not stored.

        A photo a catalogue change reaches is matched again but not read again: the boxes are the ones
        its first scan read, in the same OCR batch as a full re-scan of the same file would read them."""
        if sha256 is None:
            return None
        text = self.store.photo_boxes([sha256]).get(sha256)
        return None if text is None else decode_boxes(text, image_index)

    def remember(self, photos: Sequence[SeenPhoto]) -> None:
        """Write the photos of one group in one transaction (a photo on which something failed is not kept)."""
        rows = []
        for p in photos:
            if p.findings.notes:
                continue
            shape = {"size": list(p.shape.size), "info": {k: p.shape.info[k] for k in _SHAPE_INFO if k in p.shape.info}}
            stored = StoredPhoto(p.sha256, shape, p.phash, encode_boxes(b for b, _ in p.findings.reads),
                                 encode_hits(p.findings.hits))
            feats = p.features
            rows.append((stored, None if feats is None else int(feats.shape[1]),
                         None if feats is None else encode_features(feats)))
        if rows:
            self.store.put_photos(rows, self.index_state)
