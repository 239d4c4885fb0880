"""The small generated pain demo the data tests share (rendered and landmarked once per session:
MediaPipe on every frame is the costly part). Tests that damage files work on copies."""

from __future__ import annotations

import pytest

SMALL = {"subjects": 6, "frames_per_subject": 4, "identities": 8, "k": 3}


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("pain_demo")
    return {**SMALL, "root": str(root), "cache": str(root / "faces")}
