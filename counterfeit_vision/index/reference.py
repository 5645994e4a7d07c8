"""The reference index: brand logos and product photos as vectors in FAISS.

On disk an index is a folder::

    indexes/<name>/
      manifest.json          # embedder, dimension, metric, versions, id -> reference
      index-<digest>.faiss   # the FAISS index the manifest points to
      heads/                 # optional few-shot adaptation heads (see ``adaptation``)
      logo_keypoints.npz     # optional: SIFT descriptors of the logo files (``logo_keypoints``),
                             # a cache written by ``image_matching.ImageMatcher``, reused per logo file
      reference_keypoints.npz  # optional: SIFT descriptors of the product photos, as is and mirrored
                             # (``photo_reuse``'s keypoint proposals), the same kind of cache

Exact by default: ``factory="auto"`` keeps a flat (exact) index until the
index holds more than ``APPROX_MIN_VECTORS`` vectors, then rebuilds it as an
inverted-file index (``approx_factory``: IVF with 8-bit scalar quantisation,
``nprobe`` lists probed per query) from the stored vectors; any FAISS factory
string can also be forced (``"Flat"`` = always exact). Brands can be removed
from either kind.

The manifest is written last and atomically, so it is the commit point: a crash
mid-save leaves the previous index intact. Vectors are L2-normalised, so inner
product is cosine similarity.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from counterfeit_vision._atomic import atomic_write, write_json_atomic
from counterfeit_vision._version import __version__
from counterfeit_vision.embedders.base import EmbedderInfo
from counterfeit_vision.errors import ConfigError, UserError

__all__ = ["APPROX_MIN_VECTORS", "IndexMismatchError", "Match", "ReferenceEntry", "ReferenceIndex", "MANIFEST_NAME",
           "approx_factory", "read_manifest"]

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
FORMAT_VERSION = 1
METRIC = "inner_product"  # cosine on L2-normalised vectors
# above this many vectors an "auto" index switches from exact to IVF search
APPROX_MIN_VECTORS = 200_000
DEFAULT_NPROBE = 32


def approx_factory(n: int) -> str:
    """FAISS factory string of the approximate index for ``n`` vectors: about sqrt(n)
    inverted lists (a power of two), vectors stored as 8-bit scalars (4x smaller)."""
    nlist = int(min(65536, max(64, 2 ** round(np.log2(np.sqrt(max(n, 1)))))))
    return f"IVF{nlist},SQ8"


class IndexMismatchError(UserError, RuntimeError):
    """An index was built by a different embedder (or is unreadable); the message says how to rebuild."""


@dataclass(frozen=True)
class ReferenceEntry:
    """What one vector in the index stands for."""

    brand_id: str
    kind: str          # "logo" | "reference" (official product photo)
    path: str          # image path relative to the catalogue root
    box: tuple[int, int, int, int] | None = None  # region of the image, if the vector is a crop
    augmentation: str = ""  # name of the augmentation if this is an augmented view
    phash: str = ""    # 64-bit perceptual hash (hex) of a reference photo, for exact-reuse detection

    def to_dict(self) -> dict:
        d = asdict(self)
        d["box"] = list(self.box) if self.box else None
        if not d["phash"]:
            del d["phash"]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ReferenceEntry":
        box = tuple(d["box"]) if d.get("box") else None
        return cls(d["brand_id"], d["kind"], d["path"], box, d.get("augmentation", ""), d.get("phash", ""))


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
        factory: ``"auto"`` (exact until ``approx_above`` vectors, then IVF), or a
            FAISS factory string for the storage (``"Flat"`` is always-exact search).
        approx_above: size at which an ``"auto"`` index becomes approximate.
        nprobe: inverted lists probed per query by an IVF index.
    """

    def __init__(self, embedder: EmbedderInfo, *, factory: str = "auto", approx_above: int = APPROX_MIN_VECTORS,
                 nprobe: int = DEFAULT_NPROBE):
        self.embedder = embedder
        self.factory = factory
        self.approx_above = int(approx_above)
        self.nprobe = int(nprobe)
        self.entries: dict[int, ReferenceEntry] = {}
        self._next_id = 0
        self.heads = None  # adaptation.BrandHeads trained on this index's brands, saved beside it
        # fusion.operating_points.OperatingPoints fitted for this embedder (None: raw scores are the cues)
        self.operating_points = None
        self.reference_root: str | None = None  # catalogue root the entries' paths are relative to (absolute)
        self.folder: Path | None = None  # where it was last saved to or loaded from
        self.saved_state: tuple[int, int] | None = None  # (len, next id) when saved to / loaded from ``folder``
        self._index = self._make(factory if factory != "auto" else "Flat")

    def _make(self, factory: str):
        import faiss

        try:
            if _nlist(factory):
                # IVF stores our ids itself; a hashtable direct map lets it reconstruct and remove by id
                index = faiss.index_factory(self.embedder.dim, factory, faiss.METRIC_INNER_PRODUCT)
                faiss.extract_index_ivf(index).set_direct_map_type(faiss.DirectMap.Hashtable)
            else:
                # IDMap2 gives us stable ids that survive removals and can be reconstructed
                index = faiss.index_factory(self.embedder.dim, f"IDMap2,{factory}", faiss.METRIC_INNER_PRODUCT)
        except RuntimeError as exc:  # FAISS's message is a C++ trace; say what was wrong instead
            raise ConfigError(f"bad FAISS factory string {factory!r} for {self.embedder.dim}-d vectors "
                              f"(use 'auto', 'Flat', or e.g. 'IVF1024,SQ8'): {str(exc).splitlines()[0][:200]}") from exc
        self.active_factory = factory
        self._configure(index)
        return index

    def _configure(self, index) -> None:
        import faiss

        try:
            ivf = faiss.extract_index_ivf(index)
        except RuntimeError:
            return
        ivf.nprobe = self.nprobe

    @property
    def approximate(self) -> bool:
        return self.active_factory != "Flat"

    def set_nprobe(self, nprobe: int) -> None:
        self.nprobe = int(nprobe)
        self._configure(self._index)

    # ----------------------------------------------------------------- content
    @property
    def next_id(self) -> int:
        """The id the next added vector gets (ids are never reused, so removals leave gaps)."""
        return self._next_id

    @property
    def content_state(self) -> tuple[int, int]:
        """(vectors, next id): changes whenever vectors are added or removed."""
        return len(self), self._next_id

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
            nlist = _nlist(self.active_factory)
            if nlist and len(xb) < nlist:
                raise ValueError(f"index {self.active_factory} needs at least {nlist} vectors in its first add "
                                 f"to train, got {len(xb)}; use factory='auto' or 'Flat'")
            self._index.train(xb)
        ids = np.arange(self._next_id, self._next_id + len(xb), dtype=np.int64)
        self._index.add_with_ids(xb, ids)
        self.entries.update(zip(ids.tolist(), entries))
        self._next_id += len(xb)
        if self.factory == "auto" and not self.approximate and len(self) > self.approx_above:
            self.rebuild(approx_factory(len(self)))
        return ids

    def ids(self) -> np.ndarray:
        return np.array(sorted(self.entries), dtype=np.int64)

    def all_vectors(self, *, copy: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of everything stored; fast for the exact (IDMap2 over Flat) index.

        ``copy=False`` returns a view into FAISS memory, valid while the index is unchanged."""
        import faiss

        if isinstance(self._index, faiss.IndexIDMap2) and self.active_factory == "Flat":
            flat = faiss.downcast_index(self._index.index)
            n = flat.ntotal
            xb = faiss.rev_swig_ptr(flat.get_xb(), n * self.dim).reshape(n, self.dim)
            xb = xb.copy() if copy else xb
            return faiss.vector_to_array(self._index.id_map).astype(np.int64), xb
        ids = self.ids()
        return ids, self.reconstruct(ids)

    def reconstruct(self, ids: Sequence[int]) -> np.ndarray:
        """Stored vectors of the given ids, (n, D) float32 (approximate for quantised indexes)."""
        out = np.zeros((len(ids), self.dim), np.float32)
        for row, i in enumerate(ids):
            out[row] = self._index.reconstruct(int(i))
        return out

    def rebuild(self, factory: str) -> None:
        """Re-create the FAISS storage with another factory string, keeping ids and entries."""
        t0 = time.perf_counter()
        ids, xb = self.all_vectors(copy=False)
        old = self._index  # keeps the memory behind ``xb`` alive until the new index is filled
        index = self._make(factory)
        if len(ids):
            if not index.is_trained:
                rng = np.random.default_rng(0)
                sample = xb[rng.choice(len(xb), min(len(xb), 64 * max(1, _nlist(factory))), replace=False)]
                index.train(sample)
            index.add_with_ids(xb, ids)
        self._index = index
        del old
        log.info("index rebuilt as %s with %d vectors in %.1fs", factory, len(ids), time.perf_counter() - t0)

    def remove_brand(self, brand_id: str) -> int:
        """Remove every vector of a brand; returns how many were removed."""
        ids = np.array([i for i, e in self.entries.items() if e.brand_id == brand_id], dtype=np.int64)
        if len(ids):
            import faiss

            try:
                self._index.remove_ids(faiss.IDSelectorArray(len(ids), faiss.swig_ptr(ids)))
                for i in ids.tolist():
                    del self.entries[i]
            except RuntimeError:  # storage without removal (e.g. HNSW): rebuild from the rest
                for i in ids.tolist():
                    del self.entries[i]
                keep = self.ids()
                xb = self.reconstruct(keep) if len(keep) else np.zeros((0, self.dim), np.float32)
                self._index = self._make(self.active_factory)
                if len(keep):
                    if not self._index.is_trained:
                        self._index.train(xb)
                    self._index.add_with_ids(xb, keep)
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
    def _portable_root(self, folder: Path | None) -> str | None:
        """The catalogue root as saved: relative to the index folder, so that moving catalogue and
        index together (or the whole checkout) keeps keypoint verification working."""
        if self.reference_root is None or folder is None:
            return self.reference_root
        return os.path.relpath(Path(self.reference_root).resolve(), Path(folder).resolve())

    def manifest(self, index_file: str, folder: Path | None = None, index_sha256: str | None = None,
                 heads_dir: str | None = None) -> dict:
        import faiss

        return {
            "format_version": FORMAT_VERSION,
            "embedder": self.embedder.to_dict(),
            "dimension": self.dim,
            "metric": METRIC,
            "factory": self.factory,
            "active_factory": self.active_factory,
            "approx_above": self.approx_above,
            "nprobe": self.nprobe,
            "heads": heads_dir if self.heads is not None else None,
            "operating_points": self.operating_points.to_dict() if self.operating_points is not None else None,
            "reference_root": self._portable_root(folder),
            "count": len(self),
            "next_id": self._next_id,
            "index_file": index_file,
            "index_sha256": index_sha256,
            "library_version": __version__,
            "faiss_version": faiss.__version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "entries": {str(i): e.to_dict() for i, e in sorted(self.entries.items())},
        }

    def save(self, folder: str | Path) -> Path:
        """Write the index as one version: the vectors and the heads under new names, then the
        manifest (naming them, with the vectors' SHA-256) renamed into place, then the old
        version's files removed. A save killed at any point leaves the old version or the new
        one loadable, never a mix. Returns the manifest path."""
        import shutil

        import faiss

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        blob = faiss.serialize_index(self._index).tobytes()
        index_file = f"index-{hashlib.sha1(blob).hexdigest()[:12]}.faiss"
        with atomic_write(folder / index_file, "wb") as f:
            f.write(blob)
        heads_dir = None
        if self.heads is not None:
            heads_dir = f"heads-{time.time_ns():x}"  # a new folder per version; the manifest names it
            self.heads.save(folder / heads_dir)
        write_json_atomic(folder / MANIFEST_NAME,
                          self.manifest(index_file, folder, hashlib.sha256(blob).hexdigest(), heads_dir))
        self.folder, self.saved_state = folder, (len(self), self._next_id)
        for stale in folder.glob("index-*.faiss"):
            if stale.name != index_file:
                stale.unlink(missing_ok=True)
        for stale in folder.glob("heads*"):
            if stale.is_dir() and stale.name != heads_dir:
                shutil.rmtree(stale, ignore_errors=True)
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
                f"`counterfeit-vision index build --catalog CATALOG --index {folder} "
                f"--embedder {expect.name.split(':')[0]}`")
        data = _verified_blob(folder, manifest)
        self = cls.__new__(cls)
        self.embedder = built_by
        self.factory = manifest.get("factory", "Flat")
        self.active_factory = manifest.get("active_factory", self.factory)
        self.approx_above = int(manifest.get("approx_above", APPROX_MIN_VECTORS))
        self.nprobe = int(manifest.get("nprobe", DEFAULT_NPROBE))
        try:
            self._index = faiss.deserialize_index(data)
        except Exception as exc:  # noqa: BLE001 - FAISS raises RuntimeError with C++ text for any damage
            raise _damaged(folder, f"{manifest['index_file']} cannot be read ({type(exc).__name__})") from None
        if self._index.d != int(manifest.get("dimension", self._index.d)):
            raise _damaged(folder, f"vectors of dimension {self._index.d}, manifest says {manifest['dimension']}")
        self._configure(self._index)
        self.heads = None
        root = manifest.get("reference_root")
        self.reference_root = str((folder / root).resolve()) if root is not None else None
        if manifest.get("heads") and ("/" in manifest["heads"] or not manifest["heads"].startswith("heads")):
            raise _damaged(folder, "the manifest names a heads folder outside the index")
        if manifest.get("heads"):
            from counterfeit_vision.index.heads import BrandHeads, HeadsMismatchError

            try:
                self.heads = BrandHeads.load(folder / manifest["heads"], expect=built_by)
            except HeadsMismatchError as exc:
                log.warning("index at %s: adaptation heads ignored: %s", folder, exc)
        self.operating_points = _operating_points(folder, manifest)
        self.entries = {int(i): ReferenceEntry.from_dict(e) for i, e in manifest["entries"].items()}
        self._next_id = int(manifest["next_id"])
        if self._index.ntotal != len(self.entries):
            raise IndexMismatchError(f"index at {folder} is inconsistent: {self._index.ntotal} vectors, "
                                     f"{len(self.entries)} manifest entries; rebuild it")
        self.folder, self.saved_state = folder, (len(self), self._next_id)
        return self


def _damaged(folder: Path, what: str) -> IndexMismatchError:
    return IndexMismatchError(f"index at {folder} is damaged ({what}); rebuild it with "
                              f"`counterfeit-vision index build --catalog CATALOG --index {folder}`")


def _operating_points(folder: Path, manifest: dict):
    """The manifest's operating points, checked against their SHA-256; None for a manifest saved
    before they existed (its scans keep the raw scores as cues)."""
    raw = manifest.get("operating_points")
    if raw is None:
        return None
    from counterfeit_vision.fusion.operating_points import OperatingPoints

    try:
        return OperatingPoints.from_dict(raw)
    except ValueError as exc:
        raise _damaged(folder, str(exc)) from None


def _verified_blob(folder: Path, manifest: dict) -> np.ndarray:
    """The index file the manifest names, checked against the manifest's SHA-256 (when it has one)."""
    name = manifest.get("index_file")
    if not isinstance(name, str) or "/" in name or name.startswith("."):
        raise _damaged(folder, "the manifest names no index file")
    try:
        raw = (folder / name).read_bytes()
    except OSError as exc:
        raise _damaged(folder, f"{name} cannot be read ({exc.strerror or type(exc).__name__})") from None
    expected = manifest.get("index_sha256")
    if expected is not None and hashlib.sha256(raw).hexdigest() != expected:
        raise _damaged(folder, f"{name} does not match the SHA-256 in its manifest")
    return np.frombuffer(raw, dtype=np.uint8)


def read_manifest(folder: str | Path) -> dict:
    """The manifest of the index in ``folder``; ``IndexMismatchError`` naming the fix when it is
    missing, corrupt or of another format."""
    path = Path(folder) / MANIFEST_NAME
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise IndexMismatchError(f"no index at {folder} (missing {MANIFEST_NAME}); build one with "
                                 f"`counterfeit-vision index build --catalog CATALOG --index {folder}`") from exc
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError, ValueError) as exc:
        raise IndexMismatchError(f"index manifest {path} is corrupt ({type(exc).__name__}); rebuild it with "
                                 f"`counterfeit-vision index build --catalog CATALOG --index {folder}`") from None
    except OSError as exc:
        raise IndexMismatchError(f"index manifest {path} cannot be read ({exc.strerror or exc})") from None
    if not isinstance(manifest, dict):
        raise IndexMismatchError(f"index manifest {path} is corrupt (not an object); rebuild the index")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexMismatchError(f"index at {folder} has format {manifest.get('format_version')}, "
                                 f"this library reads {FORMAT_VERSION}; rebuild the index")
    return manifest



def _nlist(factory: str) -> int:
    import re

    m = re.search(r"IVF(\d+)", factory)
    return int(m.group(1)) if m else 0
