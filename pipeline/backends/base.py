"""What every teacher backend returns, independent of the engine behind it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

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


@dataclass(frozen=True)
class Request:
    """One prompt, sampled ``n`` times with a fixed seed so a rerun reproduces it."""

    conversation: Conversation
    n: int
    seed: int
    sampling: dict[str, Any] = field(default_factory=dict)  # overrides of the model defaults


class TeacherBackend(Protocol):
    @property
    def max_model_len(self) -> int: ...

    def count_prompt_tokens(self, conversations: list[Conversation]) -> list[int]: ...

    def chat(self, requests: list[Request]) -> list[RequestResult]: ...
