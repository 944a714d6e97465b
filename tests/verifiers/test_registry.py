"""The one verifier API: a registry from domain to ``check(reference, completion, **context)``."""

import json
import subprocess
import sys

import pytest

import verifiers
from helpers import REPO
from verifiers.batch import check_all

DONE = "<think>\nworking it out\n</think>\n\n"
CASES = [  # domain, reference, completion, context, (ok, reason)
    ("math", "\\frac{1}{2}", DONE + "So $\\boxed{0.5}$.", {}, (True, "correct")),
    ("math", "32", DONE + "So $\\boxed{2^{5}}$.", {"problem": "Evaluate $2^{5}$."}, (False, "restates_problem")),
    ("math", "4", "<think>\nstill going", {"problem": "2+2?"}, (False, "truncated")),
    ("choice", "B", DONE + "The answer is (B).", {"problem": "Pick one."}, (True, "correct")),
    ("choice", "B", DONE + "The answer is (C).", {}, (False, "wrong_answer")),
    (
        "code",
        {"tests": [{"input": "2\n", "output": "4\n"}]},
        DONE + "```python\nprint(2*int(input()))\n```",
        {"problem": "Double it."},
        (True, "passed"),
    ),
    (
        "code",
        json.dumps({"tests": [{"input": "2\n", "output": "4\n"}]}),
        DONE + "```python\nprint(5)\n```",
        {},
        (False, "wrong_answer"),
    ),
    ("code", "{not json", DONE + "```python\nprint(5)\n```", {}, (False, "bad_reference")),
]


@pytest.mark.parametrize("domain,reference,completion,context,expected", CASES)
def test_one_call_shape_for_every_domain(domain, reference, completion, context, expected):
    verdict = verifiers.check(domain, reference, completion, **context)
    assert (verdict.ok, verdict.reason) == expected, verdict


def test_check_all_takes_the_same_items_and_times_every_verdict_with_one_key():
    for domain in ("math", "choice", "code"):
        items = [(r, c, ctx) for d, r, c, ctx, _ in CASES if d == domain]
        expected = [e for d, *_, e in CASES if d == domain]
        verdicts = check_all(verifiers.get_checker(domain), items, timeout_s=60, workers=2)
        assert [(v.ok, v.reason) for v in verdicts] == expected
        assert all(v.detail["time_ms"] > 0 and "wall_ms" not in v.detail for v in verdicts)


def test_unknown_domain_names_the_available_ones():
    with pytest.raises(ValueError, match="available: math, choice, code"):
        verifiers.get_checker("proof")


def test_verifiers_import_nothing_from_pipeline():
    code = (
        "import sys, verifiers, verifiers.math, verifiers.choice, verifiers.code, verifiers.batch\n"
        "for d in verifiers.CHECKERS: verifiers.get_checker(d)\n"
        "print(sorted(m for m in sys.modules if m == 'pipeline' or m.startswith('pipeline.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "[]"
