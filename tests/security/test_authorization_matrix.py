# ruff: noqa: E501 (MATRIX's lines are as wide as its longest route)
"""Issue 9: the authorization matrix. Every URL of the product, walked from the URL
configuration (django.urls.get_resolver), by every persona, with the status each must get.

The expectations are one table, `MATRIX`, one line per URL pattern and method (GET, POST:
an empty form). A URL added without a
line fails `test_every_url_has_a_line_in_the_matrix` (and a line whose URL is gone fails it
too); a status that changes fails `test_each_persona_gets_the_expected_status`. Path
parameters are filled with real objects owned by the world below (`FILLERS`, by parameter
name): a new parameter name needs a filler.

To add a URL: run the tests, read the failure (it prints the line each persona got now),
check every status is what the page must answer, and paste the line into MATRIX.

Statuses: 302 for anonymous visitors is the login redirect; 404 is "out of reach" (another
practice's message, a practice user in the console, an operator outside it); 403 is "yours
to see but not to do" (the plan rule, the practice manager's rule); 405 a wrong method.
Each request runs in a savepoint rolled back afterwards, so one persona's POST (a delete)
never changes what the next one meets.
"""

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from securemail.accounts import services as account_services
from securemail.accounts.models import Passkey, Practice, User
from securemail.accounts.tests.twostep import turn_on_app
from securemail.billing.models import Subscription
from securemail.billing.tests.helpers import buy
from securemail.contacts import services as contacts
from securemail.contacts.details import Details
from securemail.contacts.models import Contact
from securemail.messaging import services as messaging
from securemail.messaging.models import Attachment
from securemail.messaging.tests.helpers import send_with_files
from securemail.onboarding import services as onboarding
from securemail.onboarding.models import RecipientRole
from securemail.onboarding.tests.helpers import MAILBOX

pytestmark = pytest.mark.django_db

PERSONAS = [
    "anonymous",
    "patient",
    "free_doctor",
    "paid_doctor",
    "staff",
    "manager",
    "other_practice",
    "operator",
]

