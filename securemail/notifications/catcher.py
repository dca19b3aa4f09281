"""The local mail catcher for development: an SMTP server on loopback that keeps every
message as a file under `var/mailcatcher/`, shown at /dev/mail/ while DEBUG is on."""

import email
import email.policy
import time
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class _SaveToDirectory:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
        (self.directory / name).write_bytes(envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"


def start_catcher(directory: Path, *, port: int) -> Controller:
    controller = Controller(_SaveToDirectory(directory), hostname="127.0.0.1", port=port)
    controller.start()
    return controller


@dataclass
class CaughtMail:
    name: str
    to: str
    subject: str
    date: str
    text: str
    html: str


def _parse(path: Path) -> CaughtMail:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    return CaughtMail(
        name=path.name,
        to=str(message.get("To", "")),
        subject=str(message.get("Subject", "")),
        date=str(message.get("Date", "")),
        text=text_part.get_content() if text_part is not None else "",
        html=html_part.get_content() if html_part is not None else "",
    )


def list_caught(directory: Path, limit: int = 200) -> list[CaughtMail]:
    if not directory.exists():
        return []
    files = sorted(directory.glob("*.eml"), reverse=True)[:limit]
    return [_parse(path) for path in files]


def get_caught(directory: Path, name: str) -> CaughtMail | None:
    path = directory / name
    if "/" in name or not name.endswith(".eml") or not path.is_file():
        return None
    return _parse(path)
