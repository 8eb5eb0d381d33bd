"""One definition per concept: the code says each thing once and imports it elsewhere."""

import ast
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from process_models.calendar import SERVICE_CENTRE_TZ, local_date, local_time

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["process_models", "simulations", "flows", "api"]


def modules():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def call_name(node: ast.Call) -> str:
    return node.func.attr if isinstance(node.func, ast.Attribute) else getattr(
        node.func, "id", "")


def test_the_service_centre_time_zone_is_defined_once():
    """Only process_models/calendar.py makes a time zone; everyone else imports it."""
    offences = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path, tree in modules()
        for node in ast.walk(tree)
        if (isinstance(node, ast.Call) and call_name(node) in ("timezone", "ZoneInfo"))
        or (isinstance(node, ast.Constant) and node.value == "Asia/Shanghai")
    ]
    assert [place.split(":")[0] for place in offences] == ["process_models/calendar.py"]


@pytest.mark.parametrize(("moment", "day"), [
    (datetime(2025, 1, 24, 23, 59), "2025-01-24"),                   # naive: already local
    (datetime(2025, 1, 23, 16, 0, tzinfo=UTC), "2025-01-24"),        # 00:00 in the centre
    (datetime(2025, 1, 23, 15, 59, tzinfo=UTC), "2025-01-23"),
    (datetime(2025, 1, 24, 0, 30, tzinfo=timezone(timedelta(hours=9))), "2025-01-23"),
])
def test_a_moment_is_read_on_the_service_centres_clock(moment, day):
    """Naive moments are service-centre time; aware ones are converted to UTC+8."""
    assert local_date(moment).isoformat() == day
    assert local_time(moment).tzinfo is SERVICE_CENTRE_TZ
    assert local_time(moment).date() == local_date(moment)


def test_only_the_procedure_tells_which_steps_are_on_the_applicants_path():
    """``Procedure.applicant_steps`` is the one filter of follow-up checks; nobody reads
    ``step.follow_up`` to filter steps again."""
    offences = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path, tree in modules()
        for node in ast.walk(tree)
        if (isinstance(node, ast.Attribute) and node.attr == "follow_up")
        or (isinstance(node, ast.Call) and call_name(node) == "getattr"
            and any(isinstance(a, ast.Constant) and a.value == "follow_up" for a in node.args))
    ]
    assert [place.split(":")[0] for place in offences] == ["process_models/procedure.py"], (
        f"use Procedure.applicant_steps: {offences}")


def is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def test_no_module_imports_a_private_name_of_another():
    """A name another module needs is public (a private module such as ``_rows`` may hold
    public names); a leading underscore means "only this module uses it"."""
    ours = {package.split("/")[0] for package in PACKAGES}
    offences = [
        f"{path.relative_to(ROOT)}:{node.lineno} imports {node.module}.{alias.name}"
        for path, tree in modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
        and node.module.split(".")[0] in ours
        for alias in node.names if is_private(alias.name)
    ]
    assert offences == []
