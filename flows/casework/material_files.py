"""Files an applicant uploads for the materials of their case.

A file is accepted when it is at most :data:`UPLOAD_MAX_BYTES` and its first bytes say it is
a PDF, JPEG or PNG (:func:`file_type`; the name and the declared type are not believed).
It is stored outside the web root, under ``<data_dir>/uploads/<case id>/<sha256>``, and
recorded as a :class:`~flows.casework.tables.MaterialFile` of the case; the material is then
received as at the window (:func:`~flows.casework.materials.submit_materials`: 补正 and
容缺 items move the case on). Nothing serves the folder: a file is read back only through
:func:`read_material_file`, by its case, which the caller has checked is the reader's.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy import select as sa_select
from sqlmodel import Session

from flows.casework._rows import Transaction, read_case
from flows.casework.materials import submit_materials
from flows.casework.tables import MaterialFile, aware_time
from process_models.errors import InvalidInput, NotFound

__all__ = ["FILE_TYPES", "UPLOAD_MAX_BYTES", "check_file", "file_type", "material_files",
           "read_material_file", "store_material_file"]

UPLOAD_MAX_BYTES = 1_500_000
"""The largest file taken (under the service's request limit, 2 MB by default)."""
FILE_TYPES = {b"%PDF-": "application/pdf", b"\xff\xd8\xff": "image/jpeg",
              b"\x89PNG\r\n\x1a\n": "image/png"}
"""The first bytes of each file type taken, and its media type."""
_FILES = MaterialFile.__table__
_UNSAFE = re.compile(r"[^\w.\-（）()\u4e00-\u9fff]+")


def file_type(data: bytes, *, name: str) -> str:
    """The media type of ``data`` by its first bytes, or :class:`InvalidInput` naming
    ``name``.

    >>> file_type(b"%PDF-1.7 ...", name="a.pdf")
    'application/pdf'
    >>> file_type(b"MZ", name="a.exe")
    Traceback (most recent call last):
    ...
    process_models.errors.InvalidInput: file: 'a.exe' is not a PDF, JPEG or PNG; scan or photograph the material as one of those
    """
    for magic, media in FILE_TYPES.items():
        if data.startswith(magic):
            return media
    raise InvalidInput(f"'{name}' is not a PDF, JPEG or PNG; scan or photograph the material "
                       "as one of those", path="file")


def check_file(data: bytes, *, name: str) -> str:
    """The media type of ``data`` when it may be kept (not empty, at most
    :data:`UPLOAD_MAX_BYTES`, :func:`file_type`), else :class:`InvalidInput` naming ``name``."""
    if not data:
        raise InvalidInput(f"'{name}' is empty; choose the file again", path="file")
    if len(data) > UPLOAD_MAX_BYTES:
        raise InvalidInput(f"'{name}' has {len(data)} bytes; at most {UPLOAD_MAX_BYTES} "
                           "(scan at a lower resolution)", path="file")
    return file_type(data, name=name)


def _folder(data_dir: Path, case_id: str) -> Path:
    return Path(data_dir) / "uploads" / case_id


def store_material_file(session: Session, case_id: str, material_id: str, *, name: str,
                        data: bytes, data_dir: Path, now: datetime,
                        submit: bool = True) -> MaterialFile:
    """Check and keep ``data`` as material ``material_id`` of ``case_id``; with ``submit``
    the material is received (:func:`~flows.casework.materials.submit_materials`; without,
    the case was opened with it), then the file recorded (event ``material_uploaded``).
    Refused, with nothing recorded, when the file is too large, of another type, or the
    material is not one the case still needs."""
    media = check_file(data, name=name)
    digest = hashlib.sha256(data).hexdigest()
    folder = _folder(data_dir, case_id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / digest).write_bytes(data)   # content-addressed: a retry writes the same file
    if submit:
        submit_materials(session, case_id, [material_id], now=now)
    at = aware_time(now)
    safe_name = _UNSAFE.sub("_", Path(name).name)[-200:] or "file"
    values = {"case_id": case_id, "material_id": material_id, "file_name": safe_name,
              "content_type": media, "size_bytes": len(data), "sha256": digest,
              "uploaded_at": at}
    with Transaction(session) as tx:
        read_case(tx, case_id)
        file_id = tx.execute(insert(_FILES), values).inserted_primary_key[0]
        tx.audit(case_id, "material_uploaded", {k: v for k, v in values.items()
                                                if k not in ("case_id", "uploaded_at")}, at)
    return MaterialFile(id=file_id, **values)


def read_material_file(session: Session, case_id: str, file_id: int, *,
                       data_dir: Path) -> tuple[MaterialFile, bytes]:
    """File ``file_id`` of ``case_id`` and its bytes; :class:`NotFound` when it is not one of
    that case's."""
    row = session.connection().execute(sa_select(*_FILES.c).where(
        _FILES.c.id == file_id, _FILES.c.case_id == case_id)).first()
    if row is None:
        raise NotFound(f"no file {file_id} in case {case_id}")
    return MaterialFile(**row._mapping), (_folder(data_dir, case_id) / row.sha256).read_bytes()


def material_files(session: Session, case_id: str) -> list[MaterialFile]:
    """The files uploaded for ``case_id``, oldest first."""
    return [MaterialFile(**row._mapping) for row in session.connection().execute(
        sa_select(*_FILES.c).where(_FILES.c.case_id == case_id).order_by(_FILES.c.id))]
