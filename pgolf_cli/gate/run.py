"""``run_gate``: one pull request in, one :class:`GateReport` out.

The steps, each reading only git objects: resolve head and base and their merge base; check
the shape of the diff (merge base -> head, what GitHub shows for the pull request); read the
new folder as it is at head; then verify it (:func:`pgolf_cli.records.verify.verify_folder` on
a private materialized copy), audit it as ``pgolf audit DIR`` audits a records folder (each
entry script with the files it imports or execs, named by repository paths), and hold a record
claim to the README criterion against the best existing record of its track in the base tree.
"""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from pathlib import Path

from pgolf_cli import __version__
from pgolf_cli.audit.findings import AuditReport, FileResult, Finding, Severity
from pgolf_cli.challenge import ARTIFACT_LIMIT_BYTES
from pgolf_cli.errors import PgolfInputError
from pgolf_cli.gate.folder import Snapshot, materialize, read_snapshot, unsafe_reason
from pgolf_cli.gate.git import REGULAR_MODES, GitError, GitRepo, display_path
from pgolf_cli.gate.model import Baseline, Checked, GateReport, Reason, ordered
from pgolf_cli.gate.shape import RECORDS, check_shape
from pgolf_cli.records.verify import CHECK_IDS, TRACK_FOLDERS, FolderReport

#: The track whose folders are records; a folder there that does not beat the best is not one.
RECORD_TRACK = "10min_16mb"
# A submission json is a few KB; one this large is not read when looking for the best record.
_MAX_JSON_BYTES = 1_000_000


@dataclass(frozen=True, slots=True)
class GateOptions:
    base: str | None = None
    """The branch or commit the pull request targets; None: the repository's main branch."""
    head: str = "HEAD"
    baseline: Path | None = None
    """A records folder on disk to test significance against, instead of the base's best."""
    max_file_bytes: int = ARTIFACT_LIMIT_BYTES
    """Per-file cap: no file of a submission can usefully be larger than the whole artifact."""


def audit_folder(root: Path, folder: str, files: Mapping[str, bytes]) -> AuditReport:
    """The audit of a materialized records folder, as ``pgolf audit DIR`` does it.

    ``root`` is the private copy, ``folder`` the repository path every result is named by,
    ``files`` the folder-relative files written there. The scripts are named as well, so one in
    a directory the folder walk skips (``venv/``, a dot-directory) is still audited, on its own.
    """
    from pgolf_cli.audit.engine import audit_paths

    scripts = sorted(name for name in files if name.endswith(".py"))
    return audit_paths([root, *(root / name for name in scripts)], jobs=1, shown_as={root: folder})


#: How the gate audits a folder: :func:`audit_folder`, or a caller's equivalent (``pgolf
#: sweep`` passes one that reuses earlier audits of the same files).
FolderAudit = Callable[[Path, str, Mapping[str, bytes]], AuditReport]


