"""pgolf: the Parameter Golf toolchain."""

__version__ = "0.1.0"
