"""What every teacher backend returns, independent of the engine behind it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Protocol

from pipeline.errors import UserError

Conversation = list[dict[str, str]]


@dataclass(frozen=True)
class Sample:
    text: str
    finish_reason: str  # 'stop' | 'length'
    n_output_tokens: int


@dataclass(frozen=True)
class RequestResult:
    n_prompt_tokens: int
    samples: list[Sample]
    error: str | None = None  # the server refused this request for good (e.g. HTTP 400)


@dataclass(frozen=True)
class Request:
    """One prompt, sampled ``n`` times with a fixed seed so a rerun reproduces it."""

    conversation: Conversation
    n: int
    seed: int
    sampling: dict[str, Any] = field(default_factory=dict)  # overrides of the model defaults
    prefill: str | None = None  # the assistant turn starts with this text (e.g. "<think>\n")


class TeacherBackend(Protocol):
    model_id: str  # what was loaded (Hub id, folder, or server model name)
    revision: str  # weights fingerprint (see backends/provenance.py)
    engine_version: str  # e.g. "vllm 0.32.0"

    @property
    def max_model_len(self) -> int: ...

    def count_prompt_tokens(self, conversations: list[Conversation], prefill: str | None = None) -> list[int]: ...

    def close(self) -> None:
        """Free the engine's memory (before the next teacher loads)."""
        ...

    def stream(self, requests: list[Request]) -> Iterator[tuple[int, RequestResult]]:
        """All requests go to the engine at once; yields (request index, result) as each finishes."""
        ...

    def chat(self, requests: list[Request]) -> list[RequestResult]: ...

    def reward(self, conversations: list[Conversation]) -> list[float | None]:
        """A reward model's score per conversation (a pooling model: ``runner: pooling``); None
        where the conversation does not fit the model's context."""
        ...


def collect(backend: TeacherBackend, requests: list[Request]) -> list[RequestResult]:
    """``stream`` gathered back into request order."""
    results: list[RequestResult | None] = [None] * len(requests)
    for index, result in backend.stream(requests):
        results[index] = result
    assert all(r is not None for r in results), "backend lost a request"
    return results  # type: ignore[return-value]


def with_prefill(conversation: Conversation, prefill: str | None) -> Conversation:
    """The conversation with an assistant turn opened by ``prefill`` (if any)."""
    return conversation if prefill is None else [*conversation, {"role": "assistant", "content": prefill}]


def chat_flags(prefill: str | None) -> dict[str, bool]:
    """Chat-template flags: continue a prefilled assistant turn instead of opening a new one."""
    if prefill is None:
        return {"add_generation_prompt": True}
    return {"add_generation_prompt": False, "continue_final_message": True}


def reward_score(probs: list[float], model: str) -> float:
    """The one score of a reward model's output (a model with several labels is not a reward model)."""
    if len(probs) != 1:
        raise UserError(f"{model}: a reward model has one output label, this one has {len(probs)}")
    return float(probs[0])
