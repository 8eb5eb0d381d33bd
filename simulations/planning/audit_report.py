"""The auditor's before/after report over procedure versions, and the writers of its views.

Procedures are paired by id (:func:`pair_procedures`): two versions of one procedure
(before and after, by their ``form``), or one version and a reform scenario — one given
alongside, else the catalog's ``reforms/<id>.yaml`` — applied with
:func:`simulations.planning.scenario.apply_scenario`. :func:`audit_report` then lists, per item
(事项, a step), its statutory limit, its committed limit before and after and the change,
and per procedure (一件事) the figures of :mod:`simulations.planning.metrics` before and after:
elapsed working days, steps, materials, trips. The portfolio totals give the headline in
Chinese ("8个一件事：办理时限433个工作日压缩至186个，压缩57.0%"; English on request), the 即办件
share before and after, and every item whose committed limit is not below its statutory one
is flagged (承诺时限未压缩). 事项 are counted as the distinct items before the reform (a merged
bundle is not a new item); 事中事后核查 steps that 告知承诺 adds are supervision after issue,
not 办理时限: they are listed apart and left out of every sum.

:func:`write_views` writes any list of :class:`View` tables as CSV (UTF-8 with BOM, so
Excel opens Chinese correctly), XLSX (one sheet per view, streamed) or a printable,
self-contained HTML page; :mod:`flows.casework.actual` uses the same writers.

>>> from process_models.catalog import load_catalog_procedure
>>> from simulations.planning.scenario import apply_scenario, catalog_scenario_path, load_scenario
>>> before = load_catalog_procedure("newborn")
>>> after, _ = apply_scenario(before, load_scenario(catalog_scenario_path("newborn")))
>>> report = audit_report([(before, after)])
>>> str(report.totals)
'1个一件事：办理时限32个工作日压缩至20个，压缩37.5%'
>>> str(report.item_totals)          # nine items merged into one 一件事 item
'9个事项：承诺时限合计32个工作日压缩至20个，压缩37.5%'
>>> report.item_totals.headline("en")
'9 items: committed limits 32 → 20 working days, −37.5%'
"""

from __future__ import annotations

import html
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from process_models.errors import OnethingError, ScenarioError, did_you_mean
from process_models.procedure import Basis, Limit, Procedure, Step, StepKind
from process_models.provenance import basis_data, sourced_line
from process_models.table_files import csv_writer
from simulations.planning.metrics import (
    Comparison,
    PortfolioTotals,
    compare,
    headline,
    portfolio,
)

__all__ = [
    "REPORT_FORMATS",
    "REPORT_WORDS",
    "AuditReport",
    "ItemRow",
    "ItemTotals",
    "View",
    "audit_report",
    "load_pairs",
    "pair_procedures",
    "report_views",
    "report_words",
    "write_views",
]

REPORT_FORMATS = ("table", "csv", "xlsx", "html", "json")
_FORM_ORDER = {"before": 0, None: 1, "draft": 2, "after": 3}


# --- pairing -------------------------------------------------------------------------------


def pair_procedures(
    procedures: Sequence[Procedure], scenarios: Sequence[Any] = (), *,
    catalog_reforms: bool = True,
) -> list[tuple[Procedure, Procedure]]:
    """(before, after) pairs by procedure id, in the order ids first appear.

    Two or more versions of an id: the earliest ``form`` (before < unset < draft < after)
    against the latest. One version: the scenario given for its id, else (with
    ``catalog_reforms``) the catalog's reform scenario; the reformed version is labelled
    ``改革: <scenario name>``.
    """
    from simulations.planning.scenario import apply_scenario, catalog_scenario_path, load_scenario

    by_id: dict[str, list[Procedure]] = {}
    for p in procedures:
        by_id.setdefault(p.id, []).append(p)
    given = {s.procedure: s for s in scenarios if s.procedure}
    stray = [pid for pid in given if pid not in by_id]
    if stray:
        raise ScenarioError(f"a scenario is for procedure '{stray[0]}', which is not among the "
                            "procedures given; add its file",
                            suggestion=did_you_mean(stray[0], by_id))
    pairs = []
    for pid, versions in by_id.items():
        if len(versions) > 1:
            ordered = sorted(versions, key=lambda p: _FORM_ORDER.get(p.form, 1))
            pairs.append((ordered[0], ordered[-1]))
            continue
        scenario = given.get(pid)
        if scenario is None:
            if not catalog_reforms:
                raise ScenarioError(f"procedure '{pid}' has one version and no reform scenario; "
                                    "give its after version or a scenario file")
            scenario = load_scenario(catalog_scenario_path(pid))
        after, _ = apply_scenario(versions[0], scenario)
        label = scenario.name or Path(scenario.file or "reform").stem
        pairs.append((versions[0], after.model_copy(update={"version": f"改革: {label}"})))
    if not pairs:
        raise ScenarioError("no procedures to report on; give procedure files or catalog ids")
    return pairs


