"""The challenge's fixed limits, as its README states them; every check uses these."""

from __future__ import annotations

#: Code bytes plus compressed model bytes, decimal (not 16 MiB).
ARTIFACT_LIMIT_BYTES = 16_000_000
#: Training wall time on 8xH100, in milliseconds.
TRAIN_LIMIT_MS = 600_000
#: Evaluation wall time, in milliseconds.
EVAL_LIMIT_MS = 600_000
