"""After a committed change: the advance, without paying Prefect's start-up in a short command.

Importing Prefect and starting its temporary API costs seconds, more than the work of a
command at the window. So a process that does not already serve Prefect (a lone
``onething case`` command in embedded mode) never starts it (:func:`uses_prefect` tells
which; :mod:`api.case_runner` chooses):

1. A process that serves Prefect (``onething worker`` and the service's relay process,
   inside :func:`flows.runs.embedded_api`; any process in server mode) requests an
   ``advance`` flow run (:func:`flows.runs.advance_after_commit`).
2. Else, when a relay of such a process watches the same database (its beacon file under
   the data directory names a live process), the command nudges that relay, which starts
   the ``advance`` run at once in its own process (:func:`flows.runs.run_relay`).
3. Else the command advances the cases here, without Prefect
   (:func:`flows.casework.drain_outbox`), so cases run from the CLI alone still end.

The service in embedded mode is such a command too (unless run without a relay, as the
tests run it): its requests never run a flow; it starts its relay in a process of its own
(:func:`relay_process`, running :func:`flows.worker.run_service_relay`), so an advance,
however long, takes no time from the requests. One relay per database and machine relays
at a time (:func:`sole_relay`); the relays of further service processes wait to take over.

The database stays the record either way: a change commits with its outbox row first, and
a row whose advance is lost (a relay stopping just after the nudge) stays pending for the
next advance, by any of the three.

>>> beacon_glob("sqlite:///var/onething.db").startswith("relay-")
True
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from process_models.settings import settings

__all__ = [
    "advance_without_prefect",
    "advanced_message",
    "beacon_glob",
    "engine_for",
    "not_advanced_message",
    "open_here",
    "open_without_prefect",
    "prefect_served_here",
    "relay_beacon",
    "relay_process",
    "relay_running",
    "sole_relay",
    "uses_prefect",
]

log = logging.getLogger(__name__)

_ROOT = Path(__file__).resolve().parent.parent

prefect_served_here = threading.Event()
"""Set while this process serves Prefect's API (:func:`flows.runs.embedded_api`)."""


def engine_for(database_url: str | None = None) -> Engine:
    """One engine per database URL for this process (default: the settings' URL)."""
    return _engine(database_url or settings.effective_database_url)


@functools.lru_cache(maxsize=16)
def _engine(database_url: str) -> Engine:
    from flows.casework.store import make_engine

    return make_engine(database_url)


def advanced_message(cases: int) -> str:
    """What an advance done now reports."""
    return f"advanced {cases} case(s)"


def not_advanced_message() -> str:
    """What a change whose advance failed reports: it stands, and moves on later."""
    return ("not advanced yet (advance failed); the relay of onething serve or "
            "onething worker moves the case on")


def uses_prefect() -> bool:
    """Whether changes made in this process advance through Prefect: in server mode, or
    while this process serves Prefect's API (:func:`flows.runs.embedded_api`)."""
    return settings.prefect_mode == "server" or prefect_served_here.is_set()


# --- the beacon of a running relay -----------------------------------------------------------


def _digest(database_url: str) -> str:
    """A short name of the database, the same for every spelling of its URL."""
    url = engine_for(database_url).url.render_as_string(hide_password=False)
    return hashlib.sha256(url.encode()).hexdigest()[:12]


def beacon_glob(database_url: str) -> str:
    """The file names of the beacons of relays watching ``database_url`` (one per process)."""
    return f"relay-{_digest(database_url)}-*.pid"


def _nudge_file(database_url: str) -> Path:
    return settings.data_dir / f"relay-{_digest(database_url)}.nudge"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def relay_running(database_url: str) -> bool:
    """Whether a live process's relay watches ``database_url`` (beacons of dead processes
    are removed on the way)."""
    for beacon in settings.data_dir.glob(beacon_glob(database_url)):
        try:
            pid = int(beacon.read_text(encoding="ascii"))
        except (OSError, ValueError):
            continue
        if _alive(pid):
            return True
        with suppress(OSError):
            beacon.unlink()
    return False


@contextmanager
def relay_beacon(database_url: str) -> Iterator[Callable[[], bool]]:
    """While the block runs, a beacon saying this process relays ``database_url``; yields
    a function telling whether a command nudged the relay since it last asked.

    Only in embedded mode (in server mode commands reach Prefect's server themselves). A
    data directory that cannot be written leaves commands to advance by themselves.
    """
    if settings.prefect_mode != "embedded":
        yield lambda: False
        return
    beacon = settings.data_dir / beacon_glob(database_url).replace("*", str(os.getpid()))
    nudge = _nudge_file(database_url)
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        beacon.write_text(str(os.getpid()), encoding="ascii")
    except OSError as error:
        log.warning("relay: no beacon in %s (%s); commands advance by themselves",
                    settings.data_dir, error)
        yield lambda: False
        return
    seen = [_mtime(nudge)]

    def nudged() -> bool:
        now = _mtime(nudge)
        if now == seen[0]:
            return False
        seen[0] = now
        return True

    try:
        yield nudged
    finally:
        with suppress(OSError):
            beacon.unlink()


