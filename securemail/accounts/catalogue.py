"""The shipped catalogue of dental and medical specialties and their usual procedures."""

import json
from pathlib import Path
from typing import Any

from django.db import transaction

CATALOGUE_FILE = Path(__file__).parent / "data" / "specialties.json"


def sync_catalogue() -> None:
    """Make the database's catalogue match the shipped file (idempotent)."""
    from securemail.accounts.models import Procedure, Specialty

    data = json.loads(CATALOGUE_FILE.read_text(encoding="utf-8"))
    with transaction.atomic():
        procedures: dict[str, Procedure] = {}
        for item in data["procedures"]:
            procedures[item["slug"]], _ = Procedure.objects.update_or_create(
                slug=item["slug"], defaults={"name": item["name"]}
            )
        for item in data["specialties"]:
            specialty, _ = Specialty.objects.update_or_create(
                slug=item["slug"], defaults={"name": item["name"], "field": item["field"]}
            )
            specialty.usual_procedures.set([procedures[slug] for slug in item["procedures"]])


def sync_after_migrate(**_signal: Any) -> None:
    sync_catalogue()
