import pytest

from helpers import REPO, base_recipe, write_recipe
from pipeline.errors import UserError
from pipeline.preflight import load_checked_recipe as load_recipe


def _error(tmp_path, recipe) -> str:
    with pytest.raises(UserError) as exc:
        load_recipe(write_recipe(tmp_path / "r.yaml", recipe))
    return str(exc.value)


def test_quickstart_recipe_is_valid():
    recipe = load_recipe(REPO / "recipes" / "quickstart.yaml")
    assert [t.name for t in recipe.generate.teachers] == ["embedded:smollm2-135m"]
    assert recipe.ingest.sources[0].path.endswith("data/problems/quickstart_math.jsonl")


def test_typoed_key_names_the_field_and_allowed_keys(tmp_path, problems):
    recipe = base_recipe(problems)
    recipe["generate"]["smapling"] = recipe["generate"].pop("sampling")
    msg = _error(tmp_path, recipe)
    assert "generate.smapling: unknown key" in msg and "allowed:" in msg and "sampling" in msg


def test_missing_key(tmp_path, problems):
    recipe = base_recipe(problems)
    del recipe["generate"]["teacher"]
    assert "generate: give either 'teacher' (one model) or 'teachers'" in _error(tmp_path, recipe)


def test_bad_value_names_field_and_value(tmp_path, problems):
    recipe = base_recipe(problems)
    recipe["generate"]["n"] = 0
    msg = _error(tmp_path, recipe)
    assert "generate.n:" in msg and "(got 0)" in msg


def test_unknown_embedded_teacher(tmp_path, problems):
    msg = _error(tmp_path, base_recipe(problems, teacher="embedded:gpt-9"))
    assert "generate.teachers[0].model: unknown embedded teacher 'embedded:gpt-9'" in msg
    assert "embedded:smollm2-135m" in msg


def test_missing_model_folder(tmp_path, problems):
    msg = _error(tmp_path, base_recipe(problems, teacher=str(tmp_path / "no-such-model")))
    assert "generate.teachers[0].model: model folder not found" in msg


def test_missing_input_file(tmp_path, problems):
    recipe = base_recipe(problems)
    recipe["ingest"]["sources"][0]["path"] = "nope.jsonl"
    msg = _error(tmp_path, recipe)
    assert "ingest.sources[0].path: file not found" in msg and "nope.jsonl" in msg


def test_source_needs_exactly_one_location(tmp_path, problems):
    recipe = base_recipe(problems)
    recipe["ingest"]["sources"][0]["dataset"] = "org/name"
    assert "ingest.sources[0]" in _error(tmp_path, recipe)


