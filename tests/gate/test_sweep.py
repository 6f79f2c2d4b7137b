"""`pgolf sweep` on real git repositories: every pull-request ref judged as the gate judges it.

One repository (shaped like the challenge's, from gate_helpers) gets refs/pull/<n>/head refs:
good records, scripts shared between pull requests, illegal scripts, broken diffs, and hostile
ones (markup in ref, folder and file names, symlinks, binary and huge files, unrelated
history). Each test sweeps it, or a bare or shallow clone of it, with its own cache.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from gate_helpers import (
    GOOD_RUNS,
    LEGAL_SCRIPT,
    NON_RECORD,
    PREQUANT_TTT_SCRIPT,
    TEN_MIN,
    Repo,
    Seed,
    build_base,
    record_files,
)
from typer.testing import CliRunner

from pgolf_cli.cli import app
from pgolf_cli.gate.run import GateOptions, run_gate
from pgolf_cli.sweep.model import ERROR, RefResult
from pgolf_cli.sweep.run import SweepOptions, in_shard, run_sweep

HOSTILE_REF = 'refs/pull/=HYPERLINK("x")|@here<img_src=x_onerror=alert(1)>`&amp;/head'
HOSTILE_NAME = "<script>alert(1)</script>|[x](javascript:alert(1))@here.md"
HELPER_SCRIPT = LEGAL_SCRIPT.replace(
    "def main():", 'exec(open("helpers.txt").read())\n\n\ndef main():'
)
OTHER_RUNS = (Seed(1337, 1.20133456), Seed(42, 1.20244567), Seed(2025, 1.20188765))


def pr(repo: Repo, ref: str, files: dict[str, bytes], *, orphan: bool = False) -> str:
    """Commit ``files`` on a branch off main and point ``ref`` at it."""
    if orphan:
        repo.git("switch", "-q", "--orphan", "orphan-branch")
    else:
        repo.git("switch", "-q", "-c", f"b{abs(hash(ref))}", "main")
    for path, data in files.items():
        repo.write(path, data)
    head = repo.commit(f"pull request {ref}")
    repo.git("update-ref", ref, head)
    repo.git("switch", "-q", "-f", "main")
    repo.git("clean", "-qfdx")
    return head


def folder(name: str, files: dict[str, bytes], track: str = TEN_MIN) -> dict[str, bytes]:
    return {f"{track}/{name}/{inner}": data for inner, data in files.items()}


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    repo = build_base(tmp_path_factory.mktemp("sweep") / "parameter-golf")
    # The same legal script in two pull requests, with different logs and folder names.
    pr(repo, "refs/pull/1/head", folder("2026-05-01_Good", record_files(GOOD_RUNS)))
    pr(repo, "refs/pull/2/head", folder("2026-05-02_GoodToo", record_files(OTHER_RUNS)))
    # The same illegal script in two pull requests: PG101 each time, at each folder's path.
    ttt = record_files(GOOD_RUNS, script=PREQUANT_TTT_SCRIPT)
    pr(repo, "refs/pull/3/head", folder("2026-05-03_Ttt", ttt))
    pr(repo, "refs/pull/10/head", folder("2026-05-10_TttAgain", ttt))
    # A change outside records/ with a hostile file name.
    pr(repo, "refs/pull/4/head", {HOSTILE_NAME: b"hello\n", **folder("2026-05-04_X", ttt)})
    # A folder with a symlink, a binary blob and a file over the per-file cap.
    files = record_files((Seed(3, 1.41234567),), track="non_record_16mb")
    files["weights.bin"] = b"\0\1\2" * 1000
    files["huge.txt"] = b"x" * 16_500_000
    pr(repo, "refs/pull/5/head", folder("2026-05-05_Odd", files, NON_RECORD))
    link = repo.path / NON_RECORD / "2026-05-06_Link"
    link.mkdir(parents=True)
    (link / "train_gpt.py").symlink_to("../../../train_gpt.py")
    pr(repo, "refs/pull/6/head", folder("2026-05-06_Link", {"README.md": b"# x\n"}, NON_RECORD))
    # A folder name that is markup (and not YYYY-MM-DD_Description), under a hostile ref name.
    pr(repo, HOSTILE_REF, folder("<i>x|y&amp;", record_files(GOOD_RUNS)))
    # History that shares nothing with the challenge repository.
    pr(repo, "refs/pull/8/head", folder("2026-05-08_Orphan", record_files(GOOD_RUNS)), orphan=True)
    # A script that execs a non-Python file of its folder: that file is part of the audit.
    helper = record_files(GOOD_RUNS, script=HELPER_SCRIPT)
    helper["helpers.txt"] = b"x = 1\n"
    pr(repo, "refs/pull/9/head", folder("2026-05-09_Helper", helper))
    # Not a pull request: another ref namespace the default pattern leaves out.
    pr(repo, "refs/heads/feature", folder("2026-05-11_Branch", record_files(GOOD_RUNS)))
    return repo


ALL_PRS = 10


def sweep(repo: Path, cache: Path, **kwargs: Any) -> Any:
    return run_sweep(repo, SweepOptions(cache=cache, **kwargs))


def ids(result: RefResult, *severities: str) -> list[str]:
    return [r.id for r in result.reasons if not severities or r.severity.value in severities]


def by_ref(report: Any) -> dict[str, RefResult]:
    return {result.ref: result for result in report.results}


# --------------------------------------------------------------------------------------------
# Verdicts
# --------------------------------------------------------------------------------------------


def test_every_pull_request_gets_the_gates_verdict(swept: Repo, tmp_path: Path) -> None:
    report = sweep(swept.path, tmp_path / "cache")
    rows = by_ref(report)
    assert len(rows) == ALL_PRS and "refs/heads/feature" not in rows
    # Natural order: 10 after 9.
    assert [r.ref for r in report.results][:3] == [f"refs/pull/{n}/head" for n in (1, 2, 3)]
    for ref, row in rows.items():
        gate = run_gate(swept.path, GateOptions(head=ref))
        assert row.verdict == gate.verdict.value, ref
        assert [(r.id, r.severity, r.path, r.line, r.message) for r in row.reasons] == [
            (r.id, r.severity, r.path, r.line, r.message) for r in gate.reasons
        ], ref
        assert row.folder == gate.folder and row.claimed_val_bpb == gate.claimed_val_bpb
    assert rows["refs/pull/1/head"].verdict == "pass"
    assert rows["refs/pull/1/head"].claimed_val_bpb == pytest.approx(1.20185596)
    assert rows["refs/pull/2/head"].verdict == "pass"
    ttt = rows["refs/pull/10/head"]
    assert ttt.verdict == "fail" and "audit.PG101" in ids(ttt, "error")
    pg101 = next(r for r in ttt.reasons if r.id == "audit.PG101")
    assert pg101.path == f"{TEN_MIN}/2026-05-10_TttAgain/train_gpt.py" and pg101.line
    assert "diff.outside-records" in ids(rows["refs/pull/4/head"], "error")
    odd = ids(rows["refs/pull/5/head"])
    assert "diff.file-too-large" in odd and "diff.binary" in odd
    assert "diff.symlink" in ids(rows["refs/pull/6/head"], "error")
    # A folder name against the convention is for a maintainer to weigh (the gate's policy).
    assert "diff.folder-name" in ids(rows[HOSTILE_REF], "warning")
    assert ids(rows["refs/pull/8/head"]) == ["diff.unrelated-history"]


def test_a_script_shared_by_pull_requests_is_audited_once(swept: Repo, tmp_path: Path) -> None:
    report = sweep(swept.path, tmp_path / "cache")
    stats = report.stats
    # Audited folders: 1, 2, 5 and 7 (the legal script, beside other logs, names and files),
    # 3, 4 and 10 (the illegal one), 9 (its own, with the helpers.txt it execs). 6 has only a
    # symlink, 8 shares no history.
    assert stats.audits_run == 3
    assert stats.audits_reused == 5
    assert stats.distinct_audits == 3
    assert stats.audit_hit_rate == pytest.approx(5 / 8)


def test_a_second_sweep_reads_the_cache_only(swept: Repo, tmp_path: Path) -> None:
    cold = sweep(swept.path, tmp_path / "cache")
    warm = sweep(swept.path, tmp_path / "cache")
    assert warm.stats.refs_from_cache == ALL_PRS
    assert warm.stats.audits_run == 0 and warm.stats.audits_reused == 0
    assert [r.as_dict() for r in warm.results] == [r.as_dict() for r in cold.results]


def test_an_interrupted_sweep_resumes(swept: Repo, tmp_path: Path) -> None:
    seen: list[str] = []

    def stop_after_three(result: RefResult) -> None:
        seen.append(result.ref)
        if len(seen) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(swept.path, SweepOptions(cache=tmp_path / "c"), progress=stop_after_three)
    resumed = sweep(swept.path, tmp_path / "c")
    assert resumed.stats.refs_from_cache == 3
    assert len(resumed.results) == ALL_PRS


def test_worker_processes_give_the_same_report(swept: Repo, tmp_path: Path) -> None:
    one = sweep(swept.path, tmp_path / "one")
    two = sweep(swept.path, tmp_path / "two", jobs=2)
    assert two.stats.jobs == 2
    assert [r.as_dict() for r in two.results] == [r.as_dict() for r in one.results]
    # Shared by the two workers through the cache (and its per-key lock): no audit twice.
    assert two.stats.audits_run == 3


def test_shards_split_the_refs_and_fill_one_cache(swept: Repo, tmp_path: Path) -> None:
    cache = tmp_path / "shared"
    parts = [sweep(swept.path, cache, shard=(k, 3)) for k in (1, 2, 3)]
    refs = [result.ref for part in parts for result in part.results]
    assert sorted(refs) == sorted(by_ref(sweep(swept.path, tmp_path / "x")))
    assert len(set(refs)) == len(refs)
    assert all(in_shard(r.ref, (k + 1, 3)) for k, part in enumerate(parts) for r in part.results)
    merged = sweep(swept.path, cache)
    assert merged.stats.refs_from_cache == ALL_PRS


def test_the_cache_key_holds_the_commits_and_pgolfs_code(
    swept: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sweep(swept.path, tmp_path / "cache")
    # Another pgolf (a different version or any change to its code) judges everything again.
    monkeypatch.setattr("pgolf_cli.sweep.cache.code_digest", lambda: "another pgolf")
    again = sweep(swept.path, tmp_path / "cache")
    assert again.stats.refs_from_cache == 0 and again.stats.audits_run == 3


def test_a_damaged_cache_entry_is_recomputed(swept: Repo, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cold = sweep(swept.path, cache, patterns=("refs/pull/1/head",))
    for entry in cache.rglob("*.json"):
        entry.write_text('{"half": ', encoding="utf-8")
    again = sweep(swept.path, cache, patterns=("refs/pull/1/head",))
    assert again.stats.refs_from_cache == 0 and again.stats.audits_run == 1
    assert [r.as_dict() for r in again.results] == [r.as_dict() for r in cold.results]


# --------------------------------------------------------------------------------------------
# Bare, shallow and broken clones
# --------------------------------------------------------------------------------------------


def _fetch_prs(target: Path, source: Path, *options: str) -> None:
    subprocess.run(
        [
            "git",
            "-C",
            str(target),
            "fetch",
            "-q",
            *options,
            f"file://{source}",
            "+refs/pull/*:refs/pull/*",
            "+refs/heads/main:refs/heads/main",
        ],
        check=True,
        env=Repo.env(),
    )


def test_a_bare_clone_sweeps_the_same(swept: Repo, tmp_path: Path) -> None:
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True, env=Repo.env())
    _fetch_prs(bare, swept.path)
    report = sweep(bare, tmp_path / "cache")
    direct = sweep(swept.path, tmp_path / "cache2")
    assert [r.as_dict() for r in report.results] == [r.as_dict() for r in direct.results]


def test_a_shallow_clone_marks_the_refs_it_cannot_reach(swept: Repo, tmp_path: Path) -> None:
    shallow = tmp_path / "shallow.git"
    subprocess.run(["git", "init", "-q", "--bare", str(shallow)], check=True, env=Repo.env())
    _fetch_prs(shallow, swept.path, "--depth=1")
    report = sweep(shallow, tmp_path / "cache")
    rows = by_ref(report)
    # Depth 1 cuts each pull request's commit from main: no merge base to diff from.
    reachable = {ref for ref, row in rows.items() if row.verdict != ERROR}
    assert reachable <= {"refs/pull/8/head"}
    assert "shallow clone" in (rows["refs/pull/1/head"].error or "")
    # Rows that could not be judged are not cached: a deeper fetch judges them next time.
    _fetch_prs(shallow, swept.path, "--unshallow")
    deeper = by_ref(sweep(shallow, tmp_path / "cache"))
    assert deeper["refs/pull/1/head"].verdict == "pass"


def test_missing_objects_are_an_error_row_not_a_crash(swept: Repo, tmp_path: Path) -> None:
    broken = tmp_path / "broken.git"
    subprocess.run(["git", "init", "-q", "--bare", str(broken)], check=True, env=Repo.env())
    _fetch_prs(broken, swept.path)
    commit = swept.git("rev-parse", "refs/pull/1/head")
    # Unpack the fetched pack into loose objects, then lose the pull request's commit.
    for pack in (broken / "objects" / "pack").glob("*.pack"):
        moved = tmp_path / pack.name
        pack.rename(moved)
        pack.with_suffix(".idx").unlink()
        with moved.open("rb") as stream:
            subprocess.run(
                ["git", "-C", str(broken), "unpack-objects", "-q"], stdin=stream, check=True
            )
    (broken / "objects" / commit[:2] / commit[2:]).unlink()
    rows = by_ref(sweep(broken, tmp_path / "cache"))
    assert rows["refs/pull/1/head"].verdict == ERROR
    assert "does not name a commit" in (rows["refs/pull/1/head"].error or "")
    assert rows["refs/pull/3/head"].verdict == "fail"


# --------------------------------------------------------------------------------------------
# The command and its reports
# --------------------------------------------------------------------------------------------


def cli(*args: str) -> Any:
    return CliRunner().invoke(app, ["sweep", *args])


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._in_script = tag == "script"
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name, value)
            if name in ("src", "href"):
                raise AssertionError(f"the report links to {value}")

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False


def test_the_command_writes_every_format(swept: Repo, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    args = ["--repo", str(swept.path), "--cache", str(tmp_path / "cache"), "-q"]
    for fmt in ("json", "markdown", "html", "csv"):
        args += ["-f", fmt, "-o", str(out / f"sweep.{fmt}")]
    result = cli(*args)
    assert result.exit_code == 0, result.output

    document = json.loads((out / "sweep.json").read_text())
    assert document["schema_version"] == 1
    assert document["summary"]["refs"] == ALL_PRS
    assert document["summary"]["by_verdict"] == {
        "fail": 6,
        "needs-review": 2,
        "error": 0,
        "pass": 2,
    }
    by_reason = {(r["id"], r["severity"]): r["refs"] for r in document["summary"]["by_reason"]}
    assert by_reason[("audit.PG101", "error")] == 3
    row = next(r for r in document["refs"] if r["ref"] == "refs/pull/3/head")
    assert row["verdict"] == "fail" and row["folder"] == f"{TEN_MIN}/2026-05-03_Ttt"
    assert any(r["id"] == "audit.PG101" and r["line"] for r in row["reasons"])

    html = (out / "sweep.html").read_text()
    parser = _Collect()
    parser.feed(html)
    assert parser.tags.count("script") == 1 and "table" in parser.tags
    assert "default-src 'none'" in html  # no network, whatever the browser
    for hostile in (HOSTILE_NAME, "<i>x|y", "<img_src", "<script>alert"):
        assert hostile not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img_src=x_onerror=alert(1)&gt;" in html

    markdown = (out / "sweep.markdown").read_text()
    # Markup from names is backslash-escaped: no raw tag and no live mention survives.
    assert re.search(r"(?<!\\)<(script|i>|img)", markdown) is None
    assert "\\<script\\>" in markdown and "\\<img\\_src" in markdown
    assert "@here" not in markdown.replace("@\u200bhere", "")
    table = [line for line in markdown.splitlines() if line.startswith("| refs/")]
    assert len(table) == ALL_PRS
    for line in table:
        # Five cells in every row: no | from a name or a message splits one.
        cells = re.split(r"(?<!\\)\|", line)[1:-1]
        assert len(cells) == 5, line

    rows = list(csv.DictReader(io.StringIO((out / "sweep.csv").read_text())))
    assert len(rows) == ALL_PRS
    outside = next(r for r in rows if r["ref"] == "refs/pull/4/head")
    assert outside["verdict"] == "fail" and "diff.outside-records" in outside["blocking"]
    assert next(r for r in rows if r["ref"] == "refs/pull/1/head")["claimed_val_bpb"]


def test_csv_cells_cannot_become_formulas(swept: Repo, tmp_path: Path) -> None:
    out = tmp_path / "sweep.csv"
    result = cli(
        "--repo",
        str(swept.path),
        "--cache",
        str(tmp_path / "c"),
        "-q",
        "--refs",
        "refs/pull/4/head",
        "-f",
        "csv",
        "-o",
        str(out),
    )
    assert result.exit_code == 0, result.output
    for row in csv.reader(io.StringIO(out.read_text())):
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@")), cell


def test_compare_lists_the_refs_whose_verdict_changed(swept: Repo, tmp_path: Path) -> None:
    old = tmp_path / "old.json"
    common = ["--repo", str(swept.path), "--cache", str(tmp_path / "cache"), "-q"]
    assert cli(*common, "-f", "json", "-o", str(old)).exit_code == 0
    document = json.loads(old.read_text())
    for row in document["refs"]:
        if row["ref"] == "refs/pull/1/head":  # it failed last week, for PG101
            row["verdict"] = "fail"
            row["reasons"] = [{"id": "audit.PG101", "severity": "error"}]
    document["refs"] = [r for r in document["refs"] if r["ref"] != "refs/pull/9/head"]
    document["refs"].append({"ref": "refs/pull/99/head", "verdict": "pass", "reasons": []})
    old.write_text(json.dumps(document))
    result = cli(*common, "--compare", str(old), "-f", "json")
    assert result.exit_code == 0, result.output
    changes = {c["ref"]: c for c in json.loads(result.stdout)["changes"]}
    assert set(changes) == {"refs/pull/1/head", "refs/pull/9/head", "refs/pull/99/head"}
    assert changes["refs/pull/1/head"] == {
        "ref": "refs/pull/1/head",
        "old": "fail",
        "new": "pass",
        "added": [],
        "removed": ["audit.PG101"],
    }
    assert changes["refs/pull/9/head"]["old"] is None
    assert changes["refs/pull/99/head"]["new"] is None
    markdown = cli(*common, "--compare", str(old)).stdout
    assert "### Changes since" in markdown and "audit.PG101" in markdown


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "is not json"),
        ('{"refs": [], "schema_version": 99}', "schema_version"),
        ('{"schema_version": 1}', "has no key 'refs'"),
        ('{"schema_version": 1, "refs": [{"ref": "x"}]}', "refs[0]"),
    ],
)
def test_an_unusable_compare_file_is_exit_2(
    swept: Repo, tmp_path: Path, content: str, message: str
) -> None:
    old = tmp_path / "old.json"
    old.write_text(content)
    result = cli("--repo", str(swept.path), "--cache", str(tmp_path / "c"), "--compare", str(old))
    assert result.exit_code == 2
    assert str(old) in result.output and message in result.output


def test_usage_errors_are_exit_2(swept: Repo, tmp_path: Path) -> None:
    cache = ["--cache", str(tmp_path / "c")]
    none = cli("--repo", str(swept.path), *cache, "--refs", "refs/nothing/*")
    assert none.exit_code == 2 and "has no ref matching" in none.output
    not_repo = cli("--repo", str(tmp_path), *cache)
    assert not_repo.exit_code == 2 and "not a git repository" in not_repo.output
    shard = cli("--repo", str(swept.path), *cache, "--shard", "4/3")
    assert shard.exit_code == 2 and "--shard" in shard.output
    (tmp_path / "file").write_text("")
    bad_cache = cli("--repo", str(swept.path), "--cache", str(tmp_path / "file" / "sub"))
    assert bad_cache.exit_code == 2 and "cannot be created" in bad_cache.output
    both = cli("--repo", str(swept.path), *cache, "--no-cache")
    assert both.exit_code == 2 and "contradict" in both.output


def test_a_ref_that_cannot_be_judged_is_exit_2_with_the_report(swept: Repo, tmp_path: Path) -> None:
    shallow = tmp_path / "shallow.git"
    subprocess.run(["git", "init", "-q", "--bare", str(shallow)], check=True, env=Repo.env())
    _fetch_prs(shallow, swept.path, "--depth=1")
    out = tmp_path / "sweep.json"
    result = cli("--repo", str(shallow), "--no-cache", "-f", "json", "-o", str(out))
    assert result.exit_code == 2 and "could not be judged" in result.output
    assert f"pgolf sweep: {ALL_PRS} refs:" in result.output  # the summary on stderr
    document = json.loads(out.read_text())
    assert document["summary"]["by_verdict"]["error"] >= 1


def test_the_cache_stays_whole_under_concurrent_writers(tmp_path: Path) -> None:
    script = (
        "import sys\nfrom pathlib import Path\nfrom pgolf_cli.sweep.cache import Cache\n"
        "c = Cache(Path(sys.argv[1]))\n"
        "for i in range(60):\n"
        "    c.put('k', 'ab' * 32, {'writer': sys.argv[2], 'pad': 'x' * 200_000})\n"
        "    d = c.get('k', 'ab' * 32)\n"
        "    assert d is None or len(d['pad']) == 200_000, d\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    import sys

    workers = [
        subprocess.Popen([sys.executable, "-c", script, str(tmp_path), str(n)], env=env)
        for n in range(4)
    ]
    assert [w.wait(timeout=120) for w in workers] == [0, 0, 0, 0]
    leftovers = [p.name for p in tmp_path.rglob("*") if p.is_file() and p.suffix == ".tmp"]
    assert leftovers == []


def test_progress_with_the_time_left_on_a_terminal(
    swept: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    from rich.console import Console

    # The package exports the command function under the module's name: fetch the module.
    command = importlib.import_module("pgolf_cli.cli.sweep")

    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=150, color_system=None)
    monkeypatch.setattr(command, "stderr_console", lambda: terminal)
    options = SweepOptions(cache=tmp_path / "cache", patterns=("refs/pull/1*/head",))
    report = command._with_progress(swept.path, options)
    assert [r.ref for r in report.results] == ["refs/pull/1/head", "refs/pull/10/head"]
    shown = screen.getvalue()
    assert "judging refs" in shown and "ETA" in shown and "2/2" in shown


class _Table(HTMLParser):
    """The ref table of the html report: each row's data attributes and cells."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, Any]] = []
        self.heads: list[dict[str, str]] = []
        self.script = ""
        self._where: list[str] = []
        self._in_refs = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        self._where.append(tag)
        if tag == "table":
            self._in_refs = found.get("id") == "refs"
        if not self._in_refs:
            return
        if tag == "th":
            self.heads.append({"type": found.get("data-type", "")})
        elif tag == "tr" and "data-verdict" in found:
            self.rows.append(
                {"verdict": found["data-verdict"], "reasons": found["data-reasons"], "cells": []}
            )
        elif tag == "td" and self.rows:
            self.rows[-1]["cells"].append({"sort": found.get("data-sort"), "text": ""})

    def handle_endtag(self, tag: str) -> None:
        if self._where:
            self._where.pop()
        if tag == "table":
            self._in_refs = False

    def handle_data(self, data: str) -> None:
        if self._where and self._where[-1] == "script":
            self.script += data
        elif self._in_refs and self.rows and "td" in self._where:
            self.rows[-1]["cells"][-1]["text"] += data


