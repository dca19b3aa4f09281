"""The `{% url %}` builtin gives every page the same links as Django's tag, including under
another script prefix (a deployment below a path) and with arguments."""

import uuid

import pytest
from django.template import Context, RequestContext, Template
from django.test import RequestFactory
from django.urls import clear_script_prefix, reverse, set_script_prefix

from securemail.core.templatetags.urls import FixedURLNode


def render(text: str, **context: object) -> str:
    return Template(text).render(Context(context))


def test_an_argument_less_route_links_where_django_links() -> None:
    assert render("{% url 'messaging:inbox' %}|{% url 'accounts:login' %}") == (
        f"{reverse('messaging:inbox')}|{reverse('accounts:login')}"
    )
    node = Template("{% url 'messaging:inbox' %}").nodelist[0]
    assert isinstance(node, FixedURLNode)


def test_a_deployment_below_a_path_gets_its_own_links() -> None:
    assert render("{% url 'messaging:inbox' %}") == "/"
    set_script_prefix("/portal/")
    try:
        assert render("{% url 'messaging:inbox' %}") == "/portal/"
        assert render("{% url 'contacts:list' %}") == "/portal" + reverse("contacts:list")[7:]
    finally:
        clear_script_prefix()
    assert render("{% url 'messaging:inbox' %}") == "/"


def test_routes_with_arguments_variables_and_as_are_djangos() -> None:
    message_id = uuid.uuid4()
    text = (
        "{% url 'messaging:message' message_id=m %}|{% url name %}"
        "|{% url 'messaging:inbox' as x %}[{{ x }}]"
    )
    assert render(text, m=message_id, name="messaging:sent") == (
        f"{reverse('messaging:message', kwargs={'message_id': message_id})}"
        f"|{reverse('messaging:sent')}|[{reverse('messaging:inbox')}]"
    )
    template = Template("{% url name %}")
    assert not isinstance(template.nodelist[0], FixedURLNode)


def test_an_unknown_route_still_fails_loudly() -> None:
    from django.urls import NoReverseMatch

    with pytest.raises(NoReverseMatch):
        render("{% url 'messaging:nowhere' %}")


def test_the_console_links_inside_its_own_admin_site(rf: RequestFactory) -> None:
    # The console is Django's admin on a site named "console": its templates reverse
    # "admin:…" in the request's instance namespace, as Django's tag does.
    request = rf.get("/")
    request.current_app = "console"
    out = Template("{% url 'admin:index' %}").render(RequestContext(request))
    assert out == reverse("console:index")
