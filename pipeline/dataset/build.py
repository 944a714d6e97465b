"""Build the dataset folder from the finished export parts: ``data/`` files by config and split,
``pairs/`` for the preference pairs, the card; then the manifest.

Streaming: parts are read one at a time and rows go to one writer per (config, split), so
memory is bounded by a part, not the dataset. A file is cut at ``export.max_file_mb`` and
written in row groups of about ``export.row_group_mb`` uncompressed (the Hub viewer reads row
group by row group). No file is written for an empty split: a 0-row Parquet row group makes
``datasets`` fail (batch size 0). Files are renamed ``<split>-0000i-of-0000n.parquet`` at the end.

Crash safety: everything is built in a temporary folder next to ``dataset/`` and swapped in by
renames; the manifest is written last. A rerun whose inputs (export and pairs parts, export
settings) match the manifest's fingerprint does nothing; anything else rebuilds from scratch,
which is cheap next to generation. A lock keeps two shards finishing together from racing.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import time
from collections import defaultdict
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.dataset.card import write_card
from pipeline.dataset.layout import (
    DATASET_DIR,
    dataset_dir,
    fingerprint,
    is_current,
    manifest_path,
    read_manifest,
    read_versions,
    recipe_hash,
    versions_path,
)
from pipeline.recipe import Recipe
from pipeline.stages.pairs import PAIRS_DIR
from pipeline.store import StageStore, write_json_atomic

LOCK = ".dataset.lock"
DEFAULT_CONFIG = "default"
PAIRS_CONFIG = "preference_pairs"


def split_of(problem_id: str, seed: int, test_size: float) -> str:
    """'test' for a stable ``test_size`` share of problems (hash of id and seed), else 'train'."""
    if test_size <= 0:
        return "train"
    digest = hashlib.sha256(f"{seed}:{problem_id}".encode()).digest()
    return "test" if int.from_bytes(digest[:8], "big") / 2**64 < test_size else "train"


def build_dataset(run_dir: Path, recipe: Recipe) -> dict:
    """Build (or keep, when current) the dataset folder; returns the manifest. Every export
    part must be done."""
    run_dir = Path(run_dir)
    with open(run_dir / LOCK, "a") as lock:  # "a": a rerun that builds nothing changes nothing
        fcntl.flock(lock, fcntl.LOCK_EX)
        if is_current(run_dir, recipe):
            return read_manifest(run_dir)  # type: ignore[return-value]
        source_fingerprint = fingerprint(run_dir, recipe)
        tmp = run_dir / f".{DATASET_DIR}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        for stale in run_dir.glob(f".{DATASET_DIR}.*"):
            shutil.rmtree(stale, ignore_errors=True)  # left by a crashed build
        tmp.mkdir()
        try:
            by = {"none": None, "domain": "domain", "teacher": "teacher"}[recipe.export.configs]
            files, rows = _write_split_files(run_dir, recipe, tmp, "export", "data", by)
            pair_files, pair_rows = ([], {})
            if recipe.export.preference_pairs:
                pair_files, pair_rows = _write_split_files(run_dir, recipe, tmp, PAIRS_DIR, PAIRS_DIR, None)
            manifest = {
                "run_name": recipe.name,
                "recipe_hash": recipe_hash(run_dir),
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "rows": rows,
                "pairs": pair_rows.get(DEFAULT_CONFIG, {}),
                "files": files + pair_files,
                "source_fingerprint": source_fingerprint,
            }
            versions = _next_versions(run_dir, manifest)
            write_card(run_dir, recipe, tmp, manifest, versions)
            manifest["files"].append(_describe(tmp, tmp / "README.md", None))
            _swap_in(tmp, dataset_dir(run_dir))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        # The manifest last: once it is there a rerun skips the build, so nothing may come after it.
        write_json_atomic(versions_path(run_dir), versions)
        write_json_atomic(manifest_path(run_dir), manifest)
        return manifest


def _next_versions(run_dir: Path, manifest: dict) -> list[dict]:
    """The build history with this build as its last version (a rebuild of the same inputs, after
    a crash, replaces its own entry instead of adding one)."""
    versions = read_versions(run_dir)
    if versions and versions[-1]["source_fingerprint"] == manifest["source_fingerprint"]:
        versions = versions[:-1]
    rows = sum(manifest["rows"].get(DEFAULT_CONFIG, {}).values())
    previous = versions[-1]["rows"] if versions else 0
    entry = {
        "version": len(versions) + 1,
        "built_at": manifest["built_at"],
        "rows": rows,
        "rows_added": rows - previous,
        "problems": _problems(run_dir),
        "source_fingerprint": manifest["source_fingerprint"],
    }
    return [*versions, entry]


def _problems(run_dir: Path) -> int:
    """Distinct problems exported (parts hold whole problems: per-part counts add up)."""
    store = StageStore(run_dir, "export")
    return sum(
        len(set(pq.read_table(store.part_path(i), columns=["problem_id"]).column(0).to_pylist()))
        for i in store.done_parts()
    )


def _write_split_files(run_dir: Path, recipe: Recipe, out: Path, stage: str, folder: str, by: str | None):
    """Stream a stage's parts into ``out/folder/[<config>/]<split>-i-of-n.parquet``, one config
    per value of column ``by`` (None: no configs); returns (file descriptions, {config: {split:
    rows}}), where ``default`` counts every row."""
    cfg = recipe.export
    store = StageStore(run_dir, stage)
    writers: dict[tuple[str | None, str], _RollingWriter] = {}
    for index in store.done_parts():
        table = store.read_part(index)
        if table.num_rows == 0:
            continue
        configs = table.column(by).to_pylist() if by else [None] * table.num_rows
        groups: dict[tuple[str | None, str], list[int]] = defaultdict(list)
        for i, (pid, config) in enumerate(zip(table.column("problem_id").to_pylist(), configs, strict=True)):
            name = None if by is None else config_name(config)
            groups[(name, split_of(pid, recipe.seed, cfg.test_size))].append(i)
        for key, indices in groups.items():
            if key not in writers:
                sub = out / folder / key[0] if key[0] else out / folder
                writers[key] = _RollingWriter(sub, key[1], table.schema, cfg.max_file_mb, cfg.row_group_mb)
            writers[key].write(table.take(indices))
    files, rows = [], defaultdict(dict)
    for (config, split), writer in sorted(writers.items(), key=lambda kv: (kv[0][0] or "", kv[0][1])):
        for path, n in writer.finish():
            files.append(_describe(out, path, n))
        rows[config or DEFAULT_CONFIG][split] = writer.rows
        if config:
            rows[DEFAULT_CONFIG][split] = rows[DEFAULT_CONFIG].get(split, 0) + writer.rows
    return files, {c: dict(sorted(s.items())) for c, s in sorted(rows.items())}


def config_name(value: object) -> str:
    """A config name from a domain or teacher label ('embedded:smollm2-135m' -> 'embedded-smollm2-135m')."""
    text = "".join(c if c.isalnum() or c in "-_." else "-" for c in str(value or "unknown")).strip("-.")
    return text if text and text != DEFAULT_CONFIG else f"{text or 'unknown'}-rows"


class _RollingWriter:
    """Row groups of ~``row_group_mb``, a new file past ``max_file_mb``; never an empty file."""

    def __init__(self, folder: Path, split: str, schema: pa.Schema, max_file_mb: int, row_group_mb: int):
        self.folder, self.split, self.schema = folder, split, schema
        self.max_bytes, self.group_bytes = max_file_mb << 20, row_group_mb << 20
        self.files: list[tuple[Path, int]] = []
        self.writer: pq.ParquetWriter | None = None
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        self.rows += table.num_rows
        per_row = max(1, table.nbytes // max(1, table.num_rows))
        group = max(1, self.group_bytes // per_row)
        for start in range(0, table.num_rows, group):
            if self.writer is None:
                self._open()
            chunk = table.slice(start, group)
            self.writer.write_table(chunk, row_group_size=group)
            path, n = self.files[-1]
            self.files[-1] = (path, n + chunk.num_rows)
            if path.stat().st_size >= self.max_bytes:
                self._close()

    def _open(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f".{self.split}-{len(self.files):05d}.parquet"
        self.writer = pq.ParquetWriter(path, self.schema)
        self.files.append((path, 0))

    def _close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def finish(self) -> list[tuple[Path, int]]:
        """Close and give the files their final names ``<split>-0000i-of-0000n.parquet``."""
        self._close()
        n, named = len(self.files), []
        for i, (path, rows) in enumerate(self.files):
            final = path.with_name(f"{self.split}-{i:05d}-of-{n:05d}.parquet")
            path.rename(final)
            named.append((final, rows))
        return named


def _describe(root: Path, path: Path, rows: int | None) -> dict:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    entry = {"path": path.relative_to(root).as_posix(), "bytes": path.stat().st_size, "sha256": digest.hexdigest()}
    return {**entry, "rows": rows} if rows is not None else entry


def _swap_in(new: Path, target: Path) -> None:
    """Replace ``target`` with ``new`` by renames: readers see the old folder or the new one."""
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    if target.exists():
        target.rename(old)
    new.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
