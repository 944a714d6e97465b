"""One module per stage; ``build_stage(name, recipe)`` is the registry."""

from __future__ import annotations

from pipeline.errors import UserError
from pipeline.recipe import Recipe
from pipeline.stage import Stage

STAGE_ORDER = ("ingest", "generate", "verify", "export")


def build_stage(name: str, recipe: Recipe) -> Stage:
    from pipeline.stages.export import ExportStage
    from pipeline.stages.generate import GenerateStage
    from pipeline.stages.ingest import IngestStage
    from pipeline.stages.verify import VerifyStage

    registry = {"ingest": IngestStage, "generate": GenerateStage, "verify": VerifyStage, "export": ExportStage}
    if name not in registry:
        raise UserError(f"unknown stage {name!r} (available: {', '.join(STAGE_ORDER)})")
    return registry[name](recipe)
