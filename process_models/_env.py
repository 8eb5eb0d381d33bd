"""Where settings come from, told without loading pydantic-settings (about 0.1 s).

:mod:`process_models.settings` reads ``ONETHING_`` environment variables (any case) and
a ``.env`` file in the working folder. A short command that needs a single setting asks
:func:`configured` first and skips building the settings when nothing is set.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_PREFIX = "ONETHING_"
ENV_FILE = ".env"


def configured() -> bool:
    """Whether anything here may set a setting: an ``ONETHING_`` variable or a ``.env`` file.

    >>> import os
    >>> os.environ["ONETHING_ENVIRONMENT"] = "test"
    >>> configured()
    True
    >>> del os.environ["ONETHING_ENVIRONMENT"]
    """
    return any(name.upper().startswith(ENV_PREFIX) for name in os.environ) or Path(
        ENV_FILE
    ).exists()
