"""``pgolf init``: a working folder with the reference training script and a pgolf.toml."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pgolf_cli

TEMPLATE_NAME = "train_gpt.py"

PGOLF_TOML = """\
# Settings for `pgolf train` in this folder; command-line flags override them.
# Paths are relative to this file.

[train]
script = "train_gpt.py"
seeds = [1337]
data = "data"           # the built-in dataset is built here on first use
out = "runs"
# The preset defaults to "cpu" without a GPU and to "challenge" with one; set it to pin it.
# preset = "cpu"          # cpu-tiny | cpu | challenge
"""

GITIGNORE = """\
# Training runs and the dataset are outputs; the script and settings are the source.
runs/
data/
"""


class TemplateMissingError(FileNotFoundError):
    """The bundled template is not where a checkout or an installed wheel keeps it."""


class FolderExistsError(FileExistsError):
    """``pgolf init`` never writes into a folder that already has something in it."""


def template_path() -> Path:
    """The bundled ``train_gpt.py``.

    An installed wheel carries it at ``pgolf_cli/_templates/``; a source checkout has it at
    ``templates/`` next to the package.
    """
    package = Path(pgolf_cli.__file__).resolve().parent
    for candidate in (
        package / "_templates" / TEMPLATE_NAME,
        package.parent / "templates" / TEMPLATE_NAME,
    ):
        if candidate.is_file():
            return candidate
    raise TemplateMissingError(
        f"the bundled {TEMPLATE_NAME} is missing from this pgolf installation (looked in "
        f"{package / '_templates'} and {package.parent / 'templates'}); reinstall pgolf or "
        "name a training script"
    )


def init_project(target: Path) -> list[Path]:
    """Create ``target`` with the template, a pgolf.toml and a .gitignore; return the files.

    The folder is assembled next to the target and renamed into place, so an error leaves
    nothing half made. An existing empty folder is filled; anything else is refused.
    """
    if target.exists() and not (target.is_dir() and not any(target.iterdir())):
        raise FolderExistsError(
            f"{target} already exists; pgolf init only creates new folders "
            "(choose another name, or remove it first)"
        )
    template = template_path()
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=parent, prefix=f".{target.name}."))
    try:
        shutil.copyfile(template, staging / TEMPLATE_NAME)
        (staging / "pgolf.toml").write_text(PGOLF_TOML, encoding="utf-8")
        (staging / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
        # mkdtemp makes the folder private; give it the mode a plain mkdir would have.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(staging, 0o777 & ~umask)
        # rename() replaces an empty directory and fails on a non-empty one, so a folder that
        # appeared meanwhile is still never overwritten.
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [target / TEMPLATE_NAME, target / "pgolf.toml", target / ".gitignore"]
