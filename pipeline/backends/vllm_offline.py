"""Teacher backend on vLLM's offline engine: one ``LLM`` per process, whole batches per call."""

from __future__ import annotations

import dataclasses
import difflib
import gc
import os
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _dist_version
from typing import Any, Iterator

from pipeline.backends.base import (
    Conversation,
    Request,
    RequestResult,
    Sample,
    chat_flags,
    collect,
    reward_score,
    with_prefill,
)
from pipeline.backends.provenance import fingerprint
from pipeline.errors import UserError


def version(dist: str) -> str:
    try:
        return _dist_version(dist)
    except PackageNotFoundError:
        return "unknown"


def _cpu_env_defaults() -> None:
    # Small KV cache and in-process engine core: a 2-core laptop starts in seconds, not minutes.
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")


class VLLMOfflineBackend:
    """Wraps ``vllm.LLM``; build it once, then hand it every prompt of a part in one call."""

    def __init__(self, model: str, engine_args: dict[str, Any], seed: int = 0):
        try:
            from vllm import LLM
            from vllm.platforms import current_platform
        except ImportError as exc:
            raise UserError(f"vLLM is not importable ({exc}); install with `make install`") from None
        cpu = current_platform.is_cpu()
        if cpu:
            _cpu_env_defaults()
        check_engine_args(engine_args)
        self.model_id = model
        self.revision = fingerprint(model)
        self.engine_version = f"vllm {version('vllm-cpu') if cpu else version('vllm')}"
        try:
            self.llm = LLM(model=model, seed=seed, **engine_args)
        except (OSError, ValueError, TypeError) as exc:
            raise UserError(f"cannot load teacher model {model!r}: {str(exc).splitlines()[0]}") from None
        self._tokenizer = self.llm.get_tokenizer()
        self.pooling = engine_args.get("runner") == "pooling"  # a reward model: reward(), no chat()
        # The model's generation_config.json (temperature, top_p, ...) as vLLM reads it.
        self._defaults = {} if self.pooling else dict(self.llm.llm_engine.model_config.get_diff_sampling_param())
        # vLLM's CPU build crashes on per-request seeds ("CPU Generator does not use offset"),
        # so on CPU only the engine-wide seed applies.
        self._per_request_seed = not cpu

    @property
    def max_model_len(self) -> int:
        return int(self.llm.llm_engine.model_config.max_model_len)

    def count_prompt_tokens(self, conversations: list[Conversation], prefill: str | None = None) -> list[int]:
        # Render to text, then encode the way vLLM does for chat prompts (the template already
        # holds any BOS), so the budget check counts exactly what the engine will see.
        texts = [
            self._tokenizer.apply_chat_template(with_prefill(c, prefill), tokenize=False, **chat_flags(prefill))
            for c in conversations
        ]
        return [len(self._tokenizer.encode(t, add_special_tokens=False)) for t in texts]

    def close(self) -> None:
        engine_core = getattr(self.llm.llm_engine, "engine_core", None)
        if engine_core is not None and hasattr(engine_core, "shutdown"):
            engine_core.shutdown()
        del self.llm
        gc.collect()
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except ImportError:
            pass

    def sampling_params(self, request: Request) -> Any:
        from vllm import SamplingParams

        args = {**self._defaults, **request.sampling, "n": request.n}
        if self._per_request_seed:
            args["seed"] = request.seed
        return SamplingParams(**args)

    def stream(self, requests: list[Request]) -> Iterator[tuple[int, RequestResult]]:
        # Everything is queued at once so the engine stays full; finished requests come back
        # as they complete (the loop LLM.chat runs internally), so callers can checkpoint.
        if not requests:
            return
        engine = self.llm.llm_engine
        prefill = requests[0].prefill
        if any(r.prefill != prefill for r in requests):
            raise ValueError("one stream() call takes one prefill (one teacher)")
        ids = self.llm.enqueue_chat(
            [with_prefill(r.conversation, prefill) for r in requests],
            sampling_params=[self.sampling_params(r) for r in requests],
            use_tqdm=False,
            **chat_flags(prefill),
        )
        # enqueue returns internal ids ("7-9f2c..."); outputs carry the external part ("7").
        index_of = {str(request_id).split("-", 1)[0]: i for i, request_id in enumerate(ids)}
        pending = set(index_of)
        try:
            while pending and engine.has_unfinished_requests():
                for out in engine.step():
                    if out.finished and out.request_id in pending:
                        pending.discard(out.request_id)
                        yield index_of[out.request_id], _result(out)
        finally:
            if pending:  # the caller stopped early: leave no orphans in the engine
                engine.abort_request(list(pending))
        if pending:
            raise RuntimeError(f"vLLM finished without {len(pending)} of {len(ids)} requests")

    def chat(self, requests: list[Request]) -> list[RequestResult]:
        return collect(self, requests)

    def reward(self, conversations: list[Conversation]) -> list[float | None]:
        """Scores of a sequence-classification (reward) model, one label, after its activation."""
        if not self.pooling:
            raise UserError(f"{self.model_id} is not loaded as a reward model (engine runner: pooling)")
        texts = [self._tokenizer.apply_chat_template(c, tokenize=False) for c in conversations]
        fits = [len(self._tokenizer.encode(t, add_special_tokens=False)) <= self.max_model_len for t in texts]
        outputs = iter(self.llm.classify([t for t, ok in zip(texts, fits, strict=True) if ok], use_tqdm=False))
        return [reward_score(next(outputs).outputs.probs, self.model_id) if ok else None for ok in fits]


def check_engine_args(engine_args: dict[str, Any]) -> None:
    """Unknown vLLM engine arguments are a recipe error, with the closest valid names."""
    from vllm import EngineArgs

    known = {f.name for f in dataclasses.fields(EngineArgs)}
    for key in engine_args:
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=3)
            hint = f" (did you mean: {', '.join(close)}?)" if close else ""
            raise UserError(f"generate.engine.{key}: not a vLLM engine argument{hint}")


def _result(out: Any) -> RequestResult:
    return RequestResult(
        n_prompt_tokens=len(out.prompt_token_ids or []),
        samples=[
            Sample(text=c.text, finish_reason=str(c.finish_reason), n_output_tokens=len(c.token_ids))
            for c in sorted(out.outputs, key=lambda c: c.index)
        ],
    )
