from django.urls import path

from market import views

app_name = "market"

urlpatterns = [
    path("stream/", views.market_stream, name="stream"),
]
