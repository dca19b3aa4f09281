"""The audit log in the console: which event, when, by whom, on what (ids). Never an
entry's `data`."""

from django.contrib import admin

from securemail.audit.models import AuditEvent
from securemail.console.site import ConsolePage, console_site


@admin.register(AuditEvent, site=console_site)
class AuditEventPage(ConsolePage):
    list_display = ("created_at", "event", "actor", "practice_id", "target")
    list_filter = ("event",)
    search_fields = ("=target",)
    list_select_related = ("actor",)
    ordering = ("-id",)
    fields = ("id", "created_at", "event", "actor", "practice_id", "target", "entry_hash")
