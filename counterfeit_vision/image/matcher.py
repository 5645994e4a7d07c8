"""Image evidence: listing photos matched against the brands' references.

Two questions per photo, each answered with a calibrated ``ImageHit.score`` in
[0, 1] (strength of evidence that the brand's logo / official photo is there):

**Logo anywhere in the photo** (``kind="logo"``). The photo and square windows
at several scales (``regions.propose_regions``) are embedded in one batch
(bf16 on CPUs that support it). Each window is scored per brand by the brand's
few-shot head (``adaptation.BrandHeads``, trained at onboarding on the frozen
features of its logos, augmented, and its product photos) when the index has
heads, else by the cosine similarity to the brand's logo vectors. The
strongest window per brand is that brand's embedding candidate.
Independently, the photo's SIFT keypoints are looked up in one index of every
brand's logo keypoints (``logo_keypoints.LogoKeypointIndex``: ratio test
across brands, RANSAC homography per logo file), so a logo the embedding
ranks low is still found: a verified logo gets the projected outline as its
``box``, ``verified=True``, its ``inliers``, and a score of at least
``geometry.verification_score`` (>= 0.80). Embedding-only hits are capped at
``UNVERIFIED_LOGO_MAX`` (0.79), so a verified logo always outranks them.

**Official photo reused** (``kind="photo"``): delegated to
``photo_reuse.PhotoReuseMatcher`` (see its docstring), given the photo and its
whole-photo embedding.

Thresholds for the fusion: ``LOGO_REVIEW_THRESHOLD`` and
``PHOTO_REVIEW_THRESHOLD`` (chosen with ``benchmarks/eval_logos.py`` and
``benchmarks/eval_stolen_photos.py``; see ``benchmarks/README_images.md``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

from counterfeit_vision import timing
from counterfeit_vision.embedders.base import ImageEmbedder
from counterfeit_vision.image.photo_reuse import PHOTO_REVIEW_THRESHOLD, PhotoReuseMatcher
from counterfeit_vision.image.regions import (
    DEFAULT_SCALES,
    Box,
    embed_regions,
    propose_regions,
    tile_boxes,
    trim_uniform_border,
)
from counterfeit_vision.index.reference import ReferenceIndex

__all__ = ["ImageHit", "ImageMatcher", "LOGO_REVIEW_THRESHOLD", "PHOTO_REVIEW_THRESHOLD", "head_score",
           "knn_logo_score", "tile_boxes"]

log = logging.getLogger(__name__)

# A hit at or above these scores deserves a reviewer's look (the fusion's image "review" level).
# Chosen on FlickrLogos-27 (benchmarks/eval_logos.py): <= 5% of photos without a catalogue
# logo reach it. PHOTO_REVIEW_THRESHOLD (<= 1% of unrelated photos, benchmarks/eval_stolen_photos.py)
# lives in photo_reuse and is re-exported here.
LOGO_REVIEW_THRESHOLD = 0.5

# with heads: the best window's head probability p (a maximum over hundreds of windows, so
# inflated) is recalibrated as sigmoid(HEAD_SLOPE * (logit(p) - HEAD_CENTER)); HEAD_CENTER is
# the head probability that only ~2% of photos without a catalogue logo reach on
# benchmarks/eval_logos.py (seed 0), so it lands on LOGO_REVIEW_THRESHOLD = 0.5: keypoint-verified
# logos cover over half of the photos with a logo, so embedding-only hits can be held to a
# stricter level and the overall false alarms stay under 5%.
HEAD_CENTER = 5.1  # logit, i.e. p = 0.994
HEAD_SLOPE = 1.0

# photos matched together (window features of one group in memory at once): large enough to fill the
# embedder's batches, small enough that a batch of 320 huge photos does not hold gigabytes of windows
PHOTO_GROUP = 16

# inverted lists probed by the logo keypoint search (its IVF has ~1,000 lists at 700k descriptors); thorough: 16.
# A one-off check (not a repository benchmark; bench_scan.py measures the end-to-end agreement): 8 verified the same
# brands as 16 on 199 of 200 FlickrLogos listing photos in 0.58x the search time
LOGO_NPROBE = 8

# embedding-only logo hits are capped just under the weakest keypoint-verified score (0.80)
UNVERIFIED_LOGO_MAX = 0.79
# listing photos are described by keypoints at this size (FlickrLogos logos: median 68 px short side)
PHOTO_KEYPOINT_MIN_SIDE, PHOTO_KEYPOINT_MAX_SIDE = 600, 1280

# without heads: cosine similarity to a brand's logo vectors mapped to [0, 1]
_KNN_CENTER, _KNN_WIDTH, _KNN_MARGIN_SCALE = 0.72, 0.04, 0.08


@dataclass(frozen=True)
class ImageHit:
    """The best match of one brand in one listing photo."""

    brand_id: str
    kind: str            # "logo" (a brand logo found in the photo) | "photo" (an official photo reused)
    similarity: float    # cosine similarity of the embeddings to the matched reference
    ref_id: int
    ref_path: str        # the matched reference image, relative to the catalogue root
    image_index: int     # which of the listing's photos
    box: Box | None      # where in the photo (None for whole-photo matches)
    method: str          # "whole_photo" | "region" | "near_duplicate"
    score: float = 0.0   # calibrated evidence strength in [0, 1]; compare with *_REVIEW_THRESHOLD
    verified: bool = False   # keypoint homography confirmed the reference in the photo
    inliers: int = 0         # RANSAC inliers of that homography
    phash_distance: int | None = None  # Hamming distance of perceptual hashes (photo hits)
    ref_area: float | None = None      # photo hits: share of the reference's area the copy test found

    def __post_init__(self) -> None:
        if self.kind not in ("logo", "photo"):
            raise ValueError(f"kind must be logo or photo, got {self.kind!r}")


def head_score(p: np.ndarray | float) -> np.ndarray | float:
    """Calibrated logo evidence from a head probability (see ``HEAD_CENTER``)."""
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return 1.0 / (1.0 + np.exp(-HEAD_SLOPE * (np.log(p / (1 - p)) - HEAD_CENTER)))


def knn_logo_score(sim: float, second: float | None = None) -> float:
    """Evidence from nearest-neighbour cosine similarity (used when the index has no heads):
    a logistic of the similarity, damped when another brand is about as close."""
    s = 1.0 / (1.0 + np.exp(-(sim - _KNN_CENTER) / _KNN_WIDTH))
    if second is not None:
        s *= float(np.clip(0.5 + (sim - second) / _KNN_MARGIN_SCALE, 0.0, 1.0))
    return float(s)


class ImageMatcher:
    """Finds logos and reused official photos in listing photos.

    Args:
        embedder: must be the embedder that built ``index``.
        index: reference index with ``logo`` and ``reference`` entries (and, usually, heads).
        heads: ``"auto"`` uses ``index.heads``; ``None`` forces nearest-neighbour scoring.
        scales: region-proposal window scales (see ``regions.propose_regions``).
        grids: legacy: plain grid tiles instead of ``scales``.
        dense: ``"auto"``: convolutional embedders pool windows from one feature
            map per photo (``regions.dense_window_features``); others embed crops.
        k: neighbours fetched per query.
        reference_root: catalogue root for loading reference images (keypoint
            verification); defaults to the root the index was built from.
        verify: look for every brand's logo files by keypoints (``logo_keypoints``).
        logo_matching, photo_matching: look for logos / for reused official photos.
        max_hits: hits returned per photo and kind.
        keypoint_nprobe: inverted lists probed by the logo keypoint search (``LOGO_NPROBE``).
    """

    def __init__(self, embedder: ImageEmbedder, index: ReferenceIndex, *, heads="auto",
                 scales: Sequence[tuple[float, float]] = DEFAULT_SCALES, grids: Sequence[int] | None = None,
                 k: int = 10, batch_size: int = 64, reference_root: str | Path | None = None,
                 verify: bool = True,
                 logo_matching: bool = True, photo_matching: bool = True, max_hits: int = 5,
                 min_score: float = 0.01, dense: bool | str = "auto", keypoint_nprobe: int = LOGO_NPROBE):
        if not index.embedder.compatible_with(embedder.info):
            raise ValueError(f"index built by {index.embedder.name}, embedder is {embedder.info.name}")
        from counterfeit_vision.embedders.fast_path import prepare_for_cpu

        prepare_for_cpu(embedder)  # channels-last convolutions: ~1.4x on CPU, same embeddings up to rounding
        self.embedder = embedder
        self.index = index
        self.heads = index.heads if heads == "auto" else heads
        self.scales = tuple(scales)
        self.grids = tuple(grids) if grids else None
        self.k = k
        self.batch_size = batch_size
        root = reference_root if reference_root is not None else getattr(index, "reference_root", None)
        self.reference_root = Path(root) if root else None
        self.verify = verify
        self.logo_matching = logo_matching
        self.dense = dense
        self.photo_matching = photo_matching
        self.max_hits = max_hits
        self.min_score = min_score
        self.keypoint_nprobe = keypoint_nprobe
        self._verifier = None
        self._kp_index, self._kp_state = None, None
        self._ref_features: dict[str, object] = {}
        self.photo_reuse = PhotoReuseMatcher(index, reference_root=self.reference_root, verify=verify, k=k,
                                             max_hits=max_hits, min_score=min_score, embedder=embedder)
        self._brand_vecs: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}

    # --------------------------------------------------------------- regions
    def regions(self, img: Image.Image) -> list[Box]:
        """The crop windows used when the embedder has no dense path (see ``regions.embed_regions``)."""
        if self.grids:
            return tile_boxes(*img.size, grids=self.grids)
        return propose_regions(*img.size, self.scales)

    # ---------------------------------------------------------------- public
    def match(self, images: Sequence[Image.Image], *, features: list | None = None) -> list[list[ImageHit]]:
        """Per photo, the best hit per (brand, kind), strongest ``score`` first.

        ``features``: when a list, each photo's embeddings (the whole photo first, then its
        windows) are appended to it, for the evidence store (``counterfeit_vision.store``).

        Photos go through in groups of ``PHOTO_GROUP``: the window features of a group are
        freed before the next, so memory follows the group, not the batch (320 photos at once
        held gigabytes of window features)."""
        if not images or len(self.index) == 0:
            return [[] for _ in images]
        out: list[list[ImageHit]] = []
        for start in range(0, len(images), PHOTO_GROUP):
            out.extend(self._match_group(images[start:start + PHOTO_GROUP], offset=start, features=features))
        return out

    def _match_group(self, images: Sequence[Image.Image], offset: int,
                     features: list | None = None) -> list[list[ImageHit]]:
        images = [im.convert("RGB") if im.mode != "RGB" else im for im in images]
        with timing.stage("embed"):
            if self.logo_matching:
                X, owner, boxes = embed_regions(self.embedder, images, scales=self.scales, grids=self.grids,
                                                dense=self.dense, batch_size=self.batch_size)
            else:
                X = self.embedder.embed_images([trim_uniform_border(im) for im in images],
                                               batch_size=self.batch_size)
                owner, boxes = np.arange(len(images)), [None] * len(images)
        out: list[list[ImageHit]] = []
        for i, img in enumerate(images):
            rows = np.flatnonzero(owner == i)  # the whole photo first, then its windows
            n = offset + i  # the photo's position in the caller's list
            if features is not None:
                features.append(X[rows])
            hits = self._logo_hits(n, img, X[rows], [boxes[r] for r in rows]) if self.logo_matching else []
            if self.photo_matching:
                with timing.stage("photo_reuse"):
                    hits += [ImageHit(kind="photo", image_index=n, **m.hit_fields())
                             for m in self.photo_reuse.match(img, X[rows[0]])]
            out.append(sorted(hits, key=lambda h: (-h.score, -h.similarity, h.brand_id)))
        return out

    # ------------------------------------------------------------------ logos
    def _brand_vectors(self, brand_id: str, kind: str) -> tuple[np.ndarray, np.ndarray]:
        if getattr(self, "_vecs_for", None) != self.index.content_state:
            self._brand_vecs, self._vecs_for = {}, self.index.content_state  # index changed
        key = (brand_id, kind)
        if key not in self._brand_vecs:
            ids = np.array([i for i, e in self.index.entries.items() if e.brand_id == brand_id and e.kind == kind],
                           np.int64)
            self._brand_vecs[key] = (ids, self.index.reconstruct(ids) if len(ids) else
                                     np.zeros((0, self.index.dim), np.float32))
        return self._brand_vecs[key]

    def _logo_hits(self, img_i: int, img: Image.Image, X: np.ndarray, boxes: list[Box | None]) -> list[ImageHit]:
        with timing.stage("embed"):
            hits = self._embedding_hits(img_i, X, boxes)
        if self.verify and self.reference_root is not None:
            with timing.stage("keypoints"):
                hits = self._verify_logos(img_i, img, hits, X)
        # an embedding match alone is never stronger evidence than a keypoint-verified logo
        hits = [h if h.verified else replace(h, score=min(h.score, UNVERIFIED_LOGO_MAX)) for h in hits]
        hits.sort(key=lambda h: (-h.score, h.brand_id))
        return hits[:self.max_hits]

    def _embedding_hits(self, img_i: int, X: np.ndarray, boxes: list[Box | None]) -> list[ImageHit]:
        """The best window per brand by the heads (or nearest logo vectors), strongest first."""
        heads = self.heads
        if heads is not None and len(heads):
            in_index = self.index.brands()
            brand_ids = [b for b in heads.brand_ids if b in in_index]
            cols = [heads.brand_ids.index(b) for b in brand_ids]
            P = heads.scores(X)[:, cols] if cols else np.zeros((len(X), 0))
            cand = {b: head_score(P[:, j]) for j, b in enumerate(brand_ids)}
        else:
            # nearest logo vectors per window; per brand the best similarity per window
            sims: dict[str, np.ndarray] = {}
            for v, matches in enumerate(self.index.query(X, self.k, kind="logo")):
                for m in matches:
                    arr = sims.setdefault(m.entry.brand_id, np.full(len(X), -1.0, np.float32))
                    arr[v] = max(arr[v], m.similarity)
            cand = {}
            order = sorted(sims)
            S = np.stack([sims[b] for b in order], axis=1) if order else np.zeros((len(X), 0))
            for j, b in enumerate(order):
                others = np.delete(S, j, axis=1)
                second = others.max(axis=1) if others.shape[1] else np.full(len(X), -1.0)
                cand[b] = np.array([knn_logo_score(s, sec) if s > -1 else 0.0 for s, sec in zip(S[:, j], second)])
        ranked = sorted(((float(sc.max()), b, int(sc.argmax())) for b, sc in cand.items()), reverse=True)
        hits: list[ImageHit] = []
        for score, brand_id, v in ranked[:self.max_hits]:
            if score < self.min_score and hits:
                break
            ids, vecs = self._brand_vectors(brand_id, "logo")
            if len(ids) == 0:
                continue
            s = vecs @ X[v]
            j = int(s.argmax())
            entry = self.index.entries[int(ids[j])]
            box = boxes[v]
            hits.append(ImageHit(brand_id, "logo", float(s[j]), int(ids[j]), entry.path, img_i, box,
                                 "whole_photo" if box is None else "region", score=float(score)))
        return hits

    def _verifier_(self):
        if self._verifier is None:
            from counterfeit_vision.image.geometry import KeypointVerifier

            self._verifier = KeypointVerifier()
        return self._verifier

    def _features(self, path: str, box=None, max_side: int = 1024, views=(), min_side: int = 160):
        key = f"{path}|{box}|{max_side}|{views}" + (f"|{min_side}" if min_side != 160 else "")
        if key not in self._ref_features:
            from counterfeit_vision.image.decode import ImageError, load_rgb

            try:
                img = load_rgb(self.reference_root / path)
                if box:
                    img = img.crop(tuple(box))
                self._ref_features[key] = self._verifier_().features(img, min_side=min_side, max_side=max_side,
                                                                     views=views)
            except (ImageError, OSError) as exc:
                log.warning("reference %s cannot be loaded for verification: %s", path, exc)
                self._ref_features[key] = None
        return self._ref_features[key]

    def _logo_cache(self):
        from counterfeit_vision.image.keypoint_index import (
            LOGO_KEYPOINTS_FILE,
            LOGO_MAX_SIDE,
            LOGO_MIN_SIDE,
            LOGO_VIEWS,
            KeypointCache,
            LogoKeypointIndex,
            logo_feature_settings,
        )

        settings = logo_feature_settings(self._verifier_(), views=LOGO_VIEWS, min_side=LOGO_MIN_SIDE,
                                         max_side=LOGO_MAX_SIDE)
        return KeypointCache(LOGO_KEYPOINTS_FILE, settings, lambda: LogoKeypointIndex(nprobe=self.keypoint_nprobe))

    def _logo_items(self):
        """One cache item per logo file of the index (augmented views share their file's keypoints)."""
        from counterfeit_vision.image.keypoint_index import (
            LOGO_MAX_SIDE,
            LOGO_MIN_SIDE,
            LOGO_VIEWS,
            CacheItem,
            file_key,
        )

        seen: set = set()
        for ref_id, e in sorted(self.index.entries.items()):
            if e.kind != "logo" or e.augmentation or (e.path, e.box) in seen:
                continue
            seen.add((e.path, e.box))
            yield CacheItem(ref_id, e.brand_id, file_key(self.reference_root, e.path, e.box),
                            lambda e=e: self._features(e.path, e.box, min_side=LOGO_MIN_SIDE,
                                                       max_side=LOGO_MAX_SIDE, views=LOGO_VIEWS))

    def logo_keypoints(self):
        """SIFT keypoints of every logo file in the index, in one searchable ``LogoKeypointIndex``;
        built on first use from the cache beside the saved index (``KeypointCache``: only files it
        lacks are described, in memory; nothing is written), rebuilt when the index changes."""
        state = self.index.content_state
        if self._kp_index is not None and self._kp_state == state:
            return self._kp_index
        kp, described = self._logo_cache().build(self._logo_items(), self.index.folder)
        if described:
            log.info("described %d logo files by keypoints (%d from the cache)", described, len(kp) - described)
        self._kp_index, self._kp_state = kp, state
        return kp

    def prepare_caches(self, folder: str | Path) -> None:
        """Describe every logo file and reference photo and write both keypoint caches into
        ``folder`` (the index's folder; called by ``index.onboarding.save_index``), so that
        scans load them instead of describing anything."""
        if self.reference_root is None or not self.verify:
            return
        if self.logo_matching:
            self._logo_cache().save(self.logo_keypoints(), folder)
        if self.photo_matching:
            self.photo_reuse.prepare_cache(folder)

    def _verify_logos(self, img_i: int, img: Image.Image, hits: list[ImageHit], X: np.ndarray) -> list[ImageHit]:
        """Every brand whose logo file is found by keypoints gets a verified hit with the logo's outline
        as its box (upgrading the brand's embedding hit, or added if the embedding missed it)."""
        from counterfeit_vision.image.geometry import verification_score

        kp = self.logo_keypoints()
        if not len(kp):
            return hits
        photo = self._verifier_().features(img, min_side=PHOTO_KEYPOINT_MIN_SIDE, max_side=PHOTO_KEYPOINT_MAX_SIDE)
        out = list(hits)
        position = {h.brand_id: n for n, h in enumerate(out)}
        for m in kp.match(photo):
            entry = self.index.entries[m.ref_id]
            score = verification_score(m.inliers, kp.min_inliers)
            if m.brand_id in position:
                h = out[position[m.brand_id]]
                out[position[m.brand_id]] = replace(h, verified=True, inliers=m.inliers, box=m.box, ref_id=m.ref_id,
                                                    ref_path=entry.path, score=max(h.score, score), method="region")
            else:
                ids, vecs = self._brand_vectors(m.brand_id, "logo")
                sim = float((vecs[ids == m.ref_id] @ X.T).max()) if np.any(ids == m.ref_id) else 0.0
                out.append(ImageHit(m.brand_id, "logo", sim, m.ref_id, entry.path, img_i, m.box, "region",
                                    score=score, verified=True, inliers=m.inliers))
        return out
