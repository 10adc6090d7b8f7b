"""The market in Django's admin: accounts to look at, trades strictly read-only.

Balances change only through ``place_order`` (so the audit from trades holds),
tokens only through ``createbot``; the admin shows them and edits neither.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from market.models import Account, IdempotencyKey, Position, Price, Trade


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
    list_display = ["id", "ts", "account", "side", "quantity", "symbol", "price", "notional"]
    list_filter = ["symbol", "side"]
    search_fields = ["account__name"]
    list_select_related = ["account"]
    date_hierarchy = "ts"


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(ReadOnlyAdmin):
    list_display = ["account", "key", "trade", "created_at"]
    search_fields = ["account__name", "key"]
    list_select_related = ["account", "trade"]


@admin.register(Price)
class PriceAdmin(ReadOnlyAdmin):
    list_display = ["symbol", "price", "seq", "ts", "updated_at"]
