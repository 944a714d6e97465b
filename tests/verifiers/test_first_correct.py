import json

import pytest

from helpers import SHARED
from verifiers import math as math_verifier
from verifiers.batch import check_all
from verifiers.first_correct import MAX_CHECKED, MIN_CUT_SHARE, Candidate, answer_candidates, find_first_correct

# Re-checking with no answer statement in it: makes the tail after a cut long enough to be worth cutting.
RECHECK = "\n\nWait, let me double-check this. " + "Going over each step again carefully, nothing is off. " * 8


def kept(reasoning: str, **kwargs) -> str:
    verdict = find_first_correct(kwargs.pop("gold"), reasoning, **kwargs)
    assert verdict.ok and verdict.reason == "found", verdict
    return reasoning[: verdict.detail["cut"]]


# (gold, reasoning, where the kept prefix ends, distinct candidates verified); each cut ends the sentence
# or line of the first statement that verifies, closing formula and final period included.
FOUND = {
    "boxed-early": ("12", "We need 3 times 4.\nThat is $\\boxed{12}$." + RECHECK + "So the answer is 12.", "{12}$.", 1),
    "phrase-then-recheck": (
        "12",
        "Three groups of four items.\n\nSo the answer is 12. Wait, let me double-check: 4 + 4 + 4, yes 12." + RECHECK,
        "answer is 12.",
        1,
    ),
    "wrong-then-correct": (
        "12",
        "First try: the answer is 11.\n\nHmm, off by one. Recount: so the answer is 12."
        + RECHECK
        + "Final answer: 12.",
        "so the answer is 12.",
        2,
    ),
    "equality-decimal-vs-frac": ("\\frac12", "Therefore, \\( x = 0.5 \\).\nThat settles it." + RECHECK, "0.5 \\).", 1),
    "phrase-dfrac": ("\\frac12", "Hence the final answer is $\\dfrac{1}{2}$. Let me see." + RECHECK, "{2}$.", 1),
    "display-math": ("0.5", "We get\n\\[\n\\boxed{\\frac{1}{2}}\n\\]\nNow check again." + RECHECK, "}}\n\\]", 1),
    "percent": ("6.17", "Rounding gives it.\n\nSo, the answer should be 6.17%." + RECHECK, "6.17%.", 1),
    "unit": ("19", "Dropping the leading zero.\n\nTherefore, the answer is 19 bits." + RECHECK, "19 bits.", 1),
    "bold-answer": ("42", "**Answer:** 42\nLet me recheck the sum." + RECHECK, "**Answer:** 42", 1),
    "bold-value": ("42", "Adding up, the answer is **42**, as expected." + RECHECK, "as expected.", 1),
    "equality-chain": ("-1", "So a = -3 and b = 2.\n\nTherefore, \\(a + b = -3 + 2 = -1\\)." + RECHECK, "-1\\).", 1),
}


@pytest.mark.parametrize("gold, reasoning, last, checked", FOUND.values(), ids=FOUND.keys())
def test_cut_is_after_the_first_correct_statement(gold, reasoning, last, checked):
    verdict = find_first_correct(gold, reasoning)
    assert (verdict.ok, verdict.reason, verdict.detail["candidates"]) == (True, "found", checked), verdict
    assert reasoning[: verdict.detail["cut"]] == reasoning[: reasoning.index(last) + len(last)]


NOT_FOUND = [
    # (gold, reasoning, domain, reason, distinct candidates verified)
    ("12", "So the answer is 11." + RECHECK + "Thus the answer is 13.", "math", "no_correct_answer", 2),
    ("12", "Let me think about it. Hmm, multiplication." + RECHECK, "math", "no_answer_found", 0),
    ("12", "If the answer is 12, then the total is even." + RECHECK, "math", "no_answer_found", 0),
    ("12", "Is the answer 12? Maybe the answer is 12?" + RECHECK, "math", "no_answer_found", 0),
    ("12", "The answer is 12 if we count the corners twice." + RECHECK, "math", "no_answer_found", 0),
    ("12", "So, x = 12." + RECHECK, "math", "no_answer_found", 0),  # "so x = ..." is how every step talks
    ("12", "Therefore, x = 3 or x = 12." + RECHECK, "math", "no_answer_found", 0),
    ("12", "Therefore, the domain is all reals except x = 12." + RECHECK, "math", "no_answer_found", 0),
    ("12", "The answer is not 12. The answer is the count of the edges." + RECHECK, "math", "no_answer_found", 0),
    ("12", RECHECK + "\n\nSo the answer is 12.", "math", "no_earlier_answer", 1),
    ("12", "So the answer is $\\boxed{12}$.", "math", "no_earlier_answer", 1),
    ("12", "The answer is \\boxed{12" + RECHECK, "math", "no_answer_found", 0),
    ("B", "So the answer is (C)." + RECHECK + "Therefore, the best answer is: (D).", "choice", "no_correct_answer", 2),
    ("B", "Option B says one thing. Option A says another." + RECHECK, "choice", "no_answer_found", 0),
    ("B", "The answer is a subtle one." + RECHECK, "choice", "no_answer_found", 0),
]


