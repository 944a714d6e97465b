"""Recipes are the only configuration: one YAML per experiment, one section per stage.

``load_recipe(path)`` validates everything up front and raises ``UserError`` with messages such
as ``recipes/x.yaml: generate.n: must be >= 1 (got 0)``.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, ClassVar, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

from pipeline.dedup.config import DEFAULT_BENCHMARKS, DecontamConfig, Keep, MinHashConfig, from_section, section_fields
from pipeline.errors import UserError

SAMPLE_FIELDS = ("problem", "reference_answer", "problem_id")
# Fields a `kind: traces` source may map besides the problem fields.
TRACE_FIELDS = ("response", "reasoning", "answer_text", "messages", "teacher", "sample_idx")
SourceField = Literal[
    "problem",
    "reference_answer",
    "problem_id",
    "response",
    "reasoning",
    "answer_text",
    "messages",
    "teacher",
    "sample_idx",
]
# Difficulty tiers by pass rate: a problem is in the first tier whose cut point its pass rate
# reaches; a pass rate of 0 is always 'unsolved'.
DEFAULT_TIERS = {"easy": 0.8, "medium": 0.3, "hard": 0.0}
SHORTEN_STRATEGIES = ("none", "shortest_correct", "first_correct", "rewrite", "paired")
# R1-class traces on competition math run a median of several thousand tokens; 8k is the
# least that does not cut most of them (DeepSeek-R1 evaluates at 32k).
LONG_COT_MIN_MAX_TOKENS = 8192


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceConfig(_Strict):
    """One problem source: a local JSONL/JSON/Parquet file or a Hub dataset."""

    path: str | None = None
    dataset: str | None = None
    config: str | None = None
    split: str = "train"
    domain: Literal["math", "code", "choice"] = "math"
    # problems: rows to generate traces for. traces: rows that already carry a teacher's
    # response (your own runs, OpenThoughts-style sets); the run starts at verify.
    kind: Literal["problems", "traces"] = "problems"
    # Our field -> the source's column name, for fields whose names differ.
    columns: dict[SourceField, str] = Field(default_factory=dict)
    limit: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _one_location(self) -> "SourceConfig":
        if (self.path is None) == (self.dataset is None):
            raise ValueError("give exactly one of 'path' (local file) or 'dataset' (Hub name)")
        trace_only = sorted(set(self.columns) & set(TRACE_FIELDS))
        if trace_only and self.kind != "traces":
            raise ValueError(f"columns {trace_only} are for 'kind: traces' sources")
        if "response" in self.columns and ({"reasoning", "answer_text", "messages"} & set(self.columns)):
            raise ValueError("map either 'response', or 'reasoning' + 'answer_text', or 'messages', not several")
        if ("reasoning" in self.columns) != ("answer_text" in self.columns):
            raise ValueError("'reasoning' and 'answer_text' are mapped together")
        return self


class IngestConfig(_Strict):
    sources: list[SourceConfig] = Field(min_length=1)
    rows_per_part: int = Field(default=64, ge=1)


class SamplingConfig(_Strict):
    """Unset fields fall back to the teacher's generation config (vLLM default sampling)."""

    temperature: float | None = Field(default=None, ge=0)
    top_p: float | None = Field(default=None, gt=0, le=1)
    top_k: int | None = None
    min_p: float | None = Field(default=None, ge=0, le=1)
    repetition_penalty: float | None = Field(default=None, gt=0)
    max_tokens: int = Field(default=4096, ge=1)


