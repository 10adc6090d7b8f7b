#!/usr/bin/env python
"""Django's command-line utility for the exchange."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exchange_site.settings")
    if sys.argv[1:2] == ["runserver"]:
        # The development server is for local use: it asks for DEBUG (and with
        # it a throwaway secret key) unless the environment says otherwise.
        os.environ.setdefault("DJANGO_DEBUG", "true")
    try:
        from django.core.management import execute_from_command_line
    except ModuleNotFoundError as exc:
        # A Python without the project's packages (outside the virtualenv): one line, not a traceback.
        sys.exit(
            f"manage.py: {exc.name} is not installed for {sys.executable}; "
            "run `make install`, then `source .venv/bin/activate` (or use .venv/bin/python)."
        )

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
