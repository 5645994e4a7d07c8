"""The evidence page: one self-contained HTML file a reviewer can work from.

``scan --report report.html`` calls :func:`write_report`. The page shows, per
flagged listing: its photos (base64 JPEG thumbnails) with boxes drawn on matched
logos and OCR text, the matched reference image beside each photo, the title
with the misused words in ``<mark>``, the evidence, the signal contributions,
the decision and the confidence. Listings can be filtered by brand and decision
and sorted by confidence, brand or decision with a little embedded JavaScript.

Nothing is loaded from outside the file: images are data URIs, the style and
script are inline, and a Content-Security-Policy forbids any other source (and
any script without the page's nonce, as a second line behind HTML escaping:
titles, OCR text and ids come from strangers).

Unreadable photos (missing, corrupt, decompression bombs) become a placeholder
with the reason; they never break the page.
"""

from __future__ import annotations

import base64
import functools
import html
import io
import json
import secrets
import string
from collections import Counter
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from PIL import Image

from counterfeit_vision._atomic import atomic_write
from counterfeit_vision.catalog import Catalog
from counterfeit_vision.image.decode import ImageError, inside_roots, load_rgb
from counterfeit_vision.listing import Evidence, Listing, Result

__all__ = ["write_report", "render_report", "render_card", "highlight_title", "seller_network_html",
           "unchecked_photos", "THUMB_SIDE", "PLAIN_SIDE", "REF_SIDE", "MAX_PHOTOS"]

THUMB_SIDE = 480        # long side of a listing photo thumbnail with evidence on it, pixels
PLAIN_SIDE = 240        # long side of a photo without evidence (keeps big reports smaller)
REF_SIDE = 200          # long side of a reference image thumbnail
ZOOM_SIDE = 200         # long side of a matched region, zoomed beside its reference
MAX_PHOTOS = 8          # photos shown per listing (those with evidence first)
JPEG_QUALITY = 80
DRAWN_KINDS = ("logo", "photo", "ocr_text")     # evidence kinds that point at a place in a photo
DECISION_ORDER = {"takedown": 0, "review": 1, "error": 2, "pass": 3}
KIND_COLOURS = {"logo": "#e53935", "photo": "#8e24aa", "ocr_text": "#1e88e5", "title": "#a07800",
                "price": "#00796b", "seller": "#546e7a", "store_name": "#6d4c41"}
KIND_LABELS = {"logo": "logo", "photo": "official photo", "ocr_text": "text", "title": "title",
               "price": "price", "seller": "seller", "store_name": "store name"}


def write_report(results: list[Result], path, *, catalog: Catalog | None = None,
                 listings: list[Listing] | None = None, include_passed: bool = False,
                 image_roots: Sequence[str | Path] = (), sellers: Mapping[str, dict] | None = None) -> Path:
    """Write the evidence page for ``results`` to ``path`` atomically; return the path.

    Args:
        results: scan results. Takedowns, reviews and results with an ``error``
            are always shown; passes only with ``include_passed``.
        path: the HTML file to write.
        catalog: resolves reference image paths (relative to ``catalog.root``)
            and brand ids to names.
        listings: give the titles (to highlight misused words) and the photos;
            matched to results by id.
        include_passed: also show listings that passed.
        image_roots: show listing photos only from inside these folders (``scan --image-root``);
            the others are shown as not read, with why.
        sellers: ``counterfeit-vision sellers`` rows by seller id: each card then shows its
            seller's risk, network and links.
    """
    path = Path(path)
    page = render_report(results, catalog=catalog, listings=listings, include_passed=include_passed,
                         image_roots=image_roots, sellers=sellers)
    with atomic_write(path, errors="replace") as f:  # valid UTF-8 whatever the titles hold
        f.write(page)
    return path


