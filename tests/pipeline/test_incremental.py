"""Scheduled, incremental runs: a rerun over an input that grew plans only the new records as new
parts, generates only for them, redoes the barriers over the whole run, and the dataset gets its
next version; a rerun over the same input does nothing."""

import json

import pytest

from fakes import FakeTeacherBackend
from helpers import GOLD, PROBLEMS, base_recipe, write_jsonl
from pipeline.dataset.layout import dataset_dir, read_versions
from pipeline.recipe import parse_recipe
from pipeline.runner import run_stages
from pipeline.stages import active_stages
from pipeline.stages.ingest import content_id
from pipeline.store import StageStore


@pytest.fixture
def teacher(monkeypatch):
    backend = FakeTeacherBackend(GOLD)
    monkeypatch.setattr("pipeline.stages.generate.load_backend", lambda teacher, seed: backend)
    monkeypatch.setattr("pipeline.stages.generate.check_engine_args", lambda args: None)
    return backend


def _mtimes(run_dir, stage: str) -> dict[int, int]:
    store = StageStore(run_dir, stage)
    return {i: store.part_path(i).stat().st_mtime_ns for i in store.done_parts()}


def test_a_grown_input_generates_only_its_new_problems(tmp_path, teacher):
    path = write_jsonl(tmp_path / "p.jsonl", PROBLEMS[:3])
    recipe = parse_recipe(
        {**base_recipe(path), "grade": {}, "dedup": {}, "select": {}, "export": {"preference_pairs": True}}
    )
    run_dir = tmp_path / "run"
    run_stages(recipe, run_dir, active_stages(recipe))
    generated, asked = _mtimes(run_dir, "generate"), sum(teacher.calls)
    assert asked == 3 and len(read_versions(run_dir)) == 1

    write_jsonl(path, PROBLEMS)  # the input grew by p4 and p5
    run_stages(recipe, run_dir, active_stages(recipe))
    plan = StageStore(run_dir, "ingest").read_plan()
    assert [g["first_part"] for g in plan["generations"]] == [0, 2] and plan["num_parts"] == 3
    assert sum(teacher.calls) - asked == 2  # p4 and p5, nothing else
    assert {i: t for i, t in _mtimes(run_dir, "generate").items() if i in generated} == generated
    ids = [r["problem_id"] for i in range(3) for r in StageStore(run_dir, "ingest").read_part(i).to_pylist()]
    assert sorted(ids) == ["p1", "p2", "p3", "p4", "p5"]  # each problem once
    versions = read_versions(run_dir)
    assert [v["version"] for v in versions] == [1, 2] and versions[1]["rows_added"] == 1  # p5 verified; p4 truncates
    assert versions[1]["problems"] == versions[0]["problems"] + 1
    card = (dataset_dir(run_dir) / "README.md").read_text()
    assert "## Versions" in card and "| 2 |" in card

    before = sum(teacher.calls)
    run_stages(recipe, run_dir, active_stages(recipe))  # the same input again: nothing to do
    assert sum(teacher.calls) == before and len(read_versions(run_dir)) == 2
    assert len(StageStore(run_dir, "ingest").read_plan()["generations"]) == 2


def test_problem_ids_are_content_addressed_and_traces_keep_their_keys(tmp_path):
    """Without an id column, ids hash the normalized text and the source's name: reformatting
    whitespace keeps the id, another source gives another one; a new trace of an old problem
    is new, the old ones are not planned again."""
    assert content_id("What is  2+2?\n", "a.jsonl") == content_id("What is 2+2?", "a.jsonl")
    assert content_id("What is 2+2?", "a.jsonl") != content_id("What is 2+2?", "b.jsonl")
    rows = [{"problem": "What is 2+2?", "answer": "4", "response": "<think>4</think>4", "teacher": "r1"}]
    path = write_jsonl(tmp_path / "t.jsonl", rows)
    columns = {"problem": "problem", "reference_answer": "answer", "response": "response", "teacher": "teacher"}
    recipe = parse_recipe(
        {
            "name": "t",
            "ingest": {"sources": [{"path": str(path), "kind": "traces", "domain": "math", "columns": columns}]},
            "verify": {"workers": 1},
        }
    )
    run_dir = tmp_path / "run"
    run_stages(recipe, run_dir, ["ingest", "verify"])
    write_jsonl(path, rows + [{**rows[0], "response": "<think>5</think>5"}])  # a second sample
    run_stages(recipe, run_dir, ["ingest", "verify"])
    store = StageStore(run_dir, "verify")
    got = [(r["sample_idx"], r["verdict"]) for i in store.done_parts() for r in store.read_part(i).to_pylist()]
    assert got == [(0, True), (1, False)]
    keys = json.loads((run_dir / "ingest" / "_gen-1.json").read_text())
    assert keys == [json.dumps([content_id("What is 2+2?", "t.jsonl"), "r1", 1])]
