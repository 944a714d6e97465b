"""`kind: traces` sources: rows that already carry a teacher's response become generate-shaped rows."""

import hashlib
import json

import pytest

from helpers import REPO, TEACHER, base_recipe, write_jsonl, write_recipe
from pipeline.errors import UserError
from pipeline.recipe import load_recipe, parse_recipe
from pipeline.rows import STAGE_COLUMNS
from pipeline.runner import run_stage, run_stages
from pipeline.stages.ingest import IngestStage, plan_parts
from pipeline.store import StageStore
from pipeline.tokens import count_tokens

Q1, Q2, Q3 = "What is $2+3$?", "What is $3^2$?", "Compute $7 \\cdot 6$."


def _hash(problem: str, source: str = "t.jsonl") -> str:
    """The content-addressed id of a problem from the source file named ``source``."""
    normalized = " ".join(problem.split())
    return hashlib.sha1(f"{source}\n{normalized}".encode()).hexdigest()[:16]


def _recipe(tmp_path, sources, rows_per_part=10, **extra) -> dict:
    recipe = base_recipe(tmp_path / "unused.jsonl")
    del recipe["generate"]
    recipe["ingest"] = {"sources": [{"kind": "traces", **s} for s in sources], "rows_per_part": rows_per_part}
    return {**recipe, **extra}


def _ingest(tmp_path, sources, rows_per_part=10, **extra):
    """Run ingest; return (kept rows, rejected rows, plan, rows per part as problem ids)."""
    run = tmp_path / "run"
    run_stage(IngestStage(parse_recipe(_recipe(tmp_path, sources, rows_per_part, **extra))), run)
    store = StageStore(run, "ingest")
    parts = [store.read_part(i).to_pylist() for i in store.done_parts()]
    kept = [r for part in parts for r in part]
    rejected = [r for i in store.done_parts() for r in store.read_rejected(i).to_pylist()]
    return kept, rejected, store.read_plan(), [[r["problem_id"] for r in part] for part in parts]


def _reasons(rejected) -> list[str]:
    return [r["drop_reason"] for r in rejected]


def test_the_issue_recipe_maps_columns_and_fills_every_generate_column(tmp_path):
    path = write_jsonl(
        tmp_path / "traces.jsonl",
        [
            {"problem": Q1, "gold": "5", "completion": "<think>\n2+3=5\n</think>\n\n\\boxed{5}", "teacher": "r1"},
            {"problem": Q1, "gold": "5", "completion": "<think>\n2+3=6\n</think>\n\n\\boxed{6}", "teacher": "r1"},
            {"problem": Q2, "gold": "9", "completion": "<think>\n3*3=9\n</think>\n\n\\boxed{9}"},
        ],
    )
    recipe = {
        "name": "byo",
        "ingest": {
            "sources": [
                {
                    "path": "traces.jsonl",
                    "kind": "traces",
                    "domain": "math",
                    "columns": {
                        "problem": "problem",
                        "reference_answer": "gold",
                        "response": "completion",
                        "teacher": "teacher",
                    },
                }
            ]
        },
        "verify": {},
        "grade": {},
        "shorten": {"strategy": "first_correct"},
        "select": {},
        "export": {"include": "verified"},
    }
    loaded = load_recipe(write_recipe(tmp_path / "byo.yaml", recipe))
    run_stage(IngestStage(loaded), tmp_path / "run")
    store = StageStore(tmp_path / "run", "ingest")
    table = store.read_part(0)
    assert set(STAGE_COLUMNS["ingest"] + STAGE_COLUMNS["generate"]) <= set(table.column_names)
    rows = table.to_pylist()
    assert rows[0] == {
        "problem_id": _hash(Q1, "traces.jsonl"),
        "domain": "math",
        "problem": Q1,
        "reference_answer": "5",
        "source": str(path),
        "source_index": 1,
        "test_spec": None,
        "sample_idx": 0,
        "teacher": "r1",
        "prompt": Q1,
        "reasoning": "2+3=5",
        "answer_text": "\\boxed{5}",
        "finish_reason": "stop",
        "think_closed": True,
        "n_prompt_tokens": count_tokens(TEACHER, [Q1])[0],
        "n_output_tokens": count_tokens(TEACHER, ["<think>\n2+3=5\n</think>\n\n\\boxed{5}"])[0],
        "teacher_model": "r1",
        "teacher_revision": None,
        "generation_params": json.dumps({"ingested_from": "traces.jsonl", "token_counts": TEACHER}, sort_keys=True),
    }
    # The third row has no teacher: it is named after its file.
    assert [(r["teacher"], r["sample_idx"], r["answer_text"]) for r in rows] == [
        ("r1", 0, "\\boxed{5}"),
        ("r1", 1, "\\boxed{6}"),
        ("traces.jsonl", 0, "\\boxed{9}"),
    ]
    stats = store.read_stats(0)
    assert stats["units"] == {"in": "records", "out": "traces"}
    assert stats["counters"]["finish_stop"] == 3
    assert stats["counters"]["n_output_tokens"] == sum(r["n_output_tokens"] for r in rows)


