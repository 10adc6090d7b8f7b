"""The system check that pins django-eventstream to the version the corrections were written for."""

from __future__ import annotations

import pytest

from streams import checks


def test_it_passes_with_the_installed_library() -> None:
    assert checks.check_eventstream_version() == []


@pytest.mark.parametrize("found", ["5.3.5", "6.0.0", None])
def test_it_refuses_another_version_of_the_library(
    monkeypatch: pytest.MonkeyPatch, found: str | None
) -> None:
    monkeypatch.setattr(checks, "installed_version", lambda: found)
    assert [message.id for message in checks.check_eventstream_version()] == ["streams.E001"]
