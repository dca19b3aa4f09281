"""Model instances from one statement of constant text, for the few reads every request
makes (the session's user). Building a query with the ORM costs more than running it here
(about 0.4 ms a query on this project's pages, bench/served.py); a statement written once
and kept skips that, and this module turns its rows into the same instances the ORM would
give, with the same conversions (Django's own converters of each field and backend).

Plumbing only: what to read, and for whom, is the caller's rule."""

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from typing import Any

from django.conf import settings
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
        return f"{self.table}.{self.bare(name)}"

    def bare(self, name: str) -> str:
        """The column of field `name`, quoted, not qualified by its table: where SQL wants
        it so (an INSERT's column list, an UPDATE's SET)."""
        field = self.model._meta.get_field(name)
        assert isinstance(field, Field)
        return connection.ops.quote_name(str(field.column))

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
    with connection.cursor() as cursor, kept_prepared():
        cursor.execute(f"SELECT {found.sql} FROM {found.table} {tail}", params)  # noqa: S608
        return [found.instance(row) for row in cursor.fetchall()]


class Part:
    """One part of `fetch_together`: rows holding the columns of `reads` (one model, or a
    join of several: `tail` says FROM which tables, joined how, WHERE what, in the caller's
    constant text naming columns through `columns_of`), ordered by `order` (SQL), with
    `params` for `tail`'s placeholders."""

    def __init__(
        self, reads: Sequence[Columns], tail: str, params: Sequence[Any], *, order: str
    ) -> None:
        self.reads = tuple(reads)
        self.tail = tail
        self.params = list(params)
        self.order = order
        self.width = sum(len(c.fields) for c in self.reads)
        # Where each model's columns are in a row of this part, and its primary key.
        self._slices: list[tuple[Columns, int, int, int]] = []
        start = 0
        for read in self.reads:
            end = start + len(read.fields)
            key = start + read.names.index(read.model._meta.pk.attname)
            self._slices.append((read, start, end, key))
            start = end
        # Its columns, and (PostgreSQL) as many typed NULLs: its place in other parts' rows.
        self.select = ", ".join(c.sql for c in self.reads)
        self.nulls = (
            ", ".join(f"NULL::{_cast(f)}" for c in self.reads for f in c.fields)
            if connection.vendor == "postgresql"
            else ""
        )

    def build(self, values: Sequence[Any]) -> tuple[Any, ...]:
        """A row's instances, one per `reads` (None for a LEFT JOIN's missing row: a null
        primary key)."""
        return tuple(
            None if values[key] is None else read.instance(values[start:end])
            for read, start, end, key in self._slices
        )


def fetch_together(
    parts: Sequence[Part], *, with_: str = "", with_params: Sequence[Any] = ()
) -> list[list[tuple[Any, ...]]]:
    """Each part's rows (as tuples of instances, Part.build), in its order, read in one
    round trip on PostgreSQL: a UNION ALL of the parts, each row tagged with its part and
    numbered in its order, the columns of the other parts NULL (a statement of constant
    text, kept prepared). A page's reads that don't depend on each other's results cost one
    round trip, not one each (a round trip cost about 0.25 ms of the web process's CPU
    here, and as long again waiting: bench/served.py). SQLite, in the process, has no round
    trips: a statement per part. `with_` (`WITH name AS (...)`, its `with_params`) is
    written before the statement, for what several parts read (a conversation's messages)."""
    prefix = f"{with_} " if with_ else ""
    results: list[list[tuple[Any, ...]]] = []
    if connection.vendor != "postgresql":
        for part in parts:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"{prefix}SELECT {part.select} {part.tail} ORDER BY {part.order}",
                    [*with_params, *part.params],
                )
                results.append([part.build(row) for row in cursor.fetchall()])
        return results
    branches = []
    for number, part in enumerate(parts):
        columns = [other.select if other is part else other.nulls for other in parts]
        branches.append(
            f"SELECT {number} AS part_, row_number() OVER (ORDER BY {part.order}) AS n_, "
            + ", ".join(columns)
            + f" {part.tail}"
        )
    sql = prefix + " UNION ALL ".join(branches) + " ORDER BY part_, n_"
    results = [[] for _ in parts]
    with connection.cursor() as cursor, kept_prepared():
        cursor.execute(sql, [*with_params, *(value for part in parts for value in part.params)])
        offsets = []
        start = 2
        for part in parts:
            offsets.append(start)
            start += part.width
        for row in cursor.fetchall():
            number = row[0]
            part = parts[number]
            begin = offsets[number]
            results[number].append(part.build(row[begin : begin + part.width]))
    return results


