"""Small typed readers for settings taken from environment variables, and the local ``.env``.

Each reader raises ``ImproperlyConfigured`` naming the variable, so a typo in a
deployment fails at start-up with a message a person can act on.

For local use, ``make install`` writes ``.env`` (from ``.env.example``, with
``DJANGO_DEBUG=true`` and a fresh secret key: ``python -m exchange_site.env``),
and the settings read it through ``load_env_file``. A real environment
variable always wins over the file; an empty value in the file means "the
default". ``EXCHANGE_ENV_FILE`` names another file, or, empty, no file at all
(the test suite sets it so, so a developer's ``.env`` never changes a test).
"""

from __future__ import annotations

import os
import secrets
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})
ENV_FILE_VARIABLE = "EXCHANGE_ENV_FILE"
# Values read from the local .env file: consulted only where the environment lacks a variable.
_file_values: dict[str, str] = {}


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=value`` lines of a dotenv file; blank lines, ``#`` comments and ``export `` are allowed."""
    values: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key.isidentifier():
            raise ImproperlyConfigured(f"{path}:{number}: expected KEY=value, not {line!r}")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key] = value
    return values


def load_env_file(default: Path) -> Path | None:
    """Use the values of the local env file (``default`` unless ``EXCHANGE_ENV_FILE`` says otherwise).

    Returns the file read, or None. A missing default file is fine (production
    sets its own environment); a file named by ``EXCHANGE_ENV_FILE`` must exist.
    """
    _file_values.clear()
    named = os.environ.get(ENV_FILE_VARIABLE)
    if named is not None and not named.strip():
        return None
    path = Path(named.strip()) if named is not None else default
    if not path.is_file():
        if named is not None:
            raise ImproperlyConfigured(f"{ENV_FILE_VARIABLE} names {str(path)!r}, which is not a file")
        return None
    _file_values.update({key: value for key, value in read_env_file(path).items() if value})
    return path


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    return value if value is not None else _file_values.get(name)


def write_local_env(example: Path, target: Path) -> bool:
    """Write ``target`` from ``example`` for local use, unless it exists; returns whether it wrote.

    DEBUG on and a fresh random secret key (67 characters, as Django's deploy
    check asks for at least 50); readable by its owner only, since it holds that key.
    """
    lines = []
    for line in example.read_text().splitlines():
        key = line.partition("=")[0].strip()
        if key == "DJANGO_DEBUG":
            line = "DJANGO_DEBUG=true"
        elif key == "DJANGO_SECRET_KEY":
            line = f"DJANGO_SECRET_KEY={secrets.token_urlsafe(50)}"
        lines.append(line)
    header = (
        f"# Local settings, written by `make install` from {example.name}; never commit this file.\n"
        "# Real environment variables win over these values.\n"
    )
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as out:
        out.write(header + "\n".join(lines) + "\n")
    return True


def env_str(name: str, default: str = "") -> str:
    """The variable's text, stripped; empty or unset means ``default`` (as for the other readers)."""
    return (_raw(name) or "").strip() or default


def env_bool(name: str, default: bool = False) -> bool:
    raw = _raw(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = _raw(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}")
    return value


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    raw = _raw(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {raw!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ImproperlyConfigured(f"{name} must be a finite number, not {raw!r}")
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}")
    return value


def env_decimal(name: str, default: str, *, minimum: Decimal | None = None) -> Decimal:
    raw = (_raw(name) or "").strip() or default
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ImproperlyConfigured(f"{name} must be a decimal number, not {raw!r}") from None
    if not value.is_finite() or (minimum is not None and value < minimum):
        raise ImproperlyConfigured(f"{name} must be a finite number of at least {minimum}")
    return value.quantize(Decimal("0.01"))


def env_list(name: str, default: str = "") -> list[str]:
    raw = _raw(name)
    if raw is None:
        raw = default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_pairs(name: str) -> dict[str, str]:
    """Parse ``KEY=value`` pairs separated by commas or whitespace."""
    pairs: dict[str, str] = {}
    for item in (_raw(name) or "").replace(",", " ").split():
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise ImproperlyConfigured(f"{name} must hold KEY=value pairs, not {item!r}")
        pairs[key.strip()] = value.strip()
    return pairs


def main(argv: list[str]) -> int:
    """``python -m exchange_site.env EXAMPLE TARGET``: write the local env file if it is missing."""
    example, target = (Path(arg) for arg in argv)
    if write_local_env(example, target):
        sys.stderr.write(f"wrote {target} for local use (DJANGO_DEBUG=true, a new secret key)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
