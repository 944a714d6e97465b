"""Where shards run: ``get_executor(name, **options)`` is the registry (today: ``local``)."""

from __future__ import annotations

from pipeline.errors import UserError
from pipeline.executors.base import Executor, Job, Outcome, Step, plan_steps

__all__ = ["Executor", "Job", "Outcome", "Step", "get_executor", "plan_steps"]


def get_executor(name: str = "local", **options) -> Executor:
    if name == "local":
        from pipeline.executors.local import LocalExecutor

        return LocalExecutor(**options)
    raise UserError(f"unknown executor {name!r} (available: local)")
