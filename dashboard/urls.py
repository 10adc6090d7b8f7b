from django.urls import path

from dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("", views.index, name="index"),
    path("trade/", views.trade, name="trade"),
    path("accounts/signup/", views.signup, name="signup"),
]
