"""Hypothesis strategies for property tests: random, valid procedures (and, for fuzzing the
table loader, malformed step tables: :func:`malformed_csv`, :func:`malformed_xlsx`).

:func:`procedures` draws procedures that pass ``check_procedure``: unique ids, known
references, acyclic dependencies (steps are drawn in a topological order, then
shuffled), stages whose joins never close a cycle. Every field of the schema can
appear; keyword options switch parts off so a property can focus::

    from hypothesis import given
    from tests.strategies import procedures

    @given(procedures(max_steps=12, with_stages=False))
    def test_something(proc): ...

Ids are short and ASCII (``s0``, ``d1``, ``m2``, ``g0``); names mix Chinese and Latin
text. Numbers are multiples of 0.5 so half-days appear and sums stay exact.

:func:`registries` draws county item registries (事项目录) whose every figure a list can
hold: table-safe names, limits with their bases, online levels that agree with 网上可办.

:func:`malformed_yaml` draws what a careless or hostile user sends instead: random bytes,
truncated procedures, alias bombs, deep nesting, huge numbers, bad tags and dates,
duplicate keys.
"""

from __future__ import annotations

import datetime as dt
import io
import string
from functools import cache

from hypothesis import strategies as st

from process_models.procedure import (
    Basis,
    Department,
    Dependency,
    DependencyKind,
    Distribution,
    Figures,
    Join,
    Limit,
    Material,
    Procedure,
    Provenance,
    Provider,
    PublishedFigures,
    Source,
    Stage,
    Step,
    StepKind,
    Unit,
    Untimed,
)

__all__ = ["alias_bomb", "days", "distributions", "limits", "malformed_csv", "malformed_xlsx",
           "malformed_yaml", "names",
           "procedures", "registries"]

_CJK = "事项部门材料证照营业执照食品经营许可出生登记户口医保社会保障卡市场监管局公安卫生健康委"
_TABLE_SAFE = _CJK + string.ascii_letters + string.digits
_ANY_TEXT = _TABLE_SAFE + " -_/()（）《》「」:：、,;.·"
UNTIMED_KINDS = ("公示", "专家评审", "检验检测", "听证", "补正")

# Strategies are built once (here or in cached factories) and reused: building a fresh
# strategy inside every draw makes Hypothesis validate it again, which dominates the cost.


def _not_blank(text: str) -> str:
    """``text``, or a name with spaces around a character when ``text`` is only spaces
    (a map, not a filter: filtering doubles the cost of every name drawn)."""
    return text if text.strip() else f"{text}事{text}"


@cache
def names(*, table_safe: bool = False, max_size: int = 8) -> st.SearchStrategy[str]:
    """Display names; ``table_safe`` ones hold no separator or space (a step table splits
    cells on those)."""
    if table_safe:
        return st.text(_TABLE_SAFE, min_size=1, max_size=max_size)
    return st.text(_ANY_TEXT, min_size=1, max_size=max_size).map(_not_blank)


@cache
def days(*, max_days: float = 30.0, min_days: float = 0.0) -> st.SearchStrategy[float]:
    """Day counts in half-day steps from ``min_days`` to ``max_days`` (shrinking towards
    ``min_days``)."""
    return st.sampled_from([n / 2 for n in range(int(min_days * 2), int(max_days * 2) + 1)])


_bases = st.sampled_from(Basis)
_optional_basis = st.none() | _bases
_optional_note = st.none() | names(max_size=12)
#: A stated basis with an optional source, or none (an estimate); table-safe text.
_stated = st.none() | st.builds(Provenance, basis=_bases,
                                source=st.none() | names(table_safe=True, max_size=12))


def _fields(stated: Provenance | None) -> dict:
    """The basis and source keywords of ``stated`` (none when nothing is stated)."""
    return {} if stated is None else stated.model_dump()


def _with(limit: Limit, stated: Provenance | None) -> Limit:
    """``limit`` with the basis and source of ``stated`` (unchanged when none is stated)."""
    return limit.model_copy(update=_fields(stated))


