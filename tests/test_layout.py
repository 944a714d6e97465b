"""The architecture as the style guide draws it: no import cycles, arrows pointing one way
(``cli -> executors -> runner -> stages -> (store, backends, verifiers)``), and ``verifiers``
usable alone. Checked on the source (every import, including ones inside functions)."""

import ast
from pathlib import Path

from helpers import REPO


def _module(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def _imports(tree: ast.AST) -> list[tuple[str, list[str]]]:
    out = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            continue  # annotations only: not executed
        if isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append((node.module, [a.name for a in node.names]))
        stack.extend(ast.iter_child_nodes(node))
    return out


def _graph() -> dict[str, set[str]]:
    files = [p for pkg in ("pipeline", "verifiers") for p in (REPO / pkg).rglob("*.py") if "guest" not in p.parts]
    modules = {_module(p): p for p in files}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges = graph.setdefault(name, set())
        for target, names in _imports(ast.parse(path.read_text())):
            if target.split(".")[0] not in ("pipeline", "verifiers"):
                continue
            subs = [f"{target}.{n}" for n in names if f"{target}.{n}" in modules]
            edges.update(subs or [target])
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    assert _cycles(_graph()) == []


def test_verifiers_import_nothing_from_pipeline():
    leaks = {
        m: sorted(t for t in ts if t.startswith("pipeline")) for m, ts in _graph().items() if m.startswith("verifiers")
    }
    assert {m: t for m, t in leaks.items() if t} == {}


def test_arrows_point_one_way():
    graph = _graph()
    layers = [  # a module in a layer imports nothing from the layers listed after it
        ("pipeline.stages", ("pipeline.runner", "pipeline.executors", "pipeline.cli", "pipeline.status")),
        ("pipeline.runner", ("pipeline.executors", "pipeline.cli", "pipeline.status")),
        ("pipeline.executors", ("pipeline.cli",)),
        ("pipeline.backends", ("pipeline.stages", "pipeline.runner", "pipeline.executors", "pipeline.cli")),
        ("pipeline.store", ("pipeline.stages", "pipeline.runner", "pipeline.executors", "pipeline.cli")),
    ]
    wrong = []
    for layer, above in layers:
        for module, targets in graph.items():
            if module == layer or module.startswith(layer + "."):
                wrong += [f"{module} -> {t}" for t in targets if t.startswith(above)]
    assert wrong == []


def test_leaves_import_only_leaves():
    graph = _graph()
    leaves = {"pipeline.errors", "pipeline.rows", "pipeline.progress", "pipeline.resources"}
    allowed = leaves | {"pipeline.dedup.config"}  # the recipe's dedup sections are the library's configs
    for leaf in leaves | {"pipeline.recipe"}:
        assert graph[leaf] <= allowed, (leaf, graph[leaf] - allowed)
