from django.urls import path

from dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("", views.index, name="index"),
    path("trade/", views.trade, name="trade"),
    path("trade/account", views.account, name="account"),
    path("trade/orders", views.my_orders, name="orders"),
    path("trade/orders/<int:order_id>/cancel", views.cancel_order, name="cancel"),
    path("trade/orders/cancel-all", views.cancel_all, name="cancel-all"),
    path("trade/history", views.history, name="history"),
    path("trade/token", views.token, name="token"),
    path("accounts/signup/", views.signup, name="signup"),
]
