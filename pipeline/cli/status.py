"""`distill status RUN_DIR [--json]`: where a run stands, from its visible files only."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.common import handle_errors, plain_console
from pipeline.errors import UserError


@handle_errors
def status(
    run_dir: Annotated[Path, typer.Argument(help="A run directory.", show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output for schedulers.")] = False,
) -> None:
    """Show per-stage progress of a run: parts done/total, rows in/out per stage, drop reasons, verdicts."""
    from pipeline.status import run_status
    from pipeline.status.render import print_summary

    if not run_dir.is_dir():
        raise UserError(f"{run_dir}: run directory not found")
    report = run_status(run_dir)
    if as_json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
    else:
        print_summary(plain_console(), report)
