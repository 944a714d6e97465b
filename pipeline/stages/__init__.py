"""One module per stage; ``build_stage(name, recipe)`` is the registry.

Optional stages run when the recipe has their section (generate: when the sources are problems,
not ``kind: traces``); each stage reads the parts of the active stage before it. Part ``i`` of
every stage holds whole problems (all their traces), so per-problem stages (grade, shorten) need
no barrier; dedup and select compare the whole run and are barriers.
"""

from __future__ import annotations

import importlib

from pipeline.errors import UserError
from pipeline.recipe import Recipe
from pipeline.stage import Stage

# select runs after dedup so its target size and quotas count the traces that reach the dataset.
STAGE_ORDER = ("ingest", "decontaminate", "generate", "verify", "grade", "shorten", "dedup", "select", "export")
OPTIONAL_STAGES = ("decontaminate", "generate", "grade", "shorten", "dedup", "select")
# Stage name -> "module:class"; imported on use, so `distill status` never loads vLLM.
_REGISTRY = {
    "ingest": "pipeline.stages.ingest:IngestStage",
    "decontaminate": "pipeline.stages.decontaminate:DecontaminateStage",
    "generate": "pipeline.stages.generate:GenerateStage",
    "verify": "pipeline.stages.verify:VerifyStage",
    "grade": "pipeline.stages.grade:GradeStage",
    "shorten": "pipeline.stages.shorten:ShortenStage",
    "dedup": "pipeline.stages.dedup:DedupStage",
    "select": "pipeline.stages.select:SelectStage",
    "export": "pipeline.stages.export:ExportStage",
}


def active_stages(recipe: Recipe) -> list[str]:
    return [s for s in STAGE_ORDER if s not in OPTIONAL_STAGES or getattr(recipe, s) is not None]


def stage_class(name: str) -> type[Stage]:
    if name not in _REGISTRY:
        raise UserError(f"unknown stage {name!r} (available: {', '.join(STAGE_ORDER)})")
    module, cls = _REGISTRY[name].split(":")
    return getattr(importlib.import_module(module), cls)


def input_stage_of(recipe: Recipe, name: str) -> str | None:
    """The active stage whose parts ``name`` reads (None for ingest)."""
    active = active_stages(recipe)
    if name not in active:
        raise UserError(f"stage {name!r} is off in this recipe: add a '{name}:' section to turn it on")
    position = active.index(name)
    return active[position - 1] if position else None


def build_stage(name: str, recipe: Recipe) -> Stage:
    cls = stage_class(name)
    upstream = input_stage_of(recipe, name)
    stage = cls(recipe)
    stage.input_stage = upstream
    return stage