@pytest.mark.parametrize(
    "response, reasoning, answer, closed",
    [
        (
            "<think>\nLet me add.\n</think>\n\nThe answer is $\\boxed{5}$.",
            "Let me add.",
            "The answer is $\\boxed{5}$.",
            True,
        ),
        ("Let me add.\n</think>\n\n\\boxed{5}", "Let me add.", "\\boxed{5}", True),  # opening tag prefilled
        (
            "<|begin_of_thought|>\nLet me add.\n<|end_of_thought|>\n\n<|begin_of_solution|>\n\\boxed{5}\n"
            "<|end_of_solution|>",
            "Let me add.",
            "\\boxed{5}",
            True,
        ),
        ("<think>\nLet me add. 2+3 is", "Let me add. 2+3 is", "", False),  # truncated: kept, not closed
        ("<|begin_of_thought|>\nLet me add. 2+3 is", "Let me add. 2+3 is", "", False),
    ],
)
def test_think_block_split_in_both_formats_and_truncated_rows_stay(tmp_path, response, reasoning, answer, closed):
    path = write_jsonl(tmp_path / "t.jsonl", [{"problem": Q1, "answer": "5", "response": response}])
    kept, rejected, _, _ = _ingest(tmp_path, [{"path": str(path)}])
    assert rejected == []
    row = kept[0]
    assert (row["reasoning"], row["answer_text"], row["think_closed"]) == (reasoning, answer, closed)
    assert row["finish_reason"] == ("stop" if closed else "length")


def test_completion_is_the_default_when_there_is_no_response_column(tmp_path):
    path = write_jsonl(tmp_path / "t.jsonl", [{"problem": Q1, "answer": "5", "completion": "<think>a</think>5"}])
    kept, _, _, _ = _ingest(tmp_path, [{"path": str(path)}])
    assert (kept[0]["reasoning"], kept[0]["answer_text"]) == ("a", "5")


def test_messages_with_role_content_give_prompt_and_response(tmp_path):
    chat = [
        {"role": "system", "content": "Think step by step."},
        {"role": "user", "content": "Solve: What is $2+3$? Put the answer in \\boxed{}."},
        {"role": "assistant", "content": "<think>\n2+3=5\n</think>\n\n\\boxed{5}"},
    ]
    path = write_jsonl(tmp_path / "t.jsonl", [{"problem": Q1, "answer": "5", "messages": chat}])
    kept, rejected, _, _ = _ingest(tmp_path, [{"path": str(path)}])
    assert rejected == []
    row = kept[0]
    assert row["prompt"] == "Solve: What is $2+3$? Put the answer in \\boxed{}."
    assert (row["problem"], row["reasoning"], row["answer_text"], row["think_closed"]) == (
        Q1,
        "2+3=5",
        "\\boxed{5}",
        True,
    )
    assert row["n_prompt_tokens"] == count_tokens(TEACHER, [row["prompt"]])[0]
    assert row["n_output_tokens"] == count_tokens(TEACHER, [chat[2]["content"]])[0]


def test_conversations_with_from_value_use_the_last_gpt_turn(tmp_path):
    conv = [
        {"from": "human", "value": "First question?"},
        {"from": "gpt", "value": "<think>x</think>first answer"},
        {"from": "human", "value": "What is $3^2$?"},
        {"from": "gpt", "value": "<think>\n3*3\n</think>\n\\boxed{9}"},
    ]
    path = write_jsonl(tmp_path / "t.jsonl", [{"problem": Q2, "answer": "9", "conversations": conv}])
    kept, _, _, _ = _ingest(tmp_path, [{"path": str(path)}])
    assert (kept[0]["prompt"], kept[0]["reasoning"], kept[0]["answer_text"]) == (Q2, "3*3", "\\boxed{9}")


