"""From raw model outputs of one listing to per-brand cues and reviewer evidence."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from PIL import Image

from counterfeit_vision.catalog import Brand, Catalog
from counterfeit_vision.fusion.cues import BrandCues, price_cue
from counterfeit_vision.listing import Evidence, Listing, Photo
from counterfeit_vision.titles.matcher import REASON_WEIGHTS

if TYPE_CHECKING:
    from counterfeit_vision.fusion.operating_points import OperatingPoints
    from counterfeit_vision.image.photo_brands import PhotoBrands

__all__ = ["CLAIMS", "ListingInputs", "build_cues", "build_evidence", "image_claim", "image_score"]

# What an image evidence item establishes, strongest first. "verified_logo" and "copied_photo" are
# made only when the keypoint check passed; otherwise the item says it is a resemblance.
CLAIMS = ("verified_logo", "logo_like", "copied_photo", "similar_photo")


@dataclass
class ListingInputs:
    """Everything the models said about one listing, gathered before fusion."""

    listing: Listing
    photos: list[tuple[str, Image.Image]] = field(default_factory=list)   # (path, decoded photo)
    seen: list[PhotoBrands] = field(default_factory=list)                 # per photo: hits, reads, sightings
    title_findings: list = field(default_factory=list)                    # TitleFinding
    # (brand_id, start, end, reason code, why): every misuse span of the title (TitleMatcher.misuse_marks)
    title_marks: list[tuple[str, int, int, str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    identities: dict[int, Photo] = field(default_factory=dict)  # image number -> content hash and pHash
    storefront_findings: list = field(default_factory=list)  # sellers.storefront.StorefrontFinding
    # brands this listing's seller spells right in its other titles (of the same batch)
    spelt_right: frozenset[str] = frozenset()

    @property
    def ocr_findings(self) -> list[tuple]:
        """Every text box read in the listing's photos, with the title matcher's findings on it."""
        return [read for p in self.seen for read in p.reads]


def image_score(hit) -> float:
    """Evidence strength of an image hit in [0, 1] (the image matcher calibrates it)."""
    return float(min(1.0, max(0.0, hit.score)))


def to_original_pixels(box, photo: Image.Image):
    """Scale a box found on a (possibly draft-decoded) photo back to the file's pixels."""
    if box is None:
        return None
    ow, oh = photo.info.get("original_size", photo.size)
    sx, sy = ow / photo.width, oh / photo.height
    x1, y1, x2, y2 = box
    return (round(x1 * sx), round(y1 * sy), round(x2 * sx), round(y2 * sy))


def _product_line(brand: Brand, title: str) -> str | None:
    folded = title.casefold()
    return next((line for line in brand.product_lines if line.casefold() in folded), None)


def _visual_cues(inp: ListingInputs, points: OperatingPoints | None = None) -> dict[str, dict[str, float]]:
    """Per brand: best logo hit, best reused photo, brand name read, and how strongly photos show it.

    With ``points`` (the index's operating points) each score is first put on the fusion's scale."""
    def cue(kind: str, raw: float, brand_id: str) -> float:
        return raw if points is None else points.cue(kind, raw, brand_id)

    out: dict[str, dict[str, float]] = {}
    for photo in inp.seen:
        for hit in photo.hits:
            cues = out.setdefault(hit.brand_id, {})
            cues[hit.kind] = max(cues.get(hit.kind, 0.0), cue(hit.kind, image_score(hit), hit.brand_id))
        for s in photo.sightings:  # logo and name read combined (photo_brands.brands_in_photo)
            cues = out.setdefault(s.brand_id, {})
            text = cue("text", s.text, s.brand_id)
            cues["text"] = max(cues.get("text", 0.0), text)
            shown = s.score if points is None else 1.0 - (1.0 - cue("logo", s.logo, s.brand_id)) * (1.0 - text)
            cues["sighting"] = max(cues.get("sighting", 0.0), shown)
    return out


def _mention_cues(findings, cues: dict[str, dict[str, float]], prefix: str) -> None:
    """Mentions of each brand in text: as the maker (``named``) or as what a product fits."""
    for f in findings:
        c = cues.setdefault(f.brand_id, {})
        accessory = f.accessory_mention
        # an accessory mention names the brand without invoking it as the product's maker
        c[f"{prefix}_named"] = max(c.get(f"{prefix}_named", 0.0), 0.0 if accessory else 1.0)
        c[f"{prefix}_accessory"] = max(c.get(f"{prefix}_accessory", 0.0), 1.0 if accessory else 0.0)


