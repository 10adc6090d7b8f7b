"""Django's ASGI handler with its middleware chain run in sync mode, in one thread hop.

Django's ``ASGIHandler`` loads the middleware in async mode. Our middleware,
like most, is sync only, so Django adapts at each boundary: the chain runs on
a thread, crosses back to the event loop just above the view
(``async_to_sync``), and the sync view then hops to a thread again. Every
request paid four crossings between the loop and a thread where two do.
``SyncChainASGIHandler`` loads the chain in sync mode and calls it once on the
request's thread (``sync_to_async``): middleware and view run there together,
as under WSGI. An async view still works: Django's sync path runs it with
``async_to_sync``.

Streams keep Django's own handler (exchange_site/asgi.py): their views are
async and their bodies are iterated in the loop for hours.
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.base import BaseHandler
from django.http import HttpRequest, HttpResponseBase


class SyncChainASGIHandler(ASGIHandler):
    """``ASGIHandler`` whose middleware chain and view run together on the request's thread."""

    def __init__(self) -> None:
        BaseHandler.__init__(self)
        self.load_middleware(is_async=False)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)
