"""QuickRenderer prints, byte for byte, what Django's widget templates print."""

import datetime

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.safestring import mark_safe

from securemail.core.forms_renderer import QUICK, QuickRenderer

MARKUP = "<b>\"x\"</b> & 'y'"


class Everything(forms.Form):
    name = forms.CharField(max_length=20, help_text="Your name")
    email = forms.EmailField(required=False)
    secret = forms.CharField(widget=forms.PasswordInput(render_value=True))
    token = forms.UUIDField(widget=forms.HiddenInput)
    count = forms.IntegerField(min_value=1, max_value=30)
    day = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    at = forms.TimeField(required=False, widget=forms.TimeInput(attrs={"type": "time"}))
    agree = forms.BooleanField(required=False)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 6, "class": "draftable"}))
    pick = forms.TypedChoiceField(
        coerce=int, choices=[(n, f"{n} days") for n in range(1, 31)], required=False
    )
    tz = forms.ChoiceField(choices=[("", "—"), ("a&b", MARKUP), ("<c>", "C")])
    grouped = forms.ChoiceField(
        choices=[("", "None"), ("Short", [("1", "1 day")]), ("Long", [("30", MARKUP)])]
    )
    many = forms.MultipleChoiceField(choices=[("a", "A"), ("b", "B")], required=False)
    files = forms.FileField(required=False)
    radio = forms.ChoiceField(choices=[("a", "A")], widget=forms.RadioSelect)


CASES = [
    {},  # unbound
    {
        "name": MARKUP,
        "email": "not an address",
        "secret": MARKUP,
        "token": "nope",
        "count": "99",
        "day": "2026-13-40",
        "agree": "on",
        "body": f"{MARKUP}\nsecond line",
        "pick": "7",
        "tz": "a&b",
        "grouped": "30",
        "many": ["a", "b"],
    },
    {"body": "", "pick": "", "tz": "<c>", "grouped": "", "count": "3", "day": "2026-12-24"},
]


@pytest.mark.parametrize("data", CASES)
def test_every_widget_prints_as_djangos_templates_print_it(data: dict) -> None:
    initial = {"name": mark_safe("<i>safe</i>"), "day": datetime.date(2026, 12, 1), "pick": 30}
    ours = Everything(data or None, initial=initial, renderer=QuickRenderer())
    theirs = Everything(data or None, initial=initial, renderer=DjangoTemplates())
    ours.is_valid(), theirs.is_valid()
    for name in Everything.base_fields:
        assert str(ours[name]) == str(theirs[name]), name
    # Markup typed by someone is text, on both.
    assert "<b>" not in "".join(str(ours[name]) for name in ("name", "body", "tz", "grouped"))


def test_the_quick_templates_are_djangos_own_names() -> None:
    # A renamed template in a later Django would silently fall back to the slow path.
    renderer = DjangoTemplates()
    for name in QUICK:
        assert renderer.get_template(name) is not None


def test_the_site_uses_it() -> None:
    from django.forms.renderers import get_default_renderer

    assert isinstance(get_default_renderer(), QuickRenderer)


def test_only_the_other_widgets_reach_djangos_templates() -> None:
    class Counting(QuickRenderer):
        loaded: list[str] = []

        def get_template(self, template_name: str):  # type: ignore[no-untyped-def]
            self.loaded.append(template_name)
            return super().get_template(template_name)

    form = Everything(CASES[1], renderer=Counting())
    form.is_valid()
    for name in Everything.base_fields:
        str(form[name])
    # FileField is a ClearableFileInput; radio buttons are multiple_input.html.
    assert Counting.loaded == [
        "django/forms/widgets/clearable_file_input.html",
        "django/forms/widgets/radio.html",
    ]
