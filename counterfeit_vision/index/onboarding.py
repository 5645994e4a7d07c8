"""Onboarding: turn a brand's reference set into index vectors and an adapted head, incrementally.

A new brand is validated, then:

- its logos are embedded as-is and as augmented views (``augment.LOGO_AUGMENTATIONS``:
  scale, rotation, colour, perspective, pasted on backgrounds), each an index
  entry with its ``augmentation`` name;
- its product photos are embedded as-is and mirrored, with a perceptual hash
  (for exact-reuse detection);
- with ``adapt=True`` its few-shot head is trained (``index.head_fitting``) on
  those features plus the windows of its product photos, against the cached
  features of the other brands; the other brands' heads are untouched.

Re-onboarding a brand replaces its vectors and head.

``save_index`` is the one way an index reaches disk: it writes the keypoint caches
(``image.keypoint_index.KeypointCache``) beside it, so scans only read. The commands
``index build``, ``brand add`` and ``brand remove`` go through ``build_index`` /
``onboard_brand_folder`` / ``offboard_brand``, which keep catalogue and index in step.
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
from PIL import Image, ImageOps

from counterfeit_vision.catalog import Brand, Catalog, load_brand, load_catalog
from counterfeit_vision.embedders.base import ImageEmbedder
from counterfeit_vision.errors import UsageError
from counterfeit_vision.fusion.operating_points import fitted_points
from counterfeit_vision.image.decode import load_rgb
from counterfeit_vision.image.phash import phash_hex
from counterfeit_vision.index.augment import LOGO_AUGMENTATIONS, logo_views
from counterfeit_vision.index.head_fitting import BACKGROUND, background_bank, photo_tiles, train_heads
from counterfeit_vision.index.heads import BrandHeads
from counterfeit_vision.index.reference import IndexMismatchError, ReferenceEntry, ReferenceIndex

__all__ = ["REFERENCE_DRAFT", "adapt_brands", "add_brand", "build_index", "check_brand_images", "embed_brand",
           "offboard_brand",
           "onboard_brand_folder", "remove_brand", "save_index"]

log = logging.getLogger(__name__)


REFERENCE_DRAFT = 512  # product photos are decoded at reduced size, as listing photos are


def _relative(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return str(path.resolve().relative_to(root.resolve()))
        except ValueError:
            pass
    return str(path)


def _load_brand_images(brand: Brand) -> tuple[list[Image.Image], list[Image.Image]]:
    logos = [_load_logo(p) for p in brand.logos]
    photos = [load_rgb(p, draft_size=REFERENCE_DRAFT) for p in brand.references]
    return logos, photos


def check_brand_images(brand: Brand) -> None:
    """Decode every logo and reference photo exactly as onboarding will (``brand check``), raising
    ``CatalogError`` with one problem per file that fails (validation only opens the headers)."""
    from counterfeit_vision.catalog import CatalogError, CatalogProblem
    from counterfeit_vision.image.decode import ImageError

    problems = []
    for field_name, paths, decode in (("logos", brand.logos, _load_logo),
                                      ("references", brand.references,
                                       lambda p: load_rgb(p, draft_size=REFERENCE_DRAFT))):
        for path in paths:
            try:
                decode(path)
            except (ImageError, OSError, ValueError) as exc:
                problems.append(CatalogProblem(str(path), field_name, f"cannot be decoded: {exc}"))
    if problems:
        raise CatalogError(problems)


def _load_logo(path) -> Image.Image:
    return load_rgb(path) if Path(path).suffix.lower() != ".png" else _load_png(path)


def _load_png(path) -> Image.Image:
    img = load_rgb(path)  # validated RGB decode; keep transparency if present for pasting
    try:
        with Image.open(path) as raw:
            if raw.mode in ("RGBA", "LA", "P") and "transparency" in raw.info or raw.mode in ("RGBA", "LA"):
                return raw.convert("RGBA")
    except OSError:
        pass
    return img


def embed_brand(brand: Brand, embedder: ImageEmbedder, *, root: Path | None = None, batch_size: int = 32,
                augment: bool = True, images: tuple[list, list] | None = None, fast: bool = True
                ) -> tuple[np.ndarray, list[ReferenceEntry]]:
    """Embed a brand's logos (and augmented views) and product photos (and mirrors).

    ``fast``: through ``embedders.fast_path.embed_pil`` (BatchNorm folded, TorchScript, one stream
    per core; cosine >= 0.999 to ``embed_images``, checked when the fast model is built).
    Returns (xb (N, D), entries) in the same order.
    """
    root = root if root is not None else (brand.root.parent if brand.root else None)
    logos, photos = images if images is not None else _load_brand_images(brand)
    views: list[Image.Image] = []
    entries: list[ReferenceEntry] = []
    for path, logo in zip(brand.logos, logos):
        rel = _relative(path, root)
        views.append(logo.convert("RGB"))
        entries.append(ReferenceEntry(brand.id, "logo", rel))
        if augment:
            for name, view in logo_views(logo, key=f"{brand.id}/{rel}", backgrounds=photos,
                                         names=LOGO_AUGMENTATIONS):
                views.append(view)
                entries.append(ReferenceEntry(brand.id, "logo", rel, augmentation=name))
    for path, photo in zip(brand.references, photos):
        rel = _relative(path, root)
        views.append(photo)
        entries.append(ReferenceEntry(brand.id, "reference", rel, phash=phash_hex(photo)))
        if augment:
            views.append(ImageOps.mirror(photo))
            entries.append(ReferenceEntry(brand.id, "reference", rel, augmentation="mirror"))
    if not views:
        return np.zeros((0, embedder.dim), np.float32), entries
    if fast:
        from counterfeit_vision.embedders.fast_path import embed_pil

        return embed_pil(embedder, views), entries
    xb = embedder.embed_images(views, batch_size=batch_size)
    return xb, entries


def _bank(brand: Brand, embedder: ImageEmbedder, xb: np.ndarray, entries: list[ReferenceEntry],
          photos: list[Image.Image], batch_size: int) -> dict[str, np.ndarray]:
    kinds = np.array([e.kind for e in entries])
    aug = np.array([e.augmentation for e in entries])
    logos = xb[kinds == "logo"]
    bank = photo_tiles(photos, embedder, logos, batch_size=batch_size)
    return {"logos": logos.astype(np.float16), "photos": xb[(kinds == "reference") & (aug == "")].astype(np.float16),
            **bank}


def _ensure_heads(index: ReferenceIndex, embedder: ImageEmbedder):
    if index.heads is None:
        index.heads = BrandHeads(embedder.info)
    banks = index.heads.all_banks()
    if BACKGROUND not in banks:
        banks[BACKGROUND] = background_bank(embedder)
    return index.heads


def _add(index: ReferenceIndex, brand: Brand, embedder: ImageEmbedder, *, root: Path | None, batch_size: int,
         augment: bool, adapt: bool, fast: bool = True) -> int:
    if not index.embedder.compatible_with(embedder.info):
        raise IndexMismatchError(f"index built by {index.embedder.name}, embedder is {embedder.info.name}")
    logos, photos = _load_brand_images(brand)
    xb, entries = embed_brand(brand, embedder, root=root, batch_size=batch_size, augment=augment,
                              images=(logos, photos), fast=fast)
    removed = index.remove_brand(brand.id)
    if index.heads is not None:
        index.heads.remove_brand(brand.id)
    if len(xb):
        index.add(xb, entries)
        if adapt:
            heads = _ensure_heads(index, embedder)
            heads.banks[brand.id] = _bank(brand, embedder, xb, entries, photos, batch_size)
    log.info("brand %s: %d vectors added, %d replaced", brand.id, len(xb), removed)
    return len(xb)


def add_brand(index: ReferenceIndex, brand: Brand, embedder: ImageEmbedder, *, root: Path | None = None,
              batch_size: int = 32, augment: bool = True, adapt: bool = True, refresh: bool = False,
              fast: bool = True) -> int:
    """Add (or replace) one brand's vectors in ``index`` and train its head; returns the number of vectors.

    Args:
        augment: also index augmented logo views and mirrored product photos.
        adapt: train the brand's few-shot head (others untouched).
        refresh: also re-fit the other brands' heads from their cached features
            so they learn to reject the new brand (seconds; no re-embedding).
    """
    n = _add(index, brand, embedder, root=root, batch_size=batch_size, augment=augment, adapt=adapt, fast=fast)
    if adapt and n and index.heads is not None and brand.id in index.heads.banks:
        banks = index.heads.all_banks()
        todo = [brand.id] + ([b for b in index.heads.brand_ids if b != brand.id] if refresh else [])
        train_heads(banks, index.heads, brands=todo)
    return n


def remove_brand(index: ReferenceIndex, brand_id: str) -> int:
    """Remove a brand's vectors and head; returns the number of vectors removed."""
    if index.heads is not None:
        index.heads.remove_brand(brand_id)
    return index.remove_brand(brand_id)


