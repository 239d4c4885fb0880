"""Data domains, registered by name and imported only when asked for.

Every domain package has the same modules (``data.py``, ``models.py``, ``augment.py`` where
it has augmentations) and exposes ``DOMAIN``, an instance of a subclass of
:class:`lilaw_health.core.domain.Domain` (the contract, checked by mypy). Domains import core;
core never imports a domain, so heavy dependencies (tsai, mediapipe, fairlearn) load only on use.
Adding a domain: its package, plus one line here.
"""

from __future__ import annotations

import importlib

from lilaw_health.core.domain import Domain
from lilaw_health.core.errors import unknown_name

DOMAIN_MODULES = {"ecg": "lilaw_health.domains.ecg", "tabular": "lilaw_health.domains.tabular",
                  "pain": "lilaw_health.domains.pain", "gait": "lilaw_health.domains.gait"}


def get_domain(name: str) -> Domain:
    """Import a domain's package and return its :class:`Domain`."""
    if name not in DOMAIN_MODULES:
        raise unknown_name("domain", name, list(DOMAIN_MODULES))
    domain = importlib.import_module(DOMAIN_MODULES[name]).DOMAIN
    if not isinstance(domain, Domain):
        raise TypeError(f"{DOMAIN_MODULES[name]}.DOMAIN must be a lilaw_health.core.domain.Domain")
    return domain


__all__ = ["DOMAIN_MODULES", "Domain", "get_domain"]
