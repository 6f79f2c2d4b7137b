"""``python -m pgolf_cli``: the same command line as the ``pgolf`` script."""

from __future__ import annotations

from pgolf_cli.cli import app

if __name__ == "__main__":
    app(prog_name="pgolf")
