"""Parquet shard store: ``<run_dir>/<stage>/part-NNNNN.parquet`` plus visible markers.

Per part a stage writes, in this order, each atomically (temp file + fsync + rename):
``rejected/part-NNNNN.parquet`` (rows it refused, with ``drop_reason``), ``part-NNNNN.parquet``
(kept rows), ``part-NNNNN.stats.json`` and finally the empty ``part-NNNNN.done`` marker. A part
without its marker does not exist for readers, so a crash at any point leaves nothing half-read.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable

import pyarrow as pa
import pyarrow.parquet as pq

PLAN_FILE = "_plan.json"

# mkstemp creates 0600 files; published parts should get the usual umask-derived mode.
_UMASK = os.umask(0)
os.umask(_UMASK)
_FILE_MODE = 0o666 & ~_UMASK


_PART_TEMP = re.compile(r"^\.part-(\d+)\.")  # ".part-00012.parquet.tmp-x1y2": a temp file of part 12


def part_name(index: int) -> str:
    return f"part-{index:05d}"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomic(path: Path, write: Callable[[str], object]) -> None:
    """``write(tmp)`` into a temp file beside ``path``, fsync it, rename it over ``path``.

    Readers see either the old file or the whole new one; a killed writer leaves only a
    ``.<name>.tmp-*`` file, which ``StageStore.remove_temp_files`` clears on the next run.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.tmp-")
    os.fchmod(fd, _FILE_MODE)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    _write_atomic(path, lambda tmp: Path(tmp).write_bytes(data))


def write_json_atomic(path: Path, obj: Any) -> None:
    write_bytes_atomic(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def write_table_atomic(path: Path, table: pa.Table) -> None:
    _write_atomic(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))


class StageStore:
    """The files of one stage inside a run directory."""

    def __init__(self, run_dir: Path, stage: str):
        self.dir = Path(run_dir) / stage
        self.stage = stage

    def part_path(self, index: int) -> Path:
        return self.dir / f"{part_name(index)}.parquet"

    def rejected_path(self, index: int) -> Path:
        return self.dir / "rejected" / f"{part_name(index)}.parquet"

    def stats_path(self, index: int) -> Path:
        return self.dir / f"{part_name(index)}.stats.json"

    def done_path(self, index: int) -> Path:
        return self.dir / f"{part_name(index)}.done"

    def is_done(self, index: int) -> bool:
        return self.done_path(index).exists()

    def done_parts(self) -> list[int]:
        if not self.dir.exists():
            return []
        return sorted(int(p.stem.split("-")[1]) for p in self.dir.glob("part-*.done"))

    def checkpoint_dir(self, index: int) -> Path:
        return self.dir / f"{part_name(index)}.chunks"

    def read_checkpoint(self, index: int) -> list[dict]:
        """Rows saved by an unfinished part so far (each chunk file is complete or absent)."""
        chunks = sorted(self.checkpoint_dir(index).glob("chunk-*.parquet"))
        return [row for chunk in chunks for row in pq.read_table(chunk).to_pylist()]

    def append_checkpoint(self, index: int, table: pa.Table) -> None:
        """Save rows of an unfinished part as the next numbered chunk file."""
        folder = self.checkpoint_dir(index)
        number = len(list(folder.glob("chunk-*.parquet"))) if folder.exists() else 0
        write_table_atomic(folder / f"chunk-{number:05d}.parquet", table)

    def write_part(self, index: int, kept: pa.Table, rejected: pa.Table, stats: dict) -> None:
        """Write one finished part; the ``.done`` marker goes last, then its checkpoint goes."""
        self.done_path(index).unlink(missing_ok=True)
        write_table_atomic(self.rejected_path(index), rejected)
        write_table_atomic(self.part_path(index), kept)
        write_json_atomic(self.stats_path(index), stats)
        write_bytes_atomic(self.done_path(index), b"")
        shutil.rmtree(self.checkpoint_dir(index), ignore_errors=True)

    def clear_part(self, index: int) -> None:
        """Forget a part (``--force``): marker first, so a crash mid-way never leaves it 'done'."""
        for path in (self.done_path(index), self.stats_path(index), self.part_path(index), self.rejected_path(index)):
            path.unlink(missing_ok=True)
        shutil.rmtree(self.checkpoint_dir(index), ignore_errors=True)

    def remove_temp_files(self, owns: Callable[[int], bool] = lambda index: True) -> None:
        """Delete temp files of the parts ``owns`` says are this worker's, left by a writer that
        was killed mid-write. Other shards may be writing theirs right now: never touch those."""
        for tmp in self.dir.glob("**/.*.tmp-*"):
            match = _PART_TEMP.match(tmp.name)
            if match and owns(int(match.group(1))):
                tmp.unlink(missing_ok=True)
        for index in self.done_parts():  # a crash between the marker and the checkpoint removal
            if owns(index):
                shutil.rmtree(self.checkpoint_dir(index), ignore_errors=True)

    def read_part(self, index: int) -> pa.Table:
        if not self.is_done(index):
            raise FileNotFoundError(f"{self.part_path(index)} is not finished (no .done marker)")
        return pq.read_table(self.part_path(index))

    def read_rejected(self, index: int) -> pa.Table:
        return pq.read_table(self.rejected_path(index))

    def read_stats(self, index: int) -> dict:
        return json.loads(self.stats_path(index).read_text())

    def read_plan(self) -> dict | None:
        path = self.dir / PLAN_FILE
        return json.loads(path.read_text()) if path.exists() else None

    def write_plan(self, plan: dict) -> None:
        write_json_atomic(self.dir / PLAN_FILE, plan)
