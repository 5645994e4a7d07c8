"""The compiled lexicon on disk: start the title engine on thousands of brands in a fraction of a second.

Compiling a catalogue (parsing every ``brand.yaml``, normalising every name, marking the
ambiguous ones, building the automaton and the typo index) takes seconds for 3,500
brands. The result is saved once, as JSON (never pickled), in a folder named after the
catalogue's digest::

    lexicon-<digest16>/
      manifest.json      # format, catalogue digest, engine digest, common-word key, data SHA-256
      lexicon-<sha16>.json

The catalogue digest is the SHA-256 of every brand's ``brand.yaml`` bytes (and folder
name), so start-up reads a few kB per brand and parses nothing: the saved lexicon is
used only when the catalogue, the engine's code and the common-word list are exactly
those it was made from, and its data file matches the SHA-256 in the manifest. Anything
else (a changed brand, a damaged file, another library version) compiles afresh and
replaces it. Files are written atomically, data first and manifest last.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import ahocorasick

from counterfeit_vision.catalog import BRAND_FILE, Brand, Catalog, load_catalog
from counterfeit_vision.titles.lexicon import BrandInfo, Entry, Lexicon, common_words_key, load_common_words
from counterfeit_vision.titles.names import NameMark
from counterfeit_vision.titles.rules import BRAND_CUES

__all__ = ["FORMAT", "catalog_digest", "default_lexicon_dir", "load_lexicon", "lexicon_for_catalog", "save_lexicon"]

log = logging.getLogger(__name__)

FORMAT = 1
_BRAND_FIELDS = ("id", "name", "aliases", "abbreviations", "product_lines", "categories", "ambiguous",
                 "negative_context", "compatible_accessories", "own_terms", "evasive_aliases", "authorized_sellers",
                 "ambiguous_names")


def catalog_digest(root: str | Path) -> str:
    """SHA-256 over the brand folders' names and ``brand.yaml`` bytes (the folders the loader reads)."""
    h = hashlib.sha256()
    root = Path(root)
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        if not entry.is_dir() or entry.name.startswith((".", "_")):
            continue
        h.update(entry.name.encode("utf-8") + b"\0")
        try:
            h.update(Path(entry.path, BRAND_FILE).read_bytes())
        except OSError:
            h.update(b"<unreadable>")
        h.update(b"\0\0")
    return h.hexdigest()


def _engine_digest() -> str:
    """The code that compiles and reads a lexicon: a change to it invalidates saved ones."""
    here = Path(__file__).resolve().parent
    h = hashlib.sha256(str(FORMAT).encode())
    for path in sorted(here.glob("*.py")) + [here.parent / "catalog.py"]:
        h.update(path.read_bytes())
    return h.hexdigest()


def default_lexicon_dir(digest: str) -> Path | None:
    """``$CV_CACHE_DIR`` (or ``~/.cache/counterfeit_vision``) / ``lexicon-<digest16>``; None without a home."""
    try:
        root = Path(os.environ.get("CV_CACHE_DIR") or Path.home() / ".cache" / "counterfeit_vision")
    except RuntimeError:
        return None
    return root / f"lexicon-{digest[:16]}"


# -- state ------------------------------------------------------------------------
def _brand_state(brand: Brand) -> dict[str, Any]:
    """The brand's text fields, defaults left out (4,000 brands: a smaller file reads faster)."""
    out = {}
    for name in _BRAND_FIELDS:
        value = getattr(brand, name)
        if value or name in ("id", "name"):
            out[name] = sorted(value) if isinstance(value, frozenset) else value
    return out


def _state(lex: Lexicon) -> dict[str, Any]:
    automaton = [[key, value[0], [list(v) for v in value[1]]] for key, value in lex.automaton.items()]
    return {
        "brands": [{"brand": _brand_state(b.brand), "context_words": sorted(b.context_words),
                    "negative": b.negative, "own_terms": sorted(b.own_terms), "accessories": b.accessories,
                    "names_ascii": b.names_ascii, "cjk_context": b.cjk_context}
                   for b in lex.brands],
        "entries": [[e.brand, e.kind, e.source, e.key, e.visual, e.cjk, e.latin] for e in lex.entries],
        "marks": [[m.brand_id, m.name, m.reasons, m.ambiguous, m.overridden] for m in lex.marks],
        "marked": sorted(lex.marked),
        "shared": [[k, v] for k, v in sorted(lex.shared.items())],
        "automaton": automaton,
        "fuzzy_keys": lex.fuzzy_keys,
        # one string of keys and two int lists: JSON reads these in C, far faster than 67k small lists
        "delete_index": {"keys": "\n".join(lex.delete_index), "counts": [len(v) for v in lex.delete_index.values()],
                         "ids": [i for v in lex.delete_index.values() for i in v]},
    }


def _brand(raw: dict[str, Any]) -> Brand:
    fields = {}
    for name, value in raw.items():
        if name == "authorized_sellers":
            value = frozenset(value)
        elif name == "ambiguous_names":
            value = tuple(tuple(x) for x in value)
        elif isinstance(value, list):
            value = tuple(value)
        fields[name] = value
    return Brand(**fields)


