"""Rich rendering of a run's status: the honest funnel, stage by stage."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

console = Console()


def print_progress_line(stage: str, part: int, stats: dict) -> None:
    console.print(
        f"[cyan]{stage}[/] part {part:05d}: {stats['rows_in']} in, {stats['rows_out']} kept, "
        f"{stats['rows_rejected']} rejected ({stats['seconds']:.1f}s)", highlight=False,
    )


def _reasons(reasons: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(reasons.items(), key=lambda kv: -kv[1])) or "-"


def print_summary(status: dict, stages: list[str] | None) -> None:
    """Table of rows per stage, kept/rejected by reason, tokens and verdicts, dataset path."""
    table = Table(title=f"run {status['run_dir']}", title_justify="left")
    for col, justify in (("stage", "left"), ("parts", "right"), ("rows in", "right"), ("kept", "right"),
                         ("rejected", "right"), ("rejected by reason", "left")):
        table.add_column(col, justify=justify)
    for name, st in status["stages"].items():
        if stages is not None and name not in stages and not st["parts_done"]:
            continue
        total = st["parts_total"] if st["parts_total"] is not None else "?"
        table.add_row(name, f"{st['parts_done']}/{total}", str(st["rows_in"]), str(st["rows_kept"]),
                      str(st["rows_rejected"]), _reasons(st["drop_reasons"]))
    console.print(table)
    empty = {"counters": {}, "seconds": 0, "rows_kept": 0}
    gen = status["stages"].get("generate", empty)["counters"]
    if gen:
        traces = gen.get("finish_stop", 0) + gen.get("finish_length", 0)
        console.print(
            f"tokens: {gen.get('n_prompt_tokens', 0):,} prompt, {gen.get('n_output_tokens', 0):,} generated "
            f"over {traces} traces ({gen.get('finish_length', 0)} hit max_tokens); "
            f"generate took {status['stages'].get('generate', empty)['seconds']:.0f}s", highlight=False,
        )
    if status.get("teachers"):
        console.print(_teacher_table(status["teachers"]))
    verdicts = {k.removeprefix("verdict_"): v
                for k, v in status["stages"].get("verify", empty)["counters"].items() if k.startswith("verdict_")}
    if verdicts:
        console.print(f"verdicts: {_reasons(verdicts)}", highlight=False)
    export = status["stages"].get("export", empty)
    if status["dataset"]:
        console.print(f"dataset: [bold]{status['dataset']}[/] ({export['rows_kept']} rows, "
                      f"{export['counters'].get('n_output_tokens', 0):,} assistant tokens)", highlight=False)
    if not status["complete"]:
        console.print("[yellow]run not complete:[/] some parts are not done yet (see parts column)")


def _teacher_table(teachers: dict) -> Table:
    table = Table(title="teachers", title_justify="left")
    for col in ("teacher", "traces", "pass rate", "tokens mean ± sd", "truncated"):
        table.add_column(col, justify="left" if col == "teacher" else "right", no_wrap=col == "teacher")

    def pct(x: float | None) -> str:
        return "-" if x is None else f"{100 * x:.1f}%"

    for name, s in teachers.items():
        table.add_row(name, str(s["traces"]), pct(s["pass_rate"]),
                      f"{s['mean_output_tokens']:.0f} ± {s['stdev_output_tokens']:.0f}", pct(s["truncation_rate"]))
    return table