class TeacherConfig(_Strict):
    """One teacher. Unset fields take the values of the ``generate`` section."""

    model: str  # 'embedded:<name>', a Hub id or a local folder; for servers, the served name
    label: str | None = None  # the ``teacher`` column value; defaults to ``model``
    # vllm: the offline engine in this process. openai: an OpenAI-compatible server.
    backend: Literal["vllm", "openai"] = "vllm"
    engine: dict[str, Any] = Field(default_factory=dict)  # vllm: merged over generate.engine
    base_url: str | None = None  # openai: e.g. http://127.0.0.1:8011/v1
    api_key_env: str | None = None  # openai: NAME of the env var holding the key (never the key)
    max_concurrency: int = Field(default=64, ge=1)
    request_timeout_s: float = Field(default=600.0, gt=0)
    max_retries: int = Field(default=5, ge=0)
    max_model_len: int | None = Field(default=None, ge=1)  # openai: if the server does not say
    # openai: send each request's seed. Off by default: vLLM's CPU build crashes its engine on
    # per-request seeds, and hosted APIs treat seeds as best-effort anyway.
    per_request_seed: bool = False
    reasoning_format: Literal["think", "plain"] | None = None
    # Text the assistant turn starts with, e.g. "<think>\n" for models whose chat template
    # does not open the think block itself.
    prefill: str | None = None

    @property
    def name(self) -> str:
        return self.label or self.model

    @model_validator(mode="after")
    def _server_needs_url(self) -> "TeacherConfig":
        if self.backend == "openai" and not self.base_url:
            raise ValueError("backend 'openai' needs base_url")
        return self


class GenerateConfig(_Strict):
    teacher: str | None = None  # shorthand for teachers: [{model: ...}]
    teachers: list[TeacherConfig] = Field(default_factory=list)
    n: int = Field(default=4, ge=1)
    prompt_template: str = "math_boxed"
    # 'think': the teacher writes <think>...</think> then its answer (R1, QwQ, Qwen3).
    # 'plain': an instruct model without think tags; the last paragraph is the answer.
    reasoning_format: Literal["think", "plain"] = "think"
    sampling: SamplingConfig = Field(default_factory=SamplingConfig)
    # Passed to vllm.LLM as engine arguments (max_model_len, dtype, enforce_eager, ...).
    engine: dict[str, Any] = Field(default_factory=dict)
    # Finished requests are saved every this many, so a crash loses at most that much work.
    checkpoint_every: int = Field(default=256, ge=1)
    # Long-CoT teachers ('think' format) need room: below LONG_COT_MIN_MAX_TOKENS most traces
    # of R1/QwQ-class models end truncated, which wastes the run. Set true to run anyway.
    allow_short_max_tokens: bool = False

    @model_validator(mode="after")
    def _one_teacher_list(self) -> "GenerateConfig":
        if (self.teacher is None) == (not self.teachers):
            raise ValueError("give either 'teacher' (one model) or 'teachers' (a list), not both or neither")
        if self.teacher is not None:
            self.teachers = [TeacherConfig(model=self.teacher)]
            self.teacher = None
        names = [t.name for t in self.teachers]
        if len(set(names)) != len(names):
            raise ValueError(f"teacher labels must be unique (got {names}); set 'label' to tell them apart")
        for t in self.teachers:
            t.engine = {**self.engine, **t.engine}
            t.reasoning_format = t.reasoning_format or self.reasoning_format
        thinking = [t.name for t in self.teachers if t.reasoning_format == "think"]
        if thinking and self.sampling.max_tokens < LONG_COT_MIN_MAX_TOKENS and not self.allow_short_max_tokens:
            raise ValueError(
                f"sampling.max_tokens {self.sampling.max_tokens} would truncate most long-CoT traces of "
                f"{thinking} (use >= {LONG_COT_MIN_MAX_TOKENS}, or set allow_short_max_tokens: true)"
            )
        return self


class ModelTaskConfig(_Strict):
    """A model asked to do one job (judge an answer, rate difficulty, rewrite a trace): any teacher entry."""

    teacher: str | TeacherConfig  # a model name, or a full teacher entry (e.g. a server)
    prompt_template: str
    sampling: SamplingConfig = Field(default_factory=lambda: SamplingConfig(temperature=0.0, max_tokens=256))
    engine: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _teacher_entry(self) -> "ModelTaskConfig":
        if isinstance(self.teacher, str):
            self.teacher = TeacherConfig(model=self.teacher, engine=self.engine)
        return self


