"""`distill status`: the per-tier table (from shorten, or grade alone) and the dataset paths, on
crafted parts with known tiers and token counts."""

import json

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.dataset.build import build_dataset
from pipeline.recipe import parse_recipe
from pipeline.rows import to_table
from pipeline.runner import pin_recipe
from pipeline.stages.pairs import make_pairs, pairs_table
from pipeline.status import run_status
from pipeline.store import StageStore

runner = CliRunner()


def _recipe(tmp_path, shorten: bool = True, pairs: bool = False):
    data = {
        "name": "tiers",
        "ingest": {"sources": [{"path": str(tmp_path / "traces.jsonl"), "kind": "traces"}]},
        "grade": {},
        "export": {"preference_pairs": pairs},
    }
    if shorten:
        data["shorten"] = {"strategy": "first_correct"}
    return parse_recipe(data)


def _trace(pid, tier, sample, ok, before, after=None, strategy="first_correct"):
    # As the shorten stage writes them: every row names the strategy of its tier; the status
    # says whether it changed the trace.
    return {
        "problem_id": pid,
        "teacher": "t",
        "sample_idx": sample,
        "difficulty": tier,
        "verdict": ok,
        "n_output_tokens_before": before,
        "n_output_tokens": before if after is None else after,
        "shorten_strategy": strategy,
        "shorten_status": "shortened" if after is not None else "kept: not applicable",
    }


# Two parts of shortened traces (whole problems per part).
SHORTEN = [
    [
        _trace("e1", "easy", 0, True, 100, 60),
        _trace("e1", "easy", 1, True, 200),
        _trace("m1", "medium", 0, True, 300, 100),
        _trace("m1", "medium", 1, True, 500),
        _trace("m1", "medium", 2, False, 900),
    ],
    [
        _trace("h1", "hard", 0, True, 1000, 400, "rewrite"),
        *[_trace("h1", "hard", i, False, 2000, strategy="rewrite") for i in (1, 2, 3)],
        _trace("u1", "unsolved", 0, False, 800),
        _trace("u1", "unsolved", 1, False, 800),
        _trace("u2", "unsolved", 0, False, 100),
    ],
]
# The dataset: verified traces only (the export keeps difficulty as a column).
EXPORT = [[r for r in part if r["verdict"]] for part in SHORTEN]

EXPECTED = [
    {
        "tier": "easy",
        "problems": 1,
        "traces": 2,
        "kept": 2,
        "mean_tokens_before": 150.0,
        "mean_tokens_after": 130.0,
        "verified_rate": 1.0,
        "shortened": {"first_correct": 1},
    },
    {
        "tier": "medium",
        "problems": 1,
        "traces": 3,
        "kept": 2,
        "mean_tokens_before": 400.0,
        "mean_tokens_after": 300.0,
        "verified_rate": 0.6667,
        "shortened": {"first_correct": 1},
    },
    {
        "tier": "hard",
        "problems": 1,
        "traces": 4,
        "kept": 1,
        "mean_tokens_before": 1000.0,
        "mean_tokens_after": 400.0,
        "verified_rate": 0.25,
        "shortened": {"rewrite": 1},
    },
    {
        "tier": "unsolved",
        "problems": 2,
        "traces": 3,
        "kept": 0,
        "mean_tokens_before": None,
        "mean_tokens_after": None,
        "verified_rate": 0.0,
        "shortened": {},
    },
]


def _write(run_dir, stage, parts):
    store = StageStore(run_dir, stage)
    for index, rows in enumerate(parts):
        stats = {"rows_in": len(rows), "rows_out": len(rows), "rows_rejected": 0}
        stats.update(drop_reasons={}, counters={}, seconds=0.0, units={"in": "traces", "out": "traces"})
        store.write_part(index, to_table(rows), to_table([], ["problem_id", "drop_reason"]), stats)


