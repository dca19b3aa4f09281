"""The shipped catalogue of specialties and procedures is in the database after migrate, and
a sync puts back exactly the file's contents: names, fields and usual procedures."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from securemail.accounts.catalogue import CATALOGUE_FILE, sync_catalogue
from securemail.accounts.models import Procedure, Specialty

pytestmark = pytest.mark.django_db

DATA = json.loads(CATALOGUE_FILE.read_text(encoding="utf-8"))


def _usual() -> dict[str, set[str]]:
    return {
        s.slug: {p.slug for p in s.usual_procedures.all()}
        for s in Specialty.objects.prefetch_related("usual_procedures")
    }


def _expected() -> dict[str, set[str]]:
    return {item["slug"]: set(item["procedures"]) for item in DATA["specialties"]}


def test_the_database_holds_the_shipped_catalogue() -> None:
    assert Procedure.objects.count() == len(DATA["procedures"])
    assert _usual() == _expected()
    fields = dict(Specialty.objects.values_list("slug", "field"))
    assert fields == {item["slug"]: item["field"] for item in DATA["specialties"]}


def test_a_sync_with_nothing_to_change_only_reads() -> None:
    with CaptureQueriesContext(connection) as queries:
        sync_catalogue()

    writes = [q["sql"] for q in queries if q["sql"].split()[0] in {"INSERT", "UPDATE", "DELETE"}]
    assert writes == []
    assert len(queries) <= 6


def test_a_sync_repairs_renamed_removed_and_extra_rows() -> None:
    endo = Specialty.objects.get(slug="endodontics")
    some = endo.usual_procedures.first()
    assert some is not None
    endo.usual_procedures.remove(some)
    stray = Procedure.objects.exclude(specialties=endo).first()
    assert stray is not None
    endo.usual_procedures.add(stray)
    Specialty.objects.filter(slug="endodontics").update(name="Renamed")
    Procedure.objects.filter(pk=some.pk).delete()

    sync_catalogue()

    assert Specialty.objects.get(slug="endodontics").name != "Renamed"
    assert _usual() == _expected()
    assert Procedure.objects.count() == len(DATA["procedures"])
