"""Text messages and voice calls (SPEC §3 codes): the Twilio provider against a fake Twilio
on loopback, and the local provider that turns texts into emails."""

import base64
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest

from securemail.notifications.sms import (
    LocalSmsProvider,
    SmsError,
    TwilioSmsProvider,
    get_provider,
)
from tests.support import email_text, free_port, unreachable_mailers

SID = "AC0123456789abcdef0123456789abcdef"
TOKEN = "twilio-auth-token-for-tests"
FROM = "+12025550100"


class FakeTwilio(ThreadingHTTPServer):
    """Records each request; answers with `status`."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _TwilioHandler)
        self.requests: list[dict[str, Any]] = []
        self.status = 201

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _TwilioHandler(BaseHTTPRequestHandler):
    server: FakeTwilio

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode()
        self.server.requests.append(
            {
                "path": self.path,
                "authorization": self.headers.get("Authorization"),
                "content_type": self.headers.get("Content-Type"),
                "form": {k: v[0] for k, v in parse_qs(body).items()},
            }
        )
        payload = b'{"sid": "SM0001", "status": "queued"}'
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def fake_twilio(settings: Any) -> Iterator[FakeTwilio]:
    server = FakeTwilio()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    settings.SMS_PROVIDER = "twilio"
    settings.TWILIO_API_BASE = server.base_url + "/"
    settings.TWILIO_ACCOUNT_SID = SID
    settings.TWILIO_AUTH_TOKEN = TOKEN
    settings.TWILIO_FROM_NUMBER = FROM
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_twilio_provider_posts_the_text_with_basic_auth(fake_twilio: FakeTwilio) -> None:
    provider = get_provider()
    assert isinstance(provider, TwilioSmsProvider)

    provider.send_text(to="+12025550177", text="Your SecureMail code is 482913")

    [request] = fake_twilio.requests
    assert request["path"] == f"/2010-04-01/Accounts/{SID}/Messages.json"
    expected = base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert request["authorization"] == f"Basic {expected}"
    assert request["content_type"] == "application/x-www-form-urlencoded"
    assert request["form"] == {
        "To": "+12025550177",
        "From": FROM,
        "Body": "Your SecureMail code is 482913",
    }


def test_twilio_provider_places_calls_with_escaped_twiml(fake_twilio: FakeTwilio) -> None:
    get_provider().place_call(to="+12025550177", spoken_text="Your code is 4 8 2 <9> & 1 3")

    [request] = fake_twilio.requests
    assert request["path"] == f"/2010-04-01/Accounts/{SID}/Calls.json"
    assert request["form"]["To"] == "+12025550177"
    assert request["form"]["From"] == FROM
    assert request["form"]["Twiml"] == (
        '<Response><Say loop="2">Your code is 4 8 2 &lt;9&gt; &amp; 1 3</Say></Response>'
    )


@pytest.mark.parametrize("status", [400, 401, 500, 503])
def test_twilio_error_answer_raises_sms_error(status: int, fake_twilio: FakeTwilio) -> None:
    fake_twilio.status = status

    with pytest.raises(SmsError):
        get_provider().send_text(to="+12025550177", text="Your code is 482913")

    assert len(fake_twilio.requests) == 1


def test_unreachable_twilio_raises_sms_error(fake_twilio: FakeTwilio, settings: Any) -> None:
    settings.TWILIO_API_BASE = f"http://127.0.0.1:{free_port()}"

    with pytest.raises(SmsError):
        get_provider().send_text(to="+12025550177", text="Your code is 482913")

    assert fake_twilio.requests == []


@pytest.mark.smtp
def test_local_provider_mails_texts_to_the_digits_at_sms_invalid(
    settings: Any, smtp_server: Any
) -> None:
    settings.SMS_PROVIDER = "local"
    provider = get_provider()
    assert isinstance(provider, LocalSmsProvider)

    provider.send_text(to="+1 (202) 555-0177", text="Your SecureMail code is 482913")
    provider.place_call(to="+12025550177", spoken_text="Your code is 4 8 2 9 1 3")

    text, call = smtp_server.wait_for("12025550177@sms.invalid", count=2)
    assert str(text["To"]) == "12025550177@sms.invalid"
    assert text["Subject"] == "SMS to +1 (202) 555-0177"
    assert "Your SecureMail code is 482913" in email_text(text)
    assert call["Subject"] == "Voice call to +12025550177"
    assert "4 8 2 9 1 3" in email_text(call)


def test_local_provider_raises_sms_error_when_mail_is_down(settings: Any) -> None:
    settings.SMS_PROVIDER = "local"
    settings.MAILERS = unreachable_mailers()

    with pytest.raises(SmsError):
        get_provider().send_text(to="+12025550177", text="Your code is 482913")
