"""Shared fixtures: a private MILO_DATA_DIR per test, and a warehouse connection on it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from orchestration.lib import settings  # noqa: E402
from orchestration.lib.pseudonymise import KEY_VAR  # noqa: E402
from orchestration.lib.warehouse import open_warehouse  # noqa: E402


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> settings.Paths:
    monkeypatch.setenv(settings.DATA_DIR_VAR, str(tmp_path / "data"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "data" / "dagster"))
    monkeypatch.delenv(KEY_VAR, raising=False)
    return settings.prepare_environment()


@pytest.fixture
def warehouse(data_dir):
    from orchestration.lib.ingest.schema import initialise

    with open_warehouse(data_dir.warehouse) as con:
        initialise(con)
        yield con


def pytest_report_header(config):
    return f"MILO_DATA_DIR is private to each test (outer value: {os.environ.get(settings.DATA_DIR_VAR)})"
