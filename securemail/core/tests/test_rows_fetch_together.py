"""core.rows.fetch_together reads several parts (each one model or a join) in one round trip
on PostgreSQL, each part's rows in its own order and as the ORM's instances; on SQLite a
statement per part, with the same results."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext

from securemail.core import rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def types() -> list[ContentType]:
    made = [ContentType.objects.create(app_label="rows_test", model=m) for m in ("b", "c", "a")]
    for n, content_type in enumerate(made):
        for codename in (f"z{n}", f"y{n}"):
            Permission.objects.create(
                content_type=content_type, codename=codename, name=f"Can {codename}"
            )
    return made


def _parts() -> list[rows.Part]:
    types_, permissions = rows.columns_of(ContentType), rows.columns_of(Permission)
    return [
        rows.Part(
            [types_],
            f"FROM {types_.table} WHERE {types_.column('app_label')} = %s",
            ["rows_test"],
            order=f"{types_.column('model')} DESC",
        ),
        # A join whose other side is missing for some rows (LEFT JOIN: None there).
        rows.Part(
            [permissions, types_],
            f"FROM {permissions.table} LEFT JOIN {types_.table}"
            f" ON {types_.column('id')} = {permissions.column('content_type')}"
            f" AND {types_.column('model')} = %s"
            f" WHERE {permissions.column('codename')} LIKE %s",
            ["a", "y_"],
            order=permissions.column("codename"),
        ),
        # A part that matches nothing.
        rows.Part(
            [types_],
            f"FROM {types_.table} WHERE {types_.column('app_label')} = %s",
            ["nothing_here"],
            order=types_.column("id"),
        ),
    ]


def test_each_part_comes_back_in_its_order_as_the_orms_instances(types: list[ContentType]) -> None:
    with CaptureQueriesContext(connection) as queries:
        found_types, found_permissions, nothing = rows.fetch_together(_parts())

    assert len(queries) == (1 if connection.vendor == "postgresql" else 3)
    assert [(t,) for t in ContentType.objects.filter(app_label="rows_test").order_by("-model")] == (
        found_types
    )
    assert [t.model for (t,) in found_types] == ["c", "b", "a"]
    assert nothing == []

    expected = list(Permission.objects.filter(codename__startswith="y").order_by("codename"))
    assert [p for p, _ in found_permissions] == expected
    for permission, joined in found_permissions:
        # Field for field what the ORM reads, of the right types.
        orm = Permission.objects.get(pk=permission.pk)
        assert (permission.codename, permission.name, permission.content_type_id) == (
            orm.codename,
            orm.name,
            orm.content_type_id,
        )
        assert not permission._state.adding
        if permission.content_type_id == types[2].pk:  # the "a" type
            assert joined == types[2]
            assert isinstance(joined.pk, int)
        else:
            assert joined is None


def test_a_with_clause_is_shared_by_the_parts(types: list[ContentType]) -> None:
    types_, permissions = rows.columns_of(ContentType), rows.columns_of(Permission)
    chosen = "IN (SELECT id_ FROM chosen_)"
    found = rows.fetch_together(
        [
            rows.Part(
                [types_],
                f"FROM {types_.table} WHERE {types_.column('id')} {chosen}",
                [],
                order=types_.column("id"),
            ),
            rows.Part(
                [permissions],
                f"FROM {permissions.table} WHERE {permissions.column('content_type')} {chosen}",
                [],
                order=permissions.column("codename"),
            ),
        ],
        with_=f"WITH chosen_ AS (SELECT {types_.column('id')} AS id_ FROM {types_.table}"  # noqa: S608
        f" WHERE {types_.column('model')} IN (%s, %s))",
        with_params=["a", "b"],
    )

    assert [t for (t,) in found[0]] == sorted([types[0], types[2]], key=lambda t: t.pk)
    assert [p.codename for (p,) in found[1]] == ["y0", "y2", "z0", "z2"]
