"""Model instances from one statement of constant text, for the few reads every request
makes (the session's user). Building a query with the ORM costs more than running it here
(about 0.4 ms a query on this project's pages, bench/served.py); a statement written once
and kept skips that, and this module turns its rows into the same instances the ORM would
give, with the same conversions (Django's own converters of each field and backend).

Plumbing only: what to read, and for whom, is the caller's rule."""

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Field, Model
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init

Converter = Callable[[Any, Any, Any], Any]


class Columns:
    """The concrete columns of `model`, in order (or only the fields named in `only`, the
    rest deferred, as the ORM's only()): their SQL (qualified by the table) and how to turn
    what the database returns into what the model's fields hold."""

    def __init__(self, model: type[Model], only: tuple[str, ...] = ()) -> None:
        quote = connection.ops.quote_name
        table = model._meta.db_table
        self.model = model
        self.table = quote(table)
        wanted = {model._meta.get_field(name).name for name in only} | {model._meta.pk.name}
        self.fields: list[Field[Any, Any]] = [
            f for f in model._meta.concrete_fields if not only or f.name in wanted
        ]
        self.names = [f.attname for f in self.fields]
        self.deferred = len(self.fields) != len(model._meta.concrete_fields)
        self.sql = ", ".join(f"{self.table}.{quote(str(f.column))}" for f in self.fields)
        self.converters = converters_of(self.fields)

    def column(self, name: str) -> str:
        field = self.model._meta.get_field(name)
        assert isinstance(field, Field)
        return f"{self.table}.{connection.ops.quote_name(str(field.column))}"

    def instance(self, values: Sequence[Any]) -> Model:
        row = converted(values, self.converters)
        if self.deferred or _has_init_receivers(self.model):
            return self.model.from_db(connection.alias, self.names, row)
        # What Model.from_db ends with (each field's value in the instance's dict, a state
        # saying it came from this database), without Model.__init__'s generic argument
        # handling: building some forty instances was a tenth of the conversation page.
        new = self.model.__new__(self.model)
        new.__dict__.update(zip(self.names, row, strict=True))
        state = new._state = ModelState()
        state.adding = False
        state.db = connection.alias
        return new


def _has_init_receivers(model: type[Model]) -> bool:
    """Whether anything listens for this model's instances being built (then they are built
    by Model.__init__, which sends those signals)."""
    return pre_init.has_listeners(model) or post_init.has_listeners(model)


Converters = list[tuple[int, list[Converter], Any]]


def converters_of(fields: "Sequence[Field[Any, Any]]") -> Converters:
    """What turns the database's value of each of these fields (a row's columns, in this
    order, of any tables) into what the field holds: Django's converters of the field and
    of the backend in use, by position; positions that need none are left out."""
    found: Converters = []
    for position, field in enumerate(fields):
        column = field.get_col(field.model._meta.db_table)
        steps = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if steps:
            found.append((position, steps, column))
    return found


def converted(values: Sequence[Any], converters: Converters) -> list[Any]:
    """A row as the database returned it, with `converters` (converters_of) applied."""
    row = list(values)
    for position, steps, column in converters:
        for convert in steps:
            row[position] = convert(row[position], column, connection)
    return row


@cache
def columns(model: type[Model], _vendor: str, only: tuple[str, ...] = ()) -> Columns:
    """`Columns` of `model` for the database in use (`_vendor` keys the cache)."""
    return Columns(model, only)


def columns_of(model: type[Model], only: tuple[str, ...] = ()) -> Columns:
    return columns(model, connection.vendor, only)


def fetch(
    model: type[Model], tail: str, params: Sequence[Any], *, only: tuple[str, ...] = ()
) -> list[Any]:
    """Instances of `model` from `SELECT <its columns> FROM <its table> <tail>`: `tail` is
    the caller's constant text (WHERE, ORDER BY) naming columns through `columns_of`. With
    `only`, just those fields (and the primary key) are read, the others deferred."""
    found = columns_of(model, only)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {found.sql} FROM {found.table} {tail}", params)  # noqa: S608
        return [found.instance(row) for row in cursor.fetchall()]
