"""Text messages and voice calls for verification codes, behind a small interface.

`local` hands every text to the configured mailer as an email to
`<E.164 digits>@sms.invalid`, so development's mail catcher and the tests' SMTP server see
it; `twilio` uses Twilio's REST API. Texts never carry PHI: only codes and links.
"""

import base64
import logging
import urllib.parse
import urllib.request
from typing import Protocol
from xml.sax.saxutils import escape

from django.conf import settings
from django.core.mail import EmailMessage

logger = logging.getLogger(__name__)


class SmsError(Exception):
    """The provider could not take the text or call."""


class SmsProvider(Protocol):
    def send_text(self, *, to: str, text: str) -> None: ...

    def place_call(self, *, to: str, spoken_text: str) -> None: ...


class LocalSmsProvider:
    def _deliver(self, to: str, subject: str, text: str) -> None:
        digits = "".join(ch for ch in to if ch.isdigit())
        message = EmailMessage(
            subject=subject,
            body=text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[f"{digits}@sms.invalid"],
        )
        try:
            message.send()
        except OSError as error:
            raise SmsError(str(error)) from error

    def send_text(self, *, to: str, text: str) -> None:
        self._deliver(to, f"SMS to {to}", text)

    def place_call(self, *, to: str, spoken_text: str) -> None:
        self._deliver(to, f"Voice call to {to}", spoken_text)


class TwilioSmsProvider:
    def __init__(self) -> None:
        self.account = settings.TWILIO_ACCOUNT_SID
        self.token = settings.TWILIO_AUTH_TOKEN
        self.sender = settings.TWILIO_FROM_NUMBER
        self.base = settings.TWILIO_API_BASE.rstrip("/")

    def _post(self, resource: str, fields: dict[str, str]) -> None:
        url = f"{self.base}/2010-04-01/Accounts/{self.account}/{resource}.json"
        credentials = base64.b64encode(f"{self.account}:{self.token}".encode()).decode()
        request = urllib.request.Request(  # noqa: S310 - the URL is from settings
            url,
            data=urllib.parse.urlencode(fields).encode(),
            headers={"Authorization": f"Basic {credentials}"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310
                if response.status >= 300:
                    raise SmsError(f"Twilio answered {response.status}")
        except OSError as error:
            logger.warning("sms: Twilio request failed: %s", type(error).__name__)
            raise SmsError("Twilio request failed") from error

    def send_text(self, *, to: str, text: str) -> None:
        self._post("Messages", {"To": to, "From": self.sender, "Body": text})

    def place_call(self, *, to: str, spoken_text: str) -> None:
        twiml = f'<Response><Say loop="2">{escape(spoken_text)}</Say></Response>'
        self._post("Calls", {"To": to, "From": self.sender, "Twiml": twiml})


def get_provider() -> SmsProvider:
    if settings.SMS_PROVIDER == "twilio":
        return TwilioSmsProvider()
    return LocalSmsProvider()
