"""The dataset folder: only the dataset, loadable by every common reader, shaped for trainers,
split by problem, bounded files, a card without secrets, and rebuilt only when its inputs change.

Runs are made from bring-your-own traces (no model): verified and wrong answers to math problems.
"""

import hashlib
import json
import os

import pandas as pd
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest
from datasets import load_dataset

from helpers import write_jsonl
from pipeline.dataset.build import build_dataset, split_of
from pipeline.dataset.layout import dataset_dir, read_manifest
from pipeline.recipe import parse_recipe
from pipeline.runner import run_stages
from pipeline.stages import active_stages
from pipeline.status import run_status

SECRET = "hf_cardSecretValue1234567890abcdef"


def _traces(n_problems: int = 6, pad_kb: int = 0) -> list[dict]:
    """Per problem: a verified trace, a wrong one, and a truncated one (think never closed).
    Problems 0 and 1 have no verified trace, so with 3 rows per part some parts keep nothing.
    ``pad_kb``: KB of incompressible text appended to each problem (to test file sizes)."""
    rows = []
    for i in range(n_problems):
        noise = "".join(hashlib.sha256(f"{i}:{k}".encode()).hexdigest() for k in range(pad_kb * 16))
        q = f"What is ${i} + {i}$? " + noise
        good = f"<think>\n{i} + {i} = {2 * i}.\n</think>\n\n$\\boxed{{{2 * i}}}$"
        bad = f"<think>\nprobably {2 * i + 1}\n</think>\n\n$\\boxed{{{2 * i + 1}}}$"
        rows.append({"q": q, "gold": str(2 * i), "out": bad if i < 2 else good, "t": "r1", "d": "math"})
        rows.append({"q": q, "gold": str(2 * i), "out": bad, "t": "qwq", "d": "math"})
        rows.append({"q": q, "gold": str(2 * i), "out": f"<think>\n{i} plus {i} is", "t": "qwq", "d": "math"})
    return rows


def _run(tmp_path, export: dict | None = None, traces: list[dict] | None = None, rows_per_part: int = 3):
    path = write_jsonl(tmp_path / "src" / "traces.jsonl", traces or _traces())
    columns = {"problem": "q", "reference_answer": "gold", "response": "out", "teacher": "t"}
    recipe = parse_recipe(
        {
            "name": "ds",
            "ingest": {
                "sources": [{"path": str(path), "kind": "traces", "domain": "math", "columns": columns}],
                "rows_per_part": rows_per_part,
            },
            "verify": {"timeout_s": 10, "workers": 1},
            "grade": {},
            "export": export or {},
        }
    )
    run_dir = tmp_path / "run"
    run_stages(recipe, run_dir, active_stages(recipe))
    return recipe, run_dir


def _exported(run_dir) -> list[dict]:
    from pipeline.store import StageStore

    store = StageStore(run_dir, "export")
    return [r for i in store.done_parts() for r in store.read_part(i).to_pylist()]


def test_folder_holds_only_the_dataset_and_every_reader_agrees(tmp_path):
    recipe, run_dir = _run(tmp_path, {"preference_pairs": True})
    folder = dataset_dir(run_dir)
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert files == ["README.md", "data/train-00000-of-00001.parquet", "pairs/train-00000-of-00001.parquet"]
    parts = [pq.read_table(p).num_rows for p in sorted((run_dir / "export").glob("part-*.parquet"))]
    assert 0 in parts  # some parts kept nothing: no empty file or row group reaches the folder
    want = sorted(r["problem_id"] + r["teacher"] for r in _exported(run_dir))
    assert len(want) == 4  # problems 2-5, their verified r1 trace

    def ids(rows) -> list[str]:
        return sorted(r["problem_id"] + r["teacher"] for r in rows)

    # With a `configs` block (pairs), `datasets` keys its cache on the YAML: a fresh cache per test.
    assert ids(load_dataset(str(folder), split="train", cache_dir=str(tmp_path / "hf"))) == want
    assert ids(load_dataset("parquet", data_files=str(folder / "data/*.parquet"), split="train")) == want
    assert ids(load_dataset(str(folder), split="train", streaming=True)) == want
    assert ids(pd.read_parquet(folder / "data").to_dict("records")) == want
    assert ids(pads.dataset(folder / "data").to_table().to_pylist()) == want
    pairs = load_dataset(str(folder), "preference_pairs", split="train", cache_dir=str(tmp_path / "hf"))
    assert len(pairs) == 4 and set(pairs.column_names) >= {"prompt", "chosen", "rejected"}
    manifest = read_manifest(run_dir)
    assert manifest["rows"] == {"default": {"train": 4}} and manifest["pairs"] == {"train": 4}
    status = run_status(run_dir)
    assert status["dataset"] == str(folder) and status["dataset_rows"] == manifest["rows"]


