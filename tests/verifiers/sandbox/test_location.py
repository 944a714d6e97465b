"""The sandbox must work when the interpreter itself lives under /tmp (CI checkouts often do):
its private /tmp must not hide the venv it runs from."""

import os
import subprocess
import sys

import pytest

from helpers import REPO
from verifiers.sandbox import bwrap_path


@pytest.mark.skipif(bwrap_path() is None, reason="bubblewrap not installed")
def test_interpreter_under_tmp(tmp_path):
    assert str(tmp_path).startswith("/tmp")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True)
    script = (
        "from verifiers.code import check\n"
        "v = check({'tests': [{'input': '2\\n', 'output': '4\\n'}]}, '```python\\nprint(2*int(input()))\\n```')\n"
        "print(v.reason, v.detail.get('isolation'))\n"
    )
    site = [p for p in sys.path if p.endswith("-packages")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), *site])}
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.stdout.split() == ["passed", "bwrap"], out.stderr[-2000:]