def run_gate(
    repo_path: Path, options: GateOptions | None = None, *, audit: FolderAudit = audit_folder
) -> GateReport:
    """Check the pull request ``options.base...options.head`` of the repository at ``repo_path``.

    Raises :class:`PgolfInputError` (exit 2) when the repository, a ref or ``--baseline``
    cannot be read, or the clone is too shallow to find where head branched off. Whatever the
    pull request itself contains becomes a reason, never an exception.
    """
    options = options or GateOptions()
    repo = GitRepo(repo_path)
    head = repo.resolve(options.head, "--head")
    base_ref = options.base or repo.main_branch()
    base = repo.resolve(base_ref, "--base")
    if options.baseline is not None:
        from pgolf_cli.records.verify import check_folder_path

        check_folder_path(options.baseline)
    merge_base = repo.merge_base(base, head)
    start = GateReport(
        base=base, head=head, merge_base=merge_base, base_ref=base_ref, head_ref=options.head
    )

    if merge_base is None:
        if repo.is_shallow():
            raise GitError(
                str(repo_path),
                "is a shallow clone that does not reach the commit head branched from",
                "Fetch more history (git fetch --unshallow, or a larger --depth)",
            )
        reason = Reason(
            "diff.unrelated-history",
            Severity.ERROR,
            "Head descends from the base branch",
            f"head {head[:12]} shares no history with base {base_ref} ({base[:12]}): it was "
            "not branched from the challenge repository, or its history was rewritten",
            (f"base: {base_ref} = {base}", f"head: {options.head} = {head}"),
        )
        return replace(start, reasons=(reason,))

    reasons: list[Reason] = []
    checked: list[Checked] = []
    if merge_base != base:
        behind = repo.count_commits(head, base)
        reasons.append(
            Reason(
                "diff.behind-base",
                Severity.NOTE,
                "Head descends from the base branch",
                f"head is not a descendant of {base_ref}: {behind} commit(s) landed there since "
                f"it branched off at {merge_base[:12]}; the diff is taken from that merge base "
                "(as GitHub shows it) and the records are compared with the base tip",
                (f"base: {base_ref} = {base}", f"merge base: {merge_base}", f"head: {head}"),
            )
        )
    changes = repo.diff(merge_base, head)
    shape = check_shape(repo, changes, merge_base, base)
    reasons += shape.reasons
    checked += shape.checked
    folder = shape.folder
    unusable = unsafe_reason(shape.name) if shape.name is not None else None
    if folder is None or shape.track_dir is None or unusable is not None:
        if folder is None:
            reasons.append(_skipped("there is not exactly one new record folder"))
        else:
            reasons.append(_skipped(f"the folder name cannot be written out ({unusable})"))
        return replace(
            start,
            folder=display_path(folder) if folder else None,
            reasons=ordered(reasons),
            checked=tuple(checked),
            changed_files=len(changes),
        )

    track = TRACK_FOLDERS[shape.track_dir]
    snapshot = read_snapshot(repo, head, folder, max_file_bytes=options.max_file_bytes)
    with tempfile.TemporaryDirectory(prefix="pgolf-gate-") as temporary:
        work = Path(temporary)
        root = materialize(snapshot, work / "head")
        reasons += snapshot.reasons
        checked += snapshot.checked
        baseline, baseline_dir = (
            _find_baseline(repo, base, shape.track_dir, folder, options, work)
            if track == RECORD_TRACK
            else (None, None)
        )
        claim, claim_reasons = _record_claim(track, root, baseline)
        reasons += claim_reasons
        verified = _verify(root, baseline_dir if claim else None, claim, work)
        if isinstance(verified, Reason):
            reasons.append(verified)
        else:
            if claim:
                # The claim's summary carries the test's outcome, so the comment shows it first.
                outcome = _scrub(verified.check("significance").message, work)
                reasons = [
                    replace(r, message=f"{r.message}; {outcome}") if r.id == "record.claim" else r
                    for r in reasons
                ]
            verify_reasons, verify_checked = _verify_reasons(verified, folder, snapshot, work)
            reasons += verify_reasons
            checked += verify_checked
        audit_report, audit_reasons, audit_checked = _audit(root, folder, snapshot, audit)
        reasons += audit_reasons
        checked += audit_checked
        claimed = _claimed_score(root)
    return replace(
        start,
        folder=folder,
        track=track,
        record_claim=claim,
        claimed_val_bpb=claimed,
        baseline=baseline,
        reasons=ordered(reasons),
        checked=tuple(checked),
        audit=audit_report,
        changed_files=len(changes),
    )


def _skipped(why: str) -> Reason:
    return Reason(
        "gate.skipped",
        Severity.NOTE,
        "Verify and audit",
        f"verify, audit and the record comparison did not run: {why}",
    )


# --------------------------------------------------------------------------------------------
# The record to beat
# --------------------------------------------------------------------------------------------


