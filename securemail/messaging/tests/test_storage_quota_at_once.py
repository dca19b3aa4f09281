"""The storage quota under concurrency (issue 11): sends whose files each fit in the room
left, but not together, posted at the same moment. The upload handler of each saw the room
free; the services' final check, under a lock on the sender's row, lets exactly one through
(threads with their own database connections; on PostgreSQL, real parallel transactions)."""

import threading
import uuid
from typing import Any

import pytest
from django.db import connection

from securemail.accounts.models import User
from securemail.messaging import services
from securemail.messaging.models import Attachment, Message
from securemail.messaging.quota import storage_use
from tests.support import encrypted_upload

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("own_files")]

TRIES = 6
FILE = 40 * 1024


def test_sends_at_once_that_only_fit_one_at_a_time_store_exactly_one(
    settings: Any, doctor: User, patient: User
) -> None:
    settings.SECUREMAIL_PLANS = {
        code: {**plan, "storage_bytes": FILE + FILE // 2}
        for code, plan in settings.SECUREMAIL_PLANS.items()
    }
    # Encrypted as the compose pages receive them, before the sends start.
    uploads = [encrypted_upload(f"scan-{n}.bin", bytes([n]) * FILE) for n in range(TRIES)]
    start = threading.Barrier(TRIES)
    outcomes: list[str] = [""] * TRIES

    def run(n: int) -> None:
        try:
            start.wait()
            services.send_message(
                sender=User.objects.get(pk=doctor.pk),
                recipients=[services.RecipientSpec(email=patient.email)],
                subject=f"Scan {n}",
                body="Attached.",
                client_token=uuid.uuid4(),
                attachments=[uploads[n]],
            )
            outcomes[n] = "sent"
        except services.MessagingError as refusal:
            outcomes[n] = str(refusal)
        except Exception as error:  # anything else is named in the assertion below
            outcomes[n] = f"error: {error!r}"
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(TRIES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes.count("sent") == 1, outcomes
    refusals = [o for o in outcomes if o != "sent"]
    assert all(
        o.startswith("These files would pass your storage quota: 40 KB used of 60 KB; 20 KB left.")
        for o in refusals
    ), refusals
    assert Message.objects.count() == 1
    assert Attachment.objects.count() == 1
    assert storage_use(doctor).used == FILE
