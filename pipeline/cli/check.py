"""`distill check math|choice|code`: one model output against a reference, verdict as JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from pipeline.cli.common import fail as _fail
from pipeline.errors import UserError

check_app = typer.Typer(
    help="Check one model output and print the verdict as JSON (no recipe, no run dir).",
    no_args_is_help=True,
    rich_markup_mode=None,
)

CompletionOpt = Annotated[
    Optional[str], typer.Option("--completion", help="The full model output (else --completion-file or stdin).")
]
CompletionFileOpt = Annotated[
    Optional[Path], typer.Option("--completion-file", help="File holding the model output; '-' for stdin.")
]
TimeoutOpt = Annotated[float, typer.Option("--timeout", min=0.1, help="Hard limit: CPU seconds (code: wall seconds).")]


def _completion(text: Optional[str], path: Optional[Path]) -> str:
    if text is not None:
        return text
    if path is None or str(path) == "-":
        return sys.stdin.read()
    if not path.is_file():
        _fail(UserError(f"{path}: completion file not found"))
    return path.read_text()


def _require_gold(gold: str) -> None:
    if not gold.strip():
        _fail(UserError("--gold: the reference answer is empty"))


def _print_verdict(domain: str, reference, completion: str, timeout: float, **context) -> None:
    """The registry's checker, under the same hard time limit the verify stage uses."""
    from verifiers import get_checker, limit_clock
    from verifiers.batch import check_all

    item = (reference, completion, context)
    verdict = check_all(get_checker(domain), [item], timeout_s=timeout, workers=1, clock=limit_clock(domain))[0]
    sys.stdout.write(
        json.dumps({"ok": verdict.ok, "reason": verdict.reason, "detail": verdict.detail}, default=str) + "\n"
    )


@check_app.command("math")
def check_math(
    gold: Annotated[str, typer.Option("--gold", help="Reference answer (LaTeX or plain).")],
    completion: CompletionOpt = None,
    completion_file: CompletionFileOpt = None,
    problem: Annotated[
        Optional[str],
        typer.Option(
            "--problem",
            help="The problem text: an answer that only copies an expression from it "
            "('Evaluate $16^{7/4}$' -> $16^{7/4}$) is then rejected (restates_problem).",
        ),
    ] = None,
    timeout: TimeoutOpt = 10.0,
) -> None:
    """Math: the final answer after </think> (last \\boxed{} first) against the reference, via math-verify."""
    _require_gold(gold)
    _print_verdict("math", gold, _completion(completion, completion_file), timeout, problem=problem)


@check_app.command("choice")
def check_choice(
    gold: Annotated[str, typer.Option("--gold", help="Reference letter, e.g. B.")],
    completion: CompletionOpt = None,
    completion_file: CompletionFileOpt = None,
    timeout: TimeoutOpt = 10.0,
) -> None:
    """Multiple choice: the letter the model committed to after </think> against the reference letter."""
    _require_gold(gold)
    _print_verdict("choice", gold, _completion(completion, completion_file), timeout)


@check_app.command("code")
def check_code(
    problem: Annotated[
        Path,
        typer.Option(
            "--problem", help="JSON file: stdin/stdout 'tests', or 'entry_point'+'test', or MBPP 'test_list'."
        ),
    ],
    completion: CompletionOpt = None,
    completion_file: CompletionFileOpt = None,
    timeout: TimeoutOpt = 120.0,
) -> None:
    """Code: run the last fenced code block of the answer against the problem's tests, in the sandbox."""
    if not problem.is_file():
        _fail(UserError(f"{problem}: problem file not found"))
    try:
        spec = json.loads(problem.read_text())
    except json.JSONDecodeError as exc:
        _fail(UserError(f"{problem}: not valid JSON: {exc}"))
    _print_verdict("code", spec, _completion(completion, completion_file), timeout)
