"""The fast tier (`make check`, ``-m "not slow"``) leaves out exactly what tests/conftest.py
and the test files mark slow."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
FILES = ("test_cases_store.py", "test_flows.py", "test_browser.py", "test_schemathesis.py",
         "test_cpm.py")


@pytest.fixture(scope="module")
def slow() -> dict[str, dict[str, bool]]:
    """:data:`FILES` collected in a session of their own: file → test name → marked slow."""

    marks: dict[str, dict[str, bool]] = {}

    class Capture:
        @pytest.hookimpl(trylast=True)
        def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
            for item in items:
                path, name = item.nodeid.split("::", 1)
                marks.setdefault(Path(path).name, {})[name] = bool(item.get_closest_marker("slow"))

    assert pytest.main(["--collect-only", "-q", *(str(TESTS / f) for f in FILES)],
                       plugins=[Capture()]) == 0
    return marks


def test_the_postgresql_side_of_the_engine_fixture_is_slow_and_the_sqlite_side_is_not(slow):
    """The rule reads the parameter: the same test is fast on SQLite, slow on PostgreSQL."""
    marks = slow["test_cases_store.py"]
    postgresql = [mark for name, mark in marks.items() if name.endswith("[postgresql]")]
    sqlite = [mark for name, mark in marks.items() if name.endswith("[sqlite]")]
    assert postgresql and all(postgresql)
    assert sqlite and not any(sqlite)


@pytest.mark.parametrize("file", ["test_flows.py", "test_browser.py", "test_schemathesis.py"])
def test_prefect_chromium_and_schemathesis_tests_are_all_slow(slow, file):
    """Prefect by its fixture, the browser and Schemathesis by their modules' marks."""
    assert slow[file] and all(slow[file].values())


def test_pure_analysis_tests_stay_in_the_fast_tier(slow):
    assert slow["test_cpm.py"] and not any(slow["test_cpm.py"].values())


def _starts_a_child_process(function: ast.FunctionDef, helpers: dict[str, ast.FunctionDef],
                            seen: frozenset[str] = frozenset()) -> bool:
    """Whether ``function`` calls ``subprocess``, itself or through a helper of its file."""
    for node in ast.walk(function):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id == "subprocess"):
            return True
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in helpers.keys() - seen
                and _starts_a_child_process(helpers[node.func.id], helpers,
                                            seen | {node.func.id})):
            return True
    return False


def test_every_test_that_starts_a_child_process_is_marked_slow():
    """A child process (the CLI, the service, an import probe) costs a second or more, so the
    test carries ``pytest.mark.slow``, or its module does."""
    unmarked = []
    for path in sorted(TESTS.glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if any(isinstance(node, ast.Assign) and "pytestmark" in ast.unparse(node.targets[0])
               and "slow" in ast.unparse(node.value) for node in tree.body):
            continue
        functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
        helpers = {name: f for name, f in functions.items() if not name.startswith("test_")}
        unmarked += [f"{path.name}::{name}" for name, f in functions.items()
                     if name.startswith("test_") and _starts_a_child_process(f, helpers)
                     and not any("slow" in ast.unparse(d) for d in f.decorator_list)
                     and "prefect_harness" not in ast.unparse(f.args)]
    assert unmarked == []
