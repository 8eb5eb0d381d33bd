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

from process_models.errors import ProcedureError, ProcedureSyntaxError, did_you_mean, shown
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
        raise ProcedureSyntaxError("no such file; check the path", file=str(path)) from None
    except IsADirectoryError:
        raise ProcedureSyntaxError("is a folder, expected a file", file=str(path)) from None
    except OSError as e:
        raise ProcedureSyntaxError(f"cannot read: {e.strerror}", file=str(path)) from None


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
        guess = ""
        try:
            raw.decode("gb18030")
            guess = " It reads as GBK/GB18030;"
        except UnicodeDecodeError:
            pass
        line = raw[: e.start].count(b"\n") + 1
        raise ProcedureSyntaxError(
            f"not UTF-8 (byte 0x{raw[e.start]:02x} at offset {e.start}).{guess}"
            " save the file as UTF-8 and try again",
            file=str(path),
            line=line,
        ) from None


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
) -> ProcedureError:
    """Turn pydantic's first error into one line naming file, field, bad value and fix."""
    errors = err.errors(include_url=False)
    # A misspelt field also makes the real one "missing": report the misspelling.
    e = next((x for x in errors if x["type"] == "extra_forbidden"), errors[0])
    loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    kind = e["type"]
    value = e.get("input")
    field = loc[-1] if loc else ""
    suggestion = None
    if kind == "extra_forbidden":
        owner = _model_at(model, loc)
        known = list(owner.model_fields) if owner else []
        suggestion = did_you_mean(str(field), known)
        msg = f"unknown field {shown(field)}"
        if known and not suggestion:
            msg += f"; allowed: {', '.join(known)}"
    elif kind == "missing":
        msg = "is required but missing"
    elif kind == "enum":
        allowed = e.get("ctx", {}).get("expected", "")
        msg = f"{shown(value)} is not allowed; use one of {allowed}"
        owner_vals = [a.strip(" '") for a in allowed.replace(" or ", ",").split(",")]
        suggestion = did_you_mean(str(value), [v for v in owner_vals if v])
    elif kind in ("greater_than_equal", "greater_than"):
        limit = e.get("ctx", {}).get("ge", e.get("ctx", {}).get("gt"))
        msg = f"must be at least {limit:g}, got {shown(value)}"
    elif kind in ("less_than_equal", "less_than"):
        limit = e.get("ctx", {}).get("le", e.get("ctx", {}).get("lt"))
        msg = f"must be at most {limit:g}, got {shown(value)}; check the figure"
    elif kind in ("float_parsing", "float_type", "int_parsing", "int_type", "int_from_float"):
        want = "a whole number" if kind.startswith("int") else "a number"
        msg = f"must be {want}, got {shown(value)}"
    elif kind == "finite_number":
        msg = f"must be a finite number, got {shown(value)}"
    elif kind == "string_too_short":
        msg = "must not be empty"
    elif kind == "string_pattern_mismatch":
        msg = (f"{shown(value)} is not an id: use 1–200 letters, digits, '_', '-' or '+' "
               "(no spaces, '/' or '.')")
    elif kind == "too_long":
        limit = e.get("ctx", {}).get("max_length")
        msg = f"holds more than {limit} entries; split the procedure"
    elif kind in ("model_type", "dict_type", "model_attributes_type"):
        msg = f"must be a mapping (key: value), got {shown(value)}"
    elif kind == "list_type":
        msg = f"must be a list, got {shown(value)}"
    elif kind == "value_error":
        msg = str(e.get("ctx", {}).get("error", e["msg"]))
    else:
        msg = f"{e['msg'].rstrip('.')}, got {shown(value)}"
    return error_class(
        msg,
        file=file,
        line=line_of(lines, loc),
        path=format_path(loc) or None,
        suggestion=suggestion,
    )
