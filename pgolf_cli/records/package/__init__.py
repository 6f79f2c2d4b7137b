"""Packaging a training run as a records folder: ``records/track_<track>/<YYYY-MM-DD>_<Name>/``.

Two steps with different jobs:

* :func:`plan_package` reads the run (``runs/<name>/seed<S>/{run.json, train.log, artifact}``),
  checks that the seeds form one finished, consistent run, and computes every file of the
  folder in memory: ``train_seed<S>.log`` (the logs verbatim), ``train_gpt.py`` (the script as
  run, or a self-extracting wrapper of it), ``submission.json`` (from the logs, validated
  against the strict schema), ``README.md`` (from the templates in ``templates/``) and
  ``requirements.txt``. It writes nothing; bad input raises :class:`PackageError` (a
  run.json it cannot read, the :class:`~pgolf_cli.errors.PgolfInputError` of
  :func:`pgolf_cli.run_folder.read_run_json`).
* :func:`write_package` builds the folder in a hidden temporary directory inside the track
  folder, runs ``verify`` on it, and only then renames it into place. A folder that fails
  verification is removed and :class:`VerifyFailed` carries the report. An existing folder is
  replaced only with ``force``, and it stays in place until the new one is complete.

One module a job: :mod:`.request` (the request and its checks), :mod:`.seeds` (finding the run,
reading its seeds), :mod:`.code` (the script, packed and audited), :mod:`.submission_json`
(submission.json's figures and claims), :mod:`.reproduction` (the commands and
requirements.txt), :mod:`.readme` (README.md), :mod:`.plan` (all files in memory) and
:mod:`.write` (the staged, verified write).

Nothing here runs the training script: the code is hashed, compressed and decoded as data, and
audited statically.
"""

from __future__ import annotations

from pgolf_cli.records.package.plan import Plan, plan_package
from pgolf_cli.records.package.request import (
    PACK_CODECS,
    PackageError,
    PackageRequest,
    PackCodec,
    check_name,
    parse_date,
)
from pgolf_cli.records.package.seeds import LatestRun, PackagedSeed, latest_run
from pgolf_cli.records.package.write import PackageResult, VerifyFailed, package, write_package

__all__ = [
    "PACK_CODECS",
    "LatestRun",
    "PackCodec",
    "PackageError",
    "PackageRequest",
    "PackageResult",
    "PackagedSeed",
    "Plan",
    "VerifyFailed",
    "check_name",
    "latest_run",
    "package",
    "parse_date",
    "plan_package",
    "write_package",
]
