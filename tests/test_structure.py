"""The package's shape: its layers (README: How it works), no import circle (imports inside functions
count too), no module over 600 lines."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "poetry_rnn"
MAX_LINES = 600


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported_modules(path: Path, name: str, modules: dict[str, Path]) -> set[str]:
    """The package's modules that `path` imports anywhere in its body (at module level, in functions, under
    `if TYPE_CHECKING`). `from package import name` is an edge to the submodule `package.name` when there is
    one, else to the package itself; importing a submodule is not counted as importing its parent package."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                found.add(submodule if submodule in modules else target)
    return {module for module in found if module in modules and module != name}


def import_graph() -> dict[str, set[str]]:
    modules = package_modules()
    return {name: imported_modules(path, name, modules) for name, path in modules.items()}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [cycle_through(graph, component) for component in components]


def cycle_through(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """A shortest path from the component's first module back to itself: a readable example of the circle."""
    start, members = component[0], set(component)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(graph[node] & members):
                if target == start:
                    return [*paths[node], start]
                if target not in paths:
                    paths[target] = [*paths[node], target]
                    following.append(target)
        frontier = following
    return component


def test_the_graph_sees_module_and_function_level_imports():
    graph = import_graph()
    assert "poetry_rnn.errors" in graph["poetry_rnn.cli"]  # a module-level import
    assert "poetry_rnn.tokenizer.registry" in graph["poetry_rnn.tokenizer"]  # a package's re-export
    assert "poetry_rnn.keywords" in graph["poetry_rnn.training.data"]  # an import inside a function


def test_find_cycles_finds_a_lazy_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycles(graph) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circles():
    cycles = find_cycles(import_graph())
    assert not cycles, "import circles:\n" + "\n".join(" -> ".join(cycle) for cycle in cycles)


# Each top-level module or subpackage in its layer; a module imports only from its own layer and those below.
LAYERS = {
    # 1. ground
    "poetry_rnn": 1, "errors": 1, "refusals": 1, "files": 1, "script": 1, "cache": 1, "lazy_import": 1,
    "cleaning": 1,
    # 2. tokens and the network, no knowledge of verse
    "tokenizer": 2, "model": 2,
    # 3. corpus, conditioning format, keywords, the rules of verse, measures of text
    "corpus": 3, "format": 3, "keywords": 3, "prosody": 3, "quality": 3, "perplexity": 3, "prepared": 3,
    # 4. decoding under the rules; training
    "decoding": 4, "training": 4,
    # 5. the public generator
    "generation": 5,
    # 6. faces
    "app": 6, "evaluate": 6, "blind": 6, "cli": 6, "__main__": 6, "train": 6,
}  # fmt: skip


def layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def test_every_module_has_a_layer():
    missing = sorted({layer_of(name) for name in package_modules()} - set(LAYERS))
    assert not missing, f"place these in LAYERS (and in README's How it works): {missing}"


def test_no_module_imports_from_a_higher_layer():
    upward = sorted(
        f"{name} (layer {LAYERS[layer_of(name)]}) imports {target} (layer {LAYERS[layer_of(target)]})"
        for name, targets in import_graph().items()
        for target in targets
        if LAYERS.get(layer_of(target), 0) > LAYERS.get(layer_of(name), 99)
    )
    assert not upward, "imports from a higher layer:\n" + "\n".join(upward)


def test_no_module_over_600_lines():
    too_long = {
        str(path.relative_to(PACKAGE.parent)): count
        for path in sorted(PACKAGE.rglob("*.py"))
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not too_long, f"modules over {MAX_LINES} lines: {too_long}"


def test_readme_stays_a_page_for_users():
    # the house rule: what it is, how to run it, current results; a development log belongs in git
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 250
    for log_word in ("this session", "load average", "session's", "lent for"):
        assert log_word not in readme.lower()


def test_readme_shows_every_layered_module_in_its_tree():
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    start = readme.index("```\npoetry_rnn/")
    tree = readme[start : readme.index("```", start + 3)]
    missing = [m for m in LAYERS if m not in ("poetry_rnn", "__main__") and not re.search(rf"\b{m}\b", tree)]
    assert not missing, f"README's How it works leaves out {missing}"