# route (as the URL configuration writes it), method, then one status per persona in the
# order of PERSONAS. Sorted by area; keep the columns aligned.
MATRIX = """
# route                                                             meth anon pat fdoc pdoc stf mgr oth op
/console/                                                           GET  302 404 404 404 404 404 404 200
/console/                                                           POST 302 404 404 404 404 404 404 200
/console/login/                                                     GET  302 404 404 404 404 404 404 302
/console/login/                                                     POST 302 404 404 404 404 404 404 302
/console/logout/                                                    GET  302 404 404 404 404 404 404 405
/console/logout/                                                    POST 302 404 404 404 404 404 404 302
/console/password_change/                                           GET  302 404 404 404 404 404 404 404
/console/password_change/                                           POST 302 404 404 404 404 404 404 404
/console/password_change/done/                                      GET  302 404 404 404 404 404 404 404
/console/password_change/done/                                      POST 302 404 404 404 404 404 404 404
/console/autocomplete/                                              GET  302 404 404 404 404 404 404 403
/console/autocomplete/                                              POST 302 404 404 404 404 404 404 405
/console/jsi18n/                                                    GET  302 404 404 404 404 404 404 200
/console/jsi18n/                                                    POST 302 404 404 404 404 404 404 405
/console/r/<path:content_type_id>/<path:object_id>/                 GET  302 404 404 404 404 404 404 404
/console/r/<path:content_type_id>/<path:object_id>/                 POST 302 404 404 404 404 404 404 404
/console/accounts/user/                                             GET  302 404 404 404 404 404 404 200
/console/accounts/user/                                             POST 302 404 404 404 404 404 404 200
/console/accounts/user/add/                                         GET  302 404 404 404 404 404 404 404
/console/accounts/user/add/                                         POST 302 404 404 404 404 404 404 404
/console/accounts/user/<path:object_id>/history/                    GET  302 404 404 404 404 404 404 200
/console/accounts/user/<path:object_id>/history/                    POST 302 404 404 404 404 404 404 200
/console/accounts/user/<path:object_id>/delete/                     GET  302 404 404 404 404 404 404 404
/console/accounts/user/<path:object_id>/delete/                     POST 302 404 404 404 404 404 404 404
/console/accounts/user/<path:object_id>/change/                     GET  302 404 404 404 404 404 404 200
/console/accounts/user/<path:object_id>/change/                     POST 302 404 404 404 404 404 404 403
/console/accounts/user/<path:object_id>/                            GET  302 404 404 404 404 404 404 302
/console/accounts/user/<path:object_id>/                            POST 302 404 404 404 404 404 404 302
/console/accounts/practice/                                         GET  302 404 404 404 404 404 404 200
/console/accounts/practice/                                         POST 302 404 404 404 404 404 404 200
/console/accounts/practice/add/                                     GET  302 404 404 404 404 404 404 404
/console/accounts/practice/add/                                     POST 302 404 404 404 404 404 404 404
/console/accounts/practice/<path:object_id>/history/                GET  302 404 404 404 404 404 404 404
/console/accounts/practice/<path:object_id>/history/                POST 302 404 404 404 404 404 404 404
/console/accounts/practice/<path:object_id>/delete/                 GET  302 404 404 404 404 404 404 404
/console/accounts/practice/<path:object_id>/delete/                 POST 302 404 404 404 404 404 404 404
/console/accounts/practice/<path:object_id>/change/                 GET  302 404 404 404 404 404 404 404
/console/accounts/practice/<path:object_id>/change/                 POST 302 404 404 404 404 404 404 404
/console/accounts/practice/<path:object_id>/                        GET  302 404 404 404 404 404 404 302
/console/accounts/practice/<path:object_id>/                        POST 302 404 404 404 404 404 404 302
/console/audit/auditevent/                                          GET  302 404 404 404 404 404 404 200
/console/audit/auditevent/                                          POST 302 404 404 404 404 404 404 200
/console/audit/auditevent/add/                                      GET  302 404 404 404 404 404 404 404
/console/audit/auditevent/add/                                      POST 302 404 404 404 404 404 404 404
/console/audit/auditevent/<path:object_id>/history/                 GET  302 404 404 404 404 404 404 404
/console/audit/auditevent/<path:object_id>/history/                 POST 302 404 404 404 404 404 404 404
/console/audit/auditevent/<path:object_id>/delete/                  GET  302 404 404 404 404 404 404 404
/console/audit/auditevent/<path:object_id>/delete/                  POST 302 404 404 404 404 404 404 404
/console/audit/auditevent/<path:object_id>/change/                  GET  302 404 404 404 404 404 404 404
/console/audit/auditevent/<path:object_id>/change/                  POST 302 404 404 404 404 404 404 404
/console/audit/auditevent/<path:object_id>/                         GET  302 404 404 404 404 404 404 302
/console/audit/auditevent/<path:object_id>/                         POST 302 404 404 404 404 404 404 302
/console/billing/billingaccount/                                    GET  302 404 404 404 404 404 404 200
/console/billing/billingaccount/                                    POST 302 404 404 404 404 404 404 200
/console/billing/billingaccount/add/                                GET  302 404 404 404 404 404 404 404
/console/billing/billingaccount/add/                                POST 302 404 404 404 404 404 404 404
/console/billing/billingaccount/<path:object_id>/history/           GET  302 404 404 404 404 404 404 404
/console/billing/billingaccount/<path:object_id>/history/           POST 302 404 404 404 404 404 404 404
/console/billing/billingaccount/<path:object_id>/delete/            GET  302 404 404 404 404 404 404 404
/console/billing/billingaccount/<path:object_id>/delete/            POST 302 404 404 404 404 404 404 404
/console/billing/billingaccount/<path:object_id>/change/            GET  302 404 404 404 404 404 404 404
/console/billing/billingaccount/<path:object_id>/change/            POST 302 404 404 404 404 404 404 404
/console/billing/billingaccount/<path:object_id>/                   GET  302 404 404 404 404 404 404 302
/console/billing/billingaccount/<path:object_id>/                   POST 302 404 404 404 404 404 404 302
/console/billing/subscription/                                      GET  302 404 404 404 404 404 404 200
/console/billing/subscription/                                      POST 302 404 404 404 404 404 404 200
/console/billing/subscription/add/                                  GET  302 404 404 404 404 404 404 404
/console/billing/subscription/add/                                  POST 302 404 404 404 404 404 404 404
/console/billing/subscription/<path:object_id>/history/             GET  302 404 404 404 404 404 404 404
/console/billing/subscription/<path:object_id>/history/             POST 302 404 404 404 404 404 404 404
/console/billing/subscription/<path:object_id>/delete/              GET  302 404 404 404 404 404 404 404
/console/billing/subscription/<path:object_id>/delete/              POST 302 404 404 404 404 404 404 404
/console/billing/subscription/<path:object_id>/change/              GET  302 404 404 404 404 404 404 404
/console/billing/subscription/<path:object_id>/change/              POST 302 404 404 404 404 404 404 404
/console/billing/subscription/<path:object_id>/                     GET  302 404 404 404 404 404 404 302
/console/billing/subscription/<path:object_id>/                     POST 302 404 404 404 404 404 404 302
/console/billing/invoice/                                           GET  302 404 404 404 404 404 404 200
/console/billing/invoice/                                           POST 302 404 404 404 404 404 404 200
/console/billing/invoice/add/                                       GET  302 404 404 404 404 404 404 404
/console/billing/invoice/add/                                       POST 302 404 404 404 404 404 404 404
/console/billing/invoice/<path:object_id>/history/                  GET  302 404 404 404 404 404 404 404
/console/billing/invoice/<path:object_id>/history/                  POST 302 404 404 404 404 404 404 404
/console/billing/invoice/<path:object_id>/delete/                   GET  302 404 404 404 404 404 404 404
/console/billing/invoice/<path:object_id>/delete/                   POST 302 404 404 404 404 404 404 404
/console/billing/invoice/<path:object_id>/change/                   GET  302 404 404 404 404 404 404 404
/console/billing/invoice/<path:object_id>/change/                   POST 302 404 404 404 404 404 404 404
/console/billing/invoice/<path:object_id>/                          GET  302 404 404 404 404 404 404 302
/console/billing/invoice/<path:object_id>/                          POST 302 404 404 404 404 404 404 302
/console/billing/processorevent/                                    GET  302 404 404 404 404 404 404 200
/console/billing/processorevent/                                    POST 302 404 404 404 404 404 404 200
/console/billing/processorevent/add/                                GET  302 404 404 404 404 404 404 404
/console/billing/processorevent/add/                                POST 302 404 404 404 404 404 404 404
/console/billing/processorevent/<path:object_id>/history/           GET  302 404 404 404 404 404 404 404
/console/billing/processorevent/<path:object_id>/history/           POST 302 404 404 404 404 404 404 404
/console/billing/processorevent/<path:object_id>/delete/            GET  302 404 404 404 404 404 404 404
/console/billing/processorevent/<path:object_id>/delete/            POST 302 404 404 404 404 404 404 404
/console/billing/processorevent/<path:object_id>/change/            GET  302 404 404 404 404 404 404 404
/console/billing/processorevent/<path:object_id>/change/            POST 302 404 404 404 404 404 404 404
/console/billing/processorevent/<path:object_id>/                   GET  302 404 404 404 404 404 404 302
/console/billing/processorevent/<path:object_id>/                   POST 302 404 404 404 404 404 404 302
/console/notifications/outboxemail/                                 GET  302 404 404 404 404 404 404 200
/console/notifications/outboxemail/                                 POST 302 404 404 404 404 404 404 200
/console/notifications/outboxemail/add/                             GET  302 404 404 404 404 404 404 404
/console/notifications/outboxemail/add/                             POST 302 404 404 404 404 404 404 404
/console/notifications/outboxemail/<path:object_id>/history/        GET  302 404 404 404 404 404 404 404
/console/notifications/outboxemail/<path:object_id>/history/        POST 302 404 404 404 404 404 404 404
/console/notifications/outboxemail/<path:object_id>/delete/         GET  302 404 404 404 404 404 404 404
/console/notifications/outboxemail/<path:object_id>/delete/         POST 302 404 404 404 404 404 404 404
/console/notifications/outboxemail/<path:object_id>/change/         GET  302 404 404 404 404 404 404 404
/console/notifications/outboxemail/<path:object_id>/change/         POST 302 404 404 404 404 404 404 404
/console/notifications/outboxemail/<path:object_id>/                GET  302 404 404 404 404 404 404 302
/console/notifications/outboxemail/<path:object_id>/                POST 302 404 404 404 404 404 404 302
/console/notifications/outboxtext/                                  GET  302 404 404 404 404 404 404 200
/console/notifications/outboxtext/                                  POST 302 404 404 404 404 404 404 200
/console/notifications/outboxtext/add/                              GET  302 404 404 404 404 404 404 404
/console/notifications/outboxtext/add/                              POST 302 404 404 404 404 404 404 404
/console/notifications/outboxtext/<path:object_id>/history/         GET  302 404 404 404 404 404 404 404
/console/notifications/outboxtext/<path:object_id>/history/         POST 302 404 404 404 404 404 404 404
/console/notifications/outboxtext/<path:object_id>/delete/          GET  302 404 404 404 404 404 404 404
/console/notifications/outboxtext/<path:object_id>/delete/          POST 302 404 404 404 404 404 404 404
/console/notifications/outboxtext/<path:object_id>/change/          GET  302 404 404 404 404 404 404 404
/console/notifications/outboxtext/<path:object_id>/change/          POST 302 404 404 404 404 404 404 404
/console/notifications/outboxtext/<path:object_id>/                 GET  302 404 404 404 404 404 404 302
/console/notifications/outboxtext/<path:object_id>/                 POST 302 404 404 404 404 404 404 302
/console/notifications/bouncedaddress/                              GET  302 404 404 404 404 404 404 200
/console/notifications/bouncedaddress/                              POST 302 404 404 404 404 404 404 200
/console/notifications/bouncedaddress/add/                          GET  302 404 404 404 404 404 404 404
/console/notifications/bouncedaddress/add/                          POST 302 404 404 404 404 404 404 404
/console/notifications/bouncedaddress/<path:object_id>/history/     GET  302 404 404 404 404 404 404 404
/console/notifications/bouncedaddress/<path:object_id>/history/     POST 302 404 404 404 404 404 404 404
/console/notifications/bouncedaddress/<path:object_id>/delete/      GET  302 404 404 404 404 404 404 404
/console/notifications/bouncedaddress/<path:object_id>/delete/      POST 302 404 404 404 404 404 404 404
/console/notifications/bouncedaddress/<path:object_id>/change/      GET  302 404 404 404 404 404 404 404
/console/notifications/bouncedaddress/<path:object_id>/change/      POST 302 404 404 404 404 404 404 404
/console/notifications/bouncedaddress/<path:object_id>/             GET  302 404 404 404 404 404 404 302
/console/notifications/bouncedaddress/<path:object_id>/             POST 302 404 404 404 404 404 404 302
/console/onboarding/invitation/                                     GET  302 404 404 404 404 404 404 200
/console/onboarding/invitation/                                     POST 302 404 404 404 404 404 404 200
/console/onboarding/invitation/add/                                 GET  302 404 404 404 404 404 404 404
/console/onboarding/invitation/add/                                 POST 302 404 404 404 404 404 404 404
/console/onboarding/invitation/<path:object_id>/history/            GET  302 404 404 404 404 404 404 404
/console/onboarding/invitation/<path:object_id>/history/            POST 302 404 404 404 404 404 404 404
/console/onboarding/invitation/<path:object_id>/delete/             GET  302 404 404 404 404 404 404 404
/console/onboarding/invitation/<path:object_id>/delete/             POST 302 404 404 404 404 404 404 404
/console/onboarding/invitation/<path:object_id>/change/             GET  302 404 404 404 404 404 404 404
/console/onboarding/invitation/<path:object_id>/change/             POST 302 404 404 404 404 404 404 404
/console/onboarding/invitation/<path:object_id>/                    GET  302 404 404 404 404 404 404 302
/console/onboarding/invitation/<path:object_id>/                    POST 302 404 404 404 404 404 404 302
/console/^(?P<app_label>accounts|audit|billing|notifications|onboarding)/$ GET  302 404 404 404 404 404 404 404
/console/^(?P<app_label>accounts|audit|billing|notifications|onboarding)/$ POST 302 404 404 404 404 404 404 404
/console/(?P<url>.*)$                                               GET  302 404 404 404 404 404 404 404
/console/(?P<url>.*)$                                               POST 302 404 404 404 404 404 404 404
/                                                                   GET  302 200 200 200 200 200 200 302
/                                                                   POST 302 405 405 405 405 405 405 302
/archive/                                                           GET  302 200 200 200 200 200 200 302
/archive/                                                           POST 302 405 405 405 405 405 405 302
/sent/                                                              GET  302 200 200 200 200 200 200 302
/sent/                                                              POST 302 405 405 405 405 405 405 302
/drafts/                                                            GET  302 200 200 200 200 200 200 302
/drafts/                                                            POST 302 405 405 405 405 405 405 302
/drafts/<uuid:draft_id>/discard/                                    GET  302 405 405 405 405 405 405 302
/drafts/<uuid:draft_id>/discard/                                    POST 302 302 302 302 302 302 302 302
/compose/                                                           GET  302 403 403 200 200 200 200 302
/compose/                                                           POST 302 403 403 400 400 400 400 302
/compose/lookup/                                                    GET  302 405 405 405 405 405 405 302
/compose/lookup/                                                    POST 302 200 200 200 200 200 200 302
/compose/draft/                                                     GET  302 405 405 405 405 405 405 302
/compose/draft/                                                     POST 302 200 200 200 200 200 200 302
/m/<uuid:message_id>/                                               GET  302 200 404 200 404 404 404 302
/m/<uuid:message_id>/                                               POST 302 405 405 405 405 405 405 302
/m/<uuid:message_id>/print/                                         GET  302 200 404 200 404 404 404 302
/m/<uuid:message_id>/print/                                         POST 302 405 405 405 405 405 405 302
/m/<uuid:message_id>/export/                                        GET  302 405 405 405 405 405 405 302
/m/<uuid:message_id>/export/                                        POST 302 200 404 200 404 404 404 302
/m/<uuid:message_id>/reply/                                         GET  302 405 405 405 405 405 405 302
/m/<uuid:message_id>/reply/                                         POST 302 400 404 400 404 404 404 302
/m/<uuid:message_id>/forward/                                       GET  302 403 404 200 404 404 404 302
/m/<uuid:message_id>/forward/                                       POST 302 403 404 400 404 404 404 302
/m/<uuid:message_id>/archive/                                       GET  302 405 405 405 405 405 405 302
/m/<uuid:message_id>/archive/                                       POST 302 302 404 403 404 404 404 302
/m/<uuid:message_id>/hide/                                          GET  302 405 405 405 405 405 405 302
/m/<uuid:message_id>/hide/                                          POST 302 302 404 403 404 404 404 302
/m/<uuid:message_id>/delete/                                        GET  302 405 405 405 405 405 405 302
/m/<uuid:message_id>/delete/                                        POST 302 403 404 302 404 404 404 302
/m/<uuid:message_id>/expiry/                                        GET  302 405 405 405 405 405 405 302
/m/<uuid:message_id>/expiry/                                        POST 302 400 404 400 404 404 404 302
/m/<uuid:message_id>/a/<uuid:attachment_id>/                        GET  302 200 404 200 404 404 404 302
/m/<uuid:message_id>/a/<uuid:attachment_id>/                        POST 302 405 405 405 405 405 405 302
/search/                                                            GET  302 200 200 200 200 200 200 302
/search/                                                            POST 302 400 400 400 400 400 400 302
/contacts/                                                          GET  302 200 200 200 200 200 200 302
/contacts/                                                          POST 302 200 200 200 200 200 200 302
/contacts/add/                                                      GET  302 200 200 200 200 200 200 302
/contacts/add/                                                      POST 302 400 400 400 400 400 400 302
/contacts/deleted/                                                  GET  302 200 200 200 200 200 200 302
/contacts/deleted/                                                  POST 302 405 405 405 405 405 405 302
/contacts/suggest/                                                  GET  302 405 405 405 405 405 405 302
/contacts/suggest/                                                  POST 302 400 400 400 400 400 400 302
/contacts/<uuid:contact_id>/                                        GET  302 404 404 200 404 404 404 302
/contacts/<uuid:contact_id>/                                        POST 302 404 404 302 404 404 404 302
/contacts/<uuid:contact_id>/delete/                                 GET  302 405 405 405 405 405 405 302
/contacts/<uuid:contact_id>/delete/                                 POST 302 404 404 302 404 404 404 302
/contacts/<uuid:contact_id>/restore/                                GET  302 405 405 405 405 405 405 302
/contacts/<uuid:contact_id>/restore/                                POST 302 404 404 302 404 404 404 302
/accounts/login/                                                    GET  200 302 302 302 302 302 302 302
/accounts/login/                                                    POST 200 302 302 302 302 302 302 302
/accounts/profile/                                                  GET  302 200 200 200 200 200 200 302
/accounts/profile/                                                  POST 302 200 200 200 200 200 200 302
/accounts/logout/                                                   GET  405 405 405 405 405 405 405 405
/accounts/logout/                                                   POST 302 302 302 302 302 302 302 302
/accounts/password/                                                 GET  200 200 200 200 200 200 200 302
/accounts/password/                                                 POST 200 200 200 200 200 200 200 302
/accounts/password/sent/                                            GET  200 200 200 200 200 200 200 302
/accounts/password/sent/                                            POST 200 200 200 200 200 200 200 302
/accounts/password/again/                                           GET  405 405 405 405 405 405 405 302
/accounts/password/again/                                           POST 200 200 200 200 200 200 200 302
/accounts/password/<uidb64>/<token>/                                GET  404 404 404 404 404 404 404 302
/accounts/password/<uidb64>/<token>/                                POST 404 404 404 404 404 404 404 302
/accounts/login/second-step/                                        GET  302 302 302 302 302 302 302 302
/accounts/login/second-step/                                        POST 302 302 302 302 302 302 302 302
/accounts/login/second-step/text/                                   GET  405 405 405 405 405 405 405 302
/accounts/login/second-step/text/                                   POST 302 302 302 302 302 302 302 302
/accounts/passkey/options/                                          GET  405 405 405 405 405 405 405 302
/accounts/passkey/options/                                          POST 400 400 400 400 400 400 400 302
/accounts/passkey/verify/                                           GET  405 405 405 405 405 405 405 302
/accounts/passkey/verify/                                           POST 400 400 400 400 400 400 400 302
/accounts/reauthenticate/                                           GET  302 200 200 200 200 200 200 200
/accounts/reauthenticate/                                           POST 302 400 400 400 400 400 400 400
/accounts/reauthenticate/text/                                      GET  302 405 405 405 405 405 405 405
/accounts/reauthenticate/text/                                      POST 302 302 302 302 302 302 302 302
/accounts/security/                                                 GET  302 200 200 200 200 200 200 200
/accounts/security/                                                 POST 302 405 405 405 405 405 405 405
/accounts/security/app/                                             GET  302 200 200 200 200 200 200 400
/accounts/security/app/                                             POST 302 400 400 400 400 400 400 400
/accounts/security/app/remove/                                      GET  302 405 405 405 405 405 405 405
/accounts/security/app/remove/                                      POST 302 302 302 302 302 302 302 400
/accounts/security/text/                                            GET  302 200 200 200 200 200 200 200
/accounts/security/text/                                            POST 302 400 400 400 400 400 400 400
/accounts/security/text/send/                                       GET  302 405 405 405 405 405 405 405
/accounts/security/text/send/                                       POST 302 302 302 302 302 302 302 302
/accounts/security/text/remove/                                     GET  302 405 405 405 405 405 405 405
/accounts/security/text/remove/                                     POST 302 302 302 302 302 302 302 302
/accounts/security/passkeys/options/                                GET  302 405 405 405 405 405 405 405
/accounts/security/passkeys/options/                                POST 302 200 200 200 200 200 200 200
/accounts/security/passkeys/add/                                    GET  302 405 405 405 405 405 405 405
/accounts/security/passkeys/add/                                    POST 302 400 400 400 400 400 400 400
/accounts/security/passkeys/<int:passkey_id>/remove/                GET  302 405 405 405 405 405 405 405
/accounts/security/passkeys/<int:passkey_id>/remove/                POST 302 404 404 302 404 404 404 404
/accounts/security/method/                                          GET  302 405 405 405 405 405 405 405
/accounts/security/method/                                          POST 302 400 400 400 400 400 400 400
/accounts/security/recovery-codes/                                  GET  302 405 405 405 405 405 405 405
/accounts/security/recovery-codes/                                  POST 302 400 400 400 400 400 400 200
/accounts/security/recovery-codes/new/                              GET  302 302 302 302 302 302 302 302
/accounts/security/recovery-codes/new/                              POST 302 405 405 405 405 405 405 405
/accounts/security/off/                                             GET  302 405 405 405 405 405 405 405
/accounts/security/off/                                             POST 302 302 302 302 302 302 302 400
/accounts/security/password/                                        GET  302 200 200 200 200 200 200 200
/accounts/security/password/                                        POST 302 200 200 200 200 200 200 200
/accounts/security/email/                                           GET  302 200 200 200 200 200 200 200
/accounts/security/email/                                           POST 302 400 400 400 400 400 400 400
/accounts/security/email/<str:token>/                               GET  404 404 404 404 404 404 404 404
/accounts/security/email/<str:token>/                               POST 404 404 404 404 404 404 404 404
/accounts/security/phone/                                           GET  302 200 200 200 200 200 200 200
/accounts/security/phone/                                           POST 302 400 400 400 400 400 400 400
/accounts/security/phone/confirm/                                   GET  302 302 302 302 302 302 302 302
/accounts/security/phone/confirm/                                   POST 302 302 302 302 302 302 302 302
/join/<str:token>/                                                  GET  200 200 200 200 200 200 200 302
/join/<str:token>/                                                  POST 302 302 302 302 302 302 302 302
/register/                                                          GET  404 404 404 404 404 404 404 302
/register/                                                          POST 405 405 405 405 405 405 405 302
/register/specialty/procedures/                                     GET  404 404 404 404 404 404 404 302
/register/specialty/procedures/                                     POST 405 405 405 405 405 405 405 302
/register/verify/send/                                              GET  405 405 405 405 405 405 405 302
/register/verify/send/                                              POST 404 404 404 404 404 404 404 302
/register/done/                                                     GET  200 200 200 200 200 200 200 302
/register/done/                                                     POST 405 405 405 405 405 405 405 302
/register/link/                                                     GET  200 200 200 200 200 200 200 302
/register/link/                                                     POST 200 200 200 200 200 200 200 302
/register/link/again/                                               GET  405 405 405 405 405 405 405 302
/register/link/again/                                               POST 200 200 200 200 200 200 200 302
/register/<slug:step>/                                              GET  404 404 404 404 404 404 404 302
/register/<slug:step>/                                              POST 404 404 404 404 404 404 404 302
/terms/                                                             GET  200 200 200 200 200 200 200 302
/terms/                                                             POST 405 405 405 405 405 405 405 302
/practice/settings/                                                 GET  302 403 403 403 403 200 200 302
/practice/settings/                                                 POST 302 403 403 403 403 200 200 302
/practice/people/                                                   GET  302 403 403 403 403 200 200 302
/practice/people/                                                   POST 302 405 405 405 405 405 405 302
/practice/people/<int:user_id>/resend/                              GET  302 405 405 405 405 405 405 302
/practice/people/<int:user_id>/resend/                              POST 302 403 403 403 403 400 404 302
/practice/people/<int:user_id>/email/                               GET  302 403 403 403 403 200 404 302
/practice/people/<int:user_id>/email/                               POST 302 403 403 403 403 400 404 302
/practice/people/<int:user_id>/unlock/                              GET  302 405 405 405 405 405 405 302
/practice/people/<int:user_id>/unlock/                              POST 302 403 403 403 403 400 404 302
/practice/people/<int:user_id>/manager/                             GET  302 403 403 403 403 200 404 302
/practice/people/<int:user_id>/manager/                             POST 302 403 403 403 403 302 404 302
/practice/people/<int:user_id>/plan/buy/                            GET  302 405 405 405 405 405 405 302
/practice/people/<int:user_id>/plan/buy/                            POST 302 403 403 403 403 400 404 302
/practice/people/<int:user_id>/plan/cancel/                         GET  302 405 405 405 405 405 405 302
/practice/people/<int:user_id>/plan/cancel/                         POST 302 403 403 403 403 400 404 302
/practice/invitations/<int:user_id>/                                GET  302 404 404 404 404 200 404 302
/practice/invitations/<int:user_id>/                                POST 302 404 404 404 404 400 404 302
/practice/invitations/<int:user_id>/resend/                         GET  302 405 405 405 405 405 405 302
/practice/invitations/<int:user_id>/resend/                         POST 302 404 404 404 404 302 404 302
/practice/invitations/<int:user_id>/reminders/stop/                 GET  302 405 405 405 405 405 405 302
/practice/invitations/<int:user_id>/reminders/stop/                 POST 302 404 404 404 404 302 404 302
/practice/people/two-step/                                          GET  302 405 405 405 405 405 405 302
/practice/people/two-step/                                          POST 302 403 403 403 403 302 302 302
/practice/audit/                                                    GET  302 403 403 403 403 200 200 302
/practice/audit/                                                    POST 302 405 405 405 405 405 405 302
/practice/audit/log.csv                                             GET  302 403 403 403 403 400 400 302
/practice/audit/log.csv                                             POST 302 405 405 405 405 405 405 302
/practice/audit/patients/<int:patient_id>/                          GET  302 403 403 403 403 200 404 302
/practice/audit/patients/<int:patient_id>/                          POST 302 405 405 405 405 405 405 302
/practice/audit/patients/<int:patient_id>/csv/                      GET  302 403 403 403 403 200 404 302
/practice/audit/patients/<int:patient_id>/csv/                      POST 302 405 405 405 405 405 405 302
/billing/                                                           GET  302 200 200 200 200 200 200 302
/billing/                                                           POST 302 405 405 405 405 405 405 302
/billing/buy/                                                       GET  302 405 405 405 405 405 405 302
/billing/buy/                                                       POST 302 400 400 400 400 400 400 302
/billing/return/                                                    GET  302 404 404 404 404 404 404 302
/billing/return/                                                    POST 302 405 405 405 405 405 405 302
/billing/plans/<uuid:subscription_id>/cancel/                       GET  302 405 405 405 405 405 405 302
/billing/plans/<uuid:subscription_id>/cancel/                       POST 302 404 404 404 404 404 404 302
/billing/plans/<uuid:subscription_id>/card/                         GET  302 405 405 405 405 405 405 302
/billing/plans/<uuid:subscription_id>/card/                         POST 302 404 404 404 404 404 404 302
/billing/invoices/                                                  GET  302 200 200 200 200 200 200 302
/billing/invoices/                                                  POST 302 405 405 405 405 405 405 302
/billing/invoices/email/                                            GET  302 405 405 405 405 405 405 302
/billing/invoices/email/                                            POST 302 302 302 302 302 302 302 302
/billing/webhook/stripe/                                            GET  405 405 405 405 405 405 405 302
/billing/webhook/stripe/                                            POST 400 400 400 400 400 400 400 302
/billing/test-processor/                                            GET  302 200 200 200 200 200 200 302
/billing/test-processor/                                            POST 302 400 400 400 400 400 400 302
/billing/test-processor/checkout/<str:checkout_id>/                 GET  404 404 404 404 404 404 404 302
/billing/test-processor/checkout/<str:checkout_id>/                 POST 404 404 404 404 404 404 404 302
/billing/test-processor/card/<str:customer_id>/                     GET  404 404 404 404 404 404 404 302
/billing/test-processor/card/<str:customer_id>/                     POST 404 404 404 404 404 404 404 302
/dev/mail/                                                          GET  404 404 404 404 404 404 404 302
/dev/mail/                                                          POST 404 404 404 404 404 404 404 302
/dev/mail/<str:name>/                                               GET  404 404 404 404 404 404 404 302
/dev/mail/<str:name>/                                               POST 404 404 404 404 404 404 404 302
"""


