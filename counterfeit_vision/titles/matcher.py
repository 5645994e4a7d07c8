"""The title matcher: per brand, does a title misuse the brand, mention it, or neither.

Flow for one title: normalise -> candidate hits (exact, look-alike, typo) ->
per-brand gates (ambiguous names need brand context, negative context
suppresses, abbreviations need corroboration) -> context reasons (indicators,
look-alike phrasing, false compatibility, brand stuffing) -> one finding per
brand, ``misuse`` when any reason holds and ``mention`` otherwise.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Iterable, Sequence

from counterfeit_vision.catalog import Catalog
from counterfeit_vision.titles.candidates import FuzzyFinder, Hit, find_hits
from counterfeit_vision.titles.lexicon import ABBR, EVASIVE, LINE, NAME, BrandInfo, Lexicon
from counterfeit_vision.titles.normalize import NormalizedTitle, normalize
from counterfeit_vision.titles.rules import (
    COMPAT_CUES,
    PHRASE_CUES,
    PHRASE_WORDS,
    WORN_WORDS,
    IndicatorHit,
    category_words,
    compat_trigger_before,
    is_collab_gap,
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
    "lookalike_chars": 0.8, "spaced_letters": 0.8, "false_compatibility": 0.7,
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
            normal (the brand is what the product fits, not who made it).
    """

    brand_id: str
    verdict: str
    reasons: tuple[str, ...]
    span: tuple[int, int]
    matched_text: str
    score: float
    context: tuple[str, ...] = ()

    @property
    def accessory_mention(self) -> bool:
        """'case for iPhone': the brand is named as what the product fits, not who made it."""
        return self.verdict == "mention" and "compatible_accessory" in self.context


class _Context:
    """Title-wide facts the per-brand rules share (a slotted class: built per title)."""

    __slots__ = ("nt", "tokens", "words", "indicators", "category_words", "category", "phrase_possible",
                 "compat_possible")

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
            hits = _drop_coincidental_typos(hits)
        fast = None if category else self._plain_mentions(nt, hits, text)
        if fast is not None:
            return fast
        ctx = self._context(nt, category)
        by_brand: dict[int, list[Hit]] = {}
        for hit in hits:
            by_brand.setdefault(hit.brand, []).append(hit)
        kept = {b: hs for b, hs in ((b, self._gate(b, hs, ctx)) for b, hs in by_brand.items()) if hs}
        reasons = {b: self._context_reasons(b, hs, ctx, kept) for b, hs in kept.items()}
        _add_stuffing(kept, reasons, ctx, self.lexicon)
        findings = []
        for b, hs in kept.items():
            finding = self._finding(b, hs, reasons[b], text, nt)
            if (finding.verdict == "mention" and ctx.compat_possible
                    and any(_compat_start(h, ctx, kept) is not None for h in hs)):
                finding = replace(finding, context=("compatible_accessory",))
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
        brands = self.lexicon.brands
        if not nt.plain.isascii():
            return None
        line_brands = None
        for h in hits:
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
            if info.brand.ambiguous and words.isdisjoint(info.cue_words) and \
                    not (line_brands and hit.brand in line_brands):
                continue
            if hit.brand not in first or hit.plain_span[0] < first[hit.brand].plain_span[0]:
                first[hit.brand] = hit
        for brand, hit in lines.items():
            # A product line without its brand's name counts unless it is an ordinary word.
            if brand not in first and self._line_counts(hit, False, None):
                first[brand] = hit
        if len(first) > 1 and any(not brands[b].accessories for b in first):
            return None  # brand stuffing is possible
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
        if ctx.phrase(hits):
            return True
        # "strap for Coach": only where that would be a false compatibility claim.
        return not info.accessories and "for" in ctx.words and _proper_noun_after_for(hits, ctx)

    def _has_strong_context(self, hits: list[Hit], ctx: _Context) -> bool:
        """The brand's own product line, a counterfeit indicator or look-alike phrasing."""
        if ctx.indicators or any(h.kind == LINE for h in hits):
            return True
        return ctx.phrase(hits)

    def _negative(self, info: BrandInfo, ctx: _Context) -> bool:
        return _negative_phrase(info, ctx.tokens, ctx.words)

    def _gate(self, brand: int, hits: list[Hit], ctx: _Context) -> list[Hit]:
        """Keep only the hits that really refer to the brand."""
        info = self.lexicon.brands[brand]
        if info.negative and self._negative(info, ctx):
            return [h for h in hits if h.reasons and not _HARD_EVASION.isdisjoint(h.reasons)]
        if not info.brand.ambiguous and all(h.kind == NAME and not h.weak and not h.needs_context for h in hits):
            return hits  # the common case: a plain or misspelt name of an unambiguous brand
        has_name = any(h.kind in (NAME, EVASIVE) and not h.weak for h in hits)
        hard = [h for h in hits if h.reasons and not _HARD_EVASION.isdisjoint(h.reasons)]
        contextual = self._has_context(info, hits, ctx)
        strong = self._has_strong_context(hits, ctx)
        kept = []
        for hit in hits:
            if hit in hard:
                kept.append(hit)
            elif hit.weak:
                if strong:
                    kept.append(hit)
            elif hit.kind == ABBR:
                key = self.lexicon.entries[hit.entry].key
                if not has_name and (strong or (contextual and key not in self.lexicon.very_common)):
                    kept.append(hit)
            elif hit.kind == LINE:
                if self._line_counts(hit, has_name, ctx):
                    kept.append(hit)
            elif contextual or not (info.brand.ambiguous or hit.needs_context):
                kept.append(hit)
        return kept

    def _line_counts(self, hit: Hit, has_name: bool, ctx: _Context | None) -> bool:
        """A product line alone names the brand only when it is not an ordinary word."""
        if has_name:
            return True
        entry = self.lexicon.entries[hit.entry]
        source = entry.source
        # iPhone, MacBook, 501: shaped like a product name even if frequent in text.
        shaped = any(c.isupper() for c in source[1:]) or any(c.isdigit() for c in source)
        return " " in entry.key or shaped or entry.key not in self.lexicon.common_words

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
        if ind.generic and info.accessories:
            return False  # "OEM" toner or cables: original equipment, a normal word there
        return True

    def _false_compat(self, info: BrandInfo, hits: list[Hit], ctx: _Context,
                      kept: dict[int, list[Hit]]) -> bool:
        """"for <brand>" where third-party products are not normal for the brand."""
        if not any(_compat_start(h, ctx, kept) is not None for h in hits):
            return False
        if not info.accessories:
            return True
        words = ctx.words
        if any(acc[0] in words and _has_phrase(ctx.tokens, acc) for acc in info.accessories):
            return False
        return bool(ctx.words & WORN_WORDS or ctx.category_words & WORN_WORDS)

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


