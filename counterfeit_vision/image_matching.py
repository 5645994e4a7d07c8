"""Image evidence: listing photos matched against the brands' references.

Two questions per photo, each answered with a calibrated ``ImageHit.score`` in
[0, 1] (strength of evidence that the brand's logo / official photo is there):

**Logo anywhere in the photo** (``kind="logo"``). The photo and square windows
at several scales (``regions.propose_regions``) are embedded in one batch
(bf16 on CPUs that support it). Each window is scored per brand by the brand's
few-shot head (``adaptation.BrandHeads``, trained at onboarding on the frozen
features of its logos, augmented, and its product photos) when the index has
heads, else by the cosine similarity to the brand's logo vectors. The
strongest window per brand is the candidate; the top candidates are verified
geometrically (SIFT + RANSAC homography against the brand's logo files,
``geometry.KeypointVerifier``): a verified logo gets the projected outline as
its ``box``, ``verified=True``, its ``inliers``, and a score of at least
``geometry.verification_score``.

**Official photo reused** (``kind="photo"``). The border-trimmed photo's
embedding against the reference photos (indexed as-is and mirrored), and its
perceptual hash (and the mirror's) against theirs (``near_duplicate``); score
is the stronger of the two; ambiguous embedding matches are settled by keypoint
verification against the reference photo.

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
from PIL import Image, ImageOps

from counterfeit_vision.embedders.base import ImageEmbedder
from counterfeit_vision.index import ReferenceIndex
from counterfeit_vision.near_duplicate import PhashTable, embedding_score, hash_score, phash
from counterfeit_vision.regions import DEFAULT_SCALES, Box, embed_regions, propose_regions, tile_boxes, \
    trim_uniform_border

__all__ = ["ImageHit", "ImageMatcher", "LOGO_REVIEW_THRESHOLD", "PHOTO_REVIEW_THRESHOLD", "head_score",
           "knn_logo_score", "tile_boxes"]

log = logging.getLogger(__name__)

# A hit at or above these scores deserves a reviewer's look (the fusion's image "review" level).
# Chosen on FlickrLogos-27 (benchmarks/eval_logos.py): <= 5% of photos without a catalogue
# logo reach it. Photo threshold: <= 1% of unrelated photos (benchmarks/eval_stolen_photos.py).
LOGO_REVIEW_THRESHOLD = 0.5
PHOTO_REVIEW_THRESHOLD = 0.5

# reused-photo candidates at or above this cosine are checked with keypoints
PHOTO_VERIFY_MIN_SIM = 0.6
PHOTO_MIN_INLIERS = 25

# with heads: the best window's head probability p (a maximum over hundreds of windows, so
# inflated) is recalibrated as sigmoid(HEAD_SLOPE * (logit(p) - HEAD_CENTER)); HEAD_CENTER is
# the head probability that <= 5% of photos without a catalogue logo reach on
# benchmarks/eval_logos.py (seed 0), so it lands on LOGO_REVIEW_THRESHOLD = 0.5.
HEAD_CENTER = 4.1  # logit, i.e. p = 0.984
HEAD_SLOPE = 1.0

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
        verify: verify the top candidates with keypoints.
        verify_top: candidate brands verified per photo.
        verify_refs: logo files tried per candidate brand.
        logo_matching, photo_matching: look for logos / for reused official photos.
        max_hits: hits returned per photo and kind.
    """

    def __init__(self, embedder: ImageEmbedder, index: ReferenceIndex, *, heads="auto",
                 scales: Sequence[tuple[float, float]] = DEFAULT_SCALES, grids: Sequence[int] | None = None,
                 k: int = 10, batch_size: int = 64, reference_root: str | Path | None = None,
                 verify: bool = True, verify_top: int = 4, verify_refs: int = 8, verify_min_score: float = 0.02,
                 logo_matching: bool = True, photo_matching: bool = True, max_hits: int = 5,
                 min_score: float = 0.01, dense: bool | str = "auto"):
        if not index.embedder.compatible_with(embedder.info):
            raise ValueError(f"index built by {index.embedder.name}, embedder is {embedder.info.name}")
        from counterfeit_vision.fast_path import prepare_for_cpu

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
        self.verify_top = verify_top
        self.verify_refs = verify_refs
        self.verify_min_score = verify_min_score
        self.logo_matching = logo_matching
        self.dense = dense
        self.photo_matching = photo_matching
        self.max_hits = max_hits
        self.min_score = min_score
        self._verifier = None
        self._ref_features: dict[str, object] = {}
        self._phash: tuple[int, PhashTable] | None = None
        self._brand_vecs: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}

    # --------------------------------------------------------------- regions
    def regions(self, img: Image.Image) -> list[Box]:
        """The crop windows used when the embedder has no dense path (see ``regions.embed_regions``)."""
        if self.grids:
            return tile_boxes(*img.size, grids=self.grids)
        return propose_regions(*img.size, self.scales)

    # ---------------------------------------------------------------- public
    def match(self, images: Sequence[Image.Image]) -> list[list[ImageHit]]:
        """Per photo, the best hit per (brand, kind), strongest ``score`` first."""
        if not images or len(self.index) == 0:
            return [[] for _ in images]
        images = [im.convert("RGB") if im.mode != "RGB" else im for im in images]
        if self.logo_matching:
            X, owner, boxes = embed_regions(self.embedder, images, scales=self.scales, grids=self.grids,
                                            dense=self.dense, batch_size=self.batch_size)
        else:
            X = self.embedder.embed_images([trim_uniform_border(im) for im in images], batch_size=self.batch_size)
            owner, boxes = np.arange(len(images)), [None] * len(images)
        out: list[list[ImageHit]] = []
        for i, img in enumerate(images):
            rows = np.flatnonzero(owner == i)  # the whole photo first, then its windows
            hits = self._logo_hits(i, img, X[rows], [boxes[r] for r in rows]) if self.logo_matching else []
            if self.photo_matching:
                hits += self._photo_hits(i, img, X[rows[0]])
            out.append(sorted(hits, key=lambda h: (-h.score, -h.similarity, h.brand_id)))
        return out

    # ------------------------------------------------------------------ logos
    def _brand_vectors(self, brand_id: str, kind: str) -> tuple[np.ndarray, np.ndarray]:
        if getattr(self, "_vecs_for", None) != (len(self.index), self.index._next_id):
            self._brand_vecs, self._vecs_for = {}, (len(self.index), self.index._next_id)  # index changed
        key = (brand_id, kind)
        if key not in self._brand_vecs:
            ids = np.array([i for i, e in self.index.entries.items() if e.brand_id == brand_id and e.kind == kind],
                           np.int64)
            self._brand_vecs[key] = (ids, self.index.reconstruct(ids) if len(ids) else
                                     np.zeros((0, self.index.dim), np.float32))
        return self._brand_vecs[key]

    def _logo_hits(self, img_i: int, img: Image.Image, X: np.ndarray, boxes: list[Box | None]) -> list[ImageHit]:
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
        if self.verify and self.reference_root is not None:
            hits = self._verify_logos(img, hits, X)
        return hits

    def _verifier_(self):
        if self._verifier is None:
            from counterfeit_vision.geometry import KeypointVerifier

            self._verifier = KeypointVerifier()
        return self._verifier

    def _features(self, path: str, box=None, max_side: int = 1024):
        key = f"{path}|{box}|{max_side}"
        if key not in self._ref_features:
            from counterfeit_vision.images import ImageError, load_rgb

            try:
                img = load_rgb(self.reference_root / path)
                if box:
                    img = img.crop(tuple(box))
                self._ref_features[key] = self._verifier_().features(img, max_side=max_side)
            except (ImageError, OSError) as exc:
                log.warning("reference %s cannot be loaded for verification: %s", path, exc)
                self._ref_features[key] = None
        return self._ref_features[key]

    def _verify_logos(self, img: Image.Image, hits: list[ImageHit], X: np.ndarray) -> list[ImageHit]:
        from counterfeit_vision.geometry import verification_score

        todo = [h for h in hits[:self.verify_top] if h.score >= self.verify_min_score]
        if not todo:
            return hits
        ver = self._verifier_()
        photo = ver.features(img, min_side=600, max_side=1280)
        out = list(hits)
        for h in todo:
            ids, vecs = self._brand_vectors(h.brand_id, "logo")
            # the brand's logo files, most similar first (augmented views share the file)
            best: dict[tuple, tuple[float, int]] = {}
            sims = (vecs @ X.T).max(axis=1)
            for i, s in zip(ids.tolist(), sims.tolist()):
                e = self.index.entries[i]
                key = (e.path, e.box)
                if key not in best or s > best[key][0]:
                    best[key] = (s, i)
            refs = sorted(best.items(), key=lambda kv: -kv[1][0])[:self.verify_refs]
            feats = [(self._features(p, b), i) for (p, b), (_, i) in refs]
            feats = [(f, i) for f, i in feats if f is not None]
            if not feats:
                continue
            j, v = ver.verify_any([f for f, _ in feats], photo)
            if v.ok:
                ref_id = feats[j][1]
                e = self.index.entries[ref_id]
                new = replace(h, verified=True, inliers=v.inliers, box=v.box, ref_id=ref_id, ref_path=e.path,
                              score=max(h.score, verification_score(v.inliers, ver.min_inliers)),
                              method="region" if h.box is not None or v.box is not None else h.method)
                out[out.index(h)] = new
        return out

    # ----------------------------------------------------------------- photos
    def _phash_table(self) -> PhashTable:
        if self._phash is None or self._phash[0] != len(self.index):
            pairs = [(i, e.phash) for i, e in self.index.entries.items() if e.kind == "reference" and e.phash]
            self._phash = (len(self.index), PhashTable.from_pairs(pairs))
        return self._phash[1]

    def _photo_hits(self, img_i: int, img: Image.Image, x_whole: np.ndarray) -> list[ImageHit]:
        best: dict[str, dict] = {}
        for m in self.index.query(x_whole[None], self.k, kind="reference")[0]:
            b = best.setdefault(m.entry.brand_id, {"sim": -1.0, "ref": m.ref_id, "d": None, "mirror": False})
            if m.similarity > b["sim"]:
                b.update(sim=m.similarity, ref=m.ref_id, mirror=m.entry.augmentation == "mirror")
        table = self._phash_table()
        base = trim_uniform_border(img)
        if len(table):
            ref_ids, dists = table.nearest([phash(base, trim=False), phash(ImageOps.mirror(base), trim=False)])
            for rid, d in zip(ref_ids.tolist(), dists.tolist()):
                if rid < 0:
                    continue
                brand = self.index.entries[rid].brand_id
                b = best.setdefault(brand, {"sim": -1.0, "ref": rid, "d": None, "mirror": False})
                if b["d"] is None or d < b["d"]:
                    b["d"] = int(d)
                    if hash_score(d) >= embedding_score(b["sim"]):
                        b["ref"] = rid
        for b in best.values():
            b["score"] = max(embedding_score(b["sim"]) if b["sim"] > -1 else 0.0, hash_score(b["d"]))
            b["inliers"], b["verified"] = 0, False
        if self.verify and self.reference_root is not None:
            self._verify_photos(base, best)
        hits = []
        for brand, b in best.items():
            entry = self.index.entries[b["ref"]]
            hits.append(ImageHit(brand, "photo", float(max(b["sim"], 0.0)), int(b["ref"]), entry.path, img_i, None,
                                 "near_duplicate", score=float(b["score"]), verified=b["verified"],
                                 inliers=b["inliers"], phash_distance=b["d"]))
        hits.sort(key=lambda h: -h.score)
        return [h for h in hits[:self.max_hits] if h.score >= self.min_score]

    def _verify_photos(self, base: Image.Image, best: dict[str, dict]) -> None:
        """Keypoints settle ambiguous embedding matches: a copy shares many inliers spread over both photos."""
        from counterfeit_vision.geometry import verification_score

        todo = sorted((b for b in best.values() if b["sim"] >= PHOTO_VERIFY_MIN_SIM and b["score"] < 0.95),
                      key=lambda b: -b["sim"])[:2]
        if not todo:
            return
        ver = self._verifier_()
        query: dict[bool, object] = {}
        for b in todo:
            entry = self.index.entries[b["ref"]]
            ref = self._features(entry.path, entry.box, max_side=800)
            if ref is None:
                continue
            for mirror in (b["mirror"], not b["mirror"]):
                if mirror not in query:
                    query[mirror] = ver.features(ImageOps.mirror(base) if mirror else base, min_side=320, max_side=800)
                v = ver.same_photo(ref, query[mirror])
                if v.ok:
                    b.update(verified=True, inliers=v.inliers,
                             score=max(b["score"], verification_score(v.inliers, PHOTO_MIN_INLIERS)))
                    break
