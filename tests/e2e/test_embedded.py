"""The whole pipeline through `distill run` on the real embedded teacher (vLLM CPU build)."""

import json
import os
import re
import subprocess
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from helpers import DISTILL, REPO, base_recipe, write_jsonl, write_recipe
from pipeline.dataset.shapes import META_COLUMNS
from pipeline.rows import COLUMNS, STAGE_COLUMNS

pytestmark = pytest.mark.slow


def _distill(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([DISTILL, *args], capture_output=True, text=True, env=env, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def _files(run_dir: Path) -> dict:
    """Data files and markers (each invocation adds its own log under logs/)."""
    return {
        str(p.relative_to(run_dir)): p.stat().st_mtime_ns
        for p in run_dir.rglob("*")
        if p.is_file() and p.relative_to(run_dir).parts[0] != "logs"
    }


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    bundled = [json.loads(line) for line in (REPO / "data/problems/quickstart_math.jsonl").open()][:4]
    long_problem = {
        "id": "too-long",
        "answer": "1",
        "problem": "Read carefully. " + "The quick brown fox jumps over the lazy dog. " * 120,
    }
    problems = write_jsonl(tmp / "problems.jsonl", bundled + [long_problem])
    recipe = base_recipe(
        problems,
        reasoning_format="plain",
        engine={"max_model_len": 1024},
        sampling={"temperature": 0.7, "max_tokens": 256},
    )
    # The judge shares the teacher's engine (same model and engine args): one LLM per process.
    recipe["verify"] = {
        "timeout_s": 10,
        "policy": "judge_on_rule_failure",
        "judge": {"teacher": "embedded:smollm2-135m", "engine": {"max_model_len": 1024}},
    }
    recipe_path = write_recipe(tmp / "e2e.yaml", recipe)
    run_dir = tmp / "run"
    first = _distill("run", str(recipe_path), "--run-dir", str(run_dir))
    return {"recipe": recipe_path, "dir": run_dir, "stdout": first.stdout, "stderr": first.stderr}


def _status(run_dir: Path) -> dict:
    return json.loads(_distill("status", str(run_dir), "--json").stdout)


def test_row_accounting_per_stage(run):
    stages = _status(run["dir"])["stages"]
    assert all(s["parts_done"] == s["parts_total"] == 3 for s in stages.values())
    assert (stages["ingest"]["rows_in"], stages["ingest"]["rows_kept"]) == (5, 5)
    gen = stages["generate"]
    assert (gen["rows_in"], gen["rows_rejected"], gen["drop_reasons"]) == (5, 1, {"prompt_too_long": 1})
    assert gen["rows_kept"] == 2 * 4
    assert gen["counters"].get("finish_stop", 0) + gen["counters"].get("finish_length", 0) == 8
    assert stages["verify"]["rows_in"] == stages["verify"]["rows_kept"] == 8
    export = stages["export"]
    assert export["rows_in"] == 8 == export["rows_kept"] + export["rows_rejected"]
    assert "dataset:" in run["stdout"] and "verdicts:" in run["stdout"]


VLLM_LINE = re.compile(r"(INFO|WARNING|DEBUG) \d\d-\d\d \d\d:\d\d:\d\d \[")


def test_engine_noise_goes_to_the_log_not_the_screen(run):
    """vLLM/torch output (Python logging and C++ writes to fd 1/2) lands in the run's log file."""
    screen = run["stdout"] + run["stderr"]
    assert not VLLM_LINE.search(screen), screen[:2000]
    assert "Traceback" not in screen
    logs = list((run["dir"] / "logs").glob("run-*.log"))
    assert len(logs) == 1
    text = logs[0].read_text(errors="replace")
    assert VLLM_LINE.search(text) and "pipeline.runner: generate part 0" in text
    assert "generate embedded:smollm2-135m: 4/4 requests" in run["stderr"]  # plain progress, not a TTY


def test_schema_of_generated_and_exported_rows(run):
    gen = pq.read_table(run["dir"] / "generate" / "part-00000.parquet")
    for name in STAGE_COLUMNS["ingest"] + STAGE_COLUMNS["generate"]:
        assert gen.schema.field(name).type == COLUMNS[name].type, name
    rows = gen.to_pylist()
    assert {r["sample_idx"] for r in rows} == {0, 1}
    for r in rows:
        assert r["teacher"] == "embedded:smollm2-135m"
        assert r["finish_reason"] in ("stop", "length") and r["n_output_tokens"] > 0
        assert r["think_closed"] == (r["finish_reason"] == "stop")
        assert r["reasoning"] or r["answer_text"]
    verified = [r for i in range(3) for r in pq.read_table(run["dir"] / "verify" / f"part-{i:05d}.parquet").to_pylist()]
    assert all(
        r["verdict_reason"] in ("correct", "wrong_answer", "no_answer", "truncated", "judge_accepted") for r in verified
    )
    for r in verified:  # the judge is asked exactly on rule failures that have an answer
        asked = r["think_closed"] and not r["verdict_rule"] and r["verdict_reason"] != "truncated"
        assert (r["judge_output"] is not None) == asked
        assert r["verdict"] == (r["verdict_rule"] or r["verdict_judge"] is True)
    exported = [r for i in range(3) for r in pq.read_table(run["dir"] / "export" / f"part-{i:05d}.parquet").to_pylist()]
    rejected = [
        r
        for i in range(3)
        for r in pq.read_table(run["dir"] / "export" / "rejected" / f"part-{i:05d}.parquet").to_pylist()
    ]
    assert all(r["verdict"] for r in exported) and not any(r["verdict"] for r in rejected)
    for r in exported + rejected:
        assert [c for c in r if c != "drop_reason"] == ["messages", *META_COLUMNS]  # rejected rows say why
        user, assistant = r["messages"]
        assert user["role"] == "user" and "\\boxed{answer}" in user["content"]
        assert assistant["role"] == "assistant" and assistant["content"].startswith("<think>\n")
    assert (run["dir"] / "recipe.yaml").is_file()


def test_second_run_does_no_work_and_one_deleted_marker_redoes_one_part(run):
    before = _files(run["dir"])
    _distill("run", str(run["recipe"]), "--run-dir", str(run["dir"]))
    assert _files(run["dir"]) == before

    (run["dir"] / "generate" / "part-00001.done").unlink()
    _distill("run", str(run["recipe"]), "--run-dir", str(run["dir"]))
    after = _files(run["dir"])
    changed = sorted(p for p in after if after[p] != before.get(p))
    assert changed, "the part with the deleted marker was not redone"
    rebuilt = [p for p in changed if p.startswith("dataset")]  # the folder readers load, rebuilt from the parts
    assert "dataset.manifest.json" in rebuilt
    parts = [p for p in changed if p not in rebuilt]
    assert all("part-00001" in p for p in parts), parts
    assert {p.split("/")[0] for p in parts} == {"generate", "verify", "export"}
    assert _status(run["dir"])["complete"]
