"""`.env.example` and README's configuration table: every variable production requires is
there, and the example file can be sourced by a shell (`set -a; . ./.env`)."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# What settings.py refuses to start without when DEBUG is off.
REQUIRED = [
    "SECRET_KEY",
    "SECUREMAIL_BASE_URL",
    "ALLOWED_HOSTS",
    "EMAIL_URL",
    "SMS_PROVIDER",
    "SECUREMAIL_KEYS",
    "SECUREMAIL_RATCHET_FILE",
    "SECUREMAIL_AUDIT_KEY",
    "PAYMENT_PROCESSOR",
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "STRIPE_PRICE_MONTHLY",
    "STRIPE_PRICE_ANNUAL",
]


def _sourced() -> dict[str, str]:
    result = subprocess.run(
        ["bash", "-c", "set -a; . ./.env.example; env -0"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        check=True,
        timeout=10,
    )
    assert result.stderr == b""
    pairs = (item.split("=", 1) for item in result.stdout.decode().split("\0") if "=" in item)
    return dict(pairs)


def test_the_example_file_sources_in_a_shell_with_every_value_intact() -> None:
    env = _sourced()

    assert env["DEFAULT_FROM_EMAIL"] == "SecureMail <no-reply@securemail.example.com>"
    for name in REQUIRED:
        assert env.get(name), name


def test_readme_lists_every_required_variable_in_its_table_and_refusal_sentence() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = {m.group(1) for m in re.finditer(r"^\| `(\w+)`", readme, re.M)}
    refusal = " ".join(readme.split("refuses to start while", 1)[1].split(".", 1)[0].split())

    assert set(REQUIRED) <= table
    # The keys are named as a group ("the keys"): there are three ways to give them.
    for name in [*REQUIRED[:5], "SECUREMAIL_RATCHET_FILE"]:
        assert f"`{name}`" in refusal, name
    assert "the keys" in refusal
