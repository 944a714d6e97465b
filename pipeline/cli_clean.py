"""`distill dedup` and `distill decontaminate` on any file or Hub dataset, outside a recipe run."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

InputOpt = Annotated[str, typer.Option("--input", help="JSONL/JSON/Parquet file, or a Hub dataset as NAME[:SPLIT].")]
ColumnOpt = Annotated[str, typer.Option("--column", help="Text column to compare.")]
OutOpt = Annotated[Path, typer.Option("--out", help="Folder for kept.parquet, removed.parquet (with evidence), report.json.")]


def dedup(input: InputOpt, out: OutOpt, column: ColumnOpt = "problem",
          reasoning_column: Annotated[Optional[str], typer.Option(
              "--reasoning-column", help="Trace table: drop identical (problem, reasoning) pairs, and near-duplicate "
              "problems with all their rows.")] = None,
          near: Annotated[bool, typer.Option("--near/--exact-only", help="Also MinHash near duplicates.")] = True,
          threshold: Annotated[float, typer.Option("--threshold", min=0.05, max=1.0, help="Jaccard threshold of the LSH.")] = 0.8,
          num_perm: Annotated[int, typer.Option("--num-perm", min=16, help="MinHash permutations.")] = 128,
          bands: Annotated[Optional[int], typer.Option("--bands", help="LSH bands (with --rows; else from --threshold).")] = None,
          rows: Annotated[Optional[int], typer.Option("--rows", help="LSH rows per band.")] = None,
          shingle: Annotated[str, typer.Option("--shingle", help="word or char shingles.")] = "word",
          shingle_size: Annotated[int, typer.Option("--shingle-size", min=1)] = 3,
          keep: Annotated[str, typer.Option("--keep", help="Which member of a group stays: first (file order) or "
                                            "best_trace (verified first, then shortest reasoning).")] = "first",
          ) -> None:
    """Remove exact and near-duplicate rows; every removed row names the row it duplicates."""
    from pipeline.dedup import MinHashConfig, dedup_file

    config = MinHashConfig(num_perm=num_perm, threshold=threshold, bands=bands, rows=rows, shingle=shingle,
                           shingle_size=shingle_size)
    report = dedup_file(input, column, out, reasoning_column=reasoning_column, near=near, minhash=config, keep=keep)
    sys.stdout.write(json.dumps(report, indent=2) + "\n")


def decontaminate(input: InputOpt, out: OutOpt, column: ColumnOpt = "problem",
                  benchmarks: Annotated[list[str], typer.Option(
                      "--benchmarks", help="Bundled names (math500 aime24 aime25 amc23 gsm8k_test humaneval mbpp, or "
                      "all) or a Hub column as DATASET[:CONFIG]:SPLIT:COLUMN; repeat the option for several.")] = ["all"],
                  method: Annotated[list[str], typer.Option(
                      "--method", help="exact (after stripping non-word characters and digits), ngram, embedding; "
                      "repeat for several. A row is contaminated if any fires.")] = ["exact", "ngram"],
                  ngram: Annotated[int, typer.Option("--ngram", help="Word n-gram size: 8, 13 or 32.")] = 13,
                  embedding_threshold: Annotated[float, typer.Option("--embedding-threshold")] = 0.95,
                  ) -> None:
    """Remove rows that contain benchmark items; keep the evidence (benchmark, item, method, match)."""
    from pipeline.dedup import decontaminate_file

    report = decontaminate_file(input, column, out, benchmarks=benchmarks, methods=method, ngram=ngram,
                                embedding_threshold=embedding_threshold)
    sys.stdout.write(json.dumps(report, indent=2) + "\n")
