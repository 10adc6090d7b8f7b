from django.contrib import admin

from sources.models import ClockChange, SourceState


@admin.register(SourceState)
class SourceStateAdmin(admin.ModelAdmin):
    list_display = ["symbol", "seq", "updated_at"]
    readonly_fields = ["symbol", "seq", "walk", "updated_at"]


@admin.register(ClockChange)
class ClockChangeAdmin(admin.ModelAdmin):
    list_display = ["at", "action", "state", "speed", "market_seconds"]
    readonly_fields = ["at", "action", "state", "speed", "market_seconds"]