def build_index(catalog: Catalog | Iterable[Brand], embedder: ImageEmbedder, *, factory: str = "auto",
                batch_size: int = 32, augment: bool = True, adapt: bool = True,
                root: Path | None = None, progress: bool = False, fast: bool = True) -> ReferenceIndex:
    """Build a fresh index (and the brands' heads) from every brand in the catalogue.

    ``factory="Flat"`` forces exact search; ``"auto"`` switches to IVF past
    ``index.APPROX_MIN_VECTORS`` vectors. ``progress`` shows a bar over the brands. ``fast``:
    the fast embedding path (see ``embed_brand``); ``False`` embeds with the plain model.
    """
    index = ReferenceIndex(embedder.info, factory=factory)
    root = root if root is not None else getattr(catalog, "root", None)
    index.reference_root = str(Path(root).resolve()) if root is not None else None
    brands = list(catalog)
    for brand in _progress(brands, progress, "embedding brands"):
        _add(index, brand, embedder, root=root, batch_size=batch_size, augment=augment, adapt=adapt, fast=fast)
    if adapt and index.heads is not None:
        train_heads(index.heads.all_banks(), index.heads, brands=[b.id for b in brands if b.id in index.heads.banks])
        # where this embedder's head and OCR scores meet the fusion's levels (fitted with heads only)
        index.operating_points = fitted_points(embedder.info)
    return index


