"""Hostile rows through the real ``scan`` command: how many were answered, how many crashed or were lost.

    python benchmarks/hostile_scan.py [--random 2000] [--seed 0] [--workdir DIR]

Writes a JSONL file of the hostile rows the hostile-input issue lists (5,000-digit numbers,
100,000 nested brackets, lone surrogates, 300-character and NUL file names, wrong types,
duplicate ids, ...) plus ``--random`` rows of seeded random hostile values, runs
``counterfeit-vision scan --no-ocr`` on it with the sample catalogue in a subprocess, and
prints: rows tried, rows written, rows answered with an ``error``, rows scored with a note,
rows lost, rows with an ordinary id that are not at their input position, whether the output is
valid UTF-8, and the exit code.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

FIXED = [
    '{"id": "a", "price": 1' + "0" * 5000 + "}",
    '{"id": 1' + "0" * 5000 + ', "title": "Velora tote"}',
    "[" * 100_000 + "]" * 100_000,
    '{"id": "' + "[" * 50 + '", "images": ' + "[" * 5000 + "]" * 5000 + "}",
    '{"id": "\\udc80", "seller_id": "\\ud800", "title": "Velora \\udc80 tote"}',
    '{"id": "b", "images": ["' + "x" * 300 + '.jpg"]}',
    '{"id": "c", "images": ["a\\u0000b.jpg"]}',
    '{"id": {"nested": [1, 2]}, "title": 5, "price": [1]}',
    '{"id": "d", "price": "' + "9" * 10_000 + '"}',
    '{"id": "e", "price": 1e999}',
    '{"id": "f", "price": true}',
    '{"id": "dup", "title": "Velora tote replica"}',
    '{"id": "dup", "title": "plain mug"}',
    '{"id": "row-20", "title": "a row named like a row without id"}',
    '{"title": "no id at all"}',
    '{"id": "g", "title": "' + "Velora" * 330 + '"}',
    '{"id": "h", "images": ["/dev/zero", "/etc", "http://example.com/a.jpg", "../../../../etc/passwd"]}',
    "not json at all",
    "null",
    "\ufeff{\"id\": \"bom\"}",
]

_VALUES = [None, True, False, 0, -1, 1e308, float("nan"), "", " ", "\x00", "\ud800", "Velora", "VELORA AAA replica",
           "x" * 2000, [], {}, [[[]]], {"a": {"b": []}}, "../../etc/shadow", "/proc/self/mem", 10 ** 50]


def random_line(rng: random.Random) -> str:
    """One row of random hostile values, or a random mangling of one."""
    row = {k: rng.choice(_VALUES) for k in rng.sample(["id", "title", "images", "price", "currency", "seller_id",
                                                       "category", "extra"], rng.randint(0, 8))}
    if "images" in row and rng.random() < 0.5:
        row["images"] = [rng.choice(_VALUES) for _ in range(rng.randint(0, 30))]
    line = json.dumps(row, allow_nan=True)
    if rng.random() < 0.15:
        cut = rng.randint(0, len(line))
        line = line[:cut]  # truncated row
    return line.replace("\n", " ")


def _plain_id(line: str) -> str | None:
    """The id a row must come back with when it has an ordinary one (checks the output's order)."""
    try:
        row = json.loads(line)
    except (ValueError, RecursionError):
        return None
    ident = row.get("id") if isinstance(row, dict) else None
    if isinstance(ident, str) and ident.strip() == ident and 0 < len(ident) <= 500 and ident.isprintable():
        return ident
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--random", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="hostile-"))
    work.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    lines = FIXED + [random_line(rng) for _ in range(args.random)]
    lines = [x for x in lines if x.strip()]  # blank lines are not rows
    src, out = work / "hostile.jsonl", work / "results.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")
    cmd = [sys.executable, "-m", "counterfeit_vision.cli.main", "scan", str(src), "--catalog",
           str(REPO / "brand_catalog"), "--index", str(work / "index"), "--out", str(out), "--no-ocr"]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    raw = out.read_bytes() if out.exists() else b""
    try:
        text, utf8 = raw.decode("utf-8"), True
    except UnicodeDecodeError:
        text, utf8 = raw.decode("utf-8", "replace"), False
    rows = [json.loads(x) for x in text.splitlines() if x.strip()]
    errors = sum(1 for r in rows if r.get("error"))
    noted = sum(1 for r in rows if not r.get("error") and r.get("notes"))
    tracebacks = proc.stderr.count("Traceback")
    misplaced = sum(1 for n, (line, row) in enumerate(zip(lines, rows)) if _plain_id(line) not in (None, row["id"]))
    print(f"rows tried {len(lines)}  written {len(rows)}  lost {len(lines) - len(rows)}")
    print(f"answered with a row error {errors}  scored with a note {noted}  scored clean {len(rows) - errors - noted}")
    print(f"rows whose plain string id is not at its input position {misplaced}")
    print(f"exit code {proc.returncode}  tracebacks {tracebacks}  output valid UTF-8 {utf8}")
    if proc.returncode != 0:
        print(proc.stderr[-2000:])


if __name__ == "__main__":
    main()