def test_not_yaml_and_not_found(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(UserError, match="not valid YAML"):
        load_recipe(bad)
    with pytest.raises(UserError, match="recipe file not found"):
        load_recipe(tmp_path / "missing.yaml")


def test_short_max_tokens_for_a_thinking_teacher_needs_consent(tmp_path, problems):
    recipe = base_recipe(problems, allow_short_max_tokens=False)
    msg = _error(tmp_path, recipe)
    assert "generate: sampling.max_tokens 64 would truncate most long-CoT traces" in msg
    recipe["generate"]["reasoning_format"] = "plain"  # not a long-CoT teacher: no floor
    load_recipe(write_recipe(tmp_path / "ok.yaml", recipe))


def test_unknown_engine_argument_is_named_with_a_suggestion(tmp_path, problems):
    from pipeline.recipe import parse_recipe
    from pipeline.stages.generate import GenerateStage

    recipe = parse_recipe(base_recipe(problems, engine={"max_modle_len": 1024}))
    expected = r"generate.engine.max_modle_len: not a vLLM engine argument \(did you mean: max_model_len"
    with pytest.raises(UserError, match=expected):
        GenerateStage(recipe)


@pytest.mark.parametrize("path", sorted((REPO / "recipes").glob("*.yaml")), ids=lambda p: p.name)
def test_every_bundled_recipe_validates(path):
    recipe = load_recipe(path)
    assert recipe.from_traces or recipe.generate.teachers


def test_dedup_bands_times_rows_over_num_perm_is_one_line(tmp_path, problems):
    recipe = {**base_recipe(problems), "dedup": {"bands": 20, "rows": 8}}
    msg = _error(tmp_path, recipe)
    assert msg == f"{tmp_path / 'r.yaml'}: dedup: bands × rows = 160 exceeds num_perm = 128"


@pytest.mark.parametrize(
    "section, expected",
    [
        ({"dedup": {"bands": 20}}, "dedup: bands and rows go together: give both or neither (got bands=20, rows=None)"),
        ({"dedup": {"num_perm": 8}}, "dedup: num_perm must be >= 16 (got 8)"),
        ({"dedup": {"threshold": 1.5}}, "dedup: threshold must be in (0, 1] (got 1.5)"),
        ({"dedup": {"shingle": "token"}}, "dedup.shingle: Input should be 'word' or 'char' (got 'token')"),
        ({"decontaminate": {"ngram": 10}}, "decontaminate.ngram: Input should be 8, 13 or 32 (got 10)"),
        ({"decontaminate": {"methods": []}}, "decontaminate: methods must be some of exact, ngram, embedding (got [])"),
        ({"decontaminate": {"methods": "exact"}}, "decontaminate.methods: Input should be a valid list (got 'exact')"),
    ],
)
def test_dedup_and_decontaminate_rules_name_the_field(tmp_path, problems, section, expected):
    assert _error(tmp_path, {**base_recipe(problems), **section}) == f"{tmp_path / 'r.yaml'}: {expected}"


def test_typoed_dedup_key_lists_library_and_recipe_keys(tmp_path, problems):
    msg = _error(tmp_path, {**base_recipe(problems), "dedup": {"num_perms": 64}})
    assert "dedup.num_perms: unknown key (did you mean 'num_perm'?) (allowed: num_perm, threshold, bands, " in msg
    assert msg.endswith(", near, keep)")
    msg = _error(tmp_path, {**base_recipe(problems), "decontaminate": {"benchmark": ["math500"]}})
    assert "decontaminate.benchmark: unknown key (did you mean 'benchmarks'?) (allowed: methods, ngram, " in msg
    assert msg.endswith("benchmarks)")


def test_dedup_sections_become_library_configs(tmp_path, problems):
    from pipeline.dedup.config import DecontamConfig, MinHashConfig

    recipe = {
        **base_recipe(problems),
        "dedup": {"bands": 16, "rows": 8, "verify": True, "keep": "first"},
        "decontaminate": {"methods": ["ngram"], "ngram": 8, "benchmarks": ["math500"]},
    }
    loaded = load_recipe(write_recipe(tmp_path / "r.yaml", recipe))
    assert loaded.dedup.config == MinHashConfig(bands=16, rows=8, verify=True)
    assert (loaded.dedup.near, loaded.dedup.keep) == (True, "first")
    assert loaded.decontaminate.config == DecontamConfig(methods=("ngram",), ngram=8)
    assert loaded.decontaminate.benchmarks == ["math500"]
    empty = load_recipe(write_recipe(tmp_path / "e.yaml", {**base_recipe(problems), "dedup": {}, "decontaminate": {}}))
    assert (empty.dedup.config, empty.decontaminate.config) == (MinHashConfig(), DecontamConfig())
    assert empty.decontaminate.benchmarks == ["all"]


def _graded(problems, **sections) -> dict:
    recipe = base_recipe(problems)
    recipe.update(sections)
    return recipe


@pytest.mark.parametrize(
    "sections, expected",
    [
        ({"shorten": {}}, "shorten: needs pass rates and tiers; add a 'grade:' section"),
        ({"select": {}}, "select: needs pass rates and tiers; add a 'grade:' section"),
        (
            {"grade": {}, "shorten": {"strategy": "first_corect"}},
            "shorten.strategy: Input should be 'none', 'shortest_correct', 'first_correct', 'rewrite' or 'paired'",
        ),
        (
            {"grade": {}, "shorten": {"by_tier": {"hrad": "first_correct"}}},
            "shorten.by_tier: tier(s) ['hrad'] are not defined by grade.tiers "
            "(defined: ['easy', 'medium', 'hard', 'unsolved'])",
        ),
        (
            {"grade": {"tiers": {"easy": 0.9, "rest": 0.0}}, "select": {"tiers": ["hard"]}},
            "select.tiers: tier(s) ['hard'] are not defined by grade.tiers",
        ),
        ({"grade": {"tiers": {"a": 0.2, "b": 0.5, "c": 0}}}, "grade: tiers: cut points must be distinct"),
        ({"grade": {"tiers": {"a": 0.5}}}, "grade: tiers: the last tier must start at 0"),
        ({"grade": {}, "shorten": {"strategy": "rewrite"}}, "strategy 'rewrite' needs a 'rewrite' section"),
        ({"grade": {}, "select": {"min_pass_rate": 0.9, "max_pass_rate": 0.5}}, "min_pass_rate 0.9 > max_pass_rate"),
    ],
)
def test_grade_shorten_select_sections_are_checked(tmp_path, problems, sections, expected):
    assert expected in _error(tmp_path, _graded(problems, **sections))


def test_traces_sources_need_no_generate_and_refuse_one(tmp_path, problems):
    recipe = base_recipe(problems)
    recipe["ingest"]["sources"][0]["kind"] = "traces"
    assert "generate: the sources are 'kind: traces'" in _error(tmp_path, recipe)
    del recipe["generate"]
    assert load_recipe(write_recipe(tmp_path / "r.yaml", recipe)).from_traces
    recipe["ingest"]["sources"].append({"path": str(problems), "domain": "math"})
    assert "mix of 'kind: traces' and problem sources" in _error(tmp_path, recipe)


def test_problem_sources_still_need_generate(tmp_path, problems):
    recipe = base_recipe(problems)
    del recipe["generate"]
    assert "generate: required key is missing" in _error(tmp_path, recipe)


def test_trace_columns_only_on_trace_sources(tmp_path, problems):
    recipe = base_recipe(problems)
    recipe["ingest"]["sources"][0]["columns"] = {"response": "completion"}
    assert "columns ['response'] are for 'kind: traces' sources" in _error(tmp_path, recipe)
