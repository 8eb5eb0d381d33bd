"""The catalog: real procedures in their before-reform form, each citing its sources.

>>> "newborn" in catalog_ids()
True
>>> load_catalog_procedure("newborn").name
'新生儿出生一件事'
"""

from __future__ import annotations

import re
from pathlib import Path

from process_models.errors import ProcedureNotFound, did_you_mean
from process_models.loading import load_procedure
from process_models.procedure import Procedure

__all__ = ["CATALOG_DIR", "catalog_ids", "catalog_path", "catalog_reform_ids", "load_catalog",
           "load_catalog_procedure"]

CATALOG_DIR = Path(__file__).parent
_CATALOG_ID = re.compile(r"[a-z][a-z0-9_]{0,63}")
"""The shape of a catalog id (a file stem here): nothing that could name another file."""


def catalog_ids() -> list[str]:
    """Ids of the catalog procedures (file stems), sorted."""
    return sorted(p.stem for p in CATALOG_DIR.glob("*.yaml"))


def catalog_reform_ids() -> list[str]:
    """Ids of the catalog's reform scenarios (``reforms/<id>.yaml``), sorted.

    >>> "construction_permit_60" in catalog_reform_ids()
    True
    """
    return sorted(p.stem for p in (CATALOG_DIR / "reforms").glob("*.yaml"))


def catalog_path(procedure_id: str) -> Path:
    """The file of one catalog procedure; unknown ids get a did-you-mean.

    Only an id of the catalog's shape is looked up (and echoed), so no id reaches a file
    outside it:

    >>> catalog_path("../../etc/passwd")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    process_models.errors.ProcedureNotFound: no catalog procedure has that id (catalog ids are a lower-case letter, then up to 63 lower-case letters, digits or '_'); known: barber_shop, business_deregistration, construction_permit, ...
    """
    ids = catalog_ids()
    if not _CATALOG_ID.fullmatch(procedure_id):
        raise ProcedureNotFound(
            "no catalog procedure has that id (catalog ids are a lower-case letter, then up "
            f"to 63 lower-case letters, digits or '_'); known: {', '.join(ids)}")
    path = CATALOG_DIR / f"{procedure_id}.yaml"
    if not path.is_file():
        raise ProcedureNotFound(
            f"no catalog procedure '{procedure_id}'; known: {', '.join(ids)}",
            suggestion=did_you_mean(procedure_id, ids),
        )
    return path


def load_catalog_procedure(procedure_id: str) -> Procedure:
    """Load one catalog procedure by id."""
    return load_procedure(catalog_path(procedure_id))


def load_catalog() -> list[Procedure]:
    """Load every catalog procedure, in id order."""
    return [load_catalog_procedure(i) for i in catalog_ids()]
