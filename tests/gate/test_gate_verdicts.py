"""`pgolf gate` on real git repositories: a good record, and each broken or hostile pull request.

Every case builds the pull request as commits on a clone of a repository shaped like the
challenge's, runs the command, and checks the verdict, the exit code and the reason that
explains it. None may crash (exit 2 is reserved for unusable input).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from gate_helpers import (
    BEST_RUNS,
    GOOD_RUNS,
    LEGAL_SCRIPT,
    NON_RECORD,
    PREQUANT_TTT_SCRIPT,
    TEN_MIN,
    Repo,
    Seed,
    record_files,
)
from typer.testing import CliRunner

from checks.examples import _pack
from pgolf_cli.audit.engine import audit_file
from pgolf_cli.cli import app
from pgolf_cli.gate.git import GitRepo

NEW = f"{TEN_MIN}/2026-05-01_NewRecord"

Report = dict[str, Any]


def gate(repo: Repo, *args: str, expect: int | None = None) -> tuple[int, Report]:
    result = CliRunner().invoke(
        app, ["gate", "--repo", str(repo.path), "--head", "pr", "-f", "json", *args]
    )
    assert result.exit_code in (0, 1, 3), (result.exit_code, result.output)
    if expect is not None:
        assert result.exit_code == expect, result.stdout
    return result.exit_code, json.loads(result.stdout)


def reasons(report: Report, severity: str | None = None) -> list[str]:
    return [r["id"] for r in report["reasons"] if severity is None or r["severity"] == severity]


def reason(report: Report, reason_id: str) -> dict[str, Any]:
    return next(r for r in report["reasons"] if r["id"] == reason_id)


def checked(report: Report) -> dict[str, str]:
    return {c["id"]: c["status"] for c in report["checked"]}


def submit(clone: Repo, files: dict[str, bytes], folder: str = NEW) -> None:
    clone.write_folder(folder, files)
    clone.commit("add a record")


# --------------------------------------------------------------------------------------------
# The good record
# --------------------------------------------------------------------------------------------


def test_a_good_record_passes(clone: Repo) -> None:
    submit(clone, record_files(GOOD_RUNS))
    _, report = gate(clone, expect=0)
    assert report["verdict"] == "pass" and report["exit_code"] == 0
    assert report["folder"] == NEW and report["track"] == "10min_16mb"
    assert report["record_claim"] is True
    assert report["baseline"]["path"] == f"{TEN_MIN}/2026-04-10_BestRecord"
    assert reasons(report, "error") == [] and reasons(report, "warning") == []
    claim = reason(report, "record.claim")
    assert "significant at p < 0.01" in claim["message"]
    statuses = checked(report)
    assert statuses["verify.significance"] == "pass"
    assert statuses["diff.outside-records"] == "pass"
    assert statuses["audit"] == "pass"
    assert report["repository"]["merge_base"] == report["repository"]["base"]


def test_a_non_record_submission_passes_without_a_significance_test(clone: Repo) -> None:
    files = record_files((Seed(3, 1.41234567),), track="non_record_16mb")
    submit(clone, files, folder=f"{NON_RECORD}/2026-05-01_Curiosity")
    _, report = gate(clone, expect=0)
    assert report["record_claim"] is False
    assert reasons(report) == ["record.non-record-track"]
    assert checked(report)["verify.significance"] == "skip"


def test_a_10_minute_run_that_does_not_beat_the_best_needs_review(clone: Repo) -> None:
    worse = tuple(Seed(run.seed, run.val_bpb + 0.004) for run in BEST_RUNS)
    submit(clone, record_files(worse))
    _, report = gate(clone, expect=3)
    assert report["verdict"] == "needs-review"
    assert reasons(report, "warning") == ["record.not-better"]
    assert "track_non_record_16mb" in reason(report, "record.not-better")["message"]


def test_a_claim_short_of_the_bar_needs_review(clone: Repo) -> None:
    # Better than the best, but by less than 0.005 nats: the maintainers weigh the claim.
    close = tuple(Seed(run.seed, run.val_bpb - 0.001) for run in BEST_RUNS)
    submit(clone, record_files(close))
    _, report = gate(clone, expect=3)
    assert reasons(report, "error") == []
    assert reasons(report, "warning") == ["verify.significance"]
    message = reason(report, "verify.significance")["message"]
    assert "nats over 3 seed(s) against 3" in message and "p = " in message
    assert "the README's bar: better by >= 0.005 nats at p < 0.01" in message
    evidence = "\n".join(reason(report, "verify.significance")["evidence"])
    assert "p: " in evidence and f"{NEW}/train_seed42.log:" in evidence


def test_against_a_baseline_folder_given_on_disk(clone: Repo, tmp_path: Path) -> None:
    submit(clone, record_files(GOOD_RUNS))
    # A baseline almost as good as the submission: the claim is no longer significant.
    near = tmp_path / "near"
    near.mkdir()
    for name, data in record_files(
        tuple(Seed(r.seed, r.val_bpb + 0.0004) for r in GOOD_RUNS)
    ).items():
        (near / name).write_bytes(data)
    _, report = gate(clone, "--baseline", str(near), expect=3)
    assert report["baseline"]["path"] == str(near)
    assert reasons(report, "warning") == ["verify.significance"]


# --------------------------------------------------------------------------------------------
# The shape of the diff
# --------------------------------------------------------------------------------------------


def test_two_folders_fail(clone: Repo) -> None:
    clone.write_folder(NEW, record_files(GOOD_RUNS))
    clone.write_folder(f"{NON_RECORD}/2026-05-02_Another", record_files((Seed(9, 1.4),)))
    clone.commit("two records")
    _, report = gate(clone, expect=1)
    assert reasons(report, "error") == ["diff.several-folders"]
    several = reason(report, "diff.several-folders")
    assert "adds 2 record folders" in several["message"]
    assert f"{NEW}/ (6 file(s))" in several["evidence"]
    assert reason(report, "gate.skipped")["severity"] == "note"
    assert report["folder"] is None


def test_a_change_outside_records_fails_and_lists_the_path(clone: Repo) -> None:
    clone.write("train_gpt.py", "print('changed the baseline')\n")
    clone.write("data/cached_challenge_fineweb.py", "# a new helper\n")
    submit(clone, record_files(GOOD_RUNS))
    _, report = gate(clone, expect=1)
    assert reasons(report, "error") == ["diff.outside-records"]
    outside = reason(report, "diff.outside-records")
    assert outside["evidence"] == [
        "added: data/cached_challenge_fineweb.py",
        "modified: train_gpt.py",
    ]
    # The folder itself is still checked, so the author sees everything at once.
    assert checked(report)["verify.json-matches-logs"] == "pass"


def test_a_deleted_record_folder_fails(clone: Repo) -> None:
    clone.git("rm", "-r", "-q", f"{TEN_MIN}/2026-03-20_OldRecord")
    clone.commit("remove a record")
    _, report = gate(clone, expect=1)
    assert reasons(report, "error")[:2] == ["diff.existing-record-changed", "diff.no-record-folder"]
    changed = reason(report, "diff.existing-record-changed")
    assert f"{TEN_MIN}/2026-03-20_OldRecord/: 6 deleted" in changed["evidence"]
    assert f"deleted: {TEN_MIN}/2026-03-20_OldRecord/submission.json" in changed["evidence"]


def test_editing_an_existing_record_fails(clone: Repo) -> None:
    clone.write(f"{TEN_MIN}/2026-04-10_BestRecord/README.md", "# rewritten\n")
    submit(clone, record_files(GOOD_RUNS))
    _, report = gate(clone, expect=1)
    assert reasons(report, "error") == ["diff.existing-record-changed"]
    assert reason(report, "diff.existing-record-changed")["path"] == (
        f"{TEN_MIN}/2026-04-10_BestRecord/README.md"
    )


def test_a_folder_name_with_spaces_needs_review(clone: Repo) -> None:
    # A convention, not a rule the challenge enforces: a merged record has spaces in its name.
    folder = f"{TEN_MIN}/2026-05-01_My New Record"
    submit(clone, record_files(GOOD_RUNS), folder=folder)
    _, report = gate(clone, expect=3)
    assert reasons(report, "warning") == ["diff.folder-name", "verify.structure"]
    message = reason(report, "diff.folder-name")["message"]
    assert "'2026-05-01_My New Record'" in message and "spaces" in message
    # The folder is still verified and audited under its real name.
    assert report["folder"] == folder
    assert checked(report)["verify.json-matches-logs"] == "pass"


def test_a_folder_name_without_a_date_needs_review(clone: Repo) -> None:
    submit(clone, record_files(GOOD_RUNS), folder=f"{TEN_MIN}/MyRecord")
    _, report = gate(clone, expect=3)
    assert "not YYYY-MM-DD_Description" in reason(report, "diff.folder-name")["message"]


# --------------------------------------------------------------------------------------------
# The folder's content
# --------------------------------------------------------------------------------------------


def test_a_missing_submission_json_fails(clone: Repo) -> None:
    files = record_files(GOOD_RUNS)
    del files["submission.json"]
    submit(clone, files)
    _, report = gate(clone, expect=1)
    # One error for one missing file: the json checks have nothing to read and skip.
    assert reasons(report, "error") == ["verify.structure"]
    assert "no submission.json" in reason(report, "verify.structure")["message"]
    assert checked(report)["verify.json-matches-logs"] == "skip"


def test_an_artifact_over_the_cap_fails(clone: Repo) -> None:
    runs = (*GOOD_RUNS[:2], Seed(2025, 1.20198765, model_bytes=15_999_900))
    submit(clone, record_files(runs))
    _, report = gate(clone, expect=1)
    assert reasons(report, "error") == ["verify.size"]
    size = reason(report, "verify.size")
    assert "train_seed2025.log" in size["message"] and "over the cap" in size["message"]
    assert size["path"] == NEW
    assert any(
        line.startswith(f"{NEW}/train_seed2025.log: Total submission size")
        for line in size["evidence"]
    )


def test_json_disagreeing_with_the_logs_needs_review_with_the_log_line(clone: Repo) -> None:
    def wrong(document: dict[str, object]) -> None:
        document["val_bpb"] = 1.1987

    files = record_files(GOOD_RUNS, edit_json=wrong)
    submit(clone, files)
    _, report = gate(clone, expect=3)
    assert reasons(report, "warning")[0] == "verify.json-matches-logs"
    mismatch = reason(report, "verify.json-matches-logs")
    log = files["train_seed42.log"].decode().split("\n")
    line = next(n for n, text in enumerate(log, 1) if text.startswith("final_sliding_window_exact"))
    assert any(
        e.startswith(f"{NEW}/train_seed42.log:{line}: final_sliding_window_exact")
        for e in mismatch["evidence"]
    )
    assert f"{NEW}/submission.json: val_bpb: 1.1987" in mismatch["evidence"]


def test_an_illegal_ttt_script_fails_at_its_line(clone: Repo, tmp_path: Path) -> None:
    submit(clone, record_files(GOOD_RUNS, script=PREQUANT_TTT_SCRIPT))
    _, report = gate(clone, expect=1)
    assert "audit.PG101" in reasons(report, "error")
    finding = reason(report, "audit.PG101")
    # The same finding, at the same line, as `pgolf audit` gives on the file itself.
    copy = tmp_path / "train_gpt.py"
    copy.write_text(PREQUANT_TTT_SCRIPT)
    (expected,) = [f for f in audit_file(copy).findings if f.rule_id == "PG101"]
    assert (finding["path"], finding["line"]) == (f"{NEW}/train_gpt.py", expected.line)
    assert finding["evidence"][0] == f"{NEW}/train_gpt.py:{expected.line}: {expected.snippet}"
    assert "audit" not in checked(report)


def test_a_packed_illegal_script_is_decoded_and_fails(clone: Repo, tmp_path: Path) -> None:
    packed = _pack(PREQUANT_TTT_SCRIPT, "lzma-b85")
    submit(clone, record_files(GOOD_RUNS, script=packed))
    _, report = gate(clone, expect=1)
    finding = reason(report, "audit.PG101")
    # Decoded lines do not exist in the shipped file: the annotation is on the file.
    assert finding["path"] == f"{NEW}/train_gpt.py" and finding["line"] is None
    assert "decoded from an lzma" in finding["evidence"][0]
    assert (
        "(line 18 of the code decoded from an lzma+base85 wrapper (line 2))" in finding["message"]
    )
    assert reason(report, "audit.PG902")["severity"] == "note"
    # The code counted is the packed file as shipped, which the logs report.
    assert checked(report)["verify.code-size"] == "pass"


def test_a_packed_legal_script_passes_with_a_note(clone: Repo) -> None:
    submit(clone, record_files(GOOD_RUNS, script=_pack(LEGAL_SCRIPT, "zlib-b64")))
    _, report = gate(clone, expect=0)
    assert sorted(reasons(report, "note")) == ["audit.PG902", "record.claim"]


def test_a_dormant_path_turned_on_by_the_readme_fails(clone: Repo) -> None:
    script = PREQUANT_TTT_SCRIPT.replace(
        "import glob\n", 'import glob\nimport os\n\nTTT = bool(int(os.environ.get("TTT", "0")))\n'
    ).replace(
        "    sharpen_on_val(model, val_tokens)\n",
        "    if TTT:\n        sharpen_on_val(model, val_tokens)\n",
    )
    files = record_files(GOOD_RUNS, script=script)
    files["README.md"] = b"# Record\n\nRun: `TTT=1 torchrun --nproc_per_node=8 train_gpt.py`\n"
    submit(clone, files)
    _, report = gate(clone, expect=1)
    finding = reason(report, "audit.PG101")
    assert finding["severity"] == "error"
    assert "turned on by README.md:3" in finding["message"]


def test_a_symlink_pointing_outside_the_repository_fails(clone: Repo) -> None:
    files = record_files(GOOD_RUNS)
    clone.write_folder(NEW, files)
    (clone.path / NEW / "val_cache.bin").symlink_to("../../../../../etc/passwd")
    (clone.path / NEW / "base_script.py").symlink_to("../../../train_gpt.py")
    clone.commit("links")
    _, report = gate(clone, expect=1)
    link = reason(report, "diff.symlink")
    assert link["severity"] == "error" and "2 symlink(s)" in link["message"]
    assert (
        f"{NEW}/val_cache.bin: symlink to '../../../../../etc/passwd': points outside the "
        "repository (not followed)"
    ) in link["evidence"]
    assert (
        f"{NEW}/base_script.py: symlink to '../../../train_gpt.py': points to train_gpt.py (not followed)"
        in link["evidence"]
    )
    # Links are not followed: the script a link points to is not audited under the link's name.
    assert [r["path"] for r in report["reasons"] if r["id"].startswith("audit.")] == []
    assert checked(report)["audit"] == "pass"


def test_a_200_mb_file_is_reported_from_its_size_without_being_read(
    clone: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    clone.write_folder(NEW, record_files(GOOD_RUNS))
    big = clone.path / NEW / "final_model.pt"
    with big.open("wb") as handle:
        handle.truncate(200 * 1024 * 1024)
    clone.commit("with the checkpoint")
    big_sha = clone.git("rev-parse", f"HEAD:{NEW}/final_model.pt")
    big.unlink()

    requested: list[str] = []
    read_blobs = GitRepo.read_blobs

    def spy(self: GitRepo, shas: Any) -> dict[str, bytes]:
        wanted = list(shas)
        requested.extend(wanted)
        return read_blobs(self, wanted)

    monkeypatch.setattr(GitRepo, "read_blobs", spy)
    _, report = gate(clone, expect=1)
    large = reason(report, "diff.file-too-large")
    assert large["evidence"] == [
        f"{NEW}/final_model.pt: 209,715,200 bytes, over the cap of 16,000,000 (not read)"
    ]
    assert large["path"] == f"{NEW}/final_model.pt"
    assert requested and big_sha not in requested


def test_a_submodule_fails(clone: Repo) -> None:
    clone.write_folder(NEW, record_files(GOOD_RUNS))
    commit = clone.git("rev-parse", "HEAD")
    clone.git("add", "-A")
    clone.git("update-index", "--add", "--cacheinfo", f"160000,{commit},{NEW}/vendor")
    clone.git("commit", "-q", "-m", "with a submodule")
    _, report = gate(clone, expect=1)
    submodule = reason(report, "diff.submodule")
    assert submodule["evidence"] == [f"{NEW}/vendor: a submodule at commit {commit}"]


def test_a_folder_beyond_a_submissions_size_is_not_read(
    clone: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pgolf_cli.gate.folder as folder

    monkeypatch.setattr(folder, "MAX_FOLDER_BYTES", 3_000)
    submit(clone, record_files(GOOD_RUNS))
    _, report = gate(clone, expect=1)
    too_large = reason(report, "diff.folder-too-large")
    assert too_large["severity"] == "error"
    assert all(
        "not read: the folder's files exceed 3,000 bytes" in e for e in too_large["evidence"]
    )


def test_a_lower_per_file_cap(clone: Repo) -> None:
    submit(clone, record_files(GOOD_RUNS))
    _, report = gate(clone, "--max-file-bytes", "1000", expect=1)
    large = reason(report, "diff.file-too-large")
    assert all("over the cap of 1,000 (not read)" in line for line in large["evidence"])


def test_a_non_utf8_log_needs_review(clone: Repo) -> None:
    files = record_files(GOOD_RUNS)
    latin1 = "command: träin_gpt.py".encode("latin-1")
    files["train_seed42.log"] = files["train_seed42.log"].replace(b"command: train_gpt.py", latin1)
    submit(clone, files)
    _, report = gate(clone, expect=3)
    assert "verify.seed-logs" in reasons(report, "warning")
    assert "train_seed42.log cannot be read" in reason(report, "verify.seed-logs")["message"]
    encoding = reason(report, "diff.encoding")
    assert encoding["severity"] == "warning"
    offset = files["train_seed42.log"].index(b"\xe4")
    assert encoding["evidence"] == [
        f"{NEW}/train_seed42.log:3: byte 0xe4 at offset {offset} is not UTF-8"
    ]


def test_a_non_utf8_script_cannot_be_audited(clone: Repo) -> None:
    script = LEGAL_SCRIPT.replace("trained", "tr\xe4ined").encode("latin-1")
    submit(clone, record_files(GOOD_RUNS, script=script))
    _, report = gate(clone, expect=1)
    unreadable = reason(report, "audit.unreadable")
    assert (
        unreadable["path"] == f"{NEW}/train_gpt.py" and "not valid utf-8" in unreadable["message"]
    )


def test_a_non_utf8_file_name_fails(clone: Repo) -> None:
    clone.write_folder(NEW, record_files(GOOD_RUNS))
    clone.write(f"{NEW}/notes_".encode() + b"\xe9t\xe9.txt", "notes\n")
    clone.commit("a latin-1 name")
    _, report = gate(clone, expect=1)
    unsafe = reason(report, "diff.unsafe-name")
    assert unsafe["evidence"] == [f"{NEW}/notes_\\xe9t\\xe9.txt: not valid UTF-8"]


def test_an_unexplained_binary_needs_review_and_a_tokenizer_model_is_noted(clone: Repo) -> None:
    files = record_files(GOOD_RUNS)
    files["ablations.png"] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(300)
    files["tokenizers/sp1024.model"] = b"\n\x0e\0\0spm" + bytes(500)
    submit(clone, files)
    _, report = gate(clone, expect=3)
    assert reasons(report, "warning") == ["diff.binary"]
    assert reason(report, "diff.binary")["evidence"] == [f"{NEW}/ablations.png: binary, 316 bytes"]
    assert reason(report, "diff.tokenizer-model")["evidence"] == [
        f"{NEW}/tokenizers/sp1024.model: tokenizer model, 507 bytes"
    ]


# --------------------------------------------------------------------------------------------
# History: head not a descendant of base
# --------------------------------------------------------------------------------------------


def test_a_head_behind_the_base_is_checked_against_the_merge_base(clone: Repo) -> None:
    submit(clone, record_files(GOOD_RUNS))
    clone.git("switch", "-q", "main")
    clone.write("README.md", "# Parameter Golf\n\nUpdated leaderboard.\n")
    clone.commit("main moved on")
    _, report = gate(clone, "--base", "main", expect=0)
    behind = reason(report, "diff.behind-base")
    assert behind["severity"] == "note" and "1 commit(s) landed there" in behind["message"]
    # README.md changed on main, not in the pull request: it is not "outside records".
    assert checked(report)["diff.outside-records"] == "pass"


def test_a_folder_name_taken_on_the_base_since_fails(clone: Repo) -> None:
    submit(clone, record_files(GOOD_RUNS))
    clone.git("switch", "-q", "main")
    clone.write_folder(NEW, record_files(BEST_RUNS))
    clone.commit("someone else's record, same name")
    _, report = gate(clone, "--base", "main", expect=1)
    assert "diff.folder-exists" in reasons(report, "error")


def test_a_head_with_unrelated_history_fails(clone: Repo) -> None:
    clone.git("switch", "-q", "--orphan", "orphan")
    clone.write_folder(NEW, record_files(GOOD_RUNS))
    clone.commit("rewritten history")
    clone.git("branch", "-f", "pr", "orphan")
    _, report = gate(clone, expect=1)
    assert reasons(report) == ["diff.unrelated-history"]
    assert report["repository"]["merge_base"] is None


def test_a_shallow_clone_without_the_merge_base_is_an_input_error(
    base_repo: Repo, tmp_path: Path
) -> None:
    upstream = base_repo.clone(tmp_path / "upstream")
    upstream.branch("pr")
    submit(upstream, record_files(GOOD_RUNS))
    upstream.git("switch", "-q", "main")
    upstream.write("README.md", "moved on\n")
    upstream.commit("main moved on")
    shallow = upstream.clone(tmp_path / "shallow", "--depth", "1", "--no-single-branch")
    result = CliRunner().invoke(
        app, ["gate", "--repo", str(shallow.path), "--base", "origin/main", "--head", "origin/pr"]
    )
    assert result.exit_code == 2
    assert "shallow clone" in result.output and "--unshallow" in result.output
    # Deep enough, the same clone works.
    shallow.git("fetch", "-q", "--unshallow")
    deep = CliRunner().invoke(
        app, ["gate", "--repo", str(shallow.path), "--base", "origin/main", "--head", "origin/pr"]
    )
    assert deep.exit_code == 0, deep.output


def test_a_partial_clone_is_never_completed_over_the_network(clone: Repo, tmp_path: Path) -> None:
    submit(clone, record_files(GOOD_RUNS))
    clone.git("config", "uploadpack.allowFilter", "true")
    partial = clone.clone(tmp_path / "partial", "--filter=blob:none", "--no-checkout")
    result = CliRunner().invoke(
        app, ["gate", "--repo", str(partial.path), "--base", "origin/main", "--head", "origin/pr"]
    )
    assert result.exit_code == 2
    assert "lazy fetching disabled" in result.output or "promisor" in result.output
    # Nothing was fetched: the clone still lacks the blobs.
    missing = partial.git("rev-list", "--objects", "--missing=print", "origin/pr")
    assert "?" in missing


def test_a_bare_clone_works(clone: Repo, tmp_path: Path) -> None:
    submit(clone, record_files(GOOD_RUNS))
    bare = tmp_path / "bare.git"
    subprocess.run(
        ["git", "clone", "-q", "--bare", str(clone.path), str(bare)], check=True, env=Repo.env()
    )
    result = CliRunner().invoke(
        app, ["gate", "--repo", str(bare), "--base", "main", "--head", "pr", "-f", "json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["verdict"] == "pass"


# --------------------------------------------------------------------------------------------
# Nothing from the pull request runs
# --------------------------------------------------------------------------------------------

HOSTILE_SCRIPT = """\
import pathlib

