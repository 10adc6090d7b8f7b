"""``manage.py test`` hands over to pytest, so both commands run one suite.

pytest runs in a fresh interpreter with the test settings (``tests.settings``,
as ``make test`` uses): this process has already loaded the real settings and
the local ``.env``, which must not reach the tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any


class PytestRunner:
    """A Django test runner that runs the pytest suite with the given labels."""

    def __init__(
        self, verbosity: int = 1, failfast: bool = False, keepdb: bool = False, **kwargs: Any
    ) -> None:
        self.verbosity = verbosity
        self.failfast = failfast
        self.keepdb = keepdb

    def run_tests(self, test_labels: list[str], **kwargs: Any) -> int:
        args = list(test_labels)
        if self.verbosity == 0:
            args.append("--quiet")
        elif self.verbosity > 1:
            args.append("-" + "v" * (self.verbosity - 1))
        if self.failfast:
            args.append("--exitfirst")
        if self.keepdb:
            args.append("--reuse-db")
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
        return subprocess.call([sys.executable, "-m", "pytest", *args], env=env)  # noqa: S603
