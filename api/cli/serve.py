"""``onething serve``: the HTTP API (and pages) with uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli._app import app, console


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only.

    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_port_free(host: str, port: int) -> None:
    """:class:`InvalidInput` when ``host:port`` cannot be bound (before anything else runs)."""
    import socket

    from process_models.errors import InvalidInput

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as error:
            raise InvalidInput(f"cannot listen on {host}:{port} ({error.strerror}); stop what "
                               "listens there or choose another --port", path="--port") from None


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="port to bind")] = 8000,
) -> None:
    """Run the service until Ctrl-C; in development on SQLite and 127.0.0.1, with one demo
    account per role."""
    import uvicorn

    from api.main import DEMO_ACCOUNTS, DEMO_CLERK_PASSWORD, create_app, demo_accounts
    from process_models.settings import secret_key, settings

    loopback = is_loopback(host)
    secret = secret_key(public=not loopback)
    check_port_free(host, port)
    demo = settings.environment == "development" and settings.is_sqlite and loopback
    service = create_app(secret_key=secret, demo_accounts=demo)
    out = console()
    out.print(f"onething on http://{host}:{port}  (API docs: http://{host}:{port}/docs; "
              f"database {settings.effective_database_url.split('@')[-1]}, "
              f"{settings.environment})")
    if demo:
        out.print("demo accounts (development on SQLite and 127.0.0.1 only):")
        for username, password, role, departments in DEMO_ACCOUNTS:
            scope = f" for {', '.join(departments)}" if departments else ""
            out.print(f"  {username:<10} password {password:<15} {role}{scope}")
        clerks = [a[0] for a in demo_accounts()[len(DEMO_ACCOUNTS):]]
        out.print(f"  clerk-<department> password {DEMO_CLERK_PASSWORD:<15} clerk of that "
                  f"department, one for each of the {len(clerks)} departments the window's "
                  f"bundles need: {', '.join(clerks)}")
    out.print("Ctrl-C stops the service.")
    proxies = settings.forwarded_allow_ips
    server = uvicorn.Server(uvicorn.Config(
        service, host=host, port=port, log_level="info",
        proxy_headers=bool(proxies), forwarded_allow_ips=proxies or None))
    server.run()
