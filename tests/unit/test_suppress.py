"""Parsing of `# pgolf: ignore[...]` comments."""

from __future__ import annotations

from pgolf_cli.audit import suppress


def test_trailing_comment_covers_its_line() -> None:
    (d,) = suppress.parse("x = 1  # pgolf: ignore[PG101, PG102] reviewed by hand\n")
    assert (d.line, d.covers, d.rule_ids, d.reason, d.problem) == (
        1,
        (1,),
        ("PG101", "PG102"),
        "reviewed by hand",
        None,
    )


def test_standalone_comment_covers_the_next_code_line() -> None:
    text = "a = 1\n# pgolf: ignore[PG201] update only\n\n# more words\nb = 2\n"
    (d,) = suppress.parse(text)
    assert d.covers == (2, 5)


def test_problems_are_named() -> None:
    text = (
        "a = 1  # pgolf: ignore[PG101]\nb = 2  # pgolf: ignore\nc = 3  # pgolf: ignore[E501] why\n"
    )
    problems = [d.problem for d in suppress.parse(text)]
    assert problems[0] is not None and "reason" in problems[0]
    assert problems[1] is not None and "rule id" in problems[1]
    assert problems[2] is not None and "E501" in problems[2]


def test_text_inside_strings_is_not_a_suppression() -> None:
    assert suppress.parse('s = "# pgolf: ignore[PG101] fake"\n') == []


def test_match_marks_used() -> None:
    directives = suppress.parse("x = 1  # pgolf: ignore[PG101] ok\n")
    assert suppress.match(directives, "PG102", 1) is None
    assert suppress.match(directives, "PG101", 2) is None
    hit = suppress.match(directives, "PG101", 1)
    assert hit is not None and hit.used
