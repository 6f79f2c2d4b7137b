"""Training orchestration: presets, the torchrun launch, the live view and run.json.

``pgolf_cli.runner.run.run_training(plan)`` is the programmatic entry point; the ``pgolf train``
command only builds the :class:`~pgolf_cli.runner.run.RunPlan` and shows the outcome.
"""

from __future__ import annotations

from pgolf_cli.runner.init import template_path

__all__ = ["template_path"]
