"""Image evidence: listing photos matched against the reference index.

Two questions per photo:
- is it a brand's official photo (whole-photo match against ``reference`` vectors)?
- does a brand's logo appear anywhere in it (regions matched against ``logo`` vectors)?

Regions are a multi-scale grid of overlapping tiles, embedded in one batch with
the whole photo, so a small logo gets a crop where it fills the frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from PIL import Image

from counterfeit_vision.embedders.base import ImageEmbedder
from counterfeit_vision.index import ReferenceIndex

__all__ = ["ImageHit", "ImageMatcher", "tile_boxes"]

Box = tuple[int, int, int, int]  # x1, y1, x2, y2 in pixels of the listing photo


@dataclass(frozen=True)
class ImageHit:
    """The best match of one brand in one listing photo."""

    brand_id: str
    kind: str            # "logo" (a brand logo found in the photo) | "photo" (an official photo reused)
    similarity: float    # cosine similarity of the embeddings
    ref_id: int
    ref_path: str        # the matched reference image, relative to the catalogue root
    image_index: int     # which of the listing's photos
    box: Box | None      # where in the photo (None for whole-photo matches)
    method: str          # "whole_photo" | "region"

    def __post_init__(self) -> None:
        if self.kind not in ("logo", "photo"):
            raise ValueError(f"kind must be logo or photo, got {self.kind!r}")


def tile_boxes(width: int, height: int, grids: Sequence[int] = (2, 3), overlap: float = 0.5) -> list[Box]:
    """Overlapping square-ish tiles at several grid sizes covering the photo."""
    boxes: list[Box] = []
    for g in grids:
        tw, th = width / g, height / g
        # tiles of size (tw, th) with stride tw*(1-overlap) so logos on a seam are whole in some tile
        step_x, step_y = max(1.0, tw * (1 - overlap)), max(1.0, th * (1 - overlap))
        y = 0.0
        while y + th <= height + 1e-6:
            x = 0.0
            while x + tw <= width + 1e-6:
                boxes.append((int(x), int(y), int(round(x + tw)), int(round(y + th))))
                x += step_x
            y += step_y
    return list(dict.fromkeys(boxes))


class ImageMatcher:
    """Finds logos and reused official photos in listing photos.

    Args:
        embedder: must be the embedder that built ``index``.
        index: reference index with ``logo`` and ``reference`` entries.
        grids: tile grid sizes for region proposals.
        k: neighbours fetched per query.
    """

    def __init__(self, embedder: ImageEmbedder, index: ReferenceIndex, *, grids: Sequence[int] = (2, 3),
                 k: int = 5, batch_size: int = 64):
        if not index.embedder.compatible_with(embedder.info):
            raise ValueError(f"index built by {index.embedder.name}, embedder is {embedder.info.name}")
        self.embedder = embedder
        self.index = index
        self.grids = tuple(grids)
        self.k = k
        self.batch_size = batch_size

    def _views(self, images: Sequence[Image.Image]) -> tuple[list[Image.Image], list[tuple[int, Box | None]]]:
        views, where = [], []
        for i, img in enumerate(images):
            views.append(img)
            where.append((i, None))
            for box in tile_boxes(*img.size, grids=self.grids):
                views.append(img.crop(box))
                where.append((i, box))
        return views, where

    def match(self, images: Sequence[Image.Image]) -> list[list[ImageHit]]:
        """Per photo, the best hit per (brand, kind), strongest first."""
        if not images or len(self.index) == 0:
            return [[] for _ in images]
        views, where = self._views(images)
        xq = self.embedder.embed_images(views, batch_size=self.batch_size)  # (V, D)
        best: list[dict[tuple[str, str], ImageHit]] = [{} for _ in images]
        for (img_i, box), matches in zip(where, self.index.query(xq, self.k)):
            for m in matches:
                hit = self._hit(img_i, box, m)
                if hit is None:
                    continue
                key = (hit.brand_id, hit.kind)
                if key not in best[img_i] or hit.similarity > best[img_i][key].similarity:
                    best[img_i][key] = hit
        return [sorted(b.values(), key=lambda h: -h.similarity) for b in best]

    @staticmethod
    def _hit(img_i: int, box: Box | None, m) -> ImageHit | None:
        entry = m.entry
        if box is None:
            # whole photo: a reused official photo, or a photo that is mostly the logo
            kind = "photo" if entry.kind == "reference" else "logo"
            return ImageHit(entry.brand_id, kind, m.similarity, m.ref_id, entry.path, img_i, None, "whole_photo")
        if entry.kind != "logo":
            return None  # a tile resembling part of a product photo says little
        return ImageHit(entry.brand_id, "logo", m.similarity, m.ref_id, entry.path, img_i, box, "region")
