"""Fixtures for the records tests.

The challenge's merged record folders live outside the repository, in ``../shared``; tests that
read them take :func:`records_data` and are skipped where it is absent (pgolf itself never
needs it).
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED_RECORDS = REPO.parent / "shared" / "data" / "parameter-golf-records-full"


@pytest.fixture(scope="session")
def records_data() -> Path:
    """The folder of merged record submissions (``track_10min_16mb/``, ...), or a skip."""
    if not SHARED_RECORDS.is_dir():
        pytest.skip(f"the shared record data is not at {SHARED_RECORDS}")
    return SHARED_RECORDS