def test_reasoning_and_answer_text_columns(tmp_path):
    path = write_jsonl(
        tmp_path / "t.jsonl",
        [
            {"question": Q1, "gold": "5", "thoughts": "2+3=5", "final": "\\boxed{5}"},
            {"question": Q1, "gold": "5", "thoughts": "2+3 is, hmm", "final": None},  # truncated
        ],
    )
    columns = {"problem": "question", "reference_answer": "gold", "reasoning": "thoughts", "answer_text": "final"}
    kept, rejected, _, _ = _ingest(tmp_path, [{"path": str(path), "columns": columns}])
    assert rejected == []
    assert [(r["reasoning"], r["answer_text"], r["think_closed"], r["finish_reason"]) for r in kept] == [
        ("2+3=5", "\\boxed{5}", True, "stop"),
        ("2+3 is, hmm", "", False, "length"),
    ]
    # What the model wrote, as join_think rebuilds it, is what n_output_tokens counts.
    assert kept[0]["n_output_tokens"] == count_tokens(TEACHER, ["<think>\n2+3=5\n</think>\n\n\\boxed{5}"])[0]
    assert kept[1]["n_output_tokens"] == count_tokens(TEACHER, ["<think>\n2+3 is, hmm"])[0]


def test_sample_idx_counts_traces_per_problem_and_teacher_in_order(tmp_path):
    rows = [
        {"problem": Q1, "answer": "5", "teacher": "a", "response": "<think>1</think>5"},
        {"problem": Q2, "answer": "9", "teacher": "a", "response": "<think>2</think>9"},
        {"problem": Q1, "answer": "5", "teacher": "b", "response": "<think>3</think>5"},
        {"problem": Q1, "answer": "5", "teacher": "a", "response": "<think>4</think>5"},
        {"problem": Q1, "answer": "5", "teacher": "a", "response": "<think>5</think>5"},
    ]
    kept, _, _, _ = _ingest(tmp_path, [{"path": str(write_jsonl(tmp_path / "t.jsonl", rows))}])
    assert [(r["reasoning"], r["teacher"], r["sample_idx"]) for r in kept] == [
        ("1", "a", 0),
        ("3", "b", 0),
        ("4", "a", 1),
        ("5", "a", 2),
        ("2", "a", 0),
    ]


def test_mapped_sample_idx_and_problem_id_are_used_and_repeats_are_duplicate_traces(tmp_path):
    rows = [
        {"pid": "p1", "problem": Q1, "answer": "5", "teacher": "a", "k": 3, "response": "<think>x</think>5"},
        {"pid": "p1", "problem": Q1, "answer": "5", "teacher": "b", "k": 3, "response": "<think>y</think>5"},
        {"pid": "p1", "problem": Q1, "answer": "5", "teacher": "a", "k": "3", "response": "<think>z</think>5"},
        {"pid": "p1", "problem": Q1, "answer": "5", "teacher": "a", "k": -1, "response": "<think>w</think>5"},
    ]
    path = write_jsonl(tmp_path / "t.jsonl", rows)
    kept, rejected, _, _ = _ingest(tmp_path, [{"path": str(path), "columns": {"problem_id": "pid", "sample_idx": "k"}}])
    assert [(r["problem_id"], r["teacher"], r["sample_idx"]) for r in kept] == [("p1", "a", 3), ("p1", "b", 3)]
    assert _reasons(rejected) == [
        f"duplicate_trace: {path}:3: (problem_id, teacher, sample_idx) ('p1', 'a', 3) already at {path}:1",
        f"invalid_sample_idx: {path}:4: field 'k' is not a non-negative integer",
    ]


def test_trace_sources_do_not_take_an_id_column_as_the_problem_id(tmp_path):
    rows = [
        {"id": "trace-1", "problem": Q1, "answer": "5", "response": "<think>a</think>5"},
        {"id": "trace-2", "problem": Q1, "answer": "5", "response": "<think>b</think>5"},
    ]
    kept, rejected, _, _ = _ingest(tmp_path, [{"path": str(write_jsonl(tmp_path / "t.jsonl", rows))}])
    assert rejected == []
    assert [(r["problem_id"], r["sample_idx"]) for r in kept] == [(_hash(Q1), 0), (_hash(Q1), 1)]