@contextmanager
def sole_relay(database_url: str, stop: threading.Event,
               poll_seconds: float = 1.0) -> Iterator[bool]:
    """Wait until this process is the one relay of ``database_url`` on this machine (an
    exclusive lock on a file of the data directory, released when the process ends however
    it ends) or until ``stop`` is set; yields whether it is.
    """
    import fcntl

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.data_dir / f"relay-{_digest(database_url)}.lock", "a") as lock:
        held = False
        while not held and not stop.is_set():
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                held = True
            except BlockingIOError:
                stop.wait(poll_seconds)
        yield held


RELAY_STOP_SECONDS = 30.0
"""How long a service waits for its relay process to finish the advance under way."""

_RELAY_MAIN = ("import signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); "
               "from flows.worker import run_service_relay; run_service_relay(int(sys.argv[1]))")
"""The relay process: Ctrl-C at a terminal reaches the whole process group; the service
stops its relay itself (SIGTERM), after the requests."""


@contextmanager
def relay_process(database_url: str) -> Iterator[subprocess.Popen]:
    """While the block runs, the relay of ``database_url`` in a child process
    (:func:`flows.worker.run_service_relay`: Prefect's API and the advance runs are there,
    none here; it ignores Ctrl-C); on leaving it is asked to stop (SIGTERM) and killed after
    :data:`RELAY_STOP_SECONDS`. It ends by itself when this process does.

    The child gets this process's settings that say where things are (database, data
    directory, Prefect mode); the rest of the environment as it is.
    """
    env = {**os.environ, "ONETHING_DATABASE_URL": database_url,
           "ONETHING_DATA_DIR": str(settings.data_dir.resolve()),
           "ONETHING_PREFECT_MODE": settings.prefect_mode,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(_ROOT),
                                                       os.environ.get("PYTHONPATH")]))}
    child = subprocess.Popen([sys.executable, "-c", _RELAY_MAIN, str(os.getpid())], env=env)
    try:
        yield child
    finally:
        child.terminate()
        try:
            child.wait(timeout=RELAY_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            log.warning("relay process %d did not stop within %.0f s; killed", child.pid,
                        RELAY_STOP_SECONDS)
            child.kill()
            child.wait()


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


def _nudge(database_url: str) -> bool:
    """Nudge a relay watching ``database_url``; whether one is there to be nudged."""
    if not relay_running(database_url):
        return False
    nudge = _nudge_file(database_url)
    try:
        nudge.touch()
        os.utime(nudge)
    except OSError:
        return False
    return True


# --- after a commit, without Prefect -------------------------------------------------------


def advance_without_prefect(database_url: str | None = None) -> str:
    """Have the pending outbox rows handled after a committed change, by a running relay
    (nudged) or else here (:func:`flows.casework.drain_outbox`); what happened, for the
    answer.

    A failure after the commit is logged and reported, never raised: the change stands and
    its rows stay pending.
    """
    url = database_url or settings.effective_database_url
    if _nudge(url):
        return "handed to the running service"
    try:
        with Session(engine_for(url)) as session:
            _settled, results = _drain(session)
    except Exception as error:  # noqa: BLE001  (committed; the next advance takes its rows)
        log.warning("advance after a committed change failed (%s: %s); its outbox rows stay "
                    "pending", type(error).__name__, error)
        return not_advanced_message()
    return advanced_message(len(results))


def _drain(session: Session) -> tuple[int, list[Any]]:
    from flows.casework import drain_outbox

    return drain_outbox(session, now=datetime.now(UTC))


def open_without_prefect(procedure_id: str, applicant: dict[str, str | None],
                         submitted: list[str], database_url: str | None = None,
                         version: str | None = None) -> dict[str, Any]:
    """Open a case here (:func:`open_here`, the ``open_case`` flow's own work), a
    malformed ID number (or an enterprise's 统一社会信用代码) refused first."""
    from flows.casework import Applicant

    Applicant(**applicant).checked_number(None)
    return open_here(procedure_id, applicant, submitted, database_url, None, version)


def open_here(procedure_id: str, applicant: dict[str, str | None], submitted: list[str],
              database_url: str | None, now: datetime | None, version: str | None = None
              ) -> dict[str, Any]:
    """Open one case at the window (:func:`flows.casework.open_case`) on the definition the
    window runs (:func:`flows.casework.window_procedure`); its id, status and due date."""
    from flows import casework

    with Session(engine_for(database_url)) as session:
        proc = casework.window_procedure(procedure_id, version, session=session)
        case = casework.open_case(session, proc, casework.Applicant(**applicant), submitted,
                                  now=now if now is not None else datetime.now(UTC))
        return {"case_id": case.id, "status": case.status, "due_date": case.due_date}
