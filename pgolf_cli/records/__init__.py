"""Records: train logs, submission.json, significance, and (later) verification and packaging."""

from __future__ import annotations

from pgolf_cli.records.logs import (
    SCORE_FAMILIES,
    Header,
    LogReader,
    ParsedLog,
    Score,
    ScoreLine,
    parse_log,
    read_log,
    seed_from_file_name,
    select_score,
)

__all__ = [
    "SCORE_FAMILIES",
    "Header",
    "LogReader",
    "ParsedLog",
    "Score",
    "ScoreLine",
    "parse_log",
    "read_log",
    "seed_from_file_name",
    "select_score",
]
