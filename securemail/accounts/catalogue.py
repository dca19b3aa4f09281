"""The shipped catalogue of dental and medical specialties and their usual procedures."""

import json
from pathlib import Path
from typing import Any

from django.db import transaction

CATALOGUE_FILE = Path(__file__).parent / "data" / "specialties.json"


def sync_catalogue() -> None:
    """Make the database's catalogue match the shipped file (idempotent). Reads what is
    there in three queries and writes only the differences, in bulk: it runs after every
    migrate and every test database flush."""
    from securemail.accounts.models import Procedure, Specialty

    data = json.loads(CATALOGUE_FILE.read_text(encoding="utf-8"))
    with transaction.atomic():
        procedures = _sync_rows(Procedure, data["procedures"], ["name"])
        specialties = _sync_rows(Specialty, data["specialties"], ["name", "field"])
        through = Specialty.usual_procedures.through
        have = set(through.objects.values_list("specialty_id", "procedure_id"))
        want = {
            (specialties[item["slug"]].pk, procedures[slug].pk)
            for item in data["specialties"]
            for slug in item["procedures"]
        }
        through.objects.bulk_create(
            [through(specialty_id=s, procedure_id=p) for s, p in sorted(want - have)]
        )
        for specialty_id, procedure_id in have - want:
            through.objects.filter(specialty_id=specialty_id, procedure_id=procedure_id).delete()


def _sync_rows(model: Any, items: list[dict[str, Any]], fields: list[str]) -> dict[str, Any]:
    """Rows of `model` by slug, created or updated to match `items`."""
    rows = {row.slug: row for row in model.objects.all()}
    new, changed = [], []
    for item in items:
        row = rows.get(item["slug"])
        if row is None:
            new.append(model(slug=item["slug"], **{f: item[f] for f in fields}))
        elif any(getattr(row, f) != item[f] for f in fields):
            for f in fields:
                setattr(row, f, item[f])
            changed.append(row)
    if changed:
        model.objects.bulk_update(changed, fields)
    for row in model.objects.bulk_create(new):
        rows[row.slug] = row
    if any(row.pk is None for row in rows.values()):
        # Backends that don't return ids from a bulk insert: read them back.
        rows = {row.slug: row for row in model.objects.all()}
    return rows


def sync_after_migrate(**_signal: Any) -> None:
    sync_catalogue()
