"""Arrows point one way: core imports no domain and no heavy domain dependency."""

from __future__ import annotations

import subprocess
import sys

def _printed_by(code: str) -> list[str]:
    """What a fresh interpreter prints after running ``code`` (imports are not shared with pytest's)."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()


FORBIDDEN = ("lilaw_health.domains", "lilaw_health.reporting", "mediapipe", "tsai", "fastai", "fairlearn",
             "matplotlib", "cv2")


def test_core_imports_no_domain_or_heavy_module():
    code = ("import sys, lilaw_health.core; "
            f"print(' '.join(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r} "
            f"or any(m.startswith(f + '.') or m == f for f in {FORBIDDEN!r})))")
    assert _printed_by(code) == []


def test_cli_help_does_not_import_domains():
    code = ("import sys, contextlib, io\nfrom lilaw_health.cli import main\n"
            "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n    main(['--help'])\n"
            "print(' '.join(m for m in sys.modules if m.startswith(('lilaw_health.domains.', 'tsai', 'mediapipe'))))")
    assert _printed_by(code) == []


def test_domains_do_not_import_the_pipeline():
    code = ("import sys, lilaw_health.domains.ecg, lilaw_health.domains.tabular; "
            "print(' '.join(m for m in ('lilaw_health.experiment', 'lilaw_health.compare', 'lilaw_health.cli') "
            "if m in sys.modules))")
    assert _printed_by(code) == []


def test_reports_leave_the_pyplot_backend_alone():
    code = ("import matplotlib; matplotlib.use('svg'); import lilaw_health.reporting, lilaw_health.fairness; "
            "print(matplotlib.get_backend())")
    assert _printed_by(code) == ["svg"]
