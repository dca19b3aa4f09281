"""The mailbox at realistic size, against django-postman (issue: mailbox performance).

Builds a database of 1,000 practices, 20,000 users and 1,000,000 messages (one mailbox of
20,000) from bench/mailbox_plan.py, on SQLite and on PostgreSQL, and measures as server time
(Django's test client, in-process): the inbox's first page and page 200, a 20-message
conversation, sending a message to 3 people, the unread count and searching the big mailbox
(median and p95 of 50 runs after 5 warm-ups), and how the inbox's first page grows from a
1,000-message to a 1,000,000-message database. The big mailbox's messages are in its owner's
search index (the others are never opened, so never indexed). django-postman runs the same
actions on the same data in its own virtualenv (bench/postman_side.py), so each table shows
our time against theirs.

    .venv/bin/python bench/mailbox.py [--quick] [--database sqlite|postgresql|both]
                                      [--no-postman]

PostgreSQL is at BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/
bench_securemail; its database and bench_postman on the same server are dropped and
recreated). Raw results go to var/bench/mailbox-results.json. Exits 0 when a target is
missed (this is a report), non-zero only when something fails.

Each database is built and measured in a subprocess of this script (`--worker`), because
Django's settings are process-global; that process writes the same JSON as postman_side.py.
"""

import argparse
import json
import os
import platform
import re
import sqlite3
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT_DIR = ROOT / "var" / "bench"
RESULTS = OUT_DIR / "mailbox-results.json"
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/bench_securemail"
POSTMAN_PG_DB = "bench_postman"
# The test settings' fixed keyring (see securemail/settings_test.py).
KEYS = (
    "1:MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=,2:YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXphYmNkZWY="
)
ACTIONS = (
    "inbox_first",
    "inbox_deep",
    "thread",
    "send3",
    "unread",
    "search_one",
    "search_every",
    "search_two",
)
LABELS = {
    "inbox_first": "Inbox, first page",
    "inbox_deep": "Inbox, page {page}",
    "thread": "20-message conversation",
    "send3": "Send to 3 recipients",
    "unread": "Unread count (the query)",
    "search_one": "Search, a word in 1 message",
    "search_every": "Search, a word in every message ({hot:,})",
    "search_two": "Search, two words ({eighth:,} messages)",
}
SEARCHES = ("search_one", "search_every", "search_two")
SEARCH_TARGET_MS = 50.0
# django-postman's additional measurements: which of ours each compares with, and its label.
EXTRA_ACTIONS = {
    "inbox_first_by_message": ("inbox_first", "Inbox, first page (postman listing by message)"),
}
WARMUPS = 5
GROWTH_WARMUPS = 20
SETTLE_SECONDS = 3
RUNS = 50
DEEP_PAGE = 200
INBOX_TARGET_MS = 25.0
FLAT_TARGET = 1.2
POSTMAN_TARGET = 2.0
DB_BATCH = 10_000
X = "\N{MULTIPLICATION SIGN}"  # ratios read "2.0" + X
DASH = "\N{EN DASH}"

# The repository root on the path, not bench/ (this file would shadow the standard library's
# `mailbox`): the plan is bench.mailbox_plan, as in postman_side.py.
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != HERE)]

from bench.mailbox_plan import (  # noqa: E402
    BLOCK,
    BODY,
    FULL,
    HOT_USER,
    PAGE_SIZE,
    QUICK,
    SEND_TO,
    SUBJECTS,
    THREAD_LENGTH,
    Sizes,
    at,
    rows_for_stage,
    thread_rows,
    user_kind,
    utcnow,
)

SIZES = {"full": FULL, "quick": QUICK}
Samples = list[float]


def email_of(n: int) -> str:
    return f"user{n}@bench.test"


def body_of(n: int) -> str:
    return f"{BODY} [{n}]"  # "[1]" is not part of "[10]": each message is recognizable


