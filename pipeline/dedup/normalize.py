"""Text normalization shared by deduplication and decontamination.

Three forms, all derived from ``fold`` (case-folded, LaTeX spacing / delimiters removed):

* ``normalize_text``: ``fold`` plus whitespace collapsed and dropped around symbols. Two
  problems that differ only in typography normalize to the same string (exact dedup key).
* ``words``: the word tokens of ``fold`` (numbers are tokens, punctuation is not); n-grams.
* ``strip_text``: letters only: every non-word character *and every digit* removed, so a copy
  whose numbers were changed ("numbers changed" contamination) still matches exactly.
* ``number_shape``: ``normalize_text`` with every number (and its sign) replaced by ``0``: a
  copy with changed numbers has the same shape, a different formula does not
  (``x^2+6x+c`` and ``x^2-10x+c`` agree, ``9^3+3(9)`` and ``(26^2-24^2)^2`` do not).

These run on every row of a corpus, so each is a handful of C-level regex passes (measured:
about 15 us per MATH problem for ``words`` + ``strip_text`` together).
"""

from __future__ import annotations

import re

# LaTeX spacing / sizing commands and math delimiters change how a formula looks, not what it
# says: ``\,`` ``\!`` ``\;`` ``\:`` ``\ `` ``\quad``, ``\left(``/``\right)`` (the bracket
# stays), ``$``, ``\$``, ``\(`` ``\)`` ``\[`` ``\]``. ``\leftarrow`` is kept (word boundary).
_LATEX_NOISE = re.compile(r"\\(?:[,!;: ()\[\]$]|(?:quad|qquad|left|right|displaystyle|textstyle|limits)\b)|\$")
# ``\dfrac`` and ``\tfrac`` are display variants of ``\frac``.
_FRAC = re.compile(r"\\[dt]frac\b")
# Spaces next to punctuation or operators carry no meaning: ``x + 1`` and ``x+1`` are one text.
# (A space before a symbol, or one after a symbol; written to start with the space, so the regex
# engine skips ahead to spaces instead of trying a lookbehind at every position: 2x faster.)
_SPACE_NEXT_TO_SYMBOL = re.compile(r" (?:(?=[^\w ])|(?<=[^\w ] ))")
# ``strip`` keeps the letters of the word tokens: digits and ``_`` go (ASCII digits only; other
# scripts' digits are rare in our data and a translate table is 5x faster than a regex pass).
_DROP_DIGITS = str.maketrans("", "", "0123456789_")
_WORD = re.compile(r"\w+")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")  # 1,000 is 1000
_SIGNED_NUMBER = re.compile(r"[-+]?\d+")
_NUMBER = re.compile(r"\d+")


def fold(text: str) -> str:
    """Lower-case, ``\\dfrac`` -> ``\\frac``, LaTeX spacing and ``$`` replaced by a space."""
    return _LATEX_NOISE.sub(" ", _FRAC.sub(r"\\frac", text.lower()))


def normalize_text(text: str) -> str:
    r"""Case-fold, drop LaTeX spacing and ``$``, collapse whitespace (none left around symbols).

    >>> normalize_text("Find  $x$ if \\left( x\\,+1 \\right) = 2")
    'find x if(x+1)=2'
    """
    return _SPACE_NEXT_TO_SYMBOL.sub("", " ".join(fold(text).split()))


def strip_words(tokens: list[str]) -> str:
    """``strip_text`` from the ``words`` of a text (saves a regex pass in hot loops)."""
    return "".join(tokens).translate(_DROP_DIGITS)


def strip_text(text: str) -> str:
    """Letters only: no spaces, punctuation or digits.

    >>> strip_text("If x = 3, what is 2x?") == strip_text("if x=7 what is 5x")
    True
    """
    return strip_words(words(text))


def words_folded(folded: str) -> list[str]:
    """``words`` of a text already passed through ``fold``."""
    return _WORD.findall(folded)


def words(text: str) -> list[str]:
    """Word tokens of the folded text (numbers are tokens; punctuation and ``$`` are not)."""
    return _WORD.findall(fold(text))


def number_shape(text: str) -> str:
    """``normalize_text`` with each number and its sign replaced by ``0`` (``1,000`` is one number).

    >>> number_shape("Solve $x^2 + 6x = -4$.") == number_shape("solve x^2-10x=7.")
    True
    """
    return _SIGNED_NUMBER.sub("0", _THOUSANDS.sub("", normalize_text(text)))


def count_numbers(text: str) -> int:
    """How many numbers a text holds (runs of digits; ``1,000`` is one)."""
    return len(_NUMBER.findall(_THOUSANDS.sub("", text)))
