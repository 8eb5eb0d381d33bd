"""Staff accounts: ``onething user add|list``."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from api.cli._app import app, console, print_json

user_app = typer.Typer(name="user", help="Staff accounts: add, list.", no_args_is_help=True)
app.add_typer(user_app, name="user")


def _session():
    from sqlmodel import Session

    from flows.casework.store import init_db, make_engine

    engine = make_engine()
    init_db(engine)
    return Session(engine)


def known_departments(session) -> set[str]:
    """Department ids of the catalog and of every stored procedure."""
    from sqlmodel import select

    from flows.casework.tables import ProcedureDefinition
    from process_models.catalog import load_catalog
    from process_models.loading import parse_procedure

    procedures = [*load_catalog(), *(parse_procedure(d) for d in session.exec(
        select(ProcedureDefinition.definition)))]
    return {d.id for p in procedures for d in p.departments}


@user_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="username")],
    role: Annotated[str, typer.Option("--role", help="front_desk, clerk, planner, auditor "
                                                      "or admin")],
    department: Annotated[list[str], typer.Option(
        "--department", help="a department a clerk decides for (repeat for each)")] = [],  # noqa: B006
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="read the password from the first line of stdin")] = False,
) -> None:
    """Create an account; the password is asked for twice, or read from stdin."""
    from datetime import UTC, datetime

    from api.security import check_new_password, hash_password
    from flows.casework.accounts import add_user, check_role

    check_role(role)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    check_new_password(password)
    with _session() as session:
        user = add_user(session, name, password_hash=lambda: hash_password(password), role=role,
                        departments=department, known_departments=known_departments(session),
                        now=datetime.now(UTC))
        scope = f" for {', '.join(user.departments)}" if user.departments else ""
        console().print(f"user {user.username}: {user.role}{scope}")


@user_app.command("list")
def list_users(json_: Annotated[bool, typer.Option("--json", help="machine-readable output")]
               = False) -> None:
    """Every account: username, role, departments, active."""
    from sqlmodel import col, select

    from flows.casework.accounts import User

    with _session() as session:
        rows = [{"username": u.username, "role": u.role, "departments": u.departments,
                 "active": u.active}
                for u in session.exec(select(User).order_by(col(User.username)))]
    if json_:
        print_json(rows)
        return
    out = console()
    for r in rows:
        out.print(f"{r['username']:<20} {r['role']:<11} {', '.join(r['departments']) or '—':<30} "
                  f"{'active' if r['active'] else 'inactive'}")
