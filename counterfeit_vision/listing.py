"""Listings in, results out: the typed records and their JSONL forms.

Input rows (JSONL)::

    {"id", "title", "images": [paths relative to the file or absolute],
     "price", "currency", "seller_id", "category"}

and, optionally, what seller networks, seller risk and test-buy targeting use:
``seller_name`` and ``url`` (the store's name and shop URL), ``seller_since`` (ISO date
the account opened), ``sales`` (units sold), ``contact`` and ``payment_id``. The last
two are personal data: :class:`Listing` keeps only their keyed hashes
(:func:`counterfeit_vision.sellers.identifiers.hash_identifier`), never the clear text.

A row with a bad part (NaN price, unknown field, huge title) is still scored with
the bad part ignored and a note saying so; a row that cannot be scored at all
(not JSON, not an object) gets an ``error``. Nothing stops the rest of the file.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

from counterfeit_vision._text import brief, replace_surrogates

__all__ = ["Evidence", "Listing", "ListingError", "Photo", "Result", "read_results", "parse_line", "parse_row_dict",
           "read_listings", "MAX_TITLE_CHARS"]

MAX_TITLE_CHARS = 1000  # marketplaces cap titles far below this; longer is garbage or an attack
_FIELDS = ("id", "title", "images", "price", "currency", "seller_id", "category",
           "seller_name", "url", "seller_since", "sales", "contact", "payment_id")
MAX_IMAGES = 20
MAX_TEXT_CHARS = 500  # ids, sellers, categories, currencies: far longer than any real one


class ListingError(ValueError):
    """A row that cannot be scored at all."""


@dataclass(frozen=True)
class Listing:
    """One marketplace listing to score."""

    id: str
    title: str = ""
    images: tuple[str, ...] = ()
    price: float | None = None
    currency: str | None = None
    seller_id: str | None = None
    category: str | None = None
    notes: tuple[str, ...] = ()  # parts of the input that were ignored, and why
    seller_name: str | None = None
    url: str | None = None
    seller_since: str | None = None   # ISO date (YYYY-MM-DD) the seller's account opened
    sales: float | None = None        # units sold, as the marketplace shows it
    contact_hash: str | None = None   # keyed hash of the contact given (phone, e-mail, chat handle)
    payment_hash: str | None = None   # keyed hash of the payment account

    @classmethod
    def from_dict(cls, row: Any, *, base_dir: Path | None = None, row_number: int | None = None) -> "Listing":
        """Parse one input row, ignoring bad parts with a note.

        Raises:
            ListingError: the row is not an object.
        """
        if not isinstance(row, dict):
            raise ListingError(f"row must be a JSON object, got {type(row).__name__}")
        notes: list[str] = [f"ignored unknown field {brief(k)}" for k in row if k not in _FIELDS]
        listing_id = _parse_text(row.get("id"), "id", notes)
        if listing_id is None:
            listing_id = f"row-{row_number}" if row_number is not None else "unknown"
            notes.append(f"missing or unusable id; using {listing_id!r}")
        return cls(
            id=listing_id,
            title=_parse_title(row.get("title"), notes),
            images=_parse_images(row.get("images"), base_dir, notes),
            price=_parse_price(row.get("price"), notes),
            currency=_parse_text(row.get("currency"), "currency", notes),
            seller_id=_parse_text(row.get("seller_id"), "seller_id", notes),
            category=_parse_text(row.get("category"), "category", notes),
            seller_name=_parse_text(row.get("seller_name"), "seller_name", notes),
            url=_parse_text(row.get("url"), "url", notes),
            seller_since=_parse_date(row.get("seller_since"), notes),
            sales=_parse_count(row.get("sales"), notes),
            contact_hash=_hashed(row.get("contact"), "contact", notes),
            payment_hash=_hashed(row.get("payment_id"), "payment_id", notes),
            notes=tuple(notes),
        )


def _hashed(value: Any, name: str, notes: list[str]) -> str | None:
    """The keyed hash of a personal identifier; the clear value goes no further than this call."""
    from counterfeit_vision.sellers.identifiers import hash_identifier

    text = _parse_text(value, name, notes)
    return hash_identifier(text, kind=name) if text else None


def _parse_date(value: Any, notes: list[str]) -> str | None:
    from datetime import date

    text = _parse_text(value, "seller_since", notes)
    if text is None:
        return None
    try:
        return date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        notes.append(f"seller_since {brief(text)} is not an ISO date; ignored")
        return None


def _parse_count(value: Any, notes: list[str]) -> float | None:
    sub: list[str] = []
    parsed = _parse_price(value, sub)
    notes.extend(n.replace("price", "sales", 1) for n in sub)
    return parsed


def _parse_title(value: Any, notes: list[str]) -> str:
    if value is None:
        notes.append("no title")
        return ""
    if not isinstance(value, str):
        notes.append(f"title is not a string ({type(value).__name__}); ignored")
        return ""
    value = _clean(value, "title", notes)
    if not value.strip():
        notes.append("empty title")
        return ""
    if len(value) > MAX_TITLE_CHARS:
        notes.append(f"title has {len(value)} characters; only the first {MAX_TITLE_CHARS} were read")
        return value[:MAX_TITLE_CHARS]
    return value


def _parse_images(value: Any, base_dir: Path | None, notes: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        notes.append(f"images must be a list of paths, got {type(value).__name__}; ignored")
        return ()
    paths = []
    for item in value:
        if not isinstance(item, str) or not item.strip() or "\x00" in item:
            notes.append(f"image entry {brief(item)} is not a path; ignored")
            continue
        p = Path(_clean(item, "image path", notes))
        paths.append(str(p if p.is_absolute() or base_dir is None else base_dir / p))
    if len(paths) > MAX_IMAGES:
        notes.append(f"{len(paths)} images; only the first {MAX_IMAGES} were read")
        paths = paths[:MAX_IMAGES]
    return tuple(paths)


def _parse_price(value: Any, notes: list[str]) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):  # JSON true is not a price (Python would read it as 1.0)
        notes.append(f"price {brief(value)} is not a number; ignored")
        return None
    if not isinstance(value, (int, float)):
        try:
            if isinstance(value, str) and len(value) > 64:
                raise ValueError("too long")  # no real price is written with more characters
            value = float(value)
        except (TypeError, ValueError, OverflowError):
            notes.append(f"price {brief(value)} is not a number; ignored")
            return None
    try:
        value = float(value)  # an int of thousands of digits overflows here
    except OverflowError:
        notes.append("price is too large a number; ignored")
        return None
    if not math.isfinite(value) or value < 0:
        notes.append(f"price {brief(value)} is not a finite non-negative number; ignored")
        return None
    return value


def _parse_text(value: Any, name: str, notes: list[str]) -> str | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            value = str(value)
        except ValueError:  # Python refuses to print ints of more than 4300 digits
            notes.append(f"{name} is a number too long to use; ignored")
            return None
    if isinstance(value, str) and value.strip():
        if len(value) > MAX_TEXT_CHARS:
            notes.append(f"{name} has {len(value)} characters (limit {MAX_TEXT_CHARS}); ignored")
            return None
        return _clean(value.strip(), name, notes)
    notes.append(f"{name} {brief(value)} is not a string; ignored")
    return None


def _clean(text: str, name: str, notes: list[str]) -> str:
    """``text`` with lone surrogates replaced by U+FFFD (so it can be written as UTF-8), with a note."""
    cleaned, n = replace_surrogates(text)
    if n:
        notes.append(f"{name}: {n} unencodable character(s) replaced by U+FFFD")
    return cleaned


@dataclass(frozen=True)
class Evidence:
    """One checkable fact behind a decision. Fields that do not apply are None."""

    kind: str                 # logo | photo | ocr_text | title | price | seller | store_name
    brand_id: str | None
    score: float              # this cue's strength in [0, 1]
    detail: str = ""          # one human-readable line
    reference: str | None = None       # matched reference image (catalogue-relative path)
    ref_id: int | None = None
    similarity: float | None = None
    image: str | None = None           # the listing photo
    image_index: int | None = None
    box: tuple[int, int, int, int] | None = None  # x1, y1, x2, y2 in the listing photo
    text: str | None = None            # OCR text or title words
    span: tuple[int, int] | None = None  # character span in the title
    reasons: tuple[str, ...] = ()
    price: float | None = None
    floor: float | None = None
    currency: str | None = None
    claim: str | None = None           # logo/photo: verified_logo | logo_like | copied_photo | similar_photo

    def __post_init__(self) -> None:
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"evidence score must be in [0, 1], got {self.score}")

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()
                if v is not None and v != () and v != ""} | {"kind": self.kind, "score": round(self.score, 4)}

    @classmethod
    def from_dict(cls, row: dict) -> "Evidence":
        """The inverse of :meth:`to_dict` (fields it left out come back as their defaults).

        Raises:
            ValueError: ``row`` is not an evidence object (no kind, unknown field, bad score).
        """
        if not isinstance(row, dict) or not isinstance(row.get("kind"), str):
            raise ValueError("evidence must be an object with a kind")
        unknown = set(row) - _EVIDENCE_FIELDS
        if unknown:
            raise ValueError(f"evidence has unknown field(s): {', '.join(sorted(map(brief, unknown)))}")
        values = {k: (tuple(v) if k in _EVIDENCE_TUPLES and v is not None else v) for k, v in row.items()}
        return cls(**{"brand_id": None, **values})


_EVIDENCE_FIELDS = frozenset(Evidence.__dataclass_fields__)
_EVIDENCE_TUPLES = frozenset({"box", "span", "reasons"})


@dataclass(frozen=True)
class Photo:
    """One listing photo as scanned: where it was, its content hash and perceptual hash.

    ``sha256`` and ``phash`` are None when the photo could not be read; they let seller
    networks and evidence stores be built from any results file.
    """

    path: str
    sha256: str | None = None
    phash: str | None = None   # 64-bit perceptual hash as 16 hex digits

    def to_dict(self) -> dict:
        return {"path": self.path, "sha256": self.sha256, "phash": self.phash}


@dataclass(frozen=True)
class Result:
    """The decision for one listing."""

    id: str
    decision: str             # takedown | review | pass
    confidence: float         # calibrated probability the brand invocation is illegitimate
    brand: str | None
    signals: dict[str, float] = field(default_factory=dict)
    evidence: tuple[Evidence, ...] = ()
    error: str | None = None
    model: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    photos: tuple[Photo, ...] = ()
    seller_id: str | None = None   # the listing's seller, so seller networks can be built from results

    def __post_init__(self) -> None:
        if self.decision not in ("takedown", "review", "pass"):
            raise ValueError(f"decision must be takedown, review or pass; got {self.decision!r}")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must be in [0, 1], got {self.confidence}")

    def to_dict(self) -> dict:
        return {
            "id": self.id, "decision": self.decision, "confidence": round(self.confidence, 4),
            "brand": self.brand, "signals": {k: round(v, 4) for k, v in self.signals.items()},
            "evidence": [e.to_dict() for e in self.evidence], "error": self.error,
            "model": self.model, "notes": list(self.notes), "photos": [p.to_dict() for p in self.photos],
            "seller_id": self.seller_id,
        }

    @classmethod
    def from_dict(cls, row: Any) -> "Result":
        """A results-file row (:meth:`to_dict`'s output) as a :class:`Result`.

        Reports and takedown packages can so be made from any past scan.

        Raises:
            ValueError: the row is not a result (missing or mistyped field, bad decision).
        """
        if not isinstance(row, dict):
            raise ValueError(f"a result must be a JSON object, got {type(row).__name__}")
        missing = [k for k in ("id", "decision", "confidence") if k not in row]
        if missing:
            raise ValueError(f"result row lacks {', '.join(missing)}")
        if not isinstance(row["id"], str) or isinstance(row["confidence"], bool) \
                or not isinstance(row["confidence"], (int, float)):
            raise ValueError("result id must be a string and confidence a number")
        photos = tuple(Photo(**{k: p.get(k) for k in ("path", "sha256", "phash")})
                       for p in row.get("photos") or () if isinstance(p, dict) and isinstance(p.get("path"), str))
        return cls(
            id=row["id"], decision=row["decision"], confidence=float(row["confidence"]), brand=row.get("brand"),
            signals={str(k): float(v) for k, v in (row.get("signals") or {}).items()},
            evidence=tuple(Evidence.from_dict(e) for e in row.get("evidence") or ()),
            error=row.get("error"), model=dict(row.get("model") or {}), notes=tuple(row.get("notes") or ()),
            photos=photos, seller_id=row["seller_id"] if isinstance(row.get("seller_id"), str) else None,
        )

    @classmethod
    def failed(cls, listing_id: str, error: str, model: dict | None = None) -> "Result":
        return cls(listing_id, "pass", 0.0, None, error=error, model=model or {})


def parse_line(line: str, n: int, base_dir: Path | None) -> Listing | tuple[str, str]:
    """One JSONL line (number ``n``) as a :class:`Listing`, or ``(row_id, error)``; a UTF-8 byte order
    mark before it is ignored (files concatenated from exports carry one per part)."""
    try:
        row = json.loads(line.lstrip("\ufeff"))
    except json.JSONDecodeError as exc:
        return f"row-{n}", f"line {n} is not valid JSON: {exc.msg}"
    except (ValueError, RecursionError, MemoryError) as exc:  # 5,000-digit numbers, 100,000 nested brackets
        return f"row-{n}", f"line {n} cannot be read: {_reason(exc)}"
    return parse_row_dict(row, n, base_dir)


def parse_row_dict(row: Any, n: int, base_dir: Path | None) -> Listing | tuple[str, str]:
    """One decoded row (number ``n``: its line, or its row in a CSV or Parquet file) as a :class:`Listing`,
    or ``(row_id, error)``."""
    try:
        return Listing.from_dict(row, base_dir=base_dir, row_number=n)
    except ListingError as exc:
        return f"row-{n}", f"line {n}: {exc}"
    except (ValueError, TypeError, RecursionError, OverflowError) as exc:  # anything else odd: this row only
        return f"row-{n}", f"line {n} cannot be read: {_reason(exc)}"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return f"{type(exc).__name__}: {str(exc)[:120]}"


def read_listings(path: str | Path) -> Iterator[Listing | tuple[str, str]]:
    """Yield a :class:`Listing` per row, or ``(row_id, error)`` for a row that cannot be parsed.

    Image paths are resolved relative to the file's folder.
    """
    path = Path(path)
    with path.open("r", encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, start=1):
            if line.strip():
                yield parse_line(line, n, path.parent)


def read_results(path: str | Path) -> Iterator[Result]:
    """The :class:`Result` of each row of a results file (JSONL, or Parquet by its extension), in file order.

    Raises:
        ValueError: a row is not a result; the message names its line.
    """
    if Path(path).suffix.lower() in (".parquet", ".pq"):
        from counterfeit_vision.scan.formats import read_parquet_results

        yield from read_parquet_results(Path(path))
        return
    with Path(path).open("r", encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                yield Result.from_dict(json.loads(line))
            except (ValueError, TypeError, RecursionError) as exc:
                raise ValueError(f"{path}: line {n} is not a result: {_reason(exc)}") from None
