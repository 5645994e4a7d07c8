"""The compiled lexicon: every brand term of a catalogue, indexed once for all titles.

Two indexes serve candidate generation over all brands at once:

* an Aho-Corasick automaton over the *visual* form of every name, alias,
  abbreviation, product line and evasive alias, padded with spaces so it only
  matches whole tokens; variants cover spaced letters (``g u c c i``), glued
  multi-word names (``louisvuitton``) and ``m -> rn`` / ``w -> vv``;
* a symmetric-delete index over names long enough to allow typos, so a
  misspelt token finds its candidate names by dictionary look-ups; rapidfuzz
  then only verifies those few candidates.
"""

from __future__ import annotations

import itertools
import logging
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import ahocorasick

from counterfeit_vision.catalog import Brand, Catalog
from counterfeit_vision.titles.names import UNIT_WORDS, NameMark, mark_names
from counterfeit_vision.titles.normalize import is_cjk, normalize, visual_fold
from counterfeit_vision.titles.rules import BRAND_CUES, category_words

__all__ = ["Entry", "BrandInfo", "Lexicon", "common_words_key", "edit_budget", "deletes", "load_common_words"]

log = logging.getLogger(__name__)

NAME, ABBR, LINE, EVASIVE = "name", "abbr", "line", "evasive"
PLAIN, SPACED, GLUED, VARIANT, SPLIT = "plain", "spaced", "glued", "variant", "split"

# Languages of the marketplaces whose ordinary words must never read as typos of a
# brand, with the minimum word frequency (per word of text) to count as ordinary.
# 1e-7 is Zipf 2: frequent enough to be a real word, rare enough that web-common
# brand typos (addidas, Zipf 1.4) stay out.
_WORD_LANGUAGES = (("en", 1e-7), ("es", 3e-7), ("de", 3e-7), ("fr", 3e-7), ("it", 3e-7),
                   ("nl", 3e-7), ("pt", 3e-7))
_VERY_COMMON = 1e-5  # Zipf 4: words like "cd" or "cc" that need strong corroboration


def edit_budget(length: int, *, weak: bool = False) -> int:
    """Typos allowed for a name of ``length`` letters: none for very short names.

    ``weak`` budgets also give four-letter names one typo; such typos only count
    when the brand's own product line corroborates them (Dioor Saddle).
    """
    if length <= 3 or (length == 4 and not weak):
        return 0
    return 1 if length <= 8 else 2


def deletes(word: str, depth: int) -> set[str]:
    """All strings obtained by deleting up to ``depth`` characters (symmetric delete)."""
    out = {word}
    frontier = {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1:] for w in frontier for i in range(len(w))}
        out |= frontier
    return out


@lru_cache(maxsize=1)
def load_common_words() -> tuple[frozenset[str], frozenset[str]]:
    """(ordinary words, very common English words) from wordfreq; empty without it.

    Reading wordfreq's tables takes seconds, so the two sets are kept in a cache file
    (``common_words_cache``) named after wordfreq's version and the floors, written atomically
    with its SHA-256 beside the words and checked on load; a bad file is rebuilt."""
    version = _wordfreq_version()
    if version is None:  # pragma: no cover - optional dependency
        log.warning("wordfreq is not installed: the common-word guard on typos is off")
        return frozenset(), frozenset()
    cache = common_words_cache(version)
    cached = _read_words(cache) if cache is not None else None
    if cached is not None:
        return cached
    import wordfreq  # seconds to read its tables: only when the cache is missing or bad

    words: set[str] = set()
    very: set[str] = set()
    for lang, floor in _WORD_LANGUAGES:
        freqs = wordfreq.get_frequency_dict(lang)
        words.update(w for w, f in freqs.items() if f >= floor)
        if lang == "en":
            very.update(w for w, f in freqs.items() if f >= _VERY_COMMON)
    if cache is not None:
        _write_words(cache, words, very)
    return frozenset(words), frozenset(very)


@lru_cache(maxsize=1)
def _wordfreq_version() -> str | None:
    """wordfreq's installed version, read from its metadata (importing it costs 0.2 s)."""
    from importlib import metadata

    try:
        return metadata.version("wordfreq")
    except metadata.PackageNotFoundError:
        return None


