"""Where the toolkit keeps files it can rebuild: generated demo data and extraction caches."""

from __future__ import annotations

import os
from pathlib import Path


def default_cache() -> Path:
    """``$LILAW_HEALTH_CACHE``, else ``~/.cache/lilaw_health``."""
    return Path(os.environ.get("LILAW_HEALTH_CACHE", Path.home() / ".cache" / "lilaw_health"))