def _parse(table: str) -> dict[tuple[str, str], dict[str, int]]:
    rules = {}
    for line in table.strip().splitlines():
        if line.startswith("#"):
            continue
        route, method, *statuses = line.split()
        assert len(statuses) == len(PERSONAS), line
        assert (route, method) not in rules, f"two lines for {method} {route}"
        rules[route, method] = dict(zip(PERSONAS, map(int, statuses), strict=True))
    return rules


RULES = _parse(MATRIX)


# --- the URL configuration ----------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    route: str
    # Named groups of a regex pattern, or <converter:name> of a path pattern, by name.
    params: tuple[str, ...]


def _route_text(pattern: Any) -> str:
    return str(pattern.pattern)


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[str]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + _route_text(entry))
        elif isinstance(entry, URLPattern):
            yield prefix + _route_text(entry)


def all_routes() -> list[str]:
    """Every URL pattern of the product, as "/" + its route (MATRIX's first column)."""
    return ["/" + r for r in dict.fromkeys(_walk(get_resolver().url_patterns))]


_PATH_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")
_REGEX_PARAM = re.compile(r"\(\?P<(\w+)>[^)]*\)")


def url_for(route: str, world: "World") -> str:
    """The route with each parameter filled from the world (KeyError: no filler)."""

    world.route = route

    def fill(match: re.Match[str]) -> str:
        name = match.group(match.lastindex or 1)
        if name not in FILLERS:
            raise KeyError(f"no filler for the parameter {name!r} of {route!r}: add one")
        return str(FILLERS[name](world))

    path = _PATH_PARAM.sub(fill, route)
    return _REGEX_PARAM.sub(fill, path).replace("^", "").rstrip("$")


