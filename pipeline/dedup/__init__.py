"""Deduplication and decontamination users can audit: every dropped row keeps its evidence.

Entry points:

* ``dedup_file(input, column, out_dir, ...)`` / ``decontaminate_file(input, column, out_dir, ...)``
  (``pipeline.dedup.files``): whole files in, ``kept.parquet`` / ``removed.parquet`` /
  ``report.json`` out.
* ``find_duplicates`` / ``find_contamination`` (``pipeline.dedup.find``): evidence per row to
  drop, for a stage that holds its rows in memory.
* ``exact_duplicates``, ``exact_pair_duplicates``, ``near_duplicates`` (per row: index of the
  kept row it duplicates, or ``None``) and ``BenchmarkIndex(items, DecontamConfig()).check(texts)``.
* ``MinHashConfig`` / ``DecontamConfig`` (``pipeline.dedup.config``): every setting, once.

Nothing here imports vLLM; torch loads only for the opt-in ``embedding`` method.
"""

from __future__ import annotations

import importlib
from typing import Any

# Public name -> the submodule defining it. Loaded on first use: Python runs this file before
# any submodule, and ``pipeline.recipe`` imports ``pipeline.dedup.config`` without wanting
# numpy, xxhash or pyarrow.
_EXPORTS = {
    "BUNDLED": "benchmarks",
    "BenchmarkItem": "benchmarks",
    "load_benchmarks": "benchmarks",
    "DecontamConfig": "config",
    "MinHashConfig": "config",
    "BenchmarkIndex": "decontam",
    "Contamination": "decontam",
    "best_trace_key": "exact",
    "exact_duplicates": "exact",
    "exact_pair_duplicates": "exact",
    "keep_first": "exact",
    "decontaminate_file": "files",
    "dedup_file": "files",
    "find_contamination": "find",
    "find_duplicates": "find",
    "near_duplicates": "minhash",
    "signatures": "minhash",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
