"""The guest files run inside the box under ``python -I -S``: stdlib only, no ``verifiers``."""

import ast
import subprocess
import sys

import pytest

from verifiers.sandbox import GUEST_DIR, bwrap_path, run_python
from verifiers.sandbox.guest import BOX_NAMES, box_files
from verifiers.sandbox.guest.common import MEMORY_EXIT

BOX_MODULES = {name.removesuffix(".py") for name in BOX_NAMES.values()}


def _imported(path) -> set[str]:
    """Top-level names of every module a file imports, nested (lazy) imports included."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}: relative import"  # there is no package in the box
            names.add(node.module.split(".")[0])
    return names


def test_every_guest_file_has_a_box_name():
    assert {p.name for p in GUEST_DIR.glob("*.py")} - {"__init__.py"} == set(BOX_NAMES)


@pytest.mark.parametrize("name", sorted(BOX_NAMES))
def test_guest_file_imports_only_stdlib_and_guest_files(name):
    foreign = _imported(GUEST_DIR / name) - set(sys.stdlib_module_names) - BOX_MODULES
    assert foreign == set()


def test_guest_files_import_alone(tmp_path):
    """Copied under their box names into a bare dir, each imports without site-packages."""
    for box_name, text in box_files(*BOX_NAMES).items():
        (tmp_path / box_name).write_text(text)
    script = (
        f"import importlib.util, sys; assert importlib.util.find_spec('verifiers') is None; "
        f"sys.path.insert(0, {str(tmp_path)!r}); " + "; ".join(f"import {m}" for m in sorted(BOX_MODULES))
    )
    out = subprocess.run(
        [sys.executable, "-I", "-S", "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert out.returncode == 0, out.stderr[-2000:]


@pytest.mark.parametrize("mode", ["bwrap", "rlimits"])
def test_boot_finds_common_beside_itself_and_reports_memory_exit(mode):
    if mode == "bwrap" and not bwrap_path():
        pytest.skip("bwrap unavailable")
    prog = "import sys\nprint(sys.argv[0], sys.path[0], sys.path.count(sys.path[0]), flush=True)\nraise MemoryError"
    res = run_python({"main.py": prog}, "main.py", mode=mode)
    assert (res.returncode, res.memory_error, res.isolation) == (MEMORY_EXIT, True, mode), res.stderr_tail
    main, box, count = res.stdout.decode().split()
    assert main == box + "/main.py" and count == "1"  # the program's path: its own dir first, once
