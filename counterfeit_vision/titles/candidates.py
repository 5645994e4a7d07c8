"""Candidate hits: where a brand term occurs in a title, and how it was written.

Exact and look-alike spellings come from one Aho-Corasick pass over the visual
view; typos come from the symmetric-delete index, verified with rapidfuzz's
optimal-string-alignment distance. Each hit carries the *evasion* reasons read
off the spelling itself (leetspeak, homoglyphs, invisible characters ...);
context reasons are added later by the matcher.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

from rapidfuzz.distance import OSA

from counterfeit_vision.titles.lexicon import (
    ABBR, EVASIVE, GLUED, LINE, NAME, SPACED, VARIANT, Entry, Lexicon, deletes, edit_budget,
)
from counterfeit_vision.titles.rules import CUE_WORDS
from counterfeit_vision.titles.normalize import (
    CONFUSABLE, DIACRITIC, LEET_CHARS, STYLED, NormalizedTitle, is_cjk,
)

__all__ = ["Hit", "find_hits"]

_FUZZY_CACHE_MAX = 200_000


class Hit(NamedTuple):
    """One occurrence of a brand term in a title (a named tuple: built per title, fast)."""

    entry: int
    brand: int
    kind: str  # name, abbr, line, evasive
    first: int  # first token index
    last: int  # one past the last token index
    plain_span: tuple[int, int]
    reasons: tuple[str, ...]  # evasion reasons from the spelling
    similarity: float = 1.0  # 1 for exact spellings, lower for typos
    weak: bool = False  # a typo that needs the brand's product line to count


def _spelling_reasons(plain: str, key: str, variant: str) -> list[str]:
    """Reasons from comparing the title's plain spelling with the catalogue key."""
    reasons = []
    if variant == SPACED:
        reasons.append("spaced_letters")
        plain = plain.replace(" ", "")
        key = key.replace(" ", "")
    if variant == VARIANT:
        reasons.append("lookalike_chars")
    elif plain != key and variant != GLUED:
        diff = [a for a, b in zip(plain, key) if a != b]
        if any(c in LEET_CHARS for c in diff):
            reasons.append("leetspeak")
        if any(c not in LEET_CHARS for c in diff) or len(plain) != len(key):
            reasons.append("lookalike_chars")
    return reasons


def _flag_reasons(nt: NormalizedTitle, entry: Entry, pspan: tuple[int, int], ascii_names: bool) -> list[str]:
    if nt.flags is None and not nt.invisible:
        return []  # the common case: nothing was folded in this title
    reasons = []
    flags = nt.flags_in(*pspan)
    if flags & CONFUSABLE and entry.latin:
        reasons.append("homoglyph_script_mix")
    if flags & STYLED:
        reasons.append("styled_letters")
    if flags & DIACRITIC and ascii_names and entry.latin:
        reasons.append("lookalike_chars")
    if nt.invisible and nt.invisible_in(*nt.plain_to_original(*pspan)):
        reasons.append("invisible_chars")
    return reasons


def _exact_hits(nt: NormalizedTitle, lex: Lexicon) -> list[Hit]:
    hits: list[Hit] = []
    for end, (length, values) in lex.automaton.iter(nt.visual):
        start = end - length + 1
        for entry_id, variant in values:
            entry = lex.entries[entry_id]
            jstart, jend = (start, end + 1) if entry.cjk else (start + 1, end)
            hit = _make_hit(nt, lex, entry_id, variant, jstart, jend)
            if hit is not None:
                hits.append(hit)
    return hits


def _visual_ok(plain: str, entry: Entry, lex: Lexicon) -> bool:
    """May a look-alike/leet spelling stand for this term? Guards short names and words."""
    letters = len(entry.key.replace(" ", ""))
    if entry.kind == ABBR or letters <= 3:
        return False  # cs5 is not CSS, 1v is not LV
    # deli is a word, not Dell; canon is a brand, not a disguised other brand
    return " " in plain or (plain not in lex.common_words and plain not in lex.brand_keys)


