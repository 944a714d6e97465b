"""Benchmark items to decontaminate against: bundled snapshots or any Hub dataset column.

A benchmark spec is either a bundled name (``math500``, ``aime24``, ``aime25``, ``amc23``,
``gsm8k_test``, ``humaneval``, ``mbpp``; ``all`` means every bundled one) or a Hub dataset
``DATASET:SPLIT:COLUMN`` / ``DATASET:CONFIG:SPLIT:COLUMN`` (e.g. ``openai/gsm8k:main:test:question``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from pipeline.dedup.config import DEFAULT_BENCHMARKS
from pipeline.errors import UserError
from pipeline.resources import resource_dir

# Bundled name -> the field holding the text a model is asked (what a contaminated training
# row would contain). Code benchmarks: the prompt (signature + docstring / task sentence).
BUNDLED: dict[str, str] = {
    "math500": "problem",
    "aime24": "problem",
    "aime25": "problem",
    "amc23": "problem",
    "gsm8k_test": "problem",
    "humaneval": "prompt",
    "mbpp": "prompt",
}


@dataclass(frozen=True)
class BenchmarkItem:
    benchmark: str  # bundled name or Hub spec
    item_id: str  # the benchmark's own id (``test/algebra/1.json``, ``HumanEval/0``) or row index
    text: str


def benchmark_dir() -> Path:
    """The bundled snapshots: ``data/benchmarks`` of the source tree, or of an installed
    ``<prefix>/share/cotdistill`` (a wheel has no source tree to look in)."""
    try:
        return resource_dir("data/benchmarks")
    except FileNotFoundError as exc:
        raise UserError(f"{exc}; reinstall cotdistill, or give Hub benchmarks as DATASET:SPLIT:COLUMN") from None


def load_bundled(name: str, directory: Path | None = None) -> list[BenchmarkItem]:
    """Items of one bundled snapshot, in file order."""
    if name not in BUNDLED:
        raise UserError(
            f"unknown benchmark {name!r}; bundled: {', '.join(BUNDLED)} (or a Hub dataset as DATASET:SPLIT:COLUMN)"
        )
    path = (directory or benchmark_dir()) / f"{name}.jsonl"
    if not path.is_file():
        raise UserError(f"{path}: bundled benchmark file missing; reinstall cotdistill")
    field = BUNDLED[name]
    items = []
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if line.strip():
                row = json.loads(line)
                items.append(BenchmarkItem(name, str(row.get("id", lineno)), row[field]))
    return items


def load_hub(spec: str) -> list[BenchmarkItem]:
    """Items of a Hub dataset column named ``DATASET[:CONFIG]:SPLIT:COLUMN``; ids are row indices
    unless the dataset has an ``id``/``task_id``/``unique_id`` column."""
    parts = spec.split(":")
    if len(parts) not in (3, 4) or not all(parts):
        raise UserError(
            f"benchmark {spec!r}: expected a bundled name ({', '.join(BUNDLED)}) or "
            "DATASET:SPLIT:COLUMN or DATASET:CONFIG:SPLIT:COLUMN"
        )
    dataset, config, split, column = parts if len(parts) == 4 else (parts[0], None, parts[1], parts[2])
    import datasets  # heavy import, only when a Hub benchmark is asked for

    try:
        ds = datasets.load_dataset(dataset, config, split=split)
    except Exception as exc:
        raise UserError(f"benchmark {spec}: cannot load Hub dataset: {str(exc).splitlines()[0]}") from None
    if column not in ds.column_names:
        raise UserError(f"benchmark {spec}: no column {column!r} (columns: {', '.join(ds.column_names)})")
    id_col = next((c for c in ("id", "task_id", "unique_id") if c in ds.column_names), None)
    ids = [str(x) for x in ds[id_col]] if id_col else [str(i) for i in range(len(ds))]
    return [BenchmarkItem(spec, i, t) for i, t in zip(ids, ds[column], strict=True) if isinstance(t, str) and t]


def load_benchmarks(specs: Sequence[str] = DEFAULT_BENCHMARKS) -> list[BenchmarkItem]:
    """Items of every spec, in the given order; ``all`` expands to every bundled snapshot."""
    names: list[str] = []
    for spec in specs:
        names.extend(BUNDLED if spec == "all" else [spec])
    items: list[BenchmarkItem] = []
    for name in dict.fromkeys(names):
        items.extend(load_bundled(name) if ":" not in name else load_hub(name))
    return items
