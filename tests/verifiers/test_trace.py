import pytest

from verifiers.trace import split_plain, split_think


@pytest.mark.parametrize(
    "text, reasoning, answer, closed",
    [
        ("<think>\nstep\n</think>\n\nAnswer: 4", "step", "Answer: 4", True),
        ("step (opening tag was prefilled)\n</think>\n4", "step (opening tag was prefilled)", "4", True),
        ("<think>\nnever closes", "never closes", "", False),
        ("<think>a</think>b</think>c", "a", "b</think>c", True),
        ("no tags at all", "no tags at all", "", False),
        (
            "<|begin_of_thought|>\nsteps\n<|end_of_thought|>\n<|begin_of_solution|>\nx=2\n<|end_of_solution|>",
            "steps",
            "x=2",
            True,
        ),
        ("<|begin_of_thought|>\ncut off", "cut off", "", False),
    ],
)
def test_split_think(text, reasoning, answer, closed):
    split = split_think(text)
    assert (split.reasoning, split.answer, split.think_closed) == (reasoning, answer, closed)


def test_split_plain_uses_last_paragraph_and_respects_truncation():
    assert split_plain("a\n\nb\n\nThe answer is 3.", finished=True).answer == "The answer is 3."
    assert split_plain("a\n\nb\n\nThe answer is 3.", finished=True).reasoning == "a\n\nb"
    assert split_plain("single paragraph 3", finished=True).answer == "single paragraph 3"
    cut = split_plain("a\n\nb", finished=False)
    assert (cut.answer, cut.think_closed) == ("", False)
