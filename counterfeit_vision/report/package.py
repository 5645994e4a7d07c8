"""Takedown packages: what a rights holder needs to file or confirm a notice, for one brand.

``counterfeit-vision package RESULTS --brand ID --out DIR`` calls :func:`build_package`
on any past scan's results file. The folder holds

- ``index.html``: the brand's flagged listings (takedown and review) only, self-contained
  (crops and references as data URIs, no script at all, a Content-Security-Policy that
  forbids every outside source);
- ``evidence.json``: the same facts for machines (schema: :data:`SCHEMA`, README
  "Takedown packages");
- ``crops/``: each evidence region cut from the listing photo, and ``references/`` each
  matched catalogue image, as PNG;
- ``summary.csv``: one row per listing.

A package is a pure function of its inputs: built twice from the same results (and
photos) it is byte-identical. Its time is the results file's, never the clock's; PNGs
are written without metadata at a fixed compression level; nothing is random.

The folder is built beside ``DIR`` and renamed into place, so a reader sees the old
package or the new one. Photo paths in a results file come from strangers' listings:
with ``image_roots`` only photos inside those folders are read (the same refusal, in
the same words, whether or not the file exists), and reference paths are read only
from inside the catalogue.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import html
import io
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Mapping

from PIL import Image

from counterfeit_vision.catalog import Catalog
from counterfeit_vision.errors import UsageError
from counterfeit_vision.image.decode import ImageError, content_sha256, inside_roots, load_rgb
from counterfeit_vision.listing import Evidence, Listing, Result, read_listings, read_results
from counterfeit_vision.report.page import highlight_title, seller_network_html

__all__ = ["PACKAGE_FORMAT", "SCHEMA", "PackageSummary", "build_package", "read_sellers", "PACKAGE_DECISIONS"]

PACKAGE_FORMAT = 1
PACKAGE_DECISIONS = ("takedown", "review")   # what a rights holder is asked to act on or confirm
CROP_MAX_SIDE = 1024      # a crop's longer side at most (a whole-photo match is the photo, shrunk)
REF_MAX_SIDE = 512
PNG_LEVEL = 6             # fixed zlib level: the same pixels give the same bytes
MARKER = "counterfeit-vision-takedown-package"

# The evidence.json schema, as JSON Schema (draft 2020-12): tests validate packages against it.
SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "counterfeit-vision takedown package (evidence.json)",
    "type": "object",
    "required": ["format", "format_version", "brand", "time", "results_file", "models", "listings"],
    "properties": {
        "format": {"const": MARKER},
        "format_version": {"const": PACKAGE_FORMAT},
        "brand": {"type": "object", "required": ["id", "name"],
                  "properties": {"id": {"type": "string"}, "name": {"type": "string"}}},
        "time": {"type": "string", "description": "the results file's modification time (UTC, ISO 8601)"},
        "results_file": {"type": "object", "required": ["name", "sha256"],
                         "properties": {"name": {"type": "string"},
                                        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"}}},
        "models": {"type": "array", "items": {"type": "object"},
                   "description": "each distinct model/index version block of the listings, in order"},
        "listings": {"type": "array", "items": {
            "type": "object",
            "required": ["id", "decision", "confidence", "title", "title_spans", "photos", "evidence", "model",
                         "notes"],
            "properties": {
                "id": {"type": "string"},
                "decision": {"enum": list(PACKAGE_DECISIONS)},
                "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                "title": {"type": ["string", "null"]},
                "title_spans": {"type": "array", "items": {
                    "type": "object", "required": ["span", "text", "reasons", "detail"],
                    "properties": {"span": {"type": ["array", "null"], "items": {"type": "integer"}},
                                   "text": {"type": ["string", "null"]},
                                   "reasons": {"type": "array", "items": {"type": "string"}},
                                   "detail": {"type": "string"}}}},
                "photos": {"type": "array", "items": {
                    "type": "object", "required": ["index", "path", "sha256", "checked", "why"],
                    "properties": {"index": {"type": "integer"}, "path": {"type": "string"},
                                   "sha256": {"type": ["string", "null"]},
                                   "recorded_sha256": {"type": ["string", "null"]},
                                   "checked": {"type": "boolean"}, "why": {"type": ["string", "null"]}}}},
                "evidence": {"type": "array", "items": {
                    "type": "object", "required": ["kind", "score", "detail", "crop", "reference_file"],
                    "properties": {"kind": {"type": "string"}, "score": {"type": "number"},
                                   "detail": {"type": "string"},
                                   "box": {"type": "array", "items": {"type": "integer"}},
                                   "crop": {"type": ["string", "null"]},
                                   "crop_why": {"type": "string"},
                                   "reference": {"type": "string"},
                                   "reference_file": {"type": ["string", "null"]},
                                   "text": {"type": "string"}}}},
                "model": {"type": "object"},
                "notes": {"type": "array", "items": {"type": "string"}},
                "seller": {"type": ["object", "null"],
                           "description": "the seller's `counterfeit-vision sellers` row (risk, network, links), "
                                          "when the package was built with --sellers",
                           "properties": {"seller_id": {"type": "string"}, "risk": {"type": "number"},
                                          "network_id": {"type": ["string", "null"]},
                                          "reasons": {"type": "array", "items": {"type": "string"}},
                                          "links": {"type": "array", "items": {"type": "object"}}}},
            }}},
    },
}


@dataclass
class PackageSummary:
    """What :func:`build_package` wrote."""

    out: Path
    brand_id: str
    listings: int = 0
    crops: int = 0
    unchecked_photos: int = 0
    files: list[str] = field(default_factory=list)


@dataclass
class _PhotoFile:
    """One listing photo as the package saw it: read (with its pixels) or not, and why."""

    index: int
    path: str
    sha256: str | None = None
    recorded_sha256: str | None = None
    image: Image.Image | None = None
    why: str | None = None

    def to_dict(self) -> dict:
        return {"index": self.index, "path": self.path, "sha256": self.sha256,
                "recorded_sha256": self.recorded_sha256, "checked": self.image is not None, "why": self.why}


def build_package(results_path: str | Path, brand_id: str, out: str | Path, *, catalog: Catalog | None = None,
                  listings_path: str | Path | None = None, image_roots: Iterable[str | Path] = (),
                  sellers: Mapping[str, dict] | None = None) -> PackageSummary:
    """Write the takedown package of ``brand_id`` from a results file into the folder ``out``.

    Args:
        results_path: a scan's results JSONL (any past one: see :func:`read_results`).
        brand_id: the brand whose takedown and review listings go in.
        out: the package folder; replaced whole if it is an earlier package, refused if it is
            any other non-empty folder.
        catalog: resolves the brand's name and the matched reference images.
        listings_path: the listings JSONL that was scanned, for the full titles (results hold
            only the matched words) and the photos without evidence.
        image_roots: read listing photos only from inside these folders (none: anywhere).
        sellers: ``counterfeit-vision sellers`` rows by seller id: each listing then shows its
            seller's risk and network, with the links that make it (what a notice against a ring needs).

    Raises:
        UsageError: unreadable results, an ``out`` that is not a package folder.
    """
    results_path, out = Path(results_path), Path(out)
    results = _brand_results(results_path, brand_id)
    listings = _listings(listings_path)
    roots = tuple(Path(r).resolve() for r in image_roots)
    _check_out(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        summary = _write(tmp, results_path, brand_id, results, listings, catalog, roots, sellers or {})
        _swap_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    summary.out = out
    return summary


# ------------------------------------------------------------------ inputs
def _brand_results(path: Path, brand_id: str) -> list[Result]:
    try:
        rows = [r for r in read_results(path) if r.brand == brand_id and not r.error
                and r.decision in PACKAGE_DECISIONS]
    except OSError as exc:
        raise UsageError(f"cannot read results file {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    # the order a reviewer works in: takedowns, then reviews, most confident first
    return sorted(rows, key=lambda r: (PACKAGE_DECISIONS.index(r.decision), -r.confidence, r.id))


def read_sellers(path: str | Path) -> dict[str, dict]:
    """A ``counterfeit-vision sellers`` output file as rows by seller id.

    Raises:
        UsageError: the file cannot be read, or a line is not a seller row.
    """
    out: dict[str, dict] = {}
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for n, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except (ValueError, RecursionError):
                    row = None
                if not isinstance(row, dict) or not isinstance(row.get("seller_id"), str):
                    raise UsageError(f"{path}: line {n} is not a seller row (from `counterfeit-vision sellers`)")
                out[row["seller_id"]] = row
    except OSError as exc:
        raise UsageError(f"cannot read sellers file {path}: {exc.strerror or exc}") from None
    return out


def _listings(path: str | Path | None) -> dict[str, Listing]:
    if path is None:
        return {}
    try:
        return {x.id: x for x in read_listings(path) if isinstance(x, Listing)}
    except OSError as exc:
        raise UsageError(f"cannot read listings file {path}: {exc.strerror or exc}") from None


def _check_out(out: Path) -> None:
    """Only an earlier package (or an empty folder) is ever replaced: never a user's other files."""
    if not out.exists():
        return
    if not out.is_dir():
        raise UsageError(f"--out {out} exists and is not a folder")
    if any(out.iterdir()) and not _is_package(out / "evidence.json"):
        raise UsageError(f"--out {out} is a non-empty folder that is not a takedown package; choose another")


