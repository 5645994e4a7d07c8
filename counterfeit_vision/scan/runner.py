"""One scan path: read the rows, keep bad rows in place, score, write results, record, report.

``scan_file`` is what ``counterfeit-vision scan`` runs, whatever the engine: the local
engine scores in this process, the Ray engine (``ray_engine``) in a pool of actors, and
both go through :func:`score_rows` with the same detector options, fusion model and
seller history, so every option means the same on both.

The seller history is read from the feedback store once, before scoring, for the sellers
in the file (a snapshot): decisions recorded by this scan count from the next scan on,
on either engine.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from counterfeit_vision.detector import DetectorConfig
from counterfeit_vision.errors import UsageError
from counterfeit_vision.listing import Listing, Result, parse_line

__all__ = ["ENGINES", "RowError", "ScanOptions", "ScanOutcome", "history_lookup", "load_fusion", "note_duplicate_ids",
           "numbered_lines", "parse_row", "read_rows", "scan_file", "score_rows",
           "write_results"]

log = logging.getLogger(__name__)

ENGINES = ("local", "ray")


@dataclass(frozen=True)
class RowError:
    """An input line that cannot be scored at all: its result is an ``error`` in its place."""

    row_id: str
    error: str


Row = Listing | RowError


@dataclass(frozen=True)
class ScanOptions:
    """Everything ``scan`` reads; the same for every engine."""

    listings: Path
    catalog: Path
    out: Path
    index_dir: Path
    config: DetectorConfig = DetectorConfig()
    batch_size: int = 16
    fusion_model: Path | None = None
    feedback_db: Path | None = None
    report: Path | None = None
    engine: str = "local"
    ray_address: str | None = None
    actors: int = 1
    progress: bool = True

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise UsageError(f"unknown engine {self.engine!r}; choose one of {', '.join(ENGINES)}")
        if self.batch_size < 1 or self.actors < 1:
            raise UsageError("--batch-size and --actors must be at least 1")


@dataclass
class ScanOutcome:
    """What a scan wrote."""

    results: list[Result]
    model_info: dict = field(default_factory=dict)


def read_rows(path: str | Path) -> list[Row]:
    """Every non-blank line of a listings JSONL as a :class:`Listing` or a :class:`RowError`, in order.

    Image paths are resolved relative to the file's folder."""
    path = Path(path)
    return note_duplicate_ids([parse_row(line, n, path.parent) for n, line in numbered_lines(path)])


def note_duplicate_ids(rows: list[Row]) -> list[Row]:
    """Rows are scored by position, so two rows with one id keep their own results; each gets a note
    naming the others, since whoever reads the results by id would otherwise mix them up."""
    import dataclasses
    from collections import defaultdict

    where: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        where[r.id if isinstance(r, Listing) else r.row_id].append(i)
    out = list(rows)
    for rid, positions in where.items():
        if len(positions) < 2:
            continue
        for i in positions:
            if isinstance(out[i], Listing):
                note = f"id {rid!r} appears in {len(positions)} rows of this file (positions {positions[:5]})"
                out[i] = dataclasses.replace(out[i], notes=(*out[i].notes, note))
    return out


