"""``pgolf init`` and finding the bundled template."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

import pgolf_cli
from pgolf_cli.cli import app
from pgolf_cli.config import load_train_config
from pgolf_cli.runner.init import TemplateMissingError, template_path

REPO = Path(__file__).resolve().parents[2]


def test_template_in_a_checkout() -> None:
    assert template_path() == REPO / "templates" / "train_gpt.py"


def test_template_in_an_installed_wheel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "site-packages" / "pgolf_cli"
    (package / "_templates").mkdir(parents=True)
    (package / "_templates" / "train_gpt.py").write_text("print('wheel')\n")
    monkeypatch.setattr(pgolf_cli, "__file__", str(package / "__init__.py"))
    assert template_path() == package / "_templates" / "train_gpt.py"


def test_template_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pgolf_cli, "__file__", str(tmp_path / "pgolf_cli" / "__init__.py"))
    with pytest.raises(TemplateMissingError, match="reinstall pgolf"):
        template_path()


def test_init_creates_the_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["init", "golf"])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "golf"
    assert sorted(p.name for p in folder.iterdir()) == [".gitignore", "pgolf.toml", "train_gpt.py"]
    assert (folder / "train_gpt.py").read_bytes() == template_path().read_bytes()
    settings = tomllib.loads((folder / "pgolf.toml").read_text())
    assert settings["train"]["script"] == "train_gpt.py"
    assert settings["train"]["seeds"] == [1337]
    # The file is one pgolf train reads, with paths relative to it.
    config = load_train_config(folder)
    assert config.script == folder / "train_gpt.py"
    assert config.data == folder / "data"
    assert config.seeds == (1337,)
    assert "cd golf && pgolf train" in result.stderr
    assert not list(tmp_path.glob(".golf.*"))  # no staging folder left


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    folder = tmp_path / "golf"
    folder.mkdir()
    (folder / "train_gpt.py").write_text("mine\n")
    result = CliRunner().invoke(app, ["init", str(folder)])
    assert result.exit_code == 2
    assert "already exists" in result.stderr
    assert (folder / "train_gpt.py").read_text() == "mine\n"
    assert [p.name for p in folder.iterdir()] == ["train_gpt.py"]


def test_init_refuses_a_file(tmp_path: Path) -> None:
    (tmp_path / "golf").write_text("a file\n")
    result = CliRunner().invoke(app, ["init", str(tmp_path / "golf")])
    assert result.exit_code == 2
    assert (tmp_path / "golf").read_text() == "a file\n"


def test_init_fills_an_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "golf").mkdir()
    result = CliRunner().invoke(app, ["init", str(tmp_path / "golf")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "golf" / "pgolf.toml").is_file()