@pytest.mark.parametrize("gold, reasoning, domain, reason, checked", NOT_FOUND)
def test_not_found_reasons(gold, reasoning, domain, reason, checked):
    verdict = find_first_correct(gold, reasoning, domain=domain)
    assert (verdict.ok, verdict.reason, verdict.detail["candidates"]) == (False, reason, checked)


def test_no_earlier_answer_threshold_is_the_share_of_reasoning_removed():
    head = "Counting the rows one by one. " * 40 + "So the answer is 12."

    def removing(share: float) -> str:  # head plus a tail that makes up ``share`` of the whole
        return head + " " + "y" * int(len(head) * share / (1 - share))

    assert find_first_correct("12", removing(0.8 * MIN_CUT_SHARE)).reason == "no_earlier_answer"
    assert find_first_correct("12", removing(1.2 * MIN_CUT_SHARE)).detail["cut"] == len(head)


def test_distinct_candidate_texts_are_verified_once():
    reasoning = (
        "So the answer is 11. Hmm. Thus the answer is $11$. Hmm.\n\nTherefore, x = 11.\n\nThe answer is 11 .\n\n"
        "So the answer is \\boxed{ 11 }. No: the answer is 12." + RECHECK
    )
    verdict = find_first_correct("12", reasoning)
    assert verdict.ok and verdict.detail["candidates"] == 2 and verdict.detail["answer"] == "12"
    assert len(answer_candidates(reasoning)) == 6


def test_verification_is_capped():
    reasoning = " ".join(f"So the answer is {i}." for i in range(100, 100 + 2 * MAX_CHECKED)) + " The answer is 12."
    verdict = find_first_correct("12", reasoning + RECHECK)
    assert verdict.reason == "no_correct_answer" and verdict.detail["capped"] is True
    assert verdict.detail["candidates"] == MAX_CHECKED


FCS = "Three rows of four.\n\nSo the answer is 12."
REFLECTION = "\n\nLet me verify another way: 3+3+3+3 = 12. Yes, the answer is 12."


def test_keep_reflection_extends_to_the_next_answer_statement():
    reasoning = FCS + REFLECTION + RECHECK + "\n\nFinal answer: 12."
    plain = find_first_correct("12", reasoning)
    fcs1 = find_first_correct("12", reasoning, keep_reflection=True)
    assert reasoning[: plain.detail["cut"]] == FCS and plain.detail["reflection"] is False
    assert reasoning[: fcs1.detail["cut"]] == FCS + REFLECTION and fcs1.detail["reflection"] is True
    assert fcs1.detail["answer"] == "12" and fcs1.detail["position"] == round(len(FCS + REFLECTION) / len(reasoning), 4)


def test_keep_reflection_without_a_later_statement_keeps_the_first_cut():
    verdict = find_first_correct("12", FCS + RECHECK, keep_reflection=True)
    assert verdict.ok and verdict.detail["cut"] == len(FCS) and verdict.detail["reflection"] is False


def test_keep_reflection_that_reaches_the_end_cuts_nothing():
    verdict = find_first_correct("12", FCS + RECHECK + REFLECTION, keep_reflection=True)
    assert verdict.reason == "no_earlier_answer" and verdict.detail["reflection"] is True


CANDIDATES = [
    # (reasoning, domain, [(text, kept prefix)])
    ("So the answer is 12. Wait, check: yes.", "math", [("12", "So the answer is 12.")]),
    (
        "When I recompute it, the answer is 12. The answer is 5 when n is odd.",
        "math",
        [("12", "When I recompute it, the answer is 12.")],
    ),
    ("Thus $\\boxed{x^{2}+1}$, done. Next", "math", [("x^{2}+1", "Thus $\\boxed{x^{2}+1}$, done.")]),
    ("Final answer: $-\\frac{5}{12}$. Then", "math", [("-\\frac{5}{12}", "Final answer: $-\\frac{5}{12}$.")]),
    ("We get\n$$\n\\boxed{3}. \n$$\nok", "math", [("3", "We get\n$$\n\\boxed{3}. \n$$")]),
    (
        "Hence, \\( p(5) = -\\frac{5}{12} \\)\nNext",
        "math",
        [("-\\frac{5}{12}", "Hence, \\( p(5) = -\\frac{5}{12} \\)")],
    ),
    ("Thus the area is 6 + 6 = 12 square units.", "math", []),
    (
        "So the answer should be (B). Or (C)? I'll go with option C.",
        "choice",
        [("B", "So the answer should be (B)."), ("C", "So the answer should be (B). Or (C)? I'll go with option C.")],
    ),
    (
        "Answer: C\nThen \\boxed{D} and it's option (A).",
        "choice",
        [
            ("C", "Answer: C"),
            ("D", "Answer: C\nThen \\boxed{D} and it's option (A)."),
            ("A", "Answer: C\nThen \\boxed{D} and it's option (A)."),
        ],
    ),
    ("Putting it together, A seems the best fit.", "choice", [("A", "Putting it together, A seems the best fit.")]),
]


