"""Preference pairs: which traces pair up (exact ids), the TRL message format, and the pairs/ parts
the export stage writes beside its own."""

from collections import Counter

import pytest
from datasets import load_dataset
from typer.testing import CliRunner

from helpers import base_recipe
from pipeline.cli import app
from pipeline.recipe import parse_recipe
from pipeline.runner import run_stages
from pipeline.stages.pairs import PAIR_SCHEMA, make_pairs, pairs_table
from pipeline.store import StageStore


def _row(pid: str, sample: int, ok: bool, tokens: int, reason: str | None = None, closed: bool = True, **extra):
    return {
        "problem_id": pid,
        "domain": "math",
        "source": "s.jsonl",
        "teacher": "t",
        "sample_idx": sample,
        "prompt": f"Solve {pid}",
        "reasoning": f"r{sample}",
        "answer_text": f"a{sample}" if closed else "",
        "think_closed": closed,
        "n_output_tokens": tokens,
        "verdict": ok,
        "verdict_reason": reason or ("correct" if ok else "wrong_answer"),
        **extra,
    }


def _ids(pairs):
    return [(p["problem_id"], p["sample_idx_chosen"], p["sample_idx_rejected"]) for p in pairs]


# p1: verified 0 (300 tokens), 1 (500); wrong 2 (900), 3 (700), 4 (800, no_answer).
P1 = [
    _row("p1", 0, True, 300),
    _row("p1", 1, True, 500),
    _row("p1", 2, False, 900),
    _row("p1", 3, False, 700),
    _row("p1", 4, False, 800, "no_answer"),
]


def test_shortest_correct_against_longest_wrong():
    stats = Counter()
    pairs = make_pairs(P1, "shortest_vs_longest_wrong", 4, stats)
    assert _ids(pairs) == [("p1", 0, 2)]
    assert stats == {"pairs": 1, "problems_with_pairs": 1}


def test_all_pairs_in_diagonal_order_up_to_the_cap():
    # chosen by length: 0, 1; rejected by length descending: 2 (900), 4 (800), 3 (700)
    assert _ids(make_pairs(P1, "all", 4)) == [("p1", 0, 2), ("p1", 0, 4), ("p1", 1, 2), ("p1", 0, 3)]
    assert len(make_pairs(P1, "all", 100)) == 6
    assert _ids(make_pairs(P1, "all", 1)) == [("p1", 0, 2)]


def test_problems_with_one_side_only_give_no_pairs():
    rows = [
        _row("good", 0, True, 10),
        _row("good", 1, True, 20),
        _row("bad", 0, False, 10),
        _row("bad", 1, False, 20, "no_answer"),
    ]
    stats = Counter()
    assert make_pairs(rows, "all", 4, stats) == []
    assert stats == {"problems_without_negatives": 1}


@pytest.mark.parametrize("reason", ["timeout", "error", "sandbox_error", "bad_reference", "no_tests", "judge_rejected"])
def test_our_own_failures_are_not_negatives(reason):
    rows = [_row("p", 0, True, 10), _row("p", 1, False, 99, reason), _row("p", 2, False, 50)]
    assert _ids(make_pairs(rows, "all", 4)) == [("p", 0, 2)]
    assert make_pairs(rows[:2], "all", 4) == []


@pytest.mark.parametrize("reason", ["runtime_error", "time_limit", "compile_error", "restates_problem", "no_answer"])
def test_model_failures_are_negatives(reason):
    rows = [_row("p", 0, True, 10), _row("p", 1, False, 99, reason)]
    assert [p["verdict_reason_rejected"] for p in make_pairs(rows, "all", 4)] == [reason]


def test_truncated_traces_are_not_negatives():
    rows = [_row("p", 0, True, 10), _row("p", 1, False, 4096, "truncated", closed=False), _row("p", 2, False, 30)]
    assert _ids(make_pairs(rows, "shortest_vs_longest_wrong", 4)) == [("p", 0, 2)]