class JudgeConfig(ModelTaskConfig):
    """A judge of answers. ``reference``: an LLM says whether the final answer matches the reference
    (a second opinion). ``rubric``: an LLM scores the answer 0-10 against a rubric, no reference
    needed; ``judge_score`` = score / 10. ``reward``: a reward model served by vLLM (``runner:
    pooling``, offline or an OpenAI-compatible server's ``/classify``) scores the conversation
    (problem, final answer); ``judge_score`` is its score after the model's activation (sigmoid for
    one label: 0-1). Rubric and reward need no reference (rows without one are kept at ingest) and
    verify a row when ``judge_score >= threshold``."""

    mode: Literal["reference", "rubric", "reward"] = "reference"
    prompt_template: str | None = None  # default: judge_equivalence / judge_rubric; none for reward
    threshold: float = Field(default=0.7, ge=0, le=1)

    @model_validator(mode="after")
    def _template_for_mode(self) -> "JudgeConfig":
        if self.mode == "reward":
            if self.prompt_template is not None:
                raise ValueError("a reward model reads the conversation itself: drop prompt_template")
            if self.teacher.backend != "openai":  # the offline engine must load it as a pooling model
                self.teacher.engine = {"runner": "pooling", **self.teacher.engine}
        elif self.prompt_template is None:
            self.prompt_template = "judge_rubric" if self.mode == "rubric" else "judge_equivalence"
        return self

    @property
    def reference_free(self) -> bool:
        """True when this judge scores answers without a reference."""
        return self.mode in ("rubric", "reward")


class DifficultyJudgeConfig(ModelTaskConfig):
    """A model asked for a problem's difficulty level 1-10 (DAP), stored beside the pass-rate tier."""

    prompt_template: str = "difficulty_level"


class RewriteConfig(ModelTaskConfig):
    """A model that rewrites a reasoning to a token budget per difficulty tier, keeping its steps (DAP)."""

    prompt_template: str = "rewrite_to_budget"
    sampling: SamplingConfig = Field(default_factory=lambda: SamplingConfig(temperature=0.0, max_tokens=2048))
    budgets: dict[str, int] = Field(default_factory=dict)  # tier -> reasoning tokens; others: default_budget
    default_budget: int = Field(default=1024, ge=16)

    @model_validator(mode="after")
    def _positive_budgets(self) -> "RewriteConfig":
        bad = {k: v for k, v in self.budgets.items() if v < 16}
        if bad:
            raise ValueError(f"budgets must be >= 16 tokens (got {bad})")
        return self


class VerifyConfig(_Strict):
    timeout_s: float = Field(default=10.0, gt=0)  # hard limit per math/choice row, in CPU seconds
    code_timeout_s: float = Field(default=120.0, gt=0)  # per code row, all its tests together
    workers: int | None = Field(default=None, ge=1)
    # Run each code problem's reference solution on its tests first; drop tests it fails.
    validate_tests: bool = False
    # rule: checkers only. judge_on_rule_failure: a rule failure the judge accepts counts as
    # correct. both: correct only when the rule and the judge agree it is. judge: the judge alone.
    # A row without a reference (rubric judge, reward model) has no rule verdict: under every policy but 'rule'
    # the judge decides it; under 'rule' it is not verified.
    policy: Literal["rule", "judge_on_rule_failure", "both", "judge"] = "rule"
    judge: JudgeConfig | None = None
    judge_all_rows: bool = False  # also ask on rows the policy does not need (disagreement stats)

    @model_validator(mode="after")
    def _judge_for_policy(self) -> "VerifyConfig":
        if self.policy != "rule" and self.judge is None:
            raise ValueError(f"policy {self.policy!r} needs a 'judge' section")
        return self


class _LibrarySection(_Strict):
    """A recipe section whose settings are a library config's fields: one source of truth for
    their names, types, defaults and rules (``config`` builds the library's frozen dataclass)."""

    library: ClassVar[type]

    @property
    def config(self) -> Any:
        return from_section(self.library, self)

    @model_validator(mode="after")
    def _library_rules(self) -> "_LibrarySection":
        from_section(self.library, self)  # the library's own checks: a ValueError naming the field(s)
        return self


