"""``counterfeit-vision titles``: run the title engine over a file of titles.

Input is either plain text (one title per line; the id is the line number) or
a listings JSONL (rows with ``"title"`` and ``"id"``): JSONL when the file ends
in ``.jsonl``/``.ndjson`` or its first non-blank line is a JSON object. Every input row yields exactly one output row;
a bad row gets an ``"error"`` and the run goes on (exit code 0).
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any, Iterator, TextIO

from counterfeit_vision.errors import UsageError

# The title engine's limit (counterfeit_vision.titles.matcher.MAX_TITLE_CHARS), repeated here so that
# building the CLI parser does not import the engine; tests/titles/test_command.py checks they agree.
MAX_TITLE_CHARS = 2000

__all__ = ["register", "run"]

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``titles`` subcommand to the main CLI's subparsers."""
    parser = subparsers.add_parser(
        "titles", help="find brand misuse in listing titles",
        description="Read titles (text, one per line, or listings JSONL with id and title) "
                    "against every brand of a catalogue; write one JSONL row per title.")
    parser.add_argument("--catalog", required=True, type=Path, help="brand catalogue folder")
    parser.add_argument("input", type=Path, metavar="INPUT", help="titles .txt or listings .jsonl")
    parser.add_argument("--out", required=True, type=Path, help="output JSONL path")
    parser.add_argument("--lexicon", type=Path, metavar="DIR",
                        help="folder of the compiled lexicon to load (when current) or save (default: "
                             "$CV_CACHE_DIR or ~/.cache/counterfeit_vision, named after the catalogue's digest)")
    parser.set_defaults(func=run)
    return parser


def _is_jsonl(path: Path) -> bool:
    """JSONL when named so, or when the first non-blank line is a JSON object."""
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        return True
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.strip():
                return line.lstrip().startswith("{")
    return False


def _rows(handle: TextIO, jsonl: bool) -> Iterator[tuple[Any, Any, str | None]]:
    """Yield (id, title, error) for each non-blank input line."""
    for lineno, line in enumerate(handle, 1):
        text = line.rstrip("\r\n")
        if not text.strip():
            continue
        if not jsonl:
            yield lineno, text, None
            continue
        try:
            row = json.loads(text)
        except json.JSONDecodeError as exc:
            yield lineno, None, f"line {lineno}: not valid JSON: {exc.msg}"
            continue
        except (ValueError, RecursionError) as exc:  # 5,000-digit numbers, deep nesting
            yield lineno, None, f"line {lineno}: cannot be read ({type(exc).__name__})"
            continue
        if not isinstance(row, dict):
            yield lineno, None, f"line {lineno}: a JSON row must be an object"
            continue
        yield _row_id(row.get("id"), lineno), row.get("title"), None


def _row_id(value: Any, lineno: int) -> Any:
    """The row's id when it is a usable string or number, else its line number."""
    if isinstance(value, str) and len(value) <= 500:
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() <= 64:
        return value
    return lineno


def _title_error(title: Any) -> str | None:
    if title is None:
        return "missing title"
    if not isinstance(title, str):
        return f"title must be a string, got {type(title).__name__}"
    if not title.strip():
        return "empty title"
    if len(title) > MAX_TITLE_CHARS:
        return f"title too long ({len(title)} characters, limit {MAX_TITLE_CHARS})"
    return None


def _finding_row(f) -> dict[str, Any]:
    """A finding as its output row (by hand: ``dataclasses.asdict`` deep-copies, several times slower)."""
    return {"brand_id": f.brand_id, "verdict": f.verdict, "reasons": list(f.reasons), "span": list(f.span),
            "matched_text": f.matched_text, "score": f.score, "context": list(f.context),
            "shared_with": list(f.shared_with)}


def _result(matcher, row_id: Any, title: Any, error: str | None) -> dict[str, Any]:
    error = error or _title_error(title)
    out: dict[str, Any] = {"id": row_id, "title": title if isinstance(title, str) else None,
                           "findings": [], "error": error}
    if error is None:
        try:
            out["findings"] = [_finding_row(f) for f in matcher.match(title)]
        except Exception as exc:  # noqa: BLE001 - one bad title must not stop a batch
            log.exception("title %r failed", row_id)
            out["error"] = f"internal error: {type(exc).__name__}: {exc}"
    if out["title"] is not None and len(out["title"]) > MAX_TITLE_CHARS:
        out["title"] = out["title"][:MAX_TITLE_CHARS]  # keep the output file bounded
    return out


def run(args: argparse.Namespace) -> int:
    """Run the subcommand; returns the process exit code."""
    from counterfeit_vision._atomic import atomic_write
    from counterfeit_vision.catalog import CatalogError, CatalogProblem
    from counterfeit_vision.titles.compiled import lexicon_for_catalog
    from counterfeit_vision.titles.matcher import TitleMatcher

    if not args.input.is_file():
        raise UsageError(f"titles file not found: {args.input}")
    if not args.catalog.is_dir():
        raise CatalogError([CatalogProblem(str(args.catalog), "-", "catalogue folder does not exist")])
    lexicon, loaded = lexicon_for_catalog(args.catalog, lexicon_dir=getattr(args, "lexicon", None))
    log.info("titles: lexicon of %d brands %s", len(lexicon.brands), "loaded" if loaded else "compiled")
    matcher = TitleMatcher(lexicon)
    count = errors = 0
    encode = json.JSONEncoder(ensure_ascii=False).encode  # built once: json.dumps re-creates it per row
    # atomically: a crash mid-file leaves the previous output, never half of a new one
    with open(args.input, encoding="utf-8", errors="replace") as src, atomic_write(args.out, errors="replace") as dst:
        for row_id, title, error in _rows(src, _is_jsonl(args.input)):
            result = _result(matcher, row_id, title, error)
            dst.write(encode(result) + "\n")
            count += 1
            errors += result["error"] is not None
    log.info("titles: %d rows, %d with errors -> %s", count, errors, args.out)
    return 0
