"""Project configuration: ``[tool.pgolf.<command>]`` in pyproject.toml or ``[<command>]`` in
pgolf.toml, for the ``audit`` and ``train`` commands.

The search starts in a directory (the cwd for the CLI) and walks up to the filesystem root; the
first directory with a pgolf.toml, or with a pyproject.toml that has a ``[tool.pgolf]`` table,
wins. A pyproject.toml without that table is skipped, so a project that does not configure
pgolf inherits nothing by accident from its own packaging file.

The one order every command resolves a setting in is :func:`resolve`'s: a flag, then the
environment, then the configuration file, then the preset, then pgolf's default. The folders
several commands share (the data folder, the runs folder) are resolved here too.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

from pgolf_cli.audit.findings import Confidence, Severity
from pgolf_cli.report.audit import FORMATS

PGOLF_TOML = "pgolf.toml"
PYPROJECT_TOML = "pyproject.toml"

AUDIT_KEYS = ("select", "ignore", "fail-on", "min-confidence", "format")
TRAIN_KEYS = ("script", "preset", "seeds", "data", "out", "nproc-per-node", "env")


#: The data folder (datasets/ and tokenizers/) of ``pgolf data`` and ``pgolf train``.
DATA_ENV = "PGOLF_DATA"
DEFAULT_DATA_DIR = Path("data")
#: Where ``pgolf train`` puts run folders and ``pgolf package`` looks for the latest one.
DEFAULT_RUNS_DIR = Path("runs")

Source = Literal["flag", "environment", "config", "preset", "default"]
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Setting(Generic[_T]):
    """A resolved setting and where its value came from."""

    value: _T
    source: Source

    @property
    def explicit(self) -> bool:
        """Given for this call (a flag or the environment) rather than by the project or pgolf."""
        return self.source in ("flag", "environment")


def resolve(
    default: _T,
    *,
    flag: _T | None = None,
    env: _T | None = None,
    config: _T | None = None,
    preset: _T | None = None,
) -> Setting[_T]:
    """The first value that is set, in pgolf's one order of precedence:
    flag > environment > configuration file > preset > default."""
    given: tuple[tuple[Source, _T | None], ...] = (
        ("flag", flag),
        ("environment", env),
        ("config", config),
        ("preset", preset),
    )
    for source, value in given:
        if value is not None:
            return Setting(value, source)
    return Setting(default, "default")


def env_path(name: str) -> Path | None:
    """The path in environment variable ``name``; unset and empty both mean "not set"."""
    value = os.environ.get(name)
    return Path(value) if value else None


def data_dir(flag: Path | None, config: TrainConfig) -> Setting[Path]:
    """The data folder: ``--data``, ``$PGOLF_DATA``, pgolf.toml's ``data``, else ./data."""
    return resolve(DEFAULT_DATA_DIR, flag=flag, env=env_path(DATA_ENV), config=config.data)


def runs_dir(flag: Path | None, config: TrainConfig) -> Setting[Path]:
    """The runs folder: ``--out`` of pgolf train, pgolf.toml's ``out``, else ./runs."""
    return resolve(DEFAULT_RUNS_DIR, flag=flag, config=config.out)


class ConfigError(Exception):
    """A configuration file that cannot be used; the message names the file, key and fix."""


@dataclass(frozen=True, slots=True)
class AuditConfig:
    """The audit settings a configuration file gave; ``None`` means "not set there"."""

    source: Path | None = None
    """The file the values came from (None when no file was found)."""
    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] | None = None
    fail_on: Severity | None = None
    min_confidence: Confidence | None = None
    format: str | None = None

    @property
    def section(self) -> str:
        """How the table is written in its file, for messages."""
        if self.source is not None and self.source.name == PGOLF_TOML:
            return "[audit]"
        return "[tool.pgolf.audit]"


def find_config(start: Path) -> Path | None:
    """The configuration file that applies to ``start``, or None when there is none."""
    for directory in (start, *start.parents):
        candidate = directory / PGOLF_TOML
        if candidate.is_file():
            return candidate
        candidate = directory / PYPROJECT_TOML
        if candidate.is_file():
            tool = _read_toml(candidate).get("tool")
            if isinstance(tool, Mapping) and "pgolf" in tool:
                return candidate
    return None


def load_audit_config(start: Path) -> AuditConfig:
    """Read the audit settings that apply to ``start``.

    Raises :class:`ConfigError` for a file that is not valid TOML or a key or value pgolf does
    not know.
    """
    found = _find_table(start, "audit")
    if found is None:
        return AuditConfig()
    path, section_name, table = found
    return _parse_audit_table(path, section_name, table)


@dataclass(frozen=True, slots=True)
class TrainConfig:
    """The train settings a configuration file gave; ``None`` means "not set there".

    Paths are resolved against the directory of the file they were written in.
    """

    source: Path | None = None
    script: Path | None = None
    preset: str | None = None
    seeds: tuple[int, ...] | None = None
    data: Path | None = None
    out: Path | None = None
    nproc_per_node: int | None = None
    env: Mapping[str, str] | None = None


