"""`distill report RUN_DIR [--out FILE]`: one self-contained HTML page about a run."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from pipeline.cli.common import handle_errors
from pipeline.errors import UserError


@handle_errors
def report(
    run_dir: Annotated[Path, typer.Argument(help="A run directory.", show_default=False)],
    out: Annotated[
        Optional[Path], typer.Option("--out", help="Where to write the page [default: RUN_DIR/report.html].")
    ] = None,
) -> None:
    """Write an HTML report of a run (funnel, output tokens, pass rate by difficulty, drop reasons,
    contamination, throughput) with embedded plots; it loads nothing from the network. Prints its path."""
    from pipeline.report import write_report

    if not run_dir.is_dir():
        raise UserError(f"{run_dir}: run directory not found")
    if not (run_dir / "recipe.yaml").is_file() and not any(run_dir.glob("*/part-*.done")):
        raise UserError(f"{run_dir}: not a run directory (no recipe.yaml and no finished stage part)")
    if out is not None and out.is_dir():
        raise UserError(f"--out {out}: is a directory; name the HTML file to write")
    sys.stdout.write(f"{write_report(run_dir, out)}\n")
