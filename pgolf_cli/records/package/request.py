"""What ``pgolf package`` was asked to do, checked before any file of the run is read."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

from pgolf_cli.errors import PgolfInputError
from pgolf_cli.records.submission import Track

PackCodec = Literal["lzma", "brotli"]
PACK_CODECS: tuple[PackCodec, ...] = get_args(PackCodec)

#: Files of the records folder that other parts of the folder name.
SCRIPT_NAME = "train_gpt.py"
PLOT_NAME = "train_curves.svg"

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")
_NAME_MAX = 100
_DATED = re.compile(r"\d{4}-\d{2}-\d{2}_")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_GITHUB_ID = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})")


class PackageError(PgolfInputError):
    """The run cannot be packaged as asked: which file or flag, what is wrong, what to do."""


@dataclass(frozen=True, slots=True)
class PackageRequest:
    """What ``pgolf package`` was asked to do."""

    run_dir: Path
    name: str
    """The description part of the folder name (``<date>_<name>``)."""
    author: str
    github_id: str
    blurb: str
    """A sentence or two on what is new (not empty: every record carries one)."""
    track: Track = "10min_16mb"
    seeds: tuple[int, ...] | None = None
    """Seeds to package; None means every seed folder of the run."""
    out: Path = Path("records")
    """The records tree: the folder goes to ``out/track_<track>/``."""
    date: dt.date = field(default_factory=dt.date.today)
    baseline: Path | None = None
    pack_code: PackCodec | None = None
    force: bool = False
    credits: Mapping[str, str] = field(default_factory=dict)
    """Attribution: technique -> who."""

    @property
    def folder_name(self) -> str:
        return f"{self.date.isoformat()}_{self.name}"


def check_name(name: str) -> None:
    """Raise :class:`PackageError` unless ``name`` is a safe folder description."""
    where = f"--name {name!r}"
    if not name:
        raise PackageError(where, "is empty", "Give a short description such as SP8192_LegalTTT")
    if any(ch.isspace() for ch in name):
        raise PackageError(
            where,
            "contains whitespace, which breaks links and tools (one merged record has spaces)",
            "Use _ or - between words, e.g. --name " + re.sub(r"\s+", "_", name.strip()),
        )
    if "/" in name or "\\" in name or ".." in name:
        raise PackageError(
            where,
            "contains a path separator or '..'; the name must stay one folder inside the track",
            "Give a plain description such as SP8192_LegalTTT",
        )
    if _DATED.match(name):
        raise PackageError(
            where,
            "starts with a date; the folder's date comes from --date",
            f"Pass only the description: --name {name[11:] or 'Description'}",
        )
    if not _NAME.fullmatch(name):
        raise PackageError(
            where,
            "may only use letters, digits and . _ + -, starting with a letter or digit",
            "Rename it, e.g. SP8192_QK5_LegalTTT",
        )
    if len(name) > _NAME_MAX:
        raise PackageError(
            where, f"is {len(name)} characters long", f"Keep it to {_NAME_MAX} characters or fewer"
        )


def parse_date(text: str) -> dt.date:
    """``YYYY-MM-DD`` as a date, else :class:`PackageError`."""
    try:
        if _DAY.fullmatch(text):
            return dt.date.fromisoformat(text)
    except ValueError:
        pass
    raise PackageError(f"--date {text!r}", "is not a calendar day", "Write it as YYYY-MM-DD")


def target_paths(request: PackageRequest) -> tuple[Path, Path]:
    """The track folder and the record folder, checked to stay inside the records tree."""
    root = request.out.resolve()
    track_dir = root / f"track_{request.track}"
    if track_dir.is_symlink() or (track_dir.exists() and not track_dir.is_dir()):
        raise PackageError(
            str(track_dir),
            "is a link or a file, not a folder of the records tree",
            "Make it a plain folder (pgolf never writes through links)",
        )
    target = track_dir / request.folder_name
    if target.is_symlink():
        raise PackageError(
            str(target), "is a link", "Remove the link; pgolf never writes through links"
        )
    # check_name already rules out separators and '..'; this holds whatever the name.
    resolved = target.resolve()
    if resolved.parent != track_dir or not resolved.is_relative_to(root):
        raise PackageError(
            str(target), "would be outside the records tree", "Choose a plain --name"
        )
    if target.exists() and not request.force:
        raise PackageError(
            str(target),
            "already exists",
            "Choose another --name or --date, or pass --force to replace it",
        )
    return track_dir, target


def check_request(request: PackageRequest) -> None:
    """Raise :class:`PackageError` on the first flag that cannot make a records folder."""
    check_name(request.name)
    if not request.author.strip():
        raise PackageError("--author", "is empty", "Give your name as it should be credited")
    if not request.blurb.strip():
        raise PackageError(
            "--blurb",
            "is empty; reviewers and the leaderboard read it first",
            "Say in a sentence or two what is new, e.g. --blurb 'Score-first TTT on 11 layers'",
        )
    if not _GITHUB_ID.fullmatch(request.github_id):
        raise PackageError(
            f"--github-id {request.github_id!r}",
            "is not a GitHub user name (letters, digits and -, up to 39 characters)",
            "Give your GitHub login without the @",
        )
    if request.pack_code is not None and request.pack_code not in PACK_CODECS:
        raise PackageError(
            f"--pack-code {request.pack_code}", "is not a codec", "Use lzma or brotli"
        )
    for key, who in request.credits.items():
        if not key.strip() or not who.strip():
            raise PackageError(
                f"--credit {key}={who}", "needs both parts", "Write --credit 'technique=who'"
            )
