"""The bad-input catalogue: each case is either a one-line ``Error:`` naming the place, exit 2 and
no run dir left behind, or (where the row alone is bad) a rejected row whose reason names the
file and its 1-based position, while the batch goes on."""

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from pipeline.cli import app

runner = CliRunner()
GOOD = {"problem": "What is $1+1$?", "answer": "2"}


def _recipe(tmp_path, source: str, **extra) -> str:
    recipe = {
        "name": "bad",
        "ingest": {
            "sources": [
                {"path": source, "domain": "math", "columns": {"problem": "problem", "reference_answer": "answer"}}
            ],
        },
        "generate": {
            "teacher": "embedded:smollm2-135m",
            "n": 1,
            "sampling": {"max_tokens": 64},
            "allow_short_max_tokens": True,
        },
        **extra,
    }
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return str(path)


def _edit(path: str, old: str, new: str) -> None:
    with open(path) as f:
        text = f.read()
    assert old in text
    with open(path, "w") as f:
        f.write(text.replace(old, new))


def _jsonl(tmp_path, name: str, lines: list) -> str:
    data = b"".join((x if isinstance(x, bytes) else json.dumps(x).encode()) + b"\n" for x in lines)
    (tmp_path / name).write_bytes(data)
    return name


def _parquet(tmp_path, name: str, columns: dict) -> str:
    pq.write_table(pa.table(columns), tmp_path / name)
    return name


def _empty(tmp_path):
    (tmp_path / "empty.jsonl").write_bytes(b"")
    return ["ingest", _recipe(tmp_path, "empty.jsonl")], "empty.jsonl: no records (the file is empty)"


def _no_problem_column(tmp_path):
    name = _parquet(tmp_path, "q.parquet", {"question": ["1+1?"], "answer": ["2"]})
    return ["ingest", _recipe(tmp_path, name)], "no column 'problem' in the file (columns: question, answer)"


