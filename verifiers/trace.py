"""Split a long-CoT model output into its reasoning and its final answer."""

from __future__ import annotations

from dataclasses import dataclass

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"
# Sky-T1 / early QwQ format: <|begin_of_thought|> ... <|end_of_thought|> then the solution,
# wrapped in <|begin_of_solution|> ... <|end_of_solution|>.
THOUGHT_OPEN, THOUGHT_CLOSE = "<|begin_of_thought|>", "<|end_of_thought|>"
SOLUTION_TAGS = ("<|begin_of_solution|>", "<|end_of_solution|>")


@dataclass(frozen=True)
class SplitTrace:
    reasoning: str
    answer: str
    think_closed: bool


def split_think(text: str) -> SplitTrace:
    """Split on the *first* ``</think>``; everything before it (minus ``<think>``) is reasoning.

    The opening tag may be missing (prefilled in the prompt, as DeepSeek-R1's template does).
    With no closing tag the trace is truncated: all text is reasoning and the answer is ''.
    Sky-T1's ``<|begin_of_thought|>``/``<|end_of_thought|>`` format is read the same way.

    >>> split_think("<think>\\n2+2=4\\n</think>\\n\\nThe answer is 4.")
    SplitTrace(reasoning='2+2=4', answer='The answer is 4.', think_closed=True)
    """
    opening, closing = (
        (THOUGHT_OPEN, THOUGHT_CLOSE)
        if THOUGHT_OPEN in text[:200] or (THINK_CLOSE not in text and THOUGHT_CLOSE in text)
        else (THINK_OPEN, THINK_CLOSE)
    )
    head, sep, tail = text.partition(closing)
    reasoning = head.strip()
    if reasoning.startswith(opening):
        reasoning = reasoning[len(opening) :].strip()
    if not sep:
        return SplitTrace(reasoning=reasoning, answer="", think_closed=False)
    for tag in SOLUTION_TAGS:
        tail = tail.replace(tag, "")
    return SplitTrace(reasoning=reasoning, answer=tail.strip(), think_closed=True)


def split_plain(text: str, finished: bool) -> SplitTrace:
    """For instruct models without think tags: the last paragraph is the answer.

    ``finished`` is False when generation hit the length limit; then there is no answer.
    """
    body = text.strip()
    if not finished:
        return SplitTrace(reasoning=body, answer="", think_closed=False)
    head, sep, tail = body.rpartition("\n\n")
    if not sep:
        return SplitTrace(reasoning="", answer=body, think_closed=True)
    return SplitTrace(reasoning=head.strip(), answer=tail.strip(), think_closed=True)


def join_think(reasoning: str, answer: str, think_closed: bool) -> str:
    """The model output a split trace stands for: ``split_think`` of it gives the parts back.

    A trace whose think block never closed stays unclosed: no ``</think>`` the model never wrote.

    >>> join_think("2+2=4", "The answer is 4.", True)
    '<think>\\n2+2=4\\n</think>\\n\\nThe answer is 4.'
    """
    if not think_closed:
        return f"{THINK_OPEN}\n{reasoning}"
    return f"{THINK_OPEN}\n{reasoning}\n{THINK_CLOSE}\n\n{answer}"
