"""Few-shot brand adaptation: one logistic head per brand on frozen embeddings.

What a brand hands over (a few logos, a few dozen product photos) is turned
into a *feature bank* with the frozen embedder:

- ``logos``: every logo reference and its augmented views (scale, rotation,
  colour, perspective, pasted on backgrounds; see ``counterfeit_vision.index.augment``);
- ``photos``: whole product photos;
- ``tiles``: the region-proposal windows of the product photos (the same
  windows the matcher embeds at scoring time), with the photo each came from.

The brand's head is trained on its logos and photos as positives, plus the
window of each of its product photos that the head scores highest (multiple-
instance learning: the product shows the logo somewhere), against every other
brand's bank and a bank of background images as negatives, all seen through
the heads' feature map (``BrandHeads.features``, square-root power
normalisation by default; the banks keep the raw embeddings). Heads are
independent: onboarding brand B trains B's head only and reuses the cached
banks of the others (no re-embedding), so the others are never retrained from
scratch; ``refresh`` optionally updates the others to also reject B.

Onboarding (``index.onboarding``) calls this; researchers retrain every head of a
saved index with ``python -m training.few_shot --index DIR --catalog DIR``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
from PIL import Image

from counterfeit_vision.embedders.base import ImageEmbedder
from counterfeit_vision.image.regions import embed_regions
from counterfeit_vision.index.augment import synthetic_background
from counterfeit_vision.index.heads import BrandHeads

__all__ = ["BACKGROUND", "TrainConfig", "background_bank", "fit_head", "photo_tiles", "train_brand", "train_heads"]

log = logging.getLogger(__name__)

BACKGROUND = "_background"


@dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters of a brand head's fit: L2 penalty, LBFGS steps, multiple-instance rounds, weighting."""

    l2: float = 1e-5           # weight decay on w (features are unit vectors); FlickrLogos dev: 1e-5 > 1e-4 > 1e-3
    steps: int = 150           # LBFGS iterations per round
    mil_rounds: int = 1        # rounds of adding each product photo's best window as a positive
    mil_per_photo: int = 1
    neg_weight: float = 1.0    # total weight of negatives relative to positives
    temperature: float = 1.0


def photo_tiles(photos: Sequence[Image.Image], embedder: ImageEmbedder, logo_vectors: np.ndarray, *,
                candidates: int = 8, random_windows: int = 32, seed: int = 0, batch_size: int = 64
                ) -> dict[str, np.ndarray]:
    """Windows of product photos for the bank, embedded exactly as the matcher embeds them.

    Per photo: the ``candidates`` windows most similar to the brand's logo vectors
    (where the logo probably is: multiple-instance positives) and ``random_windows``
    others (negatives for every other brand). Returns tiles (M, D) float16,
    tile_photo (M,), tile_candidate (M,) bool.
    """
    rng = np.random.default_rng(seed)
    X, owner, boxes = embed_regions(embedder, photos, batch_size=batch_size, whole=False)
    keep, cand = [], []
    for p in range(len(photos)):
        rows = np.flatnonzero(owner == p)
        if not len(rows):
            continue
        sim = (X[rows] @ logo_vectors.T).max(axis=1) if len(logo_vectors) else np.zeros(len(rows))
        top = rows[np.argsort(-sim)[:candidates]]
        rest = np.setdiff1d(rows, top)
        rand = rng.choice(rest, min(random_windows, len(rest)), replace=False) if len(rest) else rest
        keep += top.tolist() + rand.tolist()
        cand += [True] * len(top) + [False] * len(rand)
    keep = np.asarray(keep, np.int64)
    return {"tiles": X[keep].astype(np.float16), "tile_photo": owner[keep],
            "tile_candidate": np.asarray(cand, bool)}


def background_bank(embedder: ImageEmbedder, n: int = 96, seed: int = 0) -> dict[str, np.ndarray]:
    """Embeddings of synthetic logo-free backgrounds (plain, gradients, textures)."""
    import random

    rng = random.Random(seed)
    imgs = [synthetic_background((224, 224), rng) for _ in range(n)]
    return {"tiles": embedder.embed_images(imgs, batch_size=32).astype(np.float16)}


