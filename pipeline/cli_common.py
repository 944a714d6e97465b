"""What every `distill` command shares: how a user error is reported."""

from __future__ import annotations

import typer
from rich.console import Console

from pipeline.errors import UserError

err_console = Console(stderr=True)


def fail(exc: UserError) -> None:
    """Print ``Error: ...`` on one line to stderr and exit with code 2 (bad input)."""
    err_console.print(f"[bold red]Error:[/] {exc}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)
