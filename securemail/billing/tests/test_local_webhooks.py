"""The built-in test processor's events take the same path as Stripe's: POST
/billing/webhook/stripe/, signed the way Stripe signs (signing.sign, with the test
processor's own secret), verified on the raw body before anything is read."""

import json

import pytest
from django.test import Client

from securemail.billing.models import ProcessorEvent
from securemail.billing.processors import signing
from securemail.billing.processors.local import webhook_secret

pytestmark = pytest.mark.django_db


def _event(event_id: str = "levt_1") -> bytes:
    return json.dumps(
        {
            "id": event_id,
            "type": "customer.subscription.updated",
            "data": {"object": {"id": "lsub_gone", "object": "subscription"}},
        }
    ).encode()


def _post(payload: bytes, signature: str) -> int:
    return (
        Client()
        .post(
            "/billing/webhook/stripe/",
            payload,
            content_type="application/json",
            headers={"stripe-signature": signature},
        )
        .status_code
    )


def test_a_signed_event_is_received_and_recorded_once() -> None:
    payload = _event()

    assert _post(payload, signing.sign(payload, webhook_secret())) == 200
    assert _post(payload, signing.sign(payload, webhook_secret())) == 200

    assert ProcessorEvent.objects.filter(event_id="levt_1").count() == 1


@pytest.mark.parametrize(
    "signature",
    ["no timestamp", "too old", "another secret", "no v1", "not an event"],
)
def test_an_event_that_does_not_verify_is_refused(signature: str) -> None:
    payload = _event()
    header = {
        "no timestamp": "v1=abc",
        "too old": signing.sign(payload, webhook_secret(), at=1_700_000_000),
        "another secret": signing.sign(payload, "not the secret"),
        "no v1": signing.sign(payload, webhook_secret()).split(",")[0],
        "not an event": "",
    }[signature]
    if signature == "not an event":
        payload = b'{"id": "levt_2"}'
        header = signing.sign(payload, webhook_secret())

    assert _post(payload, header) == 400
    assert not ProcessorEvent.objects.exists()
