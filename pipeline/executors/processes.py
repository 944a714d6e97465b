"""Supervised worker processes: start them, relay their progress, stop all when one fails.

Each worker is ``python -m pipeline.executors.worker '<spec json>'`` in its own session, with
stdout/stderr in its own log file in the run dir. When one exits non-zero the others are
terminated (their finished parts stay; a rerun resumes them) and the run fails with the
worker's name, exit code, last log lines and log path.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.errors import RunFailed
from pipeline.progress import PlainProgress, Progress

POLL_S = 0.5
STOP_GRACE_S = 10.0


@dataclass(frozen=True)
class WorkerSpec:
    name: str
    recipe_path: Path
    run_dir: Path
    stages: tuple[str, ...]
    shard: int
    num_shards: int
    log: Path
    force: bool = False
    overrides: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] | None = None

    @property
    def progress_file(self) -> Path:
        return self.log.with_suffix(".progress")

    def argv(self, progress_interval: float) -> list[str]:
        spec = {
            "recipe": str(self.recipe_path),
            "run_dir": str(self.run_dir),
            "stages": list(self.stages),
            "shard": self.shard,
            "num_shards": self.num_shards,
            "force": self.force,
            "overrides": self.overrides,
            "progress_file": str(self.progress_file),
            "progress_interval": progress_interval,
        }
        return [sys.executable, "-m", "pipeline.executors.worker", json.dumps(spec)]


def log_tail(path: Path, lines: int = 5) -> str:
    """The last lines of a log for an error message (empty when it cannot be read)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _stop(procs: list[subprocess.Popen]) -> None:
    """SIGTERM every live worker's process group, then SIGKILL what is left after a grace period."""
    for sig, grace in ((signal.SIGTERM, STOP_GRACE_S), (signal.SIGKILL, 5.0)):
        live = [p for p in procs if p.poll() is None]
        for p in live:
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace
        while any(p.poll() is None for p in live) and time.monotonic() < deadline:
            time.sleep(0.1)


class ProgressRelay:
    """Forwards the new complete lines of each worker's progress file (by worker name) to the
    parent's progress reporter; a file not written yet is skipped."""

    def __init__(self, files: dict[str, Path], progress: Progress):
        self.progress = progress
        self.files = files
        self.offsets = dict.fromkeys(self.files, 0)

    def pump(self) -> None:
        for name, path in self.files.items():
            try:
                with open(path, "rb") as f:
                    f.seek(self.offsets[name])
                    data = f.read()
            except FileNotFoundError:
                continue
            complete = data[: data.rfind(b"\n") + 1]
            self.offsets[name] += len(complete)
            for line in complete.decode(errors="replace").splitlines():
                self.progress.note(f"{name}: {line}")


def supervise(specs: list[WorkerSpec], progress: Progress) -> None:
    """Run the workers to completion; one failing stops the others and raises ``RunFailed``."""
    interval = progress.interval if isinstance(progress, PlainProgress) else 5.0
    procs: list[subprocess.Popen] = []
    relay = ProgressRelay({spec.name: Path(spec.progress_file) for spec in specs}, progress)
    try:
        for spec in specs:
            spec.log.parent.mkdir(parents=True, exist_ok=True)
            spec.progress_file.unlink(missing_ok=True)
            with open(spec.log, "ab") as log:
                procs.append(
                    subprocess.Popen(
                        spec.argv(interval),
                        env=spec.env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                        start_new_session=True,
                    )
                )
        while True:
            relay.pump()
            codes = [p.poll() for p in procs]
            failed = [i for i, code in enumerate(codes) if code not in (None, 0)]
            if failed:
                i = failed[0]
                _stop(procs)
                others = [specs[j].name for j, code in enumerate(codes) if code is None]
                stopped = f"; stopped {', '.join(others)}" if others else ""
                raise RunFailed(
                    f"{specs[i].name} (shard {specs[i].shard} of {specs[i].num_shards}) failed with exit "
                    f"code {codes[i]}{stopped}. Finished parts are kept: rerun to resume.\n"
                    f"Last lines of {specs[i].log}:\n{log_tail(specs[i].log)}"
                )
            if all(code == 0 for code in codes):
                relay.pump()
                return
            time.sleep(POLL_S)
    finally:
        _stop(procs)  # also on Ctrl-C in the parent: no orphaned engines
