"""Layers point one way: process_models ← simulations ← flows ← api."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ["process_models", "simulations", "flows", "api"]


def imported_top_levels(path: Path) -> set[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {(a.name.split(".")[0], node.lineno) for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add((node.module.split(".")[0], node.lineno))
    return found


@pytest.mark.parametrize("layer", LAYERS)
def test_no_layer_imports_a_layer_above_it(layer):
    """A module may import its own layer and those below, never one above."""
    above = set(LAYERS[LAYERS.index(layer) + 1 :])
    offences = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in sorted((ROOT / layer).rglob("*.py"))
        for name, line in imported_top_levels(path)
        if name in above
    ]
    assert offences == []


@pytest.mark.parametrize("layer", ["process_models", "simulations"])
def test_domain_and_analysis_never_import_prefect_or_the_web_stack(layer):
    """The simulator must answer fast: no Prefect, FastAPI or Starlette below flows/."""
    heavy = {"prefect", "fastapi", "starlette", "uvicorn"}
    offences = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in sorted((ROOT / layer).rglob("*.py"))
        for name, line in imported_top_levels(path)
        if name in heavy
    ]
    assert offences == []


def test_every_layer_has_a_readme_stating_what_it_may_import():
    for layer in LAYERS:
        text = (ROOT / layer / "README.md").read_text(encoding="utf-8")
        assert "May import" in text
