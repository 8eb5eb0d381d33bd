"""Shared fixtures."""

from pathlib import Path

import pytest
from hypothesis import settings

from process_models.catalog import CATALOG_DIR, catalog_ids
from tests.api_fixtures import (  # noqa: F401
    accounts,
    app,
    auth,
    case_id,
    client,
    page_login,
    password_hash,
)
from tests.store_fixtures import (  # noqa: F401
    engine,
    postgres_engine,
    postgres_url,
    session,
    sqlite_engine,
    sqlite_template,
)

ROOT = Path(__file__).resolve().parent.parent

#: ``make check`` runs ``--hypothesis-profile fast``: every property test tries at most this many
#: examples. ``make test`` (and CI) keeps the default profile and each test's own count.
FAST_EXAMPLES = 10
settings.register_profile("fast", max_examples=FAST_EXAMPLES)


@pytest.fixture
def run_cli(capsys):
    """Run the ``onething`` CLI in-process; returns (exit code, stdout, stderr)."""
    from api.cli import run

    def _run(*args: str):
        code = run([str(a) for a in args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return _run


@pytest.fixture(params=catalog_ids())
def catalog_file(request) -> Path:
    """Each catalog procedure file in turn."""
    return CATALOG_DIR / f"{request.param}.yaml"


@pytest.fixture(scope="session")
def prefect_harness():
    """One Prefect test harness (temporary API and database) for the whole test session.

    Started by the first test that asks for it (10–20 s here), stopped at the end.
    Yields the API URL, for child processes.
    """
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    import flows  # noqa: F401  (its start-up settings)

    with prefect_test_harness(server_startup_timeout=120):
        yield PREFECT_API_URL.value()


def is_slow(item: pytest.Item) -> bool:
    """The rule of the fast tier (`make check`, ``-m "not slow"``): a test is slow when it
    needs PostgreSQL (a ``postgres*`` fixture, or the ``postgresql`` side of a parametrized
    one such as ``engine``) or the Prefect harness. Whole modules that need Chromium,
    Schemathesis or a server in a child process say so with ``pytestmark = pytest.mark.slow``,
    single tests with ``@pytest.mark.slow``."""
    if "prefect_harness" in getattr(item, "fixturenames", ()):
        return True
    if any("postgres" in name for name in getattr(item, "fixturenames", ())):
        return True
    callspec = getattr(item, "callspec", None)
    return callspec is not None and "postgresql" in callspec.params.values()


def cap_examples(test) -> None:
    """Under the ``fast`` profile, cap a property test's own ``max_examples`` (a count written
    in ``@settings`` outranks the profile) at :data:`FAST_EXAMPLES`; other tests are left as
    they are."""
    own = getattr(test, "_hypothesis_internal_use_settings", None)
    if own is not None and own.max_examples > FAST_EXAMPLES:
        test._hypothesis_internal_use_settings = settings(own, max_examples=FAST_EXAMPLES)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    fast = settings.get_current_profile_name() == "fast"
    for item in items:
        if is_slow(item):
            item.add_marker(pytest.mark.slow)
        elif fast and isinstance(item, pytest.Function):
            cap_examples(item.obj)
