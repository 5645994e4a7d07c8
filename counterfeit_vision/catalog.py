"""The brand catalogue: what each brand hands over, loaded and validated.

Layout on disk, one folder per brand::

    brand_catalog/
      <brand_id>/
        brand.yaml        # the fields of :class:`Brand`
        logos/            # logo images (png, jpg, webp)
        references/       # official product photos

Loading validates every brand and reports *every* problem at once, each with
its file and field, so a brand fixes its submission in one round trip.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from counterfeit_vision._text import brief
from counterfeit_vision.errors import UserError
from counterfeit_vision.image.decode import IMAGE_SUFFIXES, ImageError, probe_image

__all__ = [
    "Brand",
    "Catalog",
    "CatalogError",
    "CatalogProblem",
    "PriceFloor",
    "Thresholds",
    "load_brand",
    "load_catalog",
]

BRAND_FILE = "brand.yaml"
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,63}$")
_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")

# Third-party accessories that are normal for brands with compatible_accessories: true.
DEFAULT_ACCESSORY_WORDS = (
    "case", "cover", "charger", "cable", "adapter", "screen protector", "strap", "band",
    "stand", "mount", "holder", "toner", "ink", "cartridge", "replacement", "compatible",
    "skin", "sleeve", "dock", "battery", "keyboard", "stylus",
)

_KNOWN_FIELDS = {
    "id", "name", "aliases", "abbreviations", "product_lines", "categories", "ambiguous",
    "negative_context", "compatible_accessories", "own_terms", "evasive_aliases",
    "authorized_sellers", "price_floor", "thresholds", "ambiguous_names",
}


@dataclass(frozen=True)
class CatalogProblem:
    """One thing wrong in a catalogue: where it is and what to fix."""

    file: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.message}"


class CatalogError(UserError, ValueError):
    """A catalogue failed validation; ``problems`` lists every issue found."""

    def __init__(self, problems: list[CatalogProblem]):
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"brand catalogue is invalid ({len(self.problems)} problem(s)):\n{lines}")


@dataclass(frozen=True)
class PriceFloor:
    """Lowest plausible genuine price; below it a listing is suspicious."""

    amount: float
    currency: str
    product_lines: Mapping[str, float] = field(default_factory=dict)

    def for_product_line(self, product_line: str | None) -> float:
        if product_line and product_line in self.product_lines:
            return float(self.product_lines[product_line])
        return self.amount


@dataclass(frozen=True)
class Thresholds:
    """Decision thresholds on the takedown confidence, and the brand's repeat-offender rule.

    A seller with a counterfeit of this brand confirmed within ``repeat_window_days`` gets a
    seller cue of at least ``repeat_offender`` on its new listings of the brand
    (:mod:`counterfeit_vision.sellers.risk`); ``repeat_offender: 0`` turns the rule off.
    """

    takedown: float = 0.8
    review: float = 0.4
    repeat_offender: float = 0.9
    repeat_window_days: float = 365.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.review <= self.takedown <= 1.0:
            raise ValueError(f"need 0 <= review <= takedown <= 1, got {self}")
        if not 0.0 <= self.repeat_offender <= 1.0 or not self.repeat_window_days >= 0:
            raise ValueError(f"need repeat_offender in [0, 1] and repeat_window_days >= 0, got {self}")


@dataclass(frozen=True)
class Brand:
    """One brand's registered marks and reference material."""

    id: str
    name: str
    aliases: tuple[str, ...] = ()
    abbreviations: tuple[str, ...] = ()
    product_lines: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    ambiguous: bool = False
    negative_context: tuple[str, ...] = ()
    compatible_accessories: tuple[str, ...] = ()  # empty: "for <brand>" is not a normal use
    own_terms: tuple[str, ...] = ()
    evasive_aliases: tuple[str, ...] = ()
    authorized_sellers: frozenset[str] = frozenset()
    price_floor: PriceFloor | None = None
    thresholds: Thresholds | None = None
    # per-name overrides of the automatic ambiguity marks (titles/names.py): (name, ambiguous)
    ambiguous_names: tuple[tuple[str, bool], ...] = ()
    root: Path | None = None
    logos: tuple[Path, ...] = ()
    references: tuple[Path, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """The brand's full names: its name and aliases in any script."""
        return (self.name, *self.aliases)


@dataclass(frozen=True)
class Catalog:
    """All brands, by id, in a stable order."""

    brands: Mapping[str, Brand]
    root: Path | None = None

    def __iter__(self):
        return iter(self.brands.values())

    def __len__(self) -> int:
        return len(self.brands)

    def __getitem__(self, brand_id: str) -> Brand:
        return self.brands[brand_id]

    def __contains__(self, brand_id: object) -> bool:
        return brand_id in self.brands

    def with_brand(self, brand: Brand) -> "Catalog":
        return Catalog({**self.brands, brand.id: brand}, self.root)

    def without_brand(self, brand_id: str) -> "Catalog":
        return Catalog({k: v for k, v in self.brands.items() if k != brand_id}, self.root)

    @classmethod
    def from_brands(cls, brands: Iterable[Brand], root: Path | None = None) -> "Catalog":
        return cls({b.id: b for b in sorted(brands, key=lambda b: b.id)}, root)


class _Checker:
    """Collects problems for one brand file instead of stopping at the first."""

    def __init__(self, file: Path):
        self.file = str(file)
        self.problems: list[CatalogProblem] = []

    def add(self, field_name: str, message: str) -> None:
        self.problems.append(CatalogProblem(self.file, field_name, message))

    def text(self, raw: Mapping[str, Any], key: str, *, required: bool = False) -> str | None:
        value = raw.get(key)
        if value is None:
            if required:
                self.add(key, "is required")
            return None
        if not isinstance(value, str) or not value.strip():
            self.add(key, f"must be a non-empty string, got {brief(value)}")
            return None
        return value.strip()

    def texts(self, raw: Mapping[str, Any], key: str) -> tuple[str, ...]:
        value = raw.get(key)
        if value is None:
            return ()
        if isinstance(value, str) or not isinstance(value, list):
            self.add(key, f"must be a list of strings, got {type(value).__name__}")
            return ()
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, (str, int)) or not str(item).strip():
                self.add(f"{key}[{i}]", f"must be a non-empty string, got {brief(item)}")
            else:
                out.append(str(item).strip())
        return tuple(dict.fromkeys(out))

    def flag(self, raw: Mapping[str, Any], key: str) -> bool:
        value = raw.get(key, False)
        if not isinstance(value, bool):
            self.add(key, f"must be true or false, got {brief(value)}")
            return False
        return value

    def price(self, value: Any, key: str) -> float | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.add(key, f"must be a number, got {brief(value)}")
            return None
        if not math.isfinite(value) or value <= 0:
            self.add(key, f"must be a positive finite number, got {brief(value)}")
            return None
        return float(value)


