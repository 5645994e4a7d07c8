"""Reused official photos: is a listing photo a transformed copy of a brand's reference photo?

``ImageMatcher.match`` calls ``PhotoReuseMatcher.match`` with each listing photo and
its whole-photo embedding (of the border-trimmed photo). The embedding and the
perceptual hash only *propose* reference photos; keypoints *decide*:

1. **Candidates** (over all brands): the ``PHOTO_EMBED_CANDIDATES`` reference photos
   whose embedding (indexed as-is and mirrored) is closest to the photo's, the
   ``PHOTO_VOTE_CANDIDATES`` sharing most distinctive SIFT keypoints with it (all reference
   photos' keypoints, as-is and mirrored, in one ``logo_keypoints.LogoKeypointIndex``;
   ratio test across brands; saved beside the index as ``REFERENCE_KEYPOINTS_FILE``),
   and the ``PHOTO_HASH_CANDIDATES`` closest by 64-bit pHash
   (photo and its mirror, ``near_duplicate``). Text banners and overlays derail the
   embedding and the hash; the keypoints outside the banners still point at the reference.
2. **Exact reuse**: a pHash within ``EXACT_HASH_BITS`` (4) bits is the same picture
   (resized, re-compressed, recoloured, framed): score 0.99, nothing else needed.
3. **Copy test** (``geometry.KeypointVerifier.copy_of``): SIFT matches (ratio test, one
   per photo keypoint) fitted with one similarity transform by RANSAC; the reference
   is also tried mirrored. A copy (crop, resize, border, mirror, recolouring,
   re-compression, text or watermark overlay) needs

   - at least ``COPY_MIN_INLIERS`` inliers;
   - the transformed reference covers ``COPY_MIN_OVERLAP`` of the photo (the photo *is*
     the reference, or a crop of it) and the photo shows at least ``COPY_MIN_REF_SIDE`` of
     the reference's width and of its height, inside its uniform margin (less is an element
     of it, such as its logo);
   - inliers in ``COPY_MIN_SPREAD`` of the overlap's textured grid cells, in both
     images (a different photo of the same logo matches on the logo only);
   - no second, differently placed group of matches larger than
     ``COPY_MAX_SECOND`` of the inliers (another layout of the same artwork);
   - a pixel check (``geometry.structure_agreement``: local normalised cross-correlation
     once the reference is mapped onto the photo): a share of the reference's textured
     pixels reappears (overlays hide the rest) and a share of the photo's is explained
     (the same logo on another photo agrees on the logo only). ``COPY_PIXEL_RULES``:
     the fewer grid cells the inliers reach, the more of the reference must reappear.

   Candidates are tested most similar first; the search stops at a strong copy.

   Score ``copy_score``: 0.6 at the minimum, up to 0.99 with many inliers.
4. **Otherwise** the embedding (``near_duplicate.embedding_score``) and a pHash of 5+
   bits are only hints: capped at ``UNVERIFIED_CAP`` (under ``PHOTO_REVIEW_THRESHOLD``),
   except a near-identical embedding (cosine >= ``NEAR_IDENTICAL_COS``, which unrelated
   photos did not reach in ``benchmarks/eval_stolen_photos.py``) when the keypoints could
   not decide (fewer than ``COPY_MIN_INLIERS`` inliers: flat graphics, tiny photos), which
   reaches ``NEAR_IDENTICAL_SCORE``. The cosine constants are EfficientNet-Lite0's.

Without keypoint verification (``verify=False`` or no catalogue root to load the
references from) the embedding and hash scores are used uncapped, as before the
copy test existed: weaker (photos of the same scene reach the threshold).

The thresholds were set on ``benchmarks/eval_stolen_photos.py`` (seeds 0 and 1; seed 2
only measured).

Limits: the same artwork saved as another picture (a web logo graphic re-used on
several pages, the same packshot with another background) *is* a copy for this
test; see ``benchmarks/README_images.md``.
"""

from __future__ import annotations

