"""Candidate hits: where a brand term occurs in a title, and how it was written.

Exact and look-alike spellings come from one Aho-Corasick pass over the visual
view; typos come from the symmetric-delete index, verified with rapidfuzz's
optimal-string-alignment distance. Each hit carries the *evasion* reasons read
off the spelling itself (leetspeak, homoglyphs, invisible characters ...);
context reasons are added later by the matcher.
"""

from __future__ import annotations

import bisect
import re
from typing import Callable, NamedTuple

from rapidfuzz.distance import OSA

from counterfeit_vision.titles.lexicon import (
    ABBR,
    EVASIVE,
    GLUED,
    LINE,
    NAME,
    SPACED,
    SPLIT,
    VARIANT,
    Entry,
    Lexicon,
    deletes,
    edit_budget,
)
from counterfeit_vision.titles.normalize import (
    CONFUSABLE,
    DIACRITIC,
    LEET_CHARS,
    STYLED,
    NormalizedTitle,
    is_cjk,
)
from counterfeit_vision.titles.rules import PHRASE_CUES, title_indicators

__all__ = ["Hit", "find_hits"]

_FUZZY_CACHE_MAX = 200_000

# Candidate modes (bit flags), settled per token when it is first seen.
WEAK = 1  # a weak typo: counts only with the brand's product line or a counterfeit cue
PARTNER = 2  # a short ordinary word as the typo'd token of a multi-word name ("Luis" Vuitton):
#              the window needs another of the name's words spelt exactly
LEET = 4  # the token is a typo once its digits/symbols are read as letters (Gucc1i)

# Digits and symbols read as the letters they imitate, for typo look-ups of leet tokens.
# Unlike the visual fold, letters are left alone: typos are measured on what was typed.
_LEET_TO_LETTERS = str.maketrans({"1": "i", "|": "i", "!": "i", "0": "o", "3": "e", "4": "a", "@": "a",
                                  "$": "s", "5": "s", "7": "t", "8": "b", "9": "g", "€": "e"})


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
    needs_context: bool = False  # a typo that needs brand context to count (Michael Kor bag)


