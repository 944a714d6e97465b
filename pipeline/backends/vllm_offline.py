"""Teacher backend on vLLM's offline engine: one ``LLM`` per process, whole batches per call."""

from __future__ import annotations

import os
from typing import Any

from pipeline.backends.base import Conversation, Request, RequestResult, Sample
from pipeline.errors import UserError


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
        self.model = model
        try:
            self.llm = LLM(model=model, seed=seed, **engine_args)
        except TypeError as exc:
            raise UserError(f"generate.engine: {exc}") from None
        except (OSError, ValueError) as exc:
            raise UserError(f"cannot load teacher model {model!r}: {str(exc).splitlines()[0]}") from None
        self._tokenizer = self.llm.get_tokenizer()
        # The model's generation_config.json (temperature, top_p, ...) as vLLM reads it.
        self._defaults = dict(self.llm.llm_engine.model_config.get_diff_sampling_param())
        # vLLM's CPU build crashes on per-request seeds ("CPU Generator does not use offset"),
        # so on CPU only the engine-wide seed applies.
        self._per_request_seed = not cpu

    @property
    def max_model_len(self) -> int:
        return int(self.llm.llm_engine.model_config.max_model_len)

    def count_prompt_tokens(self, conversations: list[Conversation]) -> list[int]:
        # Render to text, then encode the way vLLM does for chat prompts (the template already
        # holds any BOS), so the budget check counts exactly what the engine will see.
        texts = [self._tokenizer.apply_chat_template(c, add_generation_prompt=True, tokenize=False)
                 for c in conversations]
        return [len(self._tokenizer.encode(t, add_special_tokens=False)) for t in texts]

    def sampling_params(self, request: Request) -> Any:
        from vllm import SamplingParams

        args = {**self._defaults, **request.sampling, "n": request.n}
        if self._per_request_seed:
            args["seed"] = request.seed
        return SamplingParams(**args)

    def chat(self, requests: list[Request]) -> list[RequestResult]:
        if not requests:
            return []
        outputs = self.llm.chat(
            [r.conversation for r in requests],
            sampling_params=[self.sampling_params(r) for r in requests],
            use_tqdm=False,
        )
        return [
            RequestResult(
                n_prompt_tokens=len(out.prompt_token_ids or []),
                samples=[
                    Sample(text=c.text, finish_reason=str(c.finish_reason), n_output_tokens=len(c.token_ids))
                    for c in sorted(out.outputs, key=lambda c: c.index)
                ],
            )
            for out in outputs
        ]
