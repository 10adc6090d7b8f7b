import os
import subprocess
import sys
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured

from exchange_site import env
from tests.servers import ROOT


def settings_of(**environ: str) -> subprocess.CompletedProcess[str]:
    """Load the real settings in a fresh interpreter with only ``environ`` set."""
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "EXCHANGE_", "DATABASE_URL"))
    }
    code = "import exchange_site.settings as s; print(s.DEBUG, s.EXCHANGE_TICK_INTERVAL, s.EXCHANGE_SEED)"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, **environ},
        capture_output=True,
        text=True,
        check=False,
    )


def test_production_refuses_to_start_without_a_secret_key() -> None:
    result = settings_of()
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is required" in result.stderr


def test_debug_is_off_unless_asked_for() -> None:
    assert settings_of(DJANGO_SECRET_KEY="a-real-secret-" + "q7Z!x9" * 10).stdout.split()[0] == "False"
    assert settings_of(DJANGO_DEBUG="true").stdout.split()[0] == "True"


def test_exchange_settings_come_from_the_environment() -> None:
    out = settings_of(DJANGO_DEBUG="1", EXCHANGE_TICK_INTERVAL="0.25", EXCHANGE_SEED="abc").stdout.split()
    assert out == ["True", "0.25", "abc"]


def test_a_bad_value_names_its_variable() -> None:
    result = settings_of(DJANGO_DEBUG="1", EXCHANGE_TICK_INTERVAL="fast")
    assert result.returncode != 0
    assert "EXCHANGE_TICK_INTERVAL must be a number" in result.stderr


def test_deploy_checks_are_clean_in_production_mode() -> None:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "EXCHANGE_", "DATABASE_URL"))
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**clean, "DJANGO_SECRET_KEY": "a-real-secret-" + "q7Z!x9" * 10},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("reader", "raw", "expected"),
    [
        (lambda: env.env_bool("X_TEST"), "yes", True),
        (lambda: env.env_bool("X_TEST"), "off", False),
        (lambda: env.env_int("X_TEST", 3), "12", 12),
        (lambda: env.env_float("X_TEST", 1.0), "0.5", 0.5),
        (lambda: env.env_decimal("X_TEST", "1"), "2.5", Decimal("2.50")),
        (lambda: env.env_list("X_TEST"), "a, b,,c", ["a", "b", "c"]),
        (
            lambda: env.env_pairs("X_TEST"),
            "BTC=http://a/ META=http://b/",
            {"BTC": "http://a/", "META": "http://b/"},
        ),
    ],
)
def test_env_readers_parse_values(
    monkeypatch: pytest.MonkeyPatch, reader, raw: str, expected: object
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("X_TEST", raw)
    assert reader() == expected


@pytest.mark.parametrize(
    ("reader", "raw"),
    [
        (lambda: env.env_bool("X_TEST"), "maybe"),
        (lambda: env.env_int("X_TEST", 3, minimum=1), "0"),
        (lambda: env.env_float("X_TEST", 1.0), "inf"),
        (lambda: env.env_decimal("X_TEST", "1"), "lots"),
        (lambda: env.env_pairs("X_TEST"), "BTC"),
    ],
)
def test_env_readers_refuse_bad_values(monkeypatch: pytest.MonkeyPatch, reader, raw: str) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("X_TEST", raw)
    with pytest.raises(ImproperlyConfigured, match="X_TEST"):
        reader()