def load_train_config(start: Path) -> TrainConfig:
    """Read the train settings that apply to ``start`` (see :func:`load_audit_config`)."""
    found = _find_table(start, "train")
    if found is None:
        return TrainConfig()
    path, section, table = found
    for key in table:
        if key not in TRAIN_KEYS:
            raise ConfigError(
                f"{path}: unknown key {key!r} in {section}; allowed keys: {', '.join(TRAIN_KEYS)}"
            )
    base = path.parent
    return TrainConfig(
        source=path,
        script=_path(path, section, "script", table.get("script"), base),
        preset=_preset(path, section, table.get("preset")),
        seeds=_seeds(path, section, table.get("seeds")),
        data=_path(path, section, "data", table.get("data"), base),
        out=_path(path, section, "out", table.get("out"), base),
        nproc_per_node=_positive(path, section, "nproc-per-node", table.get("nproc-per-node")),
        env=_env(path, section, table.get("env")),
    )


def _find_table(start: Path, command: str) -> tuple[Path, str, Mapping[str, Any]] | None:
    """The file that applies to ``start``, how the command's table is written there, and the
    table (empty when the file has none)."""
    path = find_config(start.resolve())
    if path is None:
        return None
    data = _read_toml(path)
    if path.name == PGOLF_TOML:
        section_name = f"[{command}]"
        table = data.get(command, {})
    else:
        section_name = f"[tool.pgolf.{command}]"
        table = data["tool"]["pgolf"]
        if not isinstance(table, Mapping):
            raise ConfigError(
                f"{path}: [tool.pgolf] must be a table, with the settings under {section_name}"
            )
        table = table.get(command, {})
    if not isinstance(table, Mapping):
        raise ConfigError(f"{path}: {section_name} must be a table of settings")
    return path, section_name, table


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(
            f"{path}: not valid TOML ({error}); fix the syntax or delete the file"
        ) from error
    except OSError as error:
        raise ConfigError(
            f"{path}: cannot read the configuration file ({error.strerror})"
        ) from error


def _parse_audit_table(path: Path, section: str, table: Mapping[str, Any]) -> AuditConfig:
    for key in table:
        if key not in AUDIT_KEYS:
            raise ConfigError(
                f"{path}: unknown key {key!r} in {section}; allowed keys: {', '.join(AUDIT_KEYS)}"
            )
    return AuditConfig(
        source=path,
        select=_id_list(path, section, "select", table.get("select")),
        ignore=_id_list(path, section, "ignore", table.get("ignore")),
        fail_on=_choice(path, section, "fail-on", table.get("fail-on"), Severity),
        min_confidence=_choice(
            path, section, "min-confidence", table.get("min-confidence"), Confidence
        ),
        format=_format(path, section, table.get("format")),
    )


def _id_list(path: Path, section: str, key: str, value: object) -> tuple[str, ...] | None:
    if value is None:
        return None
    # A single comma-separated string is accepted as well, matching the command-line flag.
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(
            f"{path}: {section} {key} must be a list of rule ids or prefixes, "
            f'for example {key} = ["PG1", "PG402"]; got {value!r}'
        )
    return tuple(value)


_Choice = TypeVar("_Choice", Severity, Confidence)


def _choice(
    path: Path, section: str, key: str, value: object, kind: type[_Choice]
) -> _Choice | None:
    if value is None:
        return None
    allowed = [member.value for member in kind]
    if not isinstance(value, str) or value not in allowed:
        raise ConfigError(
            f"{path}: {section} {key} = {value!r} is not allowed; use one of: {', '.join(allowed)}"
        )
    return kind(value)


def _format(path: Path, section: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or value not in FORMATS.names:
        raise ConfigError(
            f"{path}: {section} format = {value!r} is not allowed; "
            f"use one of: {', '.join(FORMATS.names)}"
        )
    return value


def _path(path: Path, section: str, key: str, value: object, base: Path) -> Path | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ConfigError(
            f'{path}: {section} {key} must be a path written as a string, e.g. {key} = "data"; '
            f"got {value!r}"
        )
    return base / Path(value).expanduser()


def _preset(path: Path, section: str, value: object) -> str | None:
    from pgolf_cli.runner.presets import PRESETS

    if value is None:
        return None
    if not isinstance(value, str) or value not in PRESETS:
        raise ConfigError(
            f"{path}: {section} preset = {value!r} is not a preset; use one of: "
            f"{', '.join(PRESETS)}"
        )
    return value


def _seeds(path: Path, section: str, value: object) -> tuple[int, ...] | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(item, int) and not isinstance(item, bool) for item in value)
        or any(item < 0 for item in value)
    ):
        raise ConfigError(
            f"{path}: {section} seeds must be a non-empty list of non-negative integers, "
            f"e.g. seeds = [42, 1337, 7]; got {value!r}"
        )
    return tuple(value)


def _positive(path: Path, section: str, key: str, value: object) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{path}: {section} {key} must be a positive integer; got {value!r}")
    return value


def _env(path: Path, section: str, value: object) -> Mapping[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"{path}: {section} env must be a table of variables, e.g. "
            f"env = {{ ITERATIONS = 500 }}; got {value!r}"
        )
    env: dict[str, str] = {}
    for key, item in value.items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise ConfigError(f"{path}: {section} env key {key!r} is not a variable name")
        if isinstance(item, bool):
            env[key] = "1" if item else "0"
        elif isinstance(item, str | int | float):
            env[key] = str(item)
        else:
            raise ConfigError(
                f"{path}: {section} env.{key} must be a string or a number; got {item!r}"
            )
    return env
