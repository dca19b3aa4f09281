"""The session's account is read by hand-written SQL (accounts.access.session_user): it must
be the account the ORM reads, field for field and type for type, on both databases."""

from typing import Any

import pytest

from securemail.accounts.access import session_user
from securemail.accounts.backends import EmailBackend
from securemail.accounts.models import User

pytestmark = pytest.mark.django_db


def test_the_session_user_is_the_account_the_orm_reads(doctor: User, patient: User) -> None:
    for person in (doctor, patient):
        person.refresh_from_db()
        loaded = session_user(person.pk)
        assert loaded is not None
        for field in User._meta.concrete_fields:
            ours, theirs = getattr(loaded, field.attname), getattr(person, field.attname)
            assert ours == theirs, field.name
            assert type(ours) is type(theirs), field.name
    loaded = session_user(doctor.pk)
    assert loaded is not None
    assert loaded.practice is not None
    assert loaded.practice.name == doctor.practice.name
    assert loaded.practice.created_at == doctor.practice.created_at
    assert session_user(patient.pk).practice is None  # type: ignore[union-attr]


def test_no_session_for_an_unknown_or_closed_account(doctor: User, make_user: Any) -> None:
    assert session_user(10**9) is None
    assert EmailBackend().get_user(10**9) is None
    invited = make_user("invited@example.test", status=User.Status.INVITED)
    assert EmailBackend().get_user(invited.pk) is None
    User.objects.filter(pk=doctor.pk).update(is_active=False)
    assert EmailBackend().get_user(doctor.pk) is None
