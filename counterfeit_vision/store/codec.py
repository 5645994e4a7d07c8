"""What the store keeps, as JSON (never pickled): photo findings, listings, results, fingerprints.

Every value read back is exactly the value written: floats go through JSON's shortest
round-trip repr, tuples come back as tuples, and numpy scalars are turned into Python
numbers before writing (so ``json.dumps`` of a result built from stored findings gives the
same bytes as one built from fresh findings).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, fields
from typing import TYPE_CHECKING, Any, Iterable

import numpy as np

from counterfeit_vision.listing import Listing

if TYPE_CHECKING:
    from counterfeit_vision.catalog import Brand, Catalog
    from counterfeit_vision.image.matcher import ImageHit
    from counterfeit_vision.index.reference import ReferenceIndex
    from counterfeit_vision.ocr import TextBox

__all__ = ["brand_fingerprints", "canonical", "decode_boxes", "decode_features", "decode_hits", "decode_listing",
           "digest", "encode_boxes", "encode_features", "encode_hits", "encode_listing", "index_fingerprints",
           "input_hash"]


def _plain(value: Any) -> Any:
    """JSON-ready: numpy scalars and arrays as Python numbers and lists, tuples and sets as lists."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(_plain(v) for v in value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if hasattr(value, "__fspath__"):
        return str(value)
    return value


def canonical(value: Any) -> str:
    """Canonical JSON (sorted keys, no spaces): equal values give equal text, so equal digests."""
    return json.dumps(_plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(value: Any) -> str:
    """SHA-256 of ``value``'s canonical JSON."""
    return hashlib.sha256(canonical(value).encode("utf-8", "surrogatepass")).hexdigest()


# ----------------------------------------------------------------------- listings
def encode_listing(listing: Listing) -> str:
    """A parsed listing as canonical JSON (``decode_listing`` gives it back)."""
    return canonical(asdict(listing))


def decode_listing(text: str) -> Listing:
    """The listing ``encode_listing`` wrote."""
    row = json.loads(text)
    return Listing(**{k: tuple(v) if isinstance(v, list) else v for k, v in row.items()})


def input_hash(listing: Listing, photo_sha256s: Iterable[str | None], extra: Any = None) -> str:
    """A listing's identity in the store: its parsed row (notes included: they are part of its result)
    and the SHA-256 of each photo's bytes (a photo replaced under the same name is a new listing);
    ``extra`` is whatever else its result depends on per listing (its seller's history)."""
    return digest({"listing": asdict(listing), "photos": list(photo_sha256s), "extra": extra})


# ------------------------------------------------------------------- photo findings
def encode_hits(hits: Iterable["ImageHit"]) -> str:
    """A photo's image hits as JSON."""
    return canonical([asdict(h) for h in hits])


def decode_hits(text: str, image_index: int) -> list["ImageHit"]:
    """The hits ``encode_hits`` wrote, numbered ``image_index``."""
    from counterfeit_vision.image.matcher import ImageHit

    out = []
    for row in json.loads(text):
        row["box"] = tuple(row["box"]) if row.get("box") is not None else None
        out.append(ImageHit(**{**row, "image_index": image_index}))
    return out


def encode_boxes(boxes: Iterable["TextBox"]) -> str:
    """A photo's OCR text boxes as JSON."""
    return canonical([asdict(b) for b in boxes])


def decode_boxes(text: str, image_index: int) -> list["TextBox"]:
    """The text boxes ``encode_boxes`` wrote, numbered ``image_index``."""
    from counterfeit_vision.ocr import TextBox

    names = {f.name for f in fields(TextBox)}
    return [TextBox(**{**{k: v for k, v in row.items() if k in names}, "box": tuple(row["box"]),
                       "image_index": image_index}) for row in json.loads(text)]


FEATURE_KEEP_COSINE = 0.9  # a window this close to one already kept adds nothing to "is it near X"


def encode_features(x: np.ndarray) -> bytes:
    """A photo's window features (whole photo first), compacted: each L2-normalised, a window within
    ``FEATURE_KEEP_COSINE`` of one already kept dropped (overlapping windows of one scene are alike),
    as int8 (x 127). They only decide which photos a catalogue change can reach (``delta``, with a
    margin for this rounding), never a score. ~800 windows of 1,280 floats become ~100 kB."""
    x = np.asarray(x, np.float32)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    kept = [0]
    for i in range(1, len(x)):
        if float((x[kept] @ x[i]).max()) < FEATURE_KEEP_COSINE:
            kept.append(i)
    return np.round(x[kept] * 127).astype(np.int8).tobytes()


def decode_features(blob: bytes, dim: int) -> np.ndarray:
    """The kept windows (whole photo first), L2-normalised float32."""
    x = np.frombuffer(blob, np.int8).reshape(-1, dim).astype(np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


# ------------------------------------------------------------------- fingerprints
def brand_fingerprints(catalog: "Catalog") -> dict[str, str]:
    """Per brand, a digest of its catalogue entry (names, thresholds, floors, sellers, image files),
    without the folder it lives in (a moved catalogue is the same catalogue)."""
    return {b.id: digest(_brand_fields(b)) for b in catalog}


def _brand_fields(brand: "Brand") -> dict:
    row = {f.name: getattr(brand, f.name) for f in fields(brand) if f.name not in ("root", "logos", "references")}
    row["price_floor"] = asdict(brand.price_floor) if brand.price_floor is not None else None
    row["thresholds"] = asdict(brand.thresholds) if brand.thresholds is not None else None
    root = brand.root
    row["logos"] = [_relative(p, root) for p in brand.logos]
    row["references"] = [_relative(p, root) for p in brand.references]
    return row


def _relative(path, root) -> str:
    try:
        return str(path.relative_to(root)) if root is not None else str(path)
    except ValueError:
        return str(path)


def index_fingerprints(index: "ReferenceIndex") -> dict[str, str]:
    """Per brand, a digest of what the image matcher uses of it: its entries (ids, kind, file, box,
    augmentation), their vectors, and its few-shot head."""
    by_brand: dict[str, list[int]] = {}
    for i, e in sorted(index.entries.items()):
        by_brand.setdefault(e.brand_id, []).append(i)
    heads = index.heads
    out = {}
    for brand_id, ids in by_brand.items():
        h = hashlib.sha256()
        h.update(canonical({i: index.entries[i].to_dict() for i in ids}).encode())
        h.update(np.ascontiguousarray(index.reconstruct(np.array(ids, np.int64)), np.float32).tobytes())
        if heads is not None and brand_id in heads.brand_ids:
            j = heads.brand_ids.index(brand_id)
            h.update(np.float32(heads.b[j]).tobytes() + np.ascontiguousarray(heads.W[j], np.float32).tobytes())
        out[brand_id] = h.hexdigest()
    return out
