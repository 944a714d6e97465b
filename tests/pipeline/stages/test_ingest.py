import pyarrow as pa
import pyarrow.parquet as pq

from helpers import base_recipe, write_jsonl
from pipeline.recipe import parse_recipe
from pipeline.runner import run_stage
from pipeline.stages.ingest import IngestStage
from pipeline.store import StageStore


def _ingest(tmp_path, sources, rows_per_part=10):
    recipe = base_recipe(tmp_path / "unused.jsonl")
    recipe["ingest"] = {"sources": sources, "rows_per_part": rows_per_part}
    report = run_stage(IngestStage(parse_recipe(recipe)), tmp_path / "run")
    store = StageStore(tmp_path / "run", "ingest")
    kept = [r for i in store.done_parts() for r in store.read_part(i).to_pylist()]
    rejected = [r for i in store.done_parts() for r in store.read_rejected(i).to_pylist()]
    return report, kept, rejected


def test_bad_lines_become_rejected_rows_naming_file_and_line(tmp_path):
    path = write_jsonl(
        tmp_path / "p.jsonl",
        [
            {"id": "a", "problem": "1+1?", "answer": 2},
            "{this is not json",
            {"id": "b", "problem": "no answer here"},
            {"id": "c", "problem": "  ", "answer": "1"},
            '["a list"]',
            {"id": "a", "problem": "same id again", "answer": "3"},
            {"problem": "no id", "answer": "4"},
        ],
    )
    report, kept, rejected = _ingest(tmp_path, [{"path": str(path)}])
    assert [r["problem_id"] for r in kept][0] == "a"
    assert kept[0]["reference_answer"] == "2" and kept[0]["source_index"] == 1
    assert len(kept[1]["problem_id"]) == 16  # content hash when the source has no id
    reasons = sorted(r["drop_reason"].split(":")[0] for r in rejected)
    assert reasons == [
        "duplicate_problem_id",
        "invalid_json",
        "invalid_json",
        "missing_problem",
        "missing_reference_answer",
    ]
    by_reason = {r["drop_reason"].split(":")[0]: r["drop_reason"] for r in rejected}
    bad_json = sorted(r["drop_reason"] for r in rejected if r["drop_reason"].startswith("invalid_json"))
    assert bad_json[0].startswith(f"invalid_json: {path}:2: ")
    assert bad_json[1] == f"invalid_json: {path}:5: expected an object, got list"
    assert f"{path}:3: field 'answer'" in by_reason["missing_reference_answer"]
    assert "already at" in by_reason["duplicate_problem_id"]
    assert report.rows_in == 7 == report.rows_out + report.rows_rejected


def test_column_mapping_parquet_and_limit(tmp_path):
    path = tmp_path / "p.parquet"
    pq.write_table(pa.table({"question": ["q1", "q2", "q3"], "gold": ["1", "2", "3"], "uid": ["x", "y", "z"]}), path)
    cols = {"problem": "question", "reference_answer": "gold", "problem_id": "uid"}
    _, kept, rejected = _ingest(tmp_path, [{"path": str(path), "columns": cols, "limit": 2}])
    assert [(r["problem_id"], r["problem"], r["reference_answer"]) for r in kept] == [
        ("x", "q1", "1"),
        ("y", "q2", "2"),
    ]
    assert rejected == []


def test_code_problems_need_no_reference_answer(tmp_path):
    path = write_jsonl(
        tmp_path / "c.jsonl",
        [{"id": "c1", "problem": "Write f.", "entry_point": "f", "test": "def check(f):\n    assert f() == 1\n"}],
    )
    _, kept, _ = _ingest(tmp_path, [{"path": str(path), "domain": "code"}])
    assert kept[0]["domain"] == "code" and kept[0]["reference_answer"] is None


def test_parts_follow_rows_per_part_and_plan_is_written(tmp_path):
    path = write_jsonl(tmp_path / "p.jsonl", [{"id": str(i), "problem": f"q{i}", "answer": "1"} for i in range(5)])
    report, kept, _ = _ingest(tmp_path, [{"path": str(path)}], rows_per_part=2)
    assert report.parts_done == 3
    assert StageStore(tmp_path / "run", "ingest").read_plan()["num_parts"] == 3
    assert [r["problem_id"] for r in kept] == ["0", "1", "2", "3", "4"]


def test_dataset_source_goes_through_datasets_load_dataset(tmp_path):
    """`dataset:` takes a Hub name; a local dataset folder exercises the same loader offline."""
    folder = tmp_path / "hub_like"
    folder.mkdir()
    pq.write_table(pa.table({"question": ["a?", "b?"], "answer": ["1", "2"]}), folder / "train-00000.parquet")
    _, kept, _ = _ingest(tmp_path, [{"dataset": str(folder), "split": "train", "columns": {"problem": "question"}}])
    assert [(r["problem"], r["reference_answer"]) for r in kept] == [("a?", "1"), ("b?", "2")]
    assert kept[0]["source"] == f"hf://{folder}:train" and kept[0]["source_index"] == 1


def test_unloadable_dataset_is_a_user_error(tmp_path):
    import pytest

    from pipeline.errors import UserError

    with pytest.raises(UserError, match="Hub dataset no-such-org/no-such-set:train: cannot load"):
        _ingest(tmp_path, [{"dataset": "no-such-org/no-such-set"}])


def test_choice_rows_get_lettered_options_and_letter_answers(tmp_path):
    path = write_jsonl(
        tmp_path / "mc.jsonl",
        [
            {"id": "m1", "question": "Which is a prime?", "choices": ["4", "6", "7", "9"], "answer": 2},
            {"id": "m2", "question": "Pick one.\nA. x\nB. y", "answer": "B"},
        ],
    )
    _, kept, _ = _ingest(tmp_path, [{"path": str(path), "domain": "choice", "columns": {"problem": "question"}}])
    assert kept[0]["problem"] == "Which is a prime?\n\nA. 4\nB. 6\nC. 7\nD. 9"
    assert kept[0]["reference_answer"] == "C"
    assert (kept[1]["problem"], kept[1]["reference_answer"]) == ("Pick one.\nA. x\nB. y", "B")


def test_code_rows_carry_their_tests_and_need_some(tmp_path):
    import json

    path = write_jsonl(
        tmp_path / "code.jsonl",
        [
            {"id": "c1", "problem": "Echo.", "tests": [{"input": "1\n", "output": "1\n"}]},
            {"id": "c2", "problem": "No tests."},
        ],
    )
    _, kept, rejected = _ingest(tmp_path, [{"path": str(path), "domain": "code"}])
    assert json.loads(kept[0]["test_spec"]) == {"tests": [{"input": "1\n", "output": "1\n"}]}
    assert rejected[0]["drop_reason"].startswith("missing_tests:")
