"""Case handling on Prefect. See README.md.

The embedded mode starts Prefect's API in a subprocess on first use; on a busy two-core
machine that can take longer than Prefect's default 20 s, so we allow two minutes unless
the environment says otherwise. No usage telemetry: there is no network to send it to.
"""

import os

os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from process_models.settings import settings as _settings

if _settings.prefect_mode == "server":
    os.environ.setdefault("PREFECT_API_URL", _settings.prefect_api_url)