def _drop_coincidental_typos(hits: list[Hit]) -> list[Hit]:
    """A typo of brand A next to a clean name of brand B is B's product name, not A.

    Genuine listings name their own brand; "da-lite ... electrol" is a Da-Lite
    product, not a disguised "Electron".
    """
    clean = {h.brand for h in hits if h.kind in (NAME, EVASIVE) and not h.reasons}
    if not clean:
        return hits
    return [h for h in hits
            if h.reasons != ("misspelling",) or h.brand in clean or not (clean - {h.brand})]


def _negative_phrase(info: BrandInfo, tokens: Sequence[str], words: frozenset[str]) -> bool:
    """Any of the brand's negative-context phrases in the title."""
    for phrase in info.negative:
        if phrase[0] not in words:
            continue
        n = len(phrase)
        if n == 1 or any(tuple(tokens[i:i + n]) == phrase for i in range(len(tokens) - n + 1)):
            return True
    return False


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


def _compat_start(hit: Hit, ctx: _Context, kept: dict[int, list[Hit]]) -> int | None:
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


def _add_stuffing(kept: dict[int, list[Hit]], reasons: dict[int, list[str]], ctx: _Context,
                  lex: Lexicon) -> None:
    """Several unrelated brands named in one title (collaborations excepted)."""
    if len(kept) < 2:
        return
    counted = []
    for brand, hits in kept.items():
        info = lex.brands[brand]
        names = [h for h in hits if h.kind in (NAME, EVASIVE)]
        if not names or info.accessories or "false_compatibility" in reasons[brand]:
            continue
        counted.append((min(h.first for h in names), brand, names))
    counted.sort()
    groups = _collab_groups(counted, ctx)
    if len(groups) >= 3 or (len(groups) == 2 and _share_category(groups, lex)):
        for group in groups:
            for brand in group:
                reasons[brand].append("brand_stuffing")


def _collab_groups(counted: list[tuple[int, int, list[Hit]]], ctx: _Context) -> list[list[int]]:
    groups: list[list[int]] = []
    prev_end = None
    for _, brand, names in counted:
        hit = min(names, key=lambda h: h.first)
        if prev_end is not None and groups:
            between = ctx.nt.plain[prev_end:hit.plain_span[0]]
            if is_collab_gap(between):
                groups[-1].append(brand)
                prev_end = max(h.plain_span[1] for h in names)
                continue
        groups.append([brand])
        prev_end = max(h.plain_span[1] for h in names)
    return groups


def _share_category(groups: list[list[int]], lex: Lexicon) -> bool:
    cats = [{c.casefold() for b in g for c in lex.brands[b].brand.categories} for g in groups]
    return bool(cats[0] & cats[1])