@cache
def limits(
    *, unit: Unit | None = None, with_calendar_units: bool = True, max_days: float = 30.0,
    plain: bool = False,
) -> st.SearchStrategy[Limit]:
    """Limits in ``unit`` (else working or, with ``with_calendar_units``, calendar days);
    ``plain`` ones carry no basis or note."""
    units = st.just(unit) if unit else (
        st.sampled_from(Unit) if with_calendar_units else st.just(Unit.working)
    )
    extra = st.none() if plain else _optional_basis
    return st.builds(Limit, days=days(max_days=max_days), unit=units, basis=extra,
                     source=st.none() if plain else _optional_note,
                     note=st.none() if plain else _optional_note)


_fits = st.none() | st.just("fitted to 2024 cases")


_distribution_kinds = st.sampled_from(["fixed", "triangular", "pert", "lognormal", "empirical"])


@cache
def _day_lists(max_days: float, min_size: int, max_size: int) -> st.SearchStrategy[list[float]]:
    """Lists of day counts up to ``max_days``."""
    return st.lists(days(max_days=max_days), min_size=min_size, max_size=max_size)


@st.composite
def _distributions(draw, max_days: float) -> Distribution:
    kind = draw(_distribution_kinds)
    d = days(max_days=max_days)
    fit = draw(_fits)
    if kind == "fixed":
        return Distribution(kind=kind, days=draw(d), fit=fit)
    if kind in ("triangular", "pert"):
        low, mode, high = sorted(draw(_day_lists(max_days, 3, 3)))
        return Distribution(kind=kind, low=low, mode=mode, high=high, fit=fit)
    if kind == "lognormal":
        return Distribution(kind=kind, mean=draw(d), sd=draw(d), fit=fit)
    return Distribution(kind=kind, samples=draw(_day_lists(max_days, 1, 5)), fit=fit)


@cache
def distributions(*, max_days: float = 30.0) -> st.SearchStrategy[Distribution]:
    """A duration distribution of any kind, its parameters consistent."""
    return _distributions(max_days)


@cache
def _untimed(with_calendar_units: bool) -> st.SearchStrategy[list[Untimed]]:
    unit = st.sampled_from(Unit) if with_calendar_units else st.just(Unit.working)
    return st.lists(st.builds(Untimed, kind=st.sampled_from(UNTIMED_KINDS), days=days(max_days=20),
                              unit=unit, basis=_optional_basis, note=_optional_note), max_size=2)


@cache
def _subset(size: int, max_size: int) -> st.SearchStrategy[list[int]]:
    """Distinct indices below ``size``, in drawn order (drawn without rejections)."""
    return st.lists(st.sampled_from(range(size)), unique=True, max_size=max_size)


