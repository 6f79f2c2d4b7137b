"""The machine-readable report: one JSON document, stable and deterministic.

Keys are sorted, indentation is two spaces, the output ends with a newline and holds no
timestamps, so the same audit always gives the same bytes. Non-ASCII text is escaped, so the
document survives any output encoding. The shape (``schema_version`` is bumped whenever a key
changes meaning or disappears)::

    {
      "schema_version": 1,
      "tool": {"name": "pgolf", "version": "0.1.0"},
      "summary": {
        "findings": 3,        # unsuppressed findings, all severities
        "error": 1,           # unsuppressed findings by severity
        "warning": 1,
        "note": 1,
        "suppressed": 1,      # suppressed findings (not in the counts above)
        "files": 2,           # files audited or attempted
        "file_errors": 0,     # files that could not be audited ("error" set below)
        "input_errors": 0     # entries of "errors" below
      },
      "files": [
        {
          "path": "train_gpt.py",
          "layers": ["lzma", "base85"],   # packed wrappers decoded, outermost first
          "shipped_bytes": 15234,
          "error": null,                  # or why the file could not be audited
          "findings": [
            {
              "rule_id": "PG101", "rule_name": "val-finetune-before-scoring",
              "severity": "error" | "warning" | "note",
              "confidence": "high" | "medium" | "low",
              "message": "...", "path": "train_gpt.py",
              "line": 42, "end_line": 43,       # 1-based, inclusive
              "snippet": "...",                 # the source of line..end_line
              "evidence": [{"line": 30, "label": "...", "code": "...",
                            "path": null}],      # or the file, when not the finding's own
              "reachability": "default-on" | "world-size-dependent" | "off-by-default" | "unknown",
              "switches": [{"env": "TTT_ENABLED", "default": "0", "line": 12, "path": null}],
              "decoded_from": null,             # or the wrapper whose decoded code "line" counts
              "suppressed": false, "suppression_reason": null,
              "help": "...", "fingerprint": "..."
            }
          ],
          "suppressions": [{"line": 41, "rule_ids": ["PG101"], "reason": "...", "used": true}]
        }
      ],
      "errors": ["..."]                  # problems with the input as a whole
    }

Every field of the result dataclasses is written (enums as their values, tuples as lists), so
a field added to :mod:`pgolf_cli.audit.findings` shows up here without a change to this module.
"""

from __future__ import annotations

import dataclasses
import json
from enum import Enum
from typing import Any

from pgolf_cli.audit.findings import SCHEMA_VERSION, AuditReport
from pgolf_cli.report.audit.text import count

TOOL_NAME = "pgolf"


def render(report: AuditReport) -> str:
    return json.dumps(to_dict(report), indent=2, sort_keys=True) + "\n"


def to_dict(report: AuditReport) -> dict[str, Any]:
    counts = count(report)
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": TOOL_NAME, "version": report.tool_version},
        "summary": {
            "findings": counts.findings,
            "error": counts.error,
            "warning": counts.warning,
            "note": counts.note,
            "suppressed": counts.suppressed,
            "files": counts.files,
            "file_errors": counts.file_errors,
            "input_errors": counts.input_errors,
        },
        "files": [_plain(result) for result in report.files],
        "errors": list(report.errors),
    }


def _plain(value: Any) -> Any:
    """Dataclasses, enums and tuples as JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    return value