# Rows into a table, by one statement of constant text.
# --------------------------------------------------------------------------------------

# Rows per SQLite statement at most (one placeholder per value; Django batches as much).
SQLITE_ROWS = 500


def _cast(field: "Field[Any, Any]") -> str:
    """The PostgreSQL type a value of `field` is cast to: without its length (an explicit
    cast to varchar(n) would cut a longer value short, where the column refuses it)."""
    return str(field.db_type(connection)).split("(")[0]


class Insert:
    """INSERT of `model`'s rows in one statement whose text depends only on what is given,
    not on the values: `shared` columns take one value for every row (passed once on
    PostgreSQL), `each` columns one per row; every other concrete column takes its field's
    default, as the ORM's insert would (a callable default, such as a UUID key, is called
    for each row), except an auto-incremented key, which the database assigns.

    PostgreSQL: `INSERT ... SELECT <shared>, <each> FROM unnest(<one array per each
    column>) WITH ORDINALITY ... ORDER BY n`, the same text whatever the number of rows.
    SQLite: `INSERT ... VALUES (...), (...)`, one text per number of rows (kept), in
    statements of at most SQLITE_ROWS rows and the connection's variable limit.

    `conflict` names the fields of a unique constraint: a row that conflicts is left alone,
    or has the `update` fields set to its new values (ON CONFLICT ... DO UPDATE). Values go
    through each field's own get_db_prep_save, as the ORM's do. No signals, no pre_save
    (fields with auto_now are refused)."""

    def __init__(
        self,
        model: type[Model],
        *,
        shared: Sequence[str],
        each: Sequence[str],
        conflict: Sequence[str] = (),
        update: Sequence[str] = (),
    ) -> None:
        meta = model._meta
        quote = connection.ops.quote_name
        self.model = model
        self.pk: Field[Any, Any] | None = None
        given = {**dict.fromkeys(shared, "shared"), **dict.fromkeys(each, "each")}
        if len(given) != len(shared) + len(each):
            raise ValueError("Name each column once.")
        # Constant defaults (one value for all rows) and callable ones (called per row).
        self.fixed: list[tuple[Field[Any, Any], Any]] = []
        self.called: list[Field[Any, Any]] = []
        fields = {f.name: f for f in meta.concrete_fields} | {
            f.attname: f for f in meta.concrete_fields
        }
        unknown = set(given) - set(fields)
        if unknown:
            raise ValueError(f"{model.__name__} has no column {sorted(unknown)}")
        # In the order given: the values come in that order.
        self.shared = [fields[name] for name in shared]
        self.each = [fields[name] for name in each]
        named = {f.name for f in (*self.shared, *self.each)}
        for field in meta.concrete_fields:
            if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                raise ValueError(f"{field} is set by pre_save: insert it through the ORM")
            if field.name in named:
                continue
            if field.primary_key and field.get_internal_type().endswith("AutoField"):
                self.pk = field
            elif field.has_default() and callable(field.default):
                self.called.append(field)
            else:
                self.fixed.append((field, field.get_default()))
        # In the statement: the shared values, the fixed defaults, then one per row.
        self.row_fields = [*self.each, *self.called]
        self.scalar_fields = [*self.shared, *(f for f, _ in self.fixed)]
        self.fixed_values = [f.get_db_prep_save(value, connection) for f, value in self.fixed]
        ordered = [*self.scalar_fields, *self.row_fields]
        self.head = (
            f"INSERT INTO {quote(meta.db_table)} "
            f"({', '.join(quote(str(f.column)) for f in ordered)}) "
        )
        self.tail = ""
        if conflict:
            keys = ", ".join(quote(str(fields[name].column)) for name in conflict)
            if update:
                sets = ", ".join(
                    f"{quote(c)} = EXCLUDED.{quote(c)}"
                    for c in (str(fields[name].column) for name in update)
                )
                self.tail = f" ON CONFLICT ({keys}) DO UPDATE SET {sets}"
            else:
                self.tail = f" ON CONFLICT ({keys}) DO NOTHING"
        elif update:
            raise ValueError("`update` needs the `conflict` it resolves.")
        # The keys the database gives (not with `conflict`: RETURNING then leaves rows out).
        self.returning = (
            f" RETURNING {quote(str(self.pk.column))}" if self.pk and not conflict else ""
        )
        if connection.vendor == "postgresql":
            names = [f"c{n}" for n in range(len(self.row_fields))]
            # One row, with nothing per row: its values alone.
            self.one = (
                f"{self.head}SELECT "
                + ", ".join(f"%s::{_cast(f)}" for f in self.scalar_fields)
                + self.tail
                + self.returning
            )
            self.sql = (
                f"{self.head}SELECT "  # noqa: S608
                + ", ".join(
                    [f"%s::{_cast(f)}" for f in self.scalar_fields] + [f"r.{n}" for n in names]
                )
                + " FROM unnest("
                + ", ".join(f"%s::{_cast(f)}[]" for f in self.row_fields)
                + f") WITH ORDINALITY AS r({', '.join(names)}, n) ORDER BY r.n"
                + self.tail
                + self.returning
            )
        self._values: dict[int, str] = {}

    def _sqlite_sql(self, count: int) -> str:
        found = self._values.get(count)
        if found is None:
            row = "(" + ", ".join(["%s"] * (len(self.scalar_fields) + len(self.row_fields))) + ")"
            found = self._values[count] = (
                f"{self.head}VALUES {', '.join([row] * count)}{self.tail}{self.returning}"
            )
        return found

    def _prepared(
        self, shared: Sequence[Any], rows: Sequence[Sequence[Any]]
    ) -> tuple[list[Any], list[list[Any]]]:
        """The shared values and each row's, as the database takes them."""
        if not self.row_fields and len(rows) != 1:
            raise ValueError("Without a column per row, insert one row.")
        scalars = [
            *(f.get_db_prep_save(v, connection) for f, v in zip(self.shared, shared, strict=True)),
            *self.fixed_values,
        ]
        prepared = [
            [
                *(f.get_db_prep_save(v, connection) for f, v in zip(self.each, row, strict=True)),
                *(f.get_db_prep_save(f.get_default(), connection) for f in self.called),
            ]
            for row in rows
        ]
        return scalars, prepared

    def _postgres(self, scalars: list[Any], prepared: list[list[Any]]) -> tuple[str, list[Any]]:
        if not self.row_fields:
            return self.one, scalars
        return self.sql, [*scalars, *map(list, zip(*prepared, strict=True))]

    def statement(
        self, shared: Sequence[Any], rows: Sequence[Sequence[Any]]
    ) -> tuple[str, list[Any]]:
        """PostgreSQL: the statement `run` would execute, and its parameters, for a caller
        that makes it part of a larger one (a data-modifying WITH: one round trip for
        several writes). Its RETURNING, if any, gives the keys (in no particular order)."""
        if connection.vendor != "postgresql":
            raise ValueError("One statement is PostgreSQL's: elsewhere, call run().")
        if not rows:
            raise ValueError("Insert at least one row.")
        return self._postgres(*self._prepared(shared, rows))

    def run(self, shared: Sequence[Any], rows: Sequence[Sequence[Any]]) -> list[Any]:
        """Insert `rows` (values of the `each` columns, in order) with `shared` (values of
        the `shared` columns). Returns the keys the database gave the rows, in the rows'
        order, when it gives them (an auto-incremented key; none with `conflict`)."""
        if not rows:
            return []
        scalars, prepared = self._prepared(shared, rows)
        keys: list[Any] = []
        with connection.cursor() as cursor, kept_prepared():
            if connection.vendor == "postgresql":
                cursor.execute(*self._postgres(scalars, prepared))
                if self.returning:
                    keys = [r[0] for r in cursor.fetchall()]
            else:
                width = len(scalars) + len(self.row_fields)
                step = max(
                    1, min(SQLITE_ROWS, (connection.features.max_query_params or 999) // width)
                )
                for start in range(0, len(prepared), step):
                    chunk = prepared[start : start + step]
                    cursor.execute(
                        self._sqlite_sql(len(chunk)),
                        [value for row in chunk for value in (*scalars, *row)],
                    )
                    if self.returning:
                        keys.extend(sorted(r[0] for r in cursor.fetchall()))
        # Each database hands out ascending keys in the order it inserts the rows (the
        # order of ORDER BY n, or of VALUES), whatever order RETURNING lists them in.
        return sorted(keys) if connection.vendor == "postgresql" else keys


@cache
def inserter(
    model: type[Model],
    shared: tuple[str, ...],
    each: tuple[str, ...],
    conflict: tuple[str, ...] = (),
    update: tuple[str, ...] = (),
    *,
    _vendor: str,
) -> Insert:
    """The `Insert` of these columns for the database in use (kept: its text is built
    once)."""
    return Insert(model, shared=shared, each=each, conflict=conflict, update=update)


def insert(
    model: type[Model],
    *,
    shared: dict[str, Any],
    each: Sequence[str],
    rows: Sequence[Sequence[Any]],
    conflict: Sequence[str] = (),
    update: Sequence[str] = (),
) -> list[Any]:
    """Insert `rows` of `model` by a statement of constant text (`Insert`): `shared` maps
    columns to the one value every row takes, `each` names the columns whose values each
    row of `rows` holds. Returns the database's keys in the rows' order (an
    auto-incremented key, without `conflict`)."""
    return inserter(
        model,
        tuple(shared),
        tuple(each),
        tuple(conflict),
        tuple(update),
        _vendor=connection.vendor,
    ).run(list(shared.values()), rows)


def insert_objects(objects: Sequence[Model], *, shared: Sequence[str] = ()) -> None:
    """Insert model instances (of one model, not yet saved) as `Insert` does, in place of
    their save() or bulk_create(): every concrete column from the instances (`shared` ones,
    by attname, the same in all: ValueError otherwise), none from defaults; a single
    instance's all as shared values. Sets an auto-incremented key on each, and marks them
    saved (as the ORM's save and bulk_create do)."""
    if not objects:
        return
    model = type(objects[0])
    meta = model._meta
    auto = meta.pk if meta.pk.get_internal_type().endswith("AutoField") else None
    columns = [f.attname for f in meta.concrete_fields if f is not auto]
    if len(objects) == 1:
        shared = columns
    each = tuple(name for name in columns if name not in shared)
    first = objects[0]
    for obj in objects[1:]:
        for name in shared:
            if getattr(obj, name) != getattr(first, name):
                raise ValueError(f"The objects differ in {name}, given as shared.")
    keys = insert(
        model,
        shared={name: getattr(first, name) for name in shared},
        each=each,
        rows=[[getattr(obj, name) for name in each] for obj in objects],
    )
    alias = connection.alias
    for position, obj in enumerate(objects):
        if auto is not None:
            setattr(obj, auto.attname, keys[position])
        obj._state.adding = False
        obj._state.db = alias


def among(column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
    """`column IN (values)` as SQL whose text doesn't depend on the values (PostgreSQL: `=
    ANY` of one array) or only on their number (SQLite), with its parameters. `values`
    must be what the column holds in the database (prepared by the caller where its field
    converts them)."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [list(values)]
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)


@contextmanager
def kept_prepared() -> Iterator[None]:
    """Statements run inside are prepared by PostgreSQL at their first run and kept for the
    connection's life: planned once, not on every request (their planning was most of the
    database's CPU for a page, bench/served.py). Only for this project's statements of
    constant text whose best plan doesn't depend on their values (a key, an owner's rows
    in index order): a prepared statement soon runs a generic plan, made without the
    values, which for the ORM's queries (an IN list of 50 ids, an OR) was up to six times
    slower on the 1M-message benchmark; those, and everything outside, are planned each
    time. A no-op on SQLite and with DB_PREPARED_STATEMENTS off (a pooler in transaction
    mode can't keep them)."""
    if connection.vendor != "postgresql" or not settings.SECUREMAIL_PREPARED_STATEMENTS:
        yield
        return
    connection.ensure_connection()
    raw = connection.connection
    before = raw.prepare_threshold
    raw.prepare_threshold = 0
    try:
        yield
    finally:
        raw.prepare_threshold = before
