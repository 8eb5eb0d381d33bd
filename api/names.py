"""Names as people read them: a step's, department's or material's name (English on English
pages when it has one) instead of its id, a note, a source's title and the source a number
names in the reader's language (:func:`in_language`), and a lever's change record as a
sentence of the pages' dictionary (:mod:`api.i18n`) naming what it changed."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["change_sentence", "display_name", "in_language", "names_of", "note_in",
           "source_in", "title_in"]


def names_of(*procs: Any, language: str = "zh") -> dict[str, str]:
    """Id → name (in ``language``, :func:`display_name`) of every department, material and
    step of ``procs``; where ids coincide, within a procedure a step wins over a material
    and a material over a department, and a later procedure wins over an earlier one."""
    return {x.id: display_name(x, language) for proc in procs
            for x in (*proc.departments, *proc.materials, *proc.steps)}


def change_sentence(change: Any, strings: dict[str, str], names: dict[str, str]) -> str:
    """What a lever changed (a :class:`simulations.planning.reforms.Change`) as a sentence
    of ``strings``' language: ids become their ``names``, lists are joined, a chain of
    steps joined by arrows.

    >>> from api.i18n import messages
    >>> from simulations.planning.reforms import Change
    >>> c = Change("compress", "seal", "compressed",
    ...            {"step": "seal", "before": 3.0, "after": 1.5, "unit": "working"})
    >>> change_sentence(c, messages("zh"), {"seal": "刻制印章"})
    '刻制印章：承诺时限 3 → 1.5 个工作日'
    >>> change_sentence(c, messages("en"), {"seal": "Company seal"})
    'Company seal: committed limit 3 → 1.5 working days'
    """
    def shown(key: str, value: Any) -> str:
        if isinstance(value, (list, tuple)):
            joint = " → " if key == "chain" else strings["cli.comma"]
            return joint.join(shown("", x) for x in value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return f"{value:g}"
        if key == "unit":
            return strings[f"unit.{value}"]
        return "—" if value is None else names.get(value, str(value))

    values = {key: shown(key, value) for key, value in change.values.items()}
    return strings[f"change.{change.what}"].format(**values)


def in_language(thing: Any, field: str, language: str) -> Any:
    """``thing``'s ``field`` in ``language``: its English (``<field>_en``) in English when
    it has one, else the field itself (which reads Chinese).

    >>> from process_models.procedure import Source
    >>> s = Source(title="施工图审查：旧规定", title_en="施工图审查 old rule")
    >>> in_language(s, "title", "en"), in_language(s, "title", "zh")
    ('施工图审查 old rule', '施工图审查：旧规定')
    """
    return (getattr(thing, f"{field}_en", None) if language == "en" else None) \
        or getattr(thing, field)


def display_name(thing: Any, language: str) -> str:
    """``thing``'s English name (``name_en``) in English when it has one, else its name."""
    return in_language(thing, "name", language)


def title_in(source: Any, language: str) -> str:
    """A source's title in ``language`` (its ``title_en`` in English when it has one)."""
    return in_language(source, "title", language)


def source_in(reference: str | None, sources: Iterable[Any], language: str) -> str | None:
    """The source a number names (``reference``: its source's title, or the title's start)
    in ``language``: in English the title (:func:`title_in`) of the first of ``sources``
    whose title holds it, else ``reference`` itself (a law, or no source).

    >>> from process_models.procedure import Source
    >>> cited = [Source(title="江宁 联合报装：一张表单", title_en="江宁 joint filing: one form")]
    >>> source_in("江宁 联合报装", cited, "en"), source_in("江宁 联合报装", cited, "zh")
    ('江宁 joint filing: one form', '江宁 联合报装')
    >>> source_in("消防法 第15条", cited, "en"), source_in(None, cited, "en")
    ('消防法 第15条', None)
    """
    if reference is None or language != "en":
        return reference
    cited = next((s for s in sources if reference in s.title), None)
    return reference if cited is None else title_in(cited, language)


def note_in(thing: Any, language: str) -> str | None:
    """``thing``'s note in ``language``: its English note (``note_en``) in English when it
    has one, else its note; ``None`` when ``thing`` is ``None`` or has no note. ``thing`` is
    a scenario, a lever change, a registry or its item, or anything of a definition that
    carries a note (a step, a limit, an untimed part, a material, a source, the published
    figures).

    >>> from simulations.planning.reforms import Change
    >>> c = Change("online", "licence", "online", note="全程网办", note_en="online throughout")
    >>> note_in(c, "zh"), note_in(c, "en")
    ('全程网办', 'online throughout')
    >>> from process_models.procedure import Limit
    >>> note_in(Limit(days=20, note="按法定时限"), "en"), note_in(None, "zh")
    ('按法定时限', None)
    """
    return None if thing is None else in_language(thing, "note", language)
