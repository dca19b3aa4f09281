"""Form widgets whose markup is written here rather than by Django's widget templates.

Django renders a <select> through a template per option (and another for each option's
attributes): the 30 choices of "Delete for everyone after" were 60 template renders, almost
half the compose page's time (bench/served.py --profile compose). QuickSelect prints the
same markup as Django's Select, every value escaped, from the same context (the same
attributes: required, aria-describedby, aria-invalid; the same options and selection).
Plumbing only: what the choices are is the form's business.
"""

from html import escape
from typing import Any

from django import forms
from django.utils.safestring import SafeString, mark_safe


def _attrs(attrs: dict[str, Any]) -> str:
    """As django/forms/widgets/attrs.html: False is left out, True is the bare name."""
    return "".join(
        f" {escape(str(name))}" if value is True else f' {escape(str(name))}="{escape(str(value))}"'
        for name, value in attrs.items()
        if value is not False
    )


class QuickSelect(forms.Select):
    """forms.Select, its markup written in Python (option groups go to Django's template)."""

    def render(
        self,
        name: str,
        value: Any,
        attrs: dict[str, Any] | None = None,
        renderer: Any = None,
    ) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        groups = widget["optgroups"]
        if any(group_name for group_name, _options, _index in groups):
            return super().render(name, value, attrs, renderer)
        options = "".join(
            f'<option value="{escape(str(option["value"]))}"{_attrs(option["attrs"])}>'
            f"{escape(str(option['label']))}</option>"
            for _group, members, _index in groups
            for option in members
        )
        select_attrs = _attrs(widget["attrs"])
        return mark_safe(  # noqa: S308 (every value above goes through escape())
            f'<select name="{escape(str(widget["name"]))}"{select_attrs}>{options}</select>'
        )
