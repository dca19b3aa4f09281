"""The plan rule's one home (billing.entitlements): who may start conversations, invite,
forward and reply to everyone, asked by every service that does these things."""

import ast
import uuid
from pathlib import Path
from typing import Any

import pytest

from securemail.accounts.models import User
from securemail.billing import entitlements
from securemail.billing.entitlements import Feature, PlanRequired
from securemail.messaging import services
from securemail.messaging.tests.helpers import send
from securemail.onboarding.models import RecipientRole

pytestmark = pytest.mark.django_db

PERSONAS = {
    # persona: may it use the paid features?
    "doctor": True,
    "staff": True,
    "other_doctor": True,
    "free_staff": False,
    "patient": False,
}


@pytest.mark.parametrize("feature", list(Feature))
@pytest.mark.parametrize("persona", PERSONAS)
def test_paid_doctors_and_staff_of_a_practice_have_every_paid_feature(
    persona: str, feature: Feature, request: Any
) -> None:
    user = request.getfixturevalue(persona)

    assert entitlements.allows(user, feature) is PERSONAS[persona]
    if PERSONAS[persona]:
        entitlements.require(user, feature)
    else:
        with pytest.raises(PlanRequired) as refused:
            entitlements.require(user, feature)
        assert refused.value.feature == feature


def test_a_paid_plan_without_a_practice_opens_nothing(make_user: Any) -> None:
    # A plan is bought within a practice's account: a paid flag alone is not enough.
    loner = make_user("lone.doctor@example.test", kind=User.Kind.DOCTOR, plan="paid")

    assert not any(entitlements.allows(loner, feature) for feature in Feature)


def test_every_service_that_needs_the_plan_refuses_a_free_account(
    free_staff: User, doctor: User, patient: User
) -> None:
    received = send(doctor, free_staff)
    refusals = {
        "send": lambda: services.send_message(
            sender=free_staff,
            recipients=[services.RecipientSpec(email=patient.email)],
            subject="Hello",
            body="Hi",
        ),
        "invite": lambda: services.send_message(
            sender=free_staff,
            recipients=[
                services.RecipientSpec(email="new@example.test", role=RecipientRole.PATIENT)
            ],
            subject="Hello",
            body="Hi",
        ),
        "forward": lambda: services.forward(
            sender=free_staff,
            original=received,
            recipients=[services.RecipientSpec(email=patient.email)],
            note="",
            client_token=uuid.uuid4(),
        ),
        "reply all": lambda: services.reply(
            sender=free_staff, parent=received, body="Thanks all", reply_all=True
        ),
        "draft": lambda: services.save_draft(
            owner=free_staff, draft_id=None, fields={"subject": "Hello"}
        ),
        "look up": lambda: services.lookup_addresses(sender=free_staff, emails=[patient.email]),
    }
    for name, attempt in refusals.items():
        with pytest.raises(PlanRequired):
            attempt()
        assert not User.objects.filter(email="new@example.test").exists(), name
    # Replying (to the sender only) stays open to the free account.
    services.reply(sender=free_staff, parent=received, body="Thanks")


def test_no_code_outside_billing_reads_the_plan_itself() -> None:
    # The rule has one home: anything else that read `plan` or `is_paid` would be a second
    # copy of it that drifts. (Models, migrations, demo data and tests may name the field.)
    root = Path(__file__).resolve().parents[2]
    allowed = {"billing", "migrations", "tests"}
    offenders = []
    for path in root.rglob("*.py"):
        parts = set(path.relative_to(root).parts)
        if parts & allowed or path.name in {"models.py", "demo.py"}:
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in {"is_paid", "plan"}:
                offenders.append(f"{path.relative_to(root)}:{node.lineno}")
    assert offenders == []
