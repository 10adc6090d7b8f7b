"""ASGI entry point: Django, with the embedded engine started on the first request."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exchange_site.settings")

django_application = get_asgi_application()

from market import redis_listener  # noqa: E402  (needs Django set up)
from market.engine import EngineLauncher  # noqa: E402

# Scaled mode: a Redis restart must not end live delivery for good.
redis_listener.install()

application = EngineLauncher(django_application)