import logging
import math
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from counterfeit_vision.image.geometry import CopyVerification, Features, KeypointVerifier, structure_agreement
from counterfeit_vision.image.phash import PhashTable, embedding_score, hash_score, phash
from counterfeit_vision.image.regions import Box, trim_uniform_border, uniform_border_box
from counterfeit_vision.index.reference import ReferenceIndex

__all__ = ["COPY_MIN_INLIERS", "EXACT_HASH_BITS", "PHOTO_REVIEW_THRESHOLD", "Candidate", "CopyEvidence",
           "PhotoMatch", "PhotoReuseMatcher", "REFERENCE_KEYPOINTS_FILE", "copy_score", "is_copy"]

log = logging.getLogger(__name__)

# A photo hit at or above this score deserves a reviewer's look (benchmarks/eval_stolen_photos.py).
# Re-exported by ``image_matching``.
PHOTO_REVIEW_THRESHOLD = 0.5

# candidates (reference photos, over all brands) checked with keypoints per listing photo
PHOTO_EMBED_CANDIDATES = 6
PHOTO_HASH_CANDIDATES = 3
PHOTO_VOTE_CANDIDATES = 3   # proposed by shared keypoints (logo_keypoints.LogoKeypointIndex.votes)
PHOTO_VOTE_MIN = 8          # correspondences for such a proposal
VOTE_NEIGHBOURS, VOTE_NPROBE = 4, 4  # the vote search: neighbours per keypoint, IVF lists probed
PHOTO_FETCH = 40            # index neighbours fetched to find the embedding candidates
EXACT_HASH_BITS = 4         # pHash distance of the very same picture

# the copy test (see the module docstring)
COPY_MIN_INLIERS = 7
COPY_MIN_OVERLAP = 0.8
COPY_MIN_REF_SIDE = 0.35    # the photo shows >= 35% of the reference's width and height
COPY_MIN_SPREAD = 0.1
COPY_MAX_SECOND = 0.2
COPY_SECOND_SLACK = 4       # chance groups among the outliers
# the pixel check: (spread at least, share of the reference's structure reproduced in the photo,
# share of the photo's structure explained by the reference). Inliers spread over the picture
# need less pixel agreement; inliers bunched in a few cells (flat graphics, banners over the
# texture) must be confirmed by most of the reference reappearing.
COPY_PIXEL_RULES = ((0.3, 0.5, 0.15), (COPY_MIN_SPREAD, 0.7, 0.25))

# evidence without a verified copy
UNVERIFIED_CAP = 0.45
NEAR_IDENTICAL_COS = 0.985
NEAR_IDENTICAL_SCORE = 0.6

# keypoints: lower contrast threshold than the logo verifier, flat product shots and graphics have few
KEYPOINT_CONTRAST = 0.02
KEYPOINT_MAX = 1500
KEYPOINT_MIN_SIDE, KEYPOINT_MAX_SIDE = 320, 640
REFERENCE_DRAFT = 512       # references decoded at reduced size (as onboarding does)
GREY_PIXELS = 320 * 240     # resolution of the pixel check (listing photo)
GREY_MAX_SIDE = 640         # and of the cached reference
REFERENCE_KEYPOINTS_FILE = "reference_keypoints.npz"  # the vote index's descriptors, beside a saved index


@dataclass(frozen=True)
class _View:
    """What the copy test needs of one image: keypoints and a grey version for the pixel check."""

    features: Features
    grey: np.ndarray
    grey_scale: tuple[float, float]  # grey pixels per image pixel (x, y)
    index: object = None             # KeypointVerifier.photo_index (listing photos)
    content: Box | None = None       # regions.uniform_border_box (references)


def _view(verifier: KeypointVerifier, img: Image.Image, grey_scale: float, *, compact: bool = False) -> _View:
    f = verifier.features(img, min_side=KEYPOINT_MIN_SIDE, max_side=KEYPOINT_MAX_SIDE)
    if compact and f.descriptors is not None:  # SIFT descriptor values are 0..255: a quarter of the memory
        f = Features(f.points, f.descriptors.astype(np.uint8), f.size)
    return _grey_view(f, img, grey_scale)


