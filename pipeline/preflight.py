"""Checks a recipe must pass before any stage starts that need more than the recipe file:
teacher names and model folders (``pipeline.backends``). Kept out of ``pipeline.recipe`` so the
recipe models stay a leaf that the backends can import."""

from __future__ import annotations

from pathlib import Path

from pipeline.backends import validate_teacher
from pipeline.errors import UserError
from pipeline.recipe import Recipe, load_recipe


def check_teachers(recipe: Recipe, origin: str) -> None:
    """Every teacher (and the judge) names something that can be loaded; errors name the field."""
    teachers = {f"generate.teachers[{i}].model": t for i, t in enumerate(recipe.generate.teachers)}
    if recipe.verify.judge is not None:
        teachers["verify.judge.teacher"] = recipe.verify.judge.teacher
    for field, teacher in teachers.items():
        try:
            validate_teacher(teacher)
        except UserError as exc:
            raise UserError(f"{origin}: {field}: {exc}") from None


def load_checked_recipe(path: str | Path) -> Recipe:
    """``load_recipe`` plus the preflight checks: what every command that runs stages uses."""
    recipe = load_recipe(path)
    check_teachers(recipe, str(path))
    return recipe