def _is_package(path: Path) -> bool:
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("format") == MARKER
    except (OSError, ValueError, AttributeError):
        return False


def _swap_into_place(tmp: Path, out: Path) -> None:
    """Rename the finished folder to ``out``; an earlier package is moved aside first, then removed."""
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
        os.replace(out, old / "package")
    os.replace(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# ------------------------------------------------------------------ writing
def _write(tmp: Path, results_path: Path, brand_id: str, results: list[Result], listings: dict[str, Listing],
           catalog: Catalog | None, roots: tuple[Path, ...], sellers: Mapping[str, dict]) -> PackageSummary:
    summary = PackageSummary(tmp, brand_id)
    (tmp / "crops").mkdir()
    (tmp / "references").mkdir()
    refs = _References(tmp, catalog)
    entries, cards = [], []
    for r in results:
        listing = listings.get(r.id)
        photos = _read_photos(r, listing, roots)
        evidence = [_evidence_entry(tmp, r, n, ev, photos, refs) for n, ev in enumerate(r.evidence)]
        entry = {
            "id": r.id, "decision": r.decision, "confidence": round(r.confidence, 4),
            "title": listing.title if listing else None,
            "title_spans": [{"span": list(ev.span) if ev.span else None, "text": ev.text,
                             "reasons": list(ev.reasons), "detail": ev.detail}
                            for ev in r.evidence if ev.kind == "title"],
            "photos": [p.to_dict() for p in photos], "evidence": evidence,
            "model": r.model, "notes": list(r.notes),
            "seller": sellers.get(r.seller_id or (listing.seller_id if listing else None) or ""),
        }
        entries.append(entry)
        cards.append(_card(tmp, r, listing, entry))
        summary.crops += sum(1 for e in evidence if e["crop"])
        summary.unchecked_photos += sum(1 for p in photos if p.image is None)
    summary.listings = len(entries)
    brand_name = catalog[brand_id].name if catalog is not None and brand_id in catalog else brand_id
    doc = {
        "format": MARKER, "format_version": PACKAGE_FORMAT, "brand": {"id": brand_id, "name": brand_name},
        "time": _file_time(results_path),
        "results_file": {"name": results_path.name, "sha256": content_sha256(results_path) or ""},
        "models": _distinct(r.model for r in results), "listings": entries,
    }
    _write_text(tmp / "evidence.json", json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=True) + "\n")
    _write_text(tmp / "summary.csv", _csv(entries))
    _write_text(tmp / "index.html", _page(doc, cards))
    summary.files = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.is_file())
    return summary