def _misuse_cues(findings, cues: dict[str, dict[str, float]], prefix: str,
                 own_typo: Callable[[str], bool] | None = None) -> None:
    """The strongest misuse finding (evasive spelling, replica words) per brand; every brand found gets a row.

    ``own_typo(brand_id)``: the seller is the brand's authorised seller or spells the name right
    elsewhere, so a misspelling alone is its typo, not misuse."""
    for f in findings:
        c = cues.setdefault(f.brand_id, {})
        if f.verdict != "misuse":
            continue
        typo = tuple(f.reasons) == ("misspelling",)
        if typo and own_typo is not None and own_typo(f.brand_id):
            continue
        c[f"{prefix}_misuse"] = max(c.get(f"{prefix}_misuse", 0.0), float(f.score))
        c[f"{prefix}_other_misuse"] = max(c.get(f"{prefix}_other_misuse", 0.0), 0.0 if typo else 1.0)


def build_cues(inp: ListingInputs, catalog: Catalog,
               seller_history: Callable[[str], float] | None = None,
               seller_cue: Callable[[str, str], float] | None = None, *,
               points: OperatingPoints | None = None) -> list[BrandCues]:
    """One :class:`BrandCues` per brand that any signal points at.

    ``points`` (the index's operating points) put the image and text scores on the fusion's scale.
    The ``seller_history`` cue is the larger of the history count and ``seller_cue(seller,
    brand)`` (seller risk with the brand's repeat-offender rule, :mod:`counterfeit_vision.sellers.risk`),
    and 0 for a seller authorised for the brand: an authorised seller's record never raises its score.
    """
    listing = inp.listing
    visual = _visual_cues(inp, points)
    text: dict[str, dict[str, float]] = {}
    _mention_cues(inp.title_findings, text, "title")
    seller = listing.seller_id

    def own_typo(brand_id: str) -> bool:
        brand = catalog.brands.get(brand_id)
        return brand_id in inp.spelt_right or bool(seller and brand and seller in brand.authorized_sellers)

    _misuse_cues(inp.title_findings, text, "title", own_typo)
    # names read in photos count through the sightings (_visual_cues: weighted by the reads' confidence)
    _misuse_cues([f for _, found in inp.ocr_findings for f in found], text, "ocr")
    store = {}
    for f in inp.storefront_findings:  # a store name misusing a brand: more misuse, never attribution
        store[f.brand_id] = max(store.get(f.brand_id, 0.0), f.score)
    history = seller_history(listing.seller_id) if seller_history and listing.seller_id else 0.0
    out = []
    for brand_id in sorted(set(visual) | set(text)):
        if brand_id not in catalog:
            continue
        brand = catalog[brand_id]
        authorized = bool(listing.seller_id and listing.seller_id in brand.authorized_sellers)
        seller_score = 0.0 if authorized else max(history, seller_cue(listing.seller_id, brand_id)
                                                  if seller_cue and listing.seller_id else 0.0)
        v, t = visual.get(brand_id, {}), text.get(brand_id, {})
        # a photo shows the brand by its logo, its name written on the product, or its own photo
        shown = max(v.get("sighting", 0.0), v.get("photo", 0.0))
        named = t.get("title_named", 0.0) > 0 or t.get("title_accessory", 0.0) > 0
        accessory_only = t.get("title_accessory", 0.0) > 0 and t.get("title_named", 0.0) == 0
        out.append(BrandCues(
            brand_id=brand_id,
            title_brand=t.get("title_named", 0.0),
            # the reads' confidences, not a 0/1 mention: a faint misread is weaker evidence
            ocr_brand=v.get("text", 0.0),
            logo=v.get("logo", 0.0),
            photo=v.get("photo", 0.0),
            title_misuse=max(t.get("title_misuse", 0.0), store.get(brand_id, 0.0)),
            ocr_misuse=t.get("ocr_misuse", 0.0),
            hidden_brand=0.0 if named else shown,
            price_below_floor=0.0 if accessory_only else _price(brand, listing, inp.notes),
            seller_history=float(min(1.0, max(0.0, seller_score))),
            authorized_seller=authorized,
            title_misspelling_only=t.get("title_misuse", 0.0) > 0 and t.get("title_other_misuse", 0.0) == 0,
        ))
    return out


def _price(brand: Brand, listing: Listing, notes: list[str]) -> float:
    floor = brand.price_floor
    if floor is None or listing.price is None:
        return 0.0
    if listing.currency and listing.currency.upper() != floor.currency:
        note = f"price in {listing.currency} not compared with {brand.id}'s floor in {floor.currency}"
        if note not in notes:
            notes.append(note)
        return 0.0
    return price_cue(listing.price, floor.for_product_line(_product_line(brand, listing.title)))