def _fit(X: torch.Tensor, y: torch.Tensor, wts: torch.Tensor, cfg: TrainConfig,
         init: tuple[torch.Tensor, torch.Tensor] | None = None) -> tuple[np.ndarray, float]:
    d = X.shape[1]
    w = torch.zeros(d, requires_grad=True) if init is None else init[0].clone().requires_grad_(True)
    b = torch.zeros(1, requires_grad=True) if init is None else init[1].clone().requires_grad_(True)
    opt = torch.optim.LBFGS([w, b], lr=1.0, max_iter=cfg.steps, history_size=20, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        z = X @ w + b
        loss = (torch.nn.functional.binary_cross_entropy_with_logits(z, y, reduction="none") * wts).sum()
        loss = loss + cfg.l2 * (w * w).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach().numpy().astype(np.float32), float(b.detach())


def fit_head(pos: np.ndarray, neg: np.ndarray, cfg: TrainConfig = TrainConfig(), *,
             pos_weights: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Weighted logistic regression, positives and negatives each summing to weight 1 (x neg_weight)."""
    X = torch.from_numpy(np.vstack([pos, neg]).astype(np.float32))
    y = torch.cat([torch.ones(len(pos)), torch.zeros(len(neg))])
    pw = np.ones(len(pos), np.float32) if pos_weights is None else np.asarray(pos_weights, np.float32)
    wts = torch.cat([torch.from_numpy(pw / pw.sum()), torch.full((len(neg),), cfg.neg_weight / max(1, len(neg)))])
    return _fit(X, y, wts, cfg)


def _negatives(banks: dict[str, dict[str, np.ndarray]], brand_id: str) -> np.ndarray:
    parts = []
    for other, bank in banks.items():
        if other == brand_id:
            continue
        for key in ("logos", "photos", "tiles"):
            if key in bank and len(bank[key]):
                parts.append(np.asarray(bank[key], np.float32))
    return np.vstack(parts) if parts else np.zeros((0, 1), np.float32)


def train_brand(brand_id: str, banks: dict[str, dict[str, np.ndarray]], cfg: TrainConfig = TrainConfig()
                ) -> tuple[np.ndarray, float, dict]:
    """Fit one brand's head from the banks (its own and everyone else's as negatives).

    The head is linear in the banks' vectors as given: :func:`train_heads` passes them
    through the heads' feature map first.
    """
    bank = banks[brand_id]
    logos = np.asarray(bank.get("logos", np.zeros((0, 1))), np.float32)
    photos = np.asarray(bank.get("photos", np.zeros((0, 1))), np.float32)
    tiles = np.asarray(bank.get("tiles", np.zeros((0, 1))), np.float32)
    owner = np.asarray(bank.get("tile_photo", np.zeros(0)), np.int64)
    if "tile_candidate" in bank:  # only the windows that probably hold the logo are MIL candidates
        cand = np.asarray(bank["tile_candidate"], bool)
        tiles, owner = tiles[cand], owner[cand]
    pos = np.vstack([x for x in (logos, photos) if x.ndim == 2 and len(x) and x.shape[1] > 1])
    neg = _negatives(banks, brand_id)
    if len(neg) == 0:  # the only brand and no background bank: a prototype direction
        w = pos.mean(axis=0)
        w /= max(1e-6, np.linalg.norm(w))
        return (w * 10).astype(np.float32), -7.0, {"positives": len(pos), "negatives": 0, "mil": 0}
    w, b = fit_head(pos, neg, cfg)
    mil = np.zeros((0, pos.shape[1]), np.float32)
    for _ in range(cfg.mil_rounds if len(tiles) else 0):
        z = tiles @ w + b
        picks = []
        for p in np.unique(owner):
            rows = np.flatnonzero(owner == p)
            picks.extend(rows[np.argsort(-z[rows])[:cfg.mil_per_photo]].tolist())
        mil = tiles[picks]
        w, b = fit_head(np.vstack([pos, mil]), neg, cfg)
    return w, b, {"positives": int(len(pos)), "mil_windows": int(len(mil)), "negatives": int(len(neg)),
                  "trained": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


_VECTOR_KEYS = ("logos", "photos", "tiles")


def _through_map(banks: dict[str, dict[str, np.ndarray]], fmap: Callable[[np.ndarray], np.ndarray]
                 ) -> dict[str, dict[str, np.ndarray]]:
    """Every bank's vectors through the heads' feature map, each once.

    Each brand's head takes every other brand's vectors as negatives: mapping them
    inside :func:`train_brand` would map the whole catalogue once per brand.
    """
    return {brand: {k: fmap(np.asarray(v, np.float32)) if k in _VECTOR_KEYS else v for k, v in bank.items()}
            for brand, bank in banks.items()}


def train_heads(banks: dict[str, dict[str, np.ndarray]], heads: BrandHeads, *,
                brands: Sequence[str] | None = None, cfg: TrainConfig = TrainConfig()) -> BrandHeads:
    """(Re)train the heads of ``brands`` (default: every brand in ``banks``) into ``heads``."""
    todo = [b for b in (brands if brands is not None else banks) if b != BACKGROUND]
    mapped = _through_map(banks, heads.features) if todo else banks
    for brand_id in todo:
        t0 = time.perf_counter()
        w, b, meta = train_brand(brand_id, mapped, cfg)  # already in the heads' feature space
        heads.set_brand(brand_id, w, b, meta)
        log.info("head %s: %s (%.1fs)", brand_id, meta, time.perf_counter() - t0)
    return heads
