"""Layers point one way: process_models ← simulations ← flows ← api.

Inside ``flows``, the running case (``flows/casework``) sits below the Prefect runs: it
never imports Prefect, the web stack or ``api``, so reads and the CLI stay fast.

No module imports itself back through others (no import circle). Every import counts,
at module level or inside a function: an import inside a function only delays loading,
the two modules still depend on each other. Imports under ``if TYPE_CHECKING:`` do not
count (they never run).
"""

import ast
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ["process_models", "simulations", "flows", "api"]
HEAVY = {"prefect", "fastapi", "starlette", "uvicorn"}


def imported_top_levels(path: Path) -> set[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {(a.name.split(".")[0], node.lineno) for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add((node.module.split(".")[0], node.lineno))
    return found


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, modules: set[str]) -> set[str]:
    """The modules of ``modules`` that ``path`` imports anywhere but under TYPE_CHECKING."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    skipped = {id(inner) for node in ast.walk(tree)
               if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
               for child in node.body for inner in ast.walk(child)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module_name(path).split(".")[:None if path.name == "__init__.py"
                                                         else -1]
                base = ".".join([*package[:len(package) - node.level + 1], base]).strip(".")
            found |= {f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                      for alias in node.names}
    return found & modules


def import_graph() -> nx.DiGraph:
    paths = {module_name(p): p for layer in LAYERS for p in (ROOT / layer).rglob("*.py")}
    graph = nx.DiGraph()
    graph.add_nodes_from(paths)
    graph.add_edges_from((name, imported) for name, path in paths.items()
                         for imported in imported_modules(path, set(paths)) if imported != name)
    return graph


def test_no_module_imports_itself_back_through_others():
    """The import graph of the four packages has no circle (see the module docstring)."""
    circles = [sorted(component) for component in nx.strongly_connected_components(import_graph())
               if len(component) > 1]
    assert circles == []


def test_an_import_inside_a_function_counts_and_one_under_type_checking_does_not(tmp_path):
    """Lazy imports and ``from package import module`` are edges of the import graph;
    imports under ``if TYPE_CHECKING:`` are not."""
    module = tmp_path / "m.py"
    module.write_text(
        "from typing import TYPE_CHECKING\n"
        "from flows import casework\n"
        "if TYPE_CHECKING:\n"
        "    from api import main\n"
        "def f():\n"
        "    from flows.runs import request_advance\n", encoding="utf-8")
    known = {"flows", "flows.casework", "flows.runs", "api", "api.main"}
    assert imported_modules(module, known) == {"flows.casework", "flows.runs"}


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


@pytest.mark.parametrize("folder", ["process_models", "simulations", "flows/casework"])
def test_the_definition_the_analysis_and_the_case_never_import_prefect_or_the_web_stack(folder):
    """The simulator and case reads must answer fast: no Prefect, FastAPI or Starlette there."""
    offences = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in sorted((ROOT / folder).rglob("*.py"))
        for name, line in imported_top_levels(path)
        if name in HEAVY | {"api"}
    ]
    assert offences == []


def test_analysis_never_imports_the_database():
    """simulations/ is procedure in, result out: reading the case tables is flows/casework's."""
    database = {"sqlalchemy", "sqlmodel", "psycopg"}  # sqlite3 writes OCEL files: allowed
    offences = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in sorted((ROOT / "simulations").rglob("*.py"))
        for name, line in imported_top_levels(path)
        if name in database
    ]
    assert offences == []


@pytest.mark.slow  # a child process
def test_importing_the_running_case_loads_neither_prefect_nor_the_web_stack():
    """``import flows.casework`` (every module of it) pulls in no heavy package indirectly."""
    script = (
        "import importlib, pkgutil, sys\n"
        "import flows.casework as c\n"
        "for m in pkgutil.iter_modules(c.__path__):\n"
        "    if m.name != 'migrations':\n"
        "        importlib.import_module(f'flows.casework.{m.name}')\n"
        "print(sorted({n.split('.')[0] for n in sys.modules}))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    assert [name for name in HEAVY if repr(name) in loaded] == []


@pytest.mark.parametrize("folder", [*LAYERS, "flows/casework"])
def test_every_layer_has_a_readme_stating_what_it_may_import(folder):
    """Each folder's README says what it may import."""
    text = (ROOT / folder / "README.md").read_text(encoding="utf-8")
    assert "May import" in text


def test_pages_call_service_functions_never_route_handlers():
    """The pages and the routes share service functions (api/case_runner.py,
    api/case_public.py, flows.casework.views); a page never calls a route handler."""
    import importlib

    handlers = [route.endpoint
                for path in (ROOT / "api/routes").glob("[!_]*.py")
                for route in importlib.import_module(f"api.routes.{path.stem}").router.routes]
    tree = ast.parse((ROOT / "api/pages.py").read_text(encoding="utf-8"))
    imported = [
        getattr(importlib.import_module(node.module), alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("api.")
        for alias in node.names
    ]
    assert [f.__name__ for f in imported if any(f is h for h in handlers)] == []
