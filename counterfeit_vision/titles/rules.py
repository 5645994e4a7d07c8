"""Context rules: counterfeit indicators, look-alike phrasing, compatibility, collaborations.

Every rule reads the plain tokens of a normalised title (lower case, folded),
never the visual fold, so ``bag`` stays ``bag``. The word lists are data, kept
here in one place so a reviewer can read what the engine believes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Sequence

__all__ = [
    "CATEGORY_WORDS", "FASHION_WORDS", "WORN_WORDS", "IndicatorHit", "category_words", "find_indicators",
    "lookalike_phrase", "compat_trigger_before", "is_collab_gap", "BRAND_CUES", "COMPAT_WORDS", "CUE_WORDS",
    "INDICATOR_STARTS", "PHRASE_WORDS",
    "COMPAT_CUES", "PHRASE_CUES", "title_indicators", "COLLAB_WORDS", "FASHION_CATEGORIES",
]

# Catalogue category -> words that name such a product in a title.
CATEGORY_WORDS: dict[str, tuple[str, ...]] = {
    "bags": ("bag", "bags", "handbag", "handbags", "purse", "purses", "tote", "totes", "wallet",
             "wallets", "backpack", "clutch", "satchel", "crossbody", "shoulder", "duffle",
             "pochette", "cardholder", "luggage", "包", "包包"),
    "shoes": ("shoe", "shoes", "sneaker", "sneakers", "trainer", "trainers", "boot", "boots",
              "sandal", "sandals", "slides", "loafers", "heels", "cleats", "runners", "鞋"),
    "clothing": ("shirt", "shirts", "tshirt", "tee", "tees", "hoodie", "hoodies", "jacket",
                 "jackets", "dress", "jeans", "pants", "sweater", "sweatshirt", "coat", "shorts",
                 "jersey", "tracksuit", "joggers", "leggings", "polo", "cap", "hat", "beanie",
                 "underwear", "briefs", "boxers", "socks", "衣服", "t"),
    "watches": ("watch", "watches", "wristwatch", "chronograph", "diver", "表", "手表"),
    "jewelry": ("ring", "rings", "necklace", "bracelet", "bracelets", "earring", "earrings",
                "pendant", "bangle", "jewelry", "jewellery", "brooch"),
    "accessories": ("belt", "belts", "scarf", "sunglasses", "eyewear", "wallet", "keychain",
                    "tie"),
    "perfume": ("perfume", "parfum", "fragrance", "cologne", "toilette", "edp", "edt"),
    "cosmetics": ("lipstick", "makeup", "cosmetics", "foundation", "mascara", "palette"),
    "electronics": ("phone", "smartphone", "iphone", "laptop", "tablet", "computer", "headphones",
                    "earbuds", "charger", "cable", "smartwatch", "speaker", "monitor"),
    "printers": ("printer", "printers", "toner", "ink", "cartridge", "laserjet", "inkjet"),
    "sportswear": ("jersey", "tracksuit", "shorts", "sneakers", "trainers", "hoodie"),
}
CATEGORY_WORDS["jewellery"] = CATEGORY_WORDS["jewelry"]
CATEGORY_WORDS["fragrance"] = CATEGORY_WORDS["perfume"]
CATEGORY_WORDS["apparel"] = CATEGORY_WORDS["clothing"]
CATEGORY_WORDS["footwear"] = CATEGORY_WORDS["shoes"]
CATEGORY_WORDS["handbags"] = CATEGORY_WORDS["bags"]

# Clothing, bags and jewellery: "for <brand>" on these is never a real compatibility.
FASHION_WORDS = frozenset(
    w for cat in ("bags", "shoes", "clothing", "watches", "jewelry", "accessories") for w in CATEGORY_WORDS[cat]
    if w != "t")

# Catalogue categories of fashion goods and toys: a brand selling these has no normal
# third-party accessories, so "for <brand>" is a false claim even when the brand says nothing
# (a brand of technical or unknown goods: only on worn products).
FASHION_CATEGORIES = frozenset({
    "bags", "handbags", "shoes", "footwear", "clothing", "apparel", "sportswear", "watches", "jewelry",
    "jewellery", "accessories", "perfume", "fragrance", "cosmetics", "sunglasses", "eyewear", "belts",
    "underwear", "luxury", "fashion", "toys"})

# Worn products: "for <brand>" on these is false even for brands whose third-party
# accessories are normal (a laptop bag or a watch band for Apple is an accessory).
WORN_WORDS = frozenset(
    w for cat in ("shoes", "clothing", "jewelry") for w in CATEGORY_WORDS[cat] if w != "t")

# Words that say the title is about the brand as a brand (context for ambiguous names).
BRAND_CUES = frozenset({"brand", "authentic", "genuine", "official", "designer", "logo", "monogram"})

_INDICATOR_TOKENS = {
    "replica": "replica", "replicas": "replica", "replika": "replica", "fake": "fake",
    "fakes": "fake", "knockoff": "knockoff", "knockoffs": "knockoff", "counterfeit": "counterfeit",
    "unbranded": "unbranded", "oem": "oem", "aaa": "aaa", "replique": "replica",
    "réplica": "replica", "高仿": "高仿", "同款": "同款",
    "一比一": "一比一", "复刻": "复刻", "精仿": "精仿", "原单": "原单", "a货": "a货",
}
_INDICATOR_PHRASES = (
    ("mirror", "quality"), ("mirror", "image"), ("original", "quality"), ("top", "grade"),
    ("super", "copy"), ("high", "copy"), ("knock", "off"), ("1", "to", "1"),
    ("aaa", "quality"), ("top", "quality", "copy"), ("copy", "of"),
)
_CJK_INDICATORS = ("高仿", "同款", "一比一", "1比1", "复刻", "精仿", "原单", "a货", "超a")
_ONE_TO_ONE = re.compile(r"(?<![\d.,:/])1\s*[:：]\s*1(?![\d.,:/])")

_BATTERY = frozenset({"battery", "batteries", "alkaline", "rechargeable", "cell", "cells", "nimh",
                      "akku", "batterien", "pilas", "piles", "duracell", "energizer", "lr03"})
_CAR_PARTS = frozenset({"car", "auto", "automotive", "vehicle", "engine", "brake", "brakes",
                        "bumper", "headlight", "radiator", "filter", "sensor", "gasket",
                        "motorcycle", "truck", "parts", "part", "replacement", "genuine"})
_JERSEY = frozenset({"jersey", "jerseys", "kit", "shirt", "trikot", "camiseta", "maillot"})
_LICENSED = frozenset({"licensed", "officially", "official", "licence", "license"})
# Licensed fan merchandise names its licence: an official "replica" helmet, wand or trophy
# is the product's real name there ("officially licensed", "licensed", "official merchandise").
_LICENSED_MERCH = frozenset({"licensed", "officially", "licence", "merchandise", "merch", "collectible",
                             "collectors", "collector"})
_SCALE_MODEL = frozenset({"scale", "diecast", "die", "model", "models", "prop", "replicas"})


@dataclass(frozen=True)
class IndicatorHit:
    """A counterfeit indicator found in a title: its term and plain-view span."""

    term: str
    start: int
    end: int
    generic: bool  # True for OEM: only suspicious for brands without accessories


def category_words(categories: Iterable[str]) -> set[str]:
    """Words naming products of the given catalogue categories."""
    out: set[str] = set()
    for category in categories:
        key = category.casefold().strip()
        out.update(CATEGORY_WORDS.get(key, ()))
        out.add(key)
        if key.endswith("s"):
            out.add(key[:-1])
    out.discard("t")
    return out


def _guarded(term: str, words: frozenset[str], plain: str) -> bool:
    """True when the indicator is an ordinary use here (AAA battery, OEM car part ...)."""
    if term == "aaa":
        return bool(words & _BATTERY)
    if term == "oem":
        return bool(words & _CAR_PARTS)
    if term == "replica":
        return bool(words & _LICENSED_MERCH or (words & _JERSEY and words & _LICENSED) or words & _SCALE_MODEL
                    or re.search(r"\b1\s*:\s*\d{2,}", plain))
    if term == "1:1":
        return bool(words & {"scale", "model", "ratio", "aspect"})
    return False


INDICATOR_STARTS = frozenset(_INDICATOR_TOKENS) | {p[0] for p in _INDICATOR_PHRASES}
_PHRASES_BY_START: dict[str, tuple[tuple[str, ...], ...]] = {
    w: tuple(p for p in _INDICATOR_PHRASES if p[0] == w) for w in {p[0] for p in _INDICATOR_PHRASES}}


def find_indicators(tokens: Sequence[str], starts: Sequence[int], plain: str,
                    words: frozenset[str]) -> list[IndicatorHit]:
    """Counterfeit indicators in a title, after the guards that make them ordinary."""
    hits: list[IndicatorHit] = []
    present = words & INDICATOR_STARTS
    for i, token in enumerate(tokens) if present else ():
        if token not in present:
            continue
        term = _INDICATOR_TOKENS.get(token)
        if term is not None and not _guarded(term, words, plain):
            hits.append(IndicatorHit(term, starts[i], starts[i] + len(token), term == "oem"))
        for phrase in _PHRASES_BY_START.get(token, ()):
            n = len(phrase)
            if tuple(tokens[i:i + n]) == phrase:
                end = starts[i + n - 1] + len(tokens[i + n - 1])
                hits.append(IndicatorHit(" ".join(phrase), starts[i], end, False))
    if ":" in plain or "：" in plain:
        for m in _ONE_TO_ONE.finditer(plain):
            if not _guarded("1:1", words, plain):
                hits.append(IndicatorHit("1:1", m.start(), m.end(), False))
    if plain.isascii():
        return hits  # every CJK indicator (1比1 too) holds a non-ASCII character
    for term in _CJK_INDICATORS:
        pos = plain.find(term)
        if pos >= 0 and not any(h.start <= pos < h.end for h in hits):
            hits.append(IndicatorHit(term, pos, pos + len(term), False))
    return hits


def title_indicators(nt) -> tuple[IndicatorHit, ...]:
    """:func:`find_indicators` of a normalised title, computed once and kept on it."""
    found = nt.indicators
    if found is None:
        found = nt.indicators = tuple(find_indicators(nt.texts, nt.pstarts, nt.plain, nt.words))
    return found


_AFTER_STYLE = frozenset({"style", "styled", "stil", "estilo", "inspired", "type", "dupe", "dupes",
                          "alike", "lookalike", "like", "ish", "esque", "similar", "风格", "风"})
# Words that must follow the brand directly; the others may sit a few words later
# ("Gucci Marmont inspired").
_AFTER_NEAR = frozenset({"style", "styled", "stil", "estilo", "type", "like", "ish", "esque",
                         "similar", "inspired", "风格", "风"})
_BEFORE_PHRASES = (
    ("inspired", "by"), ("comparable", "to"), ("compare", "to"), ("same", "as"), ("similar", "to"),
    ("dupe", "of"), ("dupe", "for"), ("alternative", "to"), ("looks", "like"), ("look", "like"),
    ("not",), ("dupe",), ("inspiré", "de"), ("like",),
    ("in", "the", "style", "of"), ("knock", "off", "of"),
    ("same", "as", "original"), ("same", "as", "the", "original"), ("like", "original"),
    ("like", "the", "original"),
)
# Every word any look-alike phrase uses: a title with none of them needs no check.
PHRASE_WORDS = frozenset(_AFTER_STYLE) | {w for p in _BEFORE_PHRASES for w in p}
_STYLE_GUARD_NEXT = frozenset({"code", "no", "number", "nr", "id", "c", "a", "b", "2", "3"})


def lookalike_phrase(tokens: Sequence[str], first: int, last: int) -> str | None:
    """Look-alike phrasing around the brand tokens ``tokens[first:last]``, if any."""
    for i in range(last, min(last + 3, len(tokens))):
        word = tokens[i]
        if word in _AFTER_NEAR and i != last:
            break  # "pouch style", "crimp type": the style word belongs to another noun
        if word in _AFTER_STYLE:
            nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
            if word in ("style", "type") and (nxt in _STYLE_GUARD_NEXT or nxt.isdigit()):
                continue
            return word
    for phrase in _BEFORE_PHRASES:
        n = len(phrase)
        if first - n >= 0 and tuple(tokens[first - n:first]) == phrase:
            return " ".join(phrase)
    return None


_COMPAT_TRIGGERS = (
    ("compatible", "with"), ("replacement", "for"), ("works", "with"), ("suitable", "for"),
    ("fits",), ("for",), ("compatible",), ("para",), ("pour",), ("voor",),
)
COMPAT_WORDS = frozenset(w for p in _COMPAT_TRIGGERS for w in p)
_FILLERS = frozenset({"the", "all", "your", "my", "most", "any", "new", "old", "use", "with",
                      "and", "or", "und", "y", "et", "de", "a", "an", "genuine", "original"})


def compat_trigger_before(tokens: Sequence[str], index: int) -> int | None:
    """Index where a "for"/"compatible with" phrase ends right before ``index``.

    Filler words between the trigger and the brand are skipped (for the, for all).
    """
    i = index
    while i > 0 and tokens[i - 1] in _FILLERS and index - i < 3:
        i -= 1
    for phrase in _COMPAT_TRIGGERS:
        n = len(phrase)
        if i - n >= 0 and tuple(tokens[i - n:i]) == phrase:
            return i - n
    return None


COLLAB_WORDS = frozenset({"x", "×", "collab", "collaboration", "feat", "featuring", "ft"})


def is_collab_gap(between: str) -> bool:
    """True when the text between two brand names marks a collaboration (Adidas x Gucci)."""
    words = re.findall(r"[^\W_]+|×", between)
    return len(words) == 1 and words[0] in COLLAB_WORDS


# Words that can trigger any context rule; a title without them skips those rules.
# Function words are left out: every rule using one also needs a distinctive word
# (comparable to, compatible with, in the style of).
CUE_WORDS = (PHRASE_WORDS | COMPAT_WORDS | INDICATOR_STARTS) - {
    "the", "in", "of", "to", "by", "as", "with", "de", "a", "an"}

# The distinctive words of the look-alike phrases: every phrase holds at least one,
# so a title with none of them has no look-alike phrasing.
_PHRASE_GLUE = frozenset({"by", "to", "as", "of", "for", "in", "the", "off", "de"})
PHRASE_CUES = frozenset(_AFTER_STYLE) | {w for p in _BEFORE_PHRASES for w in p if w not in _PHRASE_GLUE}
assert all(not _PHRASE_GLUE.issuperset(p) for p in _BEFORE_PHRASES)
# Likewise for compatibility: every trigger holds one of these ("with" alone is none).
COMPAT_CUES = COMPAT_WORDS - {"with"}