def _progress(items: list, show: bool, what: str):
    if not show:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=what, unit="brand")


def save_index(index: ReferenceIndex, folder: str | Path, embedder: ImageEmbedder, *,
               reference_root: str | Path | None = None) -> Path:
    """Write ``index`` to ``folder`` with its keypoint caches (logo files and reference photos
    described once here, so that scans never describe or write anything); returns the manifest."""
    from counterfeit_vision.image.matcher import ImageMatcher

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if reference_root is not None:
        index.reference_root = str(Path(reference_root).resolve())
    ImageMatcher(embedder, index).prepare_caches(folder)
    return index.save(folder)


def onboard_brand_folder(folder: str | Path, *, catalog_dir: str | Path, index: ReferenceIndex,
                         index_dir: str | Path, embedder: ImageEmbedder, replace: bool = False,
                         adapt: bool = True, progress: bool = False) -> Brand:
    """Onboard one brand: validate its folder (CatalogError listing every problem), copy it into
    the catalogue (refusing to overwrite a brand of the same id unless ``replace``), check the
    whole catalogue still loads (its names must not collide with another brand's), add the brand
    to ``index`` and save the index to ``index_dir``. Returns the brand as it is in the catalogue."""
    catalog_dir = Path(catalog_dir)
    brand = load_brand(folder)
    target = catalog_dir / brand.id
    source_is_target = target.exists() and Path(folder).resolve() == target.resolve()
    if target.exists() and not source_is_target and not replace:
        raise UsageError(f"brand {brand.id!r} already exists at {target}; pass --replace to replace it")
    old = None
    if not source_is_target:
        catalog_dir.mkdir(parents=True, exist_ok=True)
        staged = catalog_dir / f".incoming-{brand.id}-{time.time_ns()}"  # hidden from the loader
        try:
            shutil.copytree(folder, staged)
            old = _park(target) if target.exists() else None
            staged.rename(target)
        except OSError:
            shutil.rmtree(staged, ignore_errors=True)
            if old is not None and not target.exists():
                old.rename(target)
            raise
    try:
        catalog = load_catalog(catalog_dir)  # the new brand must fit the others (e.g. no shared names)
        brand = catalog[brand.id]
        for b in _progress([brand], progress, f"onboarding {brand.id}"):
            add_brand(index, b, embedder, root=catalog.root, adapt=adapt)
        save_index(index, index_dir, embedder, reference_root=catalog.root)
    except BaseException:
        if not source_is_target:
            _rollback(target, old)  # the catalogue is as it was; the index on disk was never replaced
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return brand


def _park(target: Path) -> Path:
    """Move an existing brand folder aside (restored by ``_rollback`` if the new one is refused)."""
    parked = target.parent / f".replaced-{target.name}-{time.time_ns()}"
    target.rename(parked)
    return parked


def _rollback(target: Path, old: Path | None) -> None:
    shutil.rmtree(target, ignore_errors=True)
    if old is not None:
        old.rename(target)


def offboard_brand(brand_id: str, *, catalog_dir: str | Path, index: ReferenceIndex, index_dir: str | Path,
                   embedder: ImageEmbedder) -> tuple[int, Path | None]:
    """Remove a brand from ``index`` (saved to ``index_dir``) and move its catalogue folder to
    ``<catalog>/.removed/<id>-<time>`` (skipped by the loader, kept for the record).
    Returns (vectors removed, where the folder went or None when the catalogue had none).

    The folder moves first and comes back if the index cannot be saved, so catalogue and
    index on disk change together or not at all."""
    folder = Path(catalog_dir) / brand_id
    moved = None
    if folder.is_dir():
        moved = Path(catalog_dir) / ".removed" / f"{brand_id}-{time.strftime('%Y%m%dT%H%M%S')}-{time.time_ns() % 10**6}"
        moved.parent.mkdir(parents=True, exist_ok=True)
        folder.rename(moved)
    try:
        n = remove_brand(index, brand_id)
        save_index(index, index_dir, embedder)
    except BaseException:
        if moved is not None:
            moved.rename(folder)
        raise
    return n, moved


def adapt_brands(index: ReferenceIndex, catalog: Catalog, embedder: ImageEmbedder, *,
                 brands: Sequence[str] | None = None, index_dir: Path | None = None, batch_size: int = 32) -> None:
    """(Re)train heads of ``brands`` (default all), embedding banks only for brands that lack one."""
    heads = _ensure_heads(index, embedder)
    banks = heads.all_banks()
    todo = list(brands) if brands else [b.id for b in catalog]
    for brand_id in todo:
        if brand_id not in banks:
            brand = catalog[brand_id]
            logos, photos = _load_brand_images(brand)
            xb, entries = embed_brand(brand, embedder, root=catalog.root, batch_size=batch_size,
                                      images=(logos, photos))
            banks[brand_id] = _bank(brand, embedder, xb, entries, photos, batch_size)
    train_heads(banks, heads, brands=todo)
