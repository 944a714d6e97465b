"""Find the final answer expression in a model's answer part (no sympy, no math-verify).

The final answer block wins: the last ``\\boxed{}`` / ``\\fbox{}``, with the boxes right before
it that only connective text separates from it (``,``, ``and``, ``or``, ``\\quad``, math
delimiters such as ``\\) and \\(``, labels such as ``y_2 =``, a unit word) joined as one list
answer. Boxes of intermediate values with prose between them are not part of the block. An
explicit "the final answer is ..." stated after the last box wins over the boxes. An unbalanced
last box is reported, never guessed at; math that goes on right after the box
(``\\boxed{2}\\sqrt{3}``) belongs to the answer. Without a box: the last "answer is ..." line when
it offers alternatives ("2 or 3": a list, so a single gold is not matched) or is written with
pi/sqrt/π, else the tail of the answer part. A reference with several boxes is a list answer:
all its boxes, as a set, or as an ordered tuple when they carry distinct labels or units.
"""

from __future__ import annotations

import re

MAX_TAIL_CHARS = 3000  # answer text handed to math-verify's regex extraction when nothing is boxed


MAX_EXPR_CHARS = 1000  # a boxed expression longer than this is not parsed (real answers are short)


_BOX_RE = re.compile(r"\\(?:boxed|fbox)\s*\{")


# What may stand between two boxes of one list answer: "$\boxed{2}$ and $\boxed{3}$",
# "\boxed{-2} \quad \text{and} \quad \boxed{1}", "\(\boxed{1}\) and \(y_2 = \boxed{3}\)".
_LABEL = r"(?:\\?[A-Za-z]+(?:_\{[^{}$]{1,12}\}|_[A-Za-z0-9])?(?:\([a-z]\))?\s*=)"
_CONNECTIVE = r"(?:,|;|\band\b|\bor\b|\\text\{\s*(?:and|or|,)\s*\})"
_FILLER = rf"(?:\s+|\$|\\[()\[\]]|\\\\|&|~|\\q?quad\b|\\[,;:! ]|\*\*|{_CONNECTIVE}|{_LABEL})"
_GAP_RE = re.compile(rf"(?:\s*(?:\$|\\\))?\s*(?P<unit>(?:\\text\{{\s*)?[a-z]+\}}?)(?=\s))?(?:{_FILLER})*")
_MAX_GAP_CHARS = 80


# Math that goes on after a box: "\boxed{2}\sqrt{3}", "\boxed{90}^\circ", "\boxed{2}(1+x)".
_CONTINUES_RE = re.compile(r"\s*(?:[0-9^_(]|\\(?:sqrt|frac|dfrac|tfrac|pi|cdot|times|circ)(?![a-zA-Z]))")


_CONTINUATION_RE = re.compile(r"(.*?)(?=\$|\\\]|\\\)|\n|\s[A-Za-z]{2}|[.,;](?:\s|$)|$)")


# "The final answer is $10,455$." after the last box: the model's own last word on the answer.
_STATED_RE = re.compile(
    r"(?i)\b(?:final\s+answer|the\s+answer)\s*(?:is|:)\s*:?\s*(?:\*\*\s*)?"
    r"(?:\$\$?(?P<m1>[^$]+?)\$\$?|\\\((?P<m2>.+?)\\\)|\\\[(?P<m3>.+?)\\\]"
    r"|(?P<plain>-?\d[\d.,/ ]*(?:\(?\s*or\b[^\n$\\]*)?))"
    r"\s*(?:\*\*)?\s*\.?\s*(?:\n|$)",
    re.DOTALL,
)


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


