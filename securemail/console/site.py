"""The operators' console: Django's admin, read-only, on a site of its own.

Who gets in: operators only (accounts.access.is_operator). Nobody logged in is sent to the
login page; anyone else logged in gets the site's ordinary 404 from every console URL, so a
practice user can't even tell that the console is there.

What it shows: only the fields each page names. A page can't name a field in NEVER_SHOWN,
a binary field (sealed content, wrapped keys) or a JSON field (the wizard's answers, audit
data), nor register a model of the messaging app or a verification code: the site refuses
such a page as it is registered, so the process does not start. URL lookups are limited to
the page's own filters (Django's admin would otherwise let `?password__startswith=` or
`?token_hash__startswith=` probe any column, one character at a time).

It writes nothing itself: no add, change or delete. Its actions (unlock, re-send) ask for
confirmation, then call the domain's operator services, which authorize, write and audit.
"""

from collections.abc import Callable, Iterable, Sequence
from functools import update_wrapper
from typing import TYPE_CHECKING, Any, ClassVar, cast, override

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import LogEntry
from django.contrib.admin.options import ActionLocation
from django.contrib.admin.utils import flatten
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import (
    BadRequest,
    FieldDoesNotExist,
    ImproperlyConfigured,
    ValidationError,
)
from django.db import models
from django.db.models.query import QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
)
from django.template.response import TemplateResponse
from django.urls import reverse

from securemail.accounts.access import is_operator
from securemail.accounts.models import User
from securemail.console import services

# Names no console page may show, search or filter on, whatever the model: credentials,
# tokens and codes (even hashed), sealed content and its keys, the wizard's answers, audit
# entries' data.
NEVER_SHOWN = frozenset(
    {
        "password",
        "token_hash",
        "code_hash",
        "wizard_data",
        "wrapped_key",
        "sealed_payload",
        "subject_sealed",
        "body_sealed",
        "name_sealed",
        "payload_sealed",
        "data",
    }
)
# And a person's private details, by model: a practice's phone is public, a person's is not
# (a page may show a masked number, through a display method of its own).
PRIVATE = {
    "accounts.user": frozenset({"phone", "office_phone", "signature"}),
    "notifications.outboxtext": frozenset({"to_phone"}),
}
# Never registered at all: messages, their mailboxes, files and drafts; verification codes.
NEVER_REGISTERED_APPS = frozenset({"messaging"})
NEVER_REGISTERED_MODELS = frozenset({"onboarding.phoneverification"})
# An action runs on at most this many rows at once (its confirmation page lists them all).
MOST_ROWS_PER_ACTION = 100
# Lookups a filter of the page's own may add after its field's name (`status__exact`,
# `practice__id__exact`, `created_at__gte`): never a further field.
FILTER_LOOKUPS = frozenset({"exact", "iexact", "isnull", "in", "gt", "gte", "lt", "lte", "id"})
BOTH_PLACES = [ActionLocation.CHANGE_LIST, ActionLocation.CHANGE_FORM]


if TYPE_CHECKING:
    _Page = admin.ModelAdmin[Any]
else:
    # ModelAdmin takes no type argument at run time.
    _Page = admin.ModelAdmin


class ConsolePage(_Page):
    """A read-only page of the console for one model. A subclass names what it shows:
    `fields` (the detail page, all read-only), `list_display`, `search_fields`,
    `list_filter`, and in `console_lookups` any other URL filter it links to."""

    console_lookups: ClassVar[Sequence[str]] = ()
    actions: Any = ()
    show_full_result_count = False
    list_per_page = 50

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Everything the detail page shows is read-only (display methods included).
        if cls.fields is not None:
            cls.readonly_fields = tuple(flatten(cls.fields))

    # --- who may do what: operators view; nobody adds, changes or deletes ------------------

    @override
    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_operator(request.user)

    @override
    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_operator(request.user)

    def has_operate_permission(self, request: HttpRequest) -> bool:
        """May run this page's actions (they call operator services, which check again)."""
        return is_operator(request.user)

    @override
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @override
    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @override
    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @override
    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        raise Http404

    @override
    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        raise Http404

    # --- reading -------------------------------------------------------------------------

    @override
    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> Any:
        # Django's admin answers an unknown id with a redirect and a message; the console
        # answers 404, as the rest of the product does.
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404
        return obj

    @override
    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200:
            assert isinstance(request.user, User)
            services.record_view(
                operator=request.user, target=f"{self.opts.model_name}:{object_id}"
            )
        return response

    @override
    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest) -> bool:
        for allowed in self._filter_paths():
            if lookup == allowed:
                return True
            if lookup.startswith(f"{allowed}__"):
                rest = lookup.removeprefix(f"{allowed}__").split("__")
                return all(part in FILTER_LOOKUPS for part in rest)
        return False

    def _filter_paths(self) -> list[str]:
        return [*self.console_lookups, *filter_paths(self)]

    # --- actions: confirm, then call the operator service for each row ------------------

    @override
    def response_action(
        self,
        request: HttpRequest,
        queryset: QuerySet[Any],
        action_location: ActionLocation = ActionLocation.CHANGE_LIST,
    ) -> HttpResponse | None:
        # Django would pass an id that isn't one straight to the database (a 500).
        for value in request.POST.getlist(ACTION_CHECKBOX_NAME):
            try:
                self.opts.pk.to_python(value)
            except ValidationError:
                raise BadRequest("Not an id.") from None
        return super().response_action(request, queryset, action_location)

    def confirm_then(
        self,
        request: HttpRequest,
        queryset: QuerySet[Any],
        *,
        action: str,
        question: str,
        button: str,
        describe: Callable[[Any], str],
        act: Callable[[Any], None],
    ) -> HttpResponse | None:
        """An action's two steps: a page listing the rows and asking `question`, then (its
        POST, with `confirmed`) `act` on each row. Returns the page, or None once done
        (Django's admin then goes back to the list)."""
        rows = list(queryset[: MOST_ROWS_PER_ACTION + 1])
        if len(rows) > MOST_ROWS_PER_ACTION:
            self.message_user(
                request, f"Choose at most {MOST_ROWS_PER_ACTION} at a time.", level="warning"
            )
            return None
        if not rows:
            raise Http404
        if request.POST.get("confirmed") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "title": question,
                "opts": self.opts,
                "rows": [(row.pk, describe(row)) for row in rows],
                "action": action,
                "button": button,
                "changelist_url": reverse(
                    f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_changelist"
                ),
            }
            return TemplateResponse(request, "console/confirm_action.html", context)
        for row in rows:
            act(row)
        return None