# --- the world ------------------------------------------------------------------------------


@dataclass
class World:
    people: dict[str, User | None]
    message: Any
    attachment: Attachment
    draft_id: uuid.UUID
    subscription: Subscription
    join_token: str
    passkey_id: int
    # The paid doctor's contact of the patient (they exchanged a message), and one they
    # added and deleted (for restore).
    contact_id: uuid.UUID
    deleted_contact_id: uuid.UUID
    # Invited by the manager, registration not finished.
    invitee: User | None = None
    # The route being filled (a filler may depend on it).
    route: str = ""


@pytest.fixture
def world(make_user: Any, practice: Practice, other_practice: Practice, own_files: Any) -> World:
    manager = make_user(
        "mia.manager@brightsmiles.test",
        kind="doctor",
        plan="paid",
        practice=practice,
        is_practice_manager=True,
    )
    paid_doctor = make_user(
        "paul.paid@brightsmiles.test", kind="doctor", plan="paid", practice=practice
    )
    free_doctor = make_user("fred.free@brightsmiles.test", kind="doctor", practice=practice)
    staff = make_user("sam.staff@brightsmiles.test", plan="paid", practice=practice)
    other = make_user(
        "omar.other@lakeside.test",
        kind="doctor",
        plan="paid",
        practice=other_practice,
        is_practice_manager=True,
    )
    patient = make_user("pat.patient@mail.test", kind="patient")
    operator = account_services.create_operator(email="olga@securemail.test", full_name="Olga")
    account_services.set_password(user=operator, password="a long passphrase for the console 7")
    operator.refresh_from_db()
    # Operators must use two-step login (issue 10): this one has an authenticator app.
    turn_on_app(operator)
    # A passkey of the paid doctor's (the passkey_id filler).
    passkey = Passkey.objects.create(
        user=paid_doctor,
        name="Laptop",
        credential_id=b"credential",
        credential_key="0" * 64,
        public_key=b"key",
        created_at=timezone.now(),
    )

    message = send_with_files(paid_doctor, patient, files={"scan.png": b"\x89PNG scan"})
    messaging.reply(sender=patient, parent=message, body="Thanks")
    draft = messaging.save_draft(owner=paid_doctor, draft_id=None, fields={"subject": "Draft"})
    # A plan bought through the test processor by a member who is no persona.
    buyer = make_user("bea.buyer@brightsmiles.test", practice=practice)
    buying = Client()
    buying.force_login(buyer, backend="securemail.accounts.backends.EmailBackend")
    buy(buying, "monthly")
    subscription = Subscription.objects.get(member=buyer)
    onboarding.invite(inviter=manager, email="ivy.invited@mail.test", role=RecipientRole.PATIENT)
    deleted_contact = contacts.add_contact(
        owner=paid_doctor, email="gone@mail.test", details=Details(name="Gone")
    )
    contacts.delete_contact(owner=paid_doctor, contact=deleted_contact)
    join_path = MAILBOX.link("ivy.invited@mail.test", "/join/")
    return World(
        people={
            "anonymous": None,
            "patient": patient,
            "free_doctor": free_doctor,
            "paid_doctor": paid_doctor,
            "staff": staff,
            "manager": manager,
            "other_practice": other,
            "operator": operator,
        },
        message=message,
        attachment=Attachment.objects.get(message=message),
        draft_id=draft.pk,
        subscription=subscription,
        join_token=join_path.strip("/").rsplit("/", 1)[-1],
        contact_id=Contact.objects.get(owner=paid_doctor, email=patient.email).pk,
        deleted_contact_id=deleted_contact.pk,
        invitee=User.objects.get(email="ivy.invited@mail.test"),
        passkey_id=passkey.pk,
    )


