"""Titles that name several brands: collaborations, compatibility lists, shared names, stuffing.

A real catalogue of thousands of brands finds several "brands" in most titles; nearly all
of them are ordinary words (a colour, a size, another brand's model). These rules decide
what such a title does:

* a collaboration ("Adidas x Gucci") names both brands, and is one group, not stuffing;
* brands in a compatibility list ("for iPhone, Samsung and Huawei") are what the product
  fits, never stuffing;
* a name two brands share is attributed by each brand's own context (category words,
  product lines, the listing's category) or reported as ambiguous between them;
* brand stuffing is several brands used as keywords: two brands that sell the same
  kind of product (a shared category) and are both names buyers search for (in the word
  lists of the marketplace languages), or three or more with at least two listed side
  by side. Only brands whose goods are known (with categories) count; a name marked
  ambiguous (titles/names.py) counts only when listed right beside a distinctive name and
  never makes stuffing with fewer than two distinctive names,
  and a name that is another named brand's product line never counts.
"""

from __future__ import annotations

import re
from typing import Protocol, Sequence

from counterfeit_vision.titles.candidates import Hit
from counterfeit_vision.titles.lexicon import EVASIVE, LINE, NAME, Lexicon
from counterfeit_vision.titles.normalize import NormalizedTitle
from counterfeit_vision.titles.rules import COLLAB_WORDS, compat_trigger_before, is_collab_gap

__all__ = ["add_stuffing", "attribute_shared", "collab_hits", "compat_start", "drop_coincidental_typos",
           "drop_foreign_lines", "unit_reading"]

# Between two listed brand names: separators and list words only ("Nike, Adidas & Puma").
_LIST_GAP = re.compile(r"^[\s,/&+|;·\-]*(?:(?:and|or|und|y|et|e|o)[\s,/&+|;·\-]*)?$")
_NUMBER = re.compile(r"^\d+(?:[.,]\d+)?$")


class TitleContext(Protocol):
    nt: NormalizedTitle
    tokens: tuple[str, ...]
    words: frozenset[str]


def compat_start(hit: Hit, ctx: TitleContext, kept: dict[int, list[Hit]]) -> int | None:
    """Where the "for ..." phrase governing ``hit`` starts, following brand lists."""
    first = hit.first
    starts = {h.last: h.first for hs in kept.values() for h in hs}
    for _ in range(8):
        trigger = compat_trigger_before(ctx.tokens, first)
        if trigger is not None:
            return trigger
        i = first
        while i > 0 and ctx.tokens[i - 1] in ("and", "or", "y", "et", "und"):
            i -= 1
        if i not in starts:
            return None
        first = starts[i]  # the previous brand in a list: "for Nike, Adidas and Puma"
    return None


def drop_coincidental_typos(hits: list[Hit]) -> list[Hit]:
    """A typo of brand A next to a clean name of brand B is B's product name, not A.

    Genuine listings name their own brand; "da-lite ... electrol" is a Da-Lite
    product, not a disguised "Electron".
    """
    clean = {h.brand for h in hits if h.kind in (NAME, EVASIVE) and not h.reasons}
    if not clean:
        return hits
    return [h for h in hits
            if h.reasons != ("misspelling",) or h.brand in clean or not (clean - {h.brand})]


def drop_foreign_lines(hits: list[Hit]) -> list[Hit]:
    """A product line of brand A right after brand B's clean name is B's model ("Ferrari
    Daytona" is no Rolex), unless A is named in the title too."""
    named = {h.brand for h in hits if h.kind == NAME}
    ends = {h.last: h.brand for h in hits if h.kind == NAME and not h.reasons}
    return [h for h in hits if not (h.kind == LINE and h.brand not in named
                                    and ends.get(h.first, h.brand) != h.brand)]


