"""The package layout is the architecture: every import goes down the pipeline's layers, never up."""

from __future__ import annotations

import ast
from pathlib import Path

import cltc_tools

ROOT = Path(cltc_tools.__file__).parent
# data -> embeddings -> align -> training -> report, over the formats (io) and the tokenizer (text).
LAYERS = {"errors": 0, "registry": 0, "io": 1, "text": 1, "datasets": 2, "embeddings": 2, "align": 2,
          "training": 3, "report": 4, "cli": 5}
CROSS_CUTTING = {"__init__.py", "errors.py", "registry.py"}


def package_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "cltc_tools":
        return None
    return parts[1] if len(parts) > 1 else ""


def imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names.extend(f"{node.module}.{alias.name}" for alias in node.names if node.module == "cltc_tools")
    return names


def test_the_top_level_holds_packages_only():
    files = {p.name for p in ROOT.iterdir() if p.is_file() and p.suffix == ".py"}
    assert files <= CROSS_CUTTING
    packages = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages == set(LAYERS) - {"errors", "registry"}
    for package in packages:
        assert ast.get_docstring(ast.parse((ROOT / package / "__init__.py").read_text())), package


def test_no_import_goes_up_a_layer_or_across_siblings():
    wrong = []
    for path in ROOT.rglob("*.py"):
        own = path.relative_to(ROOT).parts[0].removesuffix(".py")
        if own == "__init__":
            continue
        for name in imports(path):
            other = package_of(name)
            if other is None or other == "" or other == own or other not in LAYERS:
                continue
            if LAYERS[other] > LAYERS[own] or (LAYERS[other] == LAYERS[own] == 2):
                wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    assert wrong == []
