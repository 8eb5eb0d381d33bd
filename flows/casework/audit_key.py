"""The audit chain's key: HMAC-SHA256 over each event's hash, held outside the database.

The key is the setting ``ONETHING_AUDIT_KEY``, else the file ``data_dir/audit.key``
(32 random bytes as hex, mode 0600), made on first use except in production, where a
missing key is refused: without it, anyone able to write the database could rewrite
events and re-chain every hash after them.

>>> mac(b"k" * 32, "0" * 64)[:12]
'8736e084a0d6'
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Any

from flows.casework.tables import canonical_json
from process_models.errors import InvalidInput
from process_models.settings import secret_file, settings

__all__ = [
    "audit_key",
    "head_mac",
    "key_file",
    "mac",
    "record_digest",
]

_KEYS: dict[tuple[str, Path, str], bytes] = {}


def key_file() -> Path:
    """Where the key lives when ``ONETHING_AUDIT_KEY`` is not set."""
    return settings.data_dir / "audit.key"


def audit_key() -> bytes:
    """The key of this deployment (read once per process, per setting and folder)."""
    source = (settings.audit_key, settings.data_dir, settings.environment)
    key = _KEYS.get(source)
    if key is None:
        key = _KEYS[source] = _load(settings.audit_key, key_file(),
                                    production=settings.environment == "production")
    return key


def _load(setting: str, path: Path, *, production: bool) -> bytes:
    if setting:
        return setting.encode("utf-8")
    if production and not path.exists():
        raise InvalidInput(
            f"no audit key: set ONETHING_AUDIT_KEY or put a key file at {path} (mode 0600); "
            "production never makes one by itself", path="ONETHING_AUDIT_KEY")
    return secret_file(path, setting="ONETHING_AUDIT_KEY").encode("ascii")


def mac(key: bytes, text: str) -> str:
    """HMAC-SHA256 of ``text`` under ``key``, as 64 hex digits."""
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def head_mac(key: bytes, seq: int, head_hash: str) -> str:
    """The MAC of the chain head naming event ``seq`` with hash ``head_hash``."""
    return mac(key, f"head {seq} {head_hash}")


def record_digest(key: bytes, values: Any) -> str:
    """The keyed digest of a record's values (the canonical JSON of ``values``), kept in
    the payload of the audit event that wrote the record: a later edit of the record no
    longer matches it, and the digest tells nothing of personal data without the key."""
    return mac(key, canonical_json(values))
