"""Onboarding: turn a brand's reference set into index vectors, incrementally.

A new brand is validated, its logos and product photos embedded and appended to
the existing index; other brands' vectors are untouched. Re-onboarding a brand
replaces its vectors.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from counterfeit_vision.catalog import Brand, Catalog, load_brand
from counterfeit_vision.embedders.base import ImageEmbedder
from counterfeit_vision.images import load_rgb
from counterfeit_vision.index import ReferenceEntry, ReferenceIndex

__all__ = ["add_brand", "build_index", "embed_brand", "onboard_brand_folder"]

log = logging.getLogger(__name__)


def _relative(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return str(path.resolve().relative_to(root.resolve()))
        except ValueError:
            pass
    return str(path)


def embed_brand(brand: Brand, embedder: ImageEmbedder, *, root: Path | None = None,
                batch_size: int = 32) -> tuple[np.ndarray, list[ReferenceEntry]]:
    """Embed a brand's logos and reference photos; returns (xb (N, D), entries)."""
    root = root if root is not None else (brand.root.parent if brand.root else None)
    items = [("logo", p) for p in brand.logos] + [("reference", p) for p in brand.references]
    images = [load_rgb(p) for _, p in items]  # validated at catalogue load, so failures here are real errors
    xb = embedder.embed_images(images, batch_size=batch_size) if images else np.zeros((0, embedder.dim), np.float32)
    entries = [ReferenceEntry(brand.id, kind, _relative(p, root)) for kind, p in items]
    return xb, entries


def add_brand(index: ReferenceIndex, brand: Brand, embedder: ImageEmbedder, *, root: Path | None = None,
              batch_size: int = 32) -> int:
    """Add (or replace) one brand's vectors in ``index``; returns the number added."""
    if not index.embedder.compatible_with(embedder.info):
        raise ValueError(f"index built by {index.embedder.name}, embedder is {embedder.info.name}")
    xb, entries = embed_brand(brand, embedder, root=root, batch_size=batch_size)
    removed = index.remove_brand(brand.id)
    if len(xb):
        index.add(xb, entries)
    log.info("brand %s: %d vectors added, %d replaced", brand.id, len(xb), removed)
    return len(xb)


def build_index(catalog: Catalog, embedder: ImageEmbedder, *, factory: str = "Flat",
                batch_size: int = 32) -> ReferenceIndex:
    """Build a fresh index from every brand in the catalogue."""
    index = ReferenceIndex(embedder.info, factory=factory)
    for brand in catalog:
        add_brand(index, brand, embedder, root=catalog.root, batch_size=batch_size)
    return index


def onboard_brand_folder(folder: str | Path, index: ReferenceIndex, embedder: ImageEmbedder, *,
                         catalog_root: Path | None = None) -> Brand:
    """Validate a brand folder (raising CatalogError with every problem) and add it to ``index``."""
    brand = load_brand(folder)
    add_brand(index, brand, embedder, root=catalog_root or Path(folder).parent)
    return brand