def test_pair_rows_are_trl_conversational_with_metadata():
    rows = [_row("p", 0, True, 10, difficulty="hard", pass_rate=0.5), _row("p", 1, False, 30, difficulty="hard")]
    (pair,) = make_pairs(rows, "all", 4)
    assert pair["prompt"] == [{"role": "user", "content": "Solve p"}]
    assert pair["chosen"] == [{"role": "assistant", "content": "<think>\nr0\n</think>\n\na0"}]
    assert pair["rejected"] == [{"role": "assistant", "content": "<think>\nr1\n</think>\n\na1"}]
    assert {k: v for k, v in pair.items() if k not in ("prompt", "chosen", "rejected")} == {
        "problem_id": "p",
        "domain": "math",
        "source": "s.jsonl",
        "teacher_chosen": "t",
        "teacher_rejected": "t",
        "sample_idx_chosen": 0,
        "sample_idx_rejected": 1,
        "n_tokens_chosen": 10,
        "n_tokens_rejected": 30,
        "verdict_reason_rejected": "wrong_answer",
        "difficulty": "hard",
        "pass_rate": 0.5,
    }
    # Without grade columns the tier and pass rate are null, not missing.
    (plain,) = make_pairs([_row("p", 0, True, 10), _row("p", 1, False, 30)], "all", 4)
    assert plain["difficulty"] is None and plain["pass_rate"] is None
    assert pairs_table([plain]).schema == PAIR_SCHEMA == pairs_table([]).schema


def test_ties_in_length_break_the_same_way_whatever_the_row_order():
    rows = [_row("p", 1, True, 10), _row("p", 0, True, 10), _row("p", 3, False, 30), _row("p", 2, False, 30)]
    assert (
        _ids(make_pairs(rows, "all", 4))
        == _ids(make_pairs(rows[::-1], "all", 4))
        == [
            ("p", 0, 2),
            ("p", 0, 3),
            ("p", 1, 2),
            ("p", 1, 3),
        ]
    )


def _recipe(problems, **export):
    return parse_recipe({**base_recipe(problems), "export": {"preference_pairs": True, **export}})


def test_export_writes_pairs_parts_trl_can_load(tmp_path, problems, fake_teacher):
    # Fake teacher, n=2: sample 0 right and sample 1 wrong for p1, p2, p3, p5; p4 truncates twice.
    run_dir = tmp_path / "run"
    run_stages(_recipe(problems), run_dir, ["ingest", "generate", "verify", "export"])
    store = StageStore(run_dir, "pairs")
    assert store.done_parts() == StageStore(run_dir, "export").done_parts() == [0, 1, 2]
    counters = Counter()
    for index in store.done_parts():
        counters.update(store.read_stats(index)["counters"])
    assert counters == {"pairs": 4, "problems_with_pairs": 4}
    assert StageStore(run_dir, "export").read_stats(0)["counters"]["pairs"] == 2  # p1, p2
    status = CliRunner().invoke(app, ["status", str(run_dir)], env={"COLUMNS": "200"}).stdout
    assert (
        f"pairs: {run_dir / 'dataset' / 'pairs'} (4 preference pairs from 4 problems; 0 problems had no wrong" in status
    )

    files = sorted(str(p) for p in (run_dir / "pairs").glob("part-*.parquet"))
    ds = load_dataset("parquet", data_files=files, cache_dir=str(tmp_path / "hf"))["train"]
    assert ds.column_names == PAIR_SCHEMA.names
    assert sorted(ds["problem_id"]) == ["p1", "p2", "p3", "p5"]
    first = ds[0]
    assert first["problem_id"] == "p1" and first["prompt"] == [
        {"role": "user", "content": first["prompt"][0]["content"]}
    ]
    assert "What is $2+3$?" in first["prompt"][0]["content"]
    assert first["chosen"][0]["content"].startswith("<think>\nreasoning 0\n</think>\n\n")
    assert "\\boxed{5}" in first["chosen"][0]["content"]
    assert "\\boxed{-12345}" in first["rejected"][0]["content"]
    assert (first["sample_idx_chosen"], first["sample_idx_rejected"], first["verdict_reason_rejected"]) == (
        0,
        1,
        "wrong_answer",
    )


def test_redone_export_part_overwrites_its_pairs_and_pairs_off_clears_them(tmp_path, problems, fake_teacher):
    run_dir = tmp_path / "run"
    recipe = _recipe(problems)
    run_stages(recipe, run_dir, ["ingest", "generate", "verify", "export"])
    store = StageStore(run_dir, "pairs")
    assert store.read_part(2).num_rows == 1  # p5 (p4 only truncated)

    # A crash after the pairs part but before the export part's marker: the redo overwrites it.
    store.write_part(2, pairs_table([]), pairs_table([]), {"stale": True})
    (run_dir / "export" / "part-00002.done").unlink()
    run_stages(recipe, run_dir, ["export"])
    assert store.read_part(2).num_rows == 1 and "stale" not in store.read_stats(2)

    run_stages(parse_recipe(base_recipe(problems)), run_dir, ["export"], force=True)
    assert store.done_parts() == [] and list((run_dir / "pairs").glob("part-*.parquet")) == []