def _parse_accessories(check: _Checker, raw: Mapping[str, Any]) -> tuple[str, ...]:
    value = raw.get("compatible_accessories", False)
    if value is True:
        return DEFAULT_ACCESSORY_WORDS
    if value is False or value is None:
        return ()
    if isinstance(value, list):
        return check.texts(raw, "compatible_accessories")
    check.add("compatible_accessories", f"must be true/false or a list of accessory words, got {brief(value)}")
    return ()


def _parse_ambiguous_names(check: _Checker, raw: Mapping[str, Any], names: tuple[str, ...]
                           ) -> tuple[tuple[str, bool], ...]:
    """``ambiguous_names: {Boss: true, Arrow: false}``: the brand's word on its own names."""
    value = raw.get("ambiguous_names")
    if value is None:
        return ()
    if not isinstance(value, Mapping):
        check.add("ambiguous_names", f"must map names to true/false, got {brief(value)}")
        return ()
    own = {n.casefold() for n in names}
    out = []
    for name, flag in value.items():
        key = f"ambiguous_names.{name}"
        if not isinstance(flag, bool):
            check.add(key, f"must be true or false, got {brief(flag)}")
        elif str(name).casefold() not in own:
            check.add(key, "names neither the brand's name nor one of its aliases")
        else:
            out.append((str(name), flag))
    return tuple(out)


