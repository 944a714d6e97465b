"""Teacher backends behind one interface (``TeacherBackend``), chosen by teacher name.

``embedded:<name>`` is a small model shipped in a PyPI package and run on vLLM's CPU build;
any other name is handed to vLLM as a model: a local folder or a Hub id (downloaded only when
the user allows the Hub; tests and the quickstart keep ``HF_HUB_OFFLINE=1``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.backends.base import Request, RequestResult, Sample, TeacherBackend, collect
from pipeline.backends.embedded import PREFIX, embedded_spec, materialize
from pipeline.errors import UserError

if TYPE_CHECKING:
    from pipeline.recipe import TeacherConfig

__all__ = [
    "Request",
    "RequestResult",
    "Sample",
    "TeacherBackend",
    "collect",
    "load_backend",
    "release_backend",
    "validate_teacher",
]


def _looks_like_path(name: str) -> bool:
    return name.startswith(("/", "./", "../", "~")) or Path(name).expanduser().exists()


def check_engine_args(engine_args: dict[str, Any]) -> None:
    """Unknown vLLM engine arguments are a recipe error (needs vLLM importable)."""
    from pipeline.backends.vllm_offline import check_engine_args as check

    check(engine_args)


def validate_teacher(config: "TeacherConfig") -> None:
    """Fail early, before any engine starts, on a teacher name that cannot work."""
    if config.backend == "openai":
        return  # the server is asked when the backend starts
    teacher = config.model
    if teacher.startswith(PREFIX):
        embedded_spec(teacher)
    elif not teacher.strip():
        raise UserError("teacher name is empty")
    elif _looks_like_path(teacher) and not Path(teacher).expanduser().is_dir():
        raise UserError(f"model folder not found: {teacher}")


# One engine per (model, engine args, seed) per process: generate and a judge on the same
# teacher share it instead of loading the weights twice.
_LOADED: dict[str, TeacherBackend] = {}


def load_backend(config: "TeacherConfig", seed: int) -> TeacherBackend:
    """Build (or reuse) the backend for a teacher; recipe engine args win over embedded defaults."""
    validate_teacher(config)
    teacher, engine_args = config.model, config.engine
    # What decides the engine (not label, prefill or reasoning format, which are per request).
    key = json.dumps([config.backend, config.model, config.engine, config.base_url, seed], sort_keys=True, default=str)
    if key in _LOADED:
        return _LOADED[key]
    if config.backend == "openai":
        from pipeline.backends.openai_server import OpenAIServerBackend

        _LOADED[key] = OpenAIServerBackend(
            config.base_url,
            config.model,
            config.api_key_env,
            config.max_concurrency,
            config.request_timeout_s,
            config.max_retries,
            config.max_model_len,
            config.per_request_seed,
        )
        return _LOADED[key]
    from pipeline.backends.vllm_offline import VLLMOfflineBackend

    if teacher.startswith(PREFIX):
        args = {**embedded_spec(teacher).engine_defaults, **engine_args}
        _LOADED[key] = VLLMOfflineBackend(str(materialize(teacher)), args, seed=seed)
    else:
        model = str(Path(teacher).expanduser()) if _looks_like_path(teacher) else teacher
        _LOADED[key] = VLLMOfflineBackend(model, engine_args, seed=seed)
    return _LOADED[key]


def release_backend(backend: TeacherBackend) -> None:
    """Free a backend's engine so the next teacher fits in memory."""
    for key, loaded in list(_LOADED.items()):
        if loaded is backend:
            del _LOADED[key]
    backend.close()
