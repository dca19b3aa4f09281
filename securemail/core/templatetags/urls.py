"""`{% url %}`, with the address of a named route that takes no arguments worked out once.

Every page's menu names some twenty routes; Django's tag resolves each of them again on
every render (about 30 µs each: a sixth of a small page's time). This library is a template
builtin (settings.TEMPLATES), so it replaces the tag everywhere: a literal route name with no
arguments and no `as` is cached per URL configuration, script prefix and instance namespace (as
Django's tag reverses it; all part of the key); anything else is Django's own tag, unchanged.
"""

from typing import Any, override

from django import template
from django.template.base import Parser, Token
from django.template.context import Context
from django.template.defaulttags import URLNode
from django.template.defaulttags import url as django_url
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.html import conditional_escape

register = template.Library()
_known: dict[tuple[Any, str, str | None, str], str] = {}


class FixedURLNode(URLNode):
    def __init__(self, node: URLNode, name: str) -> None:
        super().__init__(node.view_name, node.args, node.kwargs, node.asvar)
        self.name = name

    @override
    def render(self, context: Context) -> str:
        # The instance namespace Django's tag would reverse in (the console's admin site).
        request = getattr(context, "request", None)
        current_app = getattr(request, "current_app", None)
        if current_app is None:
            current_app = getattr(getattr(request, "resolver_match", None), "namespace", None)
        key = (get_urlconf(), get_script_prefix(), current_app, self.name)
        url = _known.get(key)
        if url is None:
            url = _known.setdefault(key, reverse(self.name, current_app=current_app))
        return str(conditional_escape(url)) if context.autoescape else url


@register.tag
def url(parser: Parser, token: Token) -> URLNode:
    node = django_url(parser, token)
    literal = node.view_name.var
    if (
        isinstance(literal, str)
        and not node.view_name.filters
        and not node.args
        and not node.kwargs
        and node.asvar is None
    ):
        return FixedURLNode(node, literal)
    return node
