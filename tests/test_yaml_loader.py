"""Every YAML file onething reads goes through one safe loader: no aliases, no duplicate
keys, no unknown tags, bounded nesting, and a value its tag cannot read is one located line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from process_models.calendar import WorkingCalendar
from process_models.errors import (
    CalendarError,
    CapacityError,
    OnethingError,
    ProcedureSyntaxError,
    ScenarioError,
)
from process_models.loading import load_procedure
from process_models.yaml_loader import MAX_NESTING_LEVELS, load_yaml
from simulations.capacity.plans import load_arrivals, load_staff
from simulations.planning.scenario import load_scenario
from tests.strategies import alias_bomb
from tests.test_procedure_errors import GOOD

LOADERS = [
    pytest.param(load_procedure, ProcedureSyntaxError, id="procedure"),
    pytest.param(load_scenario, ScenarioError, id="scenario"),
    pytest.param(WorkingCalendar, CalendarError, id="calendar-override"),
    pytest.param(load_staff, CapacityError, id="staff"),
    pytest.param(load_arrivals, CapacityError, id="arrivals"),
]


def load(loader, tmp_path, text: str):
    path = tmp_path / "input.yaml"
    path.write_text(text, encoding="utf-8")
    return loader([path]) if loader is WorkingCalendar else loader(path)


@pytest.mark.parametrize("loader, error", LOADERS)
def test_an_alias_bomb_is_refused_by_every_yaml_loader_naming_the_first_alias(
        tmp_path, loader, error):
    """Aliases expand a few hundred bytes into billions of nodes: every loader refuses them."""
    with pytest.raises(error, match=r"input.yaml:2: a1\[0\]: aliases \(\*name\) are not allowed"):
        load(loader, tmp_path, alias_bomb(6))


@pytest.mark.parametrize("text, line", [
    ("a: &x 1\nb: *x\n", 2),
    ("a: &x {b: 1}\nc:\n- 1\n- *x\n", 4),
    ("a: &x k\n*x : 1\n", 2),
    ("a: &x [*x]\n", 1),
])
def test_any_alias_is_refused_at_its_own_line(text, line):
    """Aliases of scalars, of mappings, used as keys or pointing at themselves: all refused."""
    with pytest.raises(ProcedureSyntaxError, match=rf"^f.yaml:{line}: .*aliases"):
        load_yaml(text, file="f.yaml")


@pytest.mark.parametrize("loader, error", LOADERS)
def test_a_duplicate_key_is_refused_naming_both_lines(tmp_path, loader, error):
    """YAML keeps the last of two equal keys silently; a file with one is refused."""
    with pytest.raises(error, match=r"input.yaml:3: name: duplicate key 'name' \(first on line 1\)"):
        load(loader, tmp_path, "name: a\nnote: b\nname: c\n")


def test_a_duplicate_key_inside_a_step_names_the_step():
    text = GOOD.replace("  committed: {days: 3}\n", "  committed: {days: 3}\n  committed: {days: 99}\n")
    with pytest.raises(ProcedureSyntaxError,
                       match=r"^shop.yaml:13: steps\[0\].committed: duplicate key 'committed' "
                             r"\(first on line 12\); keep one$"):
        load_yaml(text, file="shop.yaml")


@pytest.mark.parametrize("value, message", [
    ("2025-02-30", (r"'2025-02-30' is not a valid date \(day is out of range for month\); "
                    "write a real date as YYYY-MM-DD, or quote it")),
    ("2025-13-45", r"'2025-13-45' is not a valid date \(month must be in 1..12\)"),
    ('!!int "abc"', r"'abc' is not a valid whole number; write a whole number, or quote it"),
    ('!!int ""', r"'' is not a valid whole number;"),
    ('!!float "x"', r"'x' is not a valid number;"),
    ('!!float ""', r"'' is not a valid number;"),
    ("!!bool maybe", r"'maybe' is not a valid true/false value;"),
    ('!!timestamp "soon"', r"'soon' is not a valid date; write a real date"),
    ("!!binary 'a'", r"'a' is not a valid base64 value;"),
    ("!unknown x", r"the tag '!unknown' is not supported here; remove it"),
    ("!!python/object:os.system x", r"the tag 'tag:yaml.org,2002:python/object:os.system'"),
    ("!!set {a: null}", r"the tag 'tag:yaml.org,2002:set' is not supported"),
    ("!!omap [a: 1]", r"the tag 'tag:yaml.org,2002:omap' is not supported"),
])
def test_a_value_its_tag_cannot_read_is_one_located_line(tmp_path, value, message):
    """A bad date or tag names the file, line, field and value, never a bare ValueError."""
    text = f"id: shop\nname: 开店\neffective_date: {value}\nsteps: []\n"
    with pytest.raises(ProcedureSyntaxError, match=rf"/shop.yaml:3: effective_date: {message}"):
        load_procedure(_write(tmp_path, text))


def _write(tmp_path, text: str):
    path = tmp_path / "shop.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("text", [
    "a: " + "[" * (MAX_NESTING_LEVELS + 1) + "]" * (MAX_NESTING_LEVELS + 1),
    "".join("  " * i + f"k{i}:\n" for i in range(MAX_NESTING_LEVELS + 1)) + "  " * 51 + "v\n",
])
def test_nesting_deeper_than_the_limit_is_refused(text):
    """Deep nesting costs stack and repr time further on; no onething file needs it."""
    with pytest.raises(ProcedureSyntaxError, match=f"nested more than {MAX_NESTING_LEVELS} levels"):
        load_yaml(text, file="deep.yaml")


def test_nesting_past_libyamls_own_limit_is_a_malformed_yaml_line():
    with pytest.raises(ProcedureSyntaxError, match=r"^deep.yaml:1: malformed YAML: .*nesting"):
        load_yaml("[" * 100_000, file="deep.yaml")


def test_a_calendar_override_keeps_every_value_as_written_text():
    """Override files are read as text (their own parser reads dates and times)."""
    data, _ = load_yaml("closures: [2025-03-14]\nname: 1.5\n", plain=True)
    assert data == {"closures": ["2025-03-14"], "name": "1.5"}


def test_a_bad_date_in_a_scenario_is_a_scenario_error(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("levers: [{lever: online}]\nnote: 2025-02-30\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"^.*s.yaml:2: note: '2025-02-30' is not a valid date"):
        load_scenario(path)


@pytest.mark.parametrize("text", ["a: [1\n", "\x00", "a: b: c\n", "--- a\n--- b\n", "@x\n"])
def test_malformed_yaml_is_one_line(text):
    with pytest.raises(OnethingError) as info:
        load_yaml(text, file="m.yaml")
    assert "\n" not in str(info.value) and str(info.value).startswith("m.yaml")


def test_a_control_character_is_named_at_its_line():
    with pytest.raises(ProcedureSyntaxError, match=r"^m.yaml:2: character U\+0000 is not allowed "
                                                  r"in YAML \(control characters are not allowed\)"):
        load_yaml("id: x\nname: a\x00b\n", file="m.yaml")


def onething(*args: str, cwd) -> subprocess.CompletedProcess:
    """Run the ``onething`` command in a child process, as a user would."""
    return subprocess.run([sys.executable, "-c", "from api.cli import main; main()", *args],
                          check=False, capture_output=True, text=True, cwd=cwd, timeout=120)


@pytest.mark.parametrize("text, message", [
    ("id: shop\nname: 开店\neffective_date: 2025-13-45\nsteps: []\n",
     "shop.yaml:3: effective_date: '2025-13-45' is not a valid date (month must be in 1..12)"),
    ("id: shop\nname: 开店\nnote: !!int abc\nsteps: []\n",
     "shop.yaml:3: note: 'abc' is not a valid whole number"),
    (alias_bomb(9), "shop.yaml:2: a1[0]: aliases (*name) are not allowed"),
])
@pytest.mark.slow  # a child process
def test_onething_validate_prints_one_located_line_and_exits_2(tmp_path, text, message):
    """The CLI reports a bad date, tag or alias as one line, exit code 2, no traceback: in
    Chinese, and in English with ``--lang en``."""
    (tmp_path / "shop.yaml").write_text(text, encoding="utf-8")
    done = onething("validate", "shop.yaml", "--lang", "en", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith(f"error: {message}") and done.stderr.count("\n") == 1
    chinese = onething("validate", "shop.yaml", cwd=tmp_path)
    assert (chinese.returncode, chinese.stdout) == (2, "")
    assert chinese.stderr.startswith(f"错误：shop.yaml 第 {message.split(':')[1]} 行：")
    assert chinese.stderr.count("\n") == 1


@pytest.mark.parametrize("loader", [pytest.param(p.values[0], id=p.id) for p in LOADERS])
def test_a_huge_unknown_key_is_echoed_in_short(tmp_path, loader):
    """Every file's messages cut what they echo: a 100,000-character key stays one short line."""
    with pytest.raises(OnethingError) as info:
        load(loader, tmp_path, "? " + "K" * 100_000 + "\n: {x: 1}\n")
    message = str(info.value).replace(str(tmp_path), "")
    assert "(100000 characters)" in message and len(message) < 400
