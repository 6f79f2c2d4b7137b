"""Records: reading train logs (and, in later releases, submissions, sizes and statistics)."""

from __future__ import annotations

from pgolf_cli.records.logs import (
    Header,
    LogReader,
    ParsedLog,
    Score,
    ScoreLine,
    parse_log,
    select_score,
)

__all__ = ["Header", "LogReader", "ParsedLog", "Score", "ScoreLine", "parse_log", "select_score"]
