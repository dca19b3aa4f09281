"""Demo data for `make run`: one practice, a paid doctor (its user manager), a staff
member and a patient, plus one message waiting in the patient's inbox."""

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from securemail.accounts.models import Practice, Specialty, User
from securemail.messaging.services import RecipientSpec, send_message

DEMO_PRACTICE = "Bright Smiles Dental"


@dataclass
class DemoAccount:
    email: str
    description: str


DEMO_ACCOUNTS = [
    DemoAccount("doctor@demo.test", "paid doctor, user manager of Bright Smiles Dental"),
    DemoAccount("staff@demo.test", "paid front-desk staff of Bright Smiles Dental"),
    DemoAccount("patient@demo.test", "patient (free: can read and reply)"),
    DemoAccount(
        "surgeon@demo.test", "free doctor, user manager of Lakeside Oral Surgery (try an upgrade)"
    ),
]
OTHER_PRACTICE = "Lakeside Oral Surgery"
# How to try a purchase (printed by `make run`).
TEST_CARDS = [
    "4242 4242 4242 4242 succeeds",
    "4000 0000 0000 0002 is declined",
    "4000 0000 0000 9995 fails for insufficient funds",
]


def demo_password() -> str:
    """DEMO_PASSWORD, or a random one kept in var/ so every run prints the same one."""
    if os.environ.get("DEMO_PASSWORD"):
        return os.environ["DEMO_PASSWORD"]
    path = Path(settings.VAR_DIR) / "demo-password"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    password = "demo-" + secrets.token_urlsafe(9)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(password + "\n")
    return password


def seed_demo(password: str) -> bool:
    """Create the demo data if missing. Returns True when it created anything."""
    with transaction.atomic():
        practice = Practice.objects.filter(name=DEMO_PRACTICE).first()
        created = practice is None
        if practice is None:
            practice = Practice.objects.create(
                name=DEMO_PRACTICE,
                website="https://brightsmiles.example",
                phone="+12025550143",
                address_line1="100 Main Street",
                city="Springfield",
                state="IL",
                postal_code="62701",
            )
        other = Practice.objects.filter(name=OTHER_PRACTICE).first()
        if other is None:
            other = Practice.objects.create(
                name=OTHER_PRACTICE,
                website="https://lakeside.example",
                phone="+13125550188",
                address_line1="9 Lake Shore Drive",
                city="Chicago",
                state="IL",
                postal_code="60601",
            )
        general = Specialty.objects.filter(slug="general-dentistry").first()
        # Plans are bought below, through the billing services (free until then).
        people = [
            ("doctor@demo.test", "Jane Roe", User.Kind.DOCTOR, User.Plan.FREE, practice, True),
            ("staff@demo.test", "Sam Front", User.Kind.STAFF, User.Plan.FREE, practice, False),
            ("patient@demo.test", "Pat Smith", User.Kind.PATIENT, User.Plan.FREE, None, False),
            ("surgeon@demo.test", "Omar Lee", User.Kind.DOCTOR, User.Plan.FREE, other, True),
        ]
        users = {}
        for index, (email, name, kind, plan, prac, manager) in enumerate(people):
            user = User.objects.filter(email=email).first()
            if user is None:
                created = True
                user = User.objects.create_user(
                    email,
                    password,
                    full_name=name,
                    kind=kind,
                    plan=plan,
                    practice=prac,
                    is_practice_manager=manager,
                    status=User.Status.ACTIVE,
                    phone=f"+1202555017{index}",
                    phone_verified_at=timezone.now(),
                    specialty=general if kind == User.Kind.DOCTOR else None,
                )
                if kind == User.Kind.DOCTOR and general is not None:
                    user.procedures.set(general.usual_procedures.all())
            elif not user.check_password(password):
                user.set_password(password)
                user.save(update_fields=["password"])
            users[email] = user
        if created:
            _buy_demo_plans(doctor=users["doctor@demo.test"], staff=users["staff@demo.test"])
            send_message(
                sender=users["doctor@demo.test"],
                recipients=[RecipientSpec(email="patient@demo.test")],
                subject="Your cleaning next Tuesday",
                body=(
                    "Hi Pat,\n\nThis is a demo secure message. Reply to it from the patient "
                    "account to see the conversation as a thread.\n\nDr. Roe"
                ),
            )
    return created


def _buy_demo_plans(*, doctor: User, staff: User) -> None:
    """The demo doctor's own annual plan, and a monthly one the doctor (the practice's user
    manager) bought for the staff member: through the test processor's card page, as a
    person would. With another processor configured, the plans are simply set."""
    from securemail.billing import services as billing
    from securemail.billing.processors import processor
    from securemail.billing.processors.local import LocalProcessor, TestCard

    local = processor()
    if not isinstance(local, LocalProcessor):
        User.objects.filter(pk__in=[doctor.pk, staff.pk]).update(plan=User.Plan.PAID)
        return
    card = TestCard(number="4242424242424242", exp_month=12, exp_year=2034, cvc="123")
    for started in (
        billing.start_own_purchase(member=doctor, plan_code="annual"),
        billing.start_purchase_for_member(manager=doctor, member=staff, plan_code="monthly"),
    ):
        checkout_id = started.url.rstrip("/").rsplit("/", 1)[-1]
        local.pay(checkout_id, card)
        billing.confirm_checkout(actor=doctor, checkout_id=checkout_id)
    for person in (doctor, staff):
        person.refresh_from_db(fields=["plan"])