def common_words_key() -> str:
    """What the common-word sets depend on (wordfreq's version and the floors), as a short key."""
    import hashlib

    version = _wordfreq_version()
    return hashlib.sha256(repr((version, _WORD_LANGUAGES, _VERY_COMMON)).encode()).hexdigest()[:16]


def common_words_cache(wordfreq_version: str) -> Path | None:
    """Where the common-word sets are cached (``$CV_CACHE_DIR`` or ``~/.cache/counterfeit_vision``);
    None when no cache folder can be used."""
    import hashlib
    import os

    key = hashlib.sha256(repr((wordfreq_version, _WORD_LANGUAGES, _VERY_COMMON)).encode()).hexdigest()[:16]
    try:
        root = Path(os.environ.get("CV_CACHE_DIR") or Path.home() / ".cache" / "counterfeit_vision")
    except RuntimeError:  # no home folder to resolve (a service account): no cache, wordfreq every time
        return None
    return root / f"common-words-{key}.txt"


def _read_words(path: Path) -> tuple[frozenset[str], frozenset[str]] | None:
    import hashlib

    try:
        digest, body = path.read_bytes().split(b"\n", 1)
        if hashlib.sha256(body).hexdigest().encode() != digest:
            log.warning("common-word cache %s is corrupt; rebuilding it", path)
            return None
        words, very = body.decode("utf-8").split("\n\x00\n")
        # set() of the split list, then the one empty string out: several times faster than a filter
        return frozenset(set(words.split("\n")) - {""}), frozenset(set(very.split("\n")) - {""})
    except (OSError, ValueError, UnicodeDecodeError):
        return None


def _write_words(path: Path, words: set[str], very: set[str]) -> None:
    import hashlib

    from counterfeit_vision._atomic import atomic_write

    body = ("\n".join(sorted(words)) + "\n\x00\n" + "\n".join(sorted(very))).encode("utf-8")
    try:
        with atomic_write(path, "wb") as f:
            f.write(hashlib.sha256(body).hexdigest().encode() + b"\n" + body)
    except OSError as exc:  # a read-only home: no cache, the next start-up reads wordfreq again
        log.info("cannot cache common words at %s: %s", path, exc)


@dataclass(frozen=True)
class Entry:
    """One brand term as indexed: which brand, what kind, in which forms."""

    brand: int
    kind: str  # name, abbr, line or evasive
    source: str  # the catalogue's spelling
    key: str  # plain form, tokens joined by single spaces
    visual: str  # visual fold of key
    cjk: bool  # written in a script without word spaces
    latin: bool  # the catalogue's spelling is Latin script (ASCII after folding)


@dataclass(frozen=True)
class BrandInfo:
    """What the rules need to know about one brand, pre-normalised."""

    brand: Brand
    context_words: frozenset[str]  # category words and product-line tokens
    negative: tuple[tuple[str, ...], ...]  # negative-context phrases as token tuples
    own_terms: frozenset[str]
    accessories: tuple[tuple[str, ...], ...]
    names_ascii: bool  # no Latin name carries accents, so an accent is a disguise
    cue_words: frozenset[str] = frozenset()  # context_words | BRAND_CUES, precomputed
    cjk_context: tuple[str, ...] = ()  # context words in a script without word spaces


def _accented(name: str) -> bool:
    return any(not c.isascii() and unicodedata.normalize("NFD", c)[0].isascii() and c.isalpha()
               for c in name)


def _key_of(text: str) -> str:
    return " ".join(t.text for t in normalize(text).tokens)


def _phrase(text: str) -> tuple[str, ...]:
    return tuple(t.text for t in normalize(text).tokens)


def _brand_info(brand: Brand) -> BrandInfo:
    context = set(category_words(brand.categories))
    for line in brand.product_lines:
        context.update(t for t in _phrase(line) if len(t) > 2)
    return BrandInfo(
        brand=brand,
        context_words=frozenset(context),
        negative=tuple(p for p in (_phrase(n) for n in brand.negative_context) if p),
        own_terms=frozenset(_key_of(t) for t in brand.own_terms),
        accessories=tuple(p for p in (_phrase(a) for a in brand.compatible_accessories) if p),
        names_ascii=not any(_accented(n) for n in brand.names),
        cue_words=frozenset(context) | BRAND_CUES,
        cjk_context=tuple(sorted(w for w in context if is_cjk(w))),
    )


