from django.contrib import admin
from django.urls import include, path

from engine.views import healthz
from market.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("sources/", include("sources.urls")),
    path("market/", include("market.urls")),
    path("api/", api.urls),
    path("healthz", healthz, name="healthz"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("dashboard.urls")),
]
