"""The conversation page reads its rows by hand-written SQL (core.rows.fetch): each row must
be the instance the ORM gives, field for field and type for type, on both databases."""

import pytest

from securemail.accounts.models import User
from securemail.core.rows import columns_of, fetch
from securemail.messaging.models import Attachment, Delivery, Message
from securemail.messaging.tests.helpers import send_with_files

pytestmark = pytest.mark.django_db


def test_fetched_rows_are_the_orms_instances(doctor: User, patient: User, staff: User) -> None:
    message = send_with_files(doctor, patient, staff, files={"a.txt": b"one", "b.txt": b"two"})
    for model in (Message, Delivery, Attachment):
        found = columns_of(model)
        ours = fetch(model, f"ORDER BY {found.column('id')}", [])
        theirs = list(model.objects.order_by("id"))
        assert len(ours) == len(theirs) > 0
        for mine, orm in zip(ours, theirs, strict=True):
            assert mine.pk == orm.pk
            for field in model._meta.concrete_fields:
                got, want = getattr(mine, field.attname), getattr(orm, field.attname)
                assert got == want, (model.__name__, field.name)
                assert type(got) is type(want), (model.__name__, field.name)
    assert {m.pk for m in fetch(Message, "", [])} == {message.pk}


def test_fetched_rows_with_only_some_fields_defer_the_rest_as_the_orm(
    doctor: User, patient: User
) -> None:
    send_with_files(doctor, patient, files={"a.txt": b"one"})
    wanted = ("sender", "size")
    found = columns_of(Attachment, wanted)
    [ours] = fetch(Attachment, f"ORDER BY {found.column('id')}", [], only=wanted)
    [orm] = Attachment.objects.only(*wanted)
    assert ours.get_deferred_fields() == orm.get_deferred_fields() != set()
    assert "wrapped_key" in ours.get_deferred_fields()
    for name in ("id", "sender_id", "size"):
        assert getattr(ours, name) == getattr(orm, name)
        assert type(getattr(ours, name)) is type(getattr(orm, name))


def test_fetched_rows_behave_as_loaded_instances(doctor: User, patient: User) -> None:
    # Built without Model.__init__ (core.rows): still a row from this database, whose
    # relations load and whose save() updates it.
    message = send_with_files(doctor, patient, files={"a.txt": b"one"})
    found = columns_of(Delivery)
    [delivery] = fetch(Delivery, f"WHERE {found.column('message')} = %s", [message.pk.hex])
    assert delivery._state.adding is False
    assert delivery._state.db == "default"
    assert delivery.recipient == patient
    assert delivery.message == message
    assert delivery == Delivery.objects.get(pk=delivery.pk)
    delivery.archived_at = message.sent_at
    delivery.save(update_fields=["archived_at"])
    assert Delivery.objects.get(pk=delivery.pk).archived_at == message.sent_at
    assert Delivery.objects.count() == 1