def _grey_view(f: Features, img: Image.Image, grey_scale: float) -> _View:
    w, h = img.size
    gw, gh = max(8, round(w * grey_scale)), max(8, round(h * grey_scale))
    grey = np.asarray(img.convert("L").resize((gw, gh), Image.Resampling.BILINEAR))
    return _View(f, grey, (gw / w, gh / h))


@dataclass(frozen=True)
class Candidate:
    """A reference photo proposed for the copy test."""

    ref_id: int                        # the reference's as-is index entry
    brand_id: str
    path: str                          # relative to the catalogue root
    box: tuple[int, int, int, int] | None
    similarity: float = -1.0           # best cosine over its entries (as-is, mirrored); -1: not proposed by it
    mirror: bool = False               # its mirrored view was the closer one
    phash_distance: int | None = None  # Hamming distance of the hashes (photo or mirror, the closer)


@dataclass(frozen=True)
class PhotoMatch:
    """The best reuse evidence of one brand's reference photos in one listing photo."""

    brand_id: str
    ref_id: int
    ref_path: str                      # the matched reference photo, relative to the catalogue root
    score: float                       # calibrated evidence in [0, 1]; compare with PHOTO_REVIEW_THRESHOLD
    similarity: float = 0.0            # cosine of the whole-photo embeddings
    phash_distance: int | None = None  # Hamming distance of the perceptual hashes
    verified: bool = False             # the keypoint copy test passed
    inliers: int = 0                   # keypoint inliers of that test
    reason: str = "embedding"          # "exact_hash" | "copy" | "near_identical" | "embedding" | "hash"
    detail: str = ""                   # the copy test's measurements, for reviewers and benchmarks
    box: Box | None = None
    method: str = "near_duplicate"
    ref_area: float | None = None      # share of the reference's area the copy test found in the photo

    def hit_fields(self) -> dict[str, Any]:
        """Keyword arguments of ``image_matching.ImageHit`` (besides ``kind`` and ``image_index``)."""
        return {"brand_id": self.brand_id, "similarity": self.similarity, "ref_id": self.ref_id,
                "ref_path": self.ref_path, "box": self.box, "method": self.method, "score": self.score,
                "verified": self.verified, "inliers": self.inliers, "phash_distance": self.phash_distance,
                "ref_area": self.ref_area}


@dataclass(frozen=True)
class CopyEvidence:
    """The copy test of one candidate: keypoint geometry, then the pixel check."""

    keypoints: CopyVerification
    reproduced: float = 0.0   # share of the reference's textured pixels that agree (geometry.structure_agreement)
    explained: float = 0.0    # share of the photo's textured pixels that agree
    mirrored: bool = False    # the reference was mirrored

    @property
    def inliers(self) -> int:
        return self.keypoints.inliers

    def geometry_ok(self) -> bool:
        v = self.keypoints
        return (v.inliers >= COPY_MIN_INLIERS and v.overlap >= COPY_MIN_OVERLAP
                and min(v.ref_sides) >= COPY_MIN_REF_SIDE and v.spread >= COPY_MIN_SPREAD
                and v.second_inliers <= COPY_MAX_SECOND * v.inliers + COPY_SECOND_SLACK)


def is_copy(e: CopyEvidence | None) -> bool:
    """The copy test's decision (see the module docstring)."""
    return (e is not None and e.geometry_ok()
            and any(e.keypoints.spread >= s and e.reproduced >= r and e.explained >= x for s, r, x in COPY_PIXEL_RULES))


def copy_score(e: CopyEvidence) -> float:
    """Evidence in [0.6, 0.99] of a passed copy test, growing with the inliers."""
    return float(0.6 + 0.39 * (1.0 - math.exp(-(e.inliers - COPY_MIN_INLIERS) / 30.0)))


