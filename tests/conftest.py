"""Shared fixtures: real server processes for end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import ServerProcess, wait_for_prices


@pytest.fixture(scope="session")
def exchange_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One exchange server shared by the end-to-end tests that only read or add trades."""
    server = ServerProcess(tmp_path_factory.mktemp("exchange"))
    server.start()
    wait_for_prices(server)
    yield server
    server.kill()


@pytest.fixture
def server_dir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Every test starts with an empty cache: rate-limit buckets are keyed by
    account id, and ids repeat across tests' fresh databases."""
    from django.core.cache import caches

    for cache in caches.all():
        cache.clear()


@pytest.fixture(autouse=True)
def _own_state_dir(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Every test keeps local state (runbot's tokens) in its own directory."""
    settings.EXCHANGE_STATE_DIR = tmp_path / "state"