def _parse_price_floor(check: _Checker, raw: Mapping[str, Any], product_lines: tuple[str, ...]) -> PriceFloor | None:
    value = raw.get("price_floor")
    if value is None:
        return None
    if not isinstance(value, Mapping):
        check.add("price_floor", "must be a mapping with amount, currency and optional product_lines")
        return None
    amount = check.price(value.get("amount"), "price_floor.amount")
    currency = value.get("currency")
    if not isinstance(currency, str) or not _CURRENCY_RE.match(currency):
        check.add("price_floor.currency", f"must be an ISO 4217 code like USD, got {brief(currency)}")
    per_line: dict[str, float] = {}
    lines = value.get("product_lines") or {}
    if not isinstance(lines, Mapping):
        check.add("price_floor.product_lines", "must map product line names to amounts")
        lines = {}
    for line, line_amount in lines.items():
        key = f"price_floor.product_lines.{line}"
        if line not in product_lines:
            check.add(key, f"names a product line not in product_lines: {line!r}")
        parsed = check.price(line_amount, key)
        if parsed is not None:
            per_line[str(line)] = parsed
    unknown = set(value) - {"amount", "currency", "product_lines"}
    if unknown:
        check.add("price_floor", f"unknown keys {sorted(unknown)}")
    if amount is None or not isinstance(currency, str) or not _CURRENCY_RE.match(currency):
        return None
    return PriceFloor(amount, currency, per_line)


def _parse_thresholds(check: _Checker, raw: Mapping[str, Any]) -> Thresholds | None:
    value = raw.get("thresholds")
    if value is None:
        return None
    keys = ("takedown", "review", "repeat_offender", "repeat_window_days")
    if not isinstance(value, Mapping) or set(value) - set(keys):
        check.add("thresholds", f"must be a mapping with keys among {', '.join(keys)}")
        return None
    nums = {}
    for key in keys:
        if key in value:
            v = value[key]
            high = math.inf if key == "repeat_window_days" else 1
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= high:
                check.add(f"thresholds.{key}", f"must be a number in [0, {high}], got {brief(v)}")
                return None
            nums[key] = float(v)
    try:
        return Thresholds(**nums)
    except ValueError as exc:
        check.add("thresholds", str(exc))
        return None


def _image_files(check: _Checker, folder: Path, field_name: str) -> tuple[Path, ...]:
    if not folder.exists():
        return ()
    files = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    good = []
    root = folder.parent.parent.resolve()
    for path in files:
        if not path.resolve().is_relative_to(root):
            check.add(field_name, f"{path.name}: a link to a file outside the catalogue folder")
            continue
        if not path.is_file():
            if not path.is_dir():
                check.add(field_name, f"{path.name}: not a regular file")
            continue
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            check.add(field_name, f"{path.name}: not an image file (expected one of {sorted(IMAGE_SUFFIXES)})")
            continue
        try:
            probe_image(path)
        except ImageError as exc:
            check.add(field_name, f"{path.name}: {exc}")
            continue
        good.append(path)
    return tuple(good)


# brand.yaml is a few kB; a brand's whole vocabulary fits in far less than this
MAX_BRAND_FILE_BYTES = 256 * 1024


class _BrandLoader(yaml.SafeLoader):
    """YAML without aliases: ``*name`` references are how a 1 kB file expands to gigabytes."""

    def compose_node(self, parent, index):  # noqa: D102 - PyYAML's hook
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed",
                                              self.peek_event().start_mark)
        return super().compose_node(parent, index)


