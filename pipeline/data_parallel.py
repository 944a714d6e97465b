"""`--dp N`: N generate workers on one node, each its own process and GPU set.

Worker i of shard s runs ``distill generate --shard s + S*i --num-shards S*N``, so together the
N workers do exactly the parts that ``--shard s --num-shards S`` names (p % S == s), and later
stages keep their plain ``--shard/--num-shards``. GPUs are split into groups of the largest
``tensor_parallel_size`` among the teachers (``CUDA_VISIBLE_DEVICES`` per worker).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pipeline.errors import UserError
from pipeline.recipe import Recipe


def _visible_gpus() -> list[str]:
    if os.environ.get("CUDA_VISIBLE_DEVICES"):
        return [g for g in os.environ["CUDA_VISIBLE_DEVICES"].split(",") if g.strip()]
    try:
        import torch

        return [str(i) for i in range(torch.cuda.device_count())]
    except ImportError:
        return []


def worker_commands(recipe: Recipe, recipe_path: Path, run_dir: Path, shard: int, num_shards: int, dp: int,
                    force: bool) -> list[tuple[list[str], dict[str, str]]]:
    """(argv, environment) of each worker."""
    per_worker = max(int(t.engine.get("tensor_parallel_size", 1)) for t in recipe.generate.teachers)
    gpus = _visible_gpus()
    if gpus and len(gpus) < dp * per_worker:
        raise UserError(f"--dp {dp} with tensor_parallel_size {per_worker} needs {dp * per_worker} GPUs; "
                        f"{len(gpus)} visible")
    out = []
    for i in range(dp):
        argv = [sys.executable, "-m", "pipeline.cli", "generate", str(recipe_path), "--run-dir", str(run_dir),
                "--shard", str(shard + num_shards * i), "--num-shards", str(num_shards * dp), "--quiet"]
        if force:
            argv.append("--force")
        env = dict(os.environ)
        if gpus:
            env["CUDA_VISIBLE_DEVICES"] = ",".join(gpus[i * per_worker:(i + 1) * per_worker])
        out.append((argv, env))
    return out


def run_workers(commands: list[tuple[list[str], dict[str, str]]]) -> None:
    """Start every worker, wait for all; a failed worker fails the command (its parts resume later)."""
    procs = [subprocess.Popen(argv, env=env) for argv, env in commands]
    codes = [p.wait() for p in procs]
    failed = [i for i, code in enumerate(codes) if code != 0]
    if failed:
        raise UserError(f"generate workers {failed} failed (exit codes {[codes[i] for i in failed]}); "
                        f"rerun to resume their parts")
