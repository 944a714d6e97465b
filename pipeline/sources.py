"""Read problem records from local JSONL/JSON/Parquet files or Hub datasets.

A line that is not JSON does not stop the read: it becomes a record with ``_error`` set, which
ingest turns into a rejected row naming the file and line. Positions (``_index``, the rows'
``source_index``) are 1-based everywhere: the line of a JSONL file, the row of a Parquet file,
the element of a JSON list or a Hub split. A source with no records at all is an error.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Iterator

from pipeline.errors import UserError
from pipeline.recipe import SourceConfig

RawRecord = dict  # source fields plus _source, _index and, for unreadable lines, _error


def _read_jsonl(path: Path) -> Iterator[RawRecord]:
    with path.open("rb") as f:
        for lineno, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            where = {"_source": str(path), "_index": lineno}
            try:
                obj = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                yield {
                    **where,
                    "_error": f"invalid_json: {path}:{lineno}: {exc}",
                    "_raw": raw[:2000].decode("utf-8", "replace"),
                }
                continue
            if not isinstance(obj, dict):
                yield {
                    **where,
                    "_error": f"invalid_json: {path}:{lineno}: expected an object, got {type(obj).__name__}",
                }
                continue
            yield {**obj, **where}


def _read_json(path: Path) -> Iterator[RawRecord]:
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(data, list):
        raise UserError(f"{path}: expected a JSON list of objects")
    for i, obj in enumerate(data, start=1):
        where = {"_source": str(path), "_index": i}
        if isinstance(obj, dict):
            yield {**obj, **where}
        else:
            yield {**where, "_error": f"invalid_record: {path}:{i}: expected an object"}


def _read_parquet(path: Path) -> Iterator[RawRecord]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:
        raise UserError(f"{path}: not a readable Parquet file: {exc}") from None
    for i, obj in enumerate(table.to_pylist(), start=1):
        yield {**obj, "_source": str(path), "_index": i}


def _read_hub(src: SourceConfig) -> Iterator[RawRecord]:
    import datasets

    name = source_name(src).removeprefix("hf://")
    try:
        ds = datasets.load_dataset(src.dataset, src.config, split=src.split)
    except Exception as exc:
        raise UserError(f"Hub dataset {name}: cannot load: {str(exc).splitlines()[0]}") from None
    for i, obj in enumerate(ds, start=1):
        yield {**obj, "_source": f"hf://{name}", "_index": i}


def read_source(src: SourceConfig) -> list[RawRecord]:
    """All records of one source, in order, up to ``src.limit``."""
    if src.dataset is not None:
        records = _read_hub(src)
    else:
        path = Path(src.path)
        if not path.is_file():
            raise UserError(f"{path}: input file not found")
        suffix = path.suffix.lower()
        readers = {".jsonl": _read_jsonl, ".ndjson": _read_jsonl, ".json": _read_json, ".parquet": _read_parquet}
        if suffix not in readers:
            raise UserError(f"{path}: unsupported file type {suffix!r} (use .jsonl, .json or .parquet)")
        records = readers[suffix](path)
    out = []
    for rec in records:
        if src.limit is not None and len(out) >= src.limit:
            break
        out.append(rec)
    if not out:
        raise UserError(f"{source_name(src)}: no records (the {'split' if src.dataset else 'file'} is empty)")
    return out


def field_text(value: object) -> str | None:
    """A field as stripped text; missing, NaN (pandas' missing) and blank become None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value).strip() or None


def source_name(src: SourceConfig) -> str:
    """The source as error messages name it: its file path, or hf://DATASET[/CONFIG]:SPLIT."""
    if src.path is not None:
        return src.path
    return f"hf://{src.dataset}" + (f"/{src.config}" if src.config else "") + f":{src.split}"


def source_label(src: SourceConfig) -> str:
    """A short name for the source: its file name or the Hub dataset id (no local directories)."""
    return Path(src.path).name if src.path is not None else src.dataset


def file_columns(records: list[RawRecord]) -> list[str]:
    """Columns any readable record has, in order of first appearance (our ``_`` keys left out)."""
    seen: dict[str, None] = {}
    for rec in records:
        if "_error" not in rec:
            seen.update(dict.fromkeys(k for k in rec if not k.startswith("_")))
    return list(seen)


def check_mapped_columns(src: SourceConfig, number: int, records: list[RawRecord]) -> None:
    """A ``columns:`` mapping to a column no record has is a recipe error (a typo), not a rejection
    of every row. Columns missing from only some rows stay per-row rejections."""
    columns = file_columns(records)
    if not columns:  # empty or unreadable: nothing to compare with; the rows say what is wrong
        return
    for field, column in src.columns.items():
        if column not in columns:
            raise UserError(
                f"{source_name(src)}: ingest.sources[{number}].columns.{field}: no column {column!r} in the file "
                f"(columns: {', '.join(columns)})"
            )
