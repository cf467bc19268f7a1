"""The library's floors: a module imports only from its own package and the floors below it.

The order is read from the import graph (an AST walk of every module), so it stays true as
the library grows; a new subpackage must be given a floor here before it can land.
"""

import ast
from pathlib import Path

import pytest

LIBRARY = Path(__file__).resolve().parents[1] / "snippets"

# Lower number, lower floor. Packages on the same floor do not import each other.
FLOORS = {
    "layers": 0,
    "tokenizers": 0,
    "models": 1,
    "training": 2,
    "embeddings": 3,
    "adaptation": 3,
    "inference": 3,  # serving trained models: speculative and constrained decoding
    "retrieval": 4,
    "__main__": 5,  # the command line, on top
}


def package_of(module: str) -> str | None:
    """'snippets.models.gpt' -> 'models'; None for anything outside the library."""
    parts = module.split(".")
    if parts[0] != "snippets":
        return None
    return parts[1] if len(parts) > 1 else ""


def imported_modules(path: Path, root: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) for every import in one file, relative ones resolved."""
    here = ["snippets", *path.relative_to(root).with_suffix("").parts]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # from . import x / from ..models import gpt
                base = here[:-node.level]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module == "snippets":  # from snippets import models
                found += [(node.lineno, f"snippets.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, module))
    return found


def violations(root: Path) -> list[str]:
    """Every import in the tree at `root` (a `snippets` folder) that goes up or sideways."""
    problems = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        source = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        if source == "__init__":
            continue  # the top-level package docstring and version
        if source not in FLOORS:
            problems.append(f"{rel}: package {source!r} has no floor in FLOORS")
            continue
        for line, module in imported_modules(path, root):
            target = package_of(module)
            if target is None or target == source:
                continue
            if target not in FLOORS:
                problems.append(f"{rel}:{line} imports {module}, which has no floor")
            elif FLOORS[target] >= FLOORS[source]:
                problems.append(f"{rel}:{line} imports {module}: floor {FLOORS[target]} "
                                f"({target}) is not below floor {FLOORS[source]} ({source})")
    return problems


def test_every_import_in_the_library_goes_down():
    assert violations(LIBRARY) == []


def test_every_package_of_the_library_has_a_floor():
    packages = {p.name for p in LIBRARY.iterdir() if (p / "__init__.py").is_file()}
    assert packages <= set(FLOORS)


def write(root: Path, rel: str, code: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(code, encoding="utf-8")


@pytest.mark.parametrize("code", [
    "from snippets.models.gpt import GPT\n",
    "import snippets.models.gpt\n",
    "from snippets import models\n",
    "from ..models import gpt\n",
])
def test_a_lower_module_importing_a_higher_one_is_caught(tmp_path, code):
    write(tmp_path, "layers/attention.py", code)
    write(tmp_path, "models/gpt.py", "from snippets.layers.attention import KVCache\n")
    [problem] = violations(tmp_path)
    assert problem.startswith("layers/attention.py:1 imports snippets.models")


def test_peers_on_one_floor_do_not_import_each_other(tmp_path):
    write(tmp_path, "tokenizers/bpe.py", "from snippets.layers.attention import sdpa\n")
    assert "floor 0 (layers) is not below floor 0 (tokenizers)" in violations(tmp_path)[0]


def test_a_package_without_a_floor_is_caught(tmp_path):
    write(tmp_path, "misc/helpers.py", "import math\n")
    assert violations(tmp_path) == ["misc/helpers.py: package 'misc' has no floor in FLOORS"]
