"""Split a long-CoT model output into its reasoning and its final answer."""

from __future__ import annotations

from dataclasses import dataclass

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"


@dataclass(frozen=True)
class SplitTrace:
    reasoning: str
    answer: str
    think_closed: bool


def split_think(text: str) -> SplitTrace:
    """Split on the *first* ``</think>``; everything before it (minus ``<think>``) is reasoning.

    The opening tag may be missing (prefilled in the prompt, as DeepSeek-R1's template does).
    With no closing tag the trace is truncated: all text is reasoning and the answer is ''.

    >>> split_think("<think>\\n2+2=4\\n</think>\\n\\nThe answer is 4.")
    SplitTrace(reasoning='2+2=4', answer='The answer is 4.', think_closed=True)
    """
    head, sep, tail = text.partition(THINK_CLOSE)
    reasoning = head.strip()
    if reasoning.startswith(THINK_OPEN):
        reasoning = reasoning[len(THINK_OPEN):].strip()
    if not sep:
        return SplitTrace(reasoning=reasoning, answer="", think_closed=False)
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
