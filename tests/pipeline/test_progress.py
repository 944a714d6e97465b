"""Progress reporting: plain periodic lines for logs, live bars on a terminal, never markup."""

import io

from rich.console import Console

from pipeline.cli.output import make_progress
from pipeline.progress import PlainProgress, Progress, RichProgress


def test_plain_lines_every_interval_and_one_at_the_end():
    stream = io.StringIO()
    progress = PlainProgress(stream, interval=3600)
    task = progress.task("generate t", total=4, unit="requests", amount_unit="tokens")
    for _ in range(4):
        task.advance(1, amount=100)
    assert stream.getvalue() == ""  # within the interval: silent
    task.finish()
    line = stream.getvalue()
    assert line.startswith("generate t: 4/4 requests · 400 tokens (") and "tokens/s) · took " in line
    assert line.count("\n") == 1


def test_plain_with_zero_interval_reports_every_step_with_an_eta():
    stream = io.StringIO()
    task = PlainProgress(stream, interval=0).task("verify", total=3, unit="traces")
    task.advance()
    first = stream.getvalue().splitlines()[0]
    assert first.startswith("verify: 1/3 traces · ETA ")


def test_unknown_total_and_notes():
    stream = io.StringIO()
    progress = PlainProgress(stream, interval=0)
    progress.task("ingest", total=None, unit="records").advance(7)
    progress.note("worker 1: [bold]not markup[/bold] :smile:")
    assert stream.getvalue().splitlines() == ["ingest: 7 records", "worker 1: [bold]not markup[/bold] :smile:"]


def test_rich_bars_show_labels_verbatim():
    buffer = io.StringIO()
    progress = RichProgress(Console(file=buffer, force_terminal=True, width=120))
    task = progress.task("generate [bold]m:smile:", total=2, unit="requests")
    task.advance(2)
    task.finish()
    progress.close()
    assert "generate [bold]m:smile:" in buffer.getvalue() and "2/2 requests" in buffer.getvalue()


def test_terminal_gets_bars_logs_and_quiet_get_lines():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    bars = make_progress(Tty(), quiet=False)
    assert isinstance(bars, RichProgress)
    bars.close()
    assert type(make_progress(Tty(), quiet=True)) is PlainProgress
    assert type(make_progress(io.StringIO(), quiet=False)) is PlainProgress
    assert type(Progress().task("x")).__name__ == "Task"
