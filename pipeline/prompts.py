"""Prompt templates: text files in prompts/ with {placeholders}; no prompt text in .py files.

Only the placeholder names a caller passes are substituted, so LaTeX braces such as
``\\boxed{}`` in a template are left alone.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from pipeline.errors import UserError
from pipeline.resources import resource_dir


def load_template(name: str, required: tuple[str, ...] = ("problem",), field: str = "generate.prompt_template") -> str:
    """Template text by name (``prompts/<name>.txt``) or by path to a .txt file."""
    path = Path(name)
    if path.suffix != ".txt":
        path = resource_dir("prompts") / f"{name}.txt"
    if not path.is_file():
        available = sorted(p.stem for p in resource_dir("prompts").glob("*.txt"))
        raise UserError(f"{field}: no template {name!r} (available: {', '.join(available)})")
    text = path.read_text()
    for placeholder in required:
        if "{" + placeholder + "}" not in text:
            raise UserError(f"{path}: template has no {{{placeholder}}} placeholder")
    return text


def render(template: str, **fields: str) -> str:
    """Replace ``{name}`` for the given names only: ``\\boxed{answer}`` in a generation
    template stays as written because no ``answer`` field is passed there."""
    pattern = re.compile(r"\{(" + "|".join(map(re.escape, fields)) + r")\}")
    return pattern.sub(lambda m: fields[m.group(1)], template)


def template_hash(template: str) -> str:
    return hashlib.sha256(template.encode()).hexdigest()[:16]
