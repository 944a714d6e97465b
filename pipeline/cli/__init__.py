"""`distill`: one command per stage, plus `run`, `status`, `report`, `publish`, `check`, `dedup`, `decontaminate`,
`serve-embedded`.

Each module registers one command group; parsing and error mapping live here, the work in the
packages below (executors, status, verifiers, dedup).
"""

from __future__ import annotations

import typer

from pipeline.cli import check, clean, publish, report, run, serve, status

app = typer.Typer(
    help="Build long chain-of-thought SFT datasets by distillation: ingest -> generate -> verify -> export.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help text: paragraphs rewrapped, brackets shown as written
)
run.register(app)
app.command("status")(status.status)
app.command("serve-embedded")(serve.serve_embedded)
app.command("report")(report.report)
app.command("publish")(publish.publish)
app.command("dedup")(clean.dedup)
app.command("decontaminate")(clean.decontaminate)
app.add_typer(check.check_app, name="check")


def main() -> None:
    app()
