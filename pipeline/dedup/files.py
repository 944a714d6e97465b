"""``distill dedup`` / ``distill decontaminate`` on any file: the logic behind the commands.

Both read a JSONL/JSON/Parquet file or a Hub dataset (``NAME`` or ``NAME:SPLIT``), keep every
input column with its type, and write into ``out_dir``, each file atomically: ``removed.parquet``
(dropped rows plus evidence columns), ``kept.parquet``, and ``report.json`` last. Which rows go
is decided by ``pipeline.dedup.find``, as in the pipeline stages.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path
from typing import Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.dedup.benchmarks import load_benchmarks
from pipeline.dedup.config import DEFAULT_BENCHMARKS, KEEP_CHOICES, DecontamConfig, Keep, MinHashConfig
from pipeline.dedup.exact import SortKey, best_trace_key, keep_first
from pipeline.dedup.find import DECONTAM_EVIDENCE, DEDUP_EVIDENCE, find_contamination, find_duplicates
from pipeline.dedup.minhash import band_rows
from pipeline.errors import UserError
from pipeline.store import write_json_atomic, write_table_atomic


def read_table(input: str | Path, column: str) -> pa.Table:
    """The whole input as an Arrow table; ``UserError`` naming the file when it or ``column`` is missing."""
    path = Path(input)
    suffix = path.suffix.lower()
    if path.is_file() and suffix == ".parquet":
        try:
            table = pq.read_table(path)
        except Exception as exc:
            raise UserError(f"{path}: not a readable Parquet file: {exc}") from None
    elif path.is_file() and suffix in (".jsonl", ".ndjson", ".json"):
        from pipeline.recipe import SourceConfig
        from pipeline.sources import read_source

        records = read_source(SourceConfig(path=str(path)))
        bad = next((r["_error"] for r in records if "_error" in r), None)
        if bad:
            raise UserError(bad)
        table = pa.Table.from_pylist([{k: v for k, v in r.items() if k not in ("_source", "_index")} for r in records])
    elif suffix in (".jsonl", ".ndjson", ".json", ".parquet") or path.exists() or str(input).startswith((".", "/")):
        raise UserError(f"{input}: input file not found (or not .jsonl/.json/.parquet)")
    else:
        table = _read_hub(str(input))
    if column not in table.column_names:
        raise UserError(f"{input}: no column {column!r} (columns: {', '.join(table.column_names) or 'none'})")
    return table


def _read_hub(name: str) -> pa.Table:
    import datasets

    dataset, _, split = name.partition(":")
    try:
        ds = datasets.load_dataset(dataset, split=split or "train")
    except Exception as exc:
        raise UserError(
            f"{name}: not a local file, and cannot load it as a Hub dataset: {str(exc).splitlines()[0]}"
        ) from None
    return ds.with_format("arrow")[:]


def _texts(table: pa.Table, column: str) -> list[str | None]:
    return [v if isinstance(v, str) else None for v in table.column(column).to_pylist()]


def _row_ids(table: pa.Table, id_column: str | None) -> list[str]:
    if id_column is None:
        return [str(i) for i in range(table.num_rows)]
    if id_column not in table.column_names:
        raise UserError(f"no id column {id_column!r} (columns: {', '.join(table.column_names)})")
    return [str(v) for v in table.column(id_column).to_pylist()]


def _write(out_dir: Path, table: pa.Table, evidence: dict[int, dict[str, str]], names: list[str], report: dict) -> dict:
    removed_idx = sorted(evidence)
    kept_idx = [i for i in range(table.num_rows) if i not in evidence]
    removed = table.take(pa.array(removed_idx, type=pa.int64()))
    for name in names:
        values = [evidence[i].get(name) for i in removed_idx]
        removed = removed.append_column(pa.field(name, pa.string()), pa.array(values, type=pa.string()))
    out_dir = Path(out_dir)
    write_table_atomic(out_dir / "removed.parquet", removed)
    write_table_atomic(out_dir / "kept.parquet", table.take(pa.array(kept_idx, type=pa.int64())))
    report = {**report, "rows": table.num_rows, "kept": len(kept_idx), "removed": len(removed_idx)}
    write_json_atomic(out_dir / "report.json", report)  # last: its presence means the rest is there
    return report


def dedup_file(
    input: str | Path,
    column: str = "problem",
    out_dir: str | Path = "dedup",
    *,
    reasoning_column: str | None = None,
    near: bool = True,
    minhash: MinHashConfig = MinHashConfig(),
    keep: Keep = "first",
    id_column: str | None = None,
) -> dict:
    """Drop exact and near duplicates of ``column``; returns (and writes) the report.

    Without ``reasoning_column`` every row is one document: exact duplicates (normalized text)
    go first (``exact_duplicate``), then MinHash near-duplicates (``near_duplicate``). With it
    (a table of traces, several per problem), identical (problem, reasoning) pairs go
    (``duplicate_trace``) and near-duplicate *problems* go with all their rows. ``keep``:
    ``first`` (file order) or ``best_trace`` (verdict true first, then shortest reasoning).
    """
    table = read_table(input, column)
    if reasoning_column is not None and reasoning_column not in table.column_names:
        raise UserError(f"{input}: no column {reasoning_column!r} (columns: {', '.join(table.column_names)})")
    if keep not in KEEP_CHOICES:
        raise UserError(f"keep must be one of {', '.join(KEEP_CHOICES)} (got {keep!r})")
    rows = table.to_pylist() if keep == "best_trace" else []
    key: SortKey = best_trace_key(rows) if keep == "best_trace" else keep_first
    ids = _row_ids(table, id_column)
    texts = _texts(table, column)
    reasonings = _texts(table, reasoning_column) if reasoning_column is not None else None
    evidence = find_duplicates(texts, reasonings, ids, near=near, config=minhash, key=key)
    reasons = Counter(e["drop_reason"].split(":")[0] for e in evidence.values())
    bands, rows_per_band = band_rows(minhash)
    report = {
        "command": "dedup",
        "input": str(input),
        "column": column,
        "reasons": dict(sorted(reasons.items())),
        "minhash": {**dataclasses.asdict(minhash), "bands": bands, "rows": rows_per_band} if near else None,
    }
    return _write(Path(out_dir), table, evidence, DEDUP_EVIDENCE, report)


def decontaminate_file(
    input: str | Path,
    column: str = "problem",
    out_dir: str | Path = "decontam",
    *,
    benchmarks: Sequence[str] = DEFAULT_BENCHMARKS,
    config: DecontamConfig = DecontamConfig(),
) -> dict:
    """Drop rows whose ``column`` contains a benchmark item; evidence per removed row.

    ``report.json`` has, per benchmark, ``items``, ``hits`` (rows removed because of it),
    ``items_hit`` (its items they hold) and ``methods`` (rows where each method matched it).
    """
    table = read_table(input, column)
    items = load_benchmarks(benchmarks)
    evidence, per_bench = find_contamination(_texts(table, column), items, config)
    report = {
        "command": "decontaminate",
        "input": str(input),
        "column": column,
        "methods": list(config.methods),
        "ngram": config.ngram,
        "min_coverage": config.min_coverage,
        "benchmarks": per_bench,
    }
    return _write(Path(out_dir), table, evidence, DECONTAM_EVIDENCE, report)
