"""Which brands a photo shows: logo hits and brand names read in the photo, combined.

A logo is found two ways. The image matcher recognises its *shape* (few-shot
heads on frozen embeddings, keypoint verification); OCR reads its *letters*
when the logo is a wordmark (PEPSI on a can, CITROEN on a dealership). The
two fail on different photos: a metallic wordmark under odd light defeats the
embedding but not the reader, and a swoosh has no letters at all. So each
brand's evidence is their noisy-or::

    score = 1 - (1 - logo) * (1 - text)

where ``logo`` is the brand's best logo-hit score and ``text`` is the noisy-or
of the confidences of the reads that name the brand (two independent reads of
"vodafone" are stronger than one). Either kind alone can carry a brand; both
together reinforce it.

Brand names are found in the read text by the title matcher, so aliases in
any script, look-alike characters and misspellings count (OCR misreads a
letter as often as a counterfeiter swaps one). A name read as what the
product fits ("for iPhone" on a case's packaging) shows the brand it fits,
not the product's maker, and is left out.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Iterable, Sequence

from PIL import Image

from counterfeit_vision import timing
from counterfeit_vision.titles.matcher import TitleFinding, TitleMatcher

if TYPE_CHECKING:  # typing only: a title-only caller does not pay for torch
    from counterfeit_vision.image.matcher import ImageHit
    from counterfeit_vision.ocr import TextBox

__all__ = ["BrandSighting", "PhotoBrandFinder", "PhotoBrands", "brands_in_photo", "photo_brands_from"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BrandSighting:
    """One brand seen in one photo, with the evidence a reviewer can check.

    Attributes:
        brand_id: the catalogue id.
        score: combined evidence in [0, 1], ``1 - (1 - logo) * (1 - text)``.
        logo: the brand's best logo-hit score (0 without a logo hit).
        text: noisy-or of the confidences of the reads naming the brand.
        logo_hit: that best logo hit (its box and the reference it matched).
        reads: the text boxes that name the brand, in reading order.
    """

    brand_id: str
    score: float
    logo: float = 0.0
    text: float = 0.0
    logo_hit: ImageHit | None = None
    reads: tuple[TextBox, ...] = ()


@dataclass
class PhotoBrands:
    """The sightings in one photo, strongest first, and what went wrong reading it."""

    sightings: list[BrandSighting] = field(default_factory=list)
    hits: list[ImageHit] = field(default_factory=list)   # every image hit, photo reuse included
    reads: list[tuple[TextBox, list[TitleFinding]]] = field(default_factory=list)  # every text box read
    notes: list[str] = field(default_factory=list)

    def numbered(self, n: int) -> "PhotoBrands":
        """The same findings for the photo numbered ``n`` (the same picture in another listing)."""
        hits = {id(h): replace(h, image_index=n) for h in self.hits}
        reads = {id(b): replace(b, image_index=n) for b, _ in self.reads}
        sightings = [replace(s, logo_hit=hits.get(id(s.logo_hit), s.logo_hit) if s.logo_hit else None,
                             reads=tuple(reads[id(b)] if id(b) in reads else replace(b, image_index=n)
                                         for b in s.reads))
                     for s in self.sightings]
        return PhotoBrands(sightings, list(hits.values()), [(reads[id(b)], f) for b, f in self.reads],
                           list(self.notes))


def _noisy_or(values: Iterable[float]) -> float:
    miss = 1.0
    for v in values:
        miss *= 1.0 - min(1.0, max(0.0, v))
    return 1.0 - miss


def brands_in_photo(hits: Sequence[ImageHit],
                    reads: Sequence[tuple[TextBox, Sequence[TitleFinding]]]) -> list[BrandSighting]:
    """Combine one photo's logo hits and brand-naming reads into ranked sightings.

    Args:
        hits: the image matcher's hits for the photo (photo-reuse hits are ignored:
            they say the photo *is* a reference, on another score scale).
        reads: each text box read in the photo with the title matcher's findings on it.
    """
    best_logo: dict[str, ImageHit] = {}
    for h in hits:
        if h.kind == "logo" and (h.brand_id not in best_logo or h.score > best_logo[h.brand_id].score):
            best_logo[h.brand_id] = h
    named: dict[str, list[TextBox]] = {}
    for box, findings in reads:
        for brand_id in dict.fromkeys(f.brand_id for f in findings if not f.accessory_mention):
            named.setdefault(brand_id, []).append(box)  # a box naming a brand twice is one read
    out = []
    for brand_id in set(best_logo) | set(named):
        hit, boxes = best_logo.get(brand_id), tuple(named.get(brand_id, ()))
        logo = hit.score if hit else 0.0
        text = _noisy_or(b.confidence for b in boxes)
        out.append(BrandSighting(brand_id, _noisy_or((logo, text)), logo, text, hit, boxes))
    # equal scores keep the matcher's order (it breaks its ties by similarity)
    rank = {id(h): k for k, h in enumerate(hits)}
    return sorted(out, key=lambda s: (-s.score, rank.get(id(s.logo_hit), len(rank)), s.brand_id))


def photo_brands_from(hits: Sequence[ImageHit], boxes: Sequence[TextBox], titles: TitleMatcher,
                      notes: Sequence[str] = ()) -> PhotoBrands:
    """A photo's findings from its image hits and the text boxes read in it: the brand names in the
    boxes found by ``titles``, then the sightings. The evidence store rebuilds stored photos this way
    (hits and boxes are kept, the names in them are found again with the catalogue in use)."""
    result = PhotoBrands(hits=list(hits), notes=list(notes))
    with timing.stage("titles"):
        result.reads = [(box, titles.match_photo_text(box.text)) for box in boxes]
    result.sightings = brands_in_photo(result.hits, result.reads)
    return result


class PhotoBrandFinder:
    """Finds the catalogue brands each photo shows, by logo and by name.

    Args:
        matcher: an :class:`~counterfeit_vision.image_matching.ImageMatcher` over the index;
            ``None`` finds brands by name only.
        titles: a :class:`TitleMatcher` over the same catalogue (brand names and aliases).
        ocr: an :class:`~counterfeit_vision.ocr.OcrReader`; ``None`` finds logos by shape only.
    """

    def __init__(self, matcher, titles: TitleMatcher, ocr=None):
        self.matcher = matcher
        self.titles = titles
        self.ocr = ocr

    def find(self, photos: Sequence[Image.Image], *, numbers: Sequence[int] | None = None,
             features: list | None = None, known_reads: Sequence[list | None] | None = None) -> list[PhotoBrands]:
        """One :class:`PhotoBrands` per photo, in order; a photo OCR cannot read keeps its logo hits.

        ``numbers`` are the photos' numbers to record in hits and text boxes (a
        caller matching several listings' photos at once numbers them per listing);
        by default their positions. ``features``: a list that receives each photo's
        embeddings (``ImageMatcher.match``; nothing without a matcher). ``known_reads``: per photo,
        the text boxes already read in it (from the evidence store: OCR does not depend on the
        catalogue), or None to read it.
        """
        numbers = list(range(len(photos))) if numbers is None else list(numbers)
        if len(numbers) != len(photos):
            raise ValueError(f"{len(photos)} photos but {len(numbers)} numbers")
        matched = (self.matcher.match(photos, features=features) if self.matcher is not None and photos
                   else [[] for _ in photos])
        known = list(known_reads) if known_reads is not None else [None] * len(photos)
        todo = [i for i, k in enumerate(known) if k is None]
        read = iter(self._read_all([photos[i] for i in todo], [numbers[i] for i in todo]))
        reads = [(k, "") if k is not None else next(read) for k in known]
        return [photo_brands_from([replace(h, image_index=n) for h in hits], boxes, self.titles,
                                  [note] if note else ())
                for n, hits, (boxes, note) in zip(numbers, matched, reads)]

    def _read_all(self, photos: Sequence[Image.Image], numbers: list[int]) -> list[tuple[list[TextBox], str]]:
        """Text boxes per photo (read together: the reader batches across photos) and a note for
        a photo the reader chokes on; that photo keeps its logo evidence, the others their reads."""
        if self.ocr is None or not photos:
            return [([], "") for _ in photos]
        read_many = getattr(self.ocr, "read_many", None)  # an OcrReader; a bare ``read(photo)`` object works too
        if read_many is not None:
            try:
                return [(boxes, "") for boxes in read_many(photos, numbers=numbers)]
            except Exception:  # find the photo that failed: read them one by one
                log.warning("OCR failed on a group of %d photos; reading them one by one", len(photos))
        out = []
        for photo, n in zip(photos, numbers):
            try:
                out.append((self.ocr.read(photo, image_index=n), ""))
            except Exception as exc:
                log.warning("OCR failed on image %d: %s", n, exc)
                out.append(([], f"OCR failed on image {n}: {exc}"))
        return out
