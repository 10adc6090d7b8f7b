import os
import stat
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from exchange_site import env
from tests.servers import ROOT


def clean_environ() -> dict[str, str]:
    """This process's environment without the exchange's variables, and no local ``.env``."""
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "EXCHANGE_", "DATABASE_URL"))
    }
    return {**clean, env.ENV_FILE_VARIABLE: ""}


def settings_of(**environ: str) -> subprocess.CompletedProcess[str]:
    """Load the real settings in a fresh interpreter with only ``environ`` set."""
    code = "import exchange_site.settings as s; print(s.DEBUG, s.EXCHANGE_TICK_INTERVAL, s.EXCHANGE_SEED)"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean_environ(), **environ},
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
    clean = clean_environ()
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**clean, "DJANGO_SECRET_KEY": "a-real-secret-" + "q7Z!x9" * 10},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_it_reads_the_env_file_where_the_environment_says_nothing(tmp_path: Path) -> None:
    env_file = tmp_path / "local.env"
    env_file.write_text(
        "# a comment\n\nDJANGO_DEBUG=true\nexport EXCHANGE_TICK_INTERVAL='0.25'\nEXCHANGE_SEED=\n"
    )
    out = settings_of(EXCHANGE_ENV_FILE=str(env_file)).stdout.split()
    assert out == ["True", "0.25", "None"]


def test_real_environment_variables_win_over_the_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / "local.env"
    env_file.write_text("DJANGO_DEBUG=true\nEXCHANGE_TICK_INTERVAL=0.25\n")
    out = settings_of(EXCHANGE_ENV_FILE=str(env_file), EXCHANGE_TICK_INTERVAL="2").stdout.split()
    assert out == ["True", "2.0", "None"]


def test_an_empty_variable_means_its_default() -> None:
    code = "import exchange_site.settings as s; print(s.DATABASES['default']['ENGINE'], s.EXCHANGE_ENGINE)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean_environ(), "DJANGO_DEBUG": "true", "DATABASE_URL": "", "EXCHANGE_ENGINE": " "},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout.split() == ["django.db.backends.sqlite3", "embedded"], result.stderr


def test_an_empty_env_file_setting_reads_no_file(tmp_path: Path) -> None:
    result = settings_of(EXCHANGE_ENV_FILE="")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is required" in result.stderr


def test_the_local_env_file_is_the_one_beside_manage_py_by_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text("X_FROM_FILE=yes\n")
    monkeypatch.delenv(env.ENV_FILE_VARIABLE, raising=False)
    monkeypatch.delenv("X_FROM_FILE", raising=False)
    try:
        assert env.load_env_file(tmp_path / ".env") == tmp_path / ".env"
        assert env.env_bool("X_FROM_FILE") is True
    finally:
        env.load_env_file(tmp_path / "missing.env")
    assert env.env_bool("X_FROM_FILE") is False


def test_a_named_env_file_that_is_missing_is_an_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(env.ENV_FILE_VARIABLE, str(tmp_path / "nope.env"))
    with pytest.raises(ImproperlyConfigured, match="EXCHANGE_ENV_FILE"):
        env.load_env_file(tmp_path / ".env")


def test_the_install_step_writes_a_local_env_with_a_strong_key_once(tmp_path: Path) -> None:
    target = tmp_path / ".env"
    assert env.write_local_env(ROOT / ".env.example", target) is True
    values = env.read_env_file(target)
    assert values["DJANGO_DEBUG"] == "true"
    key = values["DJANGO_SECRET_KEY"]
    assert len(key) >= 50
    assert len(set(key)) >= 5
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert set(values) == set(env.read_env_file(ROOT / ".env.example"))
    assert env.write_local_env(ROOT / ".env.example", target) is False
    assert env.read_env_file(target)["DJANGO_SECRET_KEY"] == key


def test_the_generated_env_file_gives_local_settings_that_load(tmp_path: Path) -> None:
    target = tmp_path / ".env"
    env.write_local_env(ROOT / ".env.example", target)
    result = settings_of(EXCHANGE_ENV_FILE=str(target))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "1.0", "None"]


def test_manage_py_without_the_projects_packages_says_what_to_do_in_one_line() -> None:
    # -S: no site-packages, so no Django, as with a system Python outside the virtualenv.
    result = subprocess.run(
        [sys.executable, "-S", "manage.py", "check"],
        cwd=ROOT,
        env=clean_environ(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "make install" in result.stderr


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


def test_the_suite_and_its_servers_never_read_a_local_env_file() -> None:
    from tests.servers import base_env

    assert os.environ[env.ENV_FILE_VARIABLE] == ""
    assert base_env()[env.ENV_FILE_VARIABLE] == ""
