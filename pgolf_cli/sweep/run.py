"""``run_sweep``: every ref matching the patterns, judged by the gate, through the cache.

Refs are independent: each is one :func:`pgolf_cli.gate.run.run_gate` call (head = the ref's
commit, base = the base branch's tip), in this process or in one of ``jobs`` worker processes.
A ref's row is cached under its head and base commits (and the shallow boundary, which can
change the merge base); a folder's audit under the files it reads (:mod:`pgolf_cli.sweep.audits`).
Each row is written to the cache as soon as it is judged, so an interrupted sweep resumes where
it stopped, and ``--shard K/N`` lets N machines sharing (or later merging) the cache directory
split the refs between them.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from pgolf_cli.challenge import ARTIFACT_LIMIT_BYTES
from pgolf_cli.errors import PgolfInputError
from pgolf_cli.gate.git import GitRepo
from pgolf_cli.sweep.audits import CachedAudit
from pgolf_cli.sweep.cache import Cache, key
from pgolf_cli.sweep.model import ERROR, RefResult, Stats, SweepReport

DEFAULT_PATTERNS = ("refs/pull/*/head",)
KIND = "ref"


@dataclass(frozen=True, slots=True)
class SweepOptions:
    cache: Path
    """The cache directory (shared by runs, processes and machines)."""
    patterns: tuple[str, ...] = DEFAULT_PATTERNS
    base: str | None = None
    """The branch the pull requests target; None: the repository's main branch."""
    jobs: int = 1
    shard: tuple[int, int] = (1, 1)
    """(K, N): judge only the K-th of N disjoint parts of the refs (1-based)."""
    max_file_bytes: int = ARTIFACT_LIMIT_BYTES


@dataclass(frozen=True, slots=True)
class _Job:
    """What a worker needs to judge one ref (picklable)."""

    repo: Path
    ref: str
    head: str
    base_ref: str
    base: str
    """The commit ``base_ref`` named when the sweep started."""
    cache: Path
    shallow: tuple[str, ...]
    max_file_bytes: int


@dataclass(frozen=True, slots=True)
class _Done:
    result: RefResult
    from_cache: bool
    audits_run: int
    audits_reused: int
    audit_keys: frozenset[str]