def _find_baseline(
    repo: GitRepo,
    base: str,
    track_dir: str,
    folder: str,
    options: GateOptions,
    work: Path,
) -> tuple[Baseline | None, Path | None]:
    """The record the folder competes with: ``--baseline``, else the best in the base tree."""
    from pgolf_cli.records.stats import read_folder

    if options.baseline is not None:
        scores = read_folder(options.baseline)  # PgolfInputError: exit 2, a bad option
        mean = statistics.fmean(score.val_bpb for score in scores)
        return Baseline(str(options.baseline), mean, f"{len(scores)} seed score(s)"), (
            options.baseline
        )
    return _best_in_base(repo, base, track_dir, folder, work / "base")


def _best_in_base(
    repo: GitRepo, base: str, track_dir: str, folder: str, work: Path
) -> tuple[Baseline | None, Path | None]:
    from pgolf_cli.records.logs import is_log_file_name
    from pgolf_cli.records.stats import read_folder
    from pgolf_cli.records.submission import find_submission, load_submission

    track_path = f"{RECORDS}/{track_dir}"
    by_folder: dict[str, list[tuple[str, str, int]]] = {}
    for entry in repo.list_tree(base, track_path):
        name, _, inner = entry.path.partition("/")
        if not inner or entry.mode not in REGULAR_MODES or entry.size is None:
            continue
        if f"{track_path}/{name}" == folder or unsafe_reason(entry.path) is not None:
            continue
        by_folder.setdefault(name, []).append((inner, entry.sha, entry.size))

    def write(files: dict[str, list[tuple[str, str, int]]]) -> None:
        """Copy these files of these folders from git, in one read."""
        blobs = repo.read_blobs(sha for group in files.values() for _, sha, _ in group)
        for name, group in files.items():
            for inner, sha, _ in group:
                path = work / track_path / name / inner
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(blobs[sha])

    jsons = {
        name: [
            f
            for f in files
            if "/" not in f[0] and fnmatchcase(f[0], "submission*.json") and f[2] <= _MAX_JSON_BYTES
        ]
        for name, files in sorted(by_folder.items())
    }
    write(jsons)
    scored: list[tuple[float, str, Path]] = []
    for name, found in jsons.items():
        target = work / track_path / name
        if not found:
            continue
        try:
            normalized = load_submission(find_submission(target))
        except PgolfInputError:
            continue  # an unreadable merged json cannot be the record to beat
        if normalized.val_bpb is not None:
            scored.append((normalized.val_bpb, name, target))
    for val_bpb, name, target in sorted(scored):
        # The files stats.read_folder reads: logs at the top level or in a logs/ subfolder.
        logs = [
            f
            for f in by_folder[name]
            if ("/" not in f[0] or f[0].startswith("logs/"))
            and is_log_file_name(f[0])
            and f[2] <= ARTIFACT_LIMIT_BYTES
        ]
        write({name: logs})
        try:
            read_folder(target)
        except PgolfInputError:
            continue
        return Baseline(f"{track_path}/{name}", val_bpb, "submission.json"), target
    return None, None


def _claimed_score(root: Path) -> float | None:
    from pgolf_cli.records.submission import find_submission, load_submission

    try:
        return load_submission(find_submission(root)).val_bpb
    except PgolfInputError:
        return None