# A DOM with just what the report's script touches; it runs the script, filters by verdict,
# then sorts by each numeric column, and prints what a reader would see.
_DOM = """
const data = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const listeners = {};
const on = (key) => (type, fn) => { listeners[key] = fn; };
const rows = data.rows.map((r, i) => ({
  id: i, hidden: false, dataset: {verdict: r.verdict, reasons: r.reasons},
  textContent: r.cells.map(c => c.text).join(' '),
  cells: r.cells.map(c => ({textContent: c.text, dataset: c.sort === null ? {} : {sort: c.sort}})),
}));
const order = [];
const body = {rows, appendChild: (row) => order.push(row.id)};
const heads = data.heads.map((h, i) => ({dataset: h.type ? {type: h.type} : {},
  addEventListener: on('head' + i)}));
const controls = {q: {value: ''}, verdict: {value: ''}, reason: {value: ''}, shown: {}};
for (const [key, control] of Object.entries(controls)) control.addEventListener = on(key);
global.document = {
  getElementById: (id) => id === 'refs' ? {tBodies: [body], tHead: {rows: [{cells: heads}]}}
    : controls[id],
  querySelectorAll: () => [],
};
eval(data.script);
const out = {initial: controls.shown.textContent};
controls.verdict.value = 'fail'; listeners.verdict();
out.fail = rows.filter(r => !r.hidden).map(r => r.cells[0].textContent);
out.shown = controls.shown.textContent;
controls.verdict.value = ''; controls.reason.value = 'audit.PG101'; listeners.reason();
out.pg101 = rows.filter(r => !r.hidden).map(r => r.cells[0].textContent);
order.length = 0; listeners.head3();
out.by_score = order.map(i => rows[i].cells[3].textContent);
order.length = 0; listeners.head3();
out.by_score_desc = order.map(i => rows[i].cells[3].textContent);
order.length = 0; listeners.head0();
out.by_ref = order.map(i => rows[i].cells[0].textContent);
console.log(JSON.stringify(out));
"""