def load_pairs(args: Sequence[str | os.PathLike[str]]) -> list[tuple[Procedure, Procedure]]:
    """Pairs from command-line arguments: procedure files, folders, scenario files (a
    mapping with ``levers``) or catalog ids; no arguments means every catalog procedure
    that has a reform scenario."""
    from process_models.catalog import CATALOG_DIR, catalog_ids, load_catalog_procedure
    from process_models.loading import load_procedure, procedure_paths, read_text
    from process_models.yaml_loader import load_yaml
    from simulations.planning.scenario import parse_scenario

    if not args:
        return pair_procedures([load_catalog_procedure(i) for i in catalog_ids()
                                if (CATALOG_DIR / "reforms" / f"{i}.yaml").is_file()])
    procedures, scenarios = [], []
    for arg in args:
        path = Path(arg)
        if not path.exists() and path.suffix not in (".yaml", ".yml"):
            if str(arg) not in catalog_ids():
                raise ScenarioError(f"'{arg}' is neither a file nor a catalog procedure",
                                    suggestion=did_you_mean(str(arg), catalog_ids()))
            procedures.append(load_catalog_procedure(str(arg)))
            continue
        for file in procedure_paths([path]):
            text = read_text(file)
            try:
                head, _ = load_yaml(text, file=str(file))
            except OnethingError:
                head = None  # load_procedure reports what is wrong
            if isinstance(head, dict) and "levers" in head:
                scenarios.append(parse_scenario(text, file=str(file)))
            else:
                procedures.append(load_procedure(file))
    return pair_procedures(procedures, scenarios)


# --- the report ------------------------------------------------------------------------------


def _working(limit: Limit | None) -> float | None:
    from simulations.planning.cpm import as_working_days

    return None if limit is None else as_working_days(limit.days, limit.unit)


def _basis(limit: Limit | None) -> str | None:
    """A limit's basis as text (``estimate`` when not stated); ``None`` without a limit."""
    return None if limit is None else (limit.basis or Basis.estimate).value


def _immediate(step: Step) -> bool:
    return step.kind is StepKind.immediate or step.committed.days == 0


@dataclass(frozen=True)
class ItemRow:
    """One item (事项): its limits before and after; ``flagged`` when the committed limit
    in force (after, else before) is not below the statutory one; ``follow_up_check`` for a
    事中事后核查 (listed apart, in no sum)."""

    procedure_id: str
    procedure_name: str
    step_id: str
    step_name: str
    department: str
    statutory_days: float | None
    committed_before_days: float | None
    committed_after_days: float | None
    immediate_before: bool | None
    immediate_after: bool | None
    flagged: bool
    follow_up_check: bool = False
    statutory_basis: str | None = None
    committed_before_basis: str | None = None
    committed_after_basis: str | None = None

    @property
    def change_days(self) -> float | None:
        if self.committed_before_days is None or self.committed_after_days is None:
            return None
        return self.committed_after_days - self.committed_before_days

    @property
    def change_percent(self) -> float | None:
        if self.change_days is None or not self.committed_before_days:
            return None
        return round(self.change_days / self.committed_before_days * 100, 1)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "change_days": self.change_days,
                "change_percent": self.change_percent}


def _flagged(statutory: float | None, committed: float | None) -> bool:
    if statutory is None or committed is None:
        return False
    return committed >= statutory and not (statutory == 0 and committed == 0)


def _items(before: Procedure, after: Procedure) -> list[ItemRow]:
    after_steps = {s.id: s for s in after.steps}
    rows = []
    depts = {d.id: d.name for d in [*before.departments, *after.departments]}
    on_path = {s.id for p in (before, after) for s in p.applicant_steps}

    def row(b: Step | None, a: Step | None) -> ItemRow:
        s = a or b
        statutory = _working((b and b.statutory) or (a and a.statutory))
        cb = _working(b.committed) if b else None
        ca = _working(a.committed) if a else None
        law = (b and b.statutory) or (a and a.statutory)
        return ItemRow(before.id, before.name, s.id, s.name, depts.get(s.department, s.department),
                       statutory, cb, ca, _immediate(b) if b else None,
                       _immediate(a) if a else None,
                       _flagged(statutory, ca if a else cb), s.id not in on_path,
                       _basis(law), _basis(b and b.committed), _basis(a and a.committed))

    for b in before.steps:
        rows.append(row(b, after_steps.pop(b.id, None)))
    rows.extend(row(None, a) for a in after_steps.values())
    return rows