def unit_reading(hit: Hit, lex: Lexicon, tokens: Sequence[str]) -> bool:
    """A short name right after a number that is also a unit: "10 HP", "4 GB" are quantities."""
    if hit.entry not in lex.unit_entries or hit.reasons or hit.first == 0 or hit.last - hit.first != 1:
        return False
    return _NUMBER.match(tokens[hit.first - 1]) is not None


def collab_hits(hits: list[Hit], nt: NormalizedTitle) -> frozenset[int]:
    """Entries of name hits in a collaboration pattern with another brand ("<brand> x <brand>")."""
    if nt.words.isdisjoint(COLLAB_WORDS):
        return frozenset()
    names = sorted((h for h in hits if h.kind in (NAME, EVASIVE)), key=lambda h: h.plain_span)
    out: set[int] = set()
    for a, b in zip(names, names[1:]):
        if a.brand != b.brand and a.plain_span[1] <= b.plain_span[0] and \
                is_collab_gap(nt.plain[a.plain_span[1]:b.plain_span[0]]):
            out.update((a.entry, b.entry))
    return frozenset(out)


def attribute_shared(kept: dict[int, list[Hit]], lex: Lexicon, has_own_context) -> dict[int, tuple[int, ...]]:
    """Settle names two brands share: keep the brands with their own context here, or, when
    none (or several) has it, keep them all and return brand -> the brands it is confused with.

    ``kept`` is edited in place; ``has_own_context(brand, hits)`` is the matcher's test.
    """
    if len(kept) < 2:
        return {}
    claims = _claims(kept)
    if not claims:
        return {}
    claimed = {span for _, spans in claims for span in spans}
    # a brand also named elsewhere in the title settles every claim for itself; each brand's
    # tests are made once (a long OCR text repeating a shared name stays linear)
    free = {b for b in kept if any(h.kind in (NAME, EVASIVE) and h.plain_span not in claimed for h in kept[b])}
    context: dict[int, bool] = {}
    drop: dict[int, set[tuple[int, int]]] = {}
    out: dict[int, tuple[int, ...]] = {}
    for claim, spans in claims:
        with_context = claim & free
        if not with_context:
            for b in claim:
                if b not in context:
                    context[b] = has_own_context(b, kept[b])
            with_context = {b for b in claim if context[b]}
        if len(with_context) == 1:
            for b in claim - with_context:
                drop.setdefault(b, set()).update(spans)
            continue
        for b in claim:
            out[b] = tuple(sorted(set(out.get(b, ())) | (claim - {b})))
    for b, spans in drop.items():
        kept[b] = [h for h in kept[b] if h.plain_span not in spans]
        if not kept[b]:
            del kept[b]
            out.pop(b, None)
    return out


def _claims(kept: dict[int, list[Hit]]) -> list[tuple[set[int], set[tuple[int, int]]]]:
    """Brands whose names cover the same words (a shared name, or one brand entered twice:
    Powermat / Power-Mat), with those words' spans; one name can only name one brand."""
    names = sorted((h.plain_span, b) for b, hs in kept.items() for h in hs if h.kind in (NAME, EVASIVE))
    out: list[tuple[set[int], set[tuple[int, int]]]] = []
    end = -1
    for span, brand in names:
        if out and span[0] < end:
            out[-1][0].add(brand)
            out[-1][1].add(span)
            end = max(end, span[1])
        else:
            out.append(({brand}, {span}))
            end = span[1]
    return [(brands, spans) for brands, spans in out if len(brands) > 1]


