"""What a Ray task or engine actor runs: ``pipeline.runner.run_stages`` for one shard of one stage.

The recipe travels by path and is loaded here the way every command loads it, so a worker on
another node needs the same paths (shared storage). Everything the shard prints — our logging,
vLLM's and torch's output, the traceback of a failure — goes to its own log file in the run's
``logs/``, not to Ray's worker logs or the user's terminal. Progress lines go to a file the
driver relays (engine actors) or into the log (CPU tasks).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Iterator

from pipeline.fds import std_fds_to

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShardSpec:
    name: str  # e.g. "verify shard 0 of 2", as errors and progress lines call it
    recipe_path: str
    run_dir: str
    stage: str
    shard: int
    num_shards: int
    log: str
    progress_file: str | None = None  # relayed by the driver; None: progress lines go to the log
    progress_interval: float = 30.0
    force: bool = False
    overrides: dict[str, Any] = field(default_factory=dict)
    lock: str | None = None  # the driver's run-dir lock (pipeline.lock): shards work under it


def run_shard(spec: ShardSpec) -> None:
    """Run one shard; raises what the stage raised (after logging it with its traceback)."""
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
    from pipeline.lock import ENV as LOCK_ENV
    from pipeline.preflight import load_checked_recipe
    from pipeline.progress import PlainProgress
    from pipeline.runner import run_stages

    with _output_to(Path(spec.log)) as stream, _bare_main(), contextlib.ExitStack() as stack:
        if spec.progress_file:
            stream = stack.enter_context(open(spec.progress_file, "a", buffering=1))
        if spec.lock:  # a cluster's workers do not inherit the driver's environment
            stack.enter_context(_env(LOCK_ENV, spec.lock))
        log.info("%s: starting on %s (pid %d)", spec.name, os.uname().nodename, os.getpid())
        try:
            recipe = load_checked_recipe(spec.recipe_path)
            run_stages(
                recipe,
                Path(spec.run_dir),
                [spec.stage],
                shard=spec.shard,
                num_shards=spec.num_shards,
                force=spec.force,
                overrides=spec.overrides,
                progress=PlainProgress(stream, spec.progress_interval),
            )
        except KeyboardInterrupt:  # cancelled by the driver: another shard failed, or Ctrl-C
            log.warning("%s stopped", spec.name)
            raise
        except BaseException:
            log.exception("%s failed", spec.name)
            raise
        log.info("%s: done", spec.name)


class EngineWorker:
    """A Ray actor holding the accelerators of one engine; ``run`` is one ``run_shard`` call, so
    the engine is loaded once for all of the shard's parts."""

    def run(self, spec: ShardSpec) -> None:
        run_shard(spec)


@contextlib.contextmanager
def _output_to(path: Path) -> Iterator[IO[str]]:
    """Point fds 1 and 2 and the root logger at ``path`` while a shard runs; Ray reuses worker
    processes, so everything is put back afterwards."""
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    level = root.level
    with open(path, "a", buffering=1, encoding="utf-8", errors="replace") as out, std_fds_to(out.fileno()):
        handler = logging.StreamHandler(out)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        try:
            yield out
        finally:
            root.removeHandler(handler)
            root.setLevel(level)


@contextlib.contextmanager
def _bare_main() -> Iterator[None]:
    """Hide Ray's worker script from ``multiprocessing`` while a shard runs: verify's pool starts its
    processes by forkserver, which re-runs the parent's ``__main__`` file in each one, and here that
    file imports all of Ray (seconds per process on a small machine)."""
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


@contextlib.contextmanager
def _env(name: str, value: str) -> Iterator[None]:
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous
