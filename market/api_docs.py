"""The API's browsable docs (``/api/docs``): Swagger UI that works offline.

django-ninja's own renderer loads Swagger UI from a CDN unless ``ninja`` is an
installed app; this one serves the pinned ``swagger-ui-dist`` npm package
(``package.json``, installed by ``make install``) as static files, like the
dashboard's chart library, so the page needs no other origin.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from ninja.openapi.docs import Swagger

if TYPE_CHECKING:
    from ninja import NinjaAPI


class OfflineSwagger(Swagger):
    """Swagger UI from this server's own static files (``vendor/swagger-ui``)."""

    template = "api/docs.html"
    # No validator badge: Swagger UI would otherwise fetch it from validator.swagger.io.
    default_settings = {**Swagger.default_settings, "validatorUrl": None}

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        docs_settings = {**self.settings, "url": self.get_openapi_url(api, kwargs)}
        # "</" never appears inside the <script type="application/json"> block.
        encoded = json.dumps(docs_settings).replace("</", "<\\/")
        return render(request, self.template, {"api": api, "swagger_settings": encoded})