def render_report(results: Sequence[Result], *, catalog: Catalog | None = None,
                  listings: Iterable[Listing] | None = None, include_passed: bool = False,
                  image_roots: Sequence[str | Path] = (), sellers: Mapping[str, dict] | None = None) -> str:
    """The page as a string (see :func:`write_report`)."""
    by_id = {listing.id: listing for listing in (listings or ())}
    thumbs = _Thumbnails.confined(image_roots, catalog)
    # a pass whose photos could not be checked is shown too: it passed without its photos being seen
    shown = [r for r in results if include_passed or r.error or r.decision != "pass" or unchecked_photos(r)]
    shown.sort(key=lambda r: (DECISION_ORDER[_decision(r)], -r.confidence, r.id))
    sellers = sellers or {}
    cards = [_card(r, by_id.get(r.id), catalog, thumbs, sellers.get(r.seller_id or "")) for r in shown]
    return _page(results, shown, cards, catalog, include_passed)


# ---------------------------------------------------------------- thumbnails

def _jpeg_data_uri(img: Image.Image) -> str:
    """``img`` as an inline JPEG (the page embeds every photo and region it shows)."""
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")

class _Thumb:
    __slots__ = ("uri", "width", "height", "orig_width", "orig_height", "error")

    def __init__(self, uri=None, width=0, height=0, orig_width=0, orig_height=0, error=None):
        self.uri, self.width, self.height = uri, width, height
        self.orig_width, self.orig_height, self.error = orig_width, orig_height, error


class _Thumbnails:
    """Decode each image once per page, safely, into a base64 JPEG thumbnail.

    With ``roots``, listing photos outside those folders are not read (``--image-root``);
    ``trusted`` folders (the catalogue) are always read."""

    def __init__(self, roots: tuple[Path, ...] = (), trusted: tuple[Path, ...] = ()) -> None:
        self._cache: dict[tuple[str, int], _Thumb] = {}
        self._zooms: dict[tuple, _Thumb] = {}
        self.roots, self.trusted = roots, trusted

    @classmethod
    def confined(cls, image_roots: Sequence[str | Path], catalog: Catalog | None) -> "_Thumbnails":
        trusted = (Path(catalog.root).resolve(),) if catalog is not None and catalog.root is not None else ()
        return cls(tuple(Path(p).resolve() for p in image_roots), trusted)

    def _refused(self, path: str | Path) -> bool:
        return bool(self.roots) and not inside_roots(path, self.roots + self.trusted)

    def get(self, path: str | Path, side: int) -> _Thumb:
        key = (str(path), side)
        if key not in self._cache:
            if self._refused(path):
                self._cache[key] = _Thumb(error="outside the allowed image folders; not read")
            else:
                self._cache[key] = self._make(Path(path), side)
        return self._cache[key]

    def zoom(self, path: str | Path, box, side: int) -> _Thumb:
        """The region ``box`` (photo pixels) of a photo, scaled so its longer side is ``side``."""
        key = (str(path), tuple(box), side)
        if key not in self._zooms:
            self._zooms[key] = _Thumb(error="outside the allowed image folders; not read") if self._refused(path) \
                else self._make_zoom(Path(path), box, side)
        return self._zooms[key]

    @staticmethod
    def _make_zoom(path: Path, box, side: int) -> _Thumb:
        try:
            img = load_rgb(path)                     # boxes are in the file's (upright) pixels
            x1, y1, x2, y2 = (int(v) for v in box)
            x1, x2 = sorted((max(0, min(x1, img.width)), max(0, min(x2, img.width))))
            y1, y2 = sorted((max(0, min(y1, img.height)), max(0, min(y2, img.height))))
            if x2 <= x1 or y2 <= y1:
                return _Thumb(error="the box lies outside the photo")
            region = img.crop((x1, y1, x2, y2))
            scale = side / max(region.size)
            region = region.resize((max(1, round(region.width * scale)), max(1, round(region.height * scale))),
                                   Image.Resampling.LANCZOS)
            uri = _jpeg_data_uri(region)
        except ImageError as exc:
            return _Thumb(error=str(exc))
        except Exception as exc:  # anything else about one image stays with that image
            return _Thumb(error=f"cannot show the region: {type(exc).__name__}: {exc}")
        return _Thumb(uri, region.width, region.height, x2 - x1, y2 - y1)

    @staticmethod
    def _make(path: Path, side: int) -> _Thumb:
        try:
            img = load_rgb(path, draft_size=side)   # validates: missing, corrupt, bomb -> ImageError
            ow, oh = img.info["original_size"]       # the file's size (draft may have shrunk img)
            img.thumbnail((side, side), Image.Resampling.LANCZOS)
            uri = _jpeg_data_uri(img)
        except ImageError as exc:
            return _Thumb(error=str(exc))
        except Exception as exc:  # anything else about one image stays with that image
            return _Thumb(error=f"cannot show image {path.name}: {type(exc).__name__}: {exc}")
        return _Thumb(uri, img.width, img.height, ow, oh)


