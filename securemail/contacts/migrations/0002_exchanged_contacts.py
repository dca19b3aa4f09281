"""Everyone each person already exchanged messages with becomes their contact (new
messages add them as they are sent: contacts.services.record_exchange)."""

from typing import Any

from django.db import migrations
from django.db.models import Max
from django.utils import timezone


def add_exchanged(apps: Any, _schema_editor: Any) -> None:
    Delivery = apps.get_model("messaging", "Delivery")
    Contact = apps.get_model("contacts", "Contact")
    User = apps.get_model("accounts", "User")
    last: dict[tuple[int, int], Any] = {}
    pairs = (
        Delivery.objects.values_list("message__sender_id", "recipient_id")
        .annotate(at=Max("sent_at"))
        .order_by()
    )
    for sender_id, recipient_id, at in pairs.iterator():
        if sender_id == recipient_id:
            continue
        for owner, other in ((sender_id, recipient_id), (recipient_id, sender_id)):
            if (owner, other) not in last or last[owner, other] < at:
                last[owner, other] = at
    people = {p for pair in last for p in pair}
    emails = dict(User.objects.filter(pk__in=people).values_list("pk", "email"))
    now = timezone.now()
    rows = [
        Contact(
            owner_id=owner,
            email=emails[other],
            person_id=other,
            last_exchanged_at=at,
            created_at=now,
            updated_at=now,
        )
        for (owner, other), at in last.items()
        if owner in emails and other in emails
    ]
    Contact.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0001_initial"),
        ("messaging", "0001_initial"),
    ]

    operations = [migrations.RunPython(add_exchanged, migrations.RunPython.noop)]