def _spelling_reasons(plain: str, key: str, variant: str) -> list[str]:
    """Reasons from comparing the title's plain spelling with the catalogue key."""
    reasons = []
    if variant in (SPACED, SPLIT):
        reasons.append("spaced_letters" if variant == SPACED else "split_name")
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
    entries = lex.entries
    # Clean title: a plain-variant match whose text equals the key is a clean exact name.
    clean = nt.flags is None and not nt.invisible
    joined = nt.joined
    count = joined.count
    pstarts, pends = nt.pstarts, nt.pends
    for end, (length, values) in lex.automaton.iter(nt.visual):
        start = end - length + 1
        for entry_id, variant, exact in values:
            if exact is not None and clean and joined[start + 1:end] == exact:
                # The common case, inline: whole tokens, spelt exactly as the key.
                entry = entries[entry_id]
                first = count(" ", 0, start + 1) - 1
                last = count(" ", 0, end)
                hit = Hit(entry_id, entry.brand, entry.kind, first, last, (pstarts[first], pends[last - 1]), ())
            elif entries[entry_id].cjk:
                hit = _make_hit(nt, lex, entry_id, variant, start, end + 1)
            else:
                hit = _make_hit(nt, lex, entry_id, variant, start + 1, end)
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
    elif reasons and variant not in (SPACED, SPLIT) and not _visual_ok(plain, entry, lex):
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
    """Typo candidates for single tokens, cached because title vocabularies repeat.

    Everything about a candidate that depends on the token alone (an exact
    name, another brand's name, a plural, an ordinary word against a short
    name, a weak typo) is settled once, when the token is first seen; a title
    only ever checks its tokens against two sets of "live" tokens.
    """

    def __init__(self, lex: Lexicon):
        self.lex = lex
        self.cache: dict[str, tuple[tuple[int, int, float, int], ...]] = {}
        self._longest_key: int | None = None  # longest fuzzy key (chars), computed on first lookup
        self.positive: set[str] = set()  # cached tokens that have any candidate
        self.strong: set[str] = set()  # ... that have a candidate which is not a weak typo
        # Tokens with PARTNER windows, and the words such a window needs beside it (any
        # one of them, spelt exactly): short ordinary words are frequent, their windows
        # rarely possible, and a set test against the title's words tells which.
        self.conditional: set[str] = set()
        self.needs: dict[str, frozenset[str]] = {}

    def live(self, words: frozenset[str], weak: bool) -> frozenset[str]:
        """The tokens of ``words`` with typo candidates (``weak``: weak typos included).

        Set operations in C: tokens never seen before are looked up (and
        cached) first, then one intersection with the live tokens.
        """
        unknown = words.difference(self.cache)
        if unknown:
            for token in unknown:
                self.candidates(token)
        live = words.intersection(self.positive if weak else self.strong)
        maybe = words.intersection(self.conditional)
        if maybe:
            extra = {t for t in maybe if not self.needs[t].isdisjoint(words)}
            if extra:
                live = live | extra
        return live

    def candidates(self, token: str) -> tuple[tuple[int, int, float, int], ...]:
        """(fuzzy key id, distance, similarity, mode) for keys within their (weak) edit budget.

        ``mode`` holds the :data:`WEAK`, :data:`PARTNER` and :data:`LEET` flags.
        An exact token of a multi-word name is no candidate: a typo'd window has
        at least one differing token, and that token finds the name itself.
        Candidates that could never make a hit, whatever the rest of the title,
        are dropped here.
        """
        found = self.cache.get(token)
        if found is not None:
            return found
        if len(self.cache) >= _FUZZY_CACHE_MAX:
            self.cache.clear()
            self.positive.clear()
            self.strong.clear()
            self.conditional.clear()
            self.needs.clear()
        if _wordlike(token):
            result = self._lookup(token)
        else:
            folded = _leet_word(token)
            # Leetspeak and a typo together (Gucc1i): single names only, the typo read
            # on the folded spelling; an exact folded name is the automaton's (N1ke).
            result = () if folded is None else tuple(
                (fid, dist, sim, mode | LEET) for fid, dist, sim, mode in self._lookup(folded)
                if self.lex.fuzzy_keys[fid][2] < 0)
        self.cache[token] = result
        for fid, _, _, mode in result:
            if mode & PARTNER:
                self.conditional.add(token)
                self.needs[token] = self.needs.get(token, frozenset()) | self.lex.window_partners[fid]
            else:
                self.positive.add(token)
                if not mode & WEAK:
                    self.strong.add(token)
        return result

    def _lookup(self, token: str) -> tuple[tuple[int, int, float, int], ...]:
        lex = self.lex
        if self._longest_key is None:
            self._longest_key = max((len(key) for key, _, _ in lex.fuzzy_keys), default=0)
        # no key is within 2 edits of a longer token; without this, a glued 2,000-character
        # token costs O(n^2) deletes of length n (seconds), where a title costs microseconds
        if len(token) > self._longest_key + 2:
            return ()
        index = lex.delete_index
        common = token in lex.common_words
        # A short ordinary word ("the", "luis") anchors a name window only beside an
        # exactly spelt word of the name (Luis Vuitton, never "Luis Armstrong").
        partner = len(token) <= 4 and common
        # Single-token typos: never of another brand's own name, nor a plural of a name.
        singles_ok = token not in lex.brand_keys and not (token.endswith("s") and token[:-1] in lex.exact_keys)
        ids: set[int] = set()
        for d in deletes(token, 2 if len(token) >= 7 else 1):
            ids.update(index.get(d, ()))
        out = []
        for fid in sorted(ids):
            key, _, pos = lex.fuzzy_keys[fid]
            if pos >= 0:
                # a singular or plural of an everyday word ("general motor") is not a typo
                if token.rstrip("s") == key.rstrip("s") and _everyday(token, lex):
                    continue
                budget = max(1, edit_budget(len(key)))
            else:
                if not singles_ok or (common and len(key) <= 4):
                    continue  # like/nike, win/wine: short ordinary words are never typos
                budget = edit_budget(len(key), weak=True)
            dist = OSA.distance(token, key, score_cutoff=budget)
            if dist > budget or dist == 0:
                continue
            if pos >= 0:
                mode = PARTNER if partner else 0
            else:
                mode = WEAK if common or dist > edit_budget(len(key)) else 0
            out.append((fid, dist, 1.0 - dist / max(len(key), len(token)), mode))
        return tuple(out)


def _everyday(word: str, lex: Lexicon) -> bool:
    """A very common word (Zipf >= 4: motor, screen); every word when that list is absent."""
    return not lex.very_common or word in lex.very_common


def _leet_word(token: str) -> str | None:
    """The letters a leet token spells (gucc1i -> guccii), or None for codes and numbers.

    At most two digits/symbols among at least four letters: model numbers
    (a1200, hl2270dw, wd5000) never qualify.
    """
    if len(token) < 5 or token.isalpha() or is_cjk(token):
        return None
    folded = token.translate(_LEET_TO_LETTERS)
    if not folded.isalpha():
        return None
    letters = sum(c.isalpha() for c in token)
    if letters < 4 or len(token) - letters > 2:
        return None
    return folded


def _wordlike(plain: str) -> bool:
    """Long enough and all letters: model numbers and codes are not typos of a name."""
    return len(plain) >= 3 and plain.isalpha() and not is_cjk(plain)


