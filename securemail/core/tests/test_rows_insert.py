"""core.rows.insert writes rows by a statement of constant text: the rows the ORM would
write, the database's keys back in the rows' order, conflicts resolved as asked, on both
databases (SQLite in statements of a bounded number of rows)."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import DatabaseError, connection, transaction

from securemail.core import rows

pytestmark = pytest.mark.django_db


def _types(count: int, label: str = "rows_test") -> list[int]:
    return rows.insert(
        ContentType,
        shared={"app_label": label},
        each=("model",),
        rows=[(f"model{n}",) for n in range(count)],
    )


@pytest.mark.parametrize("count", [1, 3, 40])
def test_rows_are_stored_and_their_keys_come_back_in_order(count: int) -> None:
    keys = _types(count)

    assert keys == sorted(keys)
    assert len(set(keys)) == count
    stored = ContentType.objects.filter(app_label="rows_test").order_by("pk")
    assert [(t.pk, t.model) for t in stored] == [(k, f"model{n}") for n, k in enumerate(keys)]


def test_sqlite_splits_many_rows_into_statements(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rows, "SQLITE_ROWS", 2)

    keys = _types(5)

    stored = ContentType.objects.filter(app_label="rows_test").order_by("pk")
    assert [(t.pk, t.model) for t in stored] == [(k, f"model{n}") for n, k in enumerate(keys)]


def test_foreign_keys_and_per_row_values(django_assert_num_queries: object) -> None:
    (type_id,) = _types(1)

    with django_assert_num_queries(1):  # type: ignore[operator]
        keys = rows.insert(
            Permission,
            shared={"content_type_id": type_id},
            each=("codename", "name"),
            rows=[("a", "Can a"), ("b", "Can b")],
        )

    stored = Permission.objects.filter(content_type_id=type_id).order_by("pk")
    assert [(p.pk, p.codename, p.name) for p in stored] == [
        (keys[0], "a", "Can a"),
        (keys[1], "b", "Can b"),
    ]


def test_a_conflict_is_left_alone_or_updated() -> None:
    (type_id,) = _types(1)
    first = Permission.objects.create(content_type_id=type_id, codename="a", name="old")

    rows.insert(
        Permission,
        shared={"content_type_id": type_id},
        each=("codename", "name"),
        rows=[("a", "ignored"), ("b", "new b")],
        conflict=("content_type", "codename"),
    )
    assert dict(
        Permission.objects.filter(content_type_id=type_id).values_list("codename", "name")
    ) == {
        "a": "old",
        "b": "new b",
    }

    rows.insert(
        Permission,
        shared={"content_type_id": type_id},
        each=("codename", "name"),
        rows=[("a", "updated")],
        conflict=("content_type", "codename"),
        update=("name",),
    )
    first.refresh_from_db()
    assert first.name == "updated"


def test_a_duplicate_key_fails_as_the_orms_insert_does() -> None:
    _types(1)
    with pytest.raises(DatabaseError), transaction.atomic():
        _types(1)


def test_a_value_too_long_for_its_column_is_refused_not_cut_short() -> None:
    if connection.vendor == "sqlite":
        # SQLite enforces no length: the value is kept whole, never cut short.
        rows.insert(ContentType, shared={"app_label": "x" * 101}, each=("model",), rows=[("m",)])
        assert ContentType.objects.get(model="m").app_label == "x" * 101
        return
    with pytest.raises(DatabaseError), transaction.atomic():
        rows.insert(ContentType, shared={"app_label": "x" * 101}, each=("model",), rows=[("m",)])


def test_columns_are_named_once_and_exist() -> None:
    with pytest.raises(ValueError, match="once"):
        rows.Insert(ContentType, shared=("model",), each=("model",))
    with pytest.raises(ValueError, match="no column"):
        rows.Insert(ContentType, shared=(), each=("nothing",))


def test_objects_are_inserted_given_their_keys_and_marked_saved() -> None:
    one = ContentType(app_label="rows_test", model="single")
    many = [ContentType(app_label="rows_test", model=f"m{n}") for n in range(3)]

    rows.insert_objects([one])
    rows.insert_objects(many, shared=("app_label",))

    stored = list(ContentType.objects.filter(app_label="rows_test").order_by("pk"))
    assert [(t.pk, t.model) for t in stored] == [(t.pk, t.model) for t in [one, *many]]
    assert all(t.pk is not None and not t._state.adding for t in [one, *many])
    # Saved: a later save() updates the row.
    one.model = "renamed"
    one.save()
    assert ContentType.objects.filter(app_label="rows_test", model="renamed").count() == 1


def test_objects_that_differ_in_a_shared_column_are_refused() -> None:
    differing = [ContentType(app_label="a", model="x"), ContentType(app_label="b", model="y")]
    with pytest.raises(ValueError, match="app_label"):
        rows.insert_objects(differing, shared=("app_label",))
    assert not ContentType.objects.filter(model__in=["x", "y"]).exists()


@pytest.mark.parametrize("count", [0, 1, 3])
def test_among_matches_the_orms_in(count: int) -> None:
    _types(4)
    wanted = [f"model{n}" for n in range(count)]
    column = rows.columns_of(ContentType).column("model")
    where, params = rows.among(column, wanted)

    found = rows.fetch(ContentType, f"WHERE {where} AND app_label = %s", [*params, "rows_test"])

    assert {t.model for t in found} == set(
        ContentType.objects.filter(model__in=wanted, app_label="rows_test").values_list(
            "model", flat=True
        )
    )