def read_guarded(path: Path, root: Path, limit: int = MAX_BRAND_FILE_BYTES) -> bytes:
    """The bytes of a catalogue file: a regular file (no FIFO, device or folder), inside ``root``
    once links are resolved, at most ``limit`` bytes. Raises ``ValueError`` saying which rule failed
    (never the file's contents) or ``FileNotFoundError``."""
    import os
    import stat

    real = path.resolve()
    if not real.is_relative_to(root.resolve()):
        raise ValueError("is a link to a file outside the catalogue folder")
    st = os.stat(real)
    if not stat.S_ISREG(st.st_mode):
        raise ValueError("is not a regular file")
    if st.st_size > limit:
        raise ValueError(f"is {st.st_size:,} bytes (limit {limit:,})")
    fd = os.open(real, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # never blocks, even if swapped for a FIFO
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError("is not a regular file")
        data = os.read(fd, limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise ValueError(f"is larger than {limit:,} bytes")
    return data


def _read_yaml(check: _Checker, path: Path) -> Mapping[str, Any] | None:
    try:
        text = read_guarded(path, path.parent.parent).decode("utf-8")
        raw = yaml.load(text, Loader=_BrandLoader)  # noqa: S506 - a SafeLoader without aliases
    except FileNotFoundError:
        check.add("-", f"missing {BRAND_FILE}")
        return None
    except UnicodeDecodeError:
        check.add("-", "is not UTF-8 text")
        return None
    except yaml.MarkedYAMLError as exc:  # the position and the problem, not the file's text
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        check.add("-", f"not valid YAML{where}: {exc.problem or exc.context}")
        return None
    except yaml.YAMLError as exc:
        check.add("-", f"not valid YAML ({type(exc).__name__})")
        return None
    except RecursionError:
        check.add("-", "not valid YAML: nested too deeply")
        return None
    except (ValueError, OverflowError, OSError) as exc:  # rules of read_guarded, 5,000-digit numbers
        if isinstance(exc, ValueError) and "digits" in str(exc):
            check.add("-", "holds a number with too many digits")
        elif isinstance(exc, ValueError):
            check.add("-", str(exc)[:200])
        else:
            check.add("-", f"cannot be read ({type(exc).__name__})")
        return None
    if not isinstance(raw, Mapping):
        check.add("-", "must contain a mapping of fields")
        return None
    return raw


def _parse_brand(check: _Checker, raw: Mapping[str, Any], folder: Path) -> Brand | None:
    for key in sorted(set(raw) - _KNOWN_FIELDS):
        check.add(key, "unknown field (check the spelling; see the README's catalogue format)")
    brand_id = check.text(raw, "id", required=True)
    if brand_id is not None and not _ID_RE.match(brand_id):
        check.add("id", f"must be lowercase letters, digits, '-' or '_', got {brief(brand_id)}")
    elif brand_id is not None and brand_id != folder.name:
        check.add("id", f"{brand_id!r} must equal the folder name {folder.name!r}")
    name = check.text(raw, "name", required=True)
    product_lines = check.texts(raw, "product_lines")
    sellers = check.texts(raw, "authorized_sellers")
    aliases = check.texts(raw, "aliases")
    brand = dict(
        aliases=aliases,
        abbreviations=check.texts(raw, "abbreviations"),
        product_lines=product_lines,
        categories=check.texts(raw, "categories"),
        ambiguous=check.flag(raw, "ambiguous"),
        negative_context=check.texts(raw, "negative_context"),
        compatible_accessories=_parse_accessories(check, raw),
        own_terms=check.texts(raw, "own_terms"),
        evasive_aliases=check.texts(raw, "evasive_aliases"),
        authorized_sellers=frozenset(sellers),
        price_floor=_parse_price_floor(check, raw, product_lines),
        thresholds=_parse_thresholds(check, raw),
        ambiguous_names=_parse_ambiguous_names(check, raw, ((name,) if name else ()) + aliases),
    )
    logos = _image_files(check, folder / "logos", "logos")
    references = _image_files(check, folder / "references", "references")
    if not logos and not references and not brand["aliases"] and name is None:
        check.add("-", "a brand needs a name and at least one logo or reference image")
    if check.problems or brand_id is None or name is None:
        return None
    return Brand(id=brand_id, name=name, root=folder, logos=logos, references=references, **brand)


def _check_brand(folder: Path) -> tuple[Brand | None, list[CatalogProblem]]:
    folder = Path(folder)
    check = _Checker(folder / BRAND_FILE)
    if not folder.is_dir():
        check.add("-", "brand folder does not exist")
        return None, check.problems
    raw = _read_yaml(check, folder / BRAND_FILE)
    brand = _parse_brand(check, raw, folder) if raw is not None else None
    return brand, check.problems


def load_brand(folder: str | Path) -> Brand:
    """Load and validate one brand folder.

    Raises:
        CatalogError: listing every problem in the folder.
    """
    brand, problems = _check_brand(Path(folder))
    if problems or brand is None:
        raise CatalogError(problems)
    return brand


def load_catalog(root: str | Path) -> Catalog:
    """Load every brand folder under ``root``, validating all of them.

    Raises:
        CatalogError: listing every problem in every brand, so nothing is scored
            against a half-valid catalogue.
    """
    root = Path(root)
    if not root.is_dir():
        raise CatalogError([CatalogProblem(str(root), "-", "catalogue folder does not exist")])
    brands: list[Brand] = []
    problems: list[CatalogProblem] = []
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
    for folder in folders:
        brand, found = _check_brand(folder)
        problems.extend(found)
        if brand is not None:
            brands.append(brand)
    if not folders:
        problems.append(CatalogProblem(str(root), "-", "no brand folders found"))
    if problems:
        raise CatalogError(problems)
    return Catalog.from_brands(brands, root)
