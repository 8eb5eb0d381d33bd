"""Chinese first at the CLI: people read names, never bare ids; labels in Chinese by default
and in English with ``--lang en``; JSON keeps the ids."""

from __future__ import annotations

import re

import pytest

from process_models.catalog import catalog_ids, load_catalog, load_catalog_procedure
from process_models.loading import save_procedure
from simulations.planning.scenario import catalog_reform, catalog_scenario_path, load_scenario

#: The commands whose human output is checked, each as the arguments that show the
#: procedure (``folder`` holds it and its catalog reform, ``form: after``).
COMMANDS = {
    "catalog": lambda pid, folder: ["catalog"],
    "simulate": lambda pid, folder: ["simulate", pid, "--runs", "50", "--start", "2025-01-24"],
    "reform": lambda pid, folder: ["reform", pid],
    "portfolio": lambda pid, folder: ["portfolio", folder],
    "advise": lambda pid, folder: ["advise", pid],
}

#: Chinese characters and full-width punctuation.
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]+")


@pytest.fixture(params=catalog_ids(), scope="module")
def reformed(request, tmp_path_factory):
    """A catalog procedure's id, its catalog reform, and a folder holding both forms."""
    folder = tmp_path_factory.mktemp(request.param)
    result = catalog_reform(request.param)
    save_procedure(result.before, folder / "before.yaml")
    save_procedure(result.after, folder / "after.yaml")
    return request.param, result, folder


@pytest.fixture(scope="module")
def shown() -> dict[tuple[str, ...], tuple[int, str, str]]:
    """What each command line printed, run once for all the tests that read it."""
    return {}


@pytest.fixture
def run_once(run_cli, shown):
    """Run the CLI on these arguments, or give back what the same arguments printed before
    (the outputs are read by several tests; ``catalog`` prints the same for every
    procedure)."""

    def _run(*args: str) -> tuple[int, str, str]:
        if args not in shown:
            shown[args] = run_cli(*args)
        return shown[args]

    return _run


def _names(*procs) -> set[str]:
    return {p.name for p in procs} | {x.name for p in procs for x in (
        *p.steps, *p.departments, *p.materials, *p.stages)}


@pytest.mark.parametrize("command", COMMANDS)
def test_human_output_names_steps_and_never_shows_a_bare_step_id(run_once, command, reformed):
    """People read step names; ids are for JSON (an id that equals its name, or a
    procedure's own id where it names the procedure, excepted): before and after a reform,
    in its change log too."""
    pid, result, folder = reformed
    code, out, _ = run_once(*COMMANDS[command](pid, folder))
    assert code == 0
    procedure_ids = set(catalog_ids()) if command == "catalog" else {pid}
    ids = {s.id for p in (result.before, result.after) for s in p.steps
           if s.id != s.name and s.id not in procedure_ids}
    assert not {word for word in re.findall(r"[\w+-]+", out) if word in ids}


@pytest.mark.parametrize("command", COMMANDS)
def test_with_lang_en_no_chinese_is_left_but_in_names(run_once, command, reformed):
    """``--lang en`` puts every label in English: each Chinese run left in the output lies
    in a name of a step, department, material, stage, procedure or reform scenario, or in
    the source a legal order cites (a document's title; a table may wrap or cut a name).
    A reform's change-log lines quote the scenario's notes and the levers' own words, and
    are not checked here."""
    pid, result, folder = reformed
    code, out, _ = run_once(*COMMANDS[command](pid, folder), "--lang", "en")
    assert code == 0
    procs = (*load_catalog(), result.after)
    names = _names(*procs) | {load_scenario(catalog_scenario_path(pid)).name or ""} | {
        d.source for p in procs for s in p.steps for d in s.depends_on if d.source}
    shown = [line for line in out.splitlines() if not line.startswith("  ")]
    left = {run for run in CJK.findall("\n".join(shown))
            if not any(run in name for name in names)}
    assert not left


@pytest.mark.parametrize("command", ["catalog", "simulate", "reform", "portfolio"])
def test_chinese_is_the_default_and_english_the_choice(run_once, command, reformed):
    """Without ``--lang`` the labels are the pages' Chinese ones; with ``--lang en`` their
    English ones."""
    pid, _, folder = reformed
    args = COMMANDS[command](pid, folder)
    _, zh, _ = run_once(*args)
    _, en, _ = run_once(*args, "--lang", "en")
    assert "事项数" in zh and "Steps" in en
    assert "Steps" not in zh and "事项数" not in en


def test_an_unknown_language_is_one_line_naming_the_choices(run_cli):
    code, out, err = run_cli("catalog", "--lang", "fr")
    assert code == 2 and out == ""
    assert "--lang: unknown language 'fr'; use zh or en" in err


@pytest.mark.parametrize(("lang", "note", "other"), [
    ("zh", "一窗受理 — 申请人只跑一次", "the applicant comes once"),
    ("en", "一窗受理 — the applicant comes once", "申请人只跑一次")])
def test_the_reform_notes_are_in_the_chosen_language(run_cli, lang, note, other):
    code, out, _ = run_cli("reform", "restaurant", "--lang", lang)
    assert code == 0
    assert note in out and other not in out


def test_the_reform_change_log_names_steps_materials_and_departments(run_cli):
    """The change log prints the names where the levers wrote ids, and the lever as a
    planner calls it."""
    code, out, _ = run_cli("reform", "restaurant")
    assert code == 0
    assert "串联改并联：营业执照 (设立登记) → 食品从业人员健康证明 (健康证)：" in out
    assert "公安、不动产登记、住建、市场监管和疾控持有的" in out and "police" not in out
    assert "food_safety_rules" not in out
    proc = load_catalog_procedure("restaurant")
    assert not {m.id for m in proc.materials} & set(re.findall(r"[\w+-]+", out))


def test_every_kind_of_change_has_a_sentence_in_each_language():
    """The change log's sentences are the pages' dictionary's, one per kind of change and
    language, with no kind left without one."""
    from api.i18n import MESSAGES
    from simulations.planning.reforms import CHANGE_KINDS

    for strings in MESSAGES.values():
        assert {k for k in strings if k.startswith("change.")} == {
            f"change.{kind}" for kind in CHANGE_KINDS}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_change_log_of_every_catalog_reform_reads_in_the_chosen_language(lang, reformed):
    """Every change of a catalog reform is a sentence of the chosen language that names
    steps, materials and departments: no id left, no English words in Chinese, no Chinese
    in English but in names and the kinds of items (即办件, 承诺件, …)."""
    from api.i18n import messages
    from api.names import change_sentence, names_of
    from process_models.procedure import StepKind

    _, result, _ = reformed
    names = names_of(result.before, result.after)
    ids = {x for x in names if x != names[x]}
    for change in result.changes:
        sentence = change_sentence(change, messages(lang), names)
        rest = sentence
        written = {v for v in change.values.values() if isinstance(v, str) and v not in names}
        for name in sorted(set(names.values()) | written, key=len, reverse=True):
            rest = rest.replace(name, " ")
        assert not ids & set(re.findall(r"[\w+-]+", rest)), sentence
        if lang == "zh":
            assert not re.search(r"[A-Za-z]{2,}", rest), sentence
        else:
            kinds = {k.value for k in StepKind}
            assert all(run in kinds for run in CJK.findall(rest)), sentence

