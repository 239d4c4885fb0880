"""Data cards: one Markdown file per dataset in ``data_cards/``, printed into every report.

A card must have every section of :data:`REQUIRED_SECTIONS` (a test checks each card).
"""

from __future__ import annotations

import importlib.resources
import re

REQUIRED_SECTIONS = ("Provenance", "Citation", "Licence and access", "Consent", "Counts", "Label definition",
                     "Sensitive attributes", "Split policy", "Known issues")


def card_names() -> list[str]:
    folder = importlib.resources.files("lilaw_health") / "data_cards"
    return sorted(str(p.name)[:-3] for p in folder.iterdir() if str(p.name).endswith(".md"))


def load_card(dataset: str) -> str | None:
    """The card of ``dataset`` (case-insensitive), or None when there is none."""
    path = importlib.resources.files("lilaw_health") / "data_cards" / f"{dataset.lower()}.md"
    return path.read_text(encoding="utf-8") if path.is_file() else None


def missing_sections(card: str) -> list[str]:
    """Required sections that ``card`` lacks or leaves empty."""
    found = {m.group(1).strip(): m.group(2).strip()
             for m in re.finditer(r"^## (.+?)\n(.*?)(?=^## |\Z)", card, re.M | re.S)}
    return [name for name in REQUIRED_SECTIONS if not found.get(name)]
