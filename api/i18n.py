"""The pages' words: Chinese by default, English with ``?lang=en`` (remembered in a cookie).

Every string a page shows comes from :data:`MESSAGES`, one dictionary per language with
the same keys; statuses, colours, outcomes and audit-event kinds are looked up by their
stored value (``status.accepted``, ``colour.red``, ``event.decision``). A domain error
naming its ``reason`` is worded as ``error.<reason>`` after where it is (:func:`error_line`:
the pages' :func:`api.page_kit.page_message` and the CLI's error line alike); any other is
shown as the domain wrote it.

>>> messages("zh")["nav.board"], messages("en")["nav.board"]
('案件看板', 'Case board')
>>> label(messages("en"), "status", "awaiting_supplement")
'Awaiting supplement (补正)'
>>> label(messages("zh"), "status", "something_new")
'something_new'
"""

from __future__ import annotations

from typing import Literal

from api.words_en import EN
from api.words_en_analysis import EN_ANALYSIS
from api.words_zh import ZH
from api.words_zh_analysis import ZH_ANALYSIS
from process_models.errors import SHOWN_CHARS, OnethingError, worded

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "LANGUAGE_COOKIE", "MESSAGES", "WORD_PARTS",
           "Language", "choose_language", "error_line", "label", "messages"]

Language = Literal["zh", "en"]
LANGUAGES: tuple[Language, ...] = ("zh", "en")
DEFAULT_LANGUAGE: Language = "zh"
LANGUAGE_COOKIE = "onething_lang"

WORD_PARTS: dict[Language, tuple[dict[str, str], ...]] = {"zh": (ZH, ZH_ANALYSIS),
                                                          "en": (EN, EN_ANALYSIS)}
"""Each language's words in parts: the service's, and the planner's and auditor's."""

MESSAGES: dict[Language, dict[str, str]] = {
    language: {key: text for part in parts for key, text in part.items()}
    for language, parts in WORD_PARTS.items()}
"""Language → key → text; every language has the same keys."""


def messages(language: str) -> dict[str, str]:
    """The strings of ``language`` (Chinese for anything unknown)."""
    return MESSAGES.get(language, MESSAGES[DEFAULT_LANGUAGE])  # type: ignore[call-overload]


def label(strings: dict[str, str], group: str, value: str | None) -> str:
    """The text of a stored value (``group.value``), else the value itself."""
    if value is None:
        return ""
    return strings.get(f"{group}.{value}", value)


def choose_language(query: str | None, cookie: str | None) -> Language:
    """``?lang=`` first, then the cookie, then Chinese.

    >>> choose_language("en", "zh"), choose_language(None, "en"), choose_language("fr", None)
    ('en', 'en', 'zh')
    """
    for value in (query, cookie):
        if value in LANGUAGES:
            return value  # type: ignore[return-value]
    return DEFAULT_LANGUAGE


def error_line(error: OnethingError, language: str) -> str:
    """The error's one line in ``language``: where it is (the file and line, the row and
    column, or the field) and then ``error.<reason>`` worded with its values, when the
    error names its reason; else as the domain wrote it.

    >>> from process_models.errors import ProcedureSyntaxError
    >>> bad = ProcedureSyntaxError("duplicate key 'id' (first on line 1); keep one",
    ...     file="s.yaml", line=2, path="id", reason="yaml_duplicate_key",
    ...     values={"key": "'id'", "first": 1})
    >>> error_line(bad, "zh")
    "s.yaml 第 2 行：id：键 'id' 重复（第 1 行已有）；请只保留一个"
    >>> error_line(bad, "en") == str(bad)
    True
    """
    strings = messages(language)
    template = error.reason and strings.get(f"error.{error.reason}")
    if not template:
        return str(error)
    where = ""
    if error.file:
        where = strings["error.in_file_line" if error.line else "error.in_file"].format(
            file=error.file, line=error.line)
    row, column = getattr(error, "row", None), getattr(error, "column", None)
    if row:
        where += strings["error.at_cell" if column else "error.at_row"].format(row=row,
                                                                              column=column)
    elif error.path:  # a key written in the file may be as long as a value
        path = error.path if len(error.path) <= 2 * SHOWN_CHARS else \
            f"{error.path[:SHOWN_CHARS]}…"
        where += strings["error.at_path"].format(path=path)
    hint = (strings["error.did_you_mean"].format(suggestion=error.suggestion)
            if error.suggestion else "")
    return where + worded(template, error.values, either=strings["error.or"]) + hint
