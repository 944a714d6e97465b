"""The package as users install it: declared dependencies, and a non-editable wheel install
that finds its bundled prompts, benchmarks and recipes from any directory."""

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

from helpers import REPO

FIRST_PARTY = {"pipeline", "verifiers"}
# Imported on purpose without being declared: torch arrives with vLLM (the cpu/gpu extras) and
# is only imported behind an ImportError guard.
UNDECLARED_OK = {"torch"}


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> tuple[set[str], set[str]]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    names = lambda specs: {_normalize(re.split(r"[\[<>=!~ ;]", s, maxsplit=1)[0]) for s in specs}  # noqa: E731
    return names(project["dependencies"]), names(
        s for group in project["optional-dependencies"].values() for s in group
    )


def _imported_modules() -> dict[str, set[str]]:
    """Top-level third-party modules imported anywhere in the product code -> files importing them."""
    found: dict[str, set[str]] = {}
    for path in [*REPO.glob("pipeline/**/*.py"), *REPO.glob("verifiers/**/*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module]
                if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
                else []
            )
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in FIRST_PARTY and not top.startswith("_"):
                    found.setdefault(top, set()).add(str(path.relative_to(REPO)))
    return found


def test_every_imported_package_is_declared_and_every_core_dependency_is_used():
    core, extras = _declared()
    dists = packages_distributions()
    imported = _imported_modules()
    missing = {
        m: sorted(files)
        for m, files in imported.items()
        if m not in UNDECLARED_OK and not {_normalize(d) for d in dists.get(m, [m])} & (core | extras)
    }
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"
    used = {_normalize(d) for m in imported for d in dists.get(m, [m])}
    assert core - used == set(), f"declared but never imported: {core - used}"


@pytest.fixture(scope="module")
def wheel_env(tmp_path_factory):
    """A fresh venv with the wheel installed (no editable path to the source tree); the test
    interpreter's site-packages supply the dependencies, without their .pth hooks."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "src"  # a copy: building in place would leave build/ in the checkout
    tracked = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    for name in tracked:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, source / name)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(source),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp / "dist"),
        ],
        check=True,
        capture_output=True,
        cwd=tmp,
    )
    wheel = next((tmp / "dist").glob("cotdistill-*.whl"))
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True, capture_output=True
    )
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(site) / "deps-from-test-venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    work = tmp / "elsewhere"
    work.mkdir()
    return venv, work


def _run(venv: Path, work: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(
        args, capture_output=True, text=True, cwd=work, env={**env, "HF_HUB_OFFLINE": "1"}, timeout=300
    )


def test_wheel_install_runs_from_another_directory_with_its_bundled_files(wheel_env):
    venv, work = wheel_env
    where = _run(
        venv,
        work,
        str(venv / "bin/python"),
        "-c",
        "import pipeline, verifiers; from pipeline.prompts import load_template; "
        "from pipeline.resources import resource_dir; load_template('math_boxed'); "
        "print(pipeline.__file__, verifiers.__file__, resource_dir('prompts'))",
    )
    assert where.returncode == 0, where.stderr[-2000:]
    assert all(str(venv) in p and str(REPO) not in p for p in where.stdout.split()), where.stdout

    math500 = json.loads((REPO / "data/benchmarks/math500.jsonl").open().readline())
    (work / "in.jsonl").write_text(
        json.dumps({"problem": math500["problem"]})
        + "\n"
        + json.dumps({"problem": "A problem no benchmark has: 17 red kites."})
        + "\n"
    )
    out = _run(
        venv,
        work,
        str(venv / "bin/distill"),
        "decontaminate",
        "--input",
        "in.jsonl",
        "--out",
        "clean",
        "--benchmarks",
        "math500",
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert (json.loads(out.stdout)["kept"], json.loads(out.stdout)["removed"]) == (1, 1)

    recipe = Path(where.stdout.split()[2]).parent / "recipes" / "quickstart.yaml"
    status = _run(
        venv,
        work,
        str(venv / "bin/python"),
        "-c",
        f"from pipeline.recipe import load_recipe; print(load_recipe({str(recipe)!r}).ingest.sources[0].path)",
    )
    assert status.returncode == 0 and Path(status.stdout.strip()).is_file(), status.stderr[-2000:]

    # The bring-your-own-traces recipe needs no model: it runs from the installed files alone.
    byo = _run(venv, work, str(venv / "bin/distill"), "run", str(recipe.with_name("byo_traces.yaml")), "--quiet")
    assert byo.returncode == 0, byo.stdout[-2000:] + byo.stderr[-2000:]
    assert (work / "runs/byo_traces/pairs").is_dir() and any((work / "runs/byo_traces/export").glob("part-*.parquet"))

    spec = work / "p.json"
    spec.write_text(json.dumps({"tests": [{"input": "2\n", "output": "4\n"}]}))
    code = _run(
        venv,
        work,
        str(venv / "bin/distill"),
        "check",
        "code",
        "--problem",
        str(spec),
        "--completion",
        "<think>x</think>\n```python\nprint(2*int(input()))\n```",
    )
    assert code.returncode == 0 and json.loads(code.stdout)["reason"] == "passed", code.stderr[-2000:]