@dataclass(frozen=True)
class ItemTotals:
    """Summed committed limits over the items, and the 即办件 share, before and after.

    ``items`` counts the distinct items before the reform; ``checks`` the 事中事后核查
    after it, which no figure here includes.
    """

    items: int
    before_days: float
    after_days: float
    immediate_before: float
    immediate_after: float
    flagged: int
    checks: int

    @property
    def change_percent(self) -> float | None:
        if not self.before_days:
            return None
        return round((self.after_days - self.before_days) / self.before_days * 100, 1)

    def headline(self, lang: str = "zh") -> str:
        """The items in one line, in Chinese (``lang="en"``: English)."""
        return headline(self.items, "items", self.before_days, self.after_days, lang)

    def __str__(self) -> str:
        return self.headline()

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "change_percent": self.change_percent,
                "headline": self.headline(), "headline_en": self.headline("en")}


@dataclass(frozen=True)
class AuditReport:
    """Items, per-procedure comparisons and portfolio totals of a set of (before, after)."""

    pairs: list[tuple[Procedure, Procedure]]
    items: list[ItemRow]
    comparisons: list[Comparison]
    totals: PortfolioTotals
    item_totals: ItemTotals

    @property
    def flagged(self) -> list[ItemRow]:
        return [i for i in self.items if i.flagged]

    def as_dict(self) -> dict[str, Any]:
        return {
            "procedures": [{"id": b.id, "name": b.name, "before_version": b.version,
                            "after_version": a.version, **c.as_dict(),
                            "basis": {"before": basis_data(b), "after": basis_data(a)}}
                           for (b, a), c in zip(self.pairs, self.comparisons, strict=True)],
            "items": [i.as_dict() for i in self.items],
            "totals": self.totals.as_dict(),
            "item_totals": self.item_totals.as_dict(),
            "sourced": self.sourced(),
        }

    def sourced(self, lang: str = "zh") -> dict[str, str]:
        """The closing line before and after, in ``lang``: how many committed limits have a
        source."""
        return {"before": sourced_line((b for b, _ in self.pairs), language=lang),
                "after": sourced_line((a for _, a in self.pairs), language=lang)}


def _share(flags: list[bool | None]) -> float:
    present = [f for f in flags if f is not None]
    return round(sum(present) / len(present), 4) if present else 0.0


def audit_report(pairs: Sequence[tuple[Procedure, Procedure]]) -> AuditReport:
    """The before/after report of ``pairs`` (committed limits)."""
    pairs = list(pairs)
    items = [row for b, a in pairs for row in _items(b, a)]
    counted = [i for i in items if not i.follow_up_check]
    totals = ItemTotals(
        items=sum(i.committed_before_days is not None for i in counted),
        before_days=sum(i.committed_before_days or 0 for i in counted),
        after_days=sum(i.committed_after_days or 0 for i in counted),
        immediate_before=_share([i.immediate_before for i in counted]),
        immediate_after=_share([i.immediate_after for i in counted]),
        flagged=sum(i.flagged for i in counted),
        checks=len(items) - len(counted),
    )
    return AuditReport(pairs, items, [compare(b, a) for b, a in pairs], portfolio(pairs), totals)


# --- views and their writers ---------------------------------------------------------------


@dataclass(frozen=True)
class View:
    """One table of a report: a title (the XLSX sheet name), headers, rows (may stream)."""

    title: str
    headers: list[str]
    rows: Iterable[Sequence[Any]]


def _days(v: float | None) -> str | float:
    return "" if v is None else v


def _pct(v: float | None) -> str:
    return "" if v is None else f"{v:+.1f}%".replace("-", "−")


