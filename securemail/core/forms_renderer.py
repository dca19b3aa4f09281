"""The form renderer (settings.FORM_RENDERER): Django's, with the markup of the commonest
widgets written in Python.

Django renders every widget through templates: an <input> is two (its own and the
attributes'), a <select> two more per option. On this project's pages those renders were
the largest part of a form's cost (the compose page's 30 expiry choices were 60 template
renders, almost half its time; the conversation page's reply and expiry fields a tenth,
bench/served.py --profile). QuickRenderer prints exactly what Django's templates print for
<input> (text, email, password, hidden, number, date, time, checkbox...), <textarea> and
<select> (option groups included), from the same widget context, escaped the same way;
every other template (radio buttons, file inputs, whole forms) goes to Django's templates.
A test compares the two renderers' output byte for byte.
"""

from collections.abc import Callable
from typing import Any

from django.forms.renderers import DjangoTemplates
from django.utils.formats import localize
from django.utils.html import conditional_escape
from django.utils.safestring import SafeData

WIDGETS = "django/forms/widgets/"


def _text(value: Any) -> str:
    """`{{ value }}` in a template: localized if not a string, escaped unless safe."""
    if not isinstance(value, str):
        value = localize(value)
    return str(conditional_escape(value))


def _formatted(value: Any) -> str:
    """`{{ value|stringformat:'s' }}`: "%s" of it, escaped unless it was safe."""
    text = "%s" % (value,)  # noqa: UP031 (what the filter does, tuples included)
    return text if isinstance(value, SafeData) else str(conditional_escape(text))


def _attrs(attrs: dict[str, Any]) -> str:
    """attrs.html: False is left out, True is the bare name."""
    return "".join(
        f" {_text(name)}" if value is True else f' {_text(name)}="{_formatted(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


def _input(widget: dict[str, Any]) -> str:
    value = widget["value"]
    shown = "" if value is None else f' value="{_formatted(value)}"'
    return (
        f'<input type="{_text(widget["type"])}" name="{_text(widget["name"])}"'
        f"{shown}{_attrs(widget['attrs'])}>"
    )


def _textarea(widget: dict[str, Any]) -> str:
    value = widget["value"]
    return (
        f'<textarea name="{_text(widget["name"])}"{_attrs(widget["attrs"])}>\n'
        f"{_text(value) if value else ''}</textarea>"
    )


def _option(option: dict[str, Any]) -> str:
    return (
        f'<option value="{_formatted(option["value"])}"{_attrs(option["attrs"])}>'
        f"{_text(option['label'])}</option>\n"
    )


def _select(widget: dict[str, Any]) -> str:
    parts = [f'<select name="{_text(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, options, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{_text(group_name)}">')
        for option in options:
            if option.get("template_name") != f"{WIDGETS}select_option.html":
                raise _Unknown
            parts.append(f"\n  {_option(option)}")
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return "".join(parts)


class _Unknown(Exception):
    """A context this module doesn't print (Django's template does)."""


_INPUTS = (
    *("input", "checkbox", "color", "date", "datetime", "email", "file", "hidden"),
    *("number", "password", "search", "tel", "text", "time", "url"),
)
QUICK: dict[str, Callable[[dict[str, Any]], str]] = {
    **{f"{WIDGETS}{name}.html": _input for name in _INPUTS},
    f"{WIDGETS}textarea.html": _textarea,
    f"{WIDGETS}select.html": _select,
}


class QuickRenderer(DjangoTemplates):
    def render(self, template_name: str, context: dict[str, Any], request: Any = None) -> str:
        quick = QUICK.get(template_name)
        widget = context.get("widget")
        if quick is not None and isinstance(widget, dict):
            try:
                return quick(widget).strip()
            except _Unknown:
                pass
        return str(super().render(template_name, context, request))
