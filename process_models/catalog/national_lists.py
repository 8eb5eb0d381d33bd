"""The national lists of 高效办成一件事 key items, batch by batch, as the catalog holds them.

Each batch and item says whether it was verified against a source (``verified``) and, if
not, why (``reason``); each count carries its basis. An item the catalog models names its
procedure (``catalog``), which must be a catalog id.

>>> lists = load_national_lists()
>>> [b.id for b in lists.batches][:2]
['2024-1', '2024-2']
>>> first = lists.batch("2024-1")
>>> first.count.count, first.verified, len(first.items)
(13, False, 13)
>>> first.item("开办餐饮店").catalog, first.item("开办餐饮店").verified
('restaurant', True)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from process_models.catalog import catalog_ids
from process_models.errors import ProcedureError, UnknownReference, did_you_mean, shown
from process_models.loading import format_path, line_of, read_text, validation_error
from process_models.procedure import Basis, Count, Id, Source
from process_models.yaml_loader import load_yaml

__all__ = ["NATIONAL_LISTS_PATH", "NationalBatch", "NationalItem", "NationalLists",
           "load_national_lists", "parse_national_lists"]

NATIONAL_LISTS_PATH = Path(__file__).parent / "lists" / "national.yaml"
"""The catalog's file of national key items."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ItemCount(_Model):
    """How many items a batch or list holds, with the basis of that number."""

    count: Count
    basis: Basis
    source: str | None = Field(default=None, min_length=1)
    note: str | None = None

    @model_validator(mode="after")
    def _sourced_names_its_source(self) -> ItemCount:
        if self.basis is Basis.sourced and not self.source:
            raise ValueError("a sourced count needs source: (the document it is read in)")
        return self


class _Checked(_Model):
    """Verified against a source (``source`` names it), or not (``reason`` says why)."""

    verified: bool = False
    source: str | None = Field(default=None, min_length=1)
    reason: str | None = Field(default=None, min_length=1)


class NationalItem(_Checked):
    """One key item: its name, who it serves, and the catalog procedure that models it."""

    name: str = Field(min_length=1)
    for_: Literal["个人", "企业"] | None = Field(default=None, alias="for")
    catalog: Id | None = None

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _verified_names_its_source(self) -> NationalItem:
        if self.verified and not self.source:
            raise ValueError("a verified item needs source: (the report that names it)")
        return self


class NationalBatch(_Checked):
    """One batch of key items, as its notice issued it."""

    id: Id
    name: str = Field(min_length=1)
    document: str | None = None
    issued: str = Field(min_length=4)
    count: ItemCount
    items: list[NationalItem] = Field(default_factory=list)

    @field_validator("issued", mode="before")
    @classmethod
    def _issued_as_text(cls, value: Any) -> Any:
        return str(value) if not isinstance(value, str) else value

    @model_validator(mode="after")
    def _consistent(self) -> NationalBatch:
        if not self.verified and not self.reason:
            raise ValueError("an unverified batch needs reason: (why it could not be verified)")
        if len(self.items) > self.count.count:
            raise ValueError(f"lists {len(self.items)} items but counts {self.count.count}")
        names = [i.name for i in self.items]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"item {shown(twice[0])} is listed twice")
        return self

    def item(self, name: str) -> NationalItem:
        """The item called ``name``; raises :class:`UnknownReference` with a did-you-mean."""
        return _find(self.items, "name", name, f"batch '{self.id}' has no item")

    def reason_of(self, item: NationalItem) -> str | None:
        """Why ``item`` is not verified: its own reason, else the batch's."""
        return None if item.verified else item.reason or self.reason


class NationalLists(_Model):
    """Every batch, the sources they cite and the total the programme announced."""

    name: str = Field(min_length=1)
    name_en: str | None = None
    sources: list[Source] = Field(min_length=1)
    total: ItemCount
    batches: list[NationalBatch] = Field(min_length=1)

    def batch(self, batch_id: str) -> NationalBatch:
        """The batch with ``batch_id``; raises :class:`UnknownReference` with a did-you-mean."""
        return _find(self.batches, "id", batch_id, "no national batch")


def _find(items: list[Any], key: str, wanted: str, what: str) -> Any:
    for item in items:
        if getattr(item, key) == wanted:
            return item
    raise UnknownReference(f"{what} {shown(wanted)}",
                           suggestion=did_you_mean(wanted, [getattr(i, key) for i in items]))


def parse_national_lists(text: str, *, file: str | None = None,
                         catalog: list[str] | None = None) -> NationalLists:
    """Parse and check the national lists; ``catalog`` is the ids an item may name (default:
    the catalog's). Errors name the file, line, field and bad value."""
    data, lines = load_yaml(text, file=file)
    if not isinstance(data, dict):
        raise ProcedureError("expected a mapping with 'batches:'", file=file, line=1)
    try:
        lists = NationalLists.model_validate(data)
    except ValidationError as err:
        raise validation_error(err, NationalLists, file=file, lines=lines) from None
    known = catalog_ids() if catalog is None else catalog
    ids = [b.id for b in lists.batches]
    for i, batch in enumerate(lists.batches):
        if ids.count(batch.id) > 1:
            at = ("batches", i, "id")
            raise ProcedureError(f"batch id '{batch.id}' is used twice", file=file,
                                 line=line_of(lines, at), path=format_path(at))
        for j, item in enumerate(batch.items):
            if item.catalog is not None and item.catalog not in known:
                at = ("batches", i, "items", j, "catalog")
                raise UnknownReference(f"no catalog procedure '{item.catalog}'", file=file,
                                       line=line_of(lines, at), path=format_path(at),
                                       suggestion=did_you_mean(item.catalog, known))
    return lists


def load_national_lists(path: str | os.PathLike[str] = NATIONAL_LISTS_PATH) -> NationalLists:
    """Load and check the national lists file (the catalog's by default)."""
    return parse_national_lists(read_text(path), file=str(path))