def _truncated_parquet(tmp_path):
    name = _parquet(tmp_path, "t.parquet", {"problem": ["1+1?"] * 50, "answer": ["2"] * 50})
    data = (tmp_path / name).read_bytes()
    (tmp_path / name).write_bytes(data[: len(data) // 2])
    return ["ingest", _recipe(tmp_path, name)], "t.parquet: not a readable Parquet file"


def _yaml_syntax(tmp_path):
    (tmp_path / "r.yaml").write_text("name: bad\ningest:\n  sources: [\n    {path: a.jsonl\n")
    return ["ingest", str(tmp_path / "r.yaml")], "r.yaml: line 5, column 1: not valid YAML"


def _misspelled_key(tmp_path):
    path = _recipe(tmp_path, _jsonl(tmp_path, "p.jsonl", [GOOD]))
    _edit(path, "ingest:", "ingset:")
    return ["ingest", path], "ingset: unknown key (did you mean 'ingest'?)"


def _unknown_teacher(tmp_path):
    path = _recipe(tmp_path, _jsonl(tmp_path, "p.jsonl", [GOOD]))
    _edit(path, "embedded:smollm2-135m", "embedded:smollm3")
    return ["run", path], "generate.teachers[0].model: unknown embedded teacher 'embedded:smollm3'"


def _unknown_benchmark(tmp_path):
    path = _recipe(tmp_path, _jsonl(tmp_path, "p.jsonl", [GOOD]), decontaminate={"benchmarks": ["math500", "aime99"]})
    return ["run", path], "decontaminate.benchmarks[1]: unknown benchmark 'aime99' (did you mean 'aime25'?)"


def _missing_file(tmp_path):
    return ["ingest", _recipe(tmp_path, "nowhere.jsonl")], "ingest.sources[0].path: file not found"


def _empty_gold(tmp_path):
    args = ["check", "math", "--gold", " ", "--completion", "<think>x</think> 2"]
    return args, "--gold: the reference answer is empty"


FATAL = [
    _empty,
    _no_problem_column,
    _truncated_parquet,
    _yaml_syntax,
    _misspelled_key,
    _unknown_teacher,
    _unknown_benchmark,
    _missing_file,
    _empty_gold,
]


@pytest.mark.parametrize("case", FATAL, ids=lambda f: f.__name__.strip("_"))
def test_bad_input_is_one_error_line_exit_2_and_leaves_nothing(tmp_path, monkeypatch, case):
    monkeypatch.chdir(tmp_path)
    args, expected = case(tmp_path)
    if args[0] != "check":
        args += ["--run-dir", str(tmp_path / "run")]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("Error: ")]
    assert len(errors) == 1 and expected in errors[0], result.stderr
    assert not (tmp_path / "run").exists()


def test_bad_rows_are_rejected_with_their_file_and_position_and_the_rest_goes_on(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    lines = [
        GOOD,
        b"not json at all",
        b'{"problem": "caf\xe9 \xff", "answer": "2"}',  # not UTF-8
        {"problem": ["a", "b"], "answer": "3"},  # a list where text belongs
        {"problem": "What is 2+2?", "answer": {"value": 4}},
        {"problem": "", "answer": "1"},
        {"problem": "Big: " + "x" * (1 << 20), "answer": "1"},  # 1 MB prompt: a row, not a crash
        {"problem": "What is 3+3?", "answer": 6},  # a number is a fine answer
    ]
    result = runner.invoke(app, ["ingest", _recipe(tmp_path, _jsonl(tmp_path, "p.jsonl", lines)), "--run-dir", "run"])
    assert result.exit_code == 0, result.output
    kept = pq.read_table(tmp_path / "run/ingest/part-00000.parquet").to_pylist()
    rejected = pq.read_table(tmp_path / "run/ingest/rejected/part-00000.parquet").to_pylist()
    assert sorted(r["source_index"] for r in kept) == [1, 7, 8]
    reasons = {r["source_index"]: r["drop_reason"] for r in rejected}
    where = str(tmp_path / "p.jsonl")
    assert reasons[2].startswith(f"invalid_json: {where}:2: ")
    assert reasons[3].startswith(f"invalid_json: {where}:3: ") and "utf-8" in reasons[3]
    assert reasons[4] == f"wrong_type: {where}:4: field 'problem' is a list, expected text"
    assert reasons[5] == f"wrong_type: {where}:5: field 'answer' is a dict, expected text"
    assert reasons[6] == f"missing_problem: {where}:6: field 'problem' is missing or empty"


def test_positions_are_one_based_in_every_format(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name = _parquet(tmp_path, "p.parquet", {"problem": ["What is 1+1?", ""], "answer": ["2", "3"]})
    result = runner.invoke(app, ["ingest", _recipe(tmp_path, name), "--run-dir", "run"])
    assert result.exit_code == 0, result.output
    (rejected,) = pq.read_table(tmp_path / "run/ingest/rejected/part-00000.parquet").to_pylist()
    assert rejected["source_index"] == 2 and f"{tmp_path / 'p.parquet'}:2:" in rejected["drop_reason"]
    (kept,) = pq.read_table(tmp_path / "run/ingest/part-00000.parquet").to_pylist()
    assert kept["source_index"] == 1


def test_a_fixed_recipe_reruns_into_the_run_dir_of_a_failed_ingest(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name = _jsonl(tmp_path, "p.jsonl", [GOOD])
    path = _recipe(tmp_path, name)
    (tmp_path / "run").mkdir()  # the user's dir: kept, but no recipe is pinned in it by the failure
    _edit(path, "reference_answer: answer", "reference_answer: answr")
    assert runner.invoke(app, ["ingest", path, "--run-dir", "run"]).exit_code == 2
    _edit(path, "answr", "answer")
    result = runner.invoke(app, ["ingest", path, "--run-dir", "run"])
    assert result.exit_code == 0, result.output


def test_check_reports_an_empty_output_as_no_answer():
    result = runner.invoke(app, ["check", "math", "--gold", "2", "--completion", ""])
    assert result.exit_code == 0 and json.loads(result.stdout)["reason"] == "no_answer"