def numbered_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of the non-blank lines; undecodable bytes become U+FFFD, not a crash."""
    with path.open("r", encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, start=1):
            if line.strip():
                yield n, line


def parse_row(line: str, n: int, base_dir: Path | None) -> Row:
    """One JSONL line (number ``n``) as a :class:`Listing` or a :class:`RowError`."""
    parsed = parse_line(line, n, base_dir)
    return RowError(*parsed) if isinstance(parsed, tuple) else parsed


def score_rows(rows: Sequence[Row], score: Callable[[list[Listing]], Iterable[Result]],
               model_info: dict) -> list[Result]:
    """One result per row, in order: ``score`` sees the listings, a bad row gets its error in place."""
    scored = iter(score([r for r in rows if isinstance(r, Listing)]))
    return [next(scored) if isinstance(r, Listing) else Result.failed(r.row_id, r.error, model_info) for r in rows]


def write_results(path: str | Path, results: Iterable[Result]) -> int:
    """Write results as JSONL atomically (all rows or none); returns the count."""
    from counterfeit_vision._atomic import atomic_write

    n = 0
    with atomic_write(path, errors="replace") as f:  # valid UTF-8 whatever a row holds
        for r in results:
            f.write(json.dumps(r.to_dict(), ensure_ascii=False) + "\n")
            n += 1
    return n


def scan_file(opts: ScanOptions) -> ScanOutcome:
    """Score a listings file with ``opts``; writes ``opts.out`` (and the report and store rows when asked)."""
    from counterfeit_vision.catalog import load_catalog

    catalog = load_catalog(opts.catalog)  # a broken catalogue stops here, before any work
    if not Path(opts.listings).is_file():
        raise UsageError(f"listings file not found: {opts.listings}")
    fusion = load_fusion(opts.fusion_model)  # a bad model file stops here too, on both engines
    store = _open_store(opts.feedback_db)
    rows = read_rows(opts.listings)
    history = _seller_history(store, rows)
    cues = _seller_cues(store, catalog)
    if opts.engine == "ray":
        from counterfeit_vision.scan import ray_engine

        results, info = ray_engine.score_file(opts, seller_history=history, seller_cue=cues)
    else:
        results, info = _score_local(opts, catalog, fusion, history, rows, cues)
    write_results(opts.out, results)
    if store is not None:
        store.record_decisions(results)
    if opts.report is not None:
        from counterfeit_vision.report import write_report

        write_report(results, opts.report, catalog=catalog, listings=[r for r in rows if isinstance(r, Listing)],
                     image_roots=opts.config.image_roots)
    return ScanOutcome(results, info)


def _score_local(opts: ScanOptions, catalog, fusion, history: dict[str, float], rows: list[Row], cues=None):
    from tqdm import tqdm

    from counterfeit_vision.detector import Detector

    detector = Detector.from_catalog(catalog, index_dir=opts.index_dir, config=opts.config, fusion=fusion)
    detector.seller_history = history_lookup(history) if opts.feedback_db else None
    detector.seller_cue = cues
    with tqdm(total=len(rows), desc="scanning", unit="listing", disable=not opts.progress) as bar:
        def score(listings: list[Listing]) -> Iterator[Result]:
            for r in detector.iter_scores(listings, batch_size=opts.batch_size):
                bar.update(1)
                yield r

        results = score_rows(rows, score, detector.model_info)
        bar.update(len(rows) - bar.n)
    return results, detector.model_info


def history_lookup(history: dict[str, float]) -> Callable[[str], float]:
    """The seller-history cue from a snapshot: sellers not in it have no record."""
    return lambda seller_id: history.get(seller_id, 0.0)


def load_fusion(model_dir: Path | None):
    """The learned fusion model in ``model_dir`` (None: the hand-set formula)."""
    if model_dir is None:
        return None
    from counterfeit_vision.fusion.learned import load_fusion_model

    return load_fusion_model(model_dir)


def _open_store(path: Path | None):
    if path is None:
        return None
    from counterfeit_vision.feedback.store import FeedbackStore

    return FeedbackStore(path)


def _seller_cues(store, catalog):
    """Seller risk and repeat offences from the store (None without one): the seller cue's snapshot."""
    if store is None:
        return None
    from counterfeit_vision.sellers.risk import SellerCues

    return SellerCues.from_store(store, catalog)


def _seller_history(store, rows: Sequence[Row]) -> dict[str, float]:
    if store is None:
        return {}
    sellers = {r.seller_id for r in rows if isinstance(r, Listing) and r.seller_id}
    return {s: store.seller_history(s) for s in sorted(sellers)}