def _terms(brand: Brand) -> Iterable[tuple[str, str]]:
    for text in brand.names:
        yield NAME, text
    for text in brand.abbreviations:
        yield ABBR, text
    for text in brand.product_lines:
        yield LINE, text
    for text in brand.evasive_aliases:
        yield EVASIVE, text


def _variants(entry: Entry) -> Iterable[tuple[str, str]]:
    """AC keys (visual, padded) for one entry, each with its variant label."""
    if entry.cjk:
        yield entry.visual, PLAIN
        return
    yield f" {entry.visual} ", PLAIN
    letters = entry.visual.replace(" ", "")
    if " " in entry.visual and len(letters) >= 6:
        yield f" {letters} ", GLUED
    # Spaced letters of a two-letter name ("h p") are too common to mean the brand.
    min_spaced = 2 if entry.kind == ABBR else 3
    if entry.kind != LINE and " " not in entry.visual and min_spaced <= len(letters) <= 16:
        yield " " + " ".join(letters) + " ", SPACED
    if entry.kind != ABBR:
        for variant in _rn_variants(entry.visual):
            yield f" {variant} ", VARIANT


def _rn_variants(text: str) -> list[str]:
    """``m -> rn`` and ``w -> vv`` spellings, capped to keep the index small."""
    spots = [i for i, c in enumerate(text) if c in "mw"][:3]
    out = []
    for choice in itertools.product((False, True), repeat=len(spots)):
        if not any(choice):
            continue
        chars = list(text)
        for spot, on in zip(spots, choice):
            if on:
                chars[spot] = "rn" if chars[spot] == "m" else "vv"
        out.append("".join(chars))
    return out


