"""The stream plumbing of every app, at the bottom of the layering.

- ``serving``: the stream views' loop, on django-eventstream's storage and listeners;
- ``admission``: streams on a few shared threads, and the limits on how many are open;
- ``cursors``: a client's Last-Event-ID, checked before its stream starts;
- ``publishing``: store an event in the current transaction, announce it on commit;
- ``redis_supervision``: the scaled mode's Redis fan-out, kept alive across restarts;
- ``storage``: the stored events (reading them back, trimming them);
- ``encoding``: events in SSE format, a live event encoded once for all its clients;
- ``client``: the resilient SSE client of the market's feeds and the bots;
- ``shutdown``: ending open streams cleanly when the server is asked to stop.

Every import of django-eventstream's internals lives in this package; other
apps use only its public ``send_event`` and ``get_current_event_id``. The
library's defects that the corrections work around are listed in
``docs/streams.md``; ``streams.checks`` refuses another version of the library.
"""

from __future__ import annotations


def install() -> None:
    """Apply every correction to django-eventstream in this process (idempotent).

    Called once the app registry is ready (``StreamsConfig.ready``): it patches
    functions and objects, and starts no thread and opens no connection.
    """
    from streams.redis_supervision import supervise_redis
    from streams.serving import correct_stream_reads

    correct_stream_reads()
    supervise_redis()
