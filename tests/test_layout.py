"""The house's rules, read from the code's own imports: no import circle between the package's
modules or its rooms (data, model, ...), kfp imported by the KFP layer alone, and the package
never reaching up into components/ or pipeline.py."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).parent.parent
PACKAGE = REPO / "src" / "glasses"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def package_graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {
        name: {m for m in imports_of(path) if m in modules and m != name}
        for name, path in modules.items()
    }


def cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import circle of ``graph``, or []."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return []


def room(module: str) -> str:
    """glasses.data.ingest -> glasses.data; glasses.storage -> glasses.storage."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def test_no_module_imports_itself_round_a_circle() -> None:
    assert cycle(package_graph()) == []


def test_no_room_imports_another_that_imports_it_back() -> None:
    """Stages stand on each other: data below model, model below evaluation, ... (a package's
    face, glasses.synth importing glasses.synth.dataset, is the room itself)."""
    rooms: dict[str, set[str]] = {}
    for module, imported in package_graph().items():
        rooms.setdefault(room(module), set()).update(
            room(m) for m in imported if room(m) != room(module)
        )
    assert cycle(rooms) == []


def test_kfp_is_the_kfp_layers_alone() -> None:
    for path in PACKAGE.rglob("*.py"):
        reached = {m.split(".")[0] for m in imports_of(path)}
        assert not reached & {"kfp", "components", "pipeline"}, path
    layer = {p for p in (REPO / "components").rglob("*.py")} | {REPO / "pipeline.py"}
    for path in REPO.rglob("*.py"):
        if any(part in {".venv", "tests", ".git", "benchmarks"} for part in path.parts):
            continue
        if "kfp" in {m.split(".")[0] for m in imports_of(path)}:
            assert path in layer, path


def test_the_cycle_finder_finds_one() -> None:
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) == []


def test_no_source_file_is_ignored_by_git() -> None:
    """A module that .gitignore hides (a `data/` rule once hid src/glasses/data/) is missing
    from every clone and image."""
    import shutil
    import subprocess

    if shutil.which("git") is None or not (REPO / ".git").exists():
        return  # not a checkout: nothing can be ignored
    ignored = subprocess.run(
        ["git", "ls-files", "--others", "--ignored", "--exclude-standard", "src", "components",
         "tests", "benchmarks", "docs", "docker", "manifests"],
        capture_output=True, text=True, cwd=REPO, check=True,
    ).stdout.split()  # fmt: skip
    assert [p for p in ignored if "__pycache__" not in p and ".egg-info" not in p] == []
