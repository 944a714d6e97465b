"""Assemble the report page and write it atomically next to the run (or where asked)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from pipeline.report import html
from pipeline.report.sections import SECTIONS
from pipeline.status import run_status
from pipeline.store import write_bytes_atomic

REPORT_FILE = "report.html"


def _header(status: dict) -> str:
    rows = [
        ["run directory", status["run_dir"]],
        ["complete", "yes" if status["complete"] else f"no ({_unfinished(status)})"],
        ["dataset", status["dataset"] or "-"],
        ["preference pairs", status["pairs"] or "-"],
        ["report made", datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")],
    ]
    return html.table(None, rows)


def build_page(run_dir: Path) -> str:
    """The whole report of ``run_dir`` as one self-contained HTML document."""
    run_dir = Path(run_dir)
    status = run_status(run_dir)
    title = f"cotdistill run report: {run_dir.name or run_dir.resolve().name}"
    return html.page(title, _header(status), [make(run_dir, status) for make in SECTIONS])


def write_report(run_dir: Path, out: Path | None = None) -> Path:
    """Write the page to ``out`` (default ``<run_dir>/report.html``) via temp file + rename; return its path."""
    path = Path(out) if out is not None else Path(run_dir) / REPORT_FILE
    write_bytes_atomic(path, build_page(run_dir).encode("utf-8"))
    return path


def _unfinished(status: dict) -> str:
    return "the dataset folder is not built yet" if status.get("dataset_pending") else "some parts are not done yet"