def _natural(ref: str) -> tuple[tuple[int, int, str], ...]:
    """refs/pull/9/head before refs/pull/10/head; numbers before names in one component."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in ref.split("/"))


def in_shard(ref: str, shard: tuple[int, int]) -> bool:
    """Whether ``ref`` belongs to part K of N: by a hash of its name, stable across runs and
    machines, whatever refs the others see."""
    index, count = shard
    digest = hashlib.sha256(ref.encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big") % count == index - 1


def run_sweep(
    repo_path: Path,
    options: SweepOptions,
    *,
    started: Callable[[int], None] | None = None,
    progress: Callable[[RefResult], None] | None = None,
) -> SweepReport:
    """Judge every matching ref; ``started(total)`` once the refs are listed, ``progress``
    after each ref.

    Raises :class:`PgolfInputError` (exit 2) when the repository, the base, the patterns or the
    cache directory cannot be used. A ref that cannot be judged becomes a row with status
    ``error``.
    """
    clock = time.perf_counter()
    repo = GitRepo(repo_path)
    base_ref = options.base or repo.main_branch()
    base = repo.resolve(base_ref, "--base")
    refs = repo.list_refs(options.patterns)
    if not refs:
        raise PgolfInputError(
            str(repo_path),
            "has no ref matching " + ", ".join(repr(p) for p in options.patterns),
            "Fetch the pull requests (git fetch origin '+refs/pull/*/head:refs/pull/*/head') "
            "or pass other patterns with --refs",
        )
    refs = sorted(
        (pair for pair in refs if in_shard(pair[0], options.shard)), key=lambda p: _natural(p[0])
    )
    shallow = tuple(repo.shallow_commits())
    jobs = [
        _Job(repo_path, ref, head, base_ref, base, options.cache, shallow, options.max_file_bytes)
        for ref, head in refs
    ]
    if started is not None:
        started(len(jobs))

    done: list[_Done] = []

    def take(item: _Done) -> None:
        done.append(item)
        if progress is not None:
            progress(item.result)

    # Rows already in the cache are read here; only the others go to the workers.
    cache = Cache(options.cache)
    pending: list[_Job] = []
    for job in jobs:
        cached = _cached(cache, _ref_key(job), job.ref)
        if cached is None:
            pending.append(job)
        else:
            take(_Done(cached, True, 0, 0, frozenset()))
    workers = max(1, min(options.jobs, len(pending)))
    if workers == 1:
        for job in pending:
            take(judge(job))
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(judge, job) for job in pending]
            for future in as_completed(futures):
                take(future.result())

    order = {job.ref: index for index, job in enumerate(jobs)}
    done.sort(key=lambda item: order[item.result.ref])
    stats = Stats(
        seconds=time.perf_counter() - clock,
        jobs=max(1, options.jobs),
        refs_from_cache=sum(item.from_cache for item in done),
        audits_run=sum(item.audits_run for item in done),
        audits_reused=sum(item.audits_reused for item in done),
        distinct_audits=len(frozenset().union(*(item.audit_keys for item in done))),
    )
    return SweepReport(
        repository=str(repo_path),
        base_ref=base_ref,
        base=base,
        patterns=tuple(options.patterns),
        results=tuple(item.result for item in done),
        stats=stats,
    )


# One CachedAudit per process and cache directory, so a worker's counters and the cache
# object live across the refs it judges.
_AUDITS: dict[Path, CachedAudit] = {}


def judge(job: _Job) -> _Done:
    """One ref by the gate, unless another process judged it meanwhile; cached when judged."""
    from pgolf_cli.gate.run import GateOptions, run_gate

    audit = _AUDITS.get(job.cache)
    if audit is None:
        audit = _AUDITS[job.cache] = CachedAudit(Cache(job.cache))
    cache = audit.cache
    name = _ref_key(job)
    audit.reset()
    with cache.claim(KIND, name):
        cached = _cached(cache, name, job.ref)  # judged meanwhile by another process
        if cached is not None:
            return _Done(cached, True, 0, 0, frozenset())
        try:
            report = run_gate(
                job.repo,
                GateOptions(base=job.base_ref, head=job.head, max_file_bytes=job.max_file_bytes),
                audit=audit,
            )
        except PgolfInputError as problem:
            result = RefResult(job.ref, job.head, ERROR, error=str(problem))
        else:
            if report.base != job.base:
                moved = f"{job.base_ref} moved from {job.base} to {report.base} during the sweep"
                error = f"{moved}. Run the sweep again"
                return _Done(
                    RefResult(job.ref, job.head, ERROR, error=error), False, 0, 0, frozenset()
                )
            result = RefResult.from_gate(job.ref, report)
            document = result.as_dict()
            del document["ref"]  # the row belongs to the commits, whatever ref names them
            cache.put(KIND, name, document)
    return _Done(result, False, audit.misses, audit.hits, frozenset(audit.keys))


def _ref_key(job: _Job) -> str:
    return key(
        KIND,
        {
            "head": job.head,
            "base": job.base,
            # Messages name the base as it was given.
            "base_ref": job.base_ref,
            "shallow": list(job.shallow),
            "max_file_bytes": job.max_file_bytes,
        },
    )


def _cached(cache: Cache, name: str, ref: str) -> RefResult | None:
    document = cache.get(KIND, name)
    if document is None:
        return None
    try:
        return RefResult.from_dict(document, ref=ref)
    except (KeyError, TypeError, ValueError):
        return None  # a damaged entry: judge the ref again and replace it


def parse_shard(text: str) -> tuple[int, int]:
    """``K/N`` (1 <= K <= N) -> (K, N); ValueError with the fix otherwise."""
    index, sep, count = text.partition("/")
    if not sep or not index.strip().isdigit() or not count.strip().isdigit():
        raise ValueError(f"--shard {text!r} is not K/N (for example 1/4)")
    k, n = int(index), int(count)
    if not 1 <= k <= n:
        raise ValueError(f"--shard {text!r}: K must be between 1 and N")
    return k, n
