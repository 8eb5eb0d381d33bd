"""Case handling on Prefect. See README.md.

The running case and its record are :mod:`flows.casework` (no Prefect there). The names
below are the Prefect runs (:mod:`flows.runs`), the worker (:mod:`flows.worker`) and the
advance after a commit (:mod:`flows.handoff`, which imports Prefect only where it is used);
each module is loaded on first use, so ``import flows.casework`` does not import Prefect.

>>> import flows
>>> "request_advance" in flows.__all__
True

The embedded mode starts Prefect's API in a subprocess on first use; on a busy two-core
machine that can take longer than Prefect's default 20 s, so we allow two minutes unless
the environment says otherwise. No usage telemetry: there is no network to send it to.
"""

import os

os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from process_models._exports import lazy_exports
from process_models.settings import settings as _settings

if _settings.prefect_mode == "server":
    os.environ.setdefault("PREFECT_API_URL", _settings.prefect_api_url)

_HOMES = {
    "flows.runs": [
        "ADVANCING_KINDS", "FLOWS", "WORK_POOL", "AdvanceSummary", "advance",
        "open_case", "quiet_runs", "relay_once", "request_advance", "run_flow",
        "run_open_case", "run_relay", "sla_sweep",
    ],
    "flows.worker": ["InProcessWorker", "deploy", "run_worker"],
    "flows.handoff": ["advance_without_prefect", "engine_for", "open_without_prefect",
                      "relay_running", "uses_prefect"],
}
__all__, __getattr__, __dir__ = lazy_exports("flows", _HOMES)