def _make_hit(nt: NormalizedTitle, lex: Lexicon, entry_id: int, variant: str,
              jstart: int, jend: int) -> Hit | None:
    entry = lex.entries[entry_id]
    pspan = nt.joined_to_plain(jstart, jend)
    plain = nt.joined[jstart:jend]
    if plain == entry.key and nt.flags is None and not nt.invisible and entry.kind != EVASIVE:
        first, last = nt.token_range(jstart, jend)  # the common case: a clean exact name
        return Hit(entry_id, entry.brand, entry.kind, first, last, pspan, ())
    reasons = [] if plain == entry.key else _spelling_reasons(plain, entry.key, variant)
    if entry.kind == LINE:
        reasons = []  # product lines vary in writing (Air Force I / 1): only a context cue
    elif reasons and variant != SPACED and not _visual_ok(plain, entry, lex):
        return None
    if reasons and entry.kind != ABBR and any(c.isdigit() for c in plain) and \
            sum(c.isalpha() for c in plain) < 2:
        return None  # digits that fold to letters (10 -> io) are numbers, not leetspeak
    info = lex.brands[entry.brand]
    reasons += _flag_reasons(nt, entry, pspan, info.names_ascii)
    if entry.kind == EVASIVE:
        reasons.append("evasive_alias")
    first, last = nt.token_range(jstart, jend)
    return Hit(entry_id, entry.brand, entry.kind, first, last, pspan, tuple(dict.fromkeys(reasons)))


class FuzzyFinder:
    """Typo candidates for single tokens, cached because title vocabularies repeat."""

    def __init__(self, lex: Lexicon):
        self.lex = lex
        self.cache: dict[str, tuple[tuple[int, int, float], ...]] = {}

    def candidates(self, token: str) -> tuple[tuple[int, int, float], ...]:
        """(fuzzy key id, distance, similarity) for keys within their (weak) edit budget.

        An exact token of a multi-word name is no candidate: a typo'd window has
        at least one differing token, and that token finds the name itself.
        """
        found = self.cache.get(token)
        if found is not None:
            return found
        if not _wordlike(token):
            self.cache[token] = ()
            return ()
        index = self.lex.delete_index
        # A short ordinary word ("the", "luis") is never the typo'd token of a name window.
        anchors_ok = len(token) > 4 or token not in self.lex.common_words
        ids: set[int] = set()
        for d in deletes(token, 2 if len(token) >= 7 else 1):
            ids.update(index.get(d, ()))
        out = []
        for fid in sorted(ids):
            key, _, pos = self.lex.fuzzy_keys[fid]
            if pos >= 0 and not anchors_ok:
                continue
            budget = max(1, edit_budget(len(key))) if pos >= 0 else edit_budget(len(key), weak=True)
            dist = OSA.distance(token, key, score_cutoff=budget)
            if dist <= budget and not (pos >= 0 and dist == 0):
                out.append((fid, dist, 1.0 - dist / max(len(key), len(token))))
        result = tuple(out)
        if len(self.cache) >= _FUZZY_CACHE_MAX:
            self.cache.clear()
        self.cache[token] = result
        return result


def _wordlike(plain: str) -> bool:
    """Long enough and all letters: model numbers and codes are not typos of a name."""
    return len(plain) >= 3 and plain.isalpha() and not is_cjk(plain)


def _fuzzy_hits(nt: NormalizedTitle, lex: Lexicon, finder: FuzzyFinder, covered: set[int],
                weak_ok: Callable[[int], bool]) -> list[Hit]:
    hits: list[Hit] = []
    cached = finder.cache.get
    for ti, token in enumerate(nt.tokens):
        found = cached(token.text)
        if found is None:
            found = finder.candidates(token.text)
        if not found or ti in covered:
            continue
        for fid, dist, sim in found:
            _, entry_id, pos = lex.fuzzy_keys[fid]
            if pos < 0:
                hit = _single_typo(nt, lex, entry_id, ti, dist, sim)
            else:
                hit = _window_typo(nt, lex, entry_id, pos, ti)
            if hit is not None and (not hit.weak or weak_ok(hit.brand)):
                hits.append(hit)
    return hits


