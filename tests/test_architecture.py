"""Arrows point one way: core imports no domain and no heavy domain dependency."""

from __future__ import annotations

FORBIDDEN = ("lilaw_health.domains", "lilaw_health.reporting", "mediapipe", "tsai", "fastai", "fairlearn",
             "matplotlib", "cv2")

CORE = ("import sys, lilaw_health.core; "
        f"print(' '.join(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r} "
        f"or any(m.startswith(f + '.') or m == f for f in {FORBIDDEN!r})))")
CLI_HELP = ("import sys, contextlib, io\nfrom lilaw_health.cli import main\n"
            "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n    main(['--help'])\n"
            "print(' '.join(m for m in sys.modules if m.startswith(('lilaw_health.domains.', 'tsai', 'mediapipe'))))")
DOMAINS = ("import sys, lilaw_health.domains.ecg, lilaw_health.domains.tabular; "
           "print(' '.join(m for m in ('lilaw_health.experiment', 'lilaw_health.compare', 'lilaw_health.cli') "
           "if m in sys.modules))")
BACKEND = ("import matplotlib; matplotlib.use('svg'); import lilaw_health.reporting, lilaw_health.fairness; "
           "print(matplotlib.get_backend())")
# each runs in a fresh interpreter (imports are not shared with pytest's), started in the
# background when the session begins (tests/conftest.py)
FRESH_INTERPRETERS = [(("-c", code),) for code in (CORE, CLI_HELP, DOMAINS, BACKEND)]


def _printed_by(fresh_interpreter, code: str) -> list[str]:
    """What a fresh interpreter prints after running ``code``."""
    result = fresh_interpreter.run(["-c", code])
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_core_imports_no_domain_or_heavy_module(fresh_interpreter):
    assert _printed_by(fresh_interpreter, CORE) == []


def test_cli_help_does_not_import_domains(fresh_interpreter):
    assert _printed_by(fresh_interpreter, CLI_HELP) == []


def test_domains_do_not_import_the_pipeline(fresh_interpreter):
    assert _printed_by(fresh_interpreter, DOMAINS) == []


def test_reports_leave_the_pyplot_backend_alone(fresh_interpreter):
    assert _printed_by(fresh_interpreter, BACKEND) == ["svg"]