def test_rows_carry_provenance_without_machine_paths(tmp_path):
    _, run_dir = _run(tmp_path, {"include": "all"})
    rows = list(load_dataset(str(dataset_dir(run_dir)), split="train"))
    assert len(rows) == 18
    for row in rows:
        assert row["source"] == "traces.jsonl"
        assert not str(row["teacher_model"]).startswith("/") and str(tmp_path) not in json.dumps(row)
        assert json.loads(row["generation_params"]) and row["think_closed"] in (True, False)
        assistant = row["messages"][-1]["content"]
        if row["think_closed"]:
            assert assistant.startswith("<think>\n") and "\n</think>\n\n" in assistant
        else:  # truncated: exported as written, no closing tag the teacher never wrote
            assert "</think>" not in assistant and row["verdict"] is False


@pytest.mark.parametrize(
    "export,columns",
    [
        ({"format": "prompt_completion"}, {"prompt", "completion"}),
        ({"format": "sharegpt"}, {"conversations"}),
        ({"reasoning": "field"}, {"messages", "reasoning"}),
        ({"format": "sharegpt", "reasoning": "field"}, {"conversations", "reasoning"}),
    ],
)
def test_shapes_for_trainers(tmp_path, export, columns):
    _, run_dir = _run(tmp_path, {**export, "system_prompt": "You are a careful solver."})
    row = load_dataset(str(dataset_dir(run_dir)), split="train")[0]
    assert columns <= set(row) and "messages" not in set(row) - columns
    if "conversations" in row:
        assert [t["from"] for t in row["conversations"]] == ["system", "human", "gpt"]
        answer = row["conversations"][-1]["value"]
    elif "completion" in row:
        assert [t["role"] for t in row["prompt"]] == ["system", "user"]
        answer = row["completion"][0]["content"]
    else:
        assert [t["role"] for t in row["messages"]] == ["system", "user", "assistant"]
        answer = row["messages"][-1]["content"]
        assert row["messages"][-1]["reasoning_content"] == row["reasoning"]
    if export.get("reasoning") == "field":
        assert "<think>" not in answer and "\\boxed" in answer and "=" in row["reasoning"]
    else:
        assert answer.startswith("<think>\n")


def test_test_split_is_by_problem_and_configs_partition_the_rows(tmp_path):
    traces = _traces(12)
    for i, row in enumerate(traces):  # a second domain: code-shaped ids in the same file
        row["t"] = "r1" if i % 3 == 0 else row["t"]
    recipe, run_dir = _run(tmp_path, {"test_size": 0.5, "configs": "teacher", "include": "all"}, traces)
    folder = dataset_dir(run_dir)
    train = load_dataset(str(folder), split="train", cache_dir=str(tmp_path / "hf"))
    test = load_dataset(str(folder), split="test", cache_dir=str(tmp_path / "hf"))
    assert len(train) + len(test) == 36 and len(test) > 0 and len(train) > 0
    assert not set(train["problem_id"]) & set(test["problem_id"])
    assert {split_of(p, recipe.seed, 0.5) for p in test["problem_id"]} == {"test"}
    per_teacher = {
        t: load_dataset(str(folder), t, split="train", cache_dir=str(tmp_path / "hf")) for t in ("r1", "qwq")
    }
    assert sum(len(d) for d in per_teacher.values()) == len(train)
    assert all(set(d["teacher"]) == {t} for t, d in per_teacher.items())
    assert len(pd.read_parquet(folder / "data")) == 36  # configs partition the rows: no double counting


