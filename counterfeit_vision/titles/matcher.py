"""The title matcher: per brand, does a title misuse the brand, mention it, or neither.

Flow for one title: normalise -> candidate hits (exact, look-alike, typo) ->
per-brand gates (ambiguous names need brand context, negative context
suppresses, abbreviations need corroboration) -> context reasons (indicators,
look-alike phrasing, false compatibility, brand stuffing) -> one finding per
brand, ``misuse`` when any reason holds and ``mention`` otherwise.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from typing import Iterable, Sequence

from counterfeit_vision.catalog import Catalog
from counterfeit_vision.titles.candidates import FuzzyFinder, Hit, find_hits
from counterfeit_vision.titles.lexicon import ABBR, EVASIVE, LINE, NAME, BrandInfo, Lexicon
from counterfeit_vision.titles.multibrand import (
    add_stuffing,
    attribute_shared,
    collab_hits,
    compat_start,
    drop_coincidental_typos,
    drop_foreign_lines,
    unit_reading,
)
from counterfeit_vision.titles.normalize import NormalizedTitle, normalize
from counterfeit_vision.titles.rules import (
    CATEGORY_WORDS,
    COLLAB_WORDS,
    COMPAT_CUES,
    FASHION_CATEGORIES,
    INDICATOR_STARTS,
    PHRASE_CUES,
    PHRASE_WORDS,
    WORN_WORDS,
    IndicatorHit,
    category_words,
    compat_trigger_before,
    lookalike_phrase,
    title_indicators,
)

__all__ = ["TitleFinding", "TitleMatcher", "REASON_WEIGHTS", "MAX_TITLE_CHARS", "PHOTO_TEXT_MISUSE",
           "photo_text_finding"]

log = logging.getLogger(__name__)

MAX_TITLE_CHARS = 2000  # longer text is cut: titles are short, OCR text can be long

# Strength of each reason as misuse evidence; a finding's score combines them
# as independent evidence: 1 - prod(1 - w).
REASON_WEIGHTS: dict[str, float] = {
    "homoglyph_script_mix": 0.95, "invisible_chars": 0.95, "evasive_alias": 0.9,
    "leetspeak": 0.9, "indicator": 0.9, "lookalike_phrase": 0.85, "styled_letters": 0.8,
    "lookalike_chars": 0.8, "spaced_letters": 0.8, "split_name": 0.8, "false_compatibility": 0.7,
    "misspelling": 0.6, "foreign_script_name": 0.6, "brand_stuffing": 0.6, "abbreviation": 0.5,
}
_REASON_ORDER = {r: i for i, r in enumerate(REASON_WEIGHTS)}

# Photo text comes through OCR, which misreads letters ("Sprie", "Goegle", "K O R V E X", "Haidane"): a
# near-miss of a name there is a sighting of the brand, not a seller's evasion. Misuse in photo text
# needs what OCR noise does not make: indicator words and look-alike phrasing, a digit or symbol inside
# the letters ("G00gle"), a coded name, a false "for <brand>".
PHOTO_TEXT_MISUSE = frozenset({"indicator", "lookalike_phrase", "leetspeak", "evasive_alias", "false_compatibility"})

# Reasons that only a deliberate hand produces: they stand even without brand context.
_HARD_EVASION = frozenset({"homoglyph_script_mix", "invisible_chars", "styled_letters", "evasive_alias"})


@dataclass(frozen=True)
class TitleFinding:
    """What a title does with one brand.

    Attributes:
        brand_id: the catalogue id of the brand.
        verdict: ``"misuse"`` (with reasons) or ``"mention"`` (legitimate use).
        reasons: reason codes, strongest first; empty for a mention.
        span: offsets of the matched brand text in the original title.
        matched_text: ``title[span[0]:span[1]]``.
        score: misuse evidence strength in [0, 1]; 0 for a mention.
        context: how a legitimate mention uses the name: ``("compatible_accessory",)``
            for "case for <brand>" where the brand's third-party accessories are
            normal (the brand is what the product fits, not who made it);
            ``"shared_name"`` when the matched name is claimed by several brands and
            nothing in the title tells which one it is.
        shared_with: for a ``"shared_name"`` finding, the other brands' ids claiming
            the name (each of them gets its own finding): ambiguous, never silently one.
    """

    brand_id: str
    verdict: str
    reasons: tuple[str, ...]
    span: tuple[int, int]
    matched_text: str
    score: float
    context: tuple[str, ...] = ()
    shared_with: tuple[str, ...] = ()

    @property
    def accessory_mention(self) -> bool:
        """'case for iPhone': the brand is named as what the product fits, not who made it."""
        return self.verdict == "mention" and "compatible_accessory" in self.context


class _Context:
    """Title-wide facts the per-brand rules share (a slotted class: built per title)."""

    __slots__ = ("nt", "tokens", "words", "indicators", "category_words", "category", "phrase_possible",
                 "compat_possible", "collab")

    def __init__(self, nt: NormalizedTitle, tokens: tuple[str, ...], words: frozenset[str],
                 indicators: tuple[IndicatorHit, ...], category_words: frozenset[str], category: str | None,
                 phrase_possible: bool, compat_possible: bool):
        self.nt = nt
        self.tokens = tokens
        self.words = words
        self.indicators = indicators
        self.category_words = category_words
        self.category = category
        self.phrase_possible = phrase_possible  # some look-alike phrase word occurs in the title
        self.compat_possible = compat_possible  # some "for"/"compatible" word occurs in the title
        self.collab: frozenset[int] = frozenset()  # entries in a "<brand> x <brand>" pattern

    def phrase(self, hits: list[Hit]) -> bool:
        """Look-alike phrasing around any of ``hits``."""
        return self.phrase_possible and any(lookalike_phrase(self.tokens, h.first, h.last) for h in hits)


class TitleMatcher:
    """Reads titles against every brand of a catalogue, compiled once."""

    def __init__(self, lexicon: Lexicon):
        self.lexicon = lexicon
        self._fuzzy = FuzzyFinder(lexicon)

    @classmethod
    def from_catalog(cls, catalog: Catalog, *, common_words: Iterable[str] | None = None) -> "TitleMatcher":
        """Compile a matcher for all brands of ``catalog``.

        Args:
            catalog: the brand catalogue.
            common_words: ordinary words that are never read as typos of a brand;
                defaults to the most frequent words of seven marketplace languages.
        """
        return cls(Lexicon(catalog, common_words))

    def misuse_marks(self, title: str, finding: TitleFinding) -> list[tuple[int, int, str, str]]:
        """Every span of ``title`` that makes ``finding`` misuse: ``(start, end, reason code, why)``.

        The brand's own words carry the spelling reasons (``leetspeak``, ``misspelling``, ...); a
        counterfeit indicator ("replica", "AAA") and a look-alike phrase ("style", "inspired by")
        are marked where they stand. A reviewer sees each highlighted with its reason.
        """
        if finding.verdict != "misuse" or not isinstance(title, str):
            return []
        text = title[:MAX_TITLE_CHARS]
        nt = normalize(text)
        marks: list[tuple[int, int, str, str]] = []
        spelling = [r for r in finding.reasons if r not in _PLACED_REASONS]
        if spelling:
            marks.append((*finding.span, spelling[0], "brand name: " + ", ".join(spelling)))
        info = self._brand_info(finding.brand_id)
        if "indicator" in finding.reasons and info is not None:
            for ind in title_indicators(nt):
                if self._indicator_applies(ind, info):
                    marks.append((*nt.plain_to_original(ind.start, ind.end), "indicator",
                                  f"counterfeit indicator {ind.term!r}"))
        if "lookalike_phrase" in finding.reasons:
            marks += _phrase_marks(nt, finding.span)
        # "AAA" inside "AAA quality": the longer phrase says it
        return sorted(m for m in set(marks) if not any(o != m and o[2] == m[2] and o[0] <= m[0] and m[1] <= o[1]
                                                         for o in marks))

    def _brand_info(self, brand_id: str) -> BrandInfo | None:
        return next((b for b in self.lexicon.brands if b.brand.id == brand_id), None)

    def match_photo_text(self, text: str) -> list[TitleFinding]:
        """Findings for text OCR read in a photo: :meth:`match` with OCR's misreadings not counted as
        misuse (:func:`photo_text_finding`)."""
        return [photo_text_finding(f) for f in self.match(text)]

    def match(self, title: str, *, category: str | None = None) -> list[TitleFinding]:
        """Findings for one title (or OCR text), one per brand, ordered by position."""
        if not isinstance(title, str) or not title.strip():
            return []
        text = title[:MAX_TITLE_CHARS]
        nt = normalize(text)
        if not nt.texts:
            return []
        hits = find_hits(nt, self.lexicon, self._fuzzy)
        if not hits:
            return []
        if any(h.reasons == ("misspelling",) for h in hits):
            hits = drop_coincidental_typos(hits)
        if len(hits) > 1 and any(h.kind == LINE for h in hits):
            hits = drop_foreign_lines(hits)
        fast = None if category else self._plain_mentions(nt, hits, text)
        if fast is not None:
            return fast
        ctx = self._context(nt, category)
        ctx.collab = collab_hits(hits, nt)
        by_brand: dict[int, list[Hit]] = {}
        for hit in hits:
            by_brand.setdefault(hit.brand, []).append(hit)
        kept = {b: hs for b, hs in ((b, self._gate(b, hs, ctx)) for b, hs in by_brand.items()) if hs}
        shared = attribute_shared(kept, self.lexicon, lambda b, hs: self._own_context(self.lexicon.brands[b], hs, ctx))
        reasons = {b: self._context_reasons(b, hs, ctx, kept) for b, hs in kept.items()}
        add_stuffing(kept, reasons, ctx, self.lexicon, ctx.compat_possible)
        findings = []
        brands = self.lexicon.brands
        for b, hs in kept.items():
            finding = self._finding(b, hs, reasons[b], text, nt)
            if (finding.verdict == "mention" and ctx.compat_possible
                    and any(compat_start(h, ctx, kept) is not None for h in hs)):
                finding = replace(finding, context=("compatible_accessory",))
            if b in shared:
                finding = replace(finding, context=(*finding.context, "shared_name"),
                                  shared_with=tuple(brands[o].brand.id for o in shared[b]))
            findings.append(finding)
        return sorted(findings, key=lambda f: (f.span, f.brand_id))

    def match_batch(self, titles: Sequence[str], *, categories: Sequence[str | None] | None = None
                    ) -> list[list[TitleFinding]]:
        """:meth:`match` over many titles; ``categories`` aligns with ``titles``."""
        if categories is not None and len(categories) != len(titles):
            raise ValueError("categories must have one entry per title")
        cats = categories if categories is not None else [None] * len(titles)
        return [self.match(t, category=c) for t, c in zip(titles, cats)]

    def _plain_mentions(self, nt: NormalizedTitle, hits: list[Hit], text: str) -> list[TitleFinding] | None:
        """Fast path: clean names of unambiguous brands and no cue anywhere -> mentions.

        Cues: a counterfeit indicator, a look-alike phrase word, a compatibility
        word. A clean product line beside its own brand's clean name changes
        nothing (the name is reported); alone, it is the mention (iPad).

        Returns None whenever any rule could change the outcome; the full path
        then decides. Most real titles (a maker's own name) end here.
        """
        lex = self.lexicon
        brands = lex.brands
        if not nt.plain.isascii():
            return None
        line_brands = None
        marked = lex.marked
        special = lex.special_entries
        collab = not nt.words.isdisjoint(COLLAB_WORDS)
        for h in hits:
            if h.entry in special:
                if h.entry in lex.shared or unit_reading(h, lex, nt.texts):
                    return None
                if h.entry in marked and collab:
                    return None
            if collab and brands[h.brand].brand.ambiguous:
                return None  # "<brand> x Coach": the collaboration may give it context
            if h.reasons or h.weak or h.kind != NAME:
                if h.reasons or h.weak or h.kind != LINE:
                    return None
                line_brands = line_brands or set()
                line_brands.add(h.brand)
        words = nt.words
        if not PHRASE_CUES.isdisjoint(words) or title_indicators(nt):
            return None
        # "for <brand>" (or a list of brands after it) needs a trigger right before a hit.
        if not COMPAT_CUES.isdisjoint(words) and any(compat_trigger_before(nt.texts, h.first) is not None
                                                     for h in hits):
            return None
        first: dict[int, Hit] = {}
        lines: dict[int, Hit] = {}
        for hit in hits:
            info = brands[hit.brand]
            if info.negative and _negative_phrase(info, nt.texts, words):
                continue  # negative context: no finding (these hits carry no evasion)
            if hit.kind == LINE:
                if hit.brand not in lines or hit.plain_span[0] < lines[hit.brand].plain_span[0]:
                    lines[hit.brand] = hit
                continue
            # An ambiguous name needs brand context: here (no cue, no category) only a
            # context word, a brand cue or the brand's own product line can give it.
            ambiguous = info.brand.ambiguous
            if (ambiguous or hit.entry in marked) and words.isdisjoint(info.cue_words) and \
                    not (line_brands and hit.brand in line_brands) and \
                    not (not ambiguous and hit.entry in marked and any(a[0] in words for a in info.accessories)):
                continue
            if hit.brand not in first or hit.plain_span[0] < first[hit.brand].plain_span[0]:
                first[hit.brand] = hit
        for brand, hit in lines.items():
            # A product line without its brand's name counts unless it is an ordinary word.
            if brand not in first and self._line_counts(hit, False, nt.texts):
                first[brand] = hit
        if len(first) > 1 and _several_brands_matter(first, hits, lex):
            return None  # brand stuffing, or one name claimed twice, is possible
        out = []
        for brand, hit in first.items():
            span = nt.plain_to_original(*hit.plain_span)
            out.append(TitleFinding(brands[brand].brand.id, "mention", (), span, text[span[0]:span[1]], 0.0))
        return sorted(out, key=lambda f: (f.span, f.brand_id))

    # -- per-title context ---------------------------------------------------
    def _context(self, nt: NormalizedTitle, category: str | None) -> _Context:
        tokens = tuple(nt.texts)
        words = nt.words
        cat_words = frozenset(category_words([category])) if category else frozenset()
        indicators = title_indicators(nt)
        return _Context(nt, tokens, words, indicators, cat_words,
                        category.casefold() if category else None, not words.isdisjoint(PHRASE_WORDS),
                        not words.isdisjoint(COMPAT_CUES))

    # -- gates -----------------------------------------------------------------
    def _has_context(self, info: BrandInfo, hits: list[Hit], ctx: _Context) -> bool:
        """Brand context: a product line, category word, brand cue or counterfeit cue."""
        if ctx.indicators or not ctx.words.isdisjoint(info.cue_words):
            return True
        if ctx.category and any(ctx.category == c.casefold() for c in info.brand.categories):
            return True
        if any(h.kind == LINE for h in hits):
            return True
        if info.cjk_context and any(w in ctx.nt.plain for w in info.cjk_context):
            return True
        if ctx.phrase(hits) or any(h.entry in ctx.collab for h in hits):
            return True
        # "strap for Coach": only where that would be a false compatibility claim.
        return not info.accessories and "for" in ctx.words and _proper_noun_after_for(hits, ctx)

    def _own_context(self, info: BrandInfo, hits: list[Hit], ctx: _Context) -> bool:
        """The brand's own context: its category or product-line words, a brand cue, its
        product line, the listing's category, or a collaboration with another brand.
        Counterfeit cues are not enough here: "unbranded black bag" says nothing of Black."""
        if not ctx.words.isdisjoint(info.cue_words) or any(h.kind == LINE for h in hits):
            return True
        if info.accessories and any(a[0] in ctx.words for a in info.accessories):
            return True  # "HP toner": what the brand's products take is its context too
        if ctx.category and any(ctx.category == c.casefold() for c in info.brand.categories):
            return True
        if info.cjk_context and any(w in ctx.nt.plain for w in info.cjk_context):
            return True
        return any(h.entry in ctx.collab for h in hits)

    def _has_strong_context(self, hits: list[Hit], ctx: _Context) -> bool:
        """The brand's own product line, a counterfeit indicator or look-alike phrasing."""
        if ctx.indicators or any(h.kind == LINE for h in hits):
            return True
        return ctx.phrase(hits)

    def _negative(self, info: BrandInfo, ctx: _Context) -> bool:
        return _negative_phrase(info, ctx.tokens, ctx.words)

    def _gate(self, brand: int, hits: list[Hit], ctx: _Context) -> list[Hit]:
        """Keep only the hits that really refer to the brand."""
        lex = self.lexicon
        info = lex.brands[brand]
        if info.negative and self._negative(info, ctx):
            return [h for h in hits if h.reasons and not _HARD_EVASION.isdisjoint(h.reasons)]
        if any(unit_reading(h, lex, ctx.tokens) for h in hits):
            hits = [h for h in hits if not unit_reading(h, lex, ctx.tokens)]  # "10 HP", "4 GB"
        # a typo of a brand whose goods are unknown (no categories) is a coincidence
        # unless the title says it is about a brand (Aikon is a watch model, not Nikon)
        untyped = not info.brand.categories
        if len(hits) == 1 and "misspelling" in hits[0].reasons and not untyped and _other_goods(info, ctx):
            return []  # a typo of a brand of other goods: "Aikon chronograph watch" is no Arkon mount
        if not info.brand.ambiguous and all(h.kind == NAME and not h.weak and not h.needs_context
                                            and h.entry not in lex.marked
                                            and not (untyped and "misspelling" in h.reasons) for h in hits):
            return hits  # the common case: a plain or misspelt name of an unambiguous brand
        has_name = any(h.kind in (NAME, EVASIVE) and not h.weak for h in hits)
        hard = [h for h in hits if h.reasons and not _HARD_EVASION.isdisjoint(h.reasons)]
        contextual = self._has_context(info, hits, ctx)
        strong = self._has_strong_context(hits, ctx)
        own = None
        kept = []
        for hit in hits:
            if hit in hard:
                kept.append(hit)
            elif hit.entry in lex.marked and not info.brand.ambiguous and \
                    (not hit.reasons or hit.reasons == ("misspelling",)):  # "arnazon" is no word
                own = self._own_context(info, hits, ctx) if own is None else own
                if own:
                    kept.append(hit)
            elif untyped and "misspelling" in hit.reasons and not info.brand.ambiguous:
                if contextual:
                    kept.append(hit)
            elif hit.weak:
                if strong:
                    kept.append(hit)
            elif hit.kind == ABBR:
                key = self.lexicon.entries[hit.entry].key
                if not has_name and (strong or (contextual and key not in self.lexicon.very_common)):
                    kept.append(hit)
            elif hit.kind == LINE:
                if self._line_counts(hit, has_name, ctx.tokens) or self._cued_line(hit, ctx):
                    kept.append(hit)
            elif contextual or not (info.brand.ambiguous or hit.needs_context):
                kept.append(hit)
        return kept

    def _line_counts(self, hit: Hit, has_name: bool, tokens: Sequence[str]) -> bool:
        """A product line alone names the brand when it is not an ordinary word, or when a
        model follows it ("Galaxy S23", "Galaxy Buds Pro": a word, used as a model name)."""
        if has_name:
            return True
        entry = self.lexicon.entries[hit.entry]
        source = entry.source
        # iPhone, MacBook, 501: shaped like a product name even if frequent in text.
        shaped = any(c.isupper() for c in source[1:]) or any(c.isdigit() for c in source)
        if " " in entry.key or shaped or entry.key not in self.lexicon.common_words:
            return True
        return hit.last < len(tokens) and _MODEL_TAIL.match(tokens[hit.last]) is not None

    def _cued_line(self, hit: Hit, ctx: _Context) -> bool:
        """"Replica Submariner": a product line that is also a (rare) word, named beside a
        counterfeit indicator or look-alike phrasing that is not the line itself."""
        lex = self.lexicon
        key = lex.entries[hit.entry].key
        if key in lex.very_common or key in INDICATOR_STARTS or key in lex.brands[hit.brand].own_terms:
            return False  # a line named like an indicator (Margiela's Replica) is cued by nothing
        s, e = hit.plain_span
        return any(not (i.start < e and s < i.end) for i in ctx.indicators) or ctx.phrase([hit])

    # -- context reasons -------------------------------------------------------
    def _context_reasons(self, brand: int, hits: list[Hit], ctx: _Context,
                         kept: dict[int, list[Hit]]) -> list[str]:
        info = self.lexicon.brands[brand]
        reasons = [r for h in hits for r in h.reasons]
        if any(h.kind == ABBR for h in hits):
            reasons.append("abbreviation")
        if any(self._indicator_applies(ind, info) for ind in ctx.indicators):
            reasons.append("indicator")
        if ctx.phrase(hits):
            reasons.append("lookalike_phrase")
        if ctx.compat_possible and self._false_compat(info, hits, ctx, kept):
            reasons.append("false_compatibility")
        if self._foreign_script(hits, ctx):
            reasons.append("foreign_script_name")
        return reasons

    def _foreign_script(self, hits: list[Hit], ctx: _Context) -> bool:
        """A non-Latin name of the brand hidden in a Latin-script title (no Latin name beside it)."""
        entries = [self.lexicon.entries[h.entry] for h in hits if h.kind in (NAME, EVASIVE)]
        if not entries or any(e.latin for e in entries):
            return False
        latin = sum(len(t) for t in ctx.tokens if t.isascii() and any(c.isalpha() for c in t))
        return latin > sum(len(t) for t in ctx.tokens if not t.isascii())

    def _indicator_applies(self, ind: IndicatorHit, info: BrandInfo) -> bool:
        if ind.term in info.own_terms:
            return False  # the brand's own product name (e.g. a fragrance line called Replica)
        if ind.generic and (info.accessories or not {c.casefold() for c in info.brand.categories}
                            & FASHION_CATEGORIES):
            return False  # "OEM" toner, cables or drives: original equipment, a normal word there
        return True

    def _false_compat(self, info: BrandInfo, hits: list[Hit], ctx: _Context,
                      kept: dict[int, list[Hit]]) -> bool:
        """"for <brand>" where third-party products are not normal for the brand."""
        if not any(compat_start(h, ctx, kept) is not None for h in hits):
            return False
        if not info.accessories:
            return self._fashion_or_not_accessory(info, hits, ctx, kept)
        words = ctx.words
        if any(acc[0] in words and _has_phrase(ctx.tokens, acc) for acc in info.accessories):
            return False
        return bool(ctx.words & WORN_WORDS or ctx.category_words & WORN_WORDS)

    def _fashion_or_not_accessory(self, info: BrandInfo, hits: list[Hit], ctx: _Context,
                                  kept: dict[int, list[Hit]]) -> bool:
        """For a brand that declares no accessories: "for <brand>" is false for a fashion or
        toy brand and on worn goods; "charger for Nikon" or "Nikon flash for Nikon cameras"
        from a brand of technical or unknown goods is what it says."""
        cats = {c.casefold() for c in info.brand.categories}
        if cats & FASHION_CATEGORIES or ctx.words & WORN_WORDS or ctx.category_words & WORN_WORDS:
            return True
        return False

    # -- output ----------------------------------------------------------------
    def _finding(self, brand: int, hits: list[Hit], reasons: list[str], text: str,
                 nt: NormalizedTitle) -> TitleFinding:
        info = self.lexicon.brands[brand]
        ordered = tuple(sorted(set(reasons), key=lambda r: _REASON_ORDER.get(r, 99)))
        score = 0.0
        if ordered:
            remaining = 1.0
            for reason in ordered:
                weight = REASON_WEIGHTS.get(reason, 0.5)
                if reason == "misspelling":
                    weight *= max(h.similarity for h in hits)
                remaining *= 1.0 - weight
            score = round(1.0 - remaining, 4)
        best = max(hits, key=lambda h: (_hit_strength(h), h.kind == NAME, -h.plain_span[0]))
        span = nt.plain_to_original(*best.plain_span)
        return TitleFinding(info.brand.id, "misuse" if ordered else "mention", ordered, span,
                            text[span[0]:span[1]], score)


# reasons about the words around the brand, marked where they stand (misuse_marks); the others are
# about the brand's own words
_PLACED_REASONS = frozenset({"indicator", "lookalike_phrase"})


def _phrase_marks(nt: NormalizedTitle, span: tuple[int, int]) -> list[tuple[int, int, str, str]]:
    """The look-alike phrase words around the brand words at ``span`` (original characters)."""
    tokens = nt.texts
    inside = [i for i in range(len(tokens))
              if nt.plain_to_original(nt.pstarts[i], nt.pends[i])[0] < span[1]
              and nt.plain_to_original(nt.pstarts[i], nt.pends[i])[1] > span[0]]
    if not inside:
        return []
    first, last = inside[0], inside[-1] + 1
    phrase = lookalike_phrase(tokens, first, last)
    if phrase is None:
        return []
    words = phrase.split()
    n = len(words)
    if first - n >= 0 and list(tokens[first - n:first]) == words:
        a, b = nt.pstarts[first - n], nt.pends[first - 1]
    else:
        i = next((i for i in range(last, min(last + 3, len(tokens))) if tokens[i] == phrase), None)
        if i is None:
            return []
        a, b = nt.pstarts[i], nt.pends[i]
    return [(*nt.plain_to_original(a, b), "lookalike_phrase", f"look-alike phrase {phrase!r}")]


def photo_text_finding(finding: TitleFinding) -> TitleFinding:
    """A finding on OCR text, with the reasons OCR noise can produce taken out (see PHOTO_TEXT_MISUSE).

    A read whose only reasons were misreadings becomes a ``mention`` (``context`` gains
    ``"ocr_misread"``): the photo shows the brand's name, with the read's confidence, and that is all.
    """
    if finding.verdict != "misuse":
        return finding
    kept = tuple(r for r in finding.reasons if r in PHOTO_TEXT_MISUSE)
    if kept == finding.reasons:
        return finding
    if not kept:
        return replace(finding, verdict="mention", reasons=(), score=0.0, context=finding.context + ("ocr_misread",))
    remaining = 1.0
    for reason in kept:
        remaining *= 1.0 - REASON_WEIGHTS.get(reason, 0.5)
    return replace(finding, reasons=kept, score=round(1.0 - remaining, 4))


def _several_brands_matter(first: dict[int, Hit], hits: list[Hit], lex: Lexicon) -> bool:
    """Could the multi-brand rules change plain mentions of several brands? Only when two of
    them could make stuffing (goods known, no accessories, a distinctive name each) or two
    brands' names cover the same words (multibrand.attribute_shared)."""
    brands = lex.brands
    stuffers = {h.brand for h in hits if h.brand in first and h.kind == NAME and h.entry not in lex.marked
                and brands[h.brand].brand.categories and not brands[h.brand].accessories}
    if len(stuffers) >= 2:
        return True
    spans = sorted((h.plain_span, h.brand) for h in hits if h.brand in first and h.kind == NAME)
    return any(a[0][1] > b[0][0] and a[1] != b[1] for a, b in zip(spans, spans[1:]))


def _negative_phrase(info: BrandInfo, tokens: Sequence[str], words: frozenset[str]) -> bool:
    """Any of the brand's negative-context phrases in the title."""
    for phrase in info.negative:
        if phrase[0] not in words:
            continue
        n = len(phrase)
        if n == 1 or any(tuple(tokens[i:i + n]) == phrase for i in range(len(tokens) - n + 1)):
            return True
    return False


# What follows a product line used as a model name: "S23", "Buds", "Pro 2", "X5", "Watch 6".
_MODEL_TAIL = re.compile(r"^(?:[a-z]{0,2}\d{1,4}[a-z]{0,3}|pro|max|ultra|plus|mini|lite|buds|tab|note|fold|flip|"
                         r"watch|edge|fe|se|air)$")

_GOODS_WORDS = frozenset(w for words in CATEGORY_WORDS.values() for w in words if len(w) > 1)


def _other_goods(info: BrandInfo, ctx: _Context) -> bool:
    """The title names a kind of product, and none the brand sells."""
    goods = ctx.words & _GOODS_WORDS
    return bool(goods) and goods.isdisjoint(info.context_words) and not ctx.category_words & info.context_words


# "Gift for Coach": after these, "for <Name>" names who receives the product (a person,
# capitalised as a title), not what it fits.
RECIPIENT_NOUNS = frozenset({"gift", "gifts", "present", "presents", "card", "cards", "award", "awards",
                             "trophy", "plaque", "thanks"})


def _proper_noun_after_for(hits: list[Hit], ctx: _Context) -> bool:
    """"strap for Coach": a capitalised name right after a lower-case "for", in a title
    that is not written in title case or capitals, is used as a proper noun.

    Only the writer's capitals separate the brand from the word here, so the rule
    reads them strictly: "Coach" (not COACH) after "for" (not For), and most other
    words of the title starting lower-case. A gift (card, award) "for Coach" is for
    a person.
    """
    nt = ctx.nt
    if nt.orig_index is not None:
        return False  # capitals are read on ASCII titles only
    text = nt.original
    for hit in hits:
        i = hit.first
        if hit.kind != NAME or i == 0 or ctx.tokens[i - 1] != "for":
            continue
        if i >= 2 and ctx.tokens[i - 2] in RECIPIENT_NOUNS:
            continue
        word = text[hit.plain_span[0]:hit.plain_span[1]]
        if not (word[:1].isupper() and word[1:].islower()):
            continue
        if text[nt.pstarts[i - 1]:nt.pends[i - 1]] != "for":
            continue
        others = [text[a:b] for j, (a, b) in enumerate(zip(nt.pstarts, nt.pends))
                  if j not in (0, i - 1) and not hit.first <= j < hit.last and b - a >= 3 and text[a].isalpha()]
        if sum(w[0].islower() for w in others) * 2 >= len(others):
            return True
    return False


def _hit_strength(hit: Hit) -> float:
    remaining = 1.0
    for reason in hit.reasons:
        remaining *= 1.0 - REASON_WEIGHTS.get(reason, 0.5)
    return 1.0 - remaining


def _has_phrase(tokens: Sequence[str], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(tuple(tokens[i:i + n]) == phrase for i in range(len(tokens) - n + 1))