@pytest.fixture
def run_dir(tmp_path):
    run_dir = tmp_path / "run"
    pin_recipe(_recipe(tmp_path), run_dir, force=True)
    StageStore(run_dir, "ingest").write_plan({"num_parts": 2})
    _write(run_dir, "shorten", SHORTEN)
    _write(run_dir, "export", EXPORT)
    build_dataset(run_dir, _recipe(tmp_path))
    return run_dir


def test_tiers_from_shorten_and_export(run_dir):
    status = run_status(run_dir)
    assert status["tiers"] == EXPECTED
    assert status["dataset"] == str(run_dir / "dataset") and status["pairs"] is None


def test_kept_falls_back_to_the_last_finished_stage(run_dir):
    for index in (0, 1):
        StageStore(run_dir, "export").clear_part(index)
    tiers = run_status(run_dir)["tiers"]
    assert [t["kept"] for t in tiers] == [t["traces"] for t in tiers] == [2, 3, 4, 3]  # shorten's rows
    assert run_status(run_dir)["dataset"] is None


def test_grade_alone_gives_tiers_with_tokens_unchanged(tmp_path):
    run_dir = tmp_path / "run"
    pin_recipe(_recipe(tmp_path, shorten=False), run_dir, force=True)
    graded = [
        [{k: v for k, v in r.items() if not k.startswith(("n_output_tokens_before", "shorten_"))} for r in part]
        for part in SHORTEN
    ]
    _write(run_dir, "grade", graded)
    tiers = {t["tier"]: t for t in run_status(run_dir)["tiers"]}
    assert list(tiers) == ["easy", "medium", "hard", "unsolved"]
    assert tiers["easy"]["mean_tokens_before"] == tiers["easy"]["mean_tokens_after"] == 130.0
    assert tiers["hard"]["shortened"] == {} and tiers["hard"]["kept"] == 4


def test_no_tiers_before_grade(tmp_path):
    run_dir = tmp_path / "run"
    pin_recipe(_recipe(tmp_path), run_dir, force=True)
    assert run_status(run_dir)["tiers"] == []
    assert "difficulty tiers" not in runner.invoke(app, ["status", str(run_dir)]).stdout


def test_status_json_names_both_datasets(tmp_path, run_dir):
    pin_recipe(_recipe(tmp_path, pairs=True), run_dir, force=True)
    rows = [{**r, "prompt": "q", "reasoning": "r", "answer_text": "a", "think_closed": True} for r in SHORTEN[0]]
    StageStore(run_dir, "pairs").write_part(0, pairs_table(make_pairs(rows, "all", 4)), pairs_table([]), {})
    build_dataset(run_dir, _recipe(tmp_path, pairs=True))
    result = runner.invoke(app, ["status", "--json", str(run_dir)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["dataset"] == str(run_dir / "dataset") and data["pairs"] == str(run_dir / "dataset" / "pairs")
    assert data["tiers"] == EXPECTED


def _cells(text: str, first: str) -> list[str]:
    (line,) = [ln for ln in text.splitlines() if ln.startswith(f"│ {first} ")]
    return [c.strip() for c in line.split("│")[1:-1]]


def test_status_prints_the_tier_table(run_dir):
    result = runner.invoke(app, ["status", str(run_dir)], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "difficulty tiers" in text
    header = text.splitlines()[text.splitlines().index(next(ln for ln in text.splitlines() if "┃ tier" in ln))]
    assert [c.strip() for c in header.split("┃")[1:-1]] == [
        "tier",
        "problems",
        "traces",
        "kept",
        "tokens",
        "verified",
        "shortened",
    ]
    assert _cells(text, "easy") == ["easy", "1", "2", "2", "150 → 130", "100.0%", "first_correct 1"]
    assert _cells(text, "medium") == ["medium", "1", "3", "2", "400 → 300", "66.7%", "first_correct 1"]
    assert _cells(text, "hard") == ["hard", "1", "4", "1", "1,000 → 400", "25.0%", "rewrite 1"]
    assert _cells(text, "unsolved") == ["unsolved", "2", "3", "0", "-", "0.0%", "-"]
    assert f"dataset: {run_dir / 'dataset'}" in text
