"""lilaw_health: learnable adaptive sample weighting for messy clinical and synthetic data.

The domain-agnostic engine lives in :mod:`lilaw_health.core`; each data domain (ECG,
tabular, pain, gait) lives in :mod:`lilaw_health.domains` and registers itself by name.
"""

__version__ = "0.1.0"
