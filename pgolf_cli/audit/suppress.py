"""``# pgolf: ignore[<rule id>] reason`` comments.

A suppression covers findings on its own line or, when the comment stands alone, on the next
code line. The rule id and a reason are both required: a reviewer reading the report must see
why a finding was waved through, so suppressed findings stay in every report, marked.
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass

_MARK = "pgolf:"
_PATTERN = re.compile(r"#\s*pgolf:\s*ignore(?:\[(?P<ids>[^\]]*)\])?(?P<reason>.*)$")
_RULE_ID = re.compile(r"^PG\d{3}$")


@dataclass(slots=True)
class Directive:
    line: int
    """The comment's own line."""
    covers: tuple[int, ...]
    """Lines whose findings it suppresses."""
    rule_ids: tuple[str, ...]
    reason: str
    problem: str | None = None
    """Why the directive is malformed (then it suppresses nothing)."""
    used: bool = False


def _comments(text: str) -> list[tuple[int, str, bool]]:
    """(line, comment text, stands alone on its line) for comments that mention pgolf."""
    out: list[tuple[int, str, bool]] = []
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return out
    previous_line = 0
    for tok in tokens:
        if tok.type == tokenize.COMMENT and _MARK in tok.string:
            alone = tok.start[0] != previous_line
            out.append((tok.start[0], tok.string, alone))
        if tok.type not in (
            tokenize.NL,
            tokenize.NEWLINE,
            tokenize.COMMENT,
            tokenize.INDENT,
            tokenize.DEDENT,
        ):
            previous_line = tok.end[0]
    return out


def parse(text: str) -> list[Directive]:
    """Every suppression comment in ``text`` (cheap when there is none)."""
    if _MARK not in text:
        return []
    lines = text.splitlines()
    directives: list[Directive] = []
    for line, comment, alone in _comments(text):
        match = _PATTERN.search(comment)
        if match is None:
            continue
        covers = [line]
        if alone:
            nxt = line + 1
            while nxt <= len(lines) and (
                not lines[nxt - 1].strip() or lines[nxt - 1].lstrip().startswith("#")
            ):
                nxt += 1
            covers.append(nxt)
        raw_ids = match.group("ids")
        ids = tuple(i.strip() for i in (raw_ids or "").split(",") if i.strip())
        reason = match.group("reason").strip()
        problem = None
        if not ids:
            problem = "names no rule id; write `# pgolf: ignore[<rule id>] why this is legal`, with the id the finding shows"
        elif bad := [i for i in ids if not _RULE_ID.match(i)]:
            problem = f"has an invalid rule id {', '.join(bad)}; ids are PG and three digits, as findings show them"
        elif not reason:
            problem = "gives no reason; add one after the bracket, e.g. `# pgolf: ignore[<rule id>] scored first in eval_ttt()`"
        directives.append(Directive(line, tuple(covers), ids, reason, problem))
    return directives


def match(directives: list[Directive], rule_id: str, line: int) -> Directive | None:
    for directive in directives:
        if directive.problem is None and rule_id in directive.rule_ids and line in directive.covers:
            directive.used = True
            return directive
    return None
