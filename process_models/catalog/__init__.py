"""The catalog: real procedures in their before-reform form, each citing its sources.

>>> "newborn" in catalog_ids()
True
>>> load_catalog_procedure("newborn").name
'新生儿出生一件事'
"""

from __future__ import annotations

from pathlib import Path

from process_models.errors import ProcedureNotFound, did_you_mean
from process_models.loading import load_procedure
from process_models.procedure import Procedure

__all__ = ["CATALOG_DIR", "catalog_ids", "catalog_path", "load_catalog", "load_catalog_procedure"]

CATALOG_DIR = Path(__file__).parent


def catalog_ids() -> list[str]:
    """Ids of the catalog procedures (file stems), sorted."""
    return sorted(p.stem for p in CATALOG_DIR.glob("*.yaml"))


def catalog_path(procedure_id: str) -> Path:
    """The file of one catalog procedure; unknown ids get a did-you-mean."""
    path = CATALOG_DIR / f"{procedure_id}.yaml"
    if not path.is_file():
        ids = catalog_ids()
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
