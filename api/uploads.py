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

__all__ = ["file_size", "upload_name", "uploaded_file"]


def file_size(size_bytes: int) -> str:
    """A size as a person reads it, in any language.

    >>> file_size(100), file_size(2_000_000), file_size(1_500)
    ('100 B', '2 MB', '1.5 KB')
    """
    for unit, bytes_in_unit in (("MB", 1_000_000), ("KB", 1_000)):
        if size_bytes >= bytes_in_unit:
            return f"{size_bytes / bytes_in_unit:g} {unit}"
    return f"{size_bytes} B"


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
                           f"{', '.join(suffixes)}", file=name, reason="unknown_file_type",
                           values={"suffix": PurePath(name).suffix or name,
                                   "allowed": list(suffixes)})
    if len(data) > limit_bytes:
        raise InvalidInput(f"the file is over {limit_bytes} bytes; split or shorten it",
                           file=name, reason="file_too_big",
                           values={"size": file_size(limit_bytes)})
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
