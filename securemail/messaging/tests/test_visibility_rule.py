"""The "visible to this user" rule has three fast forms (messaging.access): the queryset
behind access_message, the Python filter on a loaded conversation behind access_thread, and
the SQL of the received half of the rule (_received_rule: the inbox's lines and
unread_count). Each case below is asked of all of them; a change to one form that the
others don't share fails here."""

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.http import Http404
from django.utils import timezone

from securemail.accounts.models import User
from securemail.messaging import access, services
from securemail.messaging.models import Message
from securemail.messaging.tests.helpers import send

pytestmark = pytest.mark.django_db

# case: (who looks, what happened to the message, visible?, counts as unread?)
CASES = {
    "sender": ("doctor", None, True, False),
    "recipient": ("patient", None, True, True),
    "recipient who hid it": ("patient", "hide", False, False),
    "recipient after expiry": ("patient", "expire", False, False),
    "sender after expiry": ("doctor", "expire", False, False),
    "outsider": ("outsider", None, False, False),
}


def _visible_by_queryset(user: User, message: Message) -> bool:
    return access.visible_messages(user).filter(pk=message.pk).exists()


def _visible_by_access_message(user: User, message: Message) -> bool:
    try:
        access.access_message(user, message.pk)
    except Http404:
        return False
    return True


def _visible_in_thread(user: User, message: Message) -> bool:
    try:
        _, thread = access.access_thread(user, message.pk)
    except Http404:
        return False
    return any(m.pk == message.pk for m in thread)


@pytest.mark.parametrize("case", CASES)
def test_every_form_of_the_visibility_rule_gives_the_same_answer(
    case: str, doctor: User, patient: User, outsider: User
) -> None:
    viewer_name, event, visible, unread = CASES[case]
    viewer = {"doctor": doctor, "patient": patient, "outsider": outsider}[viewer_name]
    message = send(doctor, patient)
    if event == "hide":
        services.hide_for_me(user=patient, message=message)
    moment = timezone.now() + (timedelta(days=31) if event == "expire" else timedelta(0))

    with time_machine.travel(moment, tick=False):
        answers: dict[str, Any] = {
            "queryset": _visible_by_queryset(viewer, message),
            "access_message": _visible_by_access_message(viewer, message),
            "thread filter": _visible_in_thread(viewer, message),
        }
        counted = access.unread_count(viewer)
        in_inbox = any(line.message_id == message.pk for line in access.inbox(viewer))

    assert answers == dict.fromkeys(answers, visible), case
    assert counted == (1 if unread else 0), case
    # Received and visible (nothing is read or archived here).
    assert in_inbox == (visible and viewer == patient), case


def test_a_reply_in_a_thread_follows_the_rule_on_its_own(
    doctor: User, patient: User, staff: User
) -> None:
    # The thread filter decides message by message: the staff member, copied on the reply
    # only, sees the reply but not the first message.
    first = send(doctor, patient)
    reply = services.reply(sender=patient, parent=first, body="Thanks, see you Monday.")
    from securemail.messaging.models import Delivery

    Delivery.objects.create(
        message=reply,
        recipient=staff,
        sent_at=reply.sent_at,
        expires_at=reply.expires_at,
    )

    assert not _visible_by_queryset(staff, first)
    assert _visible_by_queryset(staff, reply)
    _, thread = access.access_thread(staff, reply.pk)
    assert [m.pk for m in thread] == [reply.pk]
    assert access.unread_count(staff) == 1
