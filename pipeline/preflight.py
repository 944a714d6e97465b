"""Checks a recipe must pass before any stage starts that need more than the recipe file:
teacher names and model folders (``pipeline.backends``). Kept out of ``pipeline.recipe`` so the
recipe models stay a leaf that the backends can import."""

from __future__ import annotations

import difflib
from pathlib import Path

from pipeline.backends import validate_teacher
from pipeline.errors import UserError
from pipeline.recipe import Recipe, load_recipe
from pipeline.tokens import check_tokenizer


def check_teachers(recipe: Recipe, origin: str) -> None:
    """Every teacher (and every model with a job: judges, rewriter) names something that can be
    loaded; errors name the field."""
    teachers = {}
    if recipe.generate is not None:
        teachers = {f"generate.teachers[{i}].model": t for i, t in enumerate(recipe.generate.teachers)}
    if recipe.verify.judge is not None:
        teachers["verify.judge.teacher"] = recipe.verify.judge.teacher
    if recipe.grade is not None and recipe.grade.judge is not None:
        teachers["grade.judge.teacher"] = recipe.grade.judge.teacher
    if recipe.shorten is not None and recipe.shorten.rewrite is not None:
        teachers["shorten.rewrite.teacher"] = recipe.shorten.rewrite.teacher
    for field, teacher in teachers.items():
        try:
            validate_teacher(teacher)
        except UserError as exc:
            raise UserError(f"{origin}: {field}: {exc}") from None


def check_tokenizer_of(recipe: Recipe, origin: str) -> None:
    """The recipe's tokenizer can be found offline, when some stage counts tokens with it."""
    if recipe.from_traces or recipe.shorten is not None:
        try:
            check_tokenizer(recipe.tokenizer)
        except UserError as exc:
            raise UserError(f"{origin}: {exc}") from None


def check_benchmarks(recipe: Recipe, origin: str) -> None:
    """Decontamination benchmarks are bundled names or Hub columns (DATASET[:CONFIG]:SPLIT:COLUMN),
    checked before ingest runs."""
    from pipeline.dedup.benchmarks import BUNDLED

    if recipe.decontaminate is None:
        return
    for i, spec in enumerate(recipe.decontaminate.benchmarks):
        if spec == "all" or spec in BUNDLED or spec.count(":") in (2, 3):
            continue
        close = difflib.get_close_matches(spec, list(BUNDLED), n=1)
        guess = f" (did you mean '{close[0]}'?)" if close else ""
        raise UserError(
            f"{origin}: decontaminate.benchmarks[{i}]: unknown benchmark {spec!r}{guess}; bundled: "
            f"{', '.join(BUNDLED)}, or a Hub column as DATASET[:CONFIG]:SPLIT:COLUMN"
        )


def load_checked_recipe(path: str | Path) -> Recipe:
    """``load_recipe`` plus the preflight checks: what every command that runs stages uses."""
    recipe = load_recipe(path)
    check_teachers(recipe, str(path))
    check_tokenizer_of(recipe, str(path))
    check_benchmarks(recipe, str(path))
    return recipe
