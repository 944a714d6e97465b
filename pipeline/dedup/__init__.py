"""Deduplication and decontamination users can audit: every dropped row keeps its evidence.

Entry points:

* ``dedup_file(input, column, out_dir, ...)`` / ``decontaminate_file(input, column, out_dir, ...)``
  (``pipeline.dedup.standalone``): whole files in, ``kept.parquet`` / ``removed.parquet`` /
  ``report.json`` out.
* ``exact_duplicates``, ``exact_pair_duplicates``, ``near_duplicates`` (per row: index of the
  kept row it duplicates, or ``None``) and ``BenchmarkIndex(items, DecontamConfig()).check(texts)``
  for a stage that works on rows in memory.

Nothing here imports vLLM; torch loads only for the opt-in ``embedding`` method.
"""

from pipeline.dedup.benchmarks import BUNDLED, BenchmarkItem, load_benchmarks
from pipeline.dedup.decontam import BenchmarkIndex, Contamination, DecontamConfig
from pipeline.dedup.exact import best_trace_key, exact_duplicates, exact_pair_duplicates, keep_first
from pipeline.dedup.minhash import MinHashConfig, near_duplicates, signatures
from pipeline.dedup.standalone import decontaminate_file, dedup_file

__all__ = [
    "BUNDLED", "BenchmarkIndex", "BenchmarkItem", "Contamination", "DecontamConfig", "MinHashConfig",
    "best_trace_key", "decontaminate_file", "dedup_file", "exact_duplicates", "exact_pair_duplicates",
    "keep_first", "load_benchmarks", "near_duplicates", "signatures",
]
