"""How far a long loop is: a live display on a terminal, periodic plain lines in logs.

Stages and the runner open a ``Task`` per loop (generate: one per teacher, counting requests and
output tokens; every stage: rows over its parts) and call ``advance`` as work finishes. Three
reporters share that interface: ``Progress`` itself is silent, ``PlainProgress`` writes one line
per task every ``interval`` seconds and when it finishes (CI, Slurm logs, ``--quiet``), and
``RichProgress`` draws bars with rate and ETA on a TTY. ``advance`` only adds to counters and
compares a timestamp, so reporting costs nothing measurable next to an engine step.
"""

from __future__ import annotations

import threading
import time
from typing import IO


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class Task:
    """One loop: ``done`` of ``total`` units, plus an optional amount (e.g. tokens) for a rate."""

    def __init__(self, owner: Progress, label: str, total: int | None, unit: str, amount_unit: str | None):
        self.owner, self.label, self.total, self.unit, self.amount_unit = owner, label, total, unit, amount_unit
        self.done = 0
        self.amount = 0
        self.started = time.monotonic()
        self.finished = False

    def advance(self, n: int = 1, amount: int = 0) -> None:
        self.done += n
        self.amount += amount
        self.owner._changed(self)

    def finish(self) -> None:
        if not self.finished:
            self.finished = True
            self.owner._finished(self)

    def describe(self) -> str:
        """'96/192 requests · 12,345 tokens (270 tokens/s) · ETA 1m20s' (the parts that are known)."""
        elapsed = max(time.monotonic() - self.started, 1e-9)
        parts = [
            f"{self.done:,}/{self.total:,} {self.unit}" if self.total is not None else f"{self.done:,} {self.unit}"
        ]
        if self.amount_unit:
            parts.append(f"{self.amount:,} {self.amount_unit} ({self.amount / elapsed:,.0f} {self.amount_unit}/s)")
        if self.finished:
            parts.append(f"took {_duration(elapsed)}")
        elif self.total and self.done:
            parts.append(f"ETA {_duration(elapsed * (self.total - self.done) / self.done)}")
        return f"{self.label}: " + " · ".join(parts)


class Progress:
    """Silent reporter (also the interface): tasks count, nothing is shown."""

    def task(self, label: str, total: int | None = None, unit: str = "rows", amount_unit: str | None = None) -> Task:
        return Task(self, label, total, unit, amount_unit)

    def note(self, text: str) -> None:
        """A line of its own (e.g. relayed from a worker process)."""

    def _changed(self, task: Task) -> None:
        pass

    def _finished(self, task: Task) -> None:
        pass

    def close(self) -> None:
        pass


class PlainProgress(Progress):
    """A line per task at most every ``interval`` seconds, and one when it finishes."""

    def __init__(self, stream: IO[str], interval: float = 30.0):
        self.stream = stream
        self.interval = interval
        self._last: dict[int, float] = {}
        self._lock = threading.Lock()  # the server backend reports from its own thread

    def note(self, text: str) -> None:
        with self._lock:
            self.stream.write(text + "\n")
            self.stream.flush()

    def _changed(self, task: Task) -> None:
        now = time.monotonic()
        if now - self._last.setdefault(id(task), task.started) >= self.interval:
            self._last[id(task)] = now
            self._write(task)

    def _finished(self, task: Task) -> None:
        self._last.pop(id(task), None)
        self._write(task)

    def _write(self, task: Task) -> None:
        self.note(task.describe())


class RichProgress(Progress):
    """Live bars on a terminal (rich), refreshed from rich's own thread twice a second."""

    def __init__(self, console):
        from rich.progress import BarColumn, TextColumn
        from rich.progress import Progress as Bars

        self._bars = Bars(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            TextColumn("{task.fields[info]}", markup=False),
            console=console,
            refresh_per_second=2,
            transient=False,
            redirect_stdout=False,
            redirect_stderr=False,
        )  # prints belong in the log
        self._ids: dict[int, int] = {}
        self._bars.start()

    def task(self, label: str, total: int | None = None, unit: str = "rows", amount_unit: str | None = None) -> Task:
        task = super().task(label, total, unit, amount_unit)
        self._ids[id(task)] = self._bars.add_task(label, total=total, info=self._info(task))
        return task

    def note(self, text: str) -> None:
        self._bars.console.print(text, markup=False, emoji=False, highlight=False)

    @staticmethod
    def _info(task: Task) -> str:
        return task.describe().split(": ", 1)[1]

    def _changed(self, task: Task) -> None:
        self._bars.update(self._ids[id(task)], completed=task.done, info=self._info(task))

    def _finished(self, task: Task) -> None:
        self._bars.update(
            self._ids[id(task)], completed=task.done, total=task.total or task.done, info=self._info(task)
        )

    def close(self) -> None:
        self._bars.stop()
