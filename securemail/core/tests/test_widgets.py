"""QuickSelect prints what Django's Select prints (its templates), value for value."""

import re

import pytest
from django import forms

from securemail.core.widgets import QuickSelect

CHOICES = [
    ("", "—"),
    ("1", "1 day"),
    ("7", "A week <b>\"bold\"</b> & 'more'"),
    ('x"><script>', "<script>alert(1)</script>"),
]


def _normal(html: str) -> str:
    return re.sub(r">\s+<", "><", str(html)).strip()


def _form(widget: type[forms.Select], **field: object) -> type[forms.Form]:
    class Form(forms.Form):
        days = forms.ChoiceField(choices=CHOICES, widget=widget, **field)  # type: ignore[arg-type]

    return Form


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (None, {}),
        ({"days": "7"}, {}),
        ({"days": "nope"}, {"help_text": "At most 30 days."}),
        (None, {"required": False, "help_text": "Help"}),
        ({"days": 'x"><script>'}, {}),
    ],
)
def test_quick_select_prints_djangos_select(data: dict[str, str] | None, field: dict) -> None:
    ours = _form(QuickSelect, **field)(data)
    django = _form(forms.Select, **field)(data)
    ours.is_valid(), django.is_valid()
    assert _normal(str(ours["days"])) == _normal(str(django["days"]))
    assert "<script>" not in str(ours["days"])


def test_quick_select_with_initial_selects_it_and_keeps_attributes() -> None:
    class Form(forms.Form):
        days = forms.ChoiceField(
            choices=CHOICES, widget=QuickSelect(attrs={"class": "pick", "disabled": True})
        )

    html = str(Form(initial={"days": "1"})["days"])
    assert '<option value="1" selected>1 day</option>' in html
    assert html.startswith('<select name="days" class="pick" disabled required id="id_days">')


def test_option_groups_are_printed_by_djangos_template() -> None:
    class Form(forms.Form):
        days = forms.ChoiceField(
            choices=[("Short", [("1", "1 day")]), ("Long", [("30", "30 days")])],
            widget=QuickSelect,
        )

    html = str(Form()["days"])
    assert '<optgroup label="Short">' in html
    assert '<option value="30">30 days</option>' in html
