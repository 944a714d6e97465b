"""`distill report`: one self-contained HTML page per run, on runs made with the fake teacher.

The page in a real browser is tests/e2e/test_report.py; here: its sections, plots, escaping,
runs without the optional stages, and exact numbers from the streaming readers.
"""

import base64
import json
import re
from collections import Counter

import pytest
import typer
from typer.testing import CliRunner

from helpers import REPO, base_recipe, write_recipe
from pipeline.cli import app as distill
from pipeline.cli.report import report
from pipeline.report import plots, read
from pipeline.rows import to_table
from pipeline.store import StageStore

runner = CliRunner()
SECTIONS = ["funnel", "tokens", "pass-rate", "drops", "contamination", "throughput"]
PLANTED = "<script>alert(1)</script>"


@pytest.fixture
def report_app() -> typer.Typer:
    # The command as `distill` registers it (pipeline/cli/__init__.py), without touching that app.
    app = typer.Typer()
    app.command("report")(report)
    app.command("noop")(lambda: None)  # two commands: the command name stays on the command line
    return app


def _run(tmp_path, problems, **sections):
    recipe = {**base_recipe(problems), **sections}
    result = runner.invoke(
        distill, ["run", str(write_recipe(tmp_path / "r.yaml", recipe)), "--run-dir", str(tmp_path / "run")]
    )
    assert result.exit_code == 0, result.output
    return tmp_path / "run"


def _full_run(tmp_path, problems):
    """Every stage, plus a MATH-500 problem (contamination) and a problem id and text carrying
    markup, listed twice so that ingest rejects the copy with the id in its drop reason."""
    math500 = json.loads((REPO / "data/benchmarks/math500.jsonl").open().readline())
    with problems.open("a") as f:
        f.write(json.dumps({"id": "planted", "problem": math500["problem"], "answer": math500["answer"]}) + "\n")
        for _ in range(2):
            f.write(json.dumps({"id": PLANTED, "problem": f"{PLANTED} What is $0$?", "answer": "0"}) + "\n")
    return _run(
        tmp_path,
        problems,
        decontaminate={"benchmarks": ["math500"]},
        grade={},
        shorten={"strategy": "first_correct"},
        select={},
        export={"include": "verified", "preference_pairs": True},
    )


def _images(page: str) -> dict[str, bytes]:
    """alt text -> PNG bytes of each plot."""
    found = re.findall(r'<img class="plot" alt="([^"]*)" src="data:image/png;base64,([^"]+)"', page)
    return {alt: base64.b64decode(data) for alt, data in found}


def test_report_has_every_section_and_escapes_the_data(tmp_path, problems, fake_teacher, report_app):
    run_dir = _full_run(tmp_path, problems)
    result = runner.invoke(report_app, ["report", str(run_dir)])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{run_dir / 'report.html'}\n"
    page = (run_dir / "report.html").read_text()
    assert re.findall(r'<section id="([^"]+)">', page) == SECTIONS
    images = _images(page)
    assert list(images) == [
        "rows in, kept and rejected per stage",
        "output tokens per teacher",
        "output tokens before and after shortening",
        "problems per pass rate, by difficulty tier",
        "rejected rows per stage and reason",
        "contamination hits per benchmark",
        "rows per second per stage",
    ]
    assert all(png.startswith(b"\x89PNG\r\n\x1a\n") for png in images.values())
    assert 'class="note"' not in page  # every stage ran: nothing is left out
    # Nothing to fetch, nothing to run: the planted markup is text.
    assert re.findall(r'(?:src|href)="(?!data:)', page) == []
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; What is $0$?" in page  # the problem text
    assert f"duplicate_problem_id: {problems}:8: &#x27;&lt;script&gt;alert(1)&lt;/script&gt;&#x27; already at" in page
    assert '<td>math500</td><td class="n">1</td>' in page
    assert "<td>planted</td><td>math500</td><td>test/precalculus/807.json</td><td>exact</td>" in page
    assert list(run_dir.glob(".report.html.tmp-*")) == []