def test_a_problems_traces_are_never_split_across_parts(tmp_path):
    order = [Q1, Q2, Q1, Q3, Q1, Q3, Q2, "{broken"]  # Q1 x3, Q2 x2, Q3 x2, one unreadable line, interleaved
    rows = [
        q if q == "{broken" else {"problem": q, "answer": "1", "response": f"<think>{i}</think>1"}
        for i, q in enumerate(order)
    ]
    path = write_jsonl(tmp_path / "t.jsonl", rows)
    kept, rejected, plan, parts = _ingest(tmp_path, [{"path": str(path)}], rows_per_part=2)
    a, b, c = _hash(Q1), _hash(Q2), _hash(Q3)
    assert parts == [[a, a, a], [b, b], [c, c], []]  # the last part holds only the unreadable line
    assert plan == {
        "num_parts": 4,
        "num_records": 8,
        "rows_per_part": 2,
        "part_rows": [3, 2, 2, 1],
        "generations": [{"first_part": 0, "records": 8}],
    }
    assert [r["reasoning"] for r in kept] == ["0", "2", "4", "1", "6", "3", "5"]
    assert _reasons(rejected)[0].startswith(f"invalid_json: {path}:8: ")


def test_plan_parts_closes_parts_at_problem_boundaries():
    assert plan_parts(["a", "b", "a", None, "c"], 2) == ([0, 2, 1, 3, 4], [2, 2, 1])
    assert plan_parts(["a", "a", "a"], 1) == ([0, 1, 2], [3])
    assert plan_parts([], 4) == ([], [0])


def test_rows_with_bad_responses_are_rejected_with_their_line(tmp_path):
    rows = [
        {"problem": Q1, "answer": "5", "response": "<think>a</think>5<think>b</think>6"},
        {"problem": Q1, "answer": "5", "response": "   "},
        {"problem": Q1, "answer": "5"},
        {"problem": Q1, "answer": "5", "response": ["<think>a</think>5"]},
        {"problem": Q1, "answer": "5", "response": "<think>fine</think>5"},
        {"problem": "  ", "answer": "5", "response": "<think>a</think>5"},
        {"problem": Q1, "response": "<think>a</think>5"},
    ]
    path = write_jsonl(tmp_path / "t.jsonl", rows)
    kept, rejected, _, _ = _ingest(tmp_path, [{"path": str(path)}])
    assert [r["reasoning"] for r in kept] == ["fine"]
    assert _reasons(rejected) == [
        f"two_think_blocks: {path}:1: field 'response' has 2 think blocks",
        f"missing_response: {path}:2: field 'response' is missing or empty",
        f"missing_response: {path}:3: field 'response' is missing or empty",
        f"invalid_response: {path}:4: field 'response' is list, not text",
        f"missing_reference_answer: {path}:7: field 'answer' is missing or empty",
        f"missing_problem: {path}:6: field 'problem' is missing or empty",
    ]


def test_bad_chats_are_rejected_rows(tmp_path):
    rows = [
        {"problem": Q1, "answer": "5", "messages": "<think>a</think>5"},
        {"problem": Q1, "answer": "5", "messages": [{"role": "user", "content": Q1}]},
        {"problem": Q1, "answer": "5", "messages": [{"speaker": "bot", "text": "5"}]},
        {"problem": Q1, "answer": "5", "messages": [{"role": "user", "content": Q1}, {"role": "assistant"}]},
    ]
    path = write_jsonl(tmp_path / "t.jsonl", rows)
    kept, rejected, _, _ = _ingest(tmp_path, [{"path": str(path)}])
    assert kept == []
    assert _reasons(rejected) == [
        f"invalid_messages: {path}:1: field 'messages' is not a list of role/content or from/value turns",
        f"invalid_messages: {path}:2: field 'messages' has no assistant turn (roles: user)",
        f"invalid_messages: {path}:3: field 'messages' is not a list of role/content or from/value turns",
        f"missing_response: {path}:4: the last assistant turn of field 'messages' is missing or empty",
    ]


def test_a_traces_file_without_a_response_column_is_a_user_error(tmp_path):
    path = write_jsonl(tmp_path / "t.jsonl", [{"problem": Q1, "answer": "5", "output": "<think>a</think>5"}])
    with pytest.raises(UserError) as err:
        _ingest(tmp_path, [{"path": str(path)}])
    assert str(err.value) == (
        f"{path}: ingest.sources[0]: a 'kind: traces' source needs a response column; none of response, "
        "completion, messages, conversations is in the file (columns: problem, answer, output); "
        "map yours in columns: response, messages, or reasoning + answer_text"
    )
    assert not (tmp_path / "run" / "ingest" / "_plan.json").exists()


