"""Body.computed_with: which calls a value is computed with, through local names."""

from __future__ import annotations

import libcst as cst

from pgolf_cli.audit.analyses.bodies import Bodies, Body
from pgolf_cli.audit.facts import Facts
from pgolf_cli.audit.positions import statement_lines

_CODE = """\
import numpy as np

def f(p, q, mask):
    s = -np.log(np.clip(p, 1e-12, 1.0))
    t = s
    ls = 0.0; hits = 0
    ls += float(t.sum())
    hits += int((q > 0).sum())
    s = q
    later = 0.0
    later += s.sum()
    return ls, hits, later
"""


def _body() -> Body:
    module = cst.parse_module(_CODE)
    facts = Facts(module, statement_lines(module, _CODE), _CODE)
    return facts.analysis(Bodies).of(facts.functions["f"])


def test_a_total_is_computed_with_the_calls_of_the_names_it_adds() -> None:
    body = _body()
    logs = frozenset({"log"})
    (ls,) = body.accumulated(7, "ls")
    (hits,) = body.accumulated(8, "hits")
    (later,) = body.accumulated(11, "later")
    assert body.computed_with(ls, logs)  # through t = s = -np.log(...)
    assert not body.computed_with(hits, logs)
    assert not body.computed_with(later, logs)  # `s` was rebound to `q` before this line
    assert body.computed_with(hits, frozenset({"int"}))
