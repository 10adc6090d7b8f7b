"""Keep django-eventstream's Redis fan-out alive across Redis restarts.

With ``EVENTSTREAM_REDIS`` set (the scaled mode), django-eventstream 5.3.4
publishes every event to one Redis Pub/Sub channel, and each serving process
runs a single subscriber task that wakes its local stream listeners. Two
failures of the library make a Redis restart lose events for good:

- the subscriber task ends on the first connection error and is never started
  again, so the process delivers nothing live until it restarts;
- ``send_event`` raises when Redis is down, after the event is stored but before
  it is published through Pushpin, so a ticker or an order's commit hook fails
  and live clients see nothing.

``supervise_redis`` replaces both pieces: a subscriber that reconnects with capped
backoff, and a publisher that logs a failed publish instead of raising (the
event is already stored, and Pushpin still gets it). Whatever did not arrive
live is then recovered from storage: after every (re)subscription, and
whenever the ids of a channel jump, each local listener re-reads the stored
events from its own cursor, which is django-eventstream's own overflow path.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import threading
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)

# The Pub/Sub channel django-eventstream 5.3.4 publishes on.
PUBSUB_CHANNEL = "events_channel"
# Seconds between PINGs on an idle subscription, so a dead link is noticed.
HEALTH_CHECK_INTERVAL = 5
# Bounds for a synchronous publish, so a hung Redis cannot stall a ticker.
PUBLISH_TIMEOUT = 2.0


def retry_delay(attempt: int, *, initial: float = 0.1, cap: float = 5.0) -> float:
    """Capped exponential backoff with jitter: 0.1 s, 0.2 s, ... up to ``cap``."""
    ceiling = min(cap, initial * (2**attempt))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


class TolerantPublisher:
    """Stands in for django-eventstream's Redis client in ``send_event``.

    A failed publish is logged, once per outage, instead of raised: the event
    is already in storage, so clients recover it by their cursor, and
    ``send_event`` goes on to publish it through Pushpin.
    """

    def __init__(self, client: Any) -> None:
        self.client = client
        self.failures = 0
        self._lock = threading.Lock()
        self._failing = False

    def publish(self, channel: str, message: str) -> int:
        import redis

        try:
            receivers = int(self.client.publish(channel, message))
        except (redis.RedisError, OSError) as exc:
            with self._lock:
                self.failures += 1
                first = not self._failing
                self._failing = True
            if first:
                logger.warning("cannot publish to Redis (%s); events stay stored for recovery", exc)
            return 0
        if self._failing:
            with self._lock:
                self._failing = False
            logger.info("publishing to Redis again")
        return receivers


class SupervisedRedisListener:
    """The serving process's Redis subscriber, restarted whenever it fails.

    ``start`` is what django-eventstream's ``ListenerManager`` runs as a task
    on the first stream request; it returns only when cancelled.
    """

    def __init__(self, manager: Any, connection: dict[str, Any]) -> None:
        self.manager = manager
        self.connection = connection
        self.subscriptions = 0
        self.resyncs = 0
        # Highest id seen per channel on the current subscription.
        self.last_ids: dict[str, int] = {}

    async def start(self) -> None:
        from redis.asyncio import Redis

        attempt = 0
        while True:
            delay = 0.0
            client = Redis(**self.connection, health_check_interval=HEALTH_CHECK_INTERVAL)
            pubsub = client.pubsub()
            try:
                await pubsub.subscribe(PUBSUB_CHANNEL)
                self.subscriptions += 1
                if self.subscriptions > 1:
                    logger.info("Redis subscriber reconnected; listeners re-read what they missed")
                attempt = 0
                self.last_ids.clear()
                # Whatever was published while we were not subscribed (or in
                # the instant before the first subscription) is in storage.
                self.resync(None)
                while True:
                    message = await pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=HEALTH_CHECK_INTERVAL
                    )
                    if message is not None and message.get("type") == "message":
                        self.dispatch(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                delay = retry_delay(attempt)
                attempt += 1
                logger.warning("Redis subscriber lost (%s); reconnecting in %.1fs", exc, delay)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                with contextlib.suppress(Exception):
                    await client.aclose()
            await asyncio.sleep(delay)

    def dispatch(self, raw: bytes | str) -> None:
        """Queue one published event for the local listeners of its channel."""
        from django_eventstream.event import Event

        try:
            message = json.loads(raw)
            channel = message["channel"]
            pub_id = message.get("pub_id")
            event = Event(channel, message["event_type"], message["data"], id=pub_id)
        except (ValueError, KeyError, TypeError) as exc:
            logger.warning("ignoring a malformed Redis event (%s)", exc)
            return
        if pub_id is not None:
            current = int(pub_id)
            previous = self.last_ids.get(channel)
            if previous is not None and current <= previous:
                # Late: an id is taken only once the one before it is stored,
                # so the re-read that followed the jump to ``previous``
                # already delivered this event.
                return
            self.last_ids[channel] = current
            if previous is not None and current > previous + 1:
                # Events of this channel did not come through Redis (a failed
                # publish, or publishers racing). They are stored: the re-read
                # delivers them, and this one.
                self.resync(channel)
                return
        self.queue(channel, event)

    def queue(self, channel: str, event: Any) -> None:
        """django-eventstream's ``add_to_queues``, except for listeners due to re-read.

        A listener delivers what is queued before it re-reads storage, so an
        event queued after a missed one would reach its client ahead of the
        re-read and look like a gap; the re-read delivers it in order anyway.
        """
        from django_eventstream.views import MAX_PENDING

        manager = self.manager
        wake = []
        with manager.lock:
            for listener in manager.listeners_by_channel.get(channel, ()):
                if listener.overflow:
                    continue
                items = listener.channel_items.setdefault(channel, [])
                if len(items) < MAX_PENDING:
                    items.append(event)
                    wake.append(listener)
                else:
                    # The library's own overflow: the listener re-reads storage.
                    listener.overflow = True
        for listener in wake:
            listener.wake_threadsafe()

    def resync(self, channel: str | None) -> None:
        """Make local listeners (of ``channel``, or all) re-read storage from their cursor."""
        manager = self.manager
        with manager.lock:
            if channel is None:
                listeners = {
                    listener for group in manager.listeners_by_channel.values() for listener in group
                }
            else:
                listeners = set(manager.listeners_by_channel.get(channel, ()))
            for listener in listeners:
                # Drop what is queued: the re-read from the listener's cursor
                # delivers it, in order.
                listener.channel_items = {}
                listener.overflow = True
            self.resyncs += 1
        for listener in listeners:
            if listener.loop is not None:
                listener.wake_threadsafe()


_installed = threading.Lock()


def supervise_redis() -> None:
    """Supervise this process's Redis subscriber and make publishing tolerant.

    Does nothing unless ``EVENTSTREAM_REDIS`` is set; safe to call more than
    once. Call it before the process serves its first stream (``streams.install``
    does, when the app registry is ready): it opens no connection and starts
    nothing, the subscriber runs only once a stream is served.
    """
    connection = getattr(settings, "EVENTSTREAM_REDIS", None)
    if not connection:
        return
    import redis
    from django_eventstream import eventstream, views

    with _installed:
        if not isinstance(eventstream.redis_client, TolerantPublisher):
            eventstream.redis_client = TolerantPublisher(
                redis.Redis(
                    **connection, socket_timeout=PUBLISH_TIMEOUT, socket_connect_timeout=PUBLISH_TIMEOUT
                )
            )
        manager = views.get_listener_manager()
        if not isinstance(manager.redis_listener, SupervisedRedisListener):
            manager.redis_listener = SupervisedRedisListener(manager, dict(connection))
