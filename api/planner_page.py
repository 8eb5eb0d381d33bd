"""What the planner page shows of a procedure and a reform scenario (the route is in
:mod:`api.pages`): before/after figures, the change log, the waterfall of saved days, each
limit's basis, the advisor's ranking, the Gantt chart and, given a date, the steps laid
backwards from it (倒排审批日期, :func:`simulations.planning.cpm.backward_schedule`, the
function behind ``onething simulate --finish-by``).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from api.i18n import messages
from api.models import plain
from api.names import change_sentence, display_name, names_of, note_in, source_in
from process_models._memo import text_memo
from process_models.procedure import Procedure
from simulations.planning.scenario import Reform, Scenario

__all__ = ["advice", "catalog_reform", "planner_context", "reform_context", "scenario_of",
           "step_bases"]


def catalog_reform(scenario_id: str) -> Scenario:
    """The catalog reform ``scenario_id`` (``catalog/reforms/<id>.yaml``), or a one-line
    :class:`~process_models.errors.InvalidInput` with a did-you-mean.

    >>> catalog_reform("construction_permit_60").procedure
    'construction_permit'
    """
    from process_models.catalog import CATALOG_DIR, catalog_reform_ids
    from process_models.errors import InvalidInput, did_you_mean
    from simulations.planning.scenario import load_scenario

    known = catalog_reform_ids()
    if scenario_id not in known:
        raise InvalidInput(f"no catalog reform '{scenario_id[:60]}'", path="scenario",
                           suggestion=did_you_mean(scenario_id[:60], known))
    return load_scenario(Path(CATALOG_DIR) / "reforms" / f"{scenario_id}.yaml")


def scenario_of(procedure_id: str, levers: list[str]) -> str | None:
    """A scenario applying the ticked levers in order, or ``None`` (the catalog's own).

    >>> print(scenario_of("newborn", ["parallelise"]).strip())
    procedure: newborn
    levers:
    - lever: parallelise
    """
    import yaml

    if not levers:
        return None
    return yaml.safe_dump({"procedure": procedure_id, "levers": [{"lever": x} for x in levers]},
                          allow_unicode=True, sort_keys=False)


def step_bases(proc: Procedure, language: str) -> list[dict[str, Any]]:
    """Each step's name with its statutory and committed limits and trips, each a
    ``{value, basis, source}`` from the one census of numbers (the source in ``language``,
    :func:`api.names.source_in`), and its notes in
    ``language`` (:func:`api.names.note_in`): the step's own, then each limit's, named.

    >>> from process_models.catalog import load_catalog_procedure
    >>> row = step_bases(load_catalog_procedure("restaurant"), "zh")[3]
    >>> row["notes"]
    ['招牌显示登记名称，因此须待营业执照核发后办理（估计）', '法定时限：行政许可法规定的一般期限']
    """
    from process_models.provenance import step_numbers

    strings = messages(language)
    rows = []
    for step in proc.steps:
        by = {n.where.rsplit(".", 1)[-1]:
              {**n.as_dict(), "source": source_in(n.source, proc.sources, language)}
              for n in step_numbers(step)}
        limits = [(strings[f"basis.{field}"], note_in(getattr(step, field), language))
                  for field in ("statutory", "committed")]
        notes = [note_in(step, language)] + [f"{label}{strings['report.colon']}{note}"
                                             for label, note in limits if note]
        rows.append({"name": display_name(step, language), "statutory": by.get("statutory"),
                     "committed": by["committed"], "trips": by["trips"],
                     "notes": [note for note in notes if note]})
    return rows


def _backward(before: Procedure, after: Procedure, finish_by: date,
              language: str) -> dict[str, Any]:
    """The reformed procedure's steps laid backwards from ``finish_by`` (names, latest start
    and finish dates, earliest first), the latest acceptance dates before and after, and the
    years in between without official holidays (only weekends are rest days there)."""
    from process_models.calendar import official_years
    from simulations.planning.cpm import backward_schedule

    back = backward_schedule(after, finish_by)
    first = backward_schedule(before, finish_by).accept_by
    names = {s.id: display_name(s, language) for s in after.steps}
    years = range(min(first, back.accept_by).year, finish_by.year + 1)
    return {"finish_by": finish_by, "accept_by": back.accept_by, "accept_by_before": first,
            "unofficial_years": [y for y in years if y not in official_years()],
            "steps": [(names[sid], start, finish) for sid, (start, finish)
                      in sorted(back.dates.items(), key=lambda kv: (kv[1], names[kv[0]]))]}


@text_memo()
def _advice(procedure_json: str) -> dict[str, Any]:
    """The advisor's ranking of the procedure written as ``procedure_json``, as plain data.

    The advisor applies every lever to every step it fits (half a second on 工程建设项目审批),
    and a planner asks again for the same procedure with each tick: kept per procedure
    content, so an edited draft is advised anew."""
    from simulations.planning.advisor import advise

    return plain(advise(Procedure.model_validate_json(procedure_json)).as_dict())


def advice(before: Procedure, *, wait: bool = True) -> dict[str, Any] | None:
    """The advisor's ranking of ``before`` as plain data; without ``wait``, only when it is
    computed already (else ``None``: the planner page fetches it after load, so its first
    visit does not wait for the advisor).

    >>> from process_models.catalog import load_catalog_procedure
    >>> fresh = load_catalog_procedure("newborn").model_copy(update={"note": "a fresh copy"})
    >>> advice(fresh, wait=False) is None, len(advice(fresh)["options"]) > 0
    (True, True)
    >>> advice(fresh, wait=False)["procedure_id"]
    'newborn'
    """
    key = before.model_dump_json()
    return _advice(key) if wait else _advice.peek(key)


def planner_context(before: Procedure, scenario_text: str | Scenario | None,
                    finish_by: date | None, language: str) -> dict[str, Any]:
    """Everything the planner page shows of ``before`` reformed by ``scenario_text`` (YAML
    or a checked :class:`~simulations.planning.scenario.Scenario`; ``None``: the catalog's
    scenario), and the reformed procedure (``after``). Raises the domain's one-line
    errors."""
    from simulations.planning.scenario import reform, scenario_for

    scenario = (scenario_text if isinstance(scenario_text, Scenario)
                else scenario_for(before, scenario_text))
    return reform_context(reform(before, scenario), finish_by, language)


def reform_context(result: Reform, finish_by: date | None, language: str) -> dict[str, Any]:
    """What :func:`planner_context` shows of a reform already computed (``result``)."""
    from api.waterfall import waterfall
    from process_models.provenance import sourced_line
    from simulations.planning.gantt_svg import gantt_svg

    before, after = result.before, result.after
    targets: dict[str, tuple[str, ...]] = {}
    for c in result.changes:
        if c.source:
            targets[c.lever] = tuple(dict.fromkeys((*targets.get(c.lever, ()), c.source)))
    elapsed = result.comparison.elapsed_working_days
    bars = waterfall(elapsed.before, result.attribution, targets)
    names = names_of(before, after, language=language)
    strings = messages(language)
    return {
        "after": after, "comparison": plain(result.comparison.as_dict()),
        "changes": result.changes,
        "change_sentence": lambda change: change_sentence(change, strings, names),
        "note_of": lambda change: note_in(change, language),
        "waterfall": bars, "waterfall_top": max(bar.high for bar in bars),
        "procedure_name": display_name(before, language),
        "gantt": gantt_svg(before, after, lang=language), "bases": step_bases(before, language),
        "sourced": {"before": sourced_line([before], language=language),
                    "after": sourced_line([after], language=language)},
        "backward": None if finish_by is None else _backward(before, after, finish_by,
                                                             language),
    }
