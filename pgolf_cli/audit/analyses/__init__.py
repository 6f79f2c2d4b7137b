"""Derived analyses the rules share, each built on the facts pre-pass and cached per file.

``pgolf_cli.audit`` itself holds the engine (loading, parsing, the facts walk, reachability,
findings); each module here answers one question several rules ask — which updates train on
validation data (``training``, ``valuse``), how the score is assembled (``scoring``), where the
run's phases begin and end (``phases``) — so a rule's ``check`` stays short and no rule walks the
tree again.
"""
