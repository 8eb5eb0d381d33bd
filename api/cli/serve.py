"""``onething serve``: the HTTP API (and pages) with uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli._app import app, console


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="port to bind")] = 8000,
) -> None:
    """Run the service until Ctrl-C; in development, with one demo account per role."""
    import uvicorn

    from api.main import DEMO_ACCOUNTS, create_app
    from process_models.settings import settings

    service = create_app()
    out = console()
    out.print(f"onething on http://{host}:{port}  (API docs: http://{host}:{port}/docs; "
              f"database {settings.effective_database_url.split('@')[-1]}, "
              f"{settings.environment})")
    if settings.environment == "development":
        out.print("demo accounts (development only):")
        for username, password, role, departments in DEMO_ACCOUNTS:
            scope = f" for {', '.join(departments)}" if departments else ""
            out.print(f"  {username:<10} password {password:<15} {role}{scope}")
    out.print("Ctrl-C stops the service.")
    server = uvicorn.Server(uvicorn.Config(service, host=host, port=port, log_level="info"))
    server.run()
