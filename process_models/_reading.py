"""Reading a file's text and turning a validation error into one located line: what every
loader shares (procedures, registries, scenarios, lists). :mod:`process_models.loading`
re-exports these; this module imports no loader, so a loader may import it without a circle.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from process_models.errors import (
    FieldProblem,
    OnethingError,
    ProcedureError,
    did_you_mean,
    shown,
)
from process_models.reading_problems import reading_error
from process_models.yaml_loader import Loc, format_path

__all__ = ["line_of", "read_text", "reading_file", "validation_error"]


# --- reading text ---------------------------------------------------------------------------


@contextmanager
def reading_file(path: str | os.PathLike[str]) -> Iterator[None]:
    """Turn the failure to read ``path`` inside the block (missing, a folder, unreadable)
    into one :class:`ProcedureSyntaxError` line naming the file and the fix.

    >>> with reading_file("no/such.yaml"):
    ...     Path("no/such.yaml").read_bytes()
    Traceback (most recent call last):
    process_models.errors.ProcedureSyntaxError: no/such.yaml: no such file; check the path
    """
    try:
        yield
    except FileNotFoundError:
        raise reading_error("no_such_file", file=str(path)) from None
    except IsADirectoryError:
        raise reading_error("is_folder", file=str(path)) from None
    except OSError as e:
        raise reading_error("cannot_read", {"problem": e.strerror}, file=str(path)) from None


def read_text(path: str | os.PathLike[str]) -> str:
    """Read a UTF-8 text file; a missing file or another encoding is a one-line error.

    A UTF-8 byte-order mark is accepted. GBK/GB18030 files (common from Chinese Excel)
    are refused with advice to save as UTF-8, because a guessed encoding could silently
    corrupt names.
    """
    with reading_file(path):
        raw = Path(path).read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        reason = "text_gbk"
        try:
            raw.decode("gb18030")
        except UnicodeDecodeError:
            reason = "text_not_utf8"
        raise reading_error(reason, {"byte": f"{raw[e.start]:02x}", "offset": e.start},
                            file=str(path), line=raw[: e.start].count(b"\n") + 1) from None


def line_of(lines: dict[Loc, int] | None, loc: Loc) -> int | None:
    if not lines:
        return None
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


# --- validation errors ----------------------------------------------------------------------


def _model_at(model: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The pydantic model class that owns the last element of ``loc``."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(part)
        if field is None:
            return None
        current = _inner_model(field.annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _inner_model(annotation: Any) -> Any:
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def validation_error(
    err: ValidationError,
    model: type[BaseModel],
    *,
    file: str | None = None,
    lines: dict[Loc, int] | None = None,
    error_class: type[ProcedureError] = ProcedureError,
) -> OnethingError:
    """Turn pydantic's first error into one line naming file, field, bad value and fix,
    with its reason (:data:`~process_models.reading_problems.READING_PROBLEMS`) so that a
    page and the CLI word it in their reader's language: the one place pydantic's wording
    becomes ours.

    >>> from pydantic import ConfigDict
    >>> class Step(BaseModel):
    ...     model_config = ConfigDict(extra="forbid")
    ...     days: int
    >>> try:
    ...     Step.model_validate({"days": "ten"})
    ... except ValidationError as e:
    ...     error = validation_error(e, Step, file="s.yaml")
    >>> str(error), error.reason, error.values
    ("s.yaml: days: must be a whole number, got 'ten'", 'not_whole_number', {'value': "'ten'"})
    """
    errors = err.errors(include_url=False)
    # A misspelt field also makes the real one "missing": report the misspelling.
    e = next((x for x in errors if x["type"] == "extra_forbidden"), errors[0])
    loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    problem = e.get("ctx", {}).get("error")
    if isinstance(problem, FieldProblem):  # our own validator's, with its reason
        loc += (problem.field,) if problem.field else ()
        return problem.error(error_class, file=file, line=line_of(lines, loc),
                             path=format_path(loc) or None)
    reason, values, suggestion = _reason(e, model, loc)
    return reading_error(reason, values, kind=error_class, file=file,
                         line=line_of(lines, loc), path=format_path(loc) or None,
                         suggestion=suggestion)


_VALUE_ONLY = {"float_parsing": "not_number", "float_type": "not_number",
            "int_parsing": "not_whole_number", "int_type": "not_whole_number",
            "int_from_float": "not_whole_number", "finite_number": "not_finite",
            "bool_parsing": "not_bool", "bool_type": "not_bool", "string_type": "not_text",
            "date_parsing": "not_date", "date_type": "not_date",
            "date_from_datetime_parsing": "not_date", "date_from_datetime_inexact": "not_date",
            "model_type": "not_mapping", "dict_type": "not_mapping",
            "model_attributes_type": "not_mapping", "list_type": "not_list",
            "string_pattern_mismatch": "not_an_id"}
"""pydantic's error types whose line names only the bad value, by our reason."""


def _reason(e: Any, model: type[BaseModel], loc: Loc) -> tuple[str, dict[str, Any], str | None]:
    """The reason, values and did-you-mean of pydantic's error ``e`` at ``loc``."""
    kind, ctx = e["type"], e.get("ctx", {})
    value = shown(e.get("input"))
    if kind == "extra_forbidden":
        owner = _model_at(model, loc)
        known = list(owner.model_fields) if owner else []
        field = loc[-1] if loc else ""
        suggestion = did_you_mean(str(field), known)
        if known and not suggestion:
            return "field_unknown_allowed", {"field": shown(field),
                                             "allowed": ", ".join(known)}, None
        return "field_unknown", {"field": shown(field)}, suggestion
    if kind == "missing":
        return "field_missing", {}, None
    if kind in ("enum", "literal_error"):
        allowed = [a.strip(" '") for a in ctx.get("expected", "").replace(" or ", ",").split(",")]
        allowed = [a for a in allowed if a]
        return ("not_one_of", {"value": value, "allowed": [f"'{a}'" for a in allowed]},
                did_you_mean(str(e.get("input")), allowed))
    if kind in ("greater_than_equal", "greater_than"):
        return "at_least", {"limit": f"{ctx.get('ge', ctx.get('gt')):g}", "value": value}, None
    if kind in ("less_than_equal", "less_than"):
        return "at_most", {"limit": f"{ctx.get('le', ctx.get('lt')):g}", "value": value}, None
    if kind in _VALUE_ONLY:
        return _VALUE_ONLY[kind], {"value": value}, None
    if kind == "string_too_short":
        return "must_not_be_empty", {}, None
    if kind == "string_too_long":
        return "text_too_long", {"value": value, "most": ctx.get("max_length")}, None
    if kind == "too_long":
        return "too_many_entries", {"most": ctx.get("max_length")}, None
    if kind == "too_short":
        return "too_few_entries", {"least": ctx.get("min_length"), "value": value}, None
    if kind == "value_error":  # a validator's plain ValueError, worded by itself
        return "invalid_field", {"problem": str(ctx.get("error", e["msg"]))}, None
    return "invalid_field", {"problem": f"{e['msg'].rstrip('.')}, got {value}"}, None