def test_the_html_table_filters_and_sorts(swept: Repo, tmp_path: Path) -> None:
    import shutil

    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (the page's script is run with it)")
    out = tmp_path / "sweep.html"
    args = ["--repo", str(swept.path), "--cache", str(tmp_path / "c"), "-q", "-f", "html"]
    assert cli(*args, "-o", str(out)).exit_code == 0
    table = _Table()
    table.feed(out.read_text())
    payload = json.dumps({"rows": table.rows, "heads": table.heads, "script": table.script})
    done = subprocess.run(
        [node, "-e", _DOM], input=payload, capture_output=True, text=True, check=True
    )
    seen = json.loads(done.stdout)
    assert seen["initial"] == f"{ALL_PRS} of {ALL_PRS} refs shown"
    fails = [r.ref for r in sweep(swept.path, tmp_path / "c").results if r.verdict == "fail"]
    assert seen["fail"] == fails and seen["shown"] == f"{len(fails)} of {ALL_PRS} refs shown"
    assert seen["pg101"] == [f"refs/pull/{n}/head" for n in (3, 4, 10)]
    scores = [s for s in seen["by_score"] if s]
    assert scores == sorted(scores) and seen["by_score"][-1] == ""  # no score sorts last
    assert [s for s in seen["by_score_desc"] if s] == sorted(scores, reverse=True)
    assert seen["by_ref"][:3] == [f"refs/pull/{n}/head" for n in (1, 2, 3)]
    assert seen["by_ref"].index("refs/pull/10/head") > seen["by_ref"].index("refs/pull/9/head")
