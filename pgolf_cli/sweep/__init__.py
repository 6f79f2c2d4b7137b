"""``pgolf sweep``: the gate's verdict on every pull request of a challenge repository.

Each ref is judged by :func:`pgolf_cli.gate.run.run_gate` against its merge base with the base
branch, from git objects only (:mod:`pgolf_cli.sweep.run`). Work is shared through a
content-addressed cache (:mod:`pgolf_cli.sweep.cache`): a folder's audit is keyed by the blobs
the audit can read (:mod:`pgolf_cli.sweep.audits`), so a script shipped by many pull requests is
audited once, and a ref's whole result by its commits, so a second sweep only reads the cache.
The report (:mod:`pgolf_cli.report.sweep`) comes as markdown, json, html and csv.
"""