def _record_claim(track: str, root: Path, baseline: Baseline | None) -> tuple[bool, list[Reason]]:
    """Whether the folder claims a record, with the reasons that explain the decision."""
    if track != RECORD_TRACK:
        return False, [
            Reason(
                "record.non-record-track",
                Severity.NOTE,
                "Record claim",
                "a non-record submission: no significance test, no seed minimum",
            )
        ]
    claimed = _claimed_score(root)
    if baseline is None:
        return True, [
            Reason(
                "record.no-baseline",
                Severity.WARNING,
                "Record claim",
                "the track has no existing record with a score to compare with; a person "
                "must judge the claim",
            )
        ]
    evidence = (
        f"best existing record: {baseline.path} (val_bpb {baseline.val_bpb:.8f}, "
        f"from {baseline.source})",
        *([f"this submission: val_bpb {claimed:.8f}"] if claimed is not None else []),
    )
    if claimed is not None and claimed >= baseline.val_bpb:
        return False, [
            Reason(
                "record.not-better",
                Severity.WARNING,
                "Record claim",
                f"the folder is in the 10-minute record track but its val_bpb {claimed:.5f} does "
                f"not beat the best record's {baseline.val_bpb:.5f}: submit it to "
                "records/track_non_record_16mb/, or explain",
                evidence,
            )
        ]
    return True, [
        Reason(
            "record.claim",
            Severity.NOTE,
            "Record claim",
            "claims a new record: held to the README criterion (>= 0.005 nats at p < 0.01, "
            "3 seeds) against the best existing record",
            evidence,
        )
    ]


# --------------------------------------------------------------------------------------------
# Verify
# --------------------------------------------------------------------------------------------


def _verify(root: Path, baseline: Path | None, claim: bool, work: Path) -> FolderReport | Reason:
    from pgolf_cli.records.verify import verify_folder

    try:
        return verify_folder(root, baseline=baseline, audit=False, record_claim=claim)
    except PgolfInputError as problem:
        path = _scrub(problem.path, work)
        return Reason(
            "verify.unreadable",
            Severity.ERROR,
            "The folder can be verified",
            f"{path}: {_scrub(problem.problem, work)}. {_scrub(problem.fix, work)}",
            path=path,
        )


def _scrub(text: str, work: Path) -> str:
    """``text`` with the private copies' paths replaced by repository paths.

    The head's folder is materialized at ``work/head/<repository path>`` and the best record's
    at ``work/base/<repository path>``.
    """
    return text.replace(f"{work}/head/", "").replace(f"{work}/base/", "")


def _verify_reasons(
    report: FolderReport, folder: str, snapshot: Snapshot, work: Path
) -> tuple[list[Reason], list[Checked]]:
    files = set(snapshot.files)
    reasons: list[Reason] = []
    checked: list[Checked] = []
    for order, check in enumerate(report.checks):
        if check.id == "audit":
            continue  # the gate audits finding by finding (below)
        reason_id = f"verify.{check.id}"
        if check.status in ("pass", "skip"):
            checked.append(
                Checked(reason_id, check.title, check.status, _scrub(check.message, work))
            )
            continue
        evidence = tuple(_in_repo(_scrub(line, work), folder, files) for line in check.evidence)
        path, line = _location(evidence, folder)
        reasons.append(
            Reason(
                reason_id,
                Severity.ERROR if check.status == "fail" else Severity.WARNING,
                check.title,
                _scrub(check.message, work),
                evidence,
                path=path,
                line=line,
                order=CHECK_IDS.index(check.id) if check.id in CHECK_IDS else order,
            )
        )
    return reasons, checked


def _in_repo(line: str, folder: str, files: set[str]) -> str:
    """A verify evidence line that starts with a folder file's name, with the folder prefixed."""
    head = line.split(":", 1)[0]
    return f"{folder}/{line}" if head in files else line


def _location(evidence: tuple[str, ...], folder: str) -> tuple[str, int | None]:
    """Where a verify check points: its first ``path:line:`` evidence in the folder, else the
    folder itself."""
    for line in evidence:
        if line.startswith(f"{folder}/"):
            path, _, rest = line.partition(":")
            number = rest.split(":", 1)[0]
            if number.isdigit():
                return path, int(number)
    return folder, None


# --------------------------------------------------------------------------------------------
# Audit
# --------------------------------------------------------------------------------------------