def add_stuffing(kept: dict[int, list[Hit]], reasons: dict[int, list[str]], ctx: TitleContext,
                 lex: Lexicon, compat_possible: bool) -> None:
    """Several brands used as keywords in one title (see the module docstring)."""
    if len(kept) < 2:
        return
    line_spans = [(h.plain_span, b) for b, hs in kept.items() for h in hs if h.kind == LINE]
    candidates = []
    for brand, hits in kept.items():
        info = lex.brands[brand]
        names = [h for h in hits if h.kind in (NAME, EVASIVE)
                 and not any(s[0] <= h.plain_span[0] and h.plain_span[1] <= s[1] and b != brand
                             for s, b in line_spans)]
        if not names or info.accessories or not info.brand.categories or "false_compatibility" in reasons[brand]:
            continue  # what a brand without categories sells is unknown: it stuffs nothing
        if compat_possible and any(compat_start(h, ctx, kept) is not None for h in names):
            continue  # a compatibility list names what the product fits
        candidates.append((min(h.plain_span for h in names), brand, names))
    candidates.sort()
    counted = _drop_lone_words(candidates, ctx, lex)
    groups = _collab_groups(counted, ctx)
    names = {brand: hits for _, brand, hits in counted}
    # groups holding a distinctive name: marked names only ever add to a list of real brands
    distinct = sum(any(_distinctive(names[b], lex) for b, _ in g) for g in groups)
    if (len(groups) >= 3 and distinct >= 2 and _listed(groups, ctx)) or (
            len(groups) == 2 and distinct == 2 and _share_category(groups, lex) and _searched(groups, counted, lex)):
        for group in groups:
            for brand, _ in group:
                reasons[brand].append("brand_stuffing")


def _distinctive(names: list[Hit], lex: Lexicon) -> bool:
    return any(h.entry not in lex.marked for h in names)


def _drop_lone_words(candidates, ctx: TitleContext, lex: Lexicon):
    """Marked (word-like) names count only when listed right beside a distinctive one."""
    out = []
    for k, (span, brand, names) in enumerate(candidates):
        if _distinctive(names, lex):
            out.append((span, brand, names))
            continue
        neighbours = [candidates[j] for j in (k - 1, k + 1) if 0 <= j < len(candidates)]
        if any(_distinctive(n[2], lex) and _adjacent(span, n[0], ctx) for n in neighbours):
            out.append((span, brand, names))
    return out


def _adjacent(a: tuple[int, int], b: tuple[int, int], ctx: TitleContext) -> bool:
    if a > b:
        a, b = b, a
    return a[1] <= b[0] and _LIST_GAP.match(ctx.nt.plain[a[1]:b[0]]) is not None


def _listed(groups: list[list[tuple[int, tuple[int, int]]]], ctx: TitleContext) -> bool:
    """Two groups side by side, names separated only by list punctuation or "and"."""
    spans = sorted(span for g in groups for _, span in g)
    return any(_adjacent(a, b, ctx) for a, b in zip(spans, spans[1:]))


def _collab_groups(counted, ctx: TitleContext) -> list[list[tuple[int, tuple[int, int]]]]:
    groups: list[list[tuple[int, tuple[int, int]]]] = []
    prev_end = None
    for span, brand, names in counted:
        end = max(h.plain_span[1] for h in names)
        # a collaboration, or the same words claimed by two entries of one brand (Powermat / Power-Mat)
        if prev_end is not None and groups and (span[0] < prev_end or is_collab_gap(ctx.nt.plain[prev_end:span[0]])):
            groups[-1].append((brand, span))
        else:
            groups.append([(brand, span)])
        prev_end = end
    return groups


def _searched(groups, counted, lex: Lexicon) -> bool:
    """Two brands stuff a title only when both are names buyers search for: written often enough
    to be in the marketplace languages' word lists (Nike, Gucci, Kors). A co-brand nobody writes
    is the maker's own sub-brand or partner (Audiovox Sirius, Jwin iLuv), not a keyword."""
    names = {brand: hits for _, brand, hits in counted}
    common = lex.common_words
    if not common:
        return True  # no word lists: no way to tell, keep the plain rule

    def written(hit) -> bool:
        key = lex.entries[hit.entry].key
        return key in common or key.replace(" ", "") in common or all(t in common for t in key.split(" "))

    return all(any(written(h) for h in names[b]) for g in groups for b, _ in g)


def _share_category(groups, lex: Lexicon) -> bool:
    cats = [{c.casefold() for b, _ in g for c in lex.brands[b].brand.categories} for g in groups]
    return bool(cats[0] & cats[1])