def _file_time(path: Path) -> str:
    """The results file's time: a rebuild from the same file says the same (never the clock)."""
    mtime = int(path.stat().st_mtime)
    return datetime.fromtimestamp(mtime, timezone.utc).isoformat().replace("+00:00", "Z")


def _distinct(models: Iterable[dict]) -> list[dict]:
    seen: list[dict] = []
    for m in models:
        if m and m not in seen:
            seen.append(m)
    return seen


def _write_text(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8", errors="replace", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def _write_png(path: Path, img: Image.Image) -> None:
    buf = io.BytesIO()
    img.save(buf, "PNG", compress_level=PNG_LEVEL)   # Pillow writes no time or text chunks unless asked
    path.write_bytes(buf.getvalue())


def _slug(listing_id: str) -> str:
    """A file-name-safe, collision-free name for a stranger's listing id."""
    safe = re.sub(r"[^A-Za-z0-9_-]+", "_", listing_id)[:40].strip("_") or "listing"
    return f"{safe}-{hashlib.sha256(listing_id.encode('utf-8', 'replace')).hexdigest()[:8]}"


# ------------------------------------------------------------------ photos and crops
def _real(path: str) -> str:
    """The path's name with links and ``..`` resolved (no file is opened): two spellings of one photo agree."""
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):
        return path


def _photo_paths(r: Result, listing: Listing | None) -> list[str]:
    """The listing's photos in order: the listing file's, else the result's, else those evidence names."""
    paths: list[str] = list(listing.images) if listing else [p.path for p in r.photos]
    known = {_real(p) for p in paths}
    for ev in r.evidence:
        if ev.image and _real(ev.image) not in known:
            paths.append(ev.image)
            known.add(_real(ev.image))
    return paths


