"""The exported dataset in real trainers: TRL's SFTTrainer trains on it for 2 steps, and the
preference pairs go through DPOTrainer, with the embedded SmolLM2 weights on CPU. What is
checked is that the shapes we publish are the ones TRL reads (losses are finite, the think
block reaches the tokens), not what the model learns."""

import math

import pytest
from datasets import load_dataset

from helpers import REPO, TEACHER
from pipeline.dataset.layout import dataset_dir
from pipeline.recipe import load_recipe, parse_recipe
from pipeline.runner import run_stages
from pipeline.stages import active_stages

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def byo_run(tmp_path_factory):
    """The bundled R1 traces through every stage after generate (no model)."""
    recipe = load_recipe(REPO / "recipes/byo_traces.yaml")
    recipe = parse_recipe({**recipe.model_dump(mode="json"), "export": {"preference_pairs": True}})
    run_dir = tmp_path_factory.mktemp("byo") / "run"
    run_stages(recipe, run_dir, active_stages(recipe))
    return run_dir


@pytest.fixture(scope="module")
def student():
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from pipeline.backends.embedded import materialize

    path = materialize(TEACHER)
    tokenizer = AutoTokenizer.from_pretrained(path)
    return path, tokenizer, AutoModelForCausalLM


def _train(config_cls, trainer_cls, student, dataset, out, steps: int, **options):
    """``steps`` optimizer steps of a TRL trainer on CPU, small batches and sequences."""
    path, tokenizer, model_cls = student
    args = config_cls(
        output_dir=str(out),
        max_steps=steps,
        per_device_train_batch_size=2,
        max_length=256,
        report_to=[],
        save_strategy="no",
        use_cpu=True,
        bf16=False,
        # No dataset_num_proc: with a pool, datasets' map replaces os.environ by a copy (see conftest).
        **options,
    )
    model = model_cls.from_pretrained(path, dtype="float32")
    return trainer_cls(model=model, args=args, train_dataset=dataset, processing_class=tokenizer).train()


def test_sft_trainer_trains_on_the_exported_dataset(byo_run, student, tmp_path):
    from trl import SFTConfig, SFTTrainer

    _, tokenizer, _ = student
    # The README's line (with a fresh cache: the card has a `configs` block, see README).
    ds = load_dataset(str(dataset_dir(byo_run)), split="train", cache_dir=str(tmp_path / "hf"))
    assert len(ds) > 0 and "<think>" in ds[0]["messages"][-1]["content"]
    rendered = tokenizer.apply_chat_template(ds[0]["messages"], tokenize=False)
    assert "<think>" in rendered and "</think>" in rendered  # SmolLM2's template keeps the think block
    result = _train(SFTConfig, SFTTrainer, student, ds, tmp_path / "sft", steps=2, logging_steps=1)
    assert result.global_step == 2 and math.isfinite(result.training_loss)


def test_preference_pairs_load_in_dpo_format_and_train(byo_run, student, tmp_path):
    from trl import DPOConfig, DPOTrainer
    from trl.data_utils import is_conversational, maybe_apply_chat_template

    _, tokenizer, _ = student
    # A config from the YAML `configs` block: `datasets` caches it by the YAML, so a fresh cache.
    pairs = load_dataset(str(dataset_dir(byo_run)), "preference_pairs", split="train", cache_dir=str(tmp_path / "hf"))
    assert len(pairs) > 0
    example = pairs[0]
    assert is_conversational(example)
    text = maybe_apply_chat_template({k: example[k] for k in ("prompt", "chosen", "rejected")}, tokenizer)
    assert set(text) == {"prompt", "chosen", "rejected"} and "</think>" in text["chosen"]
    result = _train(DPOConfig, DPOTrainer, student, pairs, tmp_path / "dpo", steps=1)
    assert result.global_step == 1 and math.isfinite(result.training_loss)
