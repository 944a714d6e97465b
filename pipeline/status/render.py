"""The honest funnel as text: what each stage read and wrote, in its own units, and why rows left.

Nothing here interprets markup: paths and reasons are printed exactly as they are.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text


def _counts(counts: dict[str, int]) -> str:
    return " · ".join(f"{k} {v:,}" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _outcome(name: str, st: dict) -> str:
    """The last column: verdicts for verify, tiers for grade, what shorten changed, and the
    reasons rows were dropped everywhere."""
    parts = []
    if name == "verify":
        verdicts = {k.removeprefix("verdict_"): v for k, v in st["counters"].items() if k.startswith("verdict_")}
        if verdicts:
            parts.append(f"verdicts: {_counts(verdicts)}")
    if name == "grade":
        tiers = {k.removeprefix("problems_"): v for k, v in st["counters"].items() if k.startswith("problems_")}
        if tiers:
            parts.append(f"problems: {_counts(tiers)}")
    if name == "shorten":
        done = {k.removesuffix("_shortened"): v for k, v in st["counters"].items() if k.endswith("_shortened")}
        if done:
            parts.append(f"shortened: {_counts(done)}")
    if st["rows_rejected"]:
        reasons = st["drop_reasons"]
        if name == "export" and all(k.startswith("verdict_") for k in reasons):
            parts.append(
                f"{st['rows_rejected']:,} not verified: "
                f"{_counts({k.removeprefix('verdict_'): v for k, v in reasons.items()})}"
            )
        else:
            parts.append(f"{st['rows_rejected']:,} dropped: {_counts(reasons)}")
    return "; ".join(parts) or "-"


def funnel_table(status: dict, stages: list[str] | None = None) -> Table:
    table = Table(title=Text(f"run {status['run_dir']}"), title_justify="left")
    for col, justify in (
        ("stage", "left"),
        ("parts", "right"),
        ("in", "right"),
        ("out", "right"),
        ("dropped / outcome", "left"),
    ):
        table.add_column(col, justify=justify)
    for name, st in status["stages"].items():
        if stages is not None and name not in stages:
            continue
        total = st["parts_total"] if st["parts_total"] is not None else "?"
        units = st["units"]
        table.add_row(
            Text(name),
            f"{st['parts_done']}/{total}",
            f"{st['rows_in']:,} {units['in']}",
            f"{st['rows_kept']:,} {units['out']}",
            Text(_outcome(name, st)),
        )
    return table


def teacher_table(teachers: dict) -> Table:
    table = Table(title="teachers", title_justify="left")
    for col in ("teacher", "traces", "pass rate", "tokens mean ± sd", "truncated"):
        table.add_column(col, justify="left" if col == "teacher" else "right", no_wrap=col == "teacher")

    def pct(x: float | None) -> str:
        return "-" if x is None else f"{100 * x:.1f}%"

    for name, s in teachers.items():
        table.add_row(
            Text(name),
            str(s["traces"]),
            pct(s["pass_rate"]),
            f"{s['mean_output_tokens']:.0f} ± {s['stdev_output_tokens']:.0f}",
            pct(s["truncation_rate"]),
        )
    return table


def tier_table(tiers: list[dict]) -> Table:
    """Per difficulty tier: problems, traces, traces in the dataset, tokens of verified traces
    before -> after shortening, verified rate after it, and traces each strategy shortened."""
    title = "difficulty tiers (kept: in the dataset; tokens: mean of verified traces, before → after shortening)"
    table = Table(title=title, title_justify="left")
    for col in ("tier", "problems", "traces", "kept", "tokens", "verified", "shortened"):
        table.add_column(col, justify="left" if col in ("tier", "shortened") else "right", no_wrap=col != "shortened")

    def tokens(t: dict) -> str:
        if t["mean_tokens_after"] is None:
            return "-"
        return f"{t['mean_tokens_before']:,.0f} → {t['mean_tokens_after']:,.0f}"

    for t in tiers:
        table.add_row(
            Text(t["tier"]),
            f"{t['problems']:,}",
            f"{t['traces']:,}",
            f"{t['kept']:,}",
            tokens(t),
            "-" if t["verified_rate"] is None else f"{100 * t['verified_rate']:.1f}%",
            Text(_counts(t["shortened"]) or "-"),
        )
    return table


def print_summary(
    console: Console, status: dict, stages: list[str] | None = None, unfinished: list[str] | None = None
) -> None:
    """The funnel for ``stages`` (all when None), tokens, teachers, the dataset path, and what is
    still unfinished of what was asked for (``unfinished``; for ``distill status``: the run)."""
    console.print(funnel_table(status, stages))
    shown = status["stages"] if stages is None else {n: s for n, s in status["stages"].items() if n in stages}
    gen = shown.get("generate")
    if gen and gen["counters"]:
        c = gen["counters"]
        traces = c.get("finish_stop", 0) + c.get("finish_length", 0)
        console.print(
            Text(
                f"tokens: {c.get('n_prompt_tokens', 0):,} prompt, {c.get('n_output_tokens', 0):,} generated "
                f"over {traces:,} traces ({c.get('finish_length', 0):,} hit max_tokens); "
                f"generate took {gen['seconds']:.0f}s"
            )
        )
    if status.get("teachers") and ("generate" in shown or "verify" in shown):
        console.print(teacher_table(status["teachers"]))
    if status.get("tiers") and {"grade", "shorten", "select", "export"} & set(shown):
        console.print(tier_table(status["tiers"]))
    export = shown.get("export")
    if export and status["dataset"]:
        line = Text("dataset: ")
        line.append(status["dataset"], style="bold")
        line.append(
            f" ({export['rows_kept']:,} rows, {export['counters'].get('n_output_tokens', 0):,} assistant tokens)"
        )
        console.print(line)
    if export and status.get("pairs"):
        c = export["counters"]
        line = Text("pairs: ")
        line.append(status["pairs"], style="bold")
        line.append(
            f" ({c.get('pairs', 0):,} preference pairs from {c.get('problems_with_pairs', 0):,} problems; "
            f"{c.get('problems_without_negatives', 0):,} problems had no wrong trace to pair)"
        )
        console.print(line)
    if status.get("slurm"):
        from pipeline.status.slurm import print_slurm

        print_slurm(console, status["slurm"])
    if unfinished is None:
        unfinished = [] if status["complete"] else ["some parts are not done yet (see the parts column)"]
        if status.get("dataset_pending"):
            unfinished = ["every part is done but the dataset folder is not built: run the recipe again to build it"]
    for message in unfinished:
        line = Text("not complete: ", style="yellow")
        line.append(message)
        console.print(line)
