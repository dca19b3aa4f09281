"""django-postman's side of bench/mailbox.py: the same mailboxes, measured the same way.

Runs in its own virtualenv (bench/postman_venv.py: django-postman 4.6 on Django 5.2 LTS):

    var/bench/postman-venv/bin/python bench/postman_side.py \
        --database-url postgres://postgres@127.0.0.1:5432/bench_postman --size quick --out r.json

It starts from an empty database (a SQLite file is deleted, a PostgreSQL database dropped and
created again), migrates, loads bench/mailbox_plan.py's users and messages stage by stage (COPY
on PostgreSQL, executemany on SQLite), times HOT_USER's first inbox page after each stage, and
after the last one times the actions below as server time through django.test.Client, in
process: 5 warm-up calls, then 50 samples in milliseconds. Progress goes to stderr.

Postman is set up as a site would run it: its own views and templates, the real pagination app
(django-pagination-py3, 50 a page), auto-acceptance of messages (no moderator in the loop), and
its e-mail notifications going to Django's in-memory mail backend.
"""

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Import the plan as bench.mailbox_plan, with the repo root (not bench/) on the path:
# bench/mailbox.py would otherwise shadow the standard library's `mailbox`.
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != HERE)]

import django  # noqa: E402
from django.conf import settings  # noqa: E402

from bench.mailbox_plan import (  # noqa: E402
    BODY,
    FULL,
    HOT_USER,
    PAGE_SIZE,
    QUICK,
    SEND_TO,
    SUBJECTS,
    THREAD_LENGTH,
    Row,
    Sizes,
    at,
    rows_for_stage,
    thread_rows,
    utcnow,
)

WARMUP = 5
SAMPLES = 50
DEEP_PAGE = 200
BATCH = 10_000
urlpatterns: list[Any] = []  # filled by setup_django(): this module is the ROOT_URLCONF

TEMPLATES = {
    "base.html": (
        "<!doctype html><html><head><title>{% block title %}{% endblock %}</title>"
        "{% block extrahead %}{% endblock %}</head><body>"
        "{% block postman_menu %}{% endblock %}"
        "{% for m in messages %}<p class='flash'>{{ m }}</p>{% endfor %}"
        "{% block content %}{% endblock %}</body></html>"
    ),
    "registration/login.html": (
        "{% extends 'base.html' %}{% block content %}<form method='post'>{% csrf_token %}"
        "{{ form.as_p }}<button>Log in</button></form>{% endblock %}"
    ),
}

COLUMNS = (
    "id",
    "subject",
    "body",
    "email",
    "sent_at",
    "read_at",
    "replied_at",
    "sender_archived",
    "recipient_archived",
    "sender_deleted_at",
    "recipient_deleted_at",
    "moderation_status",
    "moderation_date",
    "moderation_reason",
    "moderation_by_id",
    "parent_id",
    "recipient_id",
    "sender_id",
    "thread_id",
)


class BenchError(Exception):
    """A failed step: the run stops with this message and a non-zero exit."""


def log(message: str) -> None:
    print(f"[postman] {message}", file=sys.stderr, flush=True)


def database_settings(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = unquote(parts.path)[1:]  # sqlite:////abs/file -> /abs/file
        if not path.startswith("/"):
            raise BenchError(f"sqlite URL needs an absolute path (sqlite:////abs/file): {url}")
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": path}
    if parts.scheme in {"postgres", "postgresql"}:
        name = unquote(parts.path.lstrip("/"))
        if not name or name == "postgres":
            raise BenchError(f"give a database of its own in the URL, not {name!r}: {url}")
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": unquote(parts.username or "postgres"),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "127.0.0.1",
            "PORT": str(parts.port or 5432),
        }
    raise BenchError(f"unsupported database URL (sqlite:// or postgres://): {url}")