def _read_photos(r: Result, listing: Listing | None, roots: tuple[Path, ...]) -> list[_PhotoFile]:
    recorded = {_real(p.path): p.sha256 for p in r.photos}
    out = []
    for i, path in enumerate(_photo_paths(r, listing)):
        photo = _PhotoFile(i, path, recorded_sha256=recorded.get(_real(path)))
        if roots and not inside_roots(path, roots):
            photo.why = "outside the allowed image folders; not read"
        else:
            photo.sha256 = content_sha256(path)
            try:
                photo.image = load_rgb(path)
            except ImageError as exc:
                photo.why = str(exc)
            if photo.image is not None and photo.recorded_sha256 and photo.sha256 != photo.recorded_sha256:
                photo.image, photo.why = None, "the file changed since the scan (SHA-256 differs); not used"
        out.append(photo)
    return out


def _photo_for(ev: Evidence, photos: list[_PhotoFile]) -> _PhotoFile | None:
    if ev.image is not None:
        return next((p for p in photos if p.path == ev.image or _real(p.path) == _real(ev.image)), None)
    if ev.image_index is not None and 0 <= ev.image_index < len(photos):
        return photos[ev.image_index]
    return None


def _evidence_entry(tmp: Path, r: Result, n: int, ev: Evidence, photos: list[_PhotoFile],
                    refs: "_References") -> dict:
    entry = ev.to_dict() | {"crop": None, "reference_file": refs.file_for(ev.reference)}
    if ev.kind not in ("logo", "photo", "ocr_text"):
        return entry
    photo = _photo_for(ev, photos)
    if photo is None or photo.image is None:
        entry["crop_why"] = photo.why if photo is not None else "the photo is not among the listing's photos"
        return entry
    crop = _crop(photo.image, ev.box)
    if crop is None:
        entry["crop_why"] = "the box lies outside the photo"
        return entry
    name = f"crops/{_slug(r.id)}-{n:02d}-{ev.kind}.png"
    _write_png(tmp / name, crop)
    entry["crop"] = name
    return entry


def _crop(img: Image.Image, box) -> Image.Image | None:
    """The evidence region (the whole photo for a whole-photo match), at most CROP_MAX_SIDE."""
    if box is None:
        region = img.copy()
    else:
        x1, y1, x2, y2 = (int(v) for v in box)
        x1, x2 = sorted((max(0, min(x1, img.width)), max(0, min(x2, img.width))))
        y1, y2 = sorted((max(0, min(y1, img.height)), max(0, min(y2, img.height))))
        if x2 <= x1 or y2 <= y1:
            return None
        region = img.crop((x1, y1, x2, y2))
    region.thumbnail((CROP_MAX_SIDE, CROP_MAX_SIDE), Image.Resampling.LANCZOS)
    return region


class _References:
    """Matched catalogue images, each written once as a PNG; read only from inside the catalogue."""

    def __init__(self, tmp: Path, catalog: Catalog | None):
        self.tmp = tmp
        self.root = Path(catalog.root).resolve() if catalog is not None and catalog.root is not None else None
        self.files: dict[str, str | None] = {}

    def file_for(self, reference: str | None) -> str | None:
        if reference is None or self.root is None:
            return None
        if reference not in self.files:
            self.files[reference] = self._write(reference)
        return self.files[reference]

    def _write(self, reference: str) -> str | None:
        path = self.root / reference
        if not inside_roots(path, (self.root,)):
            return None
        try:
            img = load_rgb(path)
        except ImageError:
            return None
        img.thumbnail((REF_MAX_SIDE, REF_MAX_SIDE), Image.Resampling.LANCZOS)
        name = f"references/{_slug(reference)}.png"
        _write_png(self.tmp / name, img)
        return name


# ------------------------------------------------------------------ summary.csv
CSV_FIELDS = ("listing_id", "decision", "confidence", "title", "evidence", "top_evidence", "photos_sha256",
              "unchecked_photos", "crops")


