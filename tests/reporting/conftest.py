"""Small synthetic run outputs and an HTML checker shared by the reporting tests."""

from __future__ import annotations

from collections.abc import Callable
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class CheckedHTML(HTMLParser):
    """Parse a page, recording structural errors and every tag and URL-bearing attribute."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[str] = []
        self.urls: list[tuple[str, str]] = []
        self.doctype = ""
        self.feed(page)
        self.close()
        self.errors.extend(f"<{tag}> never closed" for tag in self.stack)

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.urls.extend((name, value or "") for name, value in attrs if name in {"src", "href", "action"})
        self.errors.extend(f"event handler {name} on <{tag}>" for name, _ in attrs if name.startswith("on"))
        if tag not in VOID_TAGS:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID_TAGS:
            self.errors.append(f"non-void <{tag}/> self-closed")
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def _assert_safe_page(page: str) -> CheckedHTML:
    parsed = CheckedHTML(page)
    assert parsed.errors == []
    assert parsed.doctype.lower() == "doctype html"
    assert parsed.tags[:1] == ["html"]
    assert "script" not in parsed.tags
    assert "<script" not in page.lower()
    assert "http://" not in page and "https://" not in page
    assert all(value.startswith("data:image/png;base64,") for _, value in parsed.urls), parsed.urls
    return parsed


@pytest.fixture
def check_page() -> Callable[[str], CheckedHTML]:
    """Assert a page is a well-formed, self-contained HTML5 document; return its parse."""
    return _assert_safe_page


@pytest.fixture
def history() -> pd.DataFrame:
    epochs = np.arange(1, 9)
    return pd.DataFrame({
        "epoch": epochs,
        "train_loss": 1.0 / epochs,
        "val_loss": [0.9, 0.7, 0.6, 0.55, 0.5, 0.52, 0.56, 0.6],
        "val_accuracy": [0.6, 0.7, 0.75, 0.8, 0.84, 0.86, 0.85, 0.83],
        "alpha": np.linspace(10, 9.5, 8),
        "seconds": np.full(8, 1.5),
    })


@pytest.fixture
def trajectory() -> pd.DataFrame:
    steps = np.arange(0, 70, 5)
    return pd.DataFrame({
        "step": steps,
        "epoch": steps // 10 + 2,
        "alpha": 10 - steps / 100,
        "beta": 2 + steps / 200,
        "delta": np.full(len(steps), 6.0),
    })


@pytest.fixture
def difficulty() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 40
    return pd.DataFrame({
        "sample_id": [f"rec-{i:03d}" for i in range(n)],
        "label": rng.integers(0, 3, n),
        "p": rng.uniform(size=n),
        "W_alpha": rng.uniform(size=n),
        "W": rng.uniform(0, 3, n),
        "bucket": ["easy"] * 25 + ["moderate"] * 10 + ["hard"] * 5,
        "mislabel_score": rng.permutation(n) / n,
        "is_flipped": rng.uniform(size=n) < 0.2,
        "extra": np.zeros(n),
    })


@pytest.fixture
def metrics() -> dict:
    return {
        "test": {"accuracy": 0.93125, "balanced_accuracy": 0.9, "macro_f1": 0.88, "auroc": 0.97},
        "final_scalars": {"alpha": 9.8, "beta": 2.1, "delta": 6.0},
        "best_epoch": 6,
        "epochs_run": 8,
        "detection": {"auroc": 0.91, "auprc": 0.7, "precision_at_k": 0.65, "n_noisy": 8},
        "per_class": [
            {"class": 0, "name": "normal", "support": 10, "precision": 0.9, "recall": 0.95, "f1": 0.92},
            {"class": 1, "name": "PVC", "support": 6, "precision": 0.8, "recall": 0.7, "f1": 0.75},
            {"class": 2, "name": "R-on-T", "support": 4, "precision": 0.6, "recall": 0.75, "f1": 0.67},
        ],
        "confusion_matrix": [[9, 1, 0], [1, 4, 1], [0, 1, 3]],
    }