def empty_database(db: dict[str, Any]) -> None:
    """Start from nothing: delete the SQLite file, or drop and create the PostgreSQL database."""
    if db["ENGINE"].endswith("sqlite3"):
        path = Path(db["NAME"])
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    import psycopg
    from psycopg import sql

    conninfo = {k.lower(): v for k, v in db.items() if k in {"USER", "PASSWORD", "HOST", "PORT"}}
    try:
        with psycopg.connect(dbname="postgres", autocommit=True, **conninfo) as conn:
            name = sql.Identifier(db["NAME"])
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(name))
    except psycopg.Error as error:
        raise BenchError(
            f"cannot (re)create PostgreSQL database {db['NAME']!r}: {error}"
        ) from error


def setup_django(db: dict[str, Any]) -> None:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-postman-side-not-a-secret",  # noqa: S106
        ALLOWED_HOSTS=["*"],
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.messages",
            "postman",
            # After postman: the last app's `pagination_tags` wins, so this real one replaces
            # postman's do-nothing mock (postman's docs say "before", wrongly for Django 5.2).
            "pagination",
        ],
        MIDDLEWARE=[
            "django.middleware.security.SecurityMiddleware",
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
            "pagination.middleware.PaginationMiddleware",
        ],
        ROOT_URLCONF=__name__,
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "OPTIONS": {
                    "context_processors": [
                        "django.template.context_processors.request",
                        "django.contrib.auth.context_processors.auth",
                        "django.contrib.messages.context_processors.messages",
                    ],
                    "loaders": [
                        (
                            "django.template.loaders.cached.Loader",
                            [
                                ("django.template.loaders.locmem.Loader", TEMPLATES),
                                "django.template.loaders.app_directories.Loader",
                            ],
                        )
                    ],
                },
            }
        ],
        DATABASES={"default": db},
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        USE_TZ=True,
        TIME_ZONE="UTC",
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        STATIC_URL="/static/",
        LOGIN_URL="/accounts/login/",
        POSTMAN_AUTO_MODERATE_AS=True,  # deliver at once, as SecureMail does
        POSTMAN_DISALLOW_ANONYMOUS=True,
        PAGINATION_DEFAULT_PAGINATION=PAGE_SIZE,
    )
    django.setup()
    from django.contrib.auth import views as auth_views
    from django.urls import include, path

    urlpatterns[:] = [
        path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
        path("messages/", include("postman.urls", namespace="postman")),
    ]


def is_postgres() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def load_users(sizes: Sizes, now: datetime) -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    user_model = get_user_model()
    password = make_password("bench-password")
    users = [
        user_model(
            id=n + 1,
            username=f"user{n}",
            email=f"user{n}@bench.test",
            password=password,
            date_joined=now,
        )
        for n in range(sizes.users)
    ]
    user_model.objects.bulk_create(users, batch_size=BATCH)


def message_tuples(rows: Sequence[Row], adapt: Callable[[Any], Any]) -> Iterable[tuple[Any, ...]]:
    """Postman's Message rows, in COLUMNS order. The conversation: `thread` is its first
    message, `parent` the one before, `replied_at` the reply's date (as postman sets them)."""
    thread = {r.thread_pos: r for r in thread_rows(list(rows))}
    first = thread[0].n + 1 if thread else None
    subjects = len(SUBJECTS)
    for r in rows:
        sent = adapt(at(r.sent_us))
        parent_id = thread_id = replied = None
        if r.thread_pos is not None:
            thread_id = first
            if r.thread_pos > 0:
                parent_id = thread[r.thread_pos - 1].n + 1
            reply = thread.get(r.thread_pos + 1)
            if reply is not None:
                replied = adapt(at(reply.sent_us))
        yield (
            r.n + 1,
            SUBJECTS[r.n % subjects],
            BODY,
            "",
            sent,
            sent if r.read else None,
            replied,
            False,
            False,
            None,
            None,
            "a",
            sent,
            "",
            None,
            parent_id,
            r.recipient + 1,
            r.sender + 1,
            thread_id,
        )


def load_messages(rows: Sequence[Row]) -> None:
    from django.db import connection, transaction

    table = connection.ops.quote_name("postman_message")
    columns = ", ".join(connection.ops.quote_name(c) for c in COLUMNS)
    with transaction.atomic(), connection.cursor() as cursor:
        if is_postgres():
            # The thread rows come first and point at each other: postman's FKs are deferred.
            tuples = message_tuples(rows, lambda value: value)
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for values in tuples:
                    copy.write_row(values)
        else:
            adapt = connection.ops.adapt_datetimefield_value
            tuples = message_tuples(rows, adapt)
            marks = ", ".join(["%s"] * len(COLUMNS))
            insert = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608
            batch: list[tuple[Any, ...]] = []
            for values in tuples:
                batch.append(values)
                if len(batch) >= BATCH:
                    cursor.executemany(insert, batch)
                    batch.clear()
            if batch:
                cursor.executemany(insert, batch)


def settle() -> None:
    """After a bulk load: sequences past the loaded ids, fresh planner statistics."""
    from django.contrib.auth import get_user_model
    from django.core.management.color import no_style
    from django.db import connection
    from postman.models import Message

    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), [get_user_model(), Message]):
            cursor.execute(statement)
        if is_postgres():
            cursor.execute("VACUUM ANALYZE")
        else:
            cursor.execute("ANALYZE")


def timed(call: Callable[[], Any], check: Callable[[Any], None]) -> list[float]:
    """WARMUP untimed calls, then SAMPLES timed ones (ms); every result passes `check`."""
    for _ in range(WARMUP):
        check(call())
    samples: list[float] = []
    for _ in range(SAMPLES):
        start = time.perf_counter()
        result = call()
        samples.append((time.perf_counter() - start) * 1000)
        check(result)
    return samples


def expect_status(status: int) -> Callable[[Any], None]:
    def check(response: Any) -> None:
        if response.status_code != status:
            raise BenchError(
                f"{response.request['PATH_INFO']}: status {response.status_code}, expected {status}"
            )

    return check


def expect_rows(rows: int) -> Callable[[Any], None]:
    """A folder page that really shows `rows` messages (one checkbox each)."""
    status = expect_status(200)

    def check(response: Any) -> None:
        status(response)
        html = response.content.decode()
        shown = html.count('name="tpks"') + html.count('name="pks"')
        if shown != rows:
            raise BenchError(f"{response.request['PATH_INFO']}: {shown} rows shown, not {rows}")

    return check


class Bench:
    def __init__(self) -> None:
        from django.contrib.auth import get_user_model
        from django.test import Client
        from django.urls import reverse

        self.hot = get_user_model().objects.get(pk=HOT_USER + 1)
        self.client = Client()
        self.client.force_login(self.hot)
        self.inbox_url = reverse("postman:inbox")
        self.inbox_by_message_url = reverse("postman:inbox", args=["m"])
        self.write_url = reverse("postman:write")

    def inbox(self, page: int = 1, *, by_message: bool = False) -> list[float]:
        """Postman's inbox lists conversations (a thread is one row) unless `by_message`."""
        url = self.inbox_by_message_url if by_message else self.inbox_url
        url = url if page == 1 else f"{url}?page={page}"
        return timed(lambda: self.client.get(url), expect_rows(PAGE_SIZE))

    def inbox_queries(self, page: int) -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        url = self.inbox_url if page == 1 else f"{self.inbox_url}?page={page}"
        with CaptureQueriesContext(connection) as queries:
            response = self.client.get(url)
        expect_rows(PAGE_SIZE)(response)
        return len(queries)

    def thread(self, thread_id: int) -> list[float]:
        from django.urls import reverse

        url = reverse("postman:view_conversation", args=[thread_id])

        def check(response: Any) -> None:
            expect_status(200)(response)
            shown = response.content.decode().count('<div class="pm_message')
            if shown != THREAD_LENGTH:
                raise BenchError(f"{url}: {shown} messages shown, not {THREAD_LENGTH}")

        return timed(lambda: self.client.get(url), check)

    def send3(self) -> list[float]:
        from django.contrib.messages.storage.cookie import CookieStorage
        from postman.models import Message

        data = {
            "recipients": ", ".join(f"user{n}" for n in SEND_TO),
            "subject": "Bench: three recipients",
            "body": BODY,
        }

        def send() -> Any:
            response = self.client.post(self.write_url, data)
            # As bench/mailbox.py: the redirect's page would show (and drop) the notice.
            self.client.cookies.pop(CookieStorage.cookie_name, None)
            return response

        before = Message.objects.count()
        samples = timed(send, expect_status(302))
        sent = Message.objects.count() - before
        if sent != len(SEND_TO) * (WARMUP + SAMPLES):
            raise BenchError(f"send3 stored {sent} messages, not {len(SEND_TO)} per send")
        return samples

    def unread(self, expected: int) -> list[float]:
        from postman.models import Message

        def check(count: int) -> None:
            if count != expected:
                raise BenchError(f"unread count {count}, expected {expected}")

        return timed(lambda: Message.objects.inbox_unread_count(self.hot), check)


