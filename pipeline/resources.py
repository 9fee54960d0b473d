"""Where the data directories shipped beside the package live: ``grok_patterns/`` and ``dashboards/``.

In a checkout or an editable install they sit next to the package; a wheel installs them under
``<prefix>/share/pipeline/``. An environment variable (``PIPELINE_GROK_PATTERNS``,
``PIPELINE_DASHBOARDS``) overrides both.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from pathlib import Path

_REPO_ROOT = Path(__file__).resolve().parents[1]


def resource_dir(name: str, env_var: str | None = None) -> Path:
    """The directory ``name`` (e.g. ``grok_patterns``); the checkout's copy when there is none installed."""
    if env_var and os.environ.get(env_var):
        return Path(os.environ[env_var])
    candidates = [_REPO_ROOT / name,
                  Path(sysconfig.get_path("data")) / "share" / "pipeline" / name,
                  Path(sys.prefix) / "share" / "pipeline" / name]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return candidates[0]
