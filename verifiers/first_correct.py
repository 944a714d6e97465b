"""First correct solution (Sky-T1-Flash FCS / FCS+1): where a long reasoning first reaches a verified answer.

``answer_candidates(reasoning)`` finds, with regexes only, the places where the reasoning states an
answer; ``find_first_correct(reference, reasoning)`` verifies them in order and returns the cut
point: ``reasoning[:detail["cut"]]`` is a pure prefix ending at the end of that sentence or line.

The scan favours precision over recall: a missed statement only means less is cut, while a wrong
cut (an intermediate value that happens to equal the answer) would train a model to stop early.
So equalities count only after "therefore/thus/hence" with a closed-form right-hand side, "so
x = 5" does not, and hypotheticals ("if the answer is 5") and questions are skipped.
"""

from __future__ import annotations

import bisect
import itertools
import re
import time
from dataclasses import dataclass
from typing import Any

from verifiers import choice as choice_verifier
from verifiers import math as math_verifier
from verifiers.verdict import Verdict

MIN_CUT_SHARE = 0.05  # a cut removing less than this share of the reasoning is not worth making
MAX_CHECKED = 64  # distinct candidate texts verified per trace, so a pathological trace stays cheap
MAX_EXPR_CHARS = 1000  # a box or math span longer than this is not an answer (and bounds brace scans)
MAX_SENTENCE_CHARS = 400  # how far past a statement its sentence end is looked for
MAX_BOXES = 256  # boxes read per trace: real traces have a handful, a pathological one stays cheap
MAX_VALUE_CHARS = 80  # a plain-text answer after "answer is" longer than this is prose

DOMAINS = ("math", "choice")


@dataclass(frozen=True)
class Candidate:
    """One answer statement: ``text`` as compared, ``start`` where it is stated, ``end`` the cut after it."""

    text: str
    start: int
    end: int
    kind: str  # boxed | phrase | equality | letter


_CLOSER = {"$$": "$$", "$": "$", "\\[": "\\]", "\\(": "\\)"}
_DELIMITER_RE = re.compile(r"\$\$|\$|\\[\[\]()]")
_TERMINATOR_RE = re.compile(r"\n|[.!?](?=\s|$)")
_WORD_RE = re.compile(r"\S*")
_BRACE_RE = re.compile(r"\\.|[{}]", re.DOTALL)
_BOX_RE = re.compile(r"\\(?:boxed|fbox)\s*\{")
# Matched on the lower-cased text at each whole word "answer": literal searches keep a 30k-char scan cheap.
_PHRASE_RE = re.compile(
    r"answer(?:\s+(?:is|should\s+be|would\s+be|must\s+be|will\s+be)|\s*\**\s*[:=])"
    r"(?:\s+(?:indeed|therefore|then|still|just|simply|clearly|definitely|probably|likely))?[\s*:]*"
)
# Right after "therefore"/"thus"/"hence": "... x = 5." with the value at the end of the sentence or line.
_CONNECTIVES = ("therefore", "thus", "hence")
_EQUALITY_RE = re.compile(
    r"(?:[^\n.=]|\.(?!\s)|=){0,300}?(?<![<>!:\\])=\s*"
    r"(?P<x>[^=\n$]{1,60}?)\s*(?:\$\$|\$|\\\)|\\\])?\s*(?=[.!](?:\s|$)|\n|$)"
)
_EQUALITY_VETO_RE = re.compile(r"(?i)\b(?:or|except|not|unless|if|when|whether|suppose|assum\w*)\b|≠|\\neq?\b")
_CLOSED_FORM_RE = re.compile(r"(?:\\[a-zA-Z]+|[0-9.,+\-*/^_{}()\[\]\s°%]|π|√)+")
_PLAIN_VALUE_RE = re.compile(
    rf"[^\n]{{1,{MAX_VALUE_CHARS}}}?"
    r"(?=[.;!?](?:\s|$)|,\s|\*\*|\n|$|\s(?:if|unless|assuming|provided|when|because|since|as|which|but|so|though|although)\b)"
)
_HAS_VALUE_RE = re.compile(r"\d|\\pi|π|\\infty")
_UNIT_RE = re.compile(r"^(?P<v>.*[\d}])\s+[A-Za-z]+$")
_PROSE_WORD_RE = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{3,}")
_REJECT_VALUE_RE = re.compile(r"(?i)(?:not|no|wrong|incorrect|different|unclear|unknown|undefined)\b")
_HYPOTHETICAL_RE = re.compile(r"(?i)\b(?:if|whether|suppose|supposing|assume|assuming|unless)\b")
_CONDITION_AFTER_RE = re.compile(r"(?i)(?:if|when|unless|assuming|provided)\b")
_SENTENCE_START_RE = re.compile(r"[.!?]\s|\n")
_LETTER = r"[A-J]"
_CHOICE_RES = (
    re.compile(rf"\\boxed\{{\s*(?:\\text\{{)?\s*\(?({_LETTER})\)?\s*\}}?\s*\}}"),
    re.compile(
        r"(?i:\banswer(?:\s+(?:is|should\s+be|would\s+be|must\s+be)|\s*\**\s*:)|\b(?:option|choice)\s+is)"
        r"(?i:\s+(?:likely|probably|indeed|clearly|definitely))?"
        rf"[\s*:]*(?i:option\s+|choice\s+)?[(\[]?({_LETTER})[)\]]?(?![A-Za-z])"
    ),
    re.compile(
        r"(?i:\b(?:go\s+with|choose|pick|select|points?\s+to|that's|that\s+is|it's|it\s+is|would\s+be|must\s+be))"
        rf"\s+(?:(?i:option|choice)\s+\(?({_LETTER})\)?|\(({_LETTER})\))(?![A-Za-z])"
    ),
    re.compile(
        rf"(?<![A-Za-z'])(?:(?i:option|choice)\s+)?\(?({_LETTER})\)?\s+(?:is|seems|looks)\s+(?:to\s+be\s+)?"
        r"(?:like\s+)?(?:the\s+)?(?i:best|(?:correct|right)\s+(?:answer|option|choice))\b"
    ),
)


