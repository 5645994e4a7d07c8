"""Listing and result files by extension: JSONL (default), CSV and Parquet in; JSONL and Parquet out.

Listings: ``.csv`` has a header row with the listing fields (``images`` a JSON list or paths
separated by ``;``; empty cells are absent fields); ``.parquet`` has one column per field
(``images`` a list of strings or a string as in CSV); anything else is JSONL. A UTF-8 byte
order mark is accepted on any row. Each row is parsed by ``Listing.from_dict``: a bad part
is ignored with a note, a row that is not a listing gets an error in its place.

Results: ``.parquet`` writes one row per result with ``id``, ``decision``, ``confidence``,
``brand`` and ``error`` as columns and ``signals``, ``evidence``, ``model``, ``notes`` and
``photos`` as JSON text (their shapes vary by row); anything else is JSONL.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Iterable, Iterator

from counterfeit_vision.errors import UsageError
from counterfeit_vision.listing import Listing, Result, parse_line, parse_row_dict

__all__ = ["JSON_RESULT_COLUMNS", "listing_format", "read_listing_rows", "read_parquet_results",
           "write_parquet_results"]

JSON_RESULT_COLUMNS = ("signals", "evidence", "model", "notes", "photos")
BOM = "\ufeff"


def listing_format(path: Path) -> str:
    """``csv``, ``parquet`` or ``jsonl``, by the file's extension."""
    suffix = path.suffix.lower()
    return {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}.get(suffix, "jsonl")


def read_listing_rows(path: Path) -> Iterator[tuple[int, Listing | tuple[str, str]]]:
    """(row number, listing or (row id, error)) for every row of a listings file, in order."""
    kind = listing_format(path)
    if kind == "csv":
        yield from _csv_rows(path)
    elif kind == "parquet":
        yield from _parquet_rows(path)
    else:
        with path.open("r", encoding="utf-8", errors="replace") as f:
            for n, line in enumerate(f, start=1):
                if line.strip(BOM).strip():
                    yield n, parse_line(line, n, path.parent)


def _csv_rows(path: Path) -> Iterator[tuple[int, Listing | tuple[str, str]]]:
    with path.open("r", encoding="utf-8", errors="replace", newline="") as f:
        reader = csv.DictReader(_strip_bom(f))
        try:
            for row in reader:
                n = reader.line_num
                if None in row:  # more cells than the header has names
                    yield n, (f"row-{n}", f"line {n}: {len(row[None])} cell(s) beyond the header")
                    continue
                values = {k.strip(BOM).strip(): v for k, v in row.items() if k is not None and v not in (None, "")}
                if "images" in values:
                    values["images"] = _images_cell(values["images"])
                yield n, parse_row_dict(values, n, path.parent)
        except csv.Error as exc:
            raise UsageError(f"{path}: line {reader.line_num} is not CSV: {exc}") from None


def _strip_bom(lines: Iterable[str]) -> Iterator[str]:
    for line in lines:
        yield line.lstrip(BOM)


def _images_cell(text: str) -> Any:
    text = text.strip()
    if text.startswith("["):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return [p.strip() for p in text.split(";") if p.strip()]


def _parquet_rows(path: Path) -> Iterator[tuple[int, Listing | tuple[str, str]]]:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise UsageError("Parquet listings need pyarrow: pip install pyarrow") from exc
    try:
        table = pq.read_table(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises ArrowInvalid and friends for a damaged file
        raise UsageError(f"{path} is not a readable Parquet file: {exc}") from None
    n = 0
    for batch in table.to_batches():
        for row in batch.to_pylist():
            n += 1
            values = {str(k).strip(BOM): v for k, v in row.items() if v is not None}
            if isinstance(values.get("images"), str):
                values["images"] = _images_cell(values["images"])
            yield n, parse_row_dict(values, n, path.parent)


# ----------------------------------------------------------------------- results
# result fields stored as Parquet columns of their own; the nested ones (JSON_RESULT_COLUMNS) as JSON text
SCALAR_RESULT_COLUMNS = ("id", "decision", "confidence", "brand", "error", "seller_id")


def write_parquet_results(f, results: Iterable[Result]) -> int:
    """Write results to the binary file ``f`` as one Parquet table; returns the count."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [r.to_dict() for r in results]
    columns: dict[str, list] = {k: [r.get(k) for r in rows] for k in SCALAR_RESULT_COLUMNS}
    for k in JSON_RESULT_COLUMNS:
        columns[k] = [json.dumps(r[k], ensure_ascii=False) for r in rows]
    schema = pa.schema([*((k, pa.float64() if k == "confidence" else pa.string()) for k in SCALAR_RESULT_COLUMNS),
                        *((k, pa.string()) for k in JSON_RESULT_COLUMNS)])
    pq.write_table(pa.table(columns, schema=schema), f)
    return len(rows)


def read_parquet_results(path: Path) -> Iterator[Result]:
    """The :class:`Result` of each row of a Parquet results file, in order."""
    import pyarrow.parquet as pq

    for n, row in enumerate(pq.read_table(path).to_pylist(), start=1):
        try:
            yield Result.from_dict({**row, **{k: json.loads(row[k]) for k in JSON_RESULT_COLUMNS if row.get(k)}})
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{path}: row {n} is not a result: {exc}") from None