def _audit(
    root: Path, folder: str, snapshot: Snapshot, audit: FolderAudit
) -> tuple[AuditReport, list[Reason], list[Checked]]:
    """Audit the folder as ``pgolf audit DIR`` does, under its repository path.

    Each entry script is analysed together with the files it imports or execs, so a function
    in ``helpers.py`` is judged from the entry's main() and PG301 counts the bytes it brings
    in. ``root`` is the private copy; every path, evidence line and message names the
    repository path ``folder`` instead.
    """
    from pgolf_cli.audit.registry import all_rules
    from pgolf_cli.records.verify import declared_env

    title = "Static audit of the folder's scripts"
    scripts = sorted(name for name in snapshot.files if name.endswith(".py"))
    if not scripts:
        empty = AuditReport(
            files=(), rules=tuple(rule.info() for rule in all_rules()), tool_version=__version__
        )
        return empty, [], [Checked("audit", title, "skip", "no Python script")]
    report = audit(root, folder, snapshot.files)
    declared = declared_env(root, snapshot.files)
    reasons = [
        Reason(
            "audit.unreadable",
            Severity.ERROR,
            "Scripts can be audited",
            f"{folder} cannot be audited: {error.replace(str(root), folder)}",
            path=folder,
        )
        for error in report.errors
    ]
    for result in report.files:
        reasons += _file_reasons(result, declared)
    if any(r.severity != Severity.NOTE for r in reasons):
        return report, reasons, []
    return (
        report,
        reasons,
        [Checked("audit", title, "pass", f"no finding in {len(report.files)} file(s)")],
    )


def _file_reasons(result: FileResult, declared: dict[str, tuple[str, str]]) -> list[Reason]:
    from pgolf_cli.records.verify import finding_blocks

    if result.error is not None:
        return [
            Reason(
                "audit.unreadable",
                Severity.ERROR,
                "Scripts can be audited",
                f"{result.path} cannot be audited: {result.error}",
                path=result.path,
            )
        ]
    reasons = []
    for finding in result.findings:
        blocking, enabled = finding_blocks(finding, declared)
        if finding.severity == Severity.NOTE:
            severity = Severity.NOTE
        elif finding.suppressed:
            # The script's own author silenced it: a person has to accept the justification.
            severity = Severity.WARNING
        else:
            severity = Severity.ERROR if blocking else Severity.WARNING
        reasons.append(_finding_reason(finding, severity, enabled))
    return reasons


def _finding_reason(finding: Finding, severity: Severity, enabled: tuple[str, ...]) -> Reason:
    from pgolf_cli.report.audit.text import reachability_note

    message = finding.message
    notes = []
    if finding.decoded_from:
        notes.append(f"line {finding.line} of the code {finding.decoded_from}")
    note = reachability_note(finding)
    if note is not None:
        notes.append(note)
    if enabled:
        notes.append("turned on by " + "; ".join(enabled))
    if finding.suppressed:
        notes.append(f"suppressed in the script: {finding.suppression_reason or 'no reason given'}")
    if finding.confidence.value != "high":
        notes.append(f"{finding.confidence.value} confidence")
    if notes:
        message += f" ({'; '.join(notes)})"
    decoded = finding.decoded_from
    evidence = []
    if decoded:
        evidence.append(f"{finding.path}: lines below count the code {decoded}")
    evidence.append(f"{finding.path}:{finding.line}: {finding.snippet}")
    evidence += [
        # A program's evidence can sit in another file of the folder (the caller in train_gpt.py).
        f"{item.path or finding.path}:{item.line}: {item.label}"
        + (f": {item.code.strip()}" if item.code else "")
        for item in finding.evidence
    ]
    return Reason(
        f"audit.{finding.rule_id}",
        severity,
        f"{finding.rule_id} {finding.rule_name}",
        message,
        tuple(evidence),
        path=finding.path,
        # A decoded line does not exist in the shipped file: point at the file as a whole.
        line=None if decoded else finding.line,
    )