def _fuzzy_hits(nt: NormalizedTitle, lex: Lexicon, finder: FuzzyFinder, live: frozenset[str],
                covered: set[int], weak_ok: Callable[[int], bool] | None) -> list[Hit]:
    hits: list[Hit] = []
    texts = nt.texts
    cache = finder.cache
    fuzzy_keys = lex.fuzzy_keys
    entries = lex.entries
    for ti in range(len(texts)):
        token = texts[ti]
        if token not in live or ti in covered:
            continue
        for fid, dist, sim, mode in cache[token]:
            _, entry_id, pos = fuzzy_keys[fid]
            weak = bool(mode & WEAK)
            if weak and (weak_ok is None or not weak_ok(entries[entry_id].brand)):
                continue
            if pos < 0:
                hit = _typo_hit(nt, lex, entry_id, ti, ti + 1, sim, weak, bool(mode & LEET))
            elif mode & PARTNER and lex.window_partners[fid].isdisjoint(nt.words):
                continue  # no other word of the name spelt exactly anywhere in the title
            else:
                hit = _window_typo(nt, lex, entry_id, pos, ti, bool(mode & PARTNER))
            if hit is not None:
                hits.append(hit)
    return hits


def _window_typo(nt: NormalizedTitle, lex: Lexicon, entry_id: int, pos: int, ti: int,
                 partner: bool = False) -> Hit | None:
    """Verify a multi-word name around one of its tokens (Luis Vuiton, Micheal Kors).

    ``partner``: the typo'd token is a short ordinary word (Luis, Kor), so another
    word of the name must be spelt exactly; when every such word is itself a very
    common word (Michael, Ray) the hit also needs brand context (Michael Kor bag).
    """
    entry = lex.entries[entry_id]
    parts = entry.key.split(" ")
    first, last = ti - pos, ti - pos + len(parts)
    if first < 0 or last > len(nt.texts):
        return None
    window = nt.texts[first:last]
    if window == parts:
        return None
    for got, want in zip(window, parts):
        if got == want:
            continue
        if not got.isalpha() or (got.rstrip("s") == want.rstrip("s") and _everyday(got, lex)):
            return None  # a number or a plural ("general motor") is not a typo
        if OSA.distance(got, want) > max(1, edit_budget(len(want))):
            return None
    joined, key = " ".join(window), entry.key
    dist = OSA.distance(joined, key)
    if dist > edit_budget(len(key.replace(" ", ""))):
        return None
    needs_context = False
    if partner:
        exact = [w for w in parts if w in window and len(w) >= 3]
        if not exact:
            return None
        needs_context = all(w in lex.very_common or len(w) < 4 for w in exact)
    return _typo_hit(nt, lex, entry_id, first, last, 1.0 - dist / max(len(joined), len(key)), False,
                     needs_context=needs_context)


def _typo_hit(nt: NormalizedTitle, lex: Lexicon, entry_id: int, first: int, last: int,
              sim: float, weak: bool, leet: bool = False, needs_context: bool = False) -> Hit:
    entry = lex.entries[entry_id]
    pspan = nt.tokens_to_plain(first, last)
    reasons = ["misspelling"] + _flag_reasons(nt, entry, pspan, lex.brands[entry.brand].names_ascii)
    if leet:
        # Two distortions at once (Gucc1i) read a code (ali5y) as a name too easily:
        # such a hit also needs brand context (a category word, product line, cue).
        reasons.insert(0, "leetspeak")
        needs_context = True
    return Hit(entry_id, entry.brand, entry.kind, first, last, pspan, tuple(reasons), sim, weak, needs_context)


def _drop_contained(hits: list[Hit]) -> list[Hit]:
    """Drop a hit lying inside a longer hit of another term (C C inside G-U-C-C-I).

    One sweep in start order, remembering the two farthest-reaching hits of different
    entries seen so far: a shared name repeated through a long OCR text stays linear.
    """
    spans = sorted([h.plain_span for h in hits])
    if all(a[1] <= b[0] for a, b in zip(spans, spans[1:])):
        return hits  # the common case: hits on separate words
    order = sorted(range(len(hits)), key=lambda i: (hits[i].plain_span[0], -hits[i].plain_span[1]))
    reach: list[tuple[int, int, int]] = []  # (end, length, entry), farthest first, distinct entries
    inside = set()
    for i in order:
        hit = hits[i]
        s, e = hit.plain_span
        for end, length, entry in reach:
            if end >= e and length > e - s and entry != hit.entry:
                inside.add(i)
                break
        same = max([(e, e - s, hit.entry)] + [r for r in reach if r[2] == hit.entry])
        reach = sorted([r for r in reach if r[2] != hit.entry] + [same], reverse=True)[:2]
    return [h for i, h in enumerate(hits) if i not in inside]