#: Every word of the report's views, per language (the headlines are
#: :func:`simulations.planning.metrics.headline`'s, the closing line
#: :func:`process_models.provenance.sourced_line`'s).
REPORT_WORDS: dict[str, dict[str, Any]] = {
    "zh": {
        "title": "改革前后办理时限审计报告", "generated": "生成于",
        "items": ("事项", ["一件事", "事项编号", "事项", "部门", "法定时限(工作日)",
                         "改革前承诺时限", "改革后承诺时限", "压缩天数", "压缩比例", "标记",
                         "依据(法定/改革前/改革后)"]),
        "checks": ("事中事后核查", ["一件事", "核查编号", "核查", "部门", "核查时限(工作日)"]),
        "procedures": ("一件事", ["一件事", "改革前版本", "改革后版本", "办理时限(前)",
                                 "办理时限(后)", "压缩比例", "事项数(前)", "事项数(后)",
                                 "材料(前)", "材料(后)", "跑动次数(前)", "跑动次数(后)"]),
        "totals": ("汇总", ["指标", "改革前", "改革后", "变化"]),
        "flag": "承诺时限未低于法定时限",
        "rows": ["一件事 办理时限合计(工作日)", "事项 承诺时限合计(工作日)",
                 "事项数(改革前的不同事项)", "事中事后核查(不计入办理时限)", "材料", "跑动次数",
                 "即办件占比", "承诺时限未低于法定时限的事项", "摘要", "有来源的承诺时限"],
        "basis": {v: k for k, v in Basis.aliases().items() if not k.isascii()},
    },
    "en": {
        "title": "Time limits before and after the reform: audit report",
        "generated": "Generated",
        "items": ("Items", ["Procedure", "Item id", "Item", "Department",
                            "Statutory limit (working days)", "Committed before",
                            "Committed after", "Days cut", "Change", "Flag",
                            "Basis (statutory/before/after)"]),
        "checks": ("Checks after issue", ["Procedure", "Check id", "Check", "Department",
                                          "Check limit (working days)"]),
        "procedures": ("Procedures", ["Procedure", "Version before", "Version after",
                                      "Elapsed before", "Elapsed after", "Change",
                                      "Steps before", "Steps after", "Materials before",
                                      "Materials after", "Trips before", "Trips after"]),
        "totals": ("Totals", ["Figure", "Before", "After", "Change"]),
        "flag": "committed limit not below the statutory one",
        "rows": ["Procedures: elapsed (working days)", "Items: committed limits (working days)",
                 "Items (distinct before the reform)", "Checks after issue (not in any limit)",
                 "Materials", "Trips", "Immediate items (即办件) share",
                 "Items whose committed limit is not below the statutory one", "Headline",
                 "Sourced committed limits"],
        "basis": {b.value: b.value for b in Basis},
    },
}


def report_words(lang: str) -> dict[str, Any]:
    """The report's words in ``lang`` (Chinese for anything but ``en``).

    >>> report_words("zh")["basis"]["estimate"], report_words("en")["totals"][0]
    ('估计', 'Totals')
    """
    return REPORT_WORDS["en" if lang == "en" else "zh"]


def report_views(report: AuditReport, lang: str = "zh") -> list[View]:
    """The report as four views in ``lang``: items (事项), procedures (一件事), the checks
    after issue (事中事后核查, apart from every sum) and totals (汇总, with the headline)."""
    w = report_words(lang)
    items = View(*w["items"],
                 [[i.procedure_name, i.step_id, i.step_name, i.department,
                   _days(i.statutory_days), _days(i.committed_before_days),
                   _days(i.committed_after_days), _days(i.change_days), _pct(i.change_percent),
                   w["flag"] if i.flagged else "",
                   "/".join(w["basis"].get(b, "—") for b in (
                       i.statutory_basis, i.committed_before_basis, i.committed_after_basis))]
                  for i in report.items if not i.follow_up_check])
    checks = View(*w["checks"],
                  [[i.procedure_name, i.step_id, i.step_name, i.department,
                    _days(i.committed_after_days)] for i in report.items if i.follow_up_check])
    procedures = View(
        *w["procedures"],
        [[b.name, b.version, a.version, c.elapsed_working_days.before,
          c.elapsed_working_days.after, _pct(c.elapsed_working_days.percent),
          c.steps.before, c.steps.after, c.materials.before, c.materials.after,
          c.trips.before, c.trips.after]
         for (b, a), c in zip(report.pairs, report.comparisons, strict=True)])
    t, it = report.totals, report.item_totals
    sourced = report.sourced(lang)
    values = [
        (t.before["elapsed_working_days"], t.after["elapsed_working_days"],
         _pct(t.change["elapsed_working_days"].percent)),
        (it.before_days, it.after_days, _pct(it.change_percent)),
        (it.items, "", ""),
        ("", it.checks, ""),
        (t.before["materials"], t.after["materials"], _pct(t.change["materials"].percent)),
        (t.before["trips"], t.after["trips"], _pct(t.change["trips"].percent)),
        (f"{it.immediate_before:.1%}", f"{it.immediate_after:.1%}", ""),
        (it.flagged, "", ""),
        (t.headline(lang), it.headline(lang), ""),
        (sourced["before"], sourced["after"], ""),
    ]
    totals = View(*w["totals"], [[name, *row] for name, row in zip(w["rows"], values,
                                                                    strict=True)])
    return [items, procedures, checks, totals]


