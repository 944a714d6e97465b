"""Token counts of text no engine counted (ingested traces, shortened traces), with the recipe's ``tokenizer``.

``embedded:<name>`` is the embedded model's tokenizer; anything else is a local folder or a Hub id
already in the local cache, loaded with transformers' ``AutoTokenizer`` and never downloaded.
Counts are of the plain text: no special tokens, no chat template.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from pipeline.backends.embedded import PREFIX, embedded_spec, materialize
from pipeline.errors import UserError

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json")


def check_tokenizer(name: str) -> None:
    """Cheap check, before any stage runs, that ``load_tokenizer(name)`` can find its files offline."""
    if name.startswith(PREFIX):
        try:
            embedded_spec(name)
        except UserError as exc:
            raise UserError(f"tokenizer: {exc}") from None
        return
    local = Path(name).expanduser()
    if local.is_dir():
        if not any((local / f).is_file() for f in TOKENIZER_FILES):
            raise UserError(f"tokenizer: {local}: no tokenizer files ({', '.join(TOKENIZER_FILES)})")
        return
    from huggingface_hub import try_to_load_from_cache

    try:
        cached = any(isinstance(try_to_load_from_cache(name, f), str) for f in TOKENIZER_FILES)
    except ValueError:  # not a valid repo id either (huggingface_hub's HFValidationError)
        cached = False
    if not cached:
        raise UserError(
            f"tokenizer: {name!r} is neither a local folder nor a Hub id in the local cache (nothing is downloaded); "
            f"give a folder, or {PREFIX}smollm2-135m"
        )


def _folder(name: str) -> Path | str:
    """Where the tokenizer files are: the embedded model's folder, a local folder, or the Hub id."""
    if name.startswith(PREFIX):
        try:
            return materialize(name)
        except UserError as exc:
            raise UserError(f"tokenizer: {exc}") from None
    local = Path(name).expanduser()
    return local if local.exists() else name


def _tokenizer_json(where: Path | str) -> Path | None:
    if isinstance(where, Path):
        path = where / "tokenizer.json"
        return path if path.is_file() else None
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(where, "tokenizer.json")
    return Path(cached) if isinstance(cached, str) else None


@lru_cache(maxsize=None)
def load_tokenizer(name: str) -> Any:
    """The tokenizer ``name`` stands for, loaded once per process from local files only.

    A ``tokenizer.json`` (every fast tokenizer has one) is read by the ``tokenizers`` library
    alone: no transformers or torch import, so a traces-only run stays light. Others go through
    transformers' ``AutoTokenizer``.
    """
    where = _folder(name)
    try:
        path = _tokenizer_json(where)
        if path is not None:
            from tokenizers import Tokenizer

            return Tokenizer.from_file(str(path))
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(str(where), local_files_only=True)
    except ImportError:
        raise UserError(f"tokenizer: {name!r} has no tokenizer.json; reading it needs transformers") from None
    except Exception as exc:  # tokenizers/transformers raise several types for a missing or broken tokenizer
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise UserError(
            f"tokenizer: cannot load {name!r} offline ({first}); give a local folder, a Hub id already in "
            f"the local cache, or {PREFIX}smollm2-135m"
        ) from None


def count_tokens(tokenizer: str, texts: Sequence[str]) -> list[int]:
    """Tokens in each text (no special tokens) with the tokenizer ``tokenizer`` names, in one batched call.

    >>> count_tokens("embedded:smollm2-135m", ["hello world", ""])
    [2, 0]
    """
    if not texts:
        return []
    tok = load_tokenizer(tokenizer)
    backend = tok if not hasattr(tok, "is_fast") else (tok.backend_tokenizer if tok.is_fast else None)
    if backend is not None:  # the Rust batch call: no per-text Python work, no over-length warnings
        return [len(enc.ids) for enc in backend.encode_batch(list(texts), add_special_tokens=False)]
    return [len(ids) for ids in tok(list(texts), add_special_tokens=False)["input_ids"]]
