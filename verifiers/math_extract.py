"""Find the final answer expression in a model's answer part (no sympy, no math-verify).

The last ``\\boxed{}`` / ``\\fbox{}`` wins (boxes listed right before it joined by ``,``/``and``
/``or`` form one list answer); an unbalanced last box is reported, never guessed at; math that
goes on right after the box (``\\boxed{2}\\sqrt{3}``) belongs to the answer. Without a box: a
plain-text "answer is ..." line written with pi/sqrt/π, else the tail of the answer part.
"""

from __future__ import annotations

import re

MAX_TAIL_CHARS = 3000  # answer text handed to math-verify's regex extraction when nothing is boxed


MAX_EXPR_CHARS = 1000  # a boxed expression longer than this is not parsed (real answers are short)


_BOX_RE = re.compile(r"\\(?:boxed|fbox)\s*\{")


# Between two boxes that together form one list answer: "$\boxed{2}$ and $\boxed{3}$".
_LIST_GAP_RE = re.compile(r"\s*\$*\s*(?:,|;|and|or|\\text\{\s*(?:and|or)\s*\}|\\quad|\\qquad)?\s*\$*\s*")


# Math that goes on after a box: "\boxed{2}\sqrt{3}", "\boxed{90}^\circ", "\boxed{2}(1+x)".
_CONTINUES_RE = re.compile(r"\s*(?:[0-9^_(]|\\(?:sqrt|frac|dfrac|tfrac|pi|cdot|times|circ)(?![a-zA-Z]))")


_CONTINUATION_RE = re.compile(r"(.*?)(?=\$|\\\]|\\\)|\n|\s[A-Za-z]{2}|[.,;](?:\s|$)|$)")


_UPRIGHT_RE = re.compile(
    r"\\(?:text|textrm|textbf|textnormal|mathrm|mathbf|mathit|mbox|operatorname)\s*"
    r"\{\s*(-?\d[\d,]*(?:\.\d+)?|[A-Za-z])\s*\}"
)


_PLAIN_PI_RE = re.compile(r"(?<![\\A-Za-z])pi(?![A-Za-z])")


_PLAIN_SQRT_RE = re.compile(r"\\?sqrt\s*\(([^()]*)\)")


_UNICODE = {
    "π": r"\pi ",
    "√": r"\sqrt",
    "∞": r"\infty ",
    "°": r"^\circ",
    "−": "-",
    "×": r"\times ",
    "·": r"\cdot ",
    "≤": r"\le ",
    "≥": r"\ge ",
}


_PLAIN_ANSWER_RE = re.compile(r"(?i)answer\s*(?:is|:)?\s*[:=]?\s*\**\s*(?P<x>[^\n$\\]*?)\s*\**\s*\.?\s*(?:\n|$)")


_PLAIN_MATH_RE = re.compile(r"pi|π|sqrt|√|∞")


def normalize(latex: str) -> str:
    """Make model-written math parseable: unicode, plain-text pi/sqrt, upright numbers and e."""
    for char, repl in _UNICODE.items():
        latex = latex.replace(char, repl)
    latex = _PLAIN_PI_RE.sub(r"\\pi ", latex)
    latex = _PLAIN_SQRT_RE.sub(r"\\sqrt{\1}", latex)
    # \mathrm{e} is Euler's number and \text{13} is 13; math-verify reads them as opaque symbols.
    return _UPRIGHT_RE.sub(lambda m: m.group(1), latex)


def _brace_end(text: str, start: int) -> int | None:
    """Index of the '}' closing the group that opens just before ``start``; None if unbalanced."""
    depth, i = 1, start
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2  # \{ and \} are literal braces, not groups
            continue
        depth += (char == "{") - (char == "}")
        if depth == 0:
            return i
        i += 1
    return None


def boxed(text: str) -> tuple[list[str], bool]:
    """Contents of the final box (and of boxes listed right before it); (contents, balanced)."""
    spans = []
    for match in _BOX_RE.finditer(text):
        end = _brace_end(text, match.end())
        spans.append((match.start(), match.end(), end))
    if not spans:
        return [], True
    start, open_end, close = spans[-1]
    if close is None:
        return [text[start : start + 200]], False
    last = text[open_end:close]
    rest = text[close + 1 :]
    if _CONTINUES_RE.match(rest):
        last += _CONTINUATION_RE.match(rest).group(1).rstrip()
    contents = [last]
    for prev_start, prev_open, prev_close in reversed(spans[:-1]):
        if prev_close is None or not _LIST_GAP_RE.fullmatch(text[prev_close + 1 : start]):
            break
        contents.insert(0, text[prev_open:prev_close])
        start = prev_start
    return contents, True


def top_level_split(latex: str, sep: str) -> list[str]:
    parts, depth, last = [], 0, 0
    for i, char in enumerate(latex):
        depth += (char in "{([") - (char in "})]")
        if char == sep and depth == 0:
            parts.append(latex[last:i].strip())
            last = i + 1
    return parts + [latex[last:].strip()]


def gold_text(gold: str) -> str:
    text = gold.strip().strip("$").strip()
    contents, balanced = boxed(text)
    return ", ".join(contents) if contents and balanced else text


def extract_answer(answer: str) -> tuple[str | None, str]:
    """(expression string, how it was found) from the answer part; parsing is left to the caller."""
    contents, balanced = boxed(answer)
    if not balanced:
        return contents[0], "unbalanced_box"
    if contents:
        text = ", ".join(contents)
        return (text[:200], "too_long") if len(text) > MAX_EXPR_CHARS else (text, "boxed")
    tail = answer[-MAX_TAIL_CHARS:]
    tail = tail[tail.find("\n") + 1 :] if len(answer) > MAX_TAIL_CHARS else tail  # start on a line
    plain = list(_PLAIN_ANSWER_RE.finditer(tail))
    if plain and _PLAIN_MATH_RE.search(plain[-1].group("x")):
        return plain[-1].group("x"), "plain_text"
    return tail, "text"
