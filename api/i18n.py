"""The pages' words: Chinese by default, English with ``?lang=en`` (remembered in a cookie).

Every string a page shows comes from :data:`MESSAGES`, one dictionary per language with
the same keys; statuses, colours, outcomes and audit-event kinds are looked up by their
stored value (``status.accepted``, ``colour.red``, ``event.decision``). Domain error
messages are shown as the domain wrote them (the CLI prints the same line), except those
naming their ``reason``, which pages word as ``error.<reason>``
(:func:`api.page_kit.page_message`).

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

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "LANGUAGE_COOKIE", "MESSAGES", "WORD_PARTS",
           "Language", "choose_language", "label", "messages"]

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