# Path parameters, by name: each gives a real object of the world (owned by the paid doctor
# and the patient, in the manager's practice), so that who gets 200 and who 404 means
# something.
FILLERS: dict[str, Callable[[World], Any]] = {
    "message_id": lambda w: w.message.pk,
    "attachment_id": lambda w: w.attachment.pk,
    "draft_id": lambda w: w.draft_id,
    # The practices app: one of the practice's people (its staff member); a patient it wrote.
    # (On the inviter's pages: the patient the manager invited, still registering.)
    "user_id": lambda w: (
        _pk(w.invitee) if w.route.startswith("/practice/invitations/") else _pk(w.people["staff"])
    ),
    "patient_id": lambda w: _pk(w.people["patient"]),
    "subscription_id": lambda w: w.subscription.pk,
    # The paid doctor's passkey.
    "passkey_id": lambda w: w.passkey_id,
    "token": lambda w: w.join_token,
    "uidb64": lambda w: urlsafe_base64_encode(force_bytes(_pk(w.people["staff"]))),
    "step": lambda _w: "you",
    "checkout_id": lambda _w: "cs_test_unknown",
    "customer_id": lambda _w: "cus_test_unknown",
    "name": lambda _w: "nothing-here",
    # The console: a record (the staff member's account row) and its content type.
    # (An id no other table is sure to hold: its records answer 302 or 404 alike on SQLite
    # and PostgreSQL, whose sequences differ.)
    "object_id": lambda w: (
        f"{_pk(w.people['staff'])}" if w.route.startswith("/console/accounts/user/") else "0"
    ),
    "content_type_id": lambda _w: ContentType.objects.get_for_model(User).pk,
    "app_label": lambda _w: "accounts",
    "url": lambda _w: "nothing-here/",
    # Contacts: the paid doctor's (a deleted one for restore).
    "contact_id": lambda w: w.deleted_contact_id if w.route.endswith("/restore/") else w.contact_id,
}


