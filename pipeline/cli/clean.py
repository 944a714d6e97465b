"""`distill dedup` and `distill decontaminate` on any file or Hub dataset, outside a recipe run.

Settings options default to "not given": what the user gives goes to ``MinHashConfig`` /
``DecontamConfig`` (``pipeline.dedup.config``), which hold the defaults and the rules.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from pipeline.cli.common import handle_errors
from pipeline.dedup.config import DEFAULT_BENCHMARKS, DecontamConfig, MinHashConfig
from pipeline.errors import UserError

InputOpt = Annotated[str, typer.Option("--input", help="JSONL/JSON/Parquet file, or a Hub dataset as NAME[:SPLIT].")]
ColumnOpt = Annotated[str, typer.Option("--column", help="Text column to compare.")]
OutOpt = Annotated[
    Path, typer.Option("--out", help="Folder for kept.parquet, removed.parquet (with evidence), report.json.")
]
_MINHASH, _DECONTAM = MinHashConfig(), DecontamConfig()  # shown as the options' defaults in --help


def _config(cls: type, given: dict[str, Any]) -> Any:
    """``cls`` with the options the user gave; its rules' ``ValueError`` becomes a one-line error."""
    try:
        return cls(**{name: value for name, value in given.items() if value is not None})
    except ValueError as exc:
        raise UserError(str(exc)) from None


@handle_errors
def dedup(
    input: InputOpt,
    out: OutOpt,
    column: ColumnOpt = "problem",
    reasoning_column: Annotated[
        Optional[str],
        typer.Option(
            "--reasoning-column",
            help="Trace table: drop identical (problem, reasoning) pairs, and near-duplicate "
            "problems with all their rows.",
        ),
    ] = None,
    near: Annotated[bool, typer.Option("--near/--exact-only", help="Also MinHash near duplicates.")] = True,
    threshold: Annotated[
        Optional[float],
        typer.Option("--threshold", help="Jaccard threshold of the LSH.", show_default=str(_MINHASH.threshold)),
    ] = None,
    num_perm: Annotated[
        Optional[int], typer.Option("--num-perm", help="MinHash permutations.", show_default=str(_MINHASH.num_perm))
    ] = None,
    bands: Annotated[
        Optional[int], typer.Option("--bands", help="LSH bands (with --rows; else from --threshold).")
    ] = None,
    rows: Annotated[Optional[int], typer.Option("--rows", help="LSH rows per band.")] = None,
    shingle: Annotated[
        Optional[str], typer.Option("--shingle", help="word or char shingles.", show_default=_MINHASH.shingle)
    ] = None,
    shingle_size: Annotated[
        Optional[int],
        typer.Option(
            "--shingle-size", help="Words (or characters) per shingle.", show_default=str(_MINHASH.shingle_size)
        ),
    ] = None,
    keep: Annotated[
        str,
        typer.Option(
            "--keep",
            help="Which member of a group stays: first (file order) or "
            "best_trace (verified first, then shortest reasoning).",
        ),
    ] = "first",
) -> None:
    """Remove exact and near-duplicate rows; every removed row names the row it duplicates."""
    from pipeline.dedup.files import dedup_file

    config = _config(
        MinHashConfig,
        {
            "threshold": threshold,
            "num_perm": num_perm,
            "bands": bands,
            "rows": rows,
            "shingle": shingle,
            "shingle_size": shingle_size,
        },
    )
    report = dedup_file(input, column, out, reasoning_column=reasoning_column, near=near, minhash=config, keep=keep)
    sys.stdout.write(json.dumps(report, indent=2) + "\n")


@handle_errors
def decontaminate(
    input: InputOpt,
    out: OutOpt,
    column: ColumnOpt = "problem",
    benchmarks: Annotated[
        Optional[list[str]],
        typer.Option(
            "--benchmarks",
            help="Bundled names (math500 aime24 aime25 amc23 gsm8k_test humaneval mbpp, or "
            "all) or a Hub column as DATASET[:CONFIG]:SPLIT:COLUMN; repeat the option for several.",
            show_default=" ".join(DEFAULT_BENCHMARKS),
        ),
    ] = None,
    method: Annotated[
        Optional[list[str]],
        typer.Option(
            "--method",
            help="exact (after stripping non-word characters and digits), ngram, embedding; "
            "repeat for several. A row is contaminated if any fires.",
            show_default=" ".join(_DECONTAM.methods),
        ),
    ] = None,
    ngram: Annotated[
        Optional[int], typer.Option("--ngram", help="Word n-gram size: 8, 13 or 32.", show_default=str(_DECONTAM.ngram))
    ] = None,
    embedding_threshold: Annotated[
        Optional[float],
        typer.Option(
            "--embedding-threshold",
            help="Cosine similarity for the embedding method.",
            show_default=str(_DECONTAM.embedding_threshold),
        ),
    ] = None,
) -> None:
    """Remove rows that contain benchmark items; keep the evidence (benchmark, item, method, match)."""
    from pipeline.dedup.files import decontaminate_file

    config = _config(
        DecontamConfig, {"methods": method or None, "ngram": ngram, "embedding_threshold": embedding_threshold}
    )
    report = decontaminate_file(input, column, out, benchmarks=benchmarks or DEFAULT_BENCHMARKS, config=config)
    sys.stdout.write(json.dumps(report, indent=2) + "\n")
