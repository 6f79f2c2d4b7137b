"""The pgolf rule catalogue: one module per rule family, one class per rule.

Only ``pgolf_cli.audit.registry`` imports this package.
"""

from __future__ import annotations

from checks.artifact import NativeCode
from checks.causality import NgramKeyUsesTarget
from checks.engine import (
    MalformedSuppression,
    PackedSource,
    UndecodablePackedSource,
    UnparseableSource,
    UnusedSuppression,
)
from checks.environment import NetworkAtEval
from checks.evaluation import TrainBeforeScore, ValFinetuneBeforeScoring
from pgolf_cli.audit.rule import Rule

CATALOGUE: tuple[type[Rule], ...] = (
    ValFinetuneBeforeScoring,
    TrainBeforeScore,
    NgramKeyUsesTarget,
    NativeCode,
    NetworkAtEval,
    UnparseableSource,
    PackedSource,
    UndecodablePackedSource,
    UnusedSuppression,
    MalformedSuppression,
)