@cache
def _optional(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.none() | strategy


@cache
def _permutation(size: int) -> st.SearchStrategy[list[int]]:
    return st.permutations(list(range(size)))


_small = st.none() | st.integers(0, 50)
_figures = st.builds(Figures, elapsed_working_days=st.none() | days(max_days=200),
                     summed_limit_days=st.none() | days(max_days=400), steps=_small,
                     links=_small, materials=_small, trips=_small, departments=_small)
_published = st.builds(PublishedFigures, source=names(max_size=12), before=_figures,
                       after=_figures, tolerance=st.sampled_from([0.05, 0.1, 0.2]),
                       note=_optional_note)
_sources = st.lists(st.builds(Source, title=names(max_size=12),
                              title_en=st.none() | names(max_size=12),
                              url=st.none() | st.just("https://www.gov.cn/"),
                              note=_optional_note), max_size=2)
_procedure_ids = st.text(string.ascii_lowercase + string.digits + "_-", max_size=10).map(
    lambda s: "p" + s)
_windows = st.sampled_from(["综合窗口", "一件事专窗", "window 3"])
_regions = st.sampled_from(["兰州市", "浙江省", "上海市浦东新区"])
_dates = st.dates(dt.date(2015, 1, 1), dt.date(2030, 12, 31))
_forms = st.sampled_from(["before", "after", "draft"])
_certificates = st.lists(names(), max_size=2)
_versions = st.sampled_from(["1", "2", "2025.1"])
_providers = st.sampled_from(Provider)
_joins = st.sampled_from(Join)
_dependency_kinds = st.sampled_from(DependencyKind)
_step_kinds = st.sampled_from(StepKind)
_units = st.sampled_from(Unit)
_booleans = st.booleans()
_counts = st.integers(1, 3)
_up_to_3 = st.integers(0, 3)
_stage_counts = st.integers(0, 2)


@cache
def _name_lists(
    name: st.SearchStrategy[str], size: int, unique: bool
) -> st.SearchStrategy[list[str]]:
    """Exactly ``size`` names."""
    return st.lists(name, min_size=size, max_size=size, unique=unique)


@cache
def _index(size: int) -> st.SearchStrategy[int]:
    """An index below ``size``."""
    return st.integers(0, size - 1)


@st.composite
def procedures(
    draw,
    *,
    min_steps: int = 1,
    max_steps: int = 8,
    max_departments: int = 4,
    max_materials: int = 6,
    with_stages: bool = True,
    with_lags: bool = True,
    with_untimed: bool = True,
    with_distributions: bool = True,
    with_calendar_units: bool = True,
    with_metadata: bool = True,
    table_safe: bool = False,
) -> Procedure:
    """A valid random :class:`Procedure`.

    Parameters
    ----------
    min_steps, max_steps, max_departments, max_materials:
        Sizes (at least one department; materials may be none).
    with_stages:
        Stages joining on all or any milestones, and dependencies on them.
    with_lags:
        Optional lags on dependencies.
    with_untimed:
        Untimed parts (公示, 专家评审, ...) on steps.
    with_distributions:
        Optional duration distributions on steps.
    with_calendar_units:
        Calendar-day (自然日) limits besides working days.
    with_metadata:
        Region, dates, sources, published figures, English names, notes, windows,
        certificates and material details.
    table_safe:
        Only what a step table holds faithfully: unique names without separators,
        one unit per step, no stages, lags, untimed parts, distributions or metadata.
    """
    n_steps = draw(st.integers(min_steps, max_steps))
    n_depts = draw(st.integers(1, max_departments))
    n_materials = draw(st.integers(0, max_materials))
    name = names(table_safe=table_safe)
    meta = with_metadata and not table_safe

    def maybe(strategy):
        return draw(_optional(strategy)) if meta else None

    def name_list(n: int) -> list[str]:
        return draw(_name_lists(name, n, table_safe))

    departments = [Department(id=f"d{i}", name=n, name_en=maybe(names()))
                   for i, n in enumerate(name_list(n_depts))]
    step_ids = [f"s{i}" for i in range(n_steps)]
    material_ids = [f"m{i}" for i in range(n_materials)]
    materials = []
    for i, mname in enumerate(name_list(n_materials)):
        provider = draw(_providers) if meta else Provider.applicant
        held_by = maybe(_index(n_depts))
        materials.append(Material(
            id=material_ids[i], name=mname,
            key=draw(_booleans) if meta else True,
            provider=provider,
            from_step=step_ids[draw(_index(n_steps))]
            if provider is Provider.step else None,
            held_by=None if held_by is None else departments[held_by].id,
            count=draw(_counts) if meta else 1,
            basis=maybe(_bases),
            source=maybe(names(max_size=12)),
            note=maybe(names(max_size=12)),
        ))

    # Stages over the steps; step i may depend on a stage whose members all come
    # before it, so no cycle can form.
    stages: list[Stage] = []
    if with_stages and not table_safe and n_steps >= 2:
        for g in range(draw(_stage_counts)):
            members = sorted(draw(_subset(n_steps, 4)) or [0])
            milestones = [members[k] for k in draw(_subset(len(members), 3))]
            stages.append(Stage(
                id=f"g{g}", name=draw(name), steps=[step_ids[i] for i in members],
                milestones=[step_ids[i] for i in milestones], join=draw(_joins),
            ))
    stage_last = [max(step_ids.index(m) for m in (s.milestones or s.steps)) for s in stages]

    plain = table_safe or not meta
    lag = _optional(limits(with_calendar_units=with_calendar_units, max_days=5, plain=plain))
    step_names = name_list(n_steps)
    steps = []
    for i, sid in enumerate(step_ids):
        targets = [*step_ids[:i], *(s.id for s, last in zip(stages, stage_last) if last < i)]
        chosen = [targets[k] for k in draw(_subset(len(targets), 3))] if targets else []
        # a table states the basis of each of a step's dependencies, or of none
        stated_kinds = draw(_booleans)
        depends_on = [
            Dependency(step=t, kind=draw(_dependency_kinds),
                       lag=draw(lag) if with_lags and not table_safe else None,
                       **_fields(draw(_stated) if meta else
                                 draw(_stated.filter(bool)) if stated_kinds else None))
            for t in chosen
        ]
        if table_safe:
            unit = draw(_units) if with_calendar_units else Unit.working
            limit = limits(unit=unit, plain=True)
        else:
            limit = limits(with_calendar_units=with_calendar_units, plain=plain)
        committed, statutory = draw(limit), draw(_optional(limit))
        if statutory is not None and statutory.unit is committed.unit:
            # a commitment never exceeds the law: the larger of the two is the statutory one
            low, high = sorted([committed.days, statutory.days])
            committed = committed.model_copy(update={"days": low})
            statutory = statutory.model_copy(update={"days": high})
        if plain:
            committed, statutory = _with(committed, draw(_stated)), (
                statutory and _with(statutory, draw(_stated)))
        figures = ("trips", "links", "commitment_allowed", "fee_yuan") if meta else ("trips",)
        provenance = {f: p for f in figures if (p := draw(_stated)) is not None}
        steps.append(Step(
            id=sid,
            name=step_names[i],
            name_en=maybe(names()),
            department=departments[draw(_index(n_depts))].id,
            kind=draw(_step_kinds),
            statutory=statutory,
            committed=committed,
            untimed=draw(_untimed(with_calendar_units)) if with_untimed and not table_safe
            else [],
            depends_on=depends_on,
            materials=[material_ids[k] for k in draw(_subset(n_materials, 4))]
            if n_materials else [],
            trips=draw(_up_to_3),
            window=maybe(_windows),
            links=draw(_up_to_3) if meta else 1,
            certificates=draw(_certificates) if meta else [],
            commitment_allowed=draw(st.none() | _booleans) if meta else None,
            fee_yuan=draw(st.none() | st.sampled_from([0.0, 10.0, 250.5])) if meta else None,
            provenance=provenance,
            follow_up=draw(_booleans) if meta else False,
            duration=draw(_optional(distributions()))
            if with_distributions and not table_safe else None,
            note=draw(_optional(names(table_safe=table_safe, max_size=12))),
        ))
    order = draw(_permutation(n_steps))
    return Procedure(
        id=draw(_procedure_ids),
        name=draw(name),
        name_en=maybe(names()),
        version=draw(_versions) if meta else "1",
        region=maybe(_regions),
        effective_date=maybe(_dates),
        form=maybe(_forms),
        sources=draw(_sources) if meta else [],
        published=maybe(_published),
        departments=departments,
        materials=materials,
        steps=[steps[i] for i in order],
        stages=stages,
        note=maybe(names(max_size=12)),
    )


# --- malformed YAML ----------------------------------------------------------------------------

NASTY_VALUES = (
    "2025-02-30", "2025-13-45", "0000-00-00", '!!int "abc"', '!!int ""', '!!float "x"',
    "!!bool maybe", "!!timestamp soon", "!!binary a", "!!python/object:os.system x",
    "!unknown x", "!!set {a: null}", "1.0e+308", "-1.0e+308", ".inf", ".nan", "true",
    "1e23", "9" * 50, "*undefined", "&a [*a]", "'" + "A" * 5000 + "'", "[" * 60 + "]" * 60,
    "{a: 1, a: 2}", "<<: {id: x}", "审批/盖章", "../../etc/passwd", "\x00", "'unclosed",
)
"""Values that each break one rule of the loader or the procedure model."""


def _cut(text: str, share: float) -> str:
    return text[: int(len(text) * share)]


def _replace_value(text: str, share: float, value: str) -> str:
    """``text`` with the value of one ``key: value`` line replaced."""
    lines = text.splitlines()
    candidates = [i for i, line in enumerate(lines) if ": " in line] or [0]
    i = candidates[int(share * (len(candidates) - 1))]
    key = lines[i].split(": ", 1)[0] if ": " in lines[i] else "note"
    lines[i] = f"{key}: {value}"
    return "\n".join(lines) + "\n"


def _duplicate_line(text: str, share: float) -> str:
    lines = text.splitlines()
    i = int(share * (len(lines) - 1))
    return "\n".join([*lines[: i + 1], lines[i], *lines[i + 1:]]) + "\n"


def alias_bomb(levels: int, width: int = 9, key: str = "steps") -> str:
    """A "billion laughs" document: ``levels`` lists of ``width`` aliases to the one before
    (``width ** levels`` leaves once expanded), the last one under ``key``; the first alias
    is on line 2."""
    lines = [f"a0: &a0 [{', '.join(['x'] * width)}]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]" for i in range(1, levels)]
    return "\n".join([*lines, f"{key}: *a{levels - 1}"]) + "\n"


@cache
def malformed_yaml() -> st.SearchStrategy[str]:
    """Text that should make the procedure loader raise one ``OnethingError``, quickly."""
    from process_models.loading import dump_procedure

    texts = procedures(max_steps=4).map(dump_procedure)
    shares = st.floats(0, 1)
    return st.one_of(
        st.binary(max_size=400).map(lambda b: b.decode("utf-8", "replace")),
        st.text(max_size=400),
        st.builds(_cut, texts, shares),
        st.builds(_replace_value, texts, shares, st.sampled_from(NASTY_VALUES)),
        st.builds(_duplicate_line, texts, shares),
        st.builds(alias_bomb, st.integers(2, 12), st.integers(2, 12),
                  st.sampled_from(["steps", "note", "departments", "unknown"])),
        st.integers(1, 20_000).map(lambda n: "steps: " + "[" * n + "]" * n),
        st.integers(1, 2_000).map(lambda n: "".join("  " * i + f"k{i}:\n" for i in range(n))),
    )

# --- malformed step tables, for fuzzing the loader ------------------------------------------

_TABLE_HEADERS = ["事项", "部门", "前置事项", "依赖类型", "法定时限", "承诺时限", "时限单位", "要件数",
                  "要件", "跑动次数", "办件类型", "备注", "序号", "事项\n名称", "部  门", "step", "部们"]
_ODD_CELLS = ["", " ", "1", "0.5", "-1", "1e308", "nan", "1000000000", "9" * 30, "=D2*10", "@x",
              '"', '"营业执照', "营业执照", "市场监管局", "身份证、户口簿", "法定、惯例", "工作日", "月",
              "即办件", "１２", "'=x", "x" * 40_000]
_cells = st.one_of(st.sampled_from(_ODD_CELLS), names(max_size=12),
                   st.integers(-10, 10**12).map(str))
_GOOD_HEADER = ["事项", "部门", "前置事项", "承诺时限", "要件数", "要件", "跑动次数"]
# Rows that fit _GOOD_HEADER up to one odd value, so the checks past the header run too.
_plausible_rows = st.tuples(
    names(max_size=6), st.sampled_from(["市场监管局", "公安局", ""]),
    st.sampled_from(["", "营业执照", "营业执照、食品经营许可"]), st.sampled_from(["1", "0.5", "-1", "1e308"]),
    st.sampled_from(["", "2", "1000000000", "9" * 30]),
    st.sampled_from(["", "身份证", "、".join(f"材料{i}" for i in range(300))]),
    st.sampled_from(["", "1", "99999999999999999999999"]),
).map(list)
_table_rows = st.lists(st.one_of(_plausible_rows, st.lists(_cells, max_size=8)), max_size=8)
_headers = st.one_of(st.just(_GOOD_HEADER), st.lists(st.sampled_from(_TABLE_HEADERS), max_size=8))


@st.composite
def malformed_csv(draw) -> tuple[str, bytes]:
    """(".csv", bytes): a step table that is often wrong: odd separators and encodings, a
    ``sep=`` or title line, stray quotes, huge numbers, long cells, bytes cut or flipped."""
    sep = draw(st.sampled_from([",", "\t", ";", "，", "、", "|"]))
    lines = [draw(_headers), *draw(_table_rows)]
    text = "\r\n".join(sep.join(row) for row in lines)
    text = draw(st.sampled_from(["", "sep=;\n", "sep=,\n", "标题,,\n", "\n\n"])) + text
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16", "big5"]))
    data = text.encode(encoding, errors="replace")
    return ".csv", _damaged(draw, data)


@st.composite
def malformed_xlsx(draw, damage: bool = True) -> tuple[str, bytes]:
    """(".xlsx", bytes): a workbook built with openpyxl: random sheet names and states, stray
    far cells, merged ranges, formulas without cached values; then perhaps cut or flipped."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    titles = draw(st.lists(st.text(_TABLE_SAFE + " 页", min_size=1, max_size=31), min_size=1,
                           max_size=3, unique_by=str.lower))
    for n, title in enumerate(titles):
        sheet = book.create_sheet(title)
        for row in [draw(_headers), *draw(_table_rows)]:
            sheet.append([_number_or_text(cell) for cell in row])
        for ref in draw(st.sampled_from([[], ["XFD1", "A1048576"], ["XFD1"], ["A1048576"],
                                         ["C20001"], ["CW2", "B9"]])):
            sheet[ref] = draw(st.sampled_from(["x", "=A1", 3]))
        for ref in draw(st.sampled_from([[], ["B2:B3"], ["A1:D1", "C2:D5"], ["B2:B1000"]])):
            sheet.merge_cells(ref)
        if n and draw(st.booleans()):
            sheet.sheet_state = draw(st.sampled_from(["hidden", "veryHidden"]))
    book.properties.created = book.properties.modified = dt.datetime(2025, 1, 1)
    saved = io.BytesIO()
    book.save(saved)
    data = _without_dates(saved.getvalue())
    return ".xlsx", _damaged(draw, data) if damage else data


def _without_dates(data: bytes) -> bytes:
    """The zip with every member dated 1980-01-01 and the workbook's modified time (openpyxl
    stamps the moment of saving) fixed, so one draw always gives the same bytes."""
    import re
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            member = src.read(info)
            if info.filename == "docProps/core.xml":
                member = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*",
                                rb"\g<1>2025-01-01T00:00:00Z", member)
            dst.writestr(zipfile.ZipInfo(info.filename), member,
                         compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _number_or_text(cell: str) -> object:
    try:
        return int(cell) if len(cell) < 16 else cell
    except ValueError:
        return cell


def _damaged(draw, data: bytes) -> bytes:
    """``data`` as it is, cut short, or with a few bytes overwritten."""
    how = draw(st.sampled_from(["whole", "whole", "cut", "flip"]))
    if how == "cut" and data:
        return data[:draw(st.integers(0, len(data) - 1))]
    if how == "flip" and data:
        data = bytearray(data)
        for _ in range(draw(st.integers(1, 8))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        return bytes(data)
    return data


@st.composite
def registries(draw, *, max_items: int = 8):
    """A checked :class:`~process_models.registry.Registry` with 1–3 departments and up to
    ``max_items`` items, every cell table-safe."""
    from process_models.registry import Item, OnlineLevel, Registry, ServiceLevel

    departments = [Department(id=f"d{n}", name=name) for n, name in enumerate(draw(
        st.lists(names(table_safe=True), min_size=1, max_size=3, unique=True)))]
    ids = [d.id for d in departments]
    codes = draw(st.lists(st.from_regex(r"[A-Z][A-Z0-9]{0,8}", fullmatch=True), min_size=1,
                          max_size=max_items, unique=True))
    text = st.none() | names(table_safe=True, max_size=12)
    items = []
    for code in codes:
        unit = draw(st.sampled_from(Unit))
        committed = draw(days())
        statutory = draw(st.none() | days(min_days=committed))
        bases = [draw(_stated) for _ in range(2)]
        level = draw(st.none() | st.sampled_from(OnlineLevel))
        materials = draw(st.lists(names(table_safe=True), max_size=3, unique=True))
        items.append(Item(
            code=code, name=draw(names(table_safe=True)), item_type=draw(text),
            department=draw(st.sampled_from(ids)),
            co_departments=draw(st.lists(st.sampled_from(ids), max_size=2, unique=True)),
            level=draw(st.sampled_from(ServiceLevel)), kind=draw(st.sampled_from(StepKind)),
            committed=Limit(days=committed, unit=unit, **_limit_basis(bases[0])),
            statutory=None if statutory is None else Limit(days=statutory, unit=unit,
                                                           **_limit_basis(bases[1])),
            online_level=level,
            online=draw(st.none() | st.booleans()) if level is None else level.online,
            trips=draw(st.none() | st.integers(0, 5)), materials=materials,
            material_count=None if materials else draw(st.none() | st.integers(0, 5)),
            links=draw(st.none() | st.integers(0, 5)),
            fee_yuan=draw(st.none() | st.sampled_from([0.0, 10.0, 12.5])),
            legal_basis=draw(text), basis=draw(_optional_basis), source=draw(text),
            note=draw(text)))
    return Registry(id="r", name=draw(names(table_safe=True)), synthetic=draw(st.booleans()),
                    departments=departments, items=items)


def _limit_basis(stated: Provenance | None) -> dict:
    return {} if stated is None else {"basis": stated.basis, "source": stated.source}