class DecontaminateConfig(create_model("_DecontamFields", __base__=_LibrarySection, **section_fields(DecontamConfig))):
    """Drop problems found in benchmarks, right after ingest (before any GPU time is spent).

    The other keys are the fields of ``pipeline.dedup.config.DecontamConfig``, with its types,
    defaults and rules.
    """

    library: ClassVar[type] = DecontamConfig
    # Bundled names (``all``: every one) or Hub columns as DATASET[:CONFIG]:SPLIT:COLUMN.
    benchmarks: list[str] = Field(default_factory=lambda: list(DEFAULT_BENCHMARKS))


class DedupConfig(create_model("_MinHashFields", __base__=_LibrarySection, **section_fields(MinHashConfig))):
    """Drop duplicate traces and near-duplicate problems after verify (the best trace stays).

    The other keys are the fields of ``pipeline.dedup.config.MinHashConfig``, with its types,
    defaults and rules (e.g. bands × rows <= num_perm).
    """

    library: ClassVar[type] = MinHashConfig
    near: bool = True  # also MinHash near-duplicate problems, not only identical traces
    keep: Keep = "best_trace"


class GradeConfig(_Strict):
    """Per problem, over all its traces: pass rates, their spread across teachers, a difficulty tier."""

    # tier -> lowest pass rate it takes, highest first; pass rate 0 is always 'unsolved'.
    tiers: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_TIERS))
    judge: DifficultyJudgeConfig | None = None

    @model_validator(mode="after")
    def _tier_cuts(self) -> "GradeConfig":
        if not self.tiers:
            raise ValueError("tiers: give at least one tier")
        if "unsolved" in self.tiers:
            raise ValueError("tiers: 'unsolved' is built in (pass rate 0); do not list it")
        cuts = list(self.tiers.values())
        if any(not 0 <= c <= 1 for c in cuts) or cuts != sorted(cuts, reverse=True) or len(set(cuts)) != len(cuts):
            raise ValueError(
                f"tiers: cut points must be distinct, in [0, 1] and listed highest first (got {self.tiers})"
            )
        if cuts[-1] != 0:
            raise ValueError(
                f"tiers: the last tier must start at 0 so every solved problem has a tier (got {self.tiers})"
            )
        return self

    @property
    def tier_names(self) -> list[str]:
        return [*self.tiers, "unsolved"]


Strategy = Literal["none", "shortest_correct", "first_correct", "rewrite", "paired"]


class ShortenConfig(_Strict):
    """Shorter verified traces: a strategy for all rows, optionally another per difficulty tier."""

    strategy: Strategy = "first_correct"
    by_tier: dict[str, Strategy] = Field(default_factory=dict)  # tier -> strategy (tiers of grade.tiers)
    keep: int = Field(default=1, ge=1)  # shortest_correct: the m shortest verified traces per problem
    keep_reflection: bool = False  # first_correct: also keep the next reflection step (FCS+1)
    paired_with: Literal["first_correct", "rewrite"] = "first_correct"  # paired: how the short version is made
    rewrite: RewriteConfig | None = None
    # Seconds per re-verification (hard limit, worker process), as verify.timeout_s.
    timeout_s: float = Field(default=10.0, gt=0)
    workers: int | None = Field(default=None, ge=1)

    def strategies(self) -> set[str]:
        used = {self.strategy, *self.by_tier.values()}
        return used | ({self.paired_with} if "paired" in used else set())

    @model_validator(mode="after")
    def _rewriter(self) -> "ShortenConfig":
        if "rewrite" in self.strategies() and self.rewrite is None:
            raise ValueError("strategy 'rewrite' needs a 'rewrite' section (teacher, budgets)")
        return self


class SelectConfig(_Strict):
    """Which verified traces enter the dataset. Every dropped row says why."""

    min_pass_rate: float = Field(default=0.0, ge=0, le=1)  # keep problems with pass rate >= this (and > 0)
    max_pass_rate: float = Field(default=1.0, ge=0, le=1)  # < 1 drops trivial problems
    tiers: list[str] | None = None  # keep only these difficulty tiers
    max_per_problem: int | None = Field(default=None, ge=1)  # at most k traces, distinct answers/lengths first
    min_output_tokens: int | None = Field(default=None, ge=0)
    max_output_tokens: int | None = Field(default=None, ge=1)
    # {source|domain|teacher: {value: max traces}}; '*' caps every value not listed.
    quotas: dict[Literal["source", "domain", "teacher"], dict[str, int]] = Field(default_factory=dict)
    target_size: int | None = Field(default=None, ge=1)  # traces in the dataset, hardest problems first
    order: Literal["hard_first", "easy_first", "input"] = "hard_first"  # priority under quotas/target

    @model_validator(mode="after")
    def _band(self) -> "SelectConfig":
        if self.min_pass_rate > self.max_pass_rate:
            raise ValueError(f"min_pass_rate {self.min_pass_rate} > max_pass_rate {self.max_pass_rate}")
        return self