def _brace_end(text: str, start: int) -> int | None:
    """Index of the '}' closing the group opened just before ``start``; None if not within MAX_EXPR_CHARS."""
    depth = 1
    for m in _BRACE_RE.finditer(text, start, start + MAX_EXPR_CHARS):  # \\{ and \\} are literal braces
        depth += (m.group() == "{") - (m.group() == "}")
        if depth == 0:
            return m.start()
    return None


def _words(low: str, words: tuple[str, ...]) -> list[tuple[int, int]]:
    """(start, end) of each whole-word occurrence of ``words`` in lower-cased text (str.find, no regex scan)."""
    starts = []
    for word in words:
        i = low.find(word)
        while i >= 0:
            end = i + len(word)
            if not (i and low[i - 1].isalpha()) and not (end < len(low) and low[end].isalpha()):
                starts.append((i, end))
            i = low.find(word, end)
    return sorted(starts)


def _math_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each $...$, $$...$$, \\[...\\], \\(...\\) in one pass over the delimiters."""
    spans, opener, opened = [], None, 0
    for m in _DELIMITER_RE.finditer(text):
        if opener is not None and m.start() - opened > MAX_EXPR_CHARS:
            opener = None  # an opener never closed is a stray character, not the start of a formula
        if opener is None:
            if m.group() in _CLOSER:
                opener, opened = m.group(), m.start()
        elif m.group() == _CLOSER[opener]:
            spans.append((opened, m.end()))
            opener = None
    return spans


class _Scan:
    """The reasoning with its math spans, to find sentence ends that never fall inside a formula."""

    def __init__(self, text: str):
        self.text = text
        spans = _math_spans(text)
        self.starts, self.ends = [s for s, _ in spans], [e for _, e in spans]

    def _outside(self, pos: int) -> int:
        """``pos``, or the end of the math span it falls inside."""
        i = bisect.bisect_right(self.starts, pos) - 1
        return self.ends[i] if i >= 0 and pos < self.ends[i] else pos

    def sentence_end(self, pos: int) -> tuple[int, str]:
        """(end of the sentence or line containing ``pos``, its terminator: '.', '!', '?', '\\n' or '')."""
        pos = self._outside(pos)
        limit = min(len(self.text), pos + MAX_SENTENCE_CHARS)
        while True:
            m = _TERMINATOR_RE.search(self.text, pos, limit)
            if m is None:  # no sentence end in reach: cut at the next space, never inside a word
                return _WORD_RE.match(self.text, pos, limit).end(), ""
            outside = self._outside(m.start())
            if outside == m.start():
                return (m.start(), "\n") if m.group() == "\n" else (m.end(), m.group())
            pos = outside

    def hypothetical(self, pos: int) -> bool:
        """True when the sentence up to ``pos`` is conditional ("if the answer is 5, then ...")."""
        head = self.text[max(0, pos - 120) : pos]
        return bool(_HYPOTHETICAL_RE.search(_SENTENCE_START_RE.split(head)[-1]))


def _value_after(text: str, pos: int) -> tuple[str, int] | None:
    """(answer text, where it ends) stated right at ``pos`` after "answer is"; None if it is prose or a box."""
    rest = text[pos : pos + MAX_EXPR_CHARS]
    if rest.startswith(("\\boxed", "\\fbox")):
        return None  # the box is a candidate of its own
    for opener, closer in _CLOSER.items():  # "$$" is tried before "$"
        if rest.startswith(opener):
            close = rest.find(closer, len(opener))
            inner = rest[len(opener) : close].strip() if close > 0 else ""
            return (inner, pos + close + len(closer)) if inner and "\\boxed" not in inner else None
    match = _PLAIN_VALUE_RE.match(rest)
    if not match:
        return None
    value = match.group().strip().strip("*").strip()
    if _CONDITION_AFTER_RE.match(rest[match.end() :].lstrip()):
        return None  # "the answer is 5 if we count twice" is not a statement of 5
    if not value or _REJECT_VALUE_RE.match(value) or len(_PROSE_WORD_RE.findall(value)) > 1 or "\\boxed" in value:
        return None
    # "19 bits", "42 inches": the number is the answer (math-verify knows some units, not all).
    return _UNIT_RE.sub(r"\g<v>", value), pos + match.end()


def _math_candidates(scan: _Scan) -> list[Candidate]:
    text, found = scan.text, []
    low = text.lower()
    if len(low) != len(text):  # a character whose lower case is longer would shift every offset
        low = "".join(c if len(c.lower()) > 1 else c.lower() for c in text)
    for m in itertools.islice(_BOX_RE.finditer(text), MAX_BOXES):
        close = _brace_end(text, m.end())
        if close is not None and text[m.end() : close].strip():
            found.append(Candidate(text[m.end() : close].strip(), m.start(), scan.sentence_end(close + 1)[0], "boxed"))
    for start, _ in _words(low, ("answer",)):
        m = _PHRASE_RE.match(low, start)
        value = m and _value_after(text, m.end())
        if value and not scan.hypothetical(start):
            end, terminator = scan.sentence_end(value[1])
            if terminator != "?":
                found.append(Candidate(value[0], start, end, "phrase"))
    stated_ends = {c.end for c in found}  # a sentence that states its answer needs no equality read from it
    for start, after in _words(low, _CONNECTIVES):
        m = _EQUALITY_RE.match(text, after)
        value = m.group("x").strip().rstrip(".,").strip() if m else ""
        # A closed-form value, and not "x = 1 or x = -4" / "all reals except x = 0": one stated value.
        if not (_CLOSED_FORM_RE.fullmatch(value) and _HAS_VALUE_RE.search(value)):
            continue
        if _EQUALITY_VETO_RE.search(text, start, m.start("x")):
            continue
        end = scan.sentence_end(m.end("x"))[0]
        if end not in stated_ends and not scan.hypothetical(m.start("x")):
            found.append(Candidate(value, m.start("x"), end, "equality"))
    return found


def _choice_candidates(scan: _Scan) -> list[Candidate]:
    found = []
    for pattern in _CHOICE_RES:
        for m in pattern.finditer(scan.text):
            end, terminator = scan.sentence_end(m.end())
            if terminator != "?" and not scan.hypothetical(m.start()):
                found.append(Candidate(next(g for g in m.groups() if g), m.start(), end, "letter"))
    return found


def answer_candidates(reasoning: str, domain: str = "math") -> list[Candidate]:
    """Answer statements in ``reasoning``, in order of position (no sympy: regexes and linear passes).

    >>> [(c.text, c.end) for c in answer_candidates("So the answer is 12. Wait, check: yes.")]
    [('12', 20)]
    """
    if not isinstance(reasoning, str) or domain not in DOMAINS:
        return []
    scan = _Scan(reasoning)
    found = _math_candidates(scan) if domain == "math" else _choice_candidates(scan)
    unique = {(c.start, c.text): c for c in found}  # one statement found by two patterns counts once
    return sorted(unique.values(), key=lambda c: (c.start, c.end))


def _key(text: str) -> str:
    """Candidate texts that differ only in layout are verified once."""
    text = re.sub(r"\s+|\$|\\[,;:! ]|\\left|\\right", "", text).rstrip(".")
    return re.sub(r"\\[dt]frac", r"\\frac", text)


def _verify(domain: str, reference: str, text: str, problem: str | None) -> Verdict:
    if domain == "choice":
        return choice_verifier.check_answer(reference, f"\\boxed{{{text}}}")
    # A bare % starts a LaTeX comment, which would swallow the box's closing brace.
    return math_verifier.check_answer(reference, "\\boxed{" + re.sub(r"(?<!\\)%", r"\\%", text) + "}", problem)


def _find(reference: Any, reasoning: Any, domain: str, keep_reflection: bool, problem: str | None) -> Verdict:
    if domain not in DOMAINS:
        return Verdict(False, "not_applicable", {"domain": domain})
    candidates = answer_candidates(reasoning, domain)
    if not candidates:
        return Verdict(False, "no_answer_found", {"candidates": 0})
    wrong: set[str] = set()
    checked = 0
    for cand in candidates:
        key = _key(cand.text)
        if not key or key in wrong:
            continue
        if checked == MAX_CHECKED:
            return Verdict(False, "no_correct_answer", {"candidates": checked, "capped": True})
        checked += 1
        verdict = _verify(domain, str(reference), cand.text, problem)
        if verdict.reason == "bad_reference":
            return Verdict(False, "bad_reference", {"candidates": checked})
        if verdict.ok:
            break
        wrong.add(key)
    else:
        return Verdict(False, "no_correct_answer", {"candidates": checked})
    cut, reflection = cand.end, False
    if keep_reflection:  # FCS+1: keep the next re-derivation, up to the end of its answer statement
        later = next((c for c in candidates if c.start >= cut), None)
        if later is not None:
            cut, reflection = max(cut, later.end), True
    total = len(reasoning.rstrip())
    detail = {"cut": cut, "answer": cand.text, "kind": cand.kind, "candidates": checked}
    detail.update(position=round(cut / len(reasoning), 4), reflection=reflection)
    if total - cut < MIN_CUT_SHARE * total:
        return Verdict(False, "no_earlier_answer", detail)
    return Verdict(True, "found", detail)


def find_first_correct(
    reference: str, reasoning: str, domain: str = "math", keep_reflection: bool = False, **context: Any
) -> Verdict:
    """Cut point after the first answer statement of ``reasoning`` that verifies against ``reference``.

    ``found``: keep ``reasoning[:detail["cut"]]`` (with ``keep_reflection``, through the next answer
    statement too). Else ``no_earlier_answer`` (the cut would remove under ``MIN_CUT_SHARE``),
    ``no_correct_answer``, ``no_answer_found``, ``not_applicable`` (e.g. code), ``bad_reference``,
    ``error``. Module-level, so ``verifiers.batch.check_all`` can run it; never raises.
    """
    start = time.perf_counter()
    try:
        verdict = _find(reference, reasoning, domain, keep_reflection, context.get("problem"))
    except Exception as exc:  # a bug here must be a verdict, never a crashed batch
        verdict = Verdict(False, "error", {"error": f"{type(exc).__name__}: {exc}"})
    detail = {**verdict.detail, "time_ms": round((time.perf_counter() - start) * 1000, 3)}
    return Verdict(verdict.ok, verdict.reason, detail)