def test_files_and_row_groups_are_bounded(tmp_path):
    traces = _traces(40, pad_kb=20)  # 20 KB problems, ~5 MB of Parquet in all
    _, run_dir = _run(tmp_path, {"include": "all", "max_file_mb": 1, "row_group_mb": 1}, traces, rows_per_part=30)
    files = sorted((dataset_dir(run_dir) / "data").glob("*.parquet"))
    assert len(files) > 1 and [f.name for f in files][-1] == f"train-{len(files) - 1:05d}-of-{len(files):05d}.parquet"
    total = 0
    for f in files:
        meta = pq.ParquetFile(f).metadata
        total += meta.num_rows
        for g in range(meta.num_row_groups):
            assert 0 < meta.row_group(g).num_rows
            assert meta.row_group(g).total_byte_size <= 2 << 20  # ~1 MB groups (estimated from the first rows)
    assert total == 120 == len(load_dataset(str(dataset_dir(run_dir)), split="train"))


def test_rerun_keeps_a_current_folder_and_rebuilds_a_stale_one(tmp_path):
    recipe, run_dir = _run(tmp_path)
    manifest = read_manifest(run_dir)
    readme = dataset_dir(run_dir) / "README.md"
    stamp = readme.stat().st_mtime_ns
    assert build_dataset(run_dir, recipe) == manifest and readme.stat().st_mtime_ns == stamp
    (run_dir / ".dataset.tmp-999").mkdir()  # a crashed build's leftovers
    (run_dir / "export" / "part-00001.done").unlink()
    run_stages(recipe, run_dir, ["export"])
    assert not (run_dir / ".dataset.tmp-999").exists()
    rebuilt = read_manifest(run_dir)
    assert rebuilt["source_fingerprint"] != manifest["source_fingerprint"] and rebuilt["rows"] == manifest["rows"]


def test_a_run_killed_while_building_the_folder_is_not_complete_until_rebuilt(tmp_path):
    from pipeline.dataset.layout import manifest_path
    from pipeline.status.collect import run_status

    recipe, run_dir = _run(tmp_path)
    assert run_status(run_dir)["complete"] and not run_status(run_dir)["dataset_pending"]
    manifest_path(run_dir).unlink()  # killed after the parts, before the manifest (written last)
    status = run_status(run_dir)
    assert (status["complete"], status["dataset_pending"], status["dataset"]) == (False, True, None)
    run_stages(recipe, run_dir, active_stages(recipe))  # every part done: the rerun only builds
    status = run_status(run_dir)
    assert status["complete"] and status["dataset"] == str(dataset_dir(run_dir))


def test_card_describes_the_run_and_holds_no_secret(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", SECRET)
    monkeypatch.setenv("MY_API_KEY", "sk-another-secret-value")
    traces = _traces()
    traces[0]["q"] += f" token {SECRET} and sk-another-secret-value"  # even inside the data's text
    _, run_dir = _run(
        tmp_path, {"preference_pairs": True, "card": {"license": "mit", "pretty_name": "Tiny R1"}}, traces
    )
    card = (dataset_dir(run_dir) / "README.md").read_text()
    assert SECRET not in card and "sk-another-secret-value" not in card and str(tmp_path) not in card
    head = card.split("---")[1]
    assert "license: mit" in head and "config_name: preference_pairs" in head and "features:" in head
    for section in ("## Loading", "## Teachers", "## Verification", "## Funnel", "## Lengths", "## Reproduce"):
        assert section in card
    assert "verdict_wrong_answer" in card and "Pass rate by difficulty" in card
    assert "Not run for this dataset" in card  # decontamination: said, not faked
    assert os.environ["HF_TOKEN"] == SECRET
