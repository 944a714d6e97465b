"""Teacher backend for OpenAI-compatible servers (`vllm serve`, SGLang, hosted APIs).

Async requests with bounded concurrency and a per-request timeout; retries with exponential
backoff and jitter on 429, 5xx, timeouts and dropped connections; no retry on auth errors
(401/403: a recipe problem, raised at once). Other 4xx answers (a prompt over the server's
context, a bad parameter) fail only their request, which becomes a rejected row. Transient
errors that outlast the retries stop the stage: resume then asks only for what is missing.
The API key is read from the environment variable the recipe names, sent only in the
Authorization header, and never logged or stored.
"""

from __future__ import annotations

import asyncio
import os
import queue
import random
import threading
from typing import Any, Iterator

import httpx

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
from pipeline.errors import UserError

RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}
AUTH_STATUS = {401, 403}


class ServerUnavailable(RuntimeError):
    """Transient failures outlasted the retries; the stage stops and can be resumed."""


class OpenAIServerBackend:
    def __init__(
        self,
        base_url: str,
        model: str,
        api_key_env: str | None = None,
        max_concurrency: int = 64,
        request_timeout_s: float = 600.0,
        max_retries: int = 5,
        max_model_len: int | None = None,
        per_request_seed: bool = False,
    ):
        self.base_url = base_url.rstrip("/")
        self.model_id = model
        self.max_concurrency = max_concurrency
        self.request_timeout_s = request_timeout_s
        self.max_retries = max_retries
        self.per_request_seed = per_request_seed
        self.engine_version = "openai-compatible server"
        headers = {}
        if api_key_env:
            key = os.environ.get(api_key_env)
            if not key:
                raise UserError(f"environment variable {api_key_env} (api_key_env) is not set")
            headers["Authorization"] = f"Bearer {key}"
        self._headers = headers
        info = self._model_info()
        self.revision = f"server:{info.get('root') or model}"
        self._max_model_len = max_model_len or info.get("max_model_len")
        if not self._max_model_len:
            raise UserError(
                f"server at {self.base_url} does not report max_model_len for {model!r}; "
                f"set max_model_len on the teacher"
            )
        self._can_tokenize = True

    def _model_info(self) -> dict:
        try:
            response = httpx.get(f"{self.base_url}/models", headers=self._headers, timeout=30)
        except httpx.HTTPError as exc:
            raise UserError(f"cannot reach teacher server {self.base_url}: {type(exc).__name__}") from None
        if response.status_code in AUTH_STATUS:
            raise UserError(f"teacher server {self.base_url} refused the API key (HTTP {response.status_code})")
        response.raise_for_status()
        for entry in response.json().get("data", []):
            if entry.get("id") == self.model_id:
                return entry
        served = [e.get("id") for e in response.json().get("data", [])]
        raise UserError(f"server at {self.base_url} does not serve {self.model_id!r} (it serves: {served})")

    @property
    def max_model_len(self) -> int:
        return int(self._max_model_len)

    def count_prompt_tokens(self, conversations: list[Conversation], prefill: str | None = None) -> list[int]:
        """Exact counts from the server's /tokenize (vLLM, SGLang); 0 (no pre-check) elsewhere,
        in which case an over-long prompt comes back as a 400 and a rejected row. Requests go
        out concurrently (``max_concurrency``): one at a time, a 100k-prompt run would spend
        most of an hour here before generating anything."""
        if not conversations:
            return []
        return asyncio.run(self._count_all(conversations, prefill))

    async def _count_all(self, conversations: list[Conversation], prefill: str | None) -> list[int]:
        root = self.base_url.removesuffix("/v1")
        limit = asyncio.Semaphore(self.max_concurrency)
        limits = httpx.Limits(max_connections=self.max_concurrency)
        async with httpx.AsyncClient(headers=self._headers, timeout=60, limits=limits) as client:

            async def one(conv: Conversation) -> int:
                async with limit:
                    if not self._can_tokenize:
                        return 0
                    body = {"model": self.model_id, "messages": with_prefill(conv, prefill), **chat_flags(prefill)}
                    response = await client.post(f"{root}/tokenize", json=body)
                    if response.status_code != 200:
                        self._can_tokenize = False  # the server has no /tokenize: stop asking
                        return 0
                    return int(response.json()["count"])

            return list(await asyncio.gather(*(one(c) for c in conversations)))

    def close(self) -> None:
        """Nothing to free: the server owns the engine."""

    def chat(self, requests: list[Request]) -> list[RequestResult]:
        return collect(self, requests)

    def stream(self, requests: list[Request]) -> Iterator[tuple[int, RequestResult]]:
        # The event loop runs in a thread and hands results over a queue, so the caller can
        # checkpoint as requests finish while the others are still in flight.
        results: queue.Queue = queue.Queue()
        stop = threading.Event()
        thread = threading.Thread(target=lambda: asyncio.run(self._run_all(requests, results, stop)), daemon=True)
        thread.start()
        try:
            for _ in range(len(requests)):
                index, outcome = results.get()
                if isinstance(outcome, BaseException):
                    raise outcome
                yield index, outcome
        finally:
            stop.set()
            thread.join(timeout=self.request_timeout_s)

    async def _run_all(self, requests: list[Request], results: queue.Queue, stop: threading.Event) -> None:
        limit = asyncio.Semaphore(self.max_concurrency)
        timeout = httpx.Timeout(self.request_timeout_s, connect=30)
        limits = httpx.Limits(max_connections=self.max_concurrency)
        async with httpx.AsyncClient(headers=self._headers, timeout=timeout, limits=limits) as client:

            async def one(index: int, request: Request) -> None:
                async with limit:
                    if stop.is_set():
                        return
                    try:
                        results.put((index, await self._complete(client, request)))
                    except BaseException as exc:  # handed to the caller's thread, which raises it
                        results.put((index, exc))

            await asyncio.gather(*(one(i, r) for i, r in enumerate(requests)))

    async def _complete(self, client: httpx.AsyncClient, request: Request) -> RequestResult:
        samples: list[Sample] = []
        n_prompt = 0
        # Ask for all n at once; servers that ignore n get topped up with further requests.
        while len(samples) < request.n:
            body = self._body(request, request.n - len(samples))
            data = await self._post(client, body)
            if "error" in data:
                return RequestResult(n_prompt, samples, error=data["error"])
            n_prompt = data.get("usage", {}).get("prompt_tokens", n_prompt)
            samples.extend(_samples(data, request.prefill))
            if not data.get("choices"):
                return RequestResult(n_prompt, samples, error="server returned no choices")
        return RequestResult(n_prompt, samples[: request.n])

    def _body(self, request: Request, n: int) -> dict[str, Any]:
        body = {
            "model": self.model_id,
            "messages": with_prefill(request.conversation, request.prefill),
            "n": n,
            **request.sampling,
        }
        if self.per_request_seed:
            body["seed"] = request.seed
        if request.prefill:
            body.update(chat_flags(request.prefill))
        return body

    def reward(self, conversations: list[Conversation]) -> list[float | None]:
        """Scores from a vLLM server running a reward model (``--runner pooling``): ``/classify``
        with the conversation; None where the server refuses it (e.g. longer than its context)."""
        if not conversations:
            return []
        return asyncio.run(self._reward_all(conversations))

    async def _reward_all(self, conversations: list[Conversation]) -> list[float | None]:
        root = self.base_url.removesuffix("/v1")
        limit = asyncio.Semaphore(self.max_concurrency)
        limits = httpx.Limits(max_connections=self.max_concurrency)
        async with httpx.AsyncClient(headers=self._headers, timeout=self.request_timeout_s, limits=limits) as client:

            async def one(conv: Conversation) -> float | None:
                async with limit:
                    data = await self._post(client, {"model": self.model_id, "messages": conv}, f"{root}/classify")
                if "error" in data:
                    return None
                return reward_score(data["data"][0]["probs"], self.model_id)

            return list(await asyncio.gather(*(one(c) for c in conversations)))

    async def _post(self, client: httpx.AsyncClient, body: dict, url: str | None = None) -> dict:
        """The JSON answer, or {'error': ...} for a request the server will never accept."""
        for attempt in range(self.max_retries + 1):
            try:
                response = await client.post(url or f"{self.base_url}/chat/completions", json=body)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                problem = type(exc).__name__
            else:
                if response.status_code == 200:
                    return response.json()
                if response.status_code in AUTH_STATUS:
                    raise UserError(f"teacher server refused the API key (HTTP {response.status_code})")
                if response.status_code not in RETRY_STATUS:
                    return {"error": f"HTTP {response.status_code}: {response.text[:300]}"}
                problem = f"HTTP {response.status_code}"
            if attempt < self.max_retries:
                await asyncio.sleep(min(60.0, 2**attempt) * (0.5 + random.random() / 2))
        raise ServerUnavailable(f"teacher server {self.base_url}: {problem} after {self.max_retries} retries")


def _samples(data: dict, prefill: str | None) -> list[Sample]:
    choices = data.get("choices", [])
    usage_tokens = data.get("usage", {}).get("completion_tokens")
    out = []
    for choice in sorted(choices, key=lambda c: c.get("index", 0)):
        message = choice.get("message", {})
        content = message.get("content") or ""
        # A server-side reasoning parser splits the think block out: put it back as text.
        reasoning = message.get("reasoning_content") or message.get("reasoning")
        text = f"<think>\n{reasoning}\n</think>\n\n{content}" if reasoning else content
        if prefill and text.startswith(prefill):
            text = text[len(prefill) :]
        out.append([text, choice.get("finish_reason") or "stop"])
    # Servers report completion tokens for the whole response: exact for one choice, split
    # by text length across several (an estimate, documented in the row schema).
    total_chars = sum(len(t) for t, _ in out) or 1
    samples = []
    for text, finish in out:
        tokens = usage_tokens if len(out) == 1 else round((usage_tokens or 0) * len(text) / total_chars)
        samples.append(Sample(text=text, finish_reason=finish, n_output_tokens=int(tokens or 0)))
    return samples
