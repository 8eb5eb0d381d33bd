"""``onething`` command line. Each module registers its commands on :data:`app`;
:func:`run` imports the one it needs."""

from api.cli._app import app, run

__all__ = ["app", "main", "run"]


def main() -> None:
    """Console-script entry point."""
    raise SystemExit(run())
