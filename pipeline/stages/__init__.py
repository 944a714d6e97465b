"""One module per stage; ``build_stage(name, recipe)`` is the registry.

Optional stages (decontaminate, dedup) run when the recipe has their section; each stage reads
the parts of the active stage before it.
"""

from __future__ import annotations

from pipeline.errors import UserError
from pipeline.recipe import Recipe
from pipeline.stage import Stage

STAGE_ORDER = ("ingest", "decontaminate", "generate", "verify", "dedup", "export")
OPTIONAL_STAGES = ("decontaminate", "dedup")


def active_stages(recipe: Recipe) -> list[str]:
    return [s for s in STAGE_ORDER if s not in OPTIONAL_STAGES or getattr(recipe, s) is not None]


def build_stage(name: str, recipe: Recipe) -> Stage:
    from pipeline.stages.decontaminate import DecontaminateStage
    from pipeline.stages.dedup import DedupStage
    from pipeline.stages.export import ExportStage
    from pipeline.stages.generate import GenerateStage
    from pipeline.stages.ingest import IngestStage
    from pipeline.stages.verify import VerifyStage

    registry = {"ingest": IngestStage, "decontaminate": DecontaminateStage, "generate": GenerateStage,
                "verify": VerifyStage, "dedup": DedupStage, "export": ExportStage}
    if name not in registry:
        raise UserError(f"unknown stage {name!r} (available: {', '.join(STAGE_ORDER)})")
    active = active_stages(recipe)
    if name not in active:
        raise UserError(f"stage {name!r} is off in this recipe: add a '{name}:' section to turn it on")
    stage = registry[name](recipe)
    position = active.index(name)
    stage.input_stage = active[position - 1] if position else None
    return stage