# A case change inside a word: "NikeAir", "GucciBag" (lower -> upper) or "NIKEAir" (an
# upper-case run, then a capitalised word). Written as a class and a look-behind: the
# regex engine then scans for one character class only, several times faster.
_CAMEL = re.compile(r"[A-Z](?<=[a-z][A-Z])|[a-z](?<=[A-Z][A-Z][a-z])")
_CAMEL_LOWER_UPPER = re.compile(r"[A-Z](?<=[a-z][A-Z])").search
_CAMEL_UPPER_RUN = re.compile(r"[a-z](?<=[A-Z][A-Z][a-z])").search


def _has_camel(text: str) -> bool:
    return _CAMEL_LOWER_UPPER(text) is not None or _CAMEL_UPPER_RUN(text) is not None


def _camel_hits(nt: NormalizedTitle, lex: Lexicon, hits: list[Hit]) -> list[Hit]:
    """Names glued to another word by case only (NikeAir, GucciBag, LouisVuittonBag).

    The title's own capitals mark the word boundaries. A glued name is read like
    a glued multi-word name (louisvuitton): it names the brand, and is misuse only
    when some other rule says so. Only names of four letters or more (never Mac in
    MacBook), never the whole token (that is the automaton's), and only glued to
    the brand's own category or product-line words.
    """
    out: list[Hit] = []
    covered = {i for h in hits for i in range(h.first, h.last)}
    text, plain = nt.original, nt.plain
    pstarts, pends = nt.pstarts, nt.pends
    for ti in sorted({bisect.bisect_right(pstarts, m.start()) - 1 for m in _CAMEL.finditer(text)}):
        if ti < 0 or ti in covered:
            continue
        start, end = pstarts[ti], pends[ti]
        word = text[start:end]
        if end - start < 5 or not word.isalpha():
            continue
        cuts = [0]
        for i in range(1, len(word)):
            a, b = word[i - 1], word[i]
            if b.isupper() and (a.islower() or (a.isupper() and i + 1 < len(word) and word[i + 1].islower())):
                cuts.append(i)
        cuts.append(len(word))
        segments = len(cuts) - 1
        segs = [plain[start + cuts[k]:start + cuts[k + 1]] for k in range(segments)]
        # per brand, prefix counts of the segments that are not its context words: "is all the rest
        # context?" is then O(1), so a token glued from 300 names stays linear
        outside: dict[str, list[int]] = {}

        def rest_is_context(brand: str, i: int, j: int) -> bool:
            pre = outside.get(brand)
            if pre is None:
                ctx = lex.brands[brand].context_words
                pre = [0]
                for seg in segs:
                    pre.append(pre[-1] + (seg not in ctx))
                outside[brand] = pre
            return pre[segments] - (pre[j] - pre[i]) == 0

        for i in range(segments):
            for j in range(i + 1, min(i + 3, segments) + 1):
                if j - i == segments:
                    continue  # the whole token
                parts = segs[i:j]
                if not all(p.isalpha() for p in parts) or sum(map(len, parts)) < 4:
                    continue
                for key in {" ".join(parts), "".join(parts)}:
                    for entry_id in lex.exact_keys.get(key, ()):
                        entry = lex.entries[entry_id]
                        # Glued to its own product word (GucciBag, NikeAir), not to anything
                        # (HyperVenom is a Nike model, not the Hyper brand).
                        if entry.kind in (NAME, LINE) and entry.latin and rest_is_context(entry.brand, i, j):
                            out.append(Hit(entry_id, entry.brand, entry.kind, ti, ti + 1,
                                           (start + cuts[i], start + cuts[j]), ()))
    return out


def find_hits(nt: NormalizedTitle, lex: Lexicon, finder: FuzzyFinder) -> list[Hit]:
    """All brand-term hits in a normalised title, exact, look-alike and misspelt."""
    hits = _exact_hits(nt, lex)
    if nt.orig_index is None and _has_camel(nt.original):
        hits.extend(_camel_hits(nt, lex, hits))
    words = nt.words
    # Weak typos (channel ~ Chanel) only ever count next to the brand's product line,
    # a counterfeit indicator or look-alike phrasing (or as deliberate obfuscation,
    # only possible in a non-ASCII title): the matcher's gate drops them otherwise,
    # so they are not even looked for here.
    cue = not nt.plain.isascii() or not PHRASE_CUES.isdisjoint(words) or bool(title_indicators(nt))
    line_brands = {h.brand for h in hits if h.kind == LINE}
    live = finder.live(words, cue or bool(line_brands))
    if live:
        covered = {i for h in hits for i in range(h.first, h.last)}
        weak_ok = None if not (cue or line_brands) else (lambda b: cue or b in line_brands)
        hits.extend(_fuzzy_hits(nt, lex, finder, live, covered, weak_ok))
    return _drop_contained(hits) if len(hits) > 1 else hits


__all__ += ["FuzzyFinder", "NAME", "ABBR", "LINE", "EVASIVE"]
