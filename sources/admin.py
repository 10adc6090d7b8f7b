from django.contrib import admin

from sources.models import SourceState


@admin.register(SourceState)
class SourceStateAdmin(admin.ModelAdmin):
    list_display = ["symbol", "seq", "updated_at"]
    readonly_fields = ["symbol", "seq", "walk", "updated_at"]
