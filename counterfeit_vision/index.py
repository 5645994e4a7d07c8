"""The reference index: brand logos and product photos as vectors in FAISS.

On disk an index is a folder::

    indexes/<name>/
      manifest.json          # embedder, dimension, metric, versions, id -> reference
      index-<digest>.faiss   # the FAISS index the manifest points to

The manifest is written last and atomically, so it is the commit point: a crash
mid-save leaves the previous index intact. Vectors are L2-normalised, so inner
product is cosine similarity.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from counterfeit_vision._atomic import atomic_write, write_json_atomic
from counterfeit_vision._version import __version__
from counterfeit_vision.embedders.base import EmbedderInfo

__all__ = ["IndexMismatchError", "Match", "ReferenceEntry", "ReferenceIndex", "MANIFEST_NAME"]

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
FORMAT_VERSION = 1
METRIC = "inner_product"  # cosine on L2-normalised vectors


class IndexMismatchError(RuntimeError):
    """An index was built by a different embedder (or is unreadable); the message says how to rebuild."""


@dataclass(frozen=True)
class ReferenceEntry:
    """What one vector in the index stands for."""

    brand_id: str
    kind: str          # "logo" | "reference" (official product photo)
    path: str          # image path relative to the catalogue root
    box: tuple[int, int, int, int] | None = None  # region of the image, if the vector is a crop
    augmentation: str = ""  # name of the augmentation if this is an augmented view

    def to_dict(self) -> dict:
        d = asdict(self)
        d["box"] = list(self.box) if self.box else None
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ReferenceEntry":
        box = tuple(d["box"]) if d.get("box") else None
        return cls(d["brand_id"], d["kind"], d["path"], box, d.get("augmentation", ""))


@dataclass(frozen=True)
class Match:
    """One nearest reference for a query vector."""

    ref_id: int
    similarity: float
    entry: ReferenceEntry


class ReferenceIndex:
    """FAISS index of reference vectors with the brand/reference mapping beside it.

    Args:
        embedder: the embedder that produced (and must produce) every vector.
        factory: FAISS factory string for the storage; ``"Flat"`` is exact search.
    """

    def __init__(self, embedder: EmbedderInfo, *, factory: str = "Flat"):
        import faiss

        self.embedder = embedder
        self.factory = factory
        self.entries: dict[int, ReferenceEntry] = {}
        self._next_id = 0
        # IDMap2 gives us stable ids that survive removals and can be reconstructed
        self._index = faiss.index_factory(embedder.dim, f"IDMap2,{factory}", faiss.METRIC_INNER_PRODUCT)

    # ----------------------------------------------------------------- content
    def __len__(self) -> int:
        return int(self._index.ntotal)

    @property
    def dim(self) -> int:
        return self.embedder.dim

    def brands(self) -> set[str]:
        return {e.brand_id for e in self.entries.values()}

    def add(self, xb: np.ndarray, entries: Sequence[ReferenceEntry]) -> np.ndarray:
        """Add (N, D) L2-normalised vectors; returns their new ids."""
        xb = np.ascontiguousarray(xb, dtype=np.float32)
        if xb.ndim != 2 or xb.shape[1] != self.dim:
            raise ValueError(f"expected vectors of shape (N, {self.dim}), got {xb.shape}")
        if len(entries) != len(xb):
            raise ValueError(f"{len(xb)} vectors but {len(entries)} entries")
        if not self._index.is_trained:
            self._index.train(xb)
        ids = np.arange(self._next_id, self._next_id + len(xb), dtype=np.int64)
        self._index.add_with_ids(xb, ids)
        self.entries.update(zip(ids.tolist(), entries))
        self._next_id += len(xb)
        return ids

    def remove_brand(self, brand_id: str) -> int:
        """Remove every vector of a brand; returns how many were removed."""
        ids = np.array([i for i, e in self.entries.items() if e.brand_id == brand_id], dtype=np.int64)
        if len(ids):
            self._index.remove_ids(ids)
            for i in ids.tolist():
                del self.entries[i]
        return len(ids)

    # ------------------------------------------------------------------ search
    def search(self, xq: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """FAISS-style search: returns (D, I), both (Q, k); missing neighbours have I = -1."""
        xq = np.ascontiguousarray(xq, dtype=np.float32)
        if xq.ndim != 2 or xq.shape[1] != self.dim:
            raise ValueError(f"expected queries of shape (Q, {self.dim}), got {xq.shape}")
        if len(self) == 0:
            return np.full((len(xq), k), -np.inf, np.float32), np.full((len(xq), k), -1, np.int64)
        return self._index.search(xq, k)

    def query(self, xq: np.ndarray, k: int = 5, *, kind: str | None = None) -> list[list[Match]]:
        """Nearest references per query, optionally only of one kind (logo/reference)."""
        # over-fetch when filtering so k results of the kind usually survive
        fetch = k if kind is None else min(len(self), max(k * 4, k + 16)) or k
        D, I = self.search(xq, fetch)
        out = []
        for drow, irow in zip(D, I):
            row = [Match(int(i), float(d), self.entries[int(i)]) for d, i in zip(drow, irow)
                   if i >= 0 and (kind is None or self.entries[int(i)].kind == kind)]
            out.append(row[:k])
        return out

    # ------------------------------------------------------------- persistence
    def manifest(self, index_file: str) -> dict:
        import faiss

        return {
            "format_version": FORMAT_VERSION,
            "embedder": self.embedder.to_dict(),
            "dimension": self.dim,
            "metric": METRIC,
            "factory": self.factory,
            "count": len(self),
            "next_id": self._next_id,
            "index_file": index_file,
            "library_version": __version__,
            "faiss_version": faiss.__version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "entries": {str(i): e.to_dict() for i, e in sorted(self.entries.items())},
        }

    def save(self, folder: str | Path) -> Path:
        """Write the index and its manifest atomically; returns the manifest path."""
        import faiss

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        blob = faiss.serialize_index(self._index).tobytes()
        index_file = f"index-{hashlib.sha1(blob).hexdigest()[:12]}.faiss"
        with atomic_write(folder / index_file, "wb") as f:
            f.write(blob)
        write_json_atomic(folder / MANIFEST_NAME, self.manifest(index_file))
        for stale in folder.glob("index-*.faiss"):
            if stale.name != index_file:
                stale.unlink(missing_ok=True)
        log.info("saved index with %d vectors to %s", len(self), folder)
        return folder / MANIFEST_NAME

    @classmethod
    def load(cls, folder: str | Path, *, expect: EmbedderInfo | None = None) -> "ReferenceIndex":
        """Load an index; with ``expect``, refuse one built by another embedder."""
        import faiss

        folder = Path(folder)
        manifest = read_manifest(folder)
        built_by = EmbedderInfo(**manifest["embedder"])
        if expect is not None and not built_by.compatible_with(expect):
            raise IndexMismatchError(
                f"index at {folder} was built with embedder {built_by.name} (dim {built_by.dim}, "
                f"weights {built_by.weights_digest}) but the current embedder is {expect.name} "
                f"(dim {expect.dim}, weights {expect.weights_digest}); rebuild it with "
                f"`counterfeit-vision index build --catalog CATALOG --index {folder} --embedder {expect.name.split(':')[0]}`")
        data = np.fromfile(folder / manifest["index_file"], dtype=np.uint8)
        self = cls.__new__(cls)
        self.embedder = built_by
        self.factory = manifest.get("factory", "Flat")
        self._index = faiss.deserialize_index(data)
        self.entries = {int(i): ReferenceEntry.from_dict(e) for i, e in manifest["entries"].items()}
        self._next_id = int(manifest["next_id"])
        if self._index.ntotal != len(self.entries):
            raise IndexMismatchError(f"index at {folder} is inconsistent: {self._index.ntotal} vectors, "
                                     f"{len(self.entries)} manifest entries; rebuild it")
        return self


def read_manifest(folder: str | Path) -> dict:
    path = Path(folder) / MANIFEST_NAME
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise IndexMismatchError(f"no index at {folder} (missing {MANIFEST_NAME}); build one with "
                                 f"`counterfeit-vision index build --catalog CATALOG --index {folder}`") from exc
    except json.JSONDecodeError as exc:
        raise IndexMismatchError(f"index manifest {path} is corrupt ({exc}); rebuild the index") from exc
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexMismatchError(f"index at {folder} has format {manifest.get('format_version')}, "
                                 f"this library reads {FORMAT_VERSION}; rebuild the index")
    return manifest

