"""`distill serve-embedded`: vLLM's OpenAI-compatible server on an embedded teacher."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from pipeline.cli.common import handle_errors


@handle_errors
def serve_embedded(
    teacher: Annotated[str, typer.Option("--teacher", help="Embedded teacher to serve.")] = "embedded:smollm2-135m",
    host: Annotated[str, typer.Option("--host", help="Address to bind; loopback keeps it private.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.")] = 8011,
    max_model_len: Annotated[Optional[int], typer.Option("--max-model-len", help="Context length.")] = None,
) -> None:
    """Serve an embedded teacher with vLLM's OpenAI-compatible server (for backend: openai).

    The model is served under its teacher name, so a recipe teacher entry reads
    {model: embedded:smollm2-135m, backend: openai, base_url: http://127.0.0.1:8011/v1}.
    """
    from pipeline.backends.serve import exec_server

    exec_server(teacher, host, port, max_model_len)
