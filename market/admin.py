"""The market in Django's admin: accounts to look at, trades strictly read-only.

Balances change only through the order services (so the audit from trades holds),
tokens only through ``createbot``; the admin shows them and edits neither.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from market.models import Account, Book, IdempotencyKey, Order, Position, Price, Trade


class ReadOnlyAdmin(admin.ModelAdmin):
    """Viewable, never added, changed or deleted from the admin."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PositionInline(admin.TabularInline):
    model = Position
    fields = ["symbol", "quantity"]
    readonly_fields = ["symbol", "quantity"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ["name", "cash", "starting_cash", "is_house", "user", "token_issued_at", "created_at"]
    list_filter = ["is_house"]
    search_fields = ["name"]
    exclude = ["token_hash"]
    inlines = [PositionInline]


@admin.register(Trade)
class TradeAdmin(ReadOnlyAdmin):
    list_display = ["id", "ts", "symbol", "quantity", "price", "buyer", "seller", "taker_side", "notional"]
    list_filter = ["symbol", "taker_side"]
    search_fields = ["buyer__name", "seller__name"]
    list_select_related = ["buyer", "seller"]
    date_hierarchy = "ts"


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(ReadOnlyAdmin):
    list_display = ["account", "key", "order", "created_at"]
    search_fields = ["account__name", "key"]
    list_select_related = ["account", "order"]


@admin.register(Price)
class PriceAdmin(ReadOnlyAdmin):
    list_display = ["symbol", "price", "seq", "ts", "updated_at"]


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "created_at",
        "account",
        "symbol",
        "side",
        "type",
        "quantity",
        "limit_price",
        "status",
    ]
    list_filter = ["symbol", "status", "type", "side"]
    search_fields = ["account__name"]
    list_select_related = ["account"]


@admin.register(Book)
class BookAdmin(ReadOnlyAdmin):
    list_display = ["symbol", "seq", "bid", "ask", "bid_depth", "ask_depth"]
