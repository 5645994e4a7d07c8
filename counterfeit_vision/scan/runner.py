"""One scan path: read the rows, keep bad rows in place, score, write results, record, report.

``scan_file`` is what ``counterfeit-vision scan`` runs, whatever the engine: the local
engine scores in this process, the Ray engine (``ray_engine``) in a pool of actors, and
both go through :func:`score_rows` with the same detector options, fusion model and
seller history, so every option means the same on both.

The seller history is read from the feedback store once, before scoring, for the sellers
in the file (a snapshot): decisions recorded by this scan count from the next scan on,
on either engine.

With an evidence store (``--store DIR``, ``counterfeit_vision.store``) the listings are
scored in batches of ``batch_size`` listings at fixed positions in the file; a listing
whose input hash is stored under the same scoring state takes its stored result (no
photo is opened beyond hashing its bytes), and each scored batch is committed in one
transaction as it completes. A scan killed at any moment and run again with the same
arguments so re-scores only the batches that were not committed, in the same batches,
and writes the same file as an uninterrupted run.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Sequence

from counterfeit_vision.detector import DetectorConfig
from counterfeit_vision.errors import UsageError
from counterfeit_vision.listing import Listing, Result, parse_line

if TYPE_CHECKING:
    from counterfeit_vision.store import ListingFacts

__all__ = ["ENGINES", "RowError", "ScanOptions", "ScanOutcome", "Scored", "history_lookup", "listing_memory",
           "load_fusion", "note_duplicate_ids", "numbered_lines", "parse_row", "read_rows", "scan_file",
           "score_batches", "score_rows", "scored_with_facts", "write_results"]

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
    store: Path | None = None   # the evidence store folder (``DetectorConfig.store`` is set from it)

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise UsageError(f"unknown engine {self.engine!r}; choose one of {', '.join(ENGINES)}")
        if self.batch_size < 1 or self.actors < 1:
            raise UsageError("--batch-size and --actors must be at least 1")
        if self.store is not None and self.config.store != str(self.store):
            import dataclasses

            object.__setattr__(self, "config", dataclasses.replace(self.config, store=str(self.store)))


@dataclass
class ScanOutcome:
    """What a scan wrote."""

    results: list[Result]
    model_info: dict = field(default_factory=dict)


def read_rows(path: str | Path) -> list[Row]:
    """Every row of a listings file (JSONL, CSV or Parquet by extension: ``formats``) as a :class:`Listing`
    or a :class:`RowError`, in order.

    Image paths are resolved relative to the file's folder."""
    from counterfeit_vision.scan.formats import read_listing_rows

    rows = [RowError(*p) if isinstance(p, tuple) else p for _, p in read_listing_rows(Path(path))]
    return note_duplicate_ids(rows)


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
    """Write results atomically (all rows or none): Parquet for a ``.parquet`` path, else JSONL; returns the count."""
    from counterfeit_vision._atomic import atomic_write
    from counterfeit_vision.scan.formats import listing_format, write_parquet_results

    if listing_format(Path(path)) == "parquet":
        with atomic_write(path, "wb") as f:
            return write_parquet_results(f, results)
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

        results, info = ray_engine.score_file(opts, rows, seller_history=history, seller_cue=cues)
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


Scored = tuple[Result, "ListingFacts | None"]  # a listing's result and what the store keeps of it


def scored_with_facts(detector, listings: list[Listing]) -> list[Scored]:
    """One batch of listings scored as one detector batch, with the facts the evidence store keeps."""
    from counterfeit_vision.store import listing_facts

    return [(r, listing_facts(inp) if inp is not None else None)
            for r, inp in detector.score_detailed(listings, batch_size=max(1, len(listings)))]


def _score_local(opts: ScanOptions, catalog, fusion, history: dict[str, float], rows: list[Row], cues=None):
    from tqdm import tqdm

    from counterfeit_vision.detector import Detector

    detector = Detector.from_catalog(catalog, index_dir=opts.index_dir, config=opts.config, fusion=fusion)
    detector.seller_history = history_lookup(history) if opts.feedback_db else None
    detector.seller_cue = cues
    memory = listing_memory(detector, opts)
    with tqdm(total=len(rows), desc="scanning", unit="listing", disable=not opts.progress) as bar:
        results = score_batches(rows, lambda batches: (scored_with_facts(detector, b) for b in batches),
                                batch_size=opts.batch_size, model_info=detector.model_info, memory=memory,
                                history=history if opts.feedback_db else None, seller_cue=cues,
                                progress=bar.update)
        bar.update(len(rows) - bar.n)
    return results, detector.model_info


def listing_memory(detector, opts: ScanOptions):
    """The listings of the detector's evidence store under its scoring state (None without a store)."""
    if detector.store is None:
        return None
    from dataclasses import asdict

    from counterfeit_vision.store import ListingMemory, scoring_state

    memory = ListingMemory(detector.store, scoring_state(detector, opts.config, seller_history=bool(opts.feedback_db)))
    # `rescan` scores with the options the listings were scanned with
    memory.store.set_meta("config", json.dumps({k: v for k, v in asdict(opts.config).items() if k != "store"}))
    return memory


def score_batches(rows: Sequence[Row], score: Callable[[list[list[Listing]]], Iterable[list[Scored]]], *,
                  batch_size: int, model_info: dict, memory=None, history: dict[str, float] | None = None,
                  seller_cue=None, progress: Callable[[int], object] = lambda n: None) -> list[Result]:
    """One result per row, in order. The listings go to ``score`` in batches of ``batch_size`` at fixed
    positions (the k-th batch is always the same listings, whatever is stored), which yields each batch's
    scored listings in order; with ``memory`` (a ``store.ListingMemory``) stored listings are looked up
    and each scored batch is committed as it comes back."""
    positions = [i for i, r in enumerate(rows) if isinstance(r, Listing)]
    keys = {i: memory.key(rows[i], _history_of(rows[i], history, seller_cue)) for i in positions} if memory else {}
    stored = memory.recall(list(keys.values())) if memory else {}
    out: list[Result | None] = [None] * len(rows)
    for i in positions:
        if i in keys and keys[i].input_hash in stored:
            out[i] = stored[keys[i].input_hash]
    todo = [[i for i in positions[s:s + batch_size] if out[i] is None] for s in range(0, len(positions), batch_size)]
    todo = [t for t in todo if t]
    progress(len(positions) - sum(map(len, todo)))
    for batch, scored in zip(todo, score([[rows[i] for i in t] for t in todo])):
        for i, (result, _) in zip(batch, scored):
            out[i] = result
        if memory:
            memory.remember([(i, keys[i], r, f) for i, (r, f) in zip(batch, scored)])
        progress(len(batch))
    return [out[i] if out[i] is not None else Result.failed(r.row_id, r.error, model_info)
            for i, r in enumerate(rows)]


def _history_of(listing: Listing, history: dict[str, float] | None, seller_cue=None):
    """What a listing's result depends on besides its row and photos: its seller's history and seller
    cue (risk, repeat-offender floors), when used: a new verdict on the seller makes a stored result stale."""
    if history is None and seller_cue is None:
        return None
    seller = listing.seller_id or ""
    cue = seller_cue.for_seller(seller) if seller_cue is not None else None
    return [history.get(seller, 0.0) if history is not None else None, cue]


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