@pytest.mark.parametrize("kind", ["traces", "problems"])
def test_a_mapping_to_a_column_the_file_lacks_is_a_user_error(tmp_path, kind):
    path = write_jsonl(tmp_path / "t.jsonl", [{"problem": Q1, "gold": "5", "response": "<think>a</think>5"}])
    source = {"path": str(path), "kind": kind, "columns": {"reference_answer": "golden"}}
    recipe = _recipe(tmp_path, [source])
    if kind == "problems":
        recipe["generate"] = base_recipe(path)["generate"]
    with pytest.raises(UserError) as err:
        run_stage(IngestStage(parse_recipe(recipe)), tmp_path / "run")
    assert str(err.value) == (
        f"{path}: ingest.sources[0].columns.reference_answer: no column 'golden' in the file "
        "(columns: problem, gold, response)"
    )
    assert list((tmp_path / "run" / "ingest").glob("part-*")) == []


def test_a_mapped_column_missing_from_some_rows_only_rejects_those_rows(tmp_path):
    rows = [{"q": "1+1?", "gold": "2"}, {"q": "2+2?"}]
    path = write_jsonl(tmp_path / "p.jsonl", rows)
    recipe = base_recipe(path)
    recipe["ingest"]["sources"][0]["columns"] = {"problem": "q", "reference_answer": "gold"}
    run_stage(IngestStage(parse_recipe(recipe)), tmp_path / "run")
    store = StageStore(tmp_path / "run", "ingest")
    rejected = [r["drop_reason"] for i in store.done_parts() for r in store.read_rejected(i).to_pylist()]
    assert rejected == [f"missing_reference_answer: {path}:2: field 'gold' is missing or empty"]


def test_token_counts_equal_the_tokenizers_own_count(tmp_path):
    from transformers import AutoTokenizer

    from pipeline.backends.embedded import materialize

    trace = json.loads((REPO / "data/traces/thought_anchors_math_sample.jsonl").open().readline())
    path = write_jsonl(tmp_path / "t.jsonl", [trace])
    columns = {"reference_answer": "gold", "response": "completion"}
    kept, _, _, _ = _ingest(tmp_path, [{"path": str(path), "columns": columns}])
    tok = AutoTokenizer.from_pretrained(materialize(TEACHER), local_files_only=True)
    own = lambda text: len(tok(text, add_special_tokens=False)["input_ids"])  # noqa: E731
    assert kept[0]["n_prompt_tokens"] == own(trace["problem"]) > 10
    assert kept[0]["n_output_tokens"] == own(trace["completion"]) > 1000


def test_a_tokenizer_that_cannot_load_offline_is_a_user_error_before_any_part(tmp_path):
    path = write_jsonl(tmp_path / "t.jsonl", [{"problem": Q1, "answer": "5", "response": "<think>a</think>5"}])
    with pytest.raises(UserError, match=r"^tokenizer: cannot load '/no/such/tokenizer' offline \("):
        _ingest(tmp_path, [{"path": str(path)}], tokenizer="/no/such/tokenizer")
    assert StageStore(tmp_path / "run", "ingest").done_parts() == []
    with pytest.raises(UserError, match=r"^tokenizer: unknown embedded teacher 'embedded:nope'"):
        count_tokens("embedded:nope", ["x"])


def test_bundled_traces_run_through_ingest_and_verify(tmp_path):
    recipe = load_recipe(REPO / "recipes" / "byo_traces.yaml")
    recipe.grade = recipe.shorten = recipe.select = None  # this test covers ingest and its hand-over
    recipe.verify.workers = 2
    run_stages(recipe, tmp_path / "run", ["ingest", "verify"])
    store = StageStore(tmp_path / "run", "verify")
    rows = [r for i in store.done_parts() for r in store.read_part(i).to_pylist()]
    labels = [json.loads(line)["label"] for line in (REPO / "data/traces/thought_anchors_math_sample.jsonl").open()]
    assert len(rows) == 24 and store.done_parts() == [0, 1, 2]
    # verify agrees with the source's own correctness label on every trace
    assert [(r["verdict"], r["verdict_reason"]) for r in rows] == [
        (labels[r["source_index"] - 1], "correct" if labels[r["source_index"] - 1] else "wrong_answer") for r in rows
    ]
    by_part = [{r["problem_id"] for r in store.read_part(i).to_pylist()} for i in store.done_parts()]
    assert [len(p) for p in by_part] == [2, 2, 2] and len(set().union(*by_part)) == 6
    assert {(r["teacher"], r["sample_idx"]) for r in rows} == {
        (t, i) for t in ("DeepSeek-R1-Distill-Llama-8B", "DeepSeek-R1-Distill-Qwen-14B") for i in (0, 1)
    }
    assert all(r["think_closed"] and r["n_output_tokens"] > 500 for r in rows)