def describe(e: CopyEvidence | None) -> str:
    if e is None:
        return "not tested"
    v = e.keypoints
    return (f"{v.inliers} inliers of {v.matches} matches{' (mirrored)' if e.mirrored else ''}, spread "
            f"{v.spread:.2f}, covers {v.overlap:.2f} of the photo, shows {v.ref_sides[0]:.2f} x {v.ref_sides[1]:.2f} "
            f"of the reference, "
            f"second group {v.second_inliers}, scale {v.scale:.2f}; pixels: {e.reproduced:.2f} of the reference "
            f"reproduced, {e.explained:.2f} of the photo explained")


class PhotoReuseMatcher:
    """Finds reused official photos (index entries of kind ``reference``).

    Args:
        index: the reference index (its embedder embedded ``x_whole`` in ``match``).
        reference_root: catalogue root to load reference photos from for the copy test
            (defaults to the index's); without it, no keypoint verification.
        verify: run the keypoint copy test (else embedding and hash scores, uncapped).
        k: unused (kept for compatibility: ``PHOTO_FETCH`` neighbours are fetched).
        max_hits: matches returned per photo.
        min_score: matches under this score are dropped.
        embedder: unused; accepted so callers can pass it.
        cache_size: reference views (keypoints and a grey copy) kept in memory (LRU; ~0.5 MB each).
    """

    def __init__(self, index: ReferenceIndex, *, reference_root: str | Path | None = None, verify: bool = True,
                 k: int = 10, max_hits: int = 5, min_score: float = 0.01, embedder=None, cache_size: int = 512):
        self.index = index
        root = reference_root if reference_root is not None else getattr(index, "reference_root", None)
        self.reference_root = Path(root) if root else None
        self.verify = verify
        self.k = k
        self.max_hits = max_hits
        self.min_score = min_score
        self.embedder = embedder
        self.cache_size = cache_size
        self._verifier: KeypointVerifier | None = None
        self._ref_views: OrderedDict[tuple, _View | None] = OrderedDict()
        self._tables: tuple[tuple[int, int], PhashTable, dict[tuple, int]] | None = None
        self._votes: tuple[tuple[int, int], Any] | None = None  # (index state, LogoKeypointIndex)
        # (path, box, mirror) -> (size, uint8 descriptors, points) of every reference view, as described for
        # the vote index (same settings as the copy test's): the copy test takes them instead of re-running
        # SIFT on each candidate (over a third of a scan's time); ~200 kB per view
        self._described: dict[tuple, tuple] = {}

    # ---------------------------------------------------------------- public
    def match(self, img: Image.Image, x_whole: np.ndarray) -> list[PhotoMatch]:
        """Matches for one RGB photo, strongest first (one per brand); ``x_whole``: the
        embedding of the border-trimmed photo (``regions.trim_uniform_border``)."""
        out = [self._decide(c, v) for c, v in self.examine(img, x_whole)]
        best: dict[str, PhotoMatch] = {}
        for m in out:
            if m.brand_id not in best or ((m.score, m.similarity)
                                          > (best[m.brand_id].score, best[m.brand_id].similarity)):
                best[m.brand_id] = m
        hits = sorted(best.values(), key=lambda m: -m.score)
        return [m for m in hits[:self.max_hits] if m.score >= self.min_score]

    def examine(self, img: Image.Image, x_whole: np.ndarray) -> list[tuple[Candidate, CopyEvidence | None]]:
        """Every candidate with its copy test (None: not tested: exact hash, verification off,
        reference unreadable, or a copy of another candidate was already found)."""
        if len(self.index) == 0:
            return []
        base = trim_uniform_border(img)
        if not (self.verify and self.reference_root is not None):
            return [(c, None) for c in self.candidates(base, x_whole)]
        w, h = base.size
        query = _view(self._verifier_(), base, min(4.0, (GREY_PIXELS / max(1, w * h)) ** 0.5))
        cands = self.candidates(base, x_whole, query.features)
        out: list[tuple[Candidate, CopyEvidence | None]] = []
        found = False
        for c in cands:
            if found or (c.phash_distance is not None and c.phash_distance <= EXACT_HASH_BITS):
                out.append((c, None))
                continue
            if query.index is None:  # built only for a photo that needs a copy test (exact reuse does not)
                query = replace(query, index=self._verifier_().photo_index(query.features))
            e = None
            for mirror in (c.mirror, not c.mirror):
                ref = self._reference_view(c.path, c.box, mirror)
                if ref is None:
                    break
                t = self.copy_test(ref, query, mirror)
                if e is None or (is_copy(t), t.inliers) > (is_copy(e), e.inliers):
                    e = t
                if is_copy(t):
                    break
            out.append((c, e))
            found = is_copy(e) and copy_score(e) >= 0.9
        return out

    def copy_test(self, ref: _View, query: _View, mirrored: bool = False) -> CopyEvidence:
        """Keypoint geometry (``KeypointVerifier.copy_of``) and, when it fits, the pixel check."""
        v = self._verifier_().copy_of(ref.features, query.features, photo_index=query.index, ref_content=ref.content)
        e = CopyEvidence(v, mirrored=mirrored)
        if not e.geometry_ok():
            return e
        (rx, ry), (qx, qy) = ref.grey_scale, query.grey_scale
        M = np.diag([qx, qy, 1.0]) @ np.vstack([v.transform, [0, 0, 1]]) @ np.diag([1 / rx, 1 / ry, 1.0])
        reproduced, explained = structure_agreement(ref.grey, query.grey, M[:2])
        return CopyEvidence(v, reproduced, explained, mirrored)

    def candidates(self, base: Image.Image, x_whole: np.ndarray, features: Features | None = None) -> list[Candidate]:
        """Reference photos to test, most similar first: the embedding's top
        ``PHOTO_EMBED_CANDIDATES``, then (given the photo's keypoint ``features``) the
        ``PHOTO_VOTE_CANDIDATES`` sharing most keypoints, then the hash's top
        ``PHOTO_HASH_CANDIDATES``, each without those already in."""
        table, as_is = self._hash_table()
        by_key: dict[tuple, dict] = {}
        order: list[tuple] = []
        for m in self.index.query(np.asarray(x_whole, np.float32)[None], PHOTO_FETCH, kind="reference")[0]:
            key = (m.entry.path, m.entry.box)
            if key not in by_key:
                if len(order) >= PHOTO_EMBED_CANDIDATES:
                    continue
                by_key[key] = {"sim": m.similarity, "mirror": m.entry.augmentation == "mirror",
                               "brand": m.entry.brand_id, "id": as_is.get(key, m.ref_id), "d": None}
                order.append(key)
        if features is not None:
            for ref_id, mirror in self._voted(features):
                e = self.index.entries[ref_id]
                key = (e.path, e.box)
                if key not in by_key:
                    by_key[key] = {"sim": -1.0, "mirror": mirror, "brand": e.brand_id, "id": ref_id, "d": None}
                    order.append(key)
        if len(table):
            h = [phash(base, trim=False), phash(ImageOps.mirror(base), trim=False)]
            ids, d = table.distances(h)  # (R,), (2, R)
            dmin = d.min(axis=0)
            mirror_closer = d[1] < d[0]
            ranked = np.argsort(dmin, kind="stable")
            for j, r in enumerate(ranked.tolist()):
                e = self.index.entries[int(ids[r])]
                key = (e.path, e.box)
                if key not in by_key:
                    if j >= PHOTO_HASH_CANDIDATES:
                        continue
                    by_key[key] = {"sim": -1.0, "mirror": bool(mirror_closer[r]), "brand": e.brand_id,
                                   "id": int(ids[r]), "d": None}
                    order.append(key)
                if by_key[key]["d"] is None:
                    by_key[key]["d"] = int(dmin[r])
                    if by_key[key]["sim"] < 0:
                        by_key[key]["mirror"] = bool(mirror_closer[r])
        return [Candidate(b["id"], b["brand"], key[0], key[1], float(b["sim"]), b["mirror"], b["d"])
                for key, b in ((k, by_key[k]) for k in order)]

    # --------------------------------------------------------------- scoring
    def _decide(self, c: Candidate, v: CopyEvidence | None) -> PhotoMatch:
        emb = embedding_score(c.similarity) if c.similarity > -1 else 0.0
        hsh = hash_score(c.phash_distance)
        common = dict(brand_id=c.brand_id, ref_id=c.ref_id, ref_path=c.path, similarity=max(c.similarity, 0.0),
                      phash_distance=c.phash_distance, detail=describe(v),
                      ref_area=v.keypoints.ref_sides[0] * v.keypoints.ref_sides[1] if v is not None else None)
        if c.phash_distance is not None and c.phash_distance <= EXACT_HASH_BITS:
            return PhotoMatch(score=hsh, reason="exact_hash", verified=is_copy(v),
                              inliers=v.inliers if v is not None else 0, **common)
        if is_copy(v):
            return PhotoMatch(score=max(copy_score(v), min(emb, UNVERIFIED_CAP)), reason="copy", verified=True,
                              inliers=v.inliers, **common)
        if not (self.verify and self.reference_root is not None):
            return PhotoMatch(score=max(emb, hsh), reason="embedding" if emb >= hsh else "hash", **common)
        if c.similarity >= NEAR_IDENTICAL_COS and (v is None or v.inliers < COPY_MIN_INLIERS):
            return PhotoMatch(score=max(NEAR_IDENTICAL_SCORE, min(emb, 0.95)), reason="near_identical",
                              inliers=v.inliers if v is not None else 0, **common)
        return PhotoMatch(score=min(max(emb, hsh), UNVERIFIED_CAP), reason="embedding" if emb >= hsh else "hash",
                          inliers=v.inliers if v is not None else 0, **common)

    # --------------------------------------------------------------- helpers
    def _verifier_(self) -> KeypointVerifier:
        if self._verifier is None:
            self._verifier = KeypointVerifier(max_features=KEYPOINT_MAX, contrast_threshold=KEYPOINT_CONTRAST)
        return self._verifier

    def _voted(self, features: Features) -> list[tuple[int, bool]]:
        """(ref_id, mirrored) of the reference photos sharing at least ``PHOTO_VOTE_MIN``
        distinctive keypoints with the photo, most first (``PHOTO_VOTE_CANDIDATES`` at most)."""
        index = self.vote_index()
        if not len(index):
            return []
        found: dict[int, bool] = {}  # ref_id -> mirrored, the more voted orientation first
        for key, _, n in index.votes(features):
            if n < PHOTO_VOTE_MIN or len(found) >= PHOTO_VOTE_CANDIDATES:
                break
            found.setdefault(key // 2, bool(key % 2))  # keys are 2 x ref_id + mirrored (vote_index)
        return list(found.items())

    def _vote_cache(self):
        from counterfeit_vision.image.keypoint_index import KeypointCache, LogoKeypointIndex

        return KeypointCache(REFERENCE_KEYPOINTS_FILE, self._vote_settings(),
                             lambda: LogoKeypointIndex(k=VOTE_NEIGHBOURS, nprobe=VOTE_NPROBE, compact=True),
                             what="reference keypoints", redo="the reference photos")

    def _vote_item(self, path: str, box, mirror: bool):
        """The vote cache's item for one reference view (``_vote_views``)."""
        from counterfeit_vision.image.keypoint_index import CacheItem, file_key

        ref_id = self._hash_table()[1][(path, box)]
        return CacheItem(2 * ref_id + mirror, self.index.entries[ref_id].brand_id,
                         file_key(self.reference_root, path, box, mirror),
                         lambda: getattr(self._reference_view(path, box, mirror), "features", None))

    def _build_votes(self):
        views = list(self._vote_views())
        items = [self._vote_item(*view) for view in views]
        kp, described = self._vote_cache().build(items, self.index.folder)
        if described:
            log.info("described %d reference photo views by keypoints (%d from the cache)", described,
                     len(kp) - described)
        view_of = {item.key: view for item, view in zip(items, views) if item.key is not None}
        self._described = {view_of[key]: value for key, value in kp.files().items()
                           if key in view_of and value is not None}
        return kp

    def _vote_views(self):
        """(path, box, mirror) of every reference photo view in the vote index: each reference photo as
        is and mirrored, in ref_id order."""
        _, as_is = self._hash_table()
        for (path, box), _ in sorted(as_is.items(), key=lambda kv: kv[1]):
            for mirror in (False, True):
                yield (path, box, mirror)

    def vote_index(self):
        """Keypoints of every reference photo, as is and mirrored (SIFT is not mirror-invariant),
        in one ``LogoKeypointIndex`` keyed 2 x ref_id + mirrored: built on first use from the
        cache beside the saved index (``REFERENCE_KEYPOINTS_FILE``, with the IVF's k-means
        centroids; only reference photos it lacks are described, in memory, nothing is written),
        rebuilt when the index changes. An approximate search (IVF, 8-bit codes, few lists
        probed): a copy shares hundreds of keypoints, a few lost ones do not matter. Only votes
        are asked of it, so its descriptors are released once the search is built."""
        stamp = self.index.content_state
        if self._votes is not None and self._votes[0] == stamp:
            return self._votes[1]
        kp = self._build_votes()
        kp.release_descriptors()
        self._votes = (stamp, kp)
        return kp

    def prepare_cache(self, folder: str | Path) -> None:
        """Describe every reference photo and write the cache into ``folder`` (see ``vote_index``)."""
        if self.reference_root is None or not self.verify:
            return
        kp = self._build_votes()
        self._vote_cache().save(kp, folder)
        kp.release_descriptors()
        self._votes = (self.index.content_state, kp)

    def _vote_settings(self) -> dict:
        """Everything that changes a reference photo's vote descriptors (see ``logo_feature_settings``)."""
        from counterfeit_vision.image.keypoint_index import logo_feature_settings

        s = logo_feature_settings(self._verifier_(), views=(), min_side=KEYPOINT_MIN_SIDE, max_side=KEYPOINT_MAX_SIDE)
        return {**s, "use": "reference photos as is and mirrored", "reference_draft": REFERENCE_DRAFT}

    def _reference_view(self, path: str, box, mirror: bool) -> _View | None:
        key = (path, box, mirror)
        if key in self._ref_views:
            self._ref_views.move_to_end(key)
            return self._ref_views[key]
        from counterfeit_vision.image.decode import ImageError, load_rgb

        view = None
        try:
            img = load_rgb(self.reference_root / path, draft_size=REFERENCE_DRAFT)
            if box:
                img = img.crop(tuple(box))
            if mirror:
                img = ImageOps.mirror(img)
            known = self._described.get(key)
            if known is not None:  # described for the vote index already: only the grey copy is made
                size, desc, pts = known
                view = _grey_view(Features(pts, desc, size), img, min(1.0, GREY_MAX_SIDE / max(img.size)))
            else:
                view = _view(self._verifier_(), img, min(1.0, GREY_MAX_SIDE / max(img.size)), compact=True)
            # "shows COPY_MIN_REF_SIDE of the reference" is measured on its picture, not on a white margin that
            # the listing photo's border trim removes (up to 60% of a side)
            view = replace(view, content=uniform_border_box(img))
        except (ImageError, OSError) as exc:
            log.warning("reference %s cannot be loaded for the copy test: %s", path, exc)
        self._ref_views[key] = view
        while len(self._ref_views) > self.cache_size:
            self._ref_views.popitem(last=False)
        return view

    def _hash_table(self) -> tuple[PhashTable, dict[tuple, int]]:
        stamp = self.index.content_state
        if self._tables is None or self._tables[0] != stamp:
            pairs, as_is = [], {}
            for i, e in self.index.entries.items():
                if e.kind == "reference" and not e.augmentation:
                    as_is[(e.path, e.box)] = i
                    if e.phash:
                        pairs.append((i, e.phash))
            self._tables = (stamp, PhashTable.from_pairs(pairs), as_is)
        return self._tables[1], self._tables[2]