def _single_typo(nt: NormalizedTitle, lex: Lexicon, entry_id: int, ti: int, dist: int,
                 sim: float) -> Hit | None:
    token = nt.tokens[ti].text
    key = lex.entries[entry_id].key
    if dist == 0 or token in lex.brand_keys:
        return None  # exact (found by the automaton) or another brand's own name
    if token.endswith("s") and token[:-1] in lex.exact_keys:
        return None  # a plural or possessive of a name is the name
    common = token in lex.common_words
    if common and len(key) <= 4:
        return None  # like/nike, win/wine: short ordinary words are never typos
    weak = common or dist > edit_budget(len(key))
    return _typo_hit(nt, lex, entry_id, ti, ti + 1, sim, weak)


def _window_typo(nt: NormalizedTitle, lex: Lexicon, entry_id: int, pos: int, ti: int) -> Hit | None:
    """Verify a multi-word name around one of its tokens (Luis Vuiton, Micheal Kors)."""
    entry = lex.entries[entry_id]
    parts = entry.key.split(" ")
    first, last = ti - pos, ti - pos + len(parts)
    if first < 0 or last > len(nt.tokens):
        return None
    window = [t.text for t in nt.tokens[first:last]]
    if window == parts:
        return None
    for got, want in zip(window, parts):
        if got == want:
            continue
        if not got.isalpha() or got.rstrip("s") == want.rstrip("s"):
            return None  # a number or a plural ("general motor") is not a typo
        if OSA.distance(got, want) > max(1, edit_budget(len(want))):
            return None
    joined, key = " ".join(window), entry.key
    dist = OSA.distance(joined, key)
    if dist > edit_budget(len(key.replace(" ", ""))):
        return None
    return _typo_hit(nt, lex, entry_id, first, last, 1.0 - dist / max(len(joined), len(key)), False)


def _typo_hit(nt: NormalizedTitle, lex: Lexicon, entry_id: int, first: int, last: int,
              sim: float, weak: bool) -> Hit:
    entry = lex.entries[entry_id]
    tokens = nt.tokens
    jstart, jend = tokens[first].joined_start, tokens[last - 1].joined_end
    pspan = nt.joined_to_plain(jstart, jend)
    reasons = ["misspelling"] + _flag_reasons(nt, entry, pspan, lex.brands[entry.brand].names_ascii)
    return Hit(entry_id, entry.brand, entry.kind, first, last, pspan, tuple(reasons), sim, weak)


def _drop_contained(hits: list[Hit]) -> list[Hit]:
    """Drop a hit lying inside a longer hit of another term (C C inside G-U-C-C-I)."""
    out = []
    for hit in hits:
        s, e = hit.plain_span
        inside = any(o.entry != hit.entry and o.plain_span[0] <= s and e <= o.plain_span[1]
                     and (o.plain_span[1] - o.plain_span[0]) > (e - s) for o in hits)
        if not inside:
            out.append(hit)
    return out


def find_hits(nt: NormalizedTitle, lex: Lexicon, finder: FuzzyFinder) -> list[Hit]:
    """All brand-term hits in a normalised title, exact, look-alike and misspelt."""
    hits = _exact_hits(nt, lex)
    covered = {i for h in hits for i in range(h.first, h.last)}
    # Weak typos (channel ~ Chanel) only ever count next to the brand's product line
    # or a counterfeit/look-alike cue; dropping the rest here saves the matcher work.
    cue = not CUE_WORDS.isdisjoint([t.text for t in nt.tokens]) or not nt.plain.isascii()
    line_brands = {h.brand for h in hits if h.kind == LINE}
    hits.extend(_fuzzy_hits(nt, lex, finder, covered, lambda b: cue or b in line_brands))
    return _drop_contained(hits) if len(hits) > 1 else hits


__all__ += ["FuzzyFinder", "NAME", "ABBR", "LINE", "EVASIVE"]
