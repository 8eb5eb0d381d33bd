"""Uploaded files read by readers that take a path: the file under its own name in a
folder of its own, for as long as the reading lasts; errors name the file as uploaded.

>>> upload_name("C:\\\\Users\\\\王\\\\办件.csv")
'办件.csv'
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePath
from tempfile import TemporaryDirectory

from process_models.errors import InvalidInput, OnethingError

__all__ = ["upload_name", "uploaded_file"]


def upload_name(file_name: str | None) -> str:
    """The base name of an uploaded file (never a client's folder), bounded."""
    return PurePath((file_name or "upload").replace("\\", "/")).name[:200] or "upload"


@contextmanager
def uploaded_file(file_name: str | None, data: bytes, *, suffixes: tuple[str, ...],
                  limit_bytes: int) -> Iterator[Path]:
    """``data`` as a file named as uploaded; refused when its suffix is not one of
    ``suffixes`` or it holds more than ``limit_bytes``. An error raised while it is read
    names the file as uploaded, not where it was put."""
    name = upload_name(file_name)
    if not name.lower().endswith(suffixes):
        raise InvalidInput(f"unknown file type '{PurePath(name).suffix}'; upload "
                           f"{', '.join(suffixes)}", file=name)
    if len(data) > limit_bytes:
        raise InvalidInput(f"the file is over {limit_bytes} bytes; send a shorter period "
                           "or split it", file=name)
    with TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        try:
            yield path
        except OnethingError as error:
            error.file = error.file and error.file.replace(f"{folder}/", "")
            error.message = error.message.replace(f"{folder}/", "")
            error.args = (str(error),)
            raise