class ConsoleSite(admin.AdminSite):
    site_header = "SecureMail operators' console"
    site_title = "SecureMail console"
    index_title = "Support"
    index_template = "console/index.html"
    # No "View site": the product's pages are not for operators.
    site_url = None
    final_catch_all_view = True

    @override
    def register(
        self,
        model_or_iterable: type[models.Model] | Iterable[type[models.Model]],
        admin_class: type[_Page] | None = None,
        **options: Any,
    ) -> None:
        super().register(model_or_iterable, admin_class, **options)
        models_ = [model_or_iterable] if isinstance(model_or_iterable, type) else model_or_iterable
        for model in models_:
            refusal = _refusal(model, self._registry[model])
            if refusal:
                self.unregister(model)
                raise ImproperlyConfigured(f"Console page for {model._meta.label}: {refusal}")

    @override
    def has_permission(self, request: HttpRequest) -> bool:
        return is_operator(request.user)

    @override
    def admin_view[View: Callable[..., HttpResponseBase]](
        self, view: View, cacheable: bool = False
    ) -> View:
        admin_view = super().admin_view(view, cacheable)

        # Around Django's own check (which would send a practice user to a login page).
        def operators_only(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
            if not is_operator(request.user):
                raise Http404
            return admin_view(request, *args, **kwargs)

        return cast(View, update_wrapper(operators_only, admin_view))

    @override
    def login(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """Everyone logs in on the product's login page (rate limited, counts wrong
        passwords, audited); this URL only sends people there."""
        if is_operator(request.user):
            return HttpResponseRedirect(reverse(f"{self.name}:index"))
        if request.user.is_authenticated:
            raise Http404
        return redirect_to_login(reverse(f"{self.name}:index"), settings.LOGIN_URL)

    @override
    def password_change(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> TemplateResponse:
        # Passwords change through the set-password link ("Forgot your password?"), whose
        # service checks the operator's longer minimum.
        raise Http404

    @override
    def password_change_done(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> TemplateResponse:
        raise Http404

    @override
    def get_log_entries(self, request: HttpRequest) -> QuerySet[LogEntry]:
        # The console changes nothing through Django's admin; its actions are audited.
        return LogEntry.objects.none()


def filter_paths(page: _Page) -> list[str]:
    """The field paths (and filter parameters) of a page's list filters."""
    found = []
    for item in page.list_filter:
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, (tuple, list)):
            found.append(str(item[0]))
        elif isinstance(item, type) and issubclass(item, admin.SimpleListFilter):
            found.append(str(item.parameter_name))
    return found


def _refusal(model: type[models.Model], page: _Page) -> str:
    """Why a page may not be in the console ("" when it may)."""
    opts = model._meta
    if opts.app_label in NEVER_REGISTERED_APPS or opts.label_lower in NEVER_REGISTERED_MODELS:
        return "this model is never shown in the console"
    if not page.fields:
        return "a page names its fields (Django's default is every field)"
    if page.exclude:
        return "a page names the fields it shows, never the ones it hides"
    named = [
        *page.fields,
        *page.list_display,
        *page.search_fields,
        *(page.list_display_links or ()),
        *getattr(page, "console_lookups", ()),
        *filter_paths(page),
    ]
    for name in named:
        if not isinstance(name, str):
            continue
        problem = _field_path_problem(model, name.lstrip("^=@"))
        if problem:
            return f"{name!r}: {problem}"
    return ""


def _field_path_problem(model: type[models.Model], name: str) -> str:
    current: type[models.Model] | None = model
    for part in name.split("__"):
        if part in NEVER_SHOWN:
            return "never shown in the console"
        if current is None:
            break
        if part in PRIVATE.get(current._meta.label_lower, ()):
            return "a person's private details are never shown in the console"
        try:
            field = current._meta.get_field(part)
        except FieldDoesNotExist:
            # Not a field (a display method of the page, or a lookup): nothing to check.
            break
        if isinstance(field, (models.BinaryField, models.JSONField)):
            return "sealed, binary and JSON fields are never shown in the console"
        current = field.related_model if field.is_relation else None
    return ""


console_site = ConsoleSite(name="console")
console_site.disable_action("delete_selected")