pathlib.Path({marker!r}).write_text("the pull request's script ran")


def main():
    pathlib.Path({marker!r}).write_text("main ran")


if __name__ == "__main__":
    main()
"""


def test_nothing_from_the_pull_request_is_executed(clone: Repo, tmp_path: Path) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    touch = tmp_path / "touch.sh"
    touch.write_text(f'#!/bin/sh\necho "$0 $*" >> {markers}/ran\ncat >/dev/null\n')
    touch.chmod(0o755)
    # A clone configured to run programs on every occasion git offers: hooks, the fsmonitor,
    # filter drivers, textconv and an external diff. The pull request asks for them through
    # .gitattributes, and ships scripts that write a marker when run or imported.
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    for hook in ("pre-commit", "post-checkout", "post-merge", "reference-transaction", "pre-push"):
        (hooks / hook).symlink_to(touch)
    clone.write(f"{NEW}/.gitattributes", "* filter=evil diff=evil\n")
    for name, data in record_files(
        GOOD_RUNS, script=HOSTILE_SCRIPT.format(marker=str(markers / "script"))
    ).items():
        clone.write(f"{NEW}/{name}", data)
    clone.write(f"{NEW}/sitecustomize.py", HOSTILE_SCRIPT.format(marker=str(markers / "site")))
    clone.commit("hostile")
    for key, value in {
        "core.hooksPath": str(hooks),
        "core.fsmonitor": str(touch),
        "filter.evil.clean": str(touch),
        "filter.evil.smudge": str(touch),
        "filter.evil.process": str(touch),
        "diff.evil.textconv": str(touch),
        "diff.external": str(touch),
    }.items():
        clone.git("config", key, value)

    code, report = gate(clone)
    assert report["folder"] == NEW
    assert reasons(report, "error") == [], report["reasons"]
    # The installed command too, started inside the pull request's folder.
    command = Path(sys.executable).parent / "pgolf"
    if command.exists():
        done = subprocess.run(
            [str(command), "gate", "--repo", str(clone.path), "--head", "pr", "-q"],
            cwd=clone.path / NEW,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == code, done.stdout + done.stderr
    assert not list(markers.iterdir()), [p.read_text() for p in markers.iterdir()]
