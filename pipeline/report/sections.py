"""One function per section of the report: ``(run_dir, status) -> HTML``.

``status`` is ``run_status(run_dir)``: the counts come from there; the Parquet parts are read
only for distributions (token lengths, pass rates) and a few example rows. A stage or column a
run does not have leaves a one-line note, never an error.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.report import plots, read
from pipeline.report.html import caption, image, note, number, section, table

EXAMPLE_CHARS = 300  # of a problem text or a drop reason shown in a table


def clip(text: object, limit: int = EXAMPLE_CHARS) -> str:
    text = "" if text is None else str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _counts(counts: dict[str, int]) -> str:
    return " · ".join(f"{k} {v:,}" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def funnel(run_dir: Path, status: dict) -> str:
    stages = status["stages"]
    if not stages:
        return section("funnel", "Funnel", note("No stage has finished a part yet."))
    rows = [
        [
            name,
            f"{st['parts_done']}/{st['parts_total'] if st['parts_total'] is not None else '?'}",
            f"{st['rows_in']:,} {st['units']['in']}",
            f"{st['rows_kept']:,} {st['units']['out']}",
            f"{st['rows_rejected']:,}",
            _counts(st["drop_reasons"]) or "-",
        ]
        for name, st in stages.items()
    ]
    body = table(["stage", "parts", "in", "kept", "rejected", "drop reasons"], rows, numeric=(1, 2, 3, 4), text=(5,))
    return section("funnel", "Funnel", image(plots.funnel(stages), "rows in, kept and rejected per stage") + body)


def tokens(run_dir: Path, status: dict) -> str:
    parts = []
    stage = next((s for s in ("verify", "generate", "export") if s in status["stages"]), None)
    hist = None
    if stage:
        hist = read.histogram(read.parts(run_dir, stage), ("teacher", "n_output_tokens"), read.by_teacher)
    if hist:
        parts.append(f"<h3>per teacher (all traces at {stage})</h3>")
        parts.append(image(plots.histograms(hist, "output tokens"), "output tokens per teacher"))
    else:
        parts.append(note("No traces with a teacher and a token count yet (no generate, verify or export parts)."))
    if status["teachers"]:
        rows = [
            [name, s["traces"], _pct(s["pass_rate"]), _mean_sd(s), _pct(s["truncation_rate"])]
            for name, s in status["teachers"].items()
        ]
        parts.append(table(["teacher", "traces", "pass rate", "tokens mean ± sd", "truncated"], rows, (1, 2, 3, 4)))
    if "shorten" not in status["stages"]:
        parts.append(note("No shorten stage in this run: no lengths before and after shortening."))
    else:
        hist = read.histogram(
            read.parts(run_dir, "shorten"), ("n_output_tokens_before", "n_output_tokens"), read.before_after, sort=False
        )
        if hist:
            parts.append("<h3>before and after shortening (traces shorten looked at)</h3>")
            parts.append(image(plots.histograms(hist, "output tokens"), "output tokens before and after shortening"))
        else:
            parts.append(note("Shorten has no trace with a length before shortening yet."))
    return section("tokens", "Output tokens", "\n".join(parts))


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _mean_sd(s: dict) -> str:
    if s.get("mean_output_tokens") is None:
        return "-"
    return f"{s['mean_output_tokens']:,.0f} ± {s['stdev_output_tokens']:,.0f}"


def pass_rate(run_dir: Path, status: dict) -> str:
    if "grade" not in status["stages"]:
        return section("pass-rate", "Pass rate by difficulty", note("No grade stage in this run: no pass rates."))
    edges, counts, means = read.pass_rates(run_dir)
    if not counts:
        return section("pass-rate", "Pass rate by difficulty", note("Grade has no graded problem yet."))
    order = [t["tier"] for t in status["tiers"]]
    counts = {t: counts[t] for t in [*order, *sorted(set(counts) - set(order))] if t in counts}
    tiers = {t["tier"]: t for t in status["tiers"]}
    rows = []
    for tier, c in counts.items():
        t = tiers.get(tier, {})
        before, after = t.get("mean_tokens_before"), t.get("mean_tokens_after")
        rows.append(
            [
                tier,
                int(c.sum()),
                f"{means[tier]:.3f}",
                number(t.get("traces")),
                number(t.get("kept")),
                "-" if after is None else f"{before:,.0f} → {after:,.0f}",
                _pct(t.get("verified_rate")),
            ]
        )
    headers = ["tier", "problems", "mean pass rate", "traces", "kept", "tokens before → after", "verified"]
    plot = plots.stacked(edges, counts, "pass rate (verified / sampled traces of a problem)", "problems")
    body = image(plot, "problems per pass rate, by difficulty tier") + table(headers, rows, numeric=range(1, 7))
    return section("pass-rate", "Pass rate by difficulty", body)


def drops(run_dir: Path, status: dict) -> str:
    stages = {name: st["drop_reasons"] for name, st in status["stages"].items() if st["drop_reasons"]}
    if not stages:
        return section("drops", "Drop reasons", note("No stage rejected a row."))
    labels = [f"{stage}: {reason}" for stage, reasons in stages.items() for reason in reasons]
    values = [n for reasons in stages.values() for n in reasons.values()]
    rows = []
    for stage, reasons in stages.items():
        found = read.examples(run_dir, stage, set(reasons), ("problem_id", "problem"), per_reason=1)
        for reason, n in reasons.items():
            ex = (found.get(reason) or [{}])[0]
            rows.append(
                [stage, reason, n, clip(ex.get("drop_reason")), clip(ex.get("problem_id"), 80), clip(ex.get("problem"))]
            )
    headers = ["stage", "reason", "rows", "example drop_reason", "problem_id", "problem"]
    body = image(plots.bars(labels, values, "rejected rows"), "rejected rows per stage and reason")
    return section("drops", "Drop reasons", body + table(headers, rows, numeric=(2,), text=(3, 4, 5)))


def contamination(run_dir: Path, status: dict) -> str:
    title = "Contamination hits per benchmark"
    st = status["stages"].get("decontaminate")
    if st is None:
        return section("contamination", title, note("No decontaminate stage in this run: benchmarks were not checked."))
    hits = {k.split(":", 1)[1]: v for k, v in st["counters"].items() if k.startswith("contaminated_by:") and v}
    if not hits and st["rows_rejected"]:
        hits = dict(read.rejected_benchmarks(run_dir))
    if not hits:
        return section(
            "contamination", title, note(f"decontaminate checked {st['rows_in']:,} problems: no benchmark hit.")
        )
    methods: dict[str, dict[str, int]] = {}
    for key, n in st["counters"].items():
        if key.startswith("matched:") and key.count(":") >= 2 and n:
            _, bench, method = key.split(":", 2)
            methods.setdefault(bench, {})[method] = n
    rows = [
        [bench, n, _counts(methods.get(bench, {})) or "-"] for bench, n in sorted(hits.items(), key=lambda kv: -kv[1])
    ]
    columns = ("problem_id", "problem", "contamination_benchmark", "contamination_item", "contamination_method")
    found = read.examples(run_dir, "decontaminate", set(st["drop_reasons"]), columns, per_reason=5)
    examples = [
        [
            clip(r.get("problem_id"), 80),
            r.get("contamination_benchmark") or "-",
            clip(r.get("contamination_item"), 80),
            r.get("contamination_method") or "-",
            clip(r.get("problem")),
        ]
        for rs in found.values()
        for r in rs
    ]
    body = image(plots.bars(list(hits), list(hits.values()), "problems dropped"), "contamination hits per benchmark")
    body += table(["benchmark", "problems", "methods that fired"], rows, numeric=(1,), text=(2,))
    if examples:
        body += "<h3>examples</h3>" + table(
            ["problem_id", "benchmark", "item", "method", "problem"], examples, text=(4,)
        )
    return section("contamination", title, body)


def throughput(run_dir: Path, status: dict) -> str:
    stages = status["stages"]
    if not stages:
        return section("throughput", "Throughput per stage", note("No stage has finished a part yet."))
    rate = {n: st["rows_in"] / st["seconds"] for n, st in stages.items() if st["seconds"] > 0 and st["rows_in"]}
    rows = [
        [n, f"{st['rows_in']:,} {st['units']['in']}", f"{st['seconds']:,.3f}", number(rate.get(n), 1)]
        for n, st in stages.items()
    ]
    text = caption("Seconds are summed over parts (worker time): with several workers the wall clock is shorter.")
    body = table(["stage", "rows in", "seconds", "rows in / s"], rows, numeric=(1, 2, 3)) + text
    if rate:
        labels = [f"{n} ({stages[n]['units']['in']})" for n in rate]
        body = (
            image(
                plots.bars(labels, list(rate.values()), "rows in per second (log scale)", log=True),
                "rows per second per stage",
            )
            + body
        )
    return section("throughput", "Throughput per stage", body)


SECTIONS = (funnel, tokens, pass_rate, drops, contamination, throughput)