def test_runs_without_the_optional_stages_get_notes(tmp_path, problems, fake_teacher, report_app):
    run_dir = _run(tmp_path, problems)  # ingest, generate, verify, export
    assert runner.invoke(report_app, ["report", str(run_dir)]).exit_code == 0
    page = (run_dir / "report.html").read_text()
    assert re.findall(r'<section id="([^"]+)">', page) == SECTIONS
    assert "No shorten stage in this run" in page
    assert "No grade stage in this run" in page
    assert "No decontaminate stage in this run" in page
    assert set(_images(page)) == {
        "rows in, kept and rejected per stage",
        "output tokens per teacher",
        "rejected rows per stage and reason",  # export's unverified traces
        "rows per second per stage",
    }


def test_a_run_with_only_ingest_done(tmp_path, problems, report_app):
    recipe = write_recipe(tmp_path / "r.yaml", base_recipe(problems))
    assert runner.invoke(distill, ["ingest", str(recipe), "--run-dir", str(tmp_path / "run")]).exit_code == 0
    out = tmp_path / "pages" / "deep" / "r.html"
    result = runner.invoke(report_app, ["report", str(tmp_path / "run"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert "No traces with a teacher and a token count yet" in page and "No stage rejected a row." in page
    assert "no (some parts are not done yet)" in page
    assert "rows in, kept and rejected per stage" in _images(page)


def test_bad_run_dirs_are_exit_2(tmp_path, report_app):
    missing = runner.invoke(report_app, ["report", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "run directory not found" in missing.output
    empty = runner.invoke(report_app, ["report", str(tmp_path)])
    assert empty.exit_code == 2 and "not a run directory" in empty.output
    assert not (tmp_path / "report.html").exists()


def _part(run_dir, stage, index, rows):
    StageStore(run_dir, stage).write_part(index, to_table(rows), to_table([]), {"rows_in": len(rows)})


def test_histograms_and_pass_rates_are_exact_over_parts(tmp_path):
    _part(tmp_path, "verify", 0, [{"teacher": "A", "n_output_tokens": n} for n in (10, 20, 40)])
    _part(tmp_path, "verify", 1, [{"teacher": "B", "n_output_tokens": 40}, {"teacher": "A", "n_output_tokens": None}])
    hist = read.histogram(read.parts(tmp_path, "verify"), ("teacher", "n_output_tokens"), read.by_teacher, bins=4)
    assert hist.edges.tolist() == [0, 10, 20, 30, 40]
    assert {k: v.tolist() for k, v in hist.counts.items()} == {"A": [0, 1, 1, 1], "B": [0, 0, 0, 1]}
    assert (hist.totals["A"], hist.mean("B")) == ((3, 70.0), 40.0)

    graded = [("p", 0.5, "medium"), ("p", 0.5, "medium"), ("q", 1.0, "easy"), ("r", 0.0, "unsolved")]
    _part(tmp_path, "grade", 0, [{"problem_id": p, "pass_rate": r, "difficulty": d} for p, r, d in graded])
    _part(tmp_path, "grade", 1, [{"problem_id": "s", "pass_rate": 0.3, "difficulty": "medium"}])
    edges, counts, means = read.pass_rates(tmp_path)
    assert len(edges) == 11
    assert {t: {i: int(n) for i, n in enumerate(c) if n} for t, c in counts.items()} == {
        "medium": {5: 1, 3: 1},  # one count per problem, not per trace
        "easy": {9: 1},
        "unsolved": {0: 1},
    }
    assert means == {"medium": pytest.approx(0.4), "easy": 1.0, "unsolved": 0.0}


def test_examples_stop_at_enough_rows_per_reason(tmp_path):
    rows = [{"problem_id": f"p{i}", "drop_reason": f"{'a' if i % 2 else 'b'}: detail {i}"} for i in range(6)]
    StageStore(tmp_path, "select").write_part(0, to_table([]), to_table(rows), {})
    found = read.examples(tmp_path, "select", {"a", "b"}, ("problem_id", "problem"), per_reason=2)
    assert {k: [r["problem_id"] for r in v] for k, v in found.items()} == {"b": ["p0", "p2"], "a": ["p1", "p3"]}
    assert Counter(len(r) for v in found.values() for r in v) == {2: 4}  # no 'problem' column: not invented


def test_plot_labels_with_dollars_are_text_not_math():
    png = base64.b64decode(plots.bars(["select: $\\frac{1}{", "export: 50$ and $"], [3, 1000], "rows", log=True))
    assert png.startswith(b"\x89PNG")
