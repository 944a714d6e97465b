"""Deduplication and decontamination users can audit: every dropped row keeps its evidence.

Entry points:

* ``dedup_file(input, column, out_dir, ...)`` / ``decontaminate_file(input, column, out_dir, ...)``
  (``pipeline.dedup.files``): whole files in, ``kept.parquet`` / ``removed.parquet`` /
  ``report.json`` out.
* ``find_duplicates`` / ``find_contamination`` (``pipeline.dedup.find``): evidence per row to
  drop, for a stage that holds its rows in memory.
* ``exact.exact_duplicates``, ``exact.exact_pair_duplicates``, ``minhash.near_duplicates`` (per row:
  index of the kept row it duplicates, or ``None``) and
  ``decontam.BenchmarkIndex(items, DecontamConfig()).check(texts)``; ``benchmarks.load_benchmarks``.
* ``MinHashConfig`` / ``DecontamConfig`` (``pipeline.dedup.config``): every setting, once.

Nothing here imports vLLM; torch loads only for the opt-in ``embedding`` method. Import from
the submodules: this file stays empty so that ``pipeline.recipe`` can import
``pipeline.dedup.config`` without loading numpy, xxhash or pyarrow.
"""