# Thousands written with (thin) spaces: "1\,000", "1\ 000", "1 000", "1{,}000". Groups of exactly
# three digits only, so "2\,x" stays a product. A plain comma only when it is the whole number
# ("10,455"): inside a list "1,000, 2" may be a tuple.
_DIGIT_GROUPS_RE = re.compile(r"(?<![\d.])(\d{1,3})((?:(?:\\[,;! ]|~|\{,\}| )\d{3})+)(?!\d)")
_GROUP_SEP_RE = re.compile(r"\\[,;! ]|~|\{,\}| ")
_COMMA_NUMBER_RE = re.compile(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?")


# Alternatives in one answer statement: "2 or 3", "10 (or possibly 12)", "either 4 or 5".
_HEDGE_RE = re.compile(r"\s*\(?\s*\b(?:or|otherwise)\b(?:\s+(?:possibly|maybe|perhaps))?\s*|\\text\{\s*or\s*\}")
_NOT_HEDGE_RE = re.compile(r"<|>|\\[lg]eq?\b|\\cup|\\in\b|[a-z]{4,}")


def join_digit_groups(latex: str) -> str:
    """``1\\,000`` -> ``1000``; ``10,455`` -> ``10455`` when it is the whole expression."""
    latex = _DIGIT_GROUPS_RE.sub(lambda m: m.group(1) + _GROUP_SEP_RE.sub("", m.group(2)), latex)
    stripped = latex.strip()
    return stripped.replace(",", "") if _COMMA_NUMBER_RE.fullmatch(stripped) else latex


def normalize(latex: str) -> str:
    """Make model-written math parseable: unicode, plain-text pi/sqrt, upright numbers and e."""
    for char, repl in _UNICODE.items():
        latex = latex.replace(char, repl)
    latex = _PLAIN_PI_RE.sub(r"\\pi ", latex)
    latex = _PLAIN_SQRT_RE.sub(r"\\sqrt{\1}", latex)
    latex = join_digit_groups(latex)
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


def _spans(text: str) -> list[tuple[int, int, int | None]]:
    """(start, content start, closing brace or None) of every box."""
    return [(m.start(), m.end(), _brace_end(text, m.end())) for m in _BOX_RE.finditer(text)]


def _joins(gap: str) -> bool:
    """True when only connective text separates two boxes of one list answer."""
    if len(gap) > _MAX_GAP_CHARS:
        return False
    match = _GAP_RE.fullmatch(gap)
    # A unit word after a box ("1 paper and 2 bins") needs a connective to join the next box.
    return bool(match) and (match.group("unit") is None or re.search(_CONNECTIVE, gap) is not None)


def boxed(text: str) -> tuple[list[str], bool, int]:
    """Contents of the final answer block; (contents, balanced, end of the block)."""
    spans = _spans(text)
    if not spans:
        return [], True, 0
    start, open_end, close = spans[-1]
    if close is None:
        return [text[start : start + 200]], False, len(text)
    last = text[open_end:close]
    rest = text[close + 1 :]
    end = close + 1
    if _CONTINUES_RE.match(rest):
        continuation = _CONTINUATION_RE.match(rest).group(1)
        last += continuation.rstrip()
        end += len(continuation)
    contents = [last]
    for prev_start, prev_open, prev_close in reversed(spans[:-1]):
        if prev_close is None or not _joins(text[prev_close + 1 : start]):
            break
        contents.insert(0, text[prev_open:prev_close])
        start = prev_start
    return contents, True, end


def top_level_split(latex: str, sep: str) -> list[str]:
    parts, depth, last = [], 0, 0
    for i, char in enumerate(latex):
        depth += (char in "{([") - (char in "})]")
        if char == sep and depth == 0:
            parts.append(latex[last:i].strip())
            last = i + 1
    return parts + [latex[last:].strip()]


_GOLD_LABEL_RE = re.compile(r"(\\?[A-Za-z]+)(?:_\{?[A-Za-z0-9]+\}?)?\s*=\s*\$?\s*(?:\\\(\s*)?$")
_GOLD_UNIT_RE = re.compile(r"\s*\$?\s*(?:\\\)\s*)?([a-z]+)")


def gold_text(gold: str) -> str:
    """The reference expression; several boxes are a list: ``{a, b}`` style, or ``(a, b)`` if labelled apart.

    >>> gold_text("$x=\\\\boxed{1}$ and $y=\\\\boxed{2}$")
    '(1, 2)'
    """
    text = gold.strip().strip("$").strip()
    spans = _spans(text)
    if not spans or any(close is None for _, _, close in spans):
        return join_digit_groups(text)
    contents = [join_digit_groups(text[open_end:close]) for _, open_end, close in spans]
    if len(contents) == 1:
        return contents[0]
    # x = .. and y = .. (or "1 paper and 2 bins") name different things: an ordered pair.
    # n = .. and n = .., x_1 and x_2, or bare boxes: the values of one thing, a set.
    labels = {(m.group(1) if (m := _GOLD_LABEL_RE.search(text[max(0, s - 40) : s])) else None) for s, _, _ in spans}
    units = {(m.group(1) if (m := _GOLD_UNIT_RE.match(text[c + 1 :])) else None) for _, _, c in spans}
    distinct = (len(labels) == len(spans) and None not in labels) or (len(units) == len(spans) and None not in units)
    return f"({', '.join(contents)})" if distinct else ", ".join(contents)


def unhedge(statement: str) -> str:
    """An answer statement offering alternatives ("2 or 3") as the list of them ("2, 3").

    >>> unhedge("10 (or possibly 12)")
    '10, 12'
    """
    parts = [p.strip(" ().:*") for p in _HEDGE_RE.split(statement.strip().removeprefix("either "))]
    parts = [p for p in parts if p]
    if len(parts) < 2 or any(_NOT_HEDGE_RE.search(p) for p in parts):
        return statement  # "x < 1 or x > 3" is one answer, left to the parser
    return ", ".join(parts)


def _stated_after(text: str) -> str | None:
    """The expression of the last "the (final) answer is ..." in ``text``, if there is one."""
    found = list(_STATED_RE.finditer(text))
    if not found:
        return None
    groups = found[-1].groupdict()
    return next((g for k in ("m1", "m2", "m3", "plain") if (g := groups[k]) and g.strip()), None)


def extract_answer(answer: str) -> tuple[str | None, str]:
    """(expression string, how it was found) from the answer part; parsing is left to the caller."""
    contents, balanced, end = boxed(answer)
    if not balanced:
        return contents[0], "unbalanced_box"
    if contents:
        stated = _stated_after(answer[end:])
        if stated is not None and "\\boxed" not in stated:
            return join_digit_groups(unhedge(stated)), "stated"
        text = ", ".join(join_digit_groups(c) for c in contents)
        return (text[:200], "too_long") if len(text) > MAX_EXPR_CHARS else (text, "boxed")
    tail = answer[-MAX_TAIL_CHARS:]
    tail = tail[tail.find("\n") + 1 :] if len(answer) > MAX_TAIL_CHARS else tail  # start on a line
    plain = list(_PLAIN_ANSWER_RE.finditer(tail))
    if plain:
        statement = plain[-1].group("x")
        listed = unhedge(statement)
        if listed != statement or _PLAIN_MATH_RE.search(statement):
            return join_digit_groups(listed), "plain_text"
    return tail, "text"