class CardConfig(_Strict):
    """What the dataset card's YAML header says that the run cannot know."""

    license: str = "other"  # the license you may give the data under (teacher terms, sources' licenses)
    language: list[str] = Field(default_factory=lambda: ["en"])
    pretty_name: str | None = None
    description: str | None = None  # a paragraph at the top of the card


class ExportConfig(_Strict):
    include: Literal["verified", "all"] = "verified"
    # Row shape. messages: TRL conversational [{role, content}]; prompt_completion: TRL's
    # prompt/completion message lists; sharegpt: conversations [{from, value}] (LLaMA-Factory, axolotl).
    format: Literal["messages", "prompt_completion", "sharegpt"] = "messages"
    system_prompt: str | None = None  # a system turn before the user's
    # inline: '<think>\n{reasoning}\n</think>\n\n{answer}' in the assistant turn. field: the
    # assistant turn is the answer; the reasoning is the `reasoning` column (and, in messages,
    # the assistant message's `reasoning_content`, which Qwen3/R1-style chat templates read).
    reasoning: Literal["inline", "field"] = "inline"
    # Share of problems in the test split (by problem: no problem is in both); 0 = train only.
    test_size: float = Field(default=0.0, ge=0.0, lt=1.0)
    # One dataset config per domain or teacher (besides `default`, which has every row).
    configs: Literal["none", "domain", "teacher"] = "none"
    max_file_mb: int = Field(default=500, ge=1)  # Parquet files are cut at this size
    row_group_mb: int = Field(default=64, ge=1)  # uncompressed row group size (Hub viewer limit)
    card: CardConfig = Field(default_factory=CardConfig)
    # A second dataset of (prompt, chosen, rejected) for DPO-style training from the negatives.
    preference_pairs: bool = False
    # shortest_vs_longest_wrong: one pair per problem. all: every chosen x rejected, up to max_pairs.
    pairing: Literal["shortest_vs_longest_wrong", "all"] = "shortest_vs_longest_wrong"
    max_pairs_per_problem: int = Field(default=4, ge=1)


