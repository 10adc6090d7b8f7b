from django.contrib import admin
from django.urls import include, path

from engine.views import healthz
from market.api import api
from market.views import account_stream

urlpatterns = [
    path("admin/", admin.site.urls),
    path("sources/", include("sources.urls")),
    path("market/", include("market.urls")),
    # Served beside the API (a stream, not a JSON answer), before its routes.
    path("api/accounts/me/stream/", account_stream, name="account-stream"),
    path("api/", api.urls),
    path("healthz", healthz, name="healthz"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("dashboard.urls")),
]
