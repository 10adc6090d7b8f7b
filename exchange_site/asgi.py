"""ASGI entry point: Django, with the embedded engine started on the first request."""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exchange_site.settings")

django_application = get_asgi_application()

from engine.launcher import EngineLauncher  # noqa: E402  (needs Django set up)
from market.fault_injection import LoseAnswers  # noqa: E402
from streams.admission import StreamAdmission  # noqa: E402
from streams.shutdown import EndStreamsOnShutdown  # noqa: E402
from web.request_lanes import RequestLanes  # noqa: E402
from web.request_limits import RequestLimits  # noqa: E402
from web.sync_handler import SyncChainASGIHandler  # noqa: E402

# Fewer garbage collections: with hundreds of open streams CPython's default
# thresholds make a full collection pause every stream about once a second.
# Measured with benchmarks/fanout.py at 1,000 clients: p99 367 ms -> 171 ms.
gc.set_threshold(100_000, 50, 100)

# Outermost first: an answer lost by an injected fault is dropped at the server's own connection;
# on SIGINT/SIGTERM the engine is asked to stop, then open streams end, then the server's own
# handler runs; request limits apply before Django reads a body; streams run on a few shared
# threads and are counted against their limits (streams.admission); every other request runs
# on a kept thread lent to it alone (web.request_lanes).
application = LoseAnswers(
    EndStreamsOnShutdown(
        EngineLauncher(
            RequestLimits(StreamAdmission(RequestLanes(django_application, SyncChainASGIHandler())))
        )
    )
)
