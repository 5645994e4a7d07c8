"""Speed of the title engine against a naive rapidfuzz scan, measured in one run.

Usage::

    python benchmarks/bench_titles.py [--data DIR] [--naive-titles N] [--passes P]

Lexicon: simple-icons titles and aliases + the genuine titles' brand column +
the dev catalogue (:func:`build_lexicon_catalog`), at least 3,000 brands.
Titles: the 9,850 real genuine titles plus an evasive rewrite of each tenth one
(leetspeak, homoglyphs, spaced letters, indicators), so both paths are timed.

The lexicon catalogue (also used by ``eval_titles.py``). Sources, read from the
shared data folder (never copied into the repository):

* ``simple_icons/simple-icons.json``: 3,400+ brand titles with their ``aka``,
  ``loc`` (localised names), ``dup`` and ``old`` aliases;
* ``titles/genuine_titles.csv``: the ``brand`` column of the genuine titles;
* the hand-written dev catalogue ``benchmarks/title_dev_catalog`` (Nike, Gucci,
  Rolex ...), whose strict settings override a same-named simple-icons brand.

Policy for the generated brands (they have no brand.yaml of their own):

* ``compatible_accessories`` = the catalogue's default accessory words: simple-icons
  is mostly electronics, software and services, and the genuine brands are office
  and electronics makers, for whom third-party accessories are normal;
* ``ambiguous`` = true when the name is an ordinary word (wordfreq Zipf >= 4 in
  English: Target, Shell, Crown, Edge ...) or at most two characters long, so
  such a name needs brand context before it counts, exactly as Coach or Apple do.

Then the catalogue as a user would submit it (``--cli-titles N``, ``--skip-marks``): the
3,450 simple-icons marks written as ``brand.yaml`` folders, shared names kept
(:func:`write_real_catalog`); the ``titles`` command's start-up (a fresh Python process to
ready, with the compiled lexicon saved by a first run), its titles/s end to end on N
distinct titles (start-up excluded), in-process titles/s, and the ratio to the naive loop.

Printed, all from this run: compile time, compiled lexicon memory, engine
titles/s on one process (first pass with cold caches, and steady state), the
naive ``rapidfuzz.process.extract(title, all_aliases, scorer=fuzz.partial_ratio)``
titles/s on a sample, and their ratio. The naive sample is timed in chunks
between the engine's steady-state passes, so both see the same machine load.
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import logging
import os
import re
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from counterfeit_vision.catalog import DEFAULT_ACCESSORY_WORDS, Brand, Catalog, load_catalog  # noqa: E402
from counterfeit_vision.titles import TitleMatcher  # noqa: E402
from counterfeit_vision.titles.lexicon import load_common_words  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEV_CATALOG = REPO / "benchmarks" / "title_dev_catalog"
_SLUG = re.compile(r"[^a-z0-9]+")


def data_dir(arg: str | None) -> Path:
    """The shared data folder: ``--data``, else $CV_SHARED_DATA, else ../shared/data."""
    if arg:
        return Path(arg)
    env = os.environ.get("CV_SHARED_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


def _is_ordinary_word(name: str) -> bool:
    try:
        from wordfreq import zipf_frequency
    except ImportError:  # pragma: no cover
        return False
    return len(name) <= 2 or zipf_frequency(name.lower(), "en") >= 4.0


def _simple_icons(path: Path) -> list[tuple[str, list[str]]]:
    rows = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for row in rows:
        aliases = row.get("aliases") or {}
        names = list(aliases.get("aka", [])) + list((aliases.get("loc") or {}).values())
        names += [d["title"] for d in aliases.get("dup", []) if isinstance(d, dict) and "title" in d]
        names += list(aliases.get("old", []))
        out.append((row["title"], names))
    return out


def _genuine_brands(path: Path) -> list[str]:
    with open(path, encoding="utf-8", newline="") as handle:
        return sorted({(r.get("brand") or "").strip() for r in csv.DictReader(handle)} - {""})


def build_lexicon_catalog(data: Path, *, with_dev: bool = True) -> Catalog:
    """simple-icons + genuine-title brands (+ the dev catalogue), as one Catalog."""
    dev = load_catalog(DEV_CATALOG) if with_dev else Catalog({})
    taken = {n.casefold() for b in dev for n in (*b.names, *b.abbreviations)}
    brands: dict[str, Brand] = {b.id: b for b in dev}
    sources = _simple_icons(data / "simple_icons" / "simple-icons.json")
    sources += [(name, []) for name in _genuine_brands(data / "titles" / "genuine_titles.csv")]
    for title, aliases in sources:
        if title.casefold() in taken:
            continue
        names = [a for a in dict.fromkeys(aliases) if a.casefold() not in taken and a != title]
        slug = _SLUG.sub("-", title.casefold()).strip("-") or "brand"
        brand_id, n = slug[:60], 2
        while brand_id in brands:
            brand_id, n = f"{slug[:56]}-{n}", n + 1
        taken.update(x.casefold() for x in (title, *names))
        brands[brand_id] = Brand(id=brand_id, name=title, aliases=tuple(names),
                                 compatible_accessories=DEFAULT_ACCESSORY_WORDS,
                                 ambiguous=_is_ordinary_word(title))
    return Catalog.from_brands(brands.values())


def _genuine_brand_categories(path: Path) -> dict[str, list[str]]:
    """Each brand of the genuine titles' ``brand`` column with its most frequent categories."""
    counts: dict[str, dict[str, int]] = {}
    with open(path, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            brand = (row.get("brand") or "").strip()
            if brand:
                cats = counts.setdefault(brand, {})
                cat = (row.get("category") or "").strip()
                if cat:
                    cats[cat] = cats.get(cat, 0) + 1
    return {b: sorted(c, key=lambda k: -c[k])[:3] for b, c in counts.items()}


def write_real_catalog(data: Path, out: Path, *, with_dev: bool = True, with_genuine: bool = True) -> int:
    """Write a catalogue as a new user would submit it, one ``brand.yaml`` per brand, into ``out``.

    Unlike :func:`build_lexicon_catalog` nothing is deduplicated or pre-marked: every
    simple-icons mark (title + ``aka``/``loc``/``dup``/``old`` aliases) and every brand of the
    genuine titles' ``brand`` column (with its categories there) is a brand of its own, so
    two marks may share a name, and no brand is flagged ``ambiguous`` or given accessories
    by this script: what the library does with such a catalogue is what is measured. The
    dev catalogue's hand-written brands (Nike, Gucci, Rolex ...: famous brands the shoe and
    watch titles name) replace a simple-icons mark of the same name. Returns the brand count.
    """
    import shutil

    import yaml

    out.mkdir(parents=True, exist_ok=True)
    dev_names: set[str] = set()
    ids: set[str] = set()
    if with_dev:
        for folder in sorted(DEV_CATALOG.iterdir()):
            if (folder / "brand.yaml").is_file():
                shutil.copytree(folder, out / folder.name, dirs_exist_ok=True)
                ids.add(folder.name)
        dev_names = {b.name.casefold() for b in load_catalog(DEV_CATALOG)}
    sources = [(title, aliases, []) for title, aliases in _simple_icons(data / "simple_icons" / "simple-icons.json")]
    icon_titles = {t.casefold() for t, _, _ in sources}
    if with_genuine:
        sources += [(name, [], cats) for name, cats in
                    sorted(_genuine_brand_categories(data / "titles" / "genuine_titles.csv").items())
                    if name.casefold() not in icon_titles]
    for title, aliases, categories in sources:
        if title.casefold() in dev_names:
            continue
        slug = _SLUG.sub("-", title.casefold()).strip("-") or "brand"
        brand_id, n = slug[:60], 2
        while brand_id in ids:
            brand_id, n = f"{slug[:56]}-{n}", n + 1
        ids.add(brand_id)
        raw = {"id": brand_id, "name": title}
        names = [a for a in dict.fromkeys(aliases) if a.casefold() != title.casefold()]
        if names:
            raw["aliases"] = names
        if categories:
            raw["categories"] = categories
        folder = out / brand_id
        folder.mkdir(exist_ok=True)
        (folder / "brand.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False),
                                           encoding="utf-8")
    return len(ids)


_EVASIONS = (
    lambda t: t.replace("o", "0", 1), lambda t: t.replace("a", "\u0430", 1),
    lambda t: "replica " + t, lambda t: " ".join(t.split(" ", 1)[0].upper()) + " " + t,
    lambda t: t.replace("e", "\u200be", 1),
)


def load_titles(data: Path) -> list[str]:
    with open(data / "titles" / "genuine_titles.csv", encoding="utf-8", newline="") as handle:
        titles = [row["title"] for row in csv.DictReader(handle)]
    extra = [_EVASIONS[i % len(_EVASIONS)](t) for i, t in enumerate(titles[::10])]
    return titles + extra


def time_engine(matcher: TitleMatcher, titles: list[str]) -> float:
    started = time.perf_counter()
    for title in titles:
        matcher.match(title)
    return len(titles) / (time.perf_counter() - started)


def time_naive(titles: list[str], aliases: list[str]) -> float:
    from rapidfuzz import fuzz, process

    started = time.perf_counter()
    for title in titles:
        process.extract(title, aliases, scorer=fuzz.partial_ratio, limit=5)
    return len(titles) / (time.perf_counter() - started)


def compile_measured(catalog) -> tuple[TitleMatcher, float, float]:
    """(matcher, compile seconds, MiB held by the compiled lexicon).

    Timed without tracing; memory is taken from a second compile under
    tracemalloc (tracing slows compilation several-fold).
    """
    load_common_words()  # shared, process-wide word list: reported separately
    gc.collect()
    started = time.perf_counter()
    matcher = TitleMatcher.from_catalog(catalog)
    seconds = time.perf_counter() - started
    gc.collect()
    tracemalloc.start()
    probe = TitleMatcher.from_catalog(catalog)
    gc.collect()
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del probe
    return matcher, seconds, current / 2**20


def bench_titles_file(titles: list[str], count: int) -> list[str]:
    """``count`` distinct titles: the real ones, then each again with a lot number (so that no
    title is read twice: the engine's caches see a real vocabulary, not repeats)."""
    import random

    rnd = random.Random(0)
    out = list(dict.fromkeys(titles))[:count]
    while len(out) < count:
        out.extend(f"{t} {rnd.randint(2, 9999)}" for t in titles[: count - len(out)])
    return out


def _cli(catalog: Path, src: Path, out: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one ``titles`` command run in a fresh process."""
    import resource
    import subprocess

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "counterfeit_vision", "titles", "--catalog", str(catalog), str(src),
                    "--out", str(out)], check=True, env=env, cwd=REPO)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def bench_marks_catalogue(data: Path, titles: list[str], *, cli_titles: int, naive_titles: int) -> None:
    """The 3,450-mark catalogue as submitted (simple-icons only, shared names and all): start-up,
    in-process and CLI titles/s, and the ratio to the naive rapidfuzz loop, in one run."""
    import tempfile

    from counterfeit_vision.titles.compiled import lexicon_for_catalog

    with tempfile.TemporaryDirectory(prefix="cv-bench-titles-") as tmp:
        root = Path(tmp)
        n = write_real_catalog(data, root / "catalog", with_dev=False, with_genuine=False)
        env = {**os.environ, "CV_CACHE_DIR": str(root / "cache"), "PYTHONPATH": str(REPO)}
        one = root / "one.txt"
        one.write_text("Nike Air Max 90\n", encoding="utf-8")
        src = root / "titles.txt"
        lines = bench_titles_file(titles, cli_titles)
        src.write_text("\n".join(t.replace("\n", " ") for t in lines) + "\n", encoding="utf-8")
        first, _ = _cli(root / "catalog", one, root / "o.jsonl", env)
        starts = sorted(_cli(root / "catalog", one, root / "o.jsonl", env) for _ in range(3))
        start_wall, start_cpu = starts[1]
        run_wall, run_cpu = _cli(root / "catalog", src, root / "out.jsonl", env)
        cli_rate = len(lines) / max(1e-9, run_wall - start_wall)
        cli_cpu_rate = len(lines) / max(1e-9, run_cpu - start_cpu)
        os.environ["CV_CACHE_DIR"] = env["CV_CACHE_DIR"]
        lex, loaded = lexicon_for_catalog(root / "catalog")
        matcher = TitleMatcher(lex)
        cold = time_engine(matcher, lines)
        cpu_started = time.process_time()
        warm = time_engine(matcher, lines)
        warm_cpu = len(lines) / max(1e-9, time.process_time() - cpu_started)
        aliases = sorted({x for b in lex.brands for x in (*b.brand.names, *b.brand.abbreviations)})
        sample = lines[:: max(1, len(lines) // naive_titles)][:naive_titles]
        naive = time_naive(sample, aliases)
    print(f"\n3,450-mark catalogue as submitted: {n} brands (simple-icons marks, shared names kept)")
    print(f"start-up of the titles command (python start to ready, median of 3): {start_wall:.2f} s wall, "
          f"{start_cpu:.2f} s CPU with the compiled lexicon saved (first run, compiling: {first:.2f} s); "
          f"target <= 1.5 s")
    print(f"titles command end to end, {len(lines):,} distinct titles: {cli_rate:,.0f} titles/s wall "
          f"({cli_cpu_rate:,.0f} titles/s of CPU time; start-up excluded); target >= 50,000")
    print(f"in process: {cold:,.0f} titles/s first pass, {warm:,.0f} titles/s second pass "
          f"({warm_cpu:,.0f} titles/s of CPU time; lexicon {'loaded' if loaded else 'compiled'})")
    print(f"naive rapidfuzz.process.extract(partial_ratio) over {len(aliases):,} names: {naive:,.1f} titles/s "
          f"({len(sample)} titles); ratio: CLI {cli_rate / naive:,.0f}x, in process {warm / naive:,.0f}x "
          f"(target >= 150x)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="shared data folder (default $CV_SHARED_DATA or ../shared/data)")
    parser.add_argument("--naive-titles", type=int, default=200, help="titles timed for the naive loop")
    parser.add_argument("--passes", type=int, default=5, help="steady-state passes over the titles")
    parser.add_argument("--cli-titles", type=int, default=100_000,
                        help="distinct titles through the titles command on the 3,450-mark catalogue")
    parser.add_argument("--skip-marks", action="store_true", help="skip the 3,450-mark catalogue section")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    data = data_dir(args.data)
    if not (data / "simple_icons" / "simple-icons.json").exists() or \
            not (data / "titles" / "genuine_titles.csv").exists():
        print(f"bench_titles: skipped, shared data not found at {data} (use --data or CV_SHARED_DATA)")
        return 0
    started = time.perf_counter()
    words = load_common_words()[0]
    words_s = time.perf_counter() - started
    catalog = build_lexicon_catalog(data)
    aliases = sorted({n for b in catalog for n in (*b.names, *b.abbreviations)})
    titles = load_titles(data)
    matcher, compile_s, mem_mib = compile_measured(catalog)
    lex = matcher.lexicon
    print(f"lexicon: {len(catalog)} brands, {len(aliases)} names/aliases, {len(lex.entries)} terms, "
          f"{len(lex.fuzzy_keys)} fuzzy keys, {len(lex.delete_index)} delete keys")
    print(f"compile: {compile_s:.2f} s; compiled lexicon memory: {mem_mib:.1f} MiB "
          f"(+ shared common-word list {len(words)} words, loaded once in {words_s:.2f} s)")
    sample = titles[:: max(1, len(titles) // args.naive_titles)][: args.naive_titles]
    n_passes = max(1, args.passes)
    # The naive sample is timed in chunks interleaved with the engine passes, so that
    # both see the same machine load (another job starting mid-run skews both alike).
    chunks = [sample[i::n_passes] for i in range(n_passes)]
    naive_s = 0.0
    cold = time_engine(matcher, titles)
    passes = []
    for chunk in chunks:
        passes.append(time_engine(matcher, titles))
        naive_s += len(chunk) / time_naive(chunk, aliases) if chunk else 0.0
    passes.sort()
    warm = passes[len(passes) // 2]
    print(f"engine: {len(titles)} titles, one process: {cold:,.0f} titles/s first pass (cold caches); "
          f"steady state over {len(passes)} passes: median {warm:,.0f}, "
          f"min {passes[0]:,.0f}, max {passes[-1]:,.0f} titles/s")
    naive = len(sample) / naive_s
    print(f"naive rapidfuzz.process.extract(partial_ratio) over {len(aliases)} aliases: "
          f"{naive:,.1f} titles/s ({len(sample)} titles)")
    print(f"speed-up: {cold / naive:,.0f}x (cold pass), {warm / naive:,.0f}x (steady median); "
          f"targets >= 10,000 titles/s and >= 100x")
    if not args.skip_marks:
        bench_marks_catalogue(data, load_titles(data), cli_titles=args.cli_titles, naive_titles=args.naive_titles)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