class Lexicon:
    """All terms of a catalogue, compiled into the two candidate indexes."""

    def __init__(self, catalog: Catalog, common_words: Iterable[str] | None = None):
        self.brands: tuple[BrandInfo, ...] = tuple(_brand_info(b) for b in catalog)
        self.entries: list[Entry] = []
        if common_words is None:
            self.common_words, self.very_common = load_common_words()
        else:
            self.common_words = frozenset(w.casefold() for w in common_words)
            self.very_common = frozenset()
        for index, info in enumerate(self.brands):
            for kind, text in _terms(info.brand):
                self._add_entry(index, kind, text)
        self.exact_keys: dict[str, tuple[int, ...]] = self.exact_index()
        self.marks: tuple[NameMark, ...] = tuple(mark_names(catalog, self.very_common))
        self.marked, self.shared = self._marked_entries()
        self.automaton = self._build_automaton()
        self.fuzzy_keys, self.delete_index = self._build_delete_index()
        self.finish()
        log.debug("lexicon: %d brands, %d entries, %d fuzzy keys, %d deletes",
                  len(self.brands), len(self.entries), len(self.fuzzy_keys), len(self.delete_index))

    def finish(self) -> None:
        """The cheap derived tables (also rebuilt when a compiled lexicon is read from disk)."""
        self.exact_keys = self.exact_index()
        # For each fuzzy key of a multi-word name: the name's other words (3+ letters).
        self.window_partners: list[frozenset[str]] = [
            frozenset(w for j, w in enumerate(self.entries[e].key.split(" ")) if j != pos and len(w) >= 3)
            if pos >= 0 else frozenset() for _, e, pos in self.fuzzy_keys]
        # A typo is only a typo when the token is not an ordinary word or another brand.
        self.brand_keys = frozenset(
            e.key for e in self.entries if e.kind in (NAME, EVASIVE) and " " not in e.key)
        # Entries spelt like a unit ("HP", "GB"): only these can be a quantity ("10 HP").
        self.unit_entries = frozenset(i for i, e in enumerate(self.entries) if e.key in UNIT_WORDS)
        # Entries a title must look at twice (shared, unit-like or word-like names): the fast
        # path checks one set instead of three.
        self.special_entries = self.unit_entries | frozenset(self.shared) | self.marked

    def _add_entry(self, brand: int, kind: str, text: str) -> None:
        key = _key_of(text)
        if not key:
            return
        entry = Entry(brand, kind, text, key, visual_fold(key), is_cjk(key),
                      key.isascii() and not is_cjk(text))
        self.entries.append(entry)

    def _marked_entries(self) -> tuple[frozenset[int], dict[int, tuple[int, ...]]]:
        """(name entries marked ambiguous for a word-like reason, name entry -> the other
        brands whose name entries spell the same key)."""
        index = {info.brand.id: i for i, info in enumerate(self.brands)}
        word_like = {(index[m.brand_id], m.name) for m in self.marks
                     if m.ambiguous and (m.overridden or any(not r.startswith("shared:") for r in m.reasons))}
        marked = frozenset(i for i, e in enumerate(self.entries) if e.kind == NAME and (e.brand, e.source) in word_like)
        shared: dict[int, tuple[int, ...]] = {}
        for ids in self.exact_keys.values():
            names = [i for i in ids if self.entries[i].kind == NAME]
            brands = {self.entries[i].brand for i in names}
            if len(brands) > 1:
                for i in names:
                    shared[i] = tuple(sorted(brands - {self.entries[i].brand}))
        return marked, shared

    def exact_index(self) -> dict[str, tuple[int, ...]]:
        """Plain key -> the entries spelling it."""
        out: dict[str, list[int]] = {}
        for i, entry in enumerate(self.entries):
            out.setdefault(entry.key, []).append(i)
        return {k: tuple(v) for k, v in out.items()}

    def _split_variants(self, entry: Entry) -> Iterable[str]:
        """One space inside a single-word name ("pra da", "gu cci"), unless both halves are
        ordinary words, so that "can on" never reads as Canon."""
        key = entry.key
        if entry.kind != NAME or not entry.latin or " " in key or len(key) < 5 or not key.isalpha():
            return
        for i in range(2, len(key) - 1):
            head, tail = key[:i], key[i:]
            if (head in self.very_common and tail in self.very_common) or f"{head} {tail}" in self.exact_keys:
                continue  # two words, or another brand's own two-word name (Cooler Master)
            if head in self.common_words and tail in self.common_words and max(len(head), len(tail)) >= 4 \
                    and key not in self.common_words:
                continue  # a name unknown as one word, made of two: "uni-ball", "us robotics" really are two
            yield f" {visual_fold(head)} {visual_fold(tail)} "

    def _build_automaton(self) -> ahocorasick.Automaton:
        keys: dict[str, list[tuple[int, str]]] = {}
        for i, entry in enumerate(self.entries):
            for key, variant in _variants(entry):
                bucket = keys.setdefault(key, [])
                if (i, variant) not in bucket:
                    bucket.append((i, variant))
            for key in self._split_variants(entry):
                bucket = keys.setdefault(key, [])
                if (i, SPLIT) not in bucket:
                    bucket.append((i, SPLIT))
        automaton = ahocorasick.Automaton()
        for key, value in keys.items():
            # Per match: (entry, variant, exact key or None); the key is given only when a
            # title spelling it exactly makes a clean exact hit (plain variant, whole
            # tokens, not an evasive alias), the case the matcher handles inline.
            automaton.add_word(key, (len(key), tuple(
                (i, variant, self.entries[i].key if variant == PLAIN and self.entries[i].kind != EVASIVE
                 and not self.entries[i].cjk else None) for i, variant in value)))
        automaton.make_automaton()
        return automaton

    def _build_delete_index(self) -> tuple[list[tuple[str, int, int]], dict[str, tuple[int, ...]]]:
        """Index names (and the tokens of multi-word names) by their deletions.

        Keys are plain (not visual) forms: a typo is measured on what was typed,
        so ``netbook`` is not one fold away from ``nextdoor``.
        """
        fuzzy: list[tuple[str, int, int]] = []  # (plain key, entry, token position or -1)
        for i, entry in enumerate(self.entries):
            if entry.kind != NAME or not entry.latin:
                continue
            parts = entry.key.split(" ")
            if len(parts) == 1:
                if edit_budget(len(entry.key), weak=True):
                    fuzzy.append((entry.key, i, -1))
                continue
            for pos, part in enumerate(parts):
                if len(part) >= 3 and part.isalpha():  # the whole window is verified later
                    fuzzy.append((part, i, pos))
        index: dict[str, set[int]] = {}
        for fid, (key, _, pos) in enumerate(fuzzy):
            depth = max(1, edit_budget(len(key), weak=True)) if pos >= 0 else edit_budget(len(key), weak=True)
            for d in deletes(key, depth):
                index.setdefault(d, set()).add(fid)
        return fuzzy, {k: tuple(sorted(v)) for k, v in index.items()}
