"""The dedup and decontamination settings: names, types, defaults and rules, written once.

The recipe sections (``pipeline.recipe.DedupConfig`` / ``DecontaminateConfig``) take their keys
from these dataclasses through ``section_fields``, and the ``distill dedup`` / ``distill
decontaminate`` options pass only what the user gave, so a default or a rule changes here only.
Every rule raises ``ValueError`` naming the field(s), e.g. ``bands × rows = 160 exceeds
num_perm = 128``.

Standard library only: ``pipeline.recipe`` imports this module and must stay light.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any, Literal, get_args

Shingle = Literal["word", "char"]
Method = Literal["exact", "ngram", "embedding"]
METHODS: tuple[str, ...] = get_args(Method)  # also the evidence priority order
NgramSize = Literal[8, 13, 32]
NGRAM_SIZES: tuple[int, ...] = get_args(NgramSize)
# Which member of a duplicate group stays: ``first`` (input order) or ``best_trace`` (verified
# first, then the shortest reasoning). Not a library field: callers pass a sort key.
Keep = Literal["first", "best_trace"]
KEEP_CHOICES: tuple[str, ...] = get_args(Keep)
DEFAULT_BENCHMARKS: tuple[str, ...] = ("all",)  # every bundled snapshot
MIN_NUM_PERM = 16  # fewer permutations estimate Jaccard too coarsely to choose bands and rows


@dataclass(frozen=True)
class MinHashConfig:
    num_perm: int = 128
    threshold: float = 0.8  # Jaccard similarity the LSH targets; chooses bands/rows when not given
    # With ``rows``: the LSH split of the signature (bands × rows <= num_perm); without them,
    # ``minhash.band_rows`` picks the split that best separates pairs around ``threshold``.
    bands: int | None = None
    rows: int | None = None
    shingle: Shingle = "word"
    shingle_size: int = 3  # problems are short: 3 words (or e.g. 5 characters)
    seed: int = 1
    verify: bool = False  # also require estimated Jaccard >= threshold for a candidate pair

    def __post_init__(self) -> None:
        _at_least(self, "num_perm", MIN_NUM_PERM)
        if not 0 < self.threshold <= 1:
            raise ValueError(f"threshold must be in (0, 1] (got {self.threshold})")
        if (self.bands is None) != (self.rows is None):
            raise ValueError(
                f"bands and rows go together: give both or neither (got bands={self.bands}, rows={self.rows})"
            )
        if self.bands is not None and self.rows is not None:
            _at_least(self, "bands", 1)
            _at_least(self, "rows", 1)
            if self.bands * self.rows > self.num_perm:
                raise ValueError(f"bands × rows = {self.bands * self.rows} exceeds num_perm = {self.num_perm}")
        _one_of(self, "shingle", get_args(Shingle))
        _at_least(self, "shingle_size", 1)


@dataclass(frozen=True)
class DecontamConfig:
    methods: tuple[Method, ...] = ("exact", "ngram")  # a row is contaminated when any of them fires
    # Longest n-gram (words) the ``ngram`` method cuts an item into: items use 4-grams, or 8, 13,
    # 32 up to this and to an eighth of their length, so one changed word cannot hide an item.
    ngram: NgramSize = 13
    # ``ngram``: share of an item (its words weighted by how rare their n-grams are across the
    # benchmarks and the rows checked together) a row must hold; one changed word leaves about
    # 7/8. Measured (benchmarks/dedup.py): 0.85 flags 0.2% of clean MATH train problems checked
    # as one file (0.55% in 64-row parts; 0.8: 0.55% / 0.9%) and catches 130/140 items with one
    # word changed at both.
    min_coverage: float = 0.85
    # Items shorter than this many words match by the ``exact`` method only: a 3-word item
    # ("compute 7 choose") would fire on unrelated rows.
    min_short_words: int = 6
    # Letters-only forms shorter than this never match ("whatistheremainderwhenisdividedby" is
    # a template shared by many different problems, not one problem with its numbers changed);
    # longer ones match only with as many numbers.
    min_stripped_chars: int = 25
    embedding_threshold: float = 0.95  # cosine similarity
    batch_size: int = 8192  # rows hashed together: memory against numpy call overhead

    def __post_init__(self) -> None:
        # A list (from YAML or the CLI) would make the frozen config unhashable.
        object.__setattr__(self, "methods", tuple(self.methods))
        bad = [m for m in self.methods if m not in METHODS]
        if bad or not self.methods:
            raise ValueError(f"methods must be some of {', '.join(METHODS)} (got {list(self.methods)})")
        _one_of(self, "ngram", NGRAM_SIZES)
        if not 0 < self.min_coverage <= 1:
            raise ValueError(f"min_coverage must be in (0, 1] (got {self.min_coverage})")
        _at_least(self, "min_short_words", 1)
        _at_least(self, "min_stripped_chars", 1)
        if not 0 < self.embedding_threshold <= 1:
            raise ValueError(f"embedding_threshold must be in (0, 1] (got {self.embedding_threshold})")
        _at_least(self, "batch_size", 1)


def section_fields(config: type) -> dict[str, tuple[Any, Any]]:
    """``{name: (type, default)}`` of a config dataclass, the form ``pydantic.create_model`` takes.

    >>> section_fields(MinHashConfig)["num_perm"]
    (<class 'int'>, 128)
    """
    hints = typing.get_type_hints(config)  # resolves the string annotations of this module
    out = {}
    for f in dataclasses.fields(config):
        hint, default = hints[f.name], f.default
        # YAML has lists (and an error should say "list"); __post_init__ turns them back into tuples.
        if typing.get_origin(hint) is tuple and typing.get_args(hint)[1:] == (Ellipsis,):
            hint, default = list[typing.get_args(hint)[0]], list(default)
        out[f.name] = (hint, default)
    return out


def from_section(config: type, section: object) -> Any:
    """The ``config`` dataclass built from the same-named attributes of a recipe section."""
    return config(**{f.name: getattr(section, f.name) for f in dataclasses.fields(config)})


def _at_least(config: object, name: str, low: int) -> None:
    value = getattr(config, name)
    if value < low:
        raise ValueError(f"{name} must be >= {low} (got {value})")


def _one_of(config: object, name: str, allowed: tuple) -> None:
    value = getattr(config, name)
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(str, allowed))} (got {value!r})")
