"""A model with one job (judge answers, rate difficulty, rewrite traces): prompts in, replies out.

Runs on the same backends as generate (one engine per process). Prompts longer than the model's
context minus the reply budget are not sent; their reply is ``None`` so the caller records why.
"""

from __future__ import annotations

from pipeline.backends import Request, TeacherBackend, load_backend
from pipeline.prompts import load_template, render
from pipeline.recipe import ModelTaskConfig

MAX_STORED_OUTPUT = 2000  # characters of a reply kept in a row for audit


class ModelTask:
    def __init__(
        self,
        cfg: ModelTaskConfig,
        seed: int,
        required: tuple[str, ...],
        field: str,
        backend: TeacherBackend | None = None,
    ):
        self.cfg = cfg
        self.seed = seed
        # No template: the model reads the conversation as it is (a reward model).
        self.template = (
            None if cfg.prompt_template is None else load_template(cfg.prompt_template, required=required, field=field)
        )
        self.backend = backend
        self.sampling = {k: v for k, v in cfg.sampling.model_dump().items() if v is not None}

    def setup(self) -> None:
        if self.backend is None:
            self.backend = load_backend(self.cfg.teacher, self.seed)

    def ask(self, fields: list[dict[str, str]]) -> list[str | None]:
        """One reply per entry of ``fields`` (the template's placeholders), all in one engine call;
        ``None`` where the prompt does not fit the model's context."""
        if not fields:
            return []
        self.setup()
        conversations = [[{"role": "user", "content": render(self.template, **f)}] for f in fields]
        budget = self.backend.max_model_len - self.cfg.sampling.max_tokens
        fits = [n <= budget for n in self.backend.count_prompt_tokens(conversations)]
        requests = [Request(c, 1, self.seed, self.sampling) for c, ok in zip(conversations, fits, strict=True) if ok]
        replies = iter(self.backend.chat(requests) if requests else [])
        return [next(replies).samples[0].text if ok else None for ok in fits]
