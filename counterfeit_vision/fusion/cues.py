"""Per-brand cues: what the title, OCR text, photos, price and seller say about one brand.

Two questions are kept apart:
- *attribution*: does the listing invoke this brand (title, OCR text, logo, official photo)?
- *illegitimacy*: is that invocation illegitimate (evasion, indicators, a stolen official
  photo, the brand shown in photos but hidden from the title, a price far below the
  floor, a seller with confirmed fakes)? An authorised seller is legitimate by definition.

The fusion stage turns :class:`BrandCues` into a confidence; this module only
measures, so learned and hand-set fusion see the same features.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

__all__ = ["BrandCues", "FEATURE_NAMES", "price_cue"]

# Prices this far (as a fraction) below the floor count as fully suspicious.
PRICE_FULL_DROP = 0.6


@dataclass(frozen=True)
class BrandCues:
    """Cue strengths in [0, 1] for one brand in one listing."""

    brand_id: str
    # attribution: the listing invokes the brand
    title_brand: float = 0.0    # brand named (plainly or evasively) in the title
    ocr_brand: float = 0.0      # brand read in a photo's text
    logo: float = 0.0           # brand logo found in a photo
    photo: float = 0.0          # one of the brand's official photos reused
    # illegitimacy of the invocation
    title_misuse: float = 0.0   # evasive spelling, indicator words, stuffing, ... in the title
    ocr_misuse: float = 0.0     # the same in photo text
    hidden_brand: float = 0.0   # shown in the photos but absent from the title
    price_below_floor: float = 0.0
    seller_history: float = 0.0  # share of this seller's past listings confirmed fake
    authorized_seller: bool = False
    # the title's only misuse is a misspelling of the name (not a learned feature: it caps the
    # decision, see fusion.handset.cap_misspelling_alone)
    title_misspelling_only: bool = False

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, float) and not 0.0 <= v <= 1.0:
                raise ValueError(f"cue {f.name} must be in [0, 1], got {v}")

    @property
    def attribution(self) -> float:
        return max(self.title_brand, self.ocr_brand, self.logo, self.photo)

    @property
    def misspelling_alone(self) -> bool:
        """A misspelt name and nothing else against the listing: a typo as often as a disguise."""
        return self.title_misspelling_only and not (
            self.ocr_misuse or self.photo or self.price_below_floor or self.hidden_brand or self.seller_history)

    def features(self) -> dict[str, float]:
        """Numeric features for a learned model, in :data:`FEATURE_NAMES` order."""
        d = asdict(self)
        return {name: float(d[name]) for name in FEATURE_NAMES}


FEATURE_NAMES = (
    "title_brand", "ocr_brand", "logo", "photo", "title_misuse", "ocr_misuse",
    "hidden_brand", "price_below_floor", "seller_history", "authorized_seller",
)


def price_cue(price: float | None, floor: float | None) -> float:
    """0 at or above the brand's floor, rising to 1 at PRICE_FULL_DROP below it."""
    if price is None or floor is None or floor <= 0:
        return 0.0
    drop = (floor - price) / floor
    return float(min(1.0, max(0.0, drop / PRICE_FULL_DROP)))