_PRINT_CSS = """
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif;
       margin: 2em; color: #111; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 1.6em; }
table { border-collapse: collapse; width: 100%; font-size: 0.85em; }
th, td { border: 1px solid #999; padding: 3px 6px; text-align: left; }
th { background: #eee; } td.n { text-align: right; }
tr.flag td { background: #fde8e8; }
.meta { color: #555; font-size: 0.85em; }
@media print {
  body { margin: 0; } @page { size: A4 landscape; margin: 12mm; }
  h2 { page-break-before: auto; } table { page-break-inside: auto; }
  tr { page-break-inside: avoid; } thead { display: table-header-group; }
}
"""


def _cell(v: Any) -> str:
    cls = ' class="n"' if isinstance(v, (int, float)) and not isinstance(v, bool) else ""
    text = f"{v:g}" if isinstance(v, float) else str(v)
    return f"<td{cls}>{html.escape(text)}</td>"


def _write_html(views: Iterable[View], f, title: str, lang: str) -> None:
    w = report_words(lang)
    f.write(f'<!DOCTYPE html>\n<html lang="{"en" if lang == "en" else "zh-CN"}"><head>'
            f'<meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{_PRINT_CSS}</style></head><body>\n<h1>{html.escape(title)}</h1>\n"
            f'<p class="meta">{w["generated"]} {datetime.now():%Y-%m-%d %H:%M}</p>\n')
    for view in views:
        f.write(f"<h2>{html.escape(view.title)}</h2>\n<table><thead><tr>")
        f.write("".join(f"<th>{html.escape(h)}</th>" for h in view.headers))
        f.write("</tr></thead><tbody>\n")
        for row in view.rows:
            flag = ' class="flag"' if w["flag"] in row else ""
            f.write(f"<tr{flag}>" + "".join(_cell(v) for v in row) + "</tr>\n")
        f.write("</tbody></table>\n")
    f.write("</body></html>\n")


def _write_xlsx(views: Iterable[View], path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    for view in views:
        ws = wb.create_sheet(view.title[:31])
        header = []
        for h in view.headers:
            cell = WriteOnlyCell(ws, value=h)
            cell.font = Font(bold=True)
            header.append(cell)
        ws.append(header)
        for row in view.rows:
            ws.append([v if isinstance(v, (int, float, str)) or v is None else str(v)
                       for v in row])
    wb.save(path)


def write_views(views: Iterable[View], path: str | os.PathLike[str], fmt: str, *,
                title: str | None = None, lang: str = "zh") -> None:
    """Write ``views`` to ``path`` as ``csv`` (the first view), ``xlsx`` or ``html`` (its
    words in ``lang``, its title by default the report's).

    Views and their rows are read once, in order (a generator of views may build a later
    view from what the earlier ones streamed). Written to a temporary file and moved into place, so a failure leaves nothing.

    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "r.csv"
    >>> write_views([View("事项", ["事项", "天数"], [["出生登记", 1]])], out, "csv")
    >>> out.read_bytes()[:3] == b"\\xef\\xbb\\xbf", out.read_text("utf-8-sig").splitlines()
    (True, ['事项,天数', '出生登记,1'])
    """
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        if fmt == "csv":
            with open(tmp, "w", encoding="utf-8-sig", newline="") as f:
                first = next(iter(views))
                w = csv_writer(f, lineterminator="\n")
                w.writerow(first.headers)
                w.writerows(first.rows)
        elif fmt == "xlsx":
            _write_xlsx(views, tmp)
        elif fmt == "html":
            with open(tmp, "w", encoding="utf-8") as f:
                _write_html(views, f, title or report_words(lang)["title"], lang)
        else:
            raise OnethingError(f"cannot write '{fmt}' to a file; use csv, xlsx or html",
                                path="--format", suggestion=did_you_mean(fmt, ["csv", "xlsx",
                                                                              "html"]))
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
