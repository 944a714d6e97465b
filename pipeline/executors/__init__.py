"""Where shards run: ``get_executor(name, **options)`` is the registry (local, slurm, ray)."""

from __future__ import annotations

import importlib
import inspect

from pipeline.errors import UserError
from pipeline.executors.base import Executor, Job, Outcome, Step, plan_steps

__all__ = ["EXECUTORS", "Executor", "Job", "Outcome", "Step", "get_executor", "plan_steps"]

# Name -> "module:class", imported on use: `distill run` on a laptop never imports cluster code.
EXECUTORS = {
    "local": "pipeline.executors.local:LocalExecutor",
    "slurm": "pipeline.executors.slurm:SlurmExecutor",
    "ray": "pipeline.executors.ray_executor:RayExecutor",
}


def get_executor(name: str = "local", **options) -> Executor:
    """The executor ``name`` built with ``options`` (its constructor's keyword arguments)."""
    if name not in EXECUTORS:
        raise UserError(f"unknown executor {name!r} (available: {', '.join(EXECUTORS)})")
    module, attr = EXECUTORS[name].split(":")
    cls = getattr(importlib.import_module(module), attr)
    unknown = [k for k in options if k not in inspect.signature(cls).parameters]
    if unknown:  # e.g. --dp given to an executor that places its workers itself
        flags = ", ".join("--" + k.replace("_", "-") for k in unknown)
        raise UserError(f"{flags} does not apply to --executor {name}")
    return cls(**options)