def deep_page(sizes: Sizes) -> int:
    """Page 200, or where the big inbox is shorter (QUICK) the page postman_side.py uses: its
    deepest full page (postman lists the 10-message conversation as one row)."""
    return min(DEEP_PAGE, (sizes.hot - THREAD_LENGTH // 2 + 1) // PAGE_SIZE)


def timed(fn: Callable[[], object], *, warmups: int = WARMUPS, runs: int = RUNS) -> Samples:
    """Milliseconds per call of `fn`, after `warmups` untimed calls."""
    for _ in range(warmups):
        fn()
    samples: Samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


# --------------------------------------------------------------------------------------
# The worker: one database, in its own process.
# --------------------------------------------------------------------------------------


class Worker:
    """Builds the plan's data into the configured database, then measures SecureMail."""

    def __init__(self, sizes: Sizes, vendor: str) -> None:
        from django.db import connection

        self.sizes = sizes
        self.vendor = vendor
        self.connection = connection
        self.now = utcnow()
        self.unread_hot = 0  # what unread_count(HOT_USER) must say
        self.thread_ids: list[uuid.UUID] = []
        # The messages the benchmark opens (the big mailbox's), with their plan rows.
        self.real_rows: list[tuple[uuid.UUID, Any]] = []
        self.stage_seconds: dict[str, float] = {}
        self.search_entries = 0

    # ---- values as each backend stores them ------------------------------------------

    def dt(self, us: int) -> Any:
        moment = at(us)
        if self.vendor == "postgresql":
            return moment
        # What Django's SQLite backend writes for an aware datetime (naive UTC, str()).
        return str(moment.replace(tzinfo=None))

    def uid(self, value: uuid.UUID | None) -> Any:
        if value is None or self.vendor == "postgresql":
            return value
        return value.hex  # Django stores UUIDs as char(32) on SQLite

    # ---- loading ----------------------------------------------------------------------

    def copy_rows(self, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> int:
        """Append rows fast: COPY on PostgreSQL, executemany on SQLite. Call inside a
        transaction."""
        raw = self.connection.connection
        count = 0
        if self.vendor == "postgresql":
            sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
            with raw.cursor() as cursor, cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
            return count
        marks = ", ".join("?" * len(columns))
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
        batch: list[tuple[Any, ...]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= DB_BATCH:
                raw.executemany(sql, batch)
                count += len(batch)
                batch = []
        if batch:
            raw.executemany(sql, batch)
            count += len(batch)
        return count

    @staticmethod
    def check_columns(model: Any, columns: Sequence[str]) -> None:
        """Every NOT NULL column without a database default must be loaded: fail loudly if
        the app's schema grew one this loader doesn't know."""
        missing = [
            f.column
            for f in model._meta.concrete_fields
            if f.column not in columns and not f.null and not f.has_db_default()
        ]
        if missing:
            raise SystemExit(f"bench/mailbox.py does not load {model.__name__}.{missing}")

    def load_people(self) -> None:
        from django.contrib.auth.hashers import make_password

        from securemail.accounts.models import Practice, User

        sizes = self.sizes
        practices = [
            Practice(
                id=p + 1,
                name=f"Practice {p}",
                phone="+12025550100",
                address_line1=f"{p} Main Street",
                city="Springfield",
                state="IL",
                postal_code="62701",
                require_phone_verification=False,
            )
            for p in range(sizes.practices)
        ]
        Practice.objects.bulk_create(practices, batch_size=2000)
        password = make_password("bench-password-1")  # one hash for everybody
        users = []
        for n in range(min(sizes.users, sizes.practices * BLOCK)):
            kind, practice, paid = user_kind(n)
            users.append(
                User(
                    id=n + 1,
                    email=email_of(n),
                    full_name=f"{kind.title()} {n}",
                    kind=kind,
                    practice_id=practice + 1 if practice is not None else None,
                    is_practice_manager=n % BLOCK == 0,
                    plan=User.Plan.PAID if paid else User.Plan.FREE,
                    status=User.Status.ACTIVE,
                    password=password,
                    phone=f"+1202555{n % 10000:04d}",
                    phone_verified_at=self.now,
                )
            )
        User.objects.bulk_create(users, batch_size=2000)

    def template_sealed(self) -> tuple[bytes, int, bytes, bytes]:
        """Sealed fields shared by every message the benchmark never opens: sealing a million
        messages would measure the loader, not the mailbox. Those rows can't be opened (the
        ciphertext is bound to another id), which nothing here tries to do."""
        from securemail.messaging.content import seal_content
        from securemail.messaging.models import Message

        template = Message(id=uuid.uuid4(), sent_at=self.now)
        template.expires_at = self.now + timedelta(days=30)
        seal_content(template, subject=SUBJECTS[0], body=BODY)
        return (
            bytes(template.wrapped_key),
            template.key_version,
            bytes(template.subject_sealed),
            bytes(template.body_sealed),
        )

    def load_stage(self, stage: int) -> int:
        from django.db import transaction

        from securemail.messaging.content import seal_content
        from securemail.messaging.models import Delivery, Message

        rows = rows_for_stage(self.sizes, stage, self.now)
        self.unread_hot += sum(1 for r in rows if r.recipient == HOT_USER and not r.read)
        ids = [uuid.uuid4() for _ in rows]
        if stage == 0:
            by_pos = {r.thread_pos: ids[i] for i, r in enumerate(rows) if r.thread_pos is not None}
            self.thread_ids = [by_pos[pos] for pos in range(THREAD_LENGTH)]
            assert [r.thread_pos for r in thread_rows(rows)] == list(range(THREAD_LENGTH))
        fake = self.template_sealed()
        month = timedelta(days=30) // timedelta(microseconds=1)
        half_hour = 1_800_000_000

        message_columns = (
            "id",
            "sender_id",
            "thread_root_id",
            "in_reply_to_id",
            "sent_at",
            "expires_at",
            "wrapped_key",
            "key_version",
            "subject_sealed",
            "body_sealed",
            "client_token",
        )
        delivery_columns = (
            "id",
            "message_id",
            "recipient_id",
            "kind",
            "sent_at",
            "expires_at",
            "notified_at",
            "read_at",
        )
        self.check_columns(Message, message_columns)
        self.check_columns(Delivery, delivery_columns)

        def messages() -> Iterator[tuple[Any, ...]]:
            for row, mid in zip(rows, ids, strict=True):
                root = previous = None
                if row.thread_pos:
                    root = self.thread_ids[0]
                    previous = self.thread_ids[row.thread_pos - 1]
                if row.real:
                    sealed = Message(id=mid, sender_id=row.sender + 1, sent_at=at(row.sent_us))
                    sealed.expires_at = at(row.sent_us + month)
                    seal_content(
                        sealed, subject=SUBJECTS[row.n % len(SUBJECTS)], body=body_of(row.n)
                    )
                    wrapped, version, subject, body = (
                        sealed.wrapped_key,
                        sealed.key_version,
                        sealed.subject_sealed,
                        sealed.body_sealed,
                    )
                else:
                    wrapped, version, subject, body = fake
                yield (
                    self.uid(mid),
                    row.sender + 1,
                    self.uid(root),
                    self.uid(previous),
                    self.dt(row.sent_us),
                    self.dt(row.sent_us + month),
                    wrapped,
                    version,
                    subject,
                    body,
                    None,
                )

        def deliveries() -> Iterator[tuple[Any, ...]]:
            for row, mid in zip(rows, ids, strict=True):
                sent = self.dt(row.sent_us)
                yield (
                    row.n + 1,
                    self.uid(mid),
                    row.recipient + 1,
                    "to",
                    sent,
                    self.dt(row.sent_us + month),
                    sent,
                    self.dt(row.sent_us + half_hour) if row.read else None,
                )

        with transaction.atomic():
            count = self.copy_rows("messaging_message", message_columns, messages())
            self.copy_rows("messaging_delivery", delivery_columns, deliveries())
        self.real_rows += [(mid, row) for row, mid in zip(rows, ids, strict=True) if row.real]
        return count

    def load_search_index(self) -> int:
        """The big mailbox's owner's search index, as sending those messages would have
        written it (securemail.messaging.services.indexing): the subject's and the
        correspondent's words with their starts, the body's words, keyed under the owner's key
        of each expiry day."""
        from django.db import transaction

        from securemail.messaging import index
        from securemail.messaging.content import expiry_day
        from securemail.messaging.models import Message, SearchEntry

        owner = HOT_USER + 1
        columns = ("owner_id", "day", "key_version", "token", "sent_at", "message_id")
        self.check_columns(SearchEntry, columns)
        month = timedelta(days=30) // timedelta(microseconds=1)
        base_body = index.terms([BODY], starts=False)
        keys: dict[Any, tuple[int, bytes]] = {}
        tokens: dict[tuple[Any, str], int] = {}

        def person_terms(n: int) -> list[str]:
            kind, practice, _ = user_kind(n)
            name = f"{kind.title()} {n}"
            place = f"Practice {practice}" if practice is not None else ""
            return index.terms([name, email_of(n), place])

        def entries() -> Iterator[tuple[Any, ...]]:
            for mid, row in self.real_rows:
                other = row.recipient if row.sender == HOT_USER else row.sender
                day = expiry_day(Message(expires_at=at(row.sent_us + month)))
                if day not in keys:
                    keys[day] = index.owner_day_key(owner, day)
                version, key = keys[day]
                found = dict.fromkeys(index.terms([SUBJECTS[row.n % len(SUBJECTS)]]))
                found.update(dict.fromkeys(person_terms(other)))
                found.update(dict.fromkeys(base_body))
                found.update(dict.fromkeys(index.terms([f"[{row.n}]"], starts=False)))
                for term in list(found)[: index.MAX_TERMS]:
                    token = tokens.get((day, term))
                    if token is None:
                        token = tokens[day, term] = index.token(key, term)
                    yield (owner, day, version, token, self.dt(row.sent_us), self.uid(mid))

        with transaction.atomic():
            return self.copy_rows("messaging_searchentry", columns, entries())

    def loading_pragmas(self) -> None:
        if self.vendor == "sqlite":
            with self.connection.cursor() as cursor:
                # Loading only: this connection is closed before anything is measured.
                cursor.execute("PRAGMA synchronous=OFF")
                cursor.execute("PRAGMA cache_size=-1000000")

    def analyze(self) -> None:
        from django.db import DatabaseError

        with self.connection.cursor() as cursor:
            if self.vendor == "postgresql":
                # What autovacuum would have done by the time a mailbox is this big.
                cursor.execute("VACUUM ANALYZE")
                # Write out now what the load dirtied: a spread checkpoint otherwise goes on
                # flushing the 1M stage's gigabyte for minutes, during the measurement (one
                # run's 1.68x growth). Needs a superuser or pg_checkpoint; else skipped.
                try:
                    cursor.execute("CHECKPOINT")
                except DatabaseError as error:
                    log(f"  (no CHECKPOINT: {str(error).strip().splitlines()[0]})")
                # And the kernel's own write-back of those files, then a moment of quiet:
                # the growth sample is taken right after, the other actions minutes later.
                os.sync()
                time.sleep(SETTLE_SECONDS)
            else:
                cursor.execute("ANALYZE")

    def inbox_plan(self) -> list[str]:
        """The database's plan for the inbox's first page, without costs (to compare across
        sizes: the same plan at 1k and at 1M, or growth comes from a plan flip)."""
        from securemail.accounts.models import User
        from securemail.messaging import access

        user = User.objects.get(pk=HOT_USER + 1)
        # The statement the page runs for its first page (paging.keyset_page: a row more
        # than the page, to know whether there is an older one).
        sql, params = access.inbox(user).statement(limit=PAGE_SIZE + 1)
        explain = "EXPLAIN " if self.vendor == "postgresql" else "EXPLAIN QUERY PLAN "
        with self.connection.cursor() as cursor:
            cursor.execute(explain + sql, params)
            lines = [str(row[-1]) for row in cursor.fetchall()]
        return [re.sub(r"\s*\(cost=[^)]*\)", "", line).rstrip() for line in lines]

    def reset_sequences(self) -> None:
        from django.core.management.color import no_style

        from securemail.accounts.models import Practice, User
        from securemail.messaging.models import Delivery

        sql = self.connection.ops.sequence_reset_sql(no_style(), [Practice, User, Delivery])
        with self.connection.cursor() as cursor:
            for statement in sql:
                cursor.execute(statement)

    def build(self, on_stage: Callable[[int, int], None]) -> float:
        """Load every stage, calling on_stage(stage, total) after each; returns the seconds
        spent building (measurements excluded)."""
        from django.core.management import call_command

        start = time.perf_counter()
        call_command("migrate", verbosity=0, interactive=False)
        call_command("createcachetable", verbosity=0)
        self.loading_pragmas()
        self.load_people()
        self.stage_seconds["people"] = time.perf_counter() - start
        building = time.perf_counter() - start
        total = 0
        for stage, expected in enumerate(self.sizes.stages):
            begin = time.perf_counter()
            self.loading_pragmas()
            total += self.load_stage(stage)
            assert total == expected, (total, expected)
            self.reset_sequences()
            self.analyze()
            if self.vendor == "sqlite":
                self.connection.close()  # measure with the app's own connection settings
            seconds = time.perf_counter() - begin
            self.stage_seconds[str(total)] = seconds
            building += seconds
            log(f"  {total:>9,} messages loaded in {seconds:.1f} s")
            on_stage(stage, total)
        begin = time.perf_counter()
        entries = self.load_search_index()
        self.analyze()
        if self.vendor == "sqlite":
            self.connection.close()
        seconds = time.perf_counter() - begin
        self.stage_seconds["search_index"] = seconds
        self.search_entries = entries
        building += seconds
        log(f"  {entries:>9,} search entries loaded in {seconds:.1f} s")
        return building

    # ---- measuring --------------------------------------------------------------------

    def client(self) -> Any:
        from django.test import Client

        from securemail.accounts.models import User

        client = Client()
        client.force_login(User.objects.get(pk=HOT_USER + 1))
        return client

    @staticmethod
    def message_links(response: Any) -> list[str]:
        text = response.content.decode()
        return list(dict.fromkeys(re.findall(r'href="/m/([0-9a-f-]{36})/"', text)))

    def inbox(self, client: Any, path: str) -> Callable[[], None]:
        def get() -> None:
            response = client.get(path)
            assert response.status_code == 200, response.status_code

        response = client.get(path)
        assert response.status_code == 200, response.status_code
        shown = len(self.message_links(response))
        assert shown == PAGE_SIZE, f"{path} shows {shown} messages, not {PAGE_SIZE}"
        text = response.content.decode()
        subjects = sum(text.count(f"{subject}</a>") for subject in SUBJECTS)
        assert subjects == PAGE_SIZE, f"{path} shows {subjects} subjects, not {PAGE_SIZE}"
        return get

    def deep_cursor(self, page: int) -> tuple[str, uuid.UUID]:
        """The "Older" cursor that leads to `page` (the last row of the page before it), and
        the id of the message that must open that page."""
        from securemail.accounts.models import User
        from securemail.messaging import access
        from securemail.messaging.paging import _encode

        user = User.objects.get(pk=HOT_USER + 1)
        edge = (page - 1) * PAGE_SIZE
        rows = access.inbox(user).rows(limit=edge + 1)[edge - 1 :]
        assert len(rows) == 2, "the mailbox is shorter than the deep page"
        return _encode(rows[0]), rows[1].message_id

    def queries(self, client: Any, path: str) -> int:
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(self.connection) as captured:
            assert client.get(path).status_code == 200
        return len(captured.captured_queries)

    def searches(self) -> dict[str, tuple[str, int]]:
        """What each search row types, and how many of the big mailbox's messages match
        (the results page shows the newest PAGE_SIZE of them)."""
        hot = [row for _, row in self.real_rows]
        one = next(r for r in reversed(hot) if r.thread_pos is None and r.n >= 10_000 // 10)
        implants = sum(1 for r in hot if SUBJECTS[r.n % len(SUBJECTS)] == SUBJECTS[0])
        return {
            # A message's number ("[1234]" ends each body, a word of its own).
            "search_one": (str(one.n), 1),
            "search_every": ("periapical", len(hot)),
            "search_two": ("implant consult", implants),
        }

    def search(self, client: Any, words: str, matches: int) -> Callable[[], None]:
        def post() -> None:
            response = client.post("/search/", {"q": words})
            assert response.status_code == 200, response.status_code

        response = client.post("/search/", {"q": words})
        assert response.status_code == 200, response.status_code
        shown = len(self.message_links(response))
        expected = min(matches, PAGE_SIZE)
        assert shown == expected, f"searching {words!r} shows {shown} messages, not {expected}"
        assert response.content.decode().count("<mark>") >= shown
        return post

    def search_queries(self, client: Any, words: str) -> int:
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(self.connection) as captured:
            assert client.post("/search/", {"q": words}).status_code == 200
        return len(captured.captured_queries)

    def growth_sample(self) -> Samples:
        client = self.client()
        # More warm-ups than the actions get: each stage is measured right after its load,
        # so the page's rows must be back in the cache before the samples start.
        return timed(self.inbox(client, "/"), warmups=GROWTH_WARMUPS)

    def measure(self) -> tuple[dict[str, Samples], dict[str, int], int]:
        from urllib.parse import quote

        from django.contrib.messages.storage.cookie import CookieStorage

        from securemail.accounts.models import User
        from securemail.messaging import access
        from securemail.messaging.models import Delivery, Message

        client = self.client()
        actions: dict[str, Samples] = {}
        actions["inbox_first"] = timed(self.inbox(client, "/"))

        page = deep_page(self.sizes)
        cursor, first_id = self.deep_cursor(page)
        deep_path = f"/?before={quote(cursor)}"
        get_deep = self.inbox(client, deep_path)
        links = self.message_links(client.get(deep_path))
        assert links[0] == str(first_id), f"page {page} starts at {links[0]}, not {first_id}"
        actions["inbox_deep"] = timed(get_deep)

        thread_path = f"/m/{self.thread_ids[0]}/"
        response = client.get(thread_path)
        assert response.status_code == 200, response.status_code
        text = response.content.decode()
        opened = sum(body_of(n) in text for n in range(THREAD_LENGTH))
        assert opened == THREAD_LENGTH, f"the conversation shows {opened} messages, not 20"

        def get_thread() -> None:
            assert client.get(thread_path).status_code == 200

        actions["thread"] = timed(get_thread)

        hot = User.objects.get(pk=HOT_USER + 1)
        unread = access.unread_count(hot)
        assert unread == self.unread_hot, f"unread count {unread}, not {self.unread_hot}"
        actions["unread"] = timed(lambda: access.unread_count(hot))

        queries = {
            "inbox_first": self.queries(client, "/"),
            "inbox_deep": self.queries(client, deep_path),
        }
        for action, (words, matches) in self.searches().items():
            actions[action] = timed(self.search(client, words, matches))
            queries[action] = self.search_queries(client, words)

        tokens: list[uuid.UUID] = []
        to = ", ".join(email_of(n) for n in SEND_TO)

        def send() -> None:
            token = uuid.uuid4()
            tokens.append(token)
            response = client.post(
                "/compose/",
                {
                    "to": to,
                    "cc": "",
                    "subject": "Referral: implant consult",
                    "body": BODY,
                    "expiry_days": "30",
                    "client_token": str(token),
                    "draft": "",
                },
            )
            assert response.status_code == 302, (response.status_code, response.content[:2000])
            # A browser follows the redirect, whose page shows (and so drops) the "Sent"
            # notice; unread, 55 of them would grow the cookie into the session, saved on
            # every send. postman_side.py does the same.
            client.cookies.pop(CookieStorage.cookie_name, None)

        actions["send3"] = timed(send)
        sent = Message.objects.filter(sender=hot, client_token__in=tokens)
        assert sent.count() == len(tokens)
        assert Delivery.objects.filter(message__in=sent).count() == 3 * len(tokens)
        return actions, queries, page


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def worker_env(database_url: str) -> dict[str, str]:
    """The product's own settings (not the test settings), with development defaults: the
    keys and the shredding ratchet are fixed files under var/bench, so the built database
    can be opened again by another process (to profile a page, say)."""
    return {
        "DJANGO_SETTINGS_MODULE": "securemail.settings",
        "DEBUG": "true",
        "DATABASE_URL": database_url,
        "SECUREMAIL_KEYS": KEYS,
        "SECUREMAIL_VAR_DIR": str(OUT_DIR / "app"),
        "SECUREMAIL_RATCHET_FILE": str(OUT_DIR / "shred-ratchet"),
        "SECUREMAIL_CATCHER": "false",
        "EMAIL_URL": "locmem://",  # nothing is sent anyway: emails wait in the outbox
        "SMS_PROVIDER": "local",
        "ALLOWED_HOSTS": "testserver",  # django.test.Client's host
        "CACHE_URL": "",
    }


def run_worker(args: argparse.Namespace) -> None:
    """Build and measure one database; write postman_side.py's JSON shape to args.out."""
    os.environ.update(worker_env(args.database_url))
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    # DEBUG on spares the production-only settings (secret key, base URL, static manifest);
    # off from here on, before any request, so pages render as in production: no query
    # log, no template debug info (postman_side.py runs with DEBUG off too).
    settings.DEBUG = False

    sizes = SIZES[args.size]
    worker = Worker(sizes, connection.vendor)
    growth: dict[str, Samples] = {}
    plans: dict[str, list[str]] = {}

    def on_stage(_stage: int, total: int) -> None:
        growth[str(total)] = worker.growth_sample()
        plans[str(total)] = worker.inbox_plan()
        log(f"  inbox first page at {total:,}: {statistics.median(growth[str(total)]):.1f} ms")

    build_seconds = worker.build(on_stage)
    actions, queries, page = worker.measure()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            server = f"PostgreSQL {cursor.fetchone()[0]}"
        else:
            server = f"SQLite {sqlite3.sqlite_version}"
    result = {
        "side": "securemail",
        "versions": {
            "python": platform.python_version(),
            "django": django.get_version(),
            "database": server,
        },
        "database": connection.vendor,
        "size": args.size,
        "messages": sizes.messages,
        "build_seconds": round(build_seconds, 2),
        "stage_seconds": {k: round(v, 2) for k, v in worker.stage_seconds.items()},
        "deep_page": page,
        "hot": sizes.hot,
        "search_entries": worker.search_entries,
        "growth": growth,
        "plans": plans,
        "actions": actions,
        "queries": queries,
    }
    Path(args.out).write_text(json.dumps(result, indent=1))


# --------------------------------------------------------------------------------------
# The driver: databases, subprocesses, tables.
# --------------------------------------------------------------------------------------


def with_dbname(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


def recreate_postgres(url: str) -> None:
    import psycopg
    from psycopg import sql

    name = url.rpartition("/")[2].split("?")[0]
    with psycopg.connect(with_dbname(url, "postgres"), autocommit=True, connect_timeout=5) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def postgres_reachable(url: str) -> str | None:
    """None if the server answers, else why not."""
    import psycopg

    try:
        with psycopg.connect(with_dbname(url, "postgres"), connect_timeout=5):
            return None
    except psycopg.Error as error:
        return str(error).strip().splitlines()[0]


def run_ours(database: str, url: str, size: str) -> dict[str, Any]:
    out = OUT_DIR / f"securemail-{database}.json"
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        "--database-url",
        url,
        "--size",
        size,
        "--out",
        str(out),
    ]
    return _run_for_json(command, out)


def run_postman(database: str, url: str, size: str) -> dict[str, Any]:
    from bench.postman_venv import ensure_postman_python

    python = ensure_postman_python()
    out = OUT_DIR / f"postman-{database}.json"
    command = [
        str(python),
        str(HERE / "postman_side.py"),
        "--database-url",
        url,
        "--size",
        size,
        "--out",
        str(out),
    ]
    return _run_for_json(command, out)


def _run_for_json(command: list[str], out: Path) -> dict[str, Any]:
    """Run one side in its own process; it writes its results to `out`."""
    out.unlink(missing_ok=True)
    subprocess.run(command, cwd=ROOT, check=True)  # noqa: S603
    return dict(json.loads(out.read_text()))


def median(samples: Samples) -> float:
    return statistics.median(samples)


def p95(samples: Samples) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[18]


def ms(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def ratio(value: float) -> str:
    return f"{value:.1f}{X}" if value >= 1.95 or value < 0.95 else f"{value:.2f}{X}"


def verdict(checks: list[tuple[bool, str]]) -> str:
    if not checks:
        return DASH
    failed = [text for ok, text in checks if not ok]
    met = [text for ok, text in checks if ok]
    if failed:
        return "**no**: " + "; ".join(failed) + (f" (met: {'; '.join(met)})" if met else "")
    return "yes (" + "; ".join(met) + ")"


def table(ours: dict[str, Any], theirs: dict[str, Any] | None) -> list[str]:
    """Markdown for one database."""
    database = ours["database"]
    first = ours["actions"]["inbox_first"]
    deep = ours["actions"]["inbox_deep"]
    page = ours.get("deep_page", DEEP_PAGE)
    lines = [
        "| Action | SecureMail median (ms) | p95 | django-postman median (ms) | p95 "
        "| postman ÷ ours | Target met? |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for action in ACTIONS:
        if action not in ours["actions"]:
            continue
        mine = ours["actions"][action]
        other = theirs["actions"].get(action) if theirs else None
        checks: list[tuple[bool, str]] = []
        if action == "inbox_first" and database == "postgresql":
            checks.append((median(mine) <= INBOX_TARGET_MS, f"≤ {INBOX_TARGET_MS:.0f} ms"))
        if action == "inbox_deep":
            flat = median(deep) / median(first)
            checks.append((flat <= FLAT_TARGET, f"{ratio(flat)} page 1, ≤ {FLAT_TARGET}{X}"))
        if action in SEARCHES and database == "postgresql":
            checks.append((median(mine) <= SEARCH_TARGET_MS, f"≤ {SEARCH_TARGET_MS:.0f} ms"))
        cells = [DASH, DASH, DASH]
        if other:
            faster = median(other) / median(mine)
            cells = [ms(median(other)), ms(p95(other)), ratio(faster)]
            checks.append((faster >= POSTMAN_TARGET, f"≥ {POSTMAN_TARGET:.0f}{X} postman"))
        hot = ours.get("hot", 0)
        label = LABELS[action].format(page=page, hot=hot, eighth=hot // len(SUBJECTS))
        lines.append(
            f"| {label} | {ms(median(mine))} | {ms(p95(mine))} | "
            + " | ".join(cells)
            + f" | {verdict(checks)} |"
        )
    for extra, other in (theirs or {}).get("extra_actions", {}).items():
        if extra not in EXTRA_ACTIONS:
            continue
        action, label = EXTRA_ACTIONS[extra]
        mine = ours["actions"][action]
        lines.append(
            f"| {label} | {ms(median(mine))} | {ms(p95(mine))} | {ms(median(other))} | "
            f"{ms(p95(other))} | {ratio(median(other) / median(mine))} | (for comparison) |"
        )
    return lines


def growth_table(ours: dict[str, Any], theirs: dict[str, Any] | None) -> list[str]:
    totals = sorted(ours["growth"], key=int)
    base = median(ours["growth"][totals[0]])
    their_growth = theirs.get("growth", {}) if theirs else {}
    their_base = median(their_growth[totals[0]]) if totals[0] in their_growth else None
    lines = [
        "| Messages in the database | SecureMail inbox, first page (ms) | vs 1k "
        "| django-postman (ms) | vs 1k |",
        "|---:|---:|---:|---:|---:|",
    ]
    for total in totals:
        mine = median(ours["growth"][total])
        cells = [DASH, DASH]
        if total in their_growth and their_base:
            other = median(their_growth[total])
            cells = [ms(other), ratio(other / their_base)]
        lines.append(
            f"| {int(total):,} | {ms(mine)} | {ratio(mine / base)} | " + " | ".join(cells) + " |"
        )
    return lines


def _plan_shape(plan: list[str]) -> str:
    """The plan's nodes, in order, without their conditions ("Limit > Nested Loop > ...")."""
    nodes = []
    for line in plan:
        text = line.strip().removeprefix("->").strip()
        if text and not re.match(r"^[A-Z][a-z]+( [A-Z][a-z]+)*:", text):  # "Index Cond: ..."
            nodes.append(re.split(r" (using|on) ", text.removeprefix("--"))[0])
    return " > ".join(nodes)


def _same_plan(plans: dict[str, list[str]], first: str, last: str) -> str:
    if first not in plans or last not in plans:
        return "not recorded"
    if plans[first] == plans[last]:
        return f"the same ({_plan_shape(plans[last])})"
    return f"{_plan_shape(plans[first])}; then {_plan_shape(plans[last])}"


def summary(ours: dict[str, Any], theirs: dict[str, Any] | None) -> list[str]:
    totals = sorted(ours["growth"], key=int)
    growth = median(ours["growth"][totals[-1]]) / median(ours["growth"][totals[0]])
    flat = median(ours["actions"]["inbox_deep"]) / median(ours["actions"]["inbox_first"])
    page = ours.get("deep_page", DEEP_PAGE)
    ok = "met" if growth <= FLAT_TARGET else "**missed**"
    ok_deep = "met" if flat <= FLAT_TARGET else "**missed**"
    lines = [
        f"- Inbox growth, {int(totals[0]):,} → {int(totals[-1]):,} messages: "
        f"{ratio(growth)} (target ≤ {FLAT_TARGET}{X}: {ok})",
        f"- Inbox page {page} vs first page: {ratio(flat)} (target ≤ {FLAT_TARGET}{X}: {ok_deep})",
        f"- Queries per inbox page: SecureMail {ours['queries']['inbox_first']} (first), "
        f"{ours['queries']['inbox_deep']} (page {page})",
        f"- Build: SecureMail {ours['build_seconds']:.0f} s",
    ]
    lines.append(
        f"- Inbox query plan at {int(totals[0]):,} and {int(totals[-1]):,} messages: "
        + _same_plan(ours.get("plans", {}), totals[0], totals[-1])
    )
    if theirs:
        q = theirs.get("queries", {})
        lines[2] += (
            f"; django-postman {q.get('inbox_first', '?')} (first), "
            f"{q.get('inbox_deep', '?')} (page {page})"
        )
        lines[3] += f"; django-postman {theirs.get('build_seconds', 0):.0f} s"
        if theirs.get("inbox_mode"):
            lines.append(f"- django-postman's inbox lists {theirs['inbox_mode']}")
        if theirs.get("deep_page", page) != page:
            lines.append(f"- **django-postman measured page {theirs['deep_page']}, not {page}**")
        versions = theirs.get("versions", {})
        if versions:
            lines.append(
                "- django-postman side: "
                + ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))
            )
    if ours.get("search_entries"):
        searched = [a for a in SEARCHES if a in ours["queries"]]
        lines.append(
            f"- Search index of the {ours['hot']:,}-message mailbox: "
            f"{ours['search_entries']:,} entries "
            f"({ours['search_entries'] / max(1, ours['hot']):.0f} a message), built in "
            f"{ours['stage_seconds'].get('search_index', 0):.0f} s; queries per search: "
            + ", ".join(str(ours["queries"][a]) for a in searched)
        )
    return lines


def machine(results: list[dict[str, Any]]) -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal:")
        )
        ram = f"{mem_kb / 1024 / 1024:.0f} GB RAM"
    except (OSError, StopIteration):
        ram = "RAM unknown"
    versions = results[0]["ours"]["versions"]
    parts = [
        cpu,
        f"{os.cpu_count()} cores",
        ram,
        f"Python {versions['python']}",
        f"Django {versions['django']}",
    ]
    servers = {r["ours"]["versions"]["database"] for r in results}
    parts += sorted(s for s in servers if s.startswith("PostgreSQL"))
    parts.append(f"SQLite {sqlite3.sqlite_version}")
    return ", ".join(parts) + f"; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"


def report(results: list[dict[str, Any]]) -> None:
    print(f"Machine: {machine(results)}")
    for result in results:
        ours, theirs = result["ours"], result.get("postman")
        size = ours["size"]
        print()
        print(
            f"### {result['database']} ({size}: {ours['messages']:,} messages, "
            f"{RUNS} runs after {WARMUPS} warm-ups, server time in-process)"
        )
        print()
        print("\n".join(table(ours, theirs)))
        print()
        print("\n".join(growth_table(ours, theirs)))
        print()
        print("\n".join(summary(ours, theirs)))
        if result.get("postman_error"):
            print(f"- django-postman side failed: {result['postman_error']}")


def drive(args: argparse.Namespace) -> int:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    size = "quick" if args.quick else "full"
    databases = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    pg_url = os.environ.get("BENCH_POSTGRES_URL", DEFAULT_PG)
    results: list[dict[str, Any]] = []
    status = 0
    for database in databases:
        if database == "postgresql":
            why = postgres_reachable(pg_url)
            if why:
                print(f"Skipping PostgreSQL: {pg_url} is unreachable ({why}).", flush=True)
                continue
            recreate_postgres(pg_url)
            ours_url = pg_url
            postman_url = with_dbname(pg_url, POSTMAN_PG_DB)
        else:
            path = OUT_DIR / "securemail.sqlite3"
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            ours_url = f"sqlite:///{path}"
            postman_url = f"sqlite:///{OUT_DIR / 'postman.sqlite3'}"
        log(f"== SecureMail on {database} ({size}) ==")
        try:
            ours = run_ours(database, ours_url, size)
        except subprocess.CalledProcessError as error:
            print(f"SecureMail on {database} failed (exit status {error.returncode}).")
            status = 1
            continue
        result: dict[str, Any] = {"database": database, "ours": ours}
        if not args.no_postman:
            log(f"== django-postman on {database} ({size}) ==")
            try:  # postman_side.py empties its database itself
                result["postman"] = run_postman(database, postman_url, size)
            except (subprocess.CalledProcessError, OSError, ImportError, ValueError) as error:
                result["postman_error"] = str(error)
                status = 1
        results.append(result)
        RESULTS.write_text(json.dumps(results, indent=1))
    if not results:
        print("Nothing measured.")
        return 1
    report(results)
    print(f"\nRaw results: {RESULTS.relative_to(ROOT)}")
    return status


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50,000 messages, not 1,000,000")
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--no-postman", action="store_true", help="SecureMail only")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--size", choices=sorted(SIZES), help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        run_worker(args)
        return 0
    return drive(args)


if __name__ == "__main__":
    sys.exit(main())