def deep_page(sizes: Sizes) -> int:
    """?page=200, or the deepest full page where the big inbox is shorter (QUICK)."""
    conversation_rows = sizes.hot - THREAD_LENGTH // 2 + 1  # by conversation: the thread is one
    return min(DEEP_PAGE, conversation_rows // PAGE_SIZE)


def run(url: str, sizes: Sizes) -> dict[str, Any]:
    db = database_settings(url)
    empty_database(db)
    setup_django(db)
    from postman import __version__ as postman_version

    database = "postgresql" if is_postgres() else "sqlite"
    log(f"django {django.get_version()}, postman {postman_version}, {database}: {db['NAME']}")
    now = utcnow()
    started = time.perf_counter()
    building = 0.0
    migrate()
    load_users(sizes, now)
    building += time.perf_counter() - started
    log(f"migrated, {sizes.users} users ({building:.1f}s)")

    growth: dict[str, list[float]] = {}
    bench: Bench | None = None
    thread_id = 0
    unread_hot = 0
    for stage, total in enumerate(sizes.stages):
        started = time.perf_counter()
        rows = rows_for_stage(sizes, stage, now)
        if stage == 0:
            thread_id = thread_rows(rows)[0].n + 1
        unread_hot += sum(1 for r in rows if r.recipient == HOT_USER and not r.read)
        load_messages(rows)
        settle()
        seconds = time.perf_counter() - started
        building += seconds
        log(f"stage {stage}: {total} messages (+{len(rows)} in {seconds:.1f}s)")
        bench = bench or Bench()
        growth[str(total)] = bench.inbox(1)
        log(f"  inbox page 1: median {median(growth[str(total)]):.1f} ms")
    assert bench is not None

    page = deep_page(sizes)
    actions: dict[str, list[float]] = {}
    queries: dict[str, int] = {}
    actions["inbox_first"] = bench.inbox(1)
    queries["inbox_first"] = bench.inbox_queries(1)
    actions["inbox_deep"] = bench.inbox(page)
    queries["inbox_deep"] = bench.inbox_queries(page)
    actions["thread"] = bench.thread(thread_id)
    actions["unread"] = bench.unread(unread_hot)
    # Not in the comparison: the other listing postman offers, one row per message.
    extra = {"inbox_first_by_message": bench.inbox(1, by_message=True)}
    actions["send3"] = bench.send3()  # last: it adds messages (to others than HOT_USER)
    for name, samples in (actions | extra).items():
        log(f"{name}: median {median(samples):.2f} ms")

    from postman.models import Message

    return {
        "side": "django-postman",
        "versions": {"django": django.get_version(), "postman": postman_version},
        "database": database,
        "size": "full" if sizes == FULL else "quick",
        "messages": sizes.messages,
        "messages_after_sends": Message.objects.count(),
        "build_seconds": round(building, 2),
        "deep_page": page,
        "inbox_mode": "by conversation (postman's default)",
        "growth": growth,
        "actions": actions,
        "queries": queries,
        "extra_actions": extra,
    }


def median(samples: Sequence[float]) -> float:
    ordered = sorted(samples)
    middle = len(ordered) // 2
    return (ordered[middle] + ordered[~middle]) / 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--size", choices=["full", "quick"], default="quick")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    os.environ.pop("DJANGO_SETTINGS_MODULE", None)
    try:
        result = run(args.database_url, FULL if args.size == "full" else QUICK)
    except BenchError as error:
        print(f"postman_side: {error}", file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