class Recipe(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    seed: int = 0
    # Counts tokens of text no engine counted (ingested traces, shortened traces): a Hub id or
    # local folder (loaded offline) or an embedded model. Set it to your teacher's for exact counts.
    tokenizer: str = "embedded:smollm2-135m"
    ingest: IngestConfig
    generate: GenerateConfig | None = None  # absent when every source is `kind: traces`
    verify: VerifyConfig = Field(default_factory=VerifyConfig)
    decontaminate: DecontaminateConfig | None = None  # optional stages: on when their section is there
    grade: GradeConfig | None = None
    shorten: ShortenConfig | None = None
    dedup: DedupConfig | None = None
    select: SelectConfig | None = None
    export: ExportConfig = Field(default_factory=ExportConfig)

    @property
    def reference_free(self) -> bool:
        """True when a rubric judge or a reward model can verify rows that have no reference answer."""
        return self.verify.judge is not None and self.verify.judge.reference_free

    @property
    def from_traces(self) -> bool:
        """True when the sources carry responses: the run starts at verify."""
        return all(s.kind == "traces" for s in self.ingest.sources)

    @model_validator(mode="after")
    def _stages_fit(self) -> "Recipe":
        kinds = {s.kind for s in self.ingest.sources}
        if len(kinds) > 1:
            raise ValueError("ingest.sources: mix of 'kind: traces' and problem sources; use one kind per run")
        if self.from_traces and self.generate is not None:
            raise ValueError("generate: the sources are 'kind: traces' (they carry responses); remove 'generate'")
        if not self.from_traces and self.generate is None:
            raise ValueError("generate: required key is missing (or give sources of 'kind: traces')")
        for stage in ("shorten", "select"):
            if getattr(self, stage) is not None and self.grade is None:
                raise ValueError(f"{stage}: needs pass rates and tiers; add a 'grade:' section (grade: {{}})")
        tiers = self.grade.tier_names if self.grade else []
        for where, named in (
            ("shorten.by_tier", list(self.shorten.by_tier) if self.shorten else []),
            (
                "shorten.rewrite.budgets",
                list(self.shorten.rewrite.budgets) if self.shorten and self.shorten.rewrite else [],
            ),
            ("select.tiers", (self.select.tiers or []) if self.select else []),
        ):
            unknown = [t for t in named if t not in tiers]
            if unknown:
                raise ValueError(f"{where}: tier(s) {unknown} are not defined by grade.tiers (defined: {tiers})")
        return self


def _field_path(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _format_error(err: dict) -> str:
    where = _field_path(err["loc"])
    if err["type"] == "extra_forbidden":
        return f"{where}: unknown key"
    if err["type"] == "missing":
        return f"{where}: required key is missing"
    msg = err["msg"].removeprefix("Value error, ")
    got = err.get("input")
    # A scalar is worth echoing; a whole section is not (the message names what is wrong in it).
    if isinstance(got, (dict, list)) or len(repr(got)) > 80:
        return f"{where}: {msg}" if where else msg
    return f"{where}: {msg} (got {got!r})" if where else msg


def _allowed_keys_hint(err: dict) -> str:
    """For a typoed key, the closest key the section accepts, and all it accepts."""
    model: type[BaseModel] = Recipe
    for part in err["loc"][:-1]:
        if isinstance(part, int):
            continue
        ann = model.model_fields[part].annotation
        inner = getattr(ann, "__args__", (ann,))
        nested = [a for a in inner if isinstance(a, type) and issubclass(a, BaseModel)]
        if not nested:
            return ""
        model = nested[0]
    close = difflib.get_close_matches(str(err["loc"][-1]), list(model.model_fields), n=1, cutoff=0.6)
    guess = f" (did you mean '{close[0]}'?)" if close else ""
    return f"{guess} (allowed: {', '.join(model.model_fields)})"


def _first_error(errors: list[dict]) -> dict:
    """The error to report: an unknown key before a missing one (a typo causes both, and the
    unknown key is the one that names what the user wrote)."""
    return next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])


def parse_recipe(data: Any, origin: str = "<recipe>") -> Recipe:
    """Validate a recipe mapping; errors name ``origin`` and the field."""
    if not isinstance(data, dict):
        raise UserError(f"{origin}: a recipe must be a YAML mapping")
    try:
        return Recipe.model_validate(data)
    except ValidationError as exc:
        err = _first_error(exc.errors())
        hint = _allowed_keys_hint(err) if err["type"] == "extra_forbidden" else ""
        more = f" (+{len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        raise UserError(f"{origin}: {_format_error(err)}{hint}{more}") from None


def yaml_error(exc: yaml.YAMLError) -> str:
    """'line L, column C: not valid YAML: <problem>' (where the parser noticed it)."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return f"{where}not valid YAML: {problem}"


def load_recipe(path: str | Path) -> Recipe:
    """Read, validate and resolve a recipe; local source paths become absolute.

    Checks that need the backends (teacher names, model folders) are in ``pipeline.preflight``.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: recipe file not found")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: {yaml_error(exc)}") from None
    recipe = parse_recipe(data, str(path))
    for i, src in enumerate(recipe.ingest.sources):
        if src.path is not None:
            resolved = (path.parent / src.path).resolve()
            if not resolved.is_file():
                raise UserError(f"{path}: ingest.sources[{i}].path: file not found: {resolved}")
            src.path = str(resolved)
    return recipe


def dump_recipe(recipe: Recipe) -> str:
    return yaml.safe_dump(recipe.model_dump(mode="json"), sort_keys=False)