def _cell(value: Any) -> str:
    """A CSV cell a spreadsheet will not run: text starting with = + - @ (or a tab/CR) is quoted with '."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv(entries: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_FIELDS)
    for e in entries:
        top = e["evidence"][0]["detail"] if e["evidence"] else ""
        w.writerow([_cell(v) for v in (
            e["id"], e["decision"], f"{e['confidence']:.4f}", e["title"], len(e["evidence"]), top,
            ";".join(p["sha256"] or "" for p in e["photos"]), sum(1 for p in e["photos"] if not p["checked"]),
            ";".join(x["crop"] for x in e["evidence"] if x["crop"]))])
    return buf.getvalue()


# ------------------------------------------------------------------ index.html
def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _data_uri(tmp: Path, name: str | None) -> str | None:
    if name is None:
        return None
    return "data:image/png;base64," + base64.b64encode((tmp / name).read_bytes()).decode("ascii")


def _card(tmp: Path, r: Result, listing: Listing | None, entry: dict) -> str:
    title = (highlight_title(listing.title, r.evidence) if listing
             else " · ".join(f"<mark>{_e(s['text'])}</mark>" for s in entry["title_spans"] if s["text"])
             or '<span class="muted">title not available</span>')
    parts = [f'<article class="card" id="listing-{_e(_slug(r.id))}" data-id="{_e(r.id)}" '
             f'data-decision="{_e(r.decision)}">',
             f'<header class="card-head"><span class="badge badge-{_e(r.decision)}">{_e(r.decision)}</span>'
             f'<span class="conf">confidence <b>{r.confidence:.2f}</b></span>'
             f'<span class="lid">listing <code>{_e(r.id)}</code></span></header>',
             f'<p class="title">{title}</p>', '<table class="pkg-evidence"><thead><tr><th>kind</th><th>score</th>'
             '<th>what was established</th><th>region in the listing photo</th><th>matched reference</th>'
             '</tr></thead><tbody>']
    for ev in entry["evidence"]:
        crop, ref = _data_uri(tmp, ev["crop"]), _data_uri(tmp, ev["reference_file"])
        crop_html = (f'<img class="crop" src="{crop}" alt="evidence region">' if crop
                     else f'<span class="muted">{_e(ev.get("crop_why", ""))}</span>')
        ref_html = (f'<img class="ref-img" src="{ref}" alt="reference"><br><code>{_e(ev.get("reference"))}</code>'
                    if ref else (f'<code>{_e(ev.get("reference"))}</code>' if ev.get("reference") else ""))
        text = f'<br><small>“{_e(ev["text"])}”</small>' if ev.get("text") else ""
        parts.append(f'<tr class="ev ev-{_e(ev["kind"])}"><td>{_e(ev["kind"])}</td><td>{ev["score"]:.2f}</td>'
                     f'<td>{_e(ev["detail"])}{text}</td><td>{crop_html}</td><td>{ref_html}</td></tr>')
    parts.append('</tbody></table><table class="pkg-photos"><thead><tr><th>photo</th><th>SHA-256</th>'
                 '<th>checked</th></tr></thead><tbody>')
    for p in entry["photos"]:
        checked = "yes" if p["checked"] else f'no: {_e(p["why"])}'
        parts.append(f'<tr class="{"checked" if p["checked"] else "unchecked"}"><td><code>{_e(p["path"])}</code>'
                     f'</td><td><code>{_e(p["sha256"] or "not read")}</code></td><td>{checked}</td></tr>')
    parts.append("</tbody></table>")
    if entry["seller"]:
        parts.append(seller_network_html(entry["seller"]))
    if entry["notes"]:
        parts.append("<ul class=\"notes\">" + "".join(f"<li>{_e(n)}</li>" for n in entry["notes"]) + "</ul>")
    parts.append("</article>")
    return "\n".join(parts)


def _page(doc: dict, cards: list[str]) -> str:
    css = resources.files("counterfeit_vision.report").joinpath("static", "report.css").read_text(encoding="utf-8")
    csp = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
    brand = doc["brand"]
    body = "\n".join(cards) if cards else '<p class="empty">No takedown or review listings for this brand.</p>'
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{csp}">\n'
            f'<title>Takedown package: {_e(brand["name"])}</title>\n<style>{css}\n'
            '.pkg-evidence,.pkg-photos{border-collapse:collapse;margin:8px 0;width:100%}'
            '.pkg-evidence td,.pkg-photos td,.pkg-evidence th,.pkg-photos th{border-top:1px solid #e3e5e8;'
            'padding:4px 6px;text-align:left;vertical-align:top}img.crop{max-width:240px;max-height:240px;'
            'image-rendering:auto;border:2px solid #e53935}img.ref-img{max-width:160px;max-height:160px}'
            'tr.unchecked td{color:#6a1b9a}</style>\n</head>\n<body>\n'
            f'<header class="page-head"><h1>Takedown package: {_e(brand["name"])} (<code>{_e(brand["id"])}</code>)'
            f'</h1><p class="meta">{len(doc["listings"])} listing(s) from <code>{_e(doc["results_file"]["name"])}'
            f'</code> (SHA-256 <code>{_e(doc["results_file"]["sha256"])}</code>), results of {_e(doc["time"])}</p>'
            '<p class="meta">Machine-readable: <code>evidence.json</code> · summary: <code>summary.csv</code></p>'
            f'</header>\n<main id="cards">\n{body}\n</main>\n</body>\n</html>\n')
