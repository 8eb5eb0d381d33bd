"""``onething`` command line. Each module registers its commands on :data:`app`."""

from api.cli._app import app, run
from api.cli import procedures  # noqa: F401  (registers commands)
from api.cli import capacity  # noqa: F401
from api.cli import simulate  # noqa: F401
from api.cli import calendar  # noqa: F401
from api.cli import tables  # noqa: F401
from api.cli import audit  # noqa: F401
from api.cli import cases  # noqa: F401
from api.cli import reform  # noqa: F401
from api.cli import users, serve  # noqa: F401

__all__ = ["app", "main", "run"]


def main() -> None:
    """Console-script entry point."""
    raise SystemExit(run())