def _pk(user: User | None) -> int:
    assert user is not None
    return int(user.pk)


class Browsers:
    """One logged-in browser per persona, each request in a savepoint rolled back
    afterwards; its cookies are put back too (a logout must not log the next request out)."""

    def __init__(self, world: World) -> None:
        self.clients: dict[str, Client] = {}
        for persona, user in world.people.items():
            client = Client()
            if user is not None:
                client.force_login(user, backend="securemail.accounts.backends.EmailBackend")
            self.clients[persona] = client
        self.cookies = {p: c.cookies.output() for p, c in self.clients.items()}

    def status(self, persona: str, method: str, url: str) -> int:
        cache.clear()
        client = self.clients[persona]
        client.cookies.clear()
        client.cookies.load(self.cookies[persona].replace("Set-Cookie: ", ""))
        with transaction.atomic():
            response = client.get(url) if method == "GET" else client.post(url, {})
            transaction.set_rollback(True)
        return int(response.status_code)


def _line(route: str, method: str, statuses: dict[str, int]) -> str:
    cells = " ".join(f"{statuses[p]:>3}" for p in PERSONAS)
    return f"{route:<67} {method:<4} {cells}"


# --- the tests --------------------------------------------------------------------------------


def test_every_url_has_a_line_in_the_matrix() -> None:
    routes = all_routes()
    missing = [r for r in routes if not any((r, m) in RULES for m in ("GET", "POST"))]
    gone = sorted({r for r, _ in RULES if r not in routes})
    assert not missing, "URLs without a line in MATRIX:\n" + "\n".join(missing)
    assert not gone, "lines in MATRIX for URLs that no longer exist:\n" + "\n".join(gone)


def test_each_persona_gets_the_expected_status(world: World) -> None:
    browsers = Browsers(world)
    wrong = []
    for route in all_routes():
        url = url_for(route, world)
        for method in ("GET", "POST"):
            expected = RULES.get((route, method))
            if expected is None:
                continue
            got = {p: browsers.status(p, method, url) for p in PERSONAS}
            if got != expected:
                wrong.append(f"{_line(route, method, got)}    ({url})")
    assert not wrong, "statuses that differ from MATRIX (check, then update it):\n" + (
        "\n".join(wrong)
    )
