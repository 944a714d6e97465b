"""What the Ray executor launches per stage (no Ray started): shards, actors, GPUs, pool sizes;
and how it starts, joins and leaves Ray (a stand-in ``ray`` module records the calls)."""

import contextlib
import sys
import types

import pytest

from helpers import TEACHER, base_recipe
from pipeline.errors import UserError
from pipeline.executors.ray_plan import Cluster, cpus_per_task, plan_phases
from pipeline.recipe import parse_recipe
from pipeline.stages import active_stages

TRACES = {"path": "t.jsonl", "kind": "traces", "columns": {"problem": "q", "response": "out"}}


def _traces_recipe(**sections):
    return parse_recipe({"name": "t", "ingest": {"sources": [TRACES]}, "grade": {}, "shorten": {}, **sections})


def _table(phases):
    return [(p.stage, p.shards, p.engine, p.cpus, p.gpus, p.barrier, p.overrides) for p in phases]


def test_each_stage_is_a_phase_barriers_are_one_task_and_pools_get_the_task_cpus():
    recipe = _traces_recipe(dedup={}, select={})
    phases = plan_phases(recipe, active_stages(recipe), 4, Cluster((2,), (0,)), {"verify.validate_tests": True})
    flag = {"verify.validate_tests": True}
    assert _table(phases) == [
        ("ingest", 2, False, 1, 0, False, flag),
        ("verify", 2, False, 1, 0, False, {**flag, "verify.workers": 1}),
        ("grade", 2, False, 1, 0, False, flag),
        ("shorten", 2, False, 1, 0, False, {**flag, "shorten.workers": 1}),
        ("dedup", 1, False, 1, 0, True, flag),
        ("select", 1, False, 1, 0, True, flag),
        ("export", 2, False, 1, 0, False, flag),
    ]


def test_few_parts_on_a_big_node_get_big_tasks_and_a_workers_setting_is_kept():
    recipe = _traces_recipe(verify={"workers": 3})
    phases = {p.stage: p for p in plan_phases(recipe, active_stages(recipe), 3, Cluster((64,), (0,)))}
    assert (phases["verify"].shards, phases["verify"].cpus, phases["verify"].overrides) == (3, 21, {})
    assert phases["shorten"].overrides == {"shorten.workers": 21}


@pytest.mark.parametrize(
    "nodes, parts, cpus",
    [((2,), 4, 1), ((2,), 1, 2), ((64,), 3, 21), ((32, 32), 3, 16), ((8, 4), 100, 1), ((8, 4), 2, 4)],
)
def test_cpus_per_task_places_every_task_at_once(nodes, parts, cpus):
    assert cpus_per_task(Cluster(nodes, (0,) * len(nodes)), parts) == cpus
    assert sum(n // cpus for n in nodes) >= min(parts, sum(nodes))


def test_generate_gets_one_actor_per_engine_sized_gpu_group(problems):
    recipe = parse_recipe(base_recipe(problems, engine={"tensor_parallel_size": 2}))
    phases = {p.stage: p for p in plan_phases(recipe, active_stages(recipe), 10, Cluster((16, 16), (4, 3)))}
    assert (phases["generate"].shards, phases["generate"].engine, phases["generate"].gpus) == (3, True, 2)
    assert (phases["verify"].engine, phases["verify"].gpus) == (False, 0)
    few = {p.stage: p for p in plan_phases(recipe, active_stages(recipe), 2, Cluster((16, 16), (4, 3)))}
    assert few["generate"].shards == 2  # never more actors than parts


def test_without_gpus_one_engine_actor_on_cpu(problems):
    recipe = parse_recipe(base_recipe(problems))
    generate = plan_phases(recipe, ["generate"], 5, Cluster((2,), (0,)))[0]
    assert (generate.shards, generate.engine, generate.gpus) == (1, True, 0)


def test_an_engine_larger_than_any_node_is_refused(problems):
    recipe = parse_recipe(base_recipe(problems, engine={"tensor_parallel_size": 4}))
    with pytest.raises(UserError, match=r"generate needs 4 GPUs on one node .*tensor_parallel_size.*nodes have 2, 2"):
        plan_phases(recipe, ["generate"], 5, Cluster((8, 8), (2, 2)))


def test_a_judge_on_a_vllm_teacher_makes_verify_an_engine_phase():
    recipe = _traces_recipe(verify={"policy": "judge", "judge": {"teacher": TEACHER, "mode": "rubric"}})
    verify = plan_phases(recipe, ["verify"], 4, Cluster((8,), (2,)))[0]
    assert (verify.stage, verify.shards, verify.engine, verify.gpus, verify.overrides) == ("verify", 2, True, 1, {})


def test_before_ingest_planned_the_run_each_stage_is_one_shard():
    recipe = _traces_recipe()
    assert {p.shards for p in plan_phases(recipe, ["verify", "grade"], None, Cluster((8,), (0,)))} == {1}


class FakeRay(types.ModuleType):
    def __init__(self, initialized=False):
        super().__init__("ray")
        self.calls = []
        self.initialized = initialized

    def is_initialized(self):
        return self.initialized

    def init(self, **kwargs):
        self.calls.append(("init", kwargs))

    def shutdown(self):
        self.calls.append(("shutdown",))


def _connect(monkeypatch, fake, fail=False, **options):
    from pipeline.executors.ray_executor import RayExecutor

    monkeypatch.setitem(sys.modules, "ray", fake)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    with pytest.raises(RuntimeError) if fail else contextlib.nullcontext():
        with RayExecutor(**options)._connected():
            if fail:
                raise RuntimeError("a shard failed")


def test_a_local_instance_is_started_quietly_and_shut_down_even_after_a_failure(monkeypatch):
    fake = FakeRay()
    _connect(monkeypatch, fake, fail=True, num_cpus=2)
    (init, options), shutdown = fake.calls
    assert init == "init" and shutdown == ("shutdown",)
    assert options["address"] is None and options["num_cpus"] == 2
    assert options["include_dashboard"] is False and options["log_to_driver"] is False


def test_a_cluster_is_joined_without_sizing_it_and_a_running_ray_is_left_alone(monkeypatch):
    fake = FakeRay()
    _connect(monkeypatch, fake, address="auto")
    assert fake.calls[0][1]["address"] == "auto" and "num_cpus" not in fake.calls[0][1]
    assert fake.calls[1] == ("shutdown",)  # for a cluster this only disconnects
    running = FakeRay(initialized=True)
    _connect(monkeypatch, running)
    assert running.calls == []


def test_options_that_cannot_apply_are_bad_input(monkeypatch, tmp_path, problems):
    from pipeline.executors import Job
    from pipeline.executors.ray_executor import RayExecutor

    monkeypatch.setitem(sys.modules, "ray", FakeRay())
    with pytest.raises(UserError, match="a running cluster has its own"):
        RayExecutor(address="auto", num_cpus=4)
    recipe = parse_recipe(base_recipe(problems))
    job = Job(
        recipe=recipe, recipe_path=tmp_path / "r.yaml", run_dir=tmp_path / "run", stages=("ingest",), num_shards=2
    )
    with pytest.raises(UserError, match="drop --shard/--num-shards"):
        RayExecutor().run(job)
    assert not (tmp_path / "run").exists()
