"""Test overrides on top of the real settings."""

import os
import tempfile
from pathlib import Path

# A developer's (or CI's) local .env never changes what the suite sees.
os.environ["EXCHANGE_ENV_FILE"] = ""
os.environ.setdefault("DJANGO_SECRET_KEY", "tests-only-secret-key-that-is-long-enough-1234567890")
os.environ.setdefault("DJANGO_DEBUG", "false")

from exchange_site.settings import *  # noqa: F403

# Unit tests never run the engine: nothing is served in-process.
EXCHANGE_ENGINE = "off"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Local state (runbot's kept tokens) never lands in the checkout; tests use their own.
EXCHANGE_STATE_DIR = Path(tempfile.gettempdir()) / f"exchange-tests-state-{os.getpid()}"
# A history point after every change: tests check them, and account ids repeat across tests' databases.
EXCHANGE_HISTORY_INTERVAL = 0.0