def _delete_index(packed: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    keys = packed["keys"].split("\n") if packed["keys"] else []
    ids = packed["ids"]
    out: dict[str, tuple[int, ...]] = {}
    at = 0
    for key, n in zip(keys, packed["counts"]):
        out[key] = tuple(ids[at:at + n])
        at += n
    if at != len(ids) or len(out) != len(packed["counts"]):
        raise ValueError("delete index lengths disagree")
    return out


def _from_state(state: dict[str, Any], common: tuple[frozenset[str], frozenset[str]]) -> Lexicon:
    lex = Lexicon.__new__(Lexicon)  # the compiled parts are read, not rebuilt
    lex.brands = tuple(BrandInfo(
        brand=_brand(b["brand"]), context_words=frozenset(b["context_words"]),
        negative=tuple(tuple(p) for p in b["negative"]), own_terms=frozenset(b["own_terms"]),
        accessories=tuple(tuple(a) for a in b["accessories"]), names_ascii=b["names_ascii"],
        cue_words=frozenset(b["context_words"]) | BRAND_CUES, cjk_context=tuple(b["cjk_context"]))
        for b in state["brands"])
    lex.entries = [Entry(*e) for e in state["entries"]]
    lex.common_words, lex.very_common = common
    lex.exact_keys = lex.exact_index()
    lex.marks = tuple(NameMark(m[0], m[1], tuple(m[2]), m[3], m[4]) for m in state["marks"])
    lex.marked = frozenset(state["marked"])
    lex.shared = {k: tuple(v) for k, v in state["shared"]}
    automaton = ahocorasick.Automaton()
    for key, length, values in state["automaton"]:
        automaton.add_word(key, (length, tuple(tuple(v) for v in values)))
    automaton.make_automaton()
    lex.automaton = automaton
    lex.fuzzy_keys = [tuple(k) for k in state["fuzzy_keys"]]
    lex.delete_index = _delete_index(state["delete_index"])
    lex.finish()
    return lex


# -- files ------------------------------------------------------------------------
def save_lexicon(lex: Lexicon, folder: str | Path, digest: str) -> None:
    """Write ``lex`` (compiled from the catalogue of ``digest``) into ``folder``, atomically."""
    from counterfeit_vision._atomic import atomic_write, write_json_atomic

    folder = Path(folder)
    data = json.dumps(_state(lex), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    sha = hashlib.sha256(data).hexdigest()
    name = f"lexicon-{sha[:16]}.json"
    with atomic_write(folder / name, "wb") as f:
        f.write(data)
    old = _read_manifest(folder)
    write_json_atomic(folder / "manifest.json", {
        "format": FORMAT, "catalog_digest": digest, "engine_digest": _engine_digest(),
        "common_words": common_words_key(), "brands": len(lex.brands), "data": name, "sha256": sha,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    if old and old.get("data") not in (None, name):
        (folder / str(old["data"])).unlink(missing_ok=True)  # the previous version, once replaced


def _read_manifest(folder: Path) -> dict[str, Any] | None:
    try:
        man = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return man if isinstance(man, dict) else None


def load_lexicon(folder: str | Path, digest: str) -> Lexicon | None:
    """The saved lexicon in ``folder`` if it was compiled from the catalogue of ``digest`` by this
    engine and its data is intact; None (with the reason logged) otherwise."""
    folder = Path(folder)
    man = _read_manifest(folder)
    if man is None:
        return None
    expected = {"format": FORMAT, "catalog_digest": digest, "engine_digest": _engine_digest(),
                "common_words": common_words_key()}
    stale = [k for k, v in expected.items() if man.get(k) != v]
    if stale:
        log.info("compiled lexicon at %s is out of date (%s); recompiling", folder, ", ".join(stale))
        return None
    try:
        data = (folder / str(man["data"])).read_bytes()
        if hashlib.sha256(data).hexdigest() != man.get("sha256"):
            log.warning("compiled lexicon at %s is damaged (SHA-256 mismatch); recompiling", folder)
            return None
        return _from_state(json.loads(data), load_common_words())
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        log.warning("compiled lexicon at %s cannot be read (%s); recompiling", folder, exc)
        return None


def lexicon_for_catalog(root: str | Path, *, lexicon_dir: str | Path | None = None) -> tuple[Lexicon, bool]:
    """The catalogue's compiled lexicon, from ``lexicon_dir`` (default: the cache folder named
    after its digest) when it is current, else compiled from ``load_catalog(root)`` and saved.
    Returns (lexicon, loaded from disk)."""
    digest = catalog_digest(root)
    folder = Path(lexicon_dir) if lexicon_dir else default_lexicon_dir(digest)
    if folder is not None:
        lex = load_lexicon(folder, digest)
        if lex is not None:
            return lex, True
    catalog: Catalog = load_catalog(root)  # every problem reported, as without a saved lexicon
    lex = Lexicon(catalog)
    if folder is not None:
        try:
            save_lexicon(lex, folder, digest)
        except OSError as exc:  # a read-only cache: the next start-up compiles again
            log.info("cannot save the compiled lexicon at %s: %s", folder, exc)
    return lex, False
