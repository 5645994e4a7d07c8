"""Stolen official photos: perceptual hashes and score maps used by ``photo_reuse``.

- a 64-bit perceptual hash (DCT pHash) of the photo with uniform borders
  trimmed, and of its mirror image: a Hamming distance of a few bits
  (``photo_reuse.EXACT_HASH_BITS`` = 4) means the very same photo (resized,
  re-compressed, lightly recoloured, framed); the hash *ranking*
  (``PhashTable.distances``) also proposes candidates for the keypoint copy
  test, since overlays that derail the embedding often leave it right;
- ``embedding_score``: the whole-photo embedding cosine mapped to [0, 1]
  (EfficientNet-Lite0 constants). It proposes candidates; on its own it is
  capped under the review threshold by ``photo_reuse`` whenever keypoint
  verification is available (photos of the same scene are about as close).

``hash_score(d)`` and ``embedding_score(cos)`` are monotone maps onto [0, 1];
``PHOTO_REVIEW_THRESHOLD`` lives in ``photo_reuse`` (re-exported by
``image_matching``).
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np
from PIL import Image, ImageOps

from counterfeit_vision.image.regions import trim_uniform_border

__all__ = ["HASH_BITS", "PhashTable", "embedding_score", "hamming", "hash_score", "phash", "phash_hex",
           "photo_views"]

HASH_BITS = 64
# cosine of whole-photo embeddings: centre and width of the logistic map to [0, 1]
EMB_CENTER = 0.93
EMB_WIDTH = 0.012
# Hamming distance at or below which two photos are the same picture
HASH_MATCH_BITS = 8


def phash(img: Image.Image, *, trim: bool = True) -> int:
    """64-bit DCT perceptual hash as an int (borders trimmed first)."""
    import imagehash

    if trim:
        img = trim_uniform_border(img)
    h = imagehash.phash(img.convert("L"), hash_size=8)
    return int(str(h), 16)


def phash_hex(img: Image.Image) -> str:
    """The 64-bit pHash of ``img`` as 16 hex digits."""
    return f"{phash(img):016x}"


def hamming(a: int, b: int) -> int:
    """Number of differing bits between two hashes."""
    return int(bin(a ^ b).count("1"))


def hash_score(distance: int | None) -> float:
    """Evidence that two photos are the same picture from their pHash distance.

    <= 4 bits: the same picture (0.99); 5-8 bits: probably (0.95 .. 0.65); beyond,
    unrelated photos start to appear (FlickrLogos: pairs of different photos at 9-10 bits),
    so the score drops under the review threshold and the embedding/keypoints decide."""
    if distance is None:
        return 0.0
    if distance <= 4:
        return 0.99
    if distance <= HASH_MATCH_BITS:
        return 0.95 - 0.1 * (distance - 5)  # 0.65 at 8 bits
    return max(0.0, 0.45 - 0.05 * (distance - HASH_MATCH_BITS - 1))


def embedding_score(cos: float) -> float:
    """Evidence that a listing photo is a (transformed) copy of a reference, from cosine similarity."""
    return float(1.0 / (1.0 + math.exp(-(cos - EMB_CENTER) / EMB_WIDTH)))


def photo_views(img: Image.Image) -> list[Image.Image]:
    """The views of a listing photo compared against references: border-trimmed, and its mirror."""
    base = trim_uniform_border(img)
    return [base, ImageOps.mirror(base)]


class PhashTable:
    """Perceptual hashes of reference photos, searched by Hamming distance (numpy popcount)."""

    def __init__(self) -> None:
        self.ids = np.zeros(0, np.int64)
        self.hashes = np.zeros(0, np.uint64)

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[int, str | int]]) -> "PhashTable":
        t = cls()
        pairs = [(int(i), int(h, 16) if isinstance(h, str) else int(h)) for i, h in pairs if h not in ("", None)]
        if pairs:
            t.ids = np.array([i for i, _ in pairs], np.int64)
            t.hashes = np.array([h for _, h in pairs], np.uint64)
        return t

    def distances(self, hashes: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """(reference ids (R,), Hamming distances (Q, R)) of each query hash to every reference."""
        q = np.array([int(h) for h in hashes], np.uint64)
        if len(self) == 0 or len(q) == 0:
            return self.ids.copy(), np.zeros((len(q), len(self)), np.int64)
        x = np.bitwise_xor(q[:, None], self.hashes[None, :])  # (Q, R)
        d = np.unpackbits(x.view(np.uint8).reshape(len(q), len(self), 8), axis=2).sum(axis=2)
        return self.ids.copy(), d.astype(np.int64)

    def nearest(self, hashes: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """For each query hash, (ref id, Hamming distance) of the closest reference; id -1 when empty."""
        q = np.array([int(h) for h in hashes], np.uint64)
        if len(self) == 0 or len(q) == 0:
            return np.full(len(q), -1, np.int64), np.full(len(q), HASH_BITS + 1, np.int64)
        x = np.bitwise_xor(q[:, None], self.hashes[None, :])  # (Q, R)
        d = np.unpackbits(x.view(np.uint8).reshape(len(q), len(self), 8), axis=2).sum(axis=2)
        j = d.argmin(axis=1)
        return self.ids[j], d[np.arange(len(q)), j].astype(np.int64)
