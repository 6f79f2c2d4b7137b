"""Datasets in the challenge's format: shards, tokenizers, the built-in corpus, downloads.

Library code only: functions return values and raise :class:`pgolf_cli.errors.PgolfInputError`
for input they cannot use; ``pgolf_cli.cli.data`` prints and picks exit codes.
"""