@pytest.mark.parametrize("reasoning, domain, expected", CANDIDATES)
def test_answer_candidates(reasoning, domain, expected):
    found = answer_candidates(reasoning, domain)
    assert [(c.text, reasoning[: c.end]) for c in found] == expected
    assert all(isinstance(c, Candidate) and c.start < c.end for c in found)


def test_choice_domain_finds_the_first_correct_letter():
    reasoning = "Option A says X. Option B says Y. So the answer is (A).\n\nNo wait, the answer is (B)." + RECHECK
    assert kept(reasoning, gold="B", domain="choice") == reasoning[: reasoning.index("(B).") + 4]
    assert kept("Clearly \\boxed{B}. " + RECHECK, gold="(B)", domain="choice") == "Clearly \\boxed{B}."


@pytest.mark.parametrize("domain", ["code", "chess"])
def test_other_domains_are_not_applicable(domain):
    assert find_first_correct("{}", "So the answer is 12." + RECHECK, domain=domain).reason == "not_applicable"


@pytest.mark.parametrize(
    "reference, reasoning",
    [
        ("12", ""),
        ("12", "\\boxed{"),
        ("12", "The answer is \\boxed{\\frac{1}{2}"),
        ("12", "$$$$ \\[ \\( answer: ** } {"),
        ("12", "the answer is $"),
        ("12", "\x00\x01 answer is \x00"),
        ("12", "\\boxed{" * 5000),
        ("12", "\\boxed{1}" * 5000),
        ("12", "the answer is " * 2000),
        ("12", "Therefore, x = " * 2000),
        ("12", "{" * 20000 + "}" * 10),
        ("12", None),
        (None, "So the answer is 12." + RECHECK),
        ("\\frac{", "So the answer is 12." + RECHECK),
        ("", "So the answer is 12." + RECHECK),
    ],
)
def test_odd_input_is_a_verdict_never_an_error(reference, reasoning):
    verdict = find_first_correct(reference, reasoning)
    assert verdict.reason in {"no_answer_found", "no_correct_answer", "bad_reference"}, verdict
    assert verdict.ok is False


def test_runs_through_check_all_like_the_pipeline_calls_it():
    items = [
        ("12", FCS + REFLECTION + RECHECK, {"problem": "What is 3 times 4?", "keep_reflection": True}),
        ("B", "So the answer is (B)." + RECHECK, {"domain": "choice"}),
        ("12", "", {}),
    ]
    verdicts = check_all(find_first_correct, items, timeout_s=30, workers=1)
    assert [(v.reason, v.detail.get("cut")) for v in verdicts] == [
        ("found", len(FCS + REFLECTION)),
        ("found", len("So the answer is (B).")),
        ("no_answer_found", None),
    ]


def _real_rows(name: str) -> list[dict]:
    path = SHARED / "traces" / name
    if not path.exists():
        pytest.skip(f"{path} not available")
    return [json.loads(line) for line in path.open()]


def test_real_traces_cut_is_a_prefix_ending_on_a_verified_statement():
    """Correct real traces: where a cut is found, it is a prefix at a sentence boundary whose last
    statement verifies against the gold. thought-anchors rows carry a label; trace-topology rows do
    not (their source labels are unreliable), so there the project's verdict on the final answer is used."""
    rows = _real_rows("thought_anchors_r1distill_math.jsonl") + _real_rows("trace_topology_math500.jsonl")
    correct = [
        r
        for r in rows
        if r["answer_text"] is not None
        and (r["label"] is True or (r["label"] is None and math_verifier.check(r["gold"], r["completion"]).ok))
    ]
    found = 0
    for row in correct:
        reasoning = row["reasoning"]
        verdict = find_first_correct(row["gold"], reasoning, problem=row["problem"])
        if not verdict.ok:
            assert verdict.reason in {"no_earlier_answer", "no_correct_answer", "no_answer_found"}, (row["id"], verdict)
            continue
        found += 1
        cut, answer = verdict.detail["cut"], verdict.detail["answer"]
        prefix = reasoning[:cut]
        assert reasoning.startswith(prefix) and 0 < cut <= len(reasoning) * (1 - MIN_CUT_SHARE), row["id"]
        assert cut == len(reasoning) or reasoning[cut].isspace() or prefix[-1] in ".!", (
            row["id"],
            reasoning[cut - 20 : cut + 20],
        )
        assert answer.replace(" ", "") in prefix[-400:].replace(" ", ""), (row["id"], answer)
        assert math_verifier.check_answer(row["gold"], "\\boxed{" + answer.replace("%", "\\%") + "}").ok, row["id"]
        longer = find_first_correct(row["gold"], reasoning, keep_reflection=True, problem=row["problem"])
        assert longer.reason in {"found", "no_earlier_answer"} and longer.detail["cut"] >= cut, row["id"]
    assert found >= 20  # both files have many traces that re-check an answer they already reached