def render_card(r: Result, listing: Listing | None = None, *, catalog: Catalog | None = None,
                image_roots: Sequence[str | Path] = ()) -> str:
    """One listing's evidence card as an HTML fragment (the review app shows it beside its buttons).

    With ``image_roots``, listing photos outside those folders are shown as not read, with why."""
    return _card(r, listing, catalog, _Thumbnails.confined(image_roots, catalog))


def unchecked_photos(r: Result) -> list[str]:
    """The result's notes saying a photo was not looked at (missing, unreadable, outside the image roots)."""
    return [n for n in r.notes if n.startswith("image") and " ignored" in n]


# ---------------------------------------------------------------- one listing
def _decision(r: Result) -> str:
    return "error" if r.error else r.decision


def _e(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _brand_name(brand_id: str | None, catalog: Catalog | None) -> str:
    if not brand_id:
        return ""
    if catalog is not None and brand_id in catalog:
        return catalog[brand_id].name
    return brand_id


def _card(r: Result, listing: Listing | None, catalog: Catalog | None, thumbs: _Thumbnails,
          seller: dict | None = None) -> str:
    decision = _decision(r)
    brand = r.brand or ""
    title = listing.title if listing else ""
    parts = [
        f'<article class="card" id="listing-{_e(r.id)}" data-id="{_e(r.id)}" data-brand="{_e(brand)}" '
        f'data-decision="{decision}" data-confidence="{r.confidence:.6f}">',
        '<header class="card-head">',
        f'<span class="badge badge-{decision}">{_e(decision)}</span>',
        f'<span class="conf" title="calibrated probability the brand use is illegitimate">'
        f'confidence <b>{r.confidence:.2f}</b></span>',
        f'<span class="brand">{_e(_brand_name(r.brand, catalog)) or "<i>no brand</i>"}</span>',
        f'<span class="lid">listing <code>{_e(r.id)}</code></span>',
        '</header>',
    ]
    if r.error:
        parts.append(f'<p class="error">error: {_e(r.error)}</p>')
    unchecked = unchecked_photos(r)
    if unchecked:
        parts.append('<p class="unchecked"><b>photo(s) not checked:</b> ' + "; ".join(_e(n) for n in unchecked)
                     + "</p>")
    parts.append(f'<p class="title">{highlight_title(title, r.evidence) if listing else _no_title(r)}</p>')
    if listing is not None:
        facts = [f"{listing.price:g} {_e(listing.currency or '')}" if listing.price is not None else None,
                 f"seller <code>{_e(listing.seller_id)}</code>" if listing.seller_id else None,
                 f"category {_e(listing.category)}" if listing.category else None]
        facts = [f for f in facts if f]
        if facts:
            parts.append(f'<p class="facts">{" · ".join(facts)}</p>')
    parts.append('<div class="body">')
    parts.append(_photos(r, listing, catalog, thumbs))
    parts.append('<div class="side">')
    parts.append(_contributions(r))
    parts.append(_evidence_table(r))
    if seller is not None:
        parts.append(seller_network_html(seller))
    parts.append('</div></div>')
    notes = list(r.notes)
    if notes:
        parts.append('<details class="notes"><summary>notes (' + str(len(notes)) + ')</summary><ul>'
                     + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul></details>")
    parts.append("</article>")
    return "\n".join(parts)


def _no_title(r: Result) -> str:
    words = [e.text for e in r.evidence if e.kind == "title" and e.text]
    if words:
        return '<span class="muted">title not available; matched words: </span>' + ", ".join(
            f"<mark>{_e(w)}</mark>" for w in words)
    return '<span class="muted">title not available</span>'


def highlight_title(title: str, evidence: Sequence[Evidence]) -> str:
    """The title, escaped, with ``<mark>`` around every title-evidence span: each misuse span (evasive
    spelling, indicator, look-alike phrase) with its reason in a ``<sup>`` beside it."""
    if not title:
        return '<span class="muted">(no title)</span>'
    spans: list[tuple[int, int, str]] = []
    for ev in evidence:
        if ev.kind != "title" or not ev.span:
            continue
        try:
            a, b = int(ev.span[0]), int(ev.span[1])
        except (TypeError, ValueError, IndexError):
            continue
        a, b = max(0, a), min(len(title), b)
        if a < b:
            # a misuse mark says its reason in its detail ("title: counterfeit indicator 'aaa'")
            why = ev.detail.removeprefix("title: ") if ev.detail.startswith("title: ") else (
                "; ".join(ev.reasons) or ev.detail)
            spans.append((a, b, why if ev.score > 0 or ev.reasons else ""))
    spans.sort()
    merged: list[list] = []
    for a, b, why in spans:
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
            if why and why not in merged[-1][2]:
                merged[-1][2] = f"{merged[-1][2]}; {why}" if merged[-1][2] else why
        else:
            merged.append([a, b, why])
    out, pos = [], 0
    for a, b, why in merged:
        out.append(_e(title[pos:a]))
        if why:  # a misuse span, with its reason beside it
            out.append(f'<mark title="{_e(why)}" class="misuse">{_e(title[a:b])}</mark>'
                       f'<sup class="why">{_e(why)}</sup>')
        else:    # the brand named, legitimately
            out.append(f'<mark title="brand named" class="brand">{_e(title[a:b])}</mark>')
        pos = b
    out.append(_e(title[pos:]))
    return "".join(out)


def _same_path(a: str, b: str) -> bool:
    if a == b:
        return True
    try:
        return Path(a).resolve() == Path(b).resolve()
    except (OSError, RuntimeError):
        return False


def _photo_evidence(r: Result, listing: Listing | None) -> list[tuple[str, list[Evidence]]]:
    """(photo path, evidence drawn on it) in display order: photos with evidence first."""
    photos: list[tuple[str, list[Evidence]]] = [(p, []) for p in (listing.images if listing else ())]
    for ev in r.evidence:
        if ev.kind not in DRAWN_KINDS or (ev.image is None and ev.image_index is None):
            continue
        slot = None
        if ev.image is not None:
            slot = next((ps for ps in photos if _same_path(ps[0], ev.image)), None)
        if slot is None and ev.image_index is not None and ev.image is None and 0 <= ev.image_index < len(photos):
            slot = photos[ev.image_index]
        if slot is None and ev.image is not None:
            slot = (ev.image, [])
            photos.append(slot)
        if slot is not None:
            slot[1].append(ev)
    return sorted(photos, key=lambda ps: not ps[1])   # stable: listing order within each group


def _photos(r: Result, listing: Listing | None, catalog: Catalog | None, thumbs: _Thumbnails) -> str:
    photos = _photo_evidence(r, listing)
    if not photos:
        return '<div class="photos"><p class="muted">no photos</p></div>'
    out = ['<div class="photos">']
    for path, evs in photos[:MAX_PHOTOS]:
        out.append(_figure(path, evs, catalog, thumbs))
    if len(photos) > MAX_PHOTOS:
        out.append(f'<p class="muted">{len(photos) - MAX_PHOTOS} more photo(s) without evidence not shown</p>')
    out.append("</div>")
    return "\n".join(out)


def _figure(path: str, evs: list[Evidence], catalog: Catalog | None, thumbs: _Thumbnails) -> str:
    t = thumbs.get(path, THUMB_SIDE if evs else PLAIN_SIDE)
    name = Path(path).name
    out = ['<div class="photo-row">']
    if t.error:
        out.append(f'<figure class="photo"><div class="placeholder" role="img" aria-label="unreadable photo">'
                   f'<b>photo not shown</b><br>{_e(t.error)}</div>'
                   f'<figcaption>{_e(name)}</figcaption></figure>')
    else:
        out.append(f'<figure class="photo"><div class="frame" style="width:{t.width}px;height:{t.height}px">'
                   f'<img class="thumb" src="{t.uri}" width="{t.width}" height="{t.height}" alt="{_e(name)}">')
        for ev in evs:
            out.append(_box(ev, t))
        out.append(f'</div><figcaption>{_e(name)} ({t.orig_width}×{t.orig_height})</figcaption></figure>')
    shown = [ev for ev in evs if ev.box is not None or (ev.kind in ("logo", "photo") and ev.reference)]
    if shown:
        out.append('<div class="refs">')
        seen = set()
        for ev in shown:
            # each matched region zoomed, beside the reference it matched
            pair = [_zoomed(path, ev, thumbs)] if ev.box is not None and not t.error else []
            if ev.kind in ("logo", "photo") and ev.reference and ev.reference not in seen:
                seen.add(ev.reference)
                pair.append(_reference(ev, catalog, thumbs))
            if pair:
                out.append('<div class="pair">' + "".join(pair) + "</div>")
        out.append("</div>")
    out.append("</div>")
    return "\n".join(out)


def _zoomed(path: str, ev: Evidence, thumbs: _Thumbnails) -> str:
    z = thumbs.zoom(path, ev.box, ZOOM_SIDE)
    label = _e(KIND_LABELS.get(ev.kind, ev.kind))
    if z.error:
        return f'<figure class="zoom"><div class="placeholder small">region not shown: {_e(z.error)}</div></figure>'
    return (f'<figure class="zoom"><img class="zoom-img" src="{z.uri}" width="{z.width}" height="{z.height}" '
            f'alt="zoomed {label} region"><figcaption>{label} region, zoomed ({z.orig_width}×{z.orig_height} px)'
            f'</figcaption></figure>')


def _box(ev: Evidence, t: _Thumb) -> str:
    """An absolutely positioned div over the thumbnail, in thumbnail pixels."""
    sx, sy = t.width / t.orig_width, t.height / t.orig_height
    if ev.box is not None:
        try:
            x1, y1, x2, y2 = (float(v) for v in ev.box)
        except (TypeError, ValueError):
            return ""
        x1, x2 = sorted((min(max(x1, 0), t.orig_width), min(max(x2, 0), t.orig_width)))
        y1, y2 = sorted((min(max(y1, 0), t.orig_height), min(max(y2, 0), t.orig_height)))
        if x2 <= x1 or y2 <= y1:
            return ""
        whole = ""
    else:  # a whole-photo match: outline the whole photo
        x1, y1, x2, y2 = 0.0, 0.0, float(t.orig_width), float(t.orig_height)
        whole = " whole"
    left, top = round(x1 * sx), round(y1 * sy)
    width, height = max(2, round((x2 - x1) * sx)), max(2, round((y2 - y1) * sy))
    colour = KIND_COLOURS.get(ev.kind, "#ff9800")
    label = KIND_LABELS.get(ev.kind, ev.kind)
    if ev.kind == "ocr_text" and ev.text:
        label = f"text “{_clip(ev.text, 40)}”"
    elif ev.similarity is not None:
        label = f"{label} {ev.similarity:.2f}"
    orig = ",".join(str(int(round(v))) for v in (x1, y1, x2, y2))
    inside = " label-in" if top < 18 and not whole else ""   # no room above: label inside the box
    return (f'<div class="box box-{_e(ev.kind)}{whole}{inside}" data-kind="{_e(ev.kind)}" data-box="{orig}" '
            f'data-thumb-box="{left},{top},{left + width},{top + height}" title="{_e(ev.detail)}" '
            f'style="left:{left}px;top:{top}px;width:{width}px;height:{height}px;border-color:{colour}">'
            f'<span class="box-label" style="background:{colour}">{_e(label)}</span></div>')


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _reference(ev: Evidence, catalog: Catalog | None, thumbs: _Thumbnails) -> str:
    ref = Path(ev.reference)
    if not ref.is_absolute() and catalog is not None and catalog.root is not None:
        ref = Path(catalog.root) / ref
    sim = f"similarity {ev.similarity:.3f}" if ev.similarity is not None else ""
    cap = (f'<figcaption>matched {_e(KIND_LABELS.get(ev.kind, ev.kind))} reference<br>'
           f'<code>{_e(ev.reference)}</code><br>{sim}</figcaption>')
    if not ref.is_absolute() and (catalog is None or catalog.root is None) and not ref.exists():
        return (f'<figure class="ref"><div class="placeholder small">reference not shown: '
                f'no catalogue given to resolve it</div>{cap}</figure>')
    t = thumbs.get(ref, REF_SIDE)
    if t.error:
        return (f'<figure class="ref"><div class="placeholder small">reference not shown: {_e(t.error)}</div>'
                f'{cap}</figure>')
    return (f'<figure class="ref"><img class="ref-img" src="{t.uri}" width="{t.width}" height="{t.height}" '
            f'alt="reference {_e(ref.name)}">{cap}</figure>')


def _contributions(r: Result) -> str:
    contrib = sorted(((k.split(".", 1)[1], v) for k, v in r.signals.items() if k.startswith("contribution.")),
                     key=lambda kv: -kv[1])
    out = ['<section class="contrib"><h4>why: contributions to the confidence</h4>']
    if contrib:
        out.append('<ul class="bars">')
        for cue, v in contrib:
            pct = max(0.0, min(1.0, float(v))) * 100
            out.append(f'<li data-cue="{_e(cue)}"><span class="cue">{_e(cue)}</span>'
                       f'<span class="track"><span class="bar" style="width:{pct:.1f}%"></span></span>'
                       f'<span class="val">{v:.3f}</span></li>')
        out.append("</ul>")
    else:
        out.append('<p class="muted">no contributions recorded</p>')
    cues = [(k, v) for k, v in r.signals.items() if not k.startswith("contribution.")]
    if cues:
        out.append('<details><summary>all signals</summary><table class="signals">'
                   + "".join(f"<tr><td>{_e(k)}</td><td>{v:.3f}</td></tr>" for k, v in cues)
                   + "</table></details>")
    out.append("</section>")
    return "\n".join(out)


def _evidence_table(r: Result) -> str:
    if not r.evidence:
        return '<section class="evidence"><h4>evidence</h4><p class="muted">none</p></section>'
    rows = []
    for ev in r.evidence:
        colour = KIND_COLOURS.get(ev.kind, "#757575")
        where = []
        if ev.image_index is not None:
            where.append(f"photo {ev.image_index}")
        if ev.text and ev.kind in ("ocr_text", "title"):
            where.append(f"“{_e(_clip(ev.text, 60))}”")
        rows.append(f'<tr class="ev ev-{_e(ev.kind)}"><td><span class="kind" style="background:{colour}">'
                    f'{_e(KIND_LABELS.get(ev.kind, ev.kind))}</span></td><td>{ev.score:.2f}</td>'
                    f'<td>{_e(ev.detail)}{"<br><small>" + " · ".join(where) + "</small>" if where else ""}</td></tr>')
    return ('<section class="evidence"><h4>evidence</h4><table><thead><tr><th>kind</th><th>score</th>'
            '<th>detail</th></tr></thead><tbody>' + "".join(rows) + "</tbody></table></section>")


def seller_network_html(row: dict) -> str:
    """The seller's risk, reasons and network links (a ``sellers.jsonl`` row)."""
    nid = row.get("network_id")
    head = (f'<h4>seller <code>{_e(row.get("seller_id"))}</code>: risk {float(row.get("risk", 0)):.2f}'
            + (f' · network <code class="network">{_e(nid)}</code>' if nid else "") + "</h4>")
    reasons = "".join(f"<li>{_e(x)}</li>" for x in row.get("reasons") or ())
    links = "".join(f'<tr><td><code>{_e(lk.get("seller_id"))}</code></td><td>{_e(lk.get("kind"))}</td>'
                    f'<td>{_e(_clip(str(lk.get("evidence", "")), 160))}</td></tr>' for lk in row.get("links") or ())
    return (f'<section class="seller-network" data-network="{_e(nid or "")}">{head}'
            + (f"<ul>{reasons}</ul>" if reasons else "")
            + ("<table><thead><tr><th>linked seller</th><th>link</th><th>evidence</th></tr></thead>"
               f"<tbody>{links}</tbody></table>" if links else "") + "</section>")


# ---------------------------------------------------------------- the page
def _models(results: Sequence[Result]) -> list[dict]:
    seen: list[dict] = []
    for r in results:
        if r.model and r.model not in seen:
            seen.append(r.model)
    return seen


def _page(results: Sequence[Result], shown: Sequence[Result], cards: list[str],
          catalog: Catalog | None, include_passed: bool) -> str:
    nonce = secrets.token_urlsafe(16)
    counts = Counter(_decision(r) for r in results)
    brands = sorted({r.brand for r in shown if r.brand})
    decisions = sorted({_decision(r) for r in shown}, key=lambda d: DECISION_ORDER[d])
    brand_opts = "".join(f'<option value="{_e(b)}">{_e(_brand_name(b, catalog))}</option>' for b in brands)
    if any(not r.brand for r in shown):
        brand_opts += '<option value="">(no brand)</option>'
    decision_opts = "".join(f'<option value="{d}">{d} ({sum(1 for r in shown if _decision(r) == d)})</option>'
                            for d in decisions)
    models = _models(results)
    model_html = "; ".join(", ".join(f"{_e(k)}: <code>{_e(json.dumps(v) if isinstance(v, (dict, list)) else v)}</code>"
                                     for k, v in m.items()) for m in models) or "not recorded"
    summary = " · ".join(f'<span class="badge badge-{d}">{d}</span> {counts[d]}'
                         for d in sorted(counts, key=lambda d: DECISION_ORDER[d]))
    hidden = len(results) - len(shown)
    hidden_note = (f'<p class="muted">{hidden} passed listing(s) not shown (write the report with '
                   f'include_passed to see them).</p>' if hidden and not include_passed else "")
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    body = "\n".join(cards) if cards else '<p class="empty">No flagged listings.</p>'
    csp = (f"default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'nonce-{nonce}'; "
           "base-uri 'none'; form-action 'none'")
    return _template("page.html").substitute(
        csp=csp, css=_static("report.css"), js=_static("report.js"), nonce=nonce, n_results=len(results),
        summary=summary, generated=generated, model_html=model_html, hidden_note=hidden_note, brand_opts=brand_opts,
        decision_opts=decision_opts, n_shown=len(shown), colour_logo=KIND_COLOURS["logo"],
        colour_photo=KIND_COLOURS["photo"], colour_ocr=KIND_COLOURS["ocr_text"], body=body)


@functools.lru_cache(maxsize=None)
def _static(name: str) -> str:
    """A file of the page (its template, CSS, script), shipped in ``report/static``."""
    return resources.files("counterfeit_vision.report").joinpath("static", name).read_text(encoding="utf-8")


def _template(name: str) -> string.Template:
    # ``$name`` placeholders: the page's CSS and script hold braces, which str.format would misread
    return string.Template(_static(name))
