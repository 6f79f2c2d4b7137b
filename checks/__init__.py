"""The pgolf rule catalogue: one module per rule family, one class per rule.

Only ``pgolf_cli.audit.registry`` imports this package.
"""

from __future__ import annotations

from checks.artifact import CodeOutsideTrainGpt, EmbeddedValidationData, NativeCode
from checks.causality import (
    DocumentShiftWithoutBosMask,
    NgramKeyUsesTarget,
    OracleSelection,
    SlotOnScoredTargets,
    TargetGatedMixture,
    UnnormalizedTargetBlend,
)
from checks.engine import (
    BeyondAuditLimits,
    MalformedSuppression,
    PackedSource,
    UndecodablePackedSource,
    UnparseableSource,
    UnusedSuppression,
)
from checks.environment import NetworkAtEval, StopWithoutWallclock, TrainingDataAtEval
from checks.evaluation import (
    CalibrationOnVal,
    RescoringPass,
    TrainBeforeScore,
    ValDataInTraining,
    ValFinetuneBeforeScoring,
    ValWarmupTraining,
)
from pgolf_cli.audit.rule import Rule

CATALOGUE: tuple[type[Rule], ...] = (
    ValFinetuneBeforeScoring,
    TrainBeforeScore,
    ValWarmupTraining,
    RescoringPass,
    ValDataInTraining,
    CalibrationOnVal,
    NgramKeyUsesTarget,
    SlotOnScoredTargets,
    TargetGatedMixture,
    OracleSelection,
    UnnormalizedTargetBlend,
    DocumentShiftWithoutBosMask,
    CodeOutsideTrainGpt,
    NativeCode,
    EmbeddedValidationData,
    NetworkAtEval,
    TrainingDataAtEval,
    StopWithoutWallclock,
    UnparseableSource,
    PackedSource,
    UndecodablePackedSource,
    UnusedSuppression,
    MalformedSuppression,
    BeyondAuditLimits,
)
