"""The storage quota under concurrency (issue 11): sends whose files each fit in the room
left, but not together, posted at the same moment. The upload handler of each saw the room
free; the services' final check, under a lock on the sender's row, lets exactly one through
(threads with their own database connections; on PostgreSQL, real parallel transactions).
Also: two people sending each other files at the same moment, and one Send clicked twice."""

import threading
import uuid
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from django.db import connection

from securemail.accounts.models import User
from securemail.messaging import services
from securemail.messaging.models import Attachment, Message
from securemail.messaging.quota import storage_use
from securemail.messaging.tests.helpers import blob_files
from tests.support import blob_path, encrypted_upload

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("own_files")]

TRIES = 6
FILE = 40 * 1024
ROUNDS = 4


def _quota(settings: Any, size: int) -> None:
    settings.SECUREMAIL_PLANS = {
        code: {**plan, "storage_bytes": size} for code, plan in settings.SECUREMAIL_PLANS.items()
    }


def _at_once(*sends: Callable[[], Message]) -> list[str]:
    """Run each send in its own thread, released together; what each ended with: the id of
    the message it returned, or its refusal or error."""
    start = threading.Barrier(len(sends))
    outcomes = [""] * len(sends)

    def run(n: int) -> None:
        try:
            start.wait()
            outcomes[n] = str(sends[n]().pk)
        except services.MessagingError as refusal:
            outcomes[n] = f"refused: {refusal}"
        except Exception as error:  # anything else is named in the assertions
            outcomes[n] = f"error: {error!r}"
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(sends))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_sends_at_once_that_only_fit_one_at_a_time_store_exactly_one(
    settings: Any, doctor: User, patient: User
) -> None:
    _quota(settings, FILE + FILE // 2)
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


def _send_file(sender: User, to: User, name: str, token: uuid.UUID | None = None) -> Message:
    return services.send_message(
        sender=User.objects.get(pk=sender.pk),
        recipients=[services.RecipientSpec(email=to.email)],
        subject=f"Scan {name}",
        body="Attached.",
        client_token=token or uuid.uuid4(),
        attachments=[encrypted_upload(name, b"x" * FILE)],
    )


def test_two_people_sending_each_other_files_at_the_same_moment_both_send(
    doctor: User, staff: User
) -> None:
    # Each send locks its sender's row for the quota and puts the message in the other's
    # mailbox (a row referencing the other's account): neither may wait for the other.
    for n in range(ROUNDS):
        outcomes = _at_once(
            partial(_send_file, doctor, staff, f"to-sam-{n}.bin"),
            partial(_send_file, staff, doctor, f"to-jane-{n}.bin"),
        )

        assert not [o for o in outcomes if o.startswith(("refused", "error"))], outcomes
    assert Message.objects.filter(sender=doctor).count() == ROUNDS
    assert Message.objects.filter(sender=staff).count() == ROUNDS
    assert storage_use(doctor).used == storage_use(staff).used == ROUNDS * FILE


def test_a_send_clicked_twice_at_once_with_room_for_one_copy_sends_it_once(
    settings: Any, doctor: User, patient: User
) -> None:
    # The second click waits for the first's lock on the quota; it then finds the message
    # the first one sent, not a quota that its own copy would pass.
    for n in range(ROUNDS):
        _quota(settings, n * FILE + FILE + FILE // 2)
        token = uuid.uuid4()
        before = blob_files()

        outcomes = _at_once(
            partial(_send_file, doctor, patient, "scan.bin", token),
            partial(_send_file, doctor, patient, "scan.bin", token),
        )

        message = Message.objects.get(client_token=token)
        assert outcomes == [str(message.pk)] * 2, outcomes
        attachment = Attachment.objects.get(message=message)
        # The repeat's file was encrypted as it arrived; it must not stay behind.
        assert blob_files() - before == {blob_path(attachment.blob_name)}
    assert Message.objects.count() == ROUNDS
    assert storage_use(doctor).used == ROUNDS * FILE
