"""One scaled topology (Redis, PostgreSQL, two workers, Pushpin, the engine) per module.

Without pushpin, redis-server or PostgreSQL the scaled tests are skipped with
the reason, except under CI (``CI=true``), where a missing service fails them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.scaled.topology import ScaledTopology, missing_services


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScaledTopology]:
    missing = missing_services()
    if missing:
        reason = "the scaled mode needs " + ", ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    scaled = ScaledTopology(tmp_path_factory.mktemp("scaled")).start()
    try:
        yield scaled
    finally:
        scaled.stop()