def build_evidence(inp: ListingInputs, cues: BrandCues, brand: Brand) -> tuple[Evidence, ...]:
    """The checkable facts behind the decision for ``brand``, strongest first."""
    listing = inp.listing
    ev: list[Evidence] = []
    for i, photo in enumerate(inp.seen):
        for hit in photo.hits:
            if hit.brand_id == brand.id:
                ev.append(_image_evidence(hit, brand, *inp.photos[i]))
    for f in inp.title_findings:
        if f.brand_id == brand.id:
            ev.append(Evidence("title", brand.id, float(f.score),
                               f"title {f.verdict}" + (f": {', '.join(f.reasons)}" if f.reasons else ""),
                               text=f.matched_text, span=tuple(f.span), reasons=tuple(f.reasons)))
    for brand_id, start, end, code, why in inp.title_marks:
        # the words around the brand that make it misuse (the brand's own words are the finding above)
        if brand_id == brand.id and code in ("indicator", "lookalike_phrase"):
            ev.append(Evidence("title", brand.id, REASON_WEIGHTS.get(code, 0.5), f"title: {why}",
                               text=listing.title[start:end], span=(start, end), reasons=(code,)))
    for box, found in inp.ocr_findings:
        for f in found:
            if f.brand_id == brand.id:
                ev.append(Evidence("ocr_text", brand.id, max(float(f.score), cues.ocr_brand * 0.5),
                                   _ocr_detail(f, box, brand),
                                   image=inp.photos[box.image_index][0], image_index=box.image_index,
                                   box=to_original_pixels(box.box, inp.photos[box.image_index][1]),
                                   text=box.text, reasons=tuple(f.reasons)))
    for f in inp.storefront_findings:
        if f.brand_id == brand.id:
            ev.append(Evidence("store_name", brand.id, f.score, f"{f.source.replace('_', ' ')} misuses {brand.name}: "
                               + ", ".join(f.reasons), text=f.text, reasons=f.reasons))
    if cues.price_below_floor > 0 and brand.price_floor:
        floor = brand.price_floor.for_product_line(_product_line(brand, listing.title))
        ev.append(Evidence("price", brand.id, cues.price_below_floor,
                           f"price {listing.price:g} is below {brand.name}'s floor "
                           f"{floor:g} {brand.price_floor.currency}",
                           price=listing.price, floor=floor, currency=brand.price_floor.currency))
    if listing.seller_id:
        status = "authorised" if cues.authorized_seller else "not an authorised seller"
        ev.append(Evidence("seller", brand.id, 1.0 if cues.authorized_seller else cues.seller_history,
                           f"seller {listing.seller_id}: {status}"
                           + (f"; seller risk {cues.seller_history:.0%} (confirmed fakes, network, repeat offences)"
                              if cues.seller_history else ""),
                           text=listing.seller_id))
    return tuple(sorted(ev, key=lambda e: -e.score))


def image_claim(hit, brand_name: str) -> tuple[str, str]:
    """(claim, wording) of an image hit: what was established, in words that match its strength.

    A logo is "verified" and a photo a "copy" only when the keypoint check passed (``hit.verified``);
    otherwise the wording says what the embedding saw: a resemblance, with its cosine.
    """
    sim = float(hit.similarity)
    if hit.kind == "logo":
        if getattr(hit, "verified", False):
            return "verified_logo", (f"logo of {brand_name} verified by {hit.inliers} keypoint matches "
                                     f"(reference {hit.ref_path})")
        return "logo_like", f"logo-like region, resembling {brand_name}'s logo {hit.ref_path}, cosine {sim:.2f}"
    if getattr(hit, "verified", False):
        area = getattr(hit, "ref_area", None)
        how = f"{area:.0%} of the reference area" if area else f"{hit.inliers} keypoint matches"
        return "copied_photo", f"copy of official photo {hit.ref_path} (keypoint-verified, {how})"
    return "similar_photo", f"similar to official photo {hit.ref_path}, cosine {sim:.2f}"


def _image_evidence(hit, brand: Brand, photo_path: str, photo: Image.Image) -> Evidence:
    claim, detail = image_claim(hit, brand.name)
    return Evidence(hit.kind, hit.brand_id, image_score(hit), detail, claim=claim,
                    reference=hit.ref_path, ref_id=hit.ref_id, similarity=round(float(hit.similarity), 4),
                    image=photo_path, image_index=hit.image_index, box=to_original_pixels(hit.box, photo))


def _ocr_detail(f, box, brand: Brand) -> str:
    """A read naming the brand is a sighting with the read's confidence; misuse only with its reasons."""
    if f.verdict == "misuse":
        return f"text in photo {box.image_index}: misuse ({', '.join(f.reasons)})"
    misread = " (a misreading of the name: not counted as misuse)" if "ocr_misread" in f.context else ""
    return f"name of {brand.name} read in photo {box.image_index}, read confidence {box.confidence:.2f}{misread}"
