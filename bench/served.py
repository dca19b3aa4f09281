"""The site as served: gunicorn in production mode, driven by wrk (issue 12's served targets).

Starts from an empty PostgreSQL database and a temporary directory holding freshly generated
keys (keyring, audit key, shredding ratchet, secret key), with the environment production
needs (scripts/check-deploy's: DEBUG off, every secret set) behind a TLS proxy: requests
carry `X-Forwarded-Proto: https` (SECURE_PROXY_SSL_HEADER=true). It runs what a production
install runs (`migrate`, `createcachetable`, `collectstatic`, `keys init`), builds a doctor
with a realistic mailbox through the product's services (500 received messages in
conversations of several messages, a few attachments, most of them read), then, for 1 and 2
gunicorn (sync) workers and for 2 workers of 4 threads each: starts `gunicorn
securemail.wsgi`, logs in over HTTP (GET the login page, POST the credentials; cookies are
read from Set-Cookie, Secure or not) and drives the inbox, a conversation, the compose page
and the login page with wrk (16 connections), one page after the other in the same run.
Prints req/s, p50 and p99 per page with the targets (inbox and thread at least a third of
the login page's rate, p99 ≤ 100 ms) marked met or missed, and how
each page scales from 1 to 2 workers.

    .venv/bin/python bench/served.py [--quick] [--workers 1,2,2x4] [--seconds 10]
    .venv/bin/python bench/served.py --state var/bench/served-state          # keep the data
    .venv/bin/python bench/served.py --state var/bench/served-state --reuse  # skip the build
    .venv/bin/python bench/served.py --state var/bench/served-state --reuse --profile inbox

Besides req/s and latency, each page's "web CPU" is the CPU time gunicorn's workers spent
per request (from /proc): what a page costs whatever else the machine runs, so runs on a
busy machine stay comparable.

`--profile PAGE` (inbox, thread, compose, login; or send, drafts) runs no server: it profiles
that page (or a send to 3 people) in-process (Django's test client through the whole
middleware stack, the same production settings) and prints the query count, the CPU time
per request and cProfile's top functions by CPU time (the stats also go to
var/bench/served-profile-PAGE.pstats).

PostgreSQL is at BENCH_POSTGRES_URL's server (default the local one); the database is named
after it with `_served` appended (bench_securemail_served; `_served_kept` with --state),
dropped and created again. wrk
comes from Debian (`apt-get install -y wrk`). Raw results: var/bench/served-results.json.
Exits 0 when a target is missed (this is a report), non-zero only when something fails.
"""

import argparse
import base64
import cProfile
import http.client
import json
import os
import pstats
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT_DIR = ROOT / "var" / "bench"
RESULTS = OUT_DIR / "served-results.json"
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/bench_securemail"
PYTHON = Path(sys.executable)
GUNICORN = PYTHON.parent / "gunicorn"

CONNECTIONS = 16
SECONDS = 10
QUICK_SECONDS = 3
WARMUP_SECONDS = 2
PAGES = ("inbox", "thread", "compose", "login")
LABELS = {
    "inbox": "Inbox, first page (50 rows)",
    "thread": "Conversation ({n} messages, 1 file)",
    "compose": "Compose page",
    "login": "Login page (anonymous)",
}
RATE_SHARE = 1 / 3  # inbox and thread at least a third of the login page's req/s
P99_TARGET_MS = 100.0
X = "\N{MULTIPLICATION SIGN}"
DASH = "\N{EN DASH}"

# The mailbox: conversations of several messages; the doctor receives RECEIVED in all.
RECEIVED = 500
PER_CONVERSATION = 5  # messages the doctor receives in each conversation (and answers 4)
QUICK_RECEIVED = 100
PASSWORD = "served-bench-password-1"  # noqa: S105 (a benchmark account on a throwaway db)
DOCTOR = "doctor@served.bench"
PROXY_HEADERS = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "127.0.0.1"}
HOST = "127.0.0.1"
LOGIN = "/accounts/login/"

EXTRA_ENV: dict[str, str] = {}  # --env NAME=VALUE (to try a setting)

sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != HERE)]


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------
# The production environment, with keys of its own.
# --------------------------------------------------------------------------------------


def b64_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def make_state(state: Path) -> dict[str, str]:
    """Fresh secrets in `state` (a directory only this run uses); returns them."""
    state.mkdir(parents=True, exist_ok=True)
    secrets_file = state / "secrets.json"
    values = {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "SECUREMAIL_KEYS": f"1:{b64_key()}",
        "SECUREMAIL_AUDIT_KEY": b64_key(),
    }
    fd = os.open(secrets_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(values, handle)
    return values


def production_env(state: Path, database_url: str, port: int) -> dict[str, str]:
    """scripts/check-deploy's environment, on this machine: DEBUG off, every secret set,
    behind a TLS-terminating proxy on 127.0.0.1."""
    values = json.loads((state / "secrets.json").read_text())
    origin = f"https://{HOST}:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SECUREMAIL_", "DJANGO_"))}
    env.update(values)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "securemail.settings",
            "DEBUG": "false",
            "DATABASE_URL": database_url,
            "SECUREMAIL_BASE_URL": origin,
            "ALLOWED_HOSTS": f"{HOST},localhost",
            "CSRF_TRUSTED_ORIGINS": origin,
            "SECURE_PROXY_SSL_HEADER": "true",
            "SECUREMAIL_TRUSTED_PROXIES": "1",
            "SECUREMAIL_VAR_DIR": str(state / "var"),
            "SECUREMAIL_FILES_DIR": str(state / "files"),
            "SECUREMAIL_RATCHET_FILE": str(state / "shred-ratchet"),
            "SECUREMAIL_KEYRING_FILE": str(state / "keyring"),
            # Nothing is sent: no worker runs, emails wait in the outbox.
            "EMAIL_URL": "smtp+tls://relay.invalid:587",
            "SMS_PROVIDER": "twilio",
            "TWILIO_ACCOUNT_SID": "AC0",
            "TWILIO_AUTH_TOKEN": "x",
            "TWILIO_FROM_NUMBER": "+12025550100",
            "PAYMENT_PROCESSOR": "stripe",
            "STRIPE_SECRET_KEY": "sk_test_0",
            "STRIPE_WEBHOOK_SECRET": "whsec_0",
            "STRIPE_PRICE_MONTHLY": "price_monthly",
            "STRIPE_PRICE_ANNUAL": "price_annual",
            "LOG_LEVEL": "WARNING",
        }
    )
    env.pop("CACHE_URL", None)
    env.update(EXTRA_ENV)
    return env


def served_database_url(*, kept: bool) -> str:
    """BENCH_POSTGRES_URL's database + "_served" ("_served_kept" for a --state run, whose
    data outlives the run: a run with temporary keys drops its own database at the end)."""
    base = os.environ.get("BENCH_POSTGRES_URL", DEFAULT_PG)
    server, _, name = base.rpartition("/")
    name = name.split("?")[0] or "bench_securemail"
    return f"{server}/{name}_served" + ("_kept" if kept else "")


def recreate_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    server, _, name = url.rpartition("/")
    with psycopg.connect(f"{server}/postgres", autocommit=True, connect_timeout=5) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def postgres_unreachable(url: str) -> str | None:
    """None if the server answers, else why not."""
    import psycopg

    server = url.rpartition("/")[0]
    try:
        with psycopg.connect(f"{server}/postgres", connect_timeout=5):
            return None
    except psycopg.Error as error:
        return str(error).strip().splitlines()[0]


def drop_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    server, _, name = url.rpartition("/")
    with psycopg.connect(f"{server}/postgres", autocommit=True, connect_timeout=5) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


# --------------------------------------------------------------------------------------
# Building the mailbox (a subprocess with the production settings).
# --------------------------------------------------------------------------------------


def build(received: int, out: Path) -> None:
    """Install as production does, then the doctor's mailbox through the services."""
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    call_command("createcachetable", verbosity=0)
    call_command("collectstatic", verbosity=0, interactive=False)
    call_command("keys", "init", verbosity=0)
    out.write_text(json.dumps(_mailbox(received)))


def _mailbox(received: int) -> dict[str, Any]:
    import uuid

    from django.db import connection
    from django.utils import timezone

    from securemail.accounts.models import Practice, User
    from securemail.messaging import services
    from securemail.messaging.models import Delivery, Message
    from securemail.messaging.uploads import UPLOAD_FIELD, EncryptingUploadHandler

    started = time.perf_counter()

    def practice(n: int, name: str) -> Practice:
        return Practice.objects.create(
            name=name,
            phone=f"+1202555{n:04d}",
            address_line1=f"{n} Main Street",
            city="Springfield",
            state="IL",
            postal_code="62701",
        )

    own, other = practice(1, "Bright Smiles Dental"), practice(2, "Lakeside Oral Surgery")
    numbers = iter(range(100, 10_000))

    def person(email: str, name: str, kind: str, place: Practice | None, **more: Any) -> User:
        return User.objects.create_user(
            email,
            PASSWORD,
            full_name=name,
            kind=kind,
            practice=place,
            status=User.Status.ACTIVE,
            phone=f"+1312555{next(numbers):04d}",
            phone_verified_at=timezone.now(),
            **more,
        )

    paid = {"plan": User.Plan.PAID}
    doctor = person(DOCTOR, "Jane Roe", User.Kind.DOCTOR, own, is_practice_manager=True, **paid)
    colleagues = [
        person(f"staff{n}@served.bench", f"Sam Front {n}", User.Kind.STAFF, own, **paid)
        for n in range(4)
    ] + [
        person(f"surgeon{n}@served.bench", f"Omar Lee {n}", User.Kind.DOCTOR, other, **paid)
        for n in range(4)
    ]
    patients = [
        person(f"patient{n}@served.bench", f"Pat Smith {n}", User.Kind.PATIENT, None)
        for n in range(24)
    ]

    def upload(name: str, size: int) -> Any:
        handler = EncryptingUploadHandler(None)
        handler.new_file(UPLOAD_FIELD, name, "application/pdf", size)
        content = (b"%PDF-1.4\n" + secrets.token_bytes(size))[:size]
        handler.receive_data_chunk(content, 0)
        return handler.file_complete(size)

    def spec(user: User) -> services.RecipientSpec:
        return services.RecipientSpec(email=user.email)

    body = (
        "Hello, following up on the visit last week. The periapical film shows the lesion "
        "has not grown; we would like to re-evaluate in six weeks. Please continue the "
        "chlorhexidine rinse twice daily and avoid hard foods on that side.\n\nIf the "
        "swelling returns, call the office right away. Kind regards."
    )
    subjects = [
        "Referral: implant consult",
        "Post-op instructions",
        "Lab results for review",
        "X-rays attached",
        "Question about medication",
        "Appointment follow-up",
    ]
    conversations = received // PER_CONVERSATION
    thread_id = None
    got = 0
    for c in range(conversations):
        with_file = c % 20 == 7
        files = [upload(f"scan-{c}.pdf", 40_000)] if with_file else []
        if c % 2 == 0:  # a colleague writes to the doctor; they take turns
            other_side = colleagues[c % len(colleagues)]
            first = services.send_message(
                sender=other_side,
                recipients=[spec(doctor)],
                subject=subjects[c % len(subjects)],
                body=body,
                client_token=uuid.uuid4(),
                attachments=files,
            )
            turns = [other_side, doctor] * PER_CONVERSATION
            turns = turns[1 : 2 * PER_CONVERSATION - 1]
        else:  # the doctor writes to a patient, who answers
            other_side = patients[c % len(patients)]
            first = services.send_message(
                sender=doctor,
                recipients=[spec(other_side)],
                subject=subjects[c % len(subjects)],
                body=body,
                client_token=uuid.uuid4(),
                attachments=files,
            )
            turns = [other_side, doctor] * PER_CONVERSATION
            turns = turns[: 2 * PER_CONVERSATION - 1]
        parent = first
        for turn, sender in enumerate(turns):
            parent = services.reply(
                sender=sender,
                parent=parent,
                body=f"{body} ({turn})",
                client_token=uuid.uuid4(),
            )
        if with_file and thread_id is None:
            thread_id = first.pk
        got += PER_CONVERSATION
        if c % 10 == 9:
            log(f"  {got} of {received} received messages ({time.perf_counter() - started:.0f} s)")
    # Most of the mailbox has been read: all but the last 10 % (newest first).
    inbox = list(
        Delivery.objects.filter(recipient=doctor)
        .order_by("-sent_at")
        .values_list("message_id", flat=True)
    )
    read = Message.objects.filter(pk__in=inbox[received // 10 :])
    services.mark_read(reader=doctor, messages=list(read))
    assert thread_id is not None
    thread = Message.objects.filter(pk=thread_id).first()
    assert thread is not None
    length = 1 + Message.objects.filter(thread_root_id=thread_id).count()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # what autovacuum does after a bulk of writes
    return {
        "doctor": DOCTOR,
        "thread": str(thread_id),
        "thread_messages": length,
        "received": len(inbox),
        "build_seconds": round(time.perf_counter() - started, 1),
    }


# --------------------------------------------------------------------------------------
# HTTP: logging in, checking a page.
# --------------------------------------------------------------------------------------


class Browser:
    """Just enough of a browser behind the TLS proxy: cookies from Set-Cookie (Secure or
    not, `__Host-` or not: the proxy speaks https to the real browser), sent back as-is."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def request(
        self, method: str, path: str, body: str | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], str]:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=30)
        sent = {**PROXY_HEADERS, "Host": f"{HOST}:{self.port}", **(headers or {})}
        if self.cookies:
            sent["Cookie"] = self.cookie_header()
        try:
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
            for name, value in response.getheaders():
                if name.lower() == "set-cookie":
                    pair = value.split(";", 1)[0]
                    key, _, val = pair.partition("=")
                    if val and "max-age=0" not in value.lower():
                        self.cookies[key.strip()] = val.strip()
                    else:
                        self.cookies.pop(key.strip(), None)
            return response.status, {k.lower(): v for k, v in response.getheaders()}, text
        finally:
            conn.close()

    def log_in(self, email: str, password: str) -> None:
        status, _, page = self.request("GET", LOGIN)
        if status != 200:
            raise SystemExit(f"GET {LOGIN} answered {status}")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if token is None:
            raise SystemExit("the login page has no CSRF token")
        from urllib.parse import urlencode

        form = urlencode(
            {"csrfmiddlewaretoken": token.group(1), "username": email, "password": password}
        )
        origin = f"https://{HOST}:{self.port}"
        status, _, page = self.request(
            "POST",
            LOGIN,
            body=form,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": origin,
                "Referer": f"{origin}{LOGIN}",
            },
        )
        if status != 302:
            raise SystemExit(f"logging in answered {status}, not a redirect:\n{page[:1500]}")
        status, _, page = self.request("GET", "/")
        if status != 200 or "Log out" not in page:
            raise SystemExit(f"after logging in, the inbox answered {status}")


def wait_until_serving(port: int, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with status {process.returncode}")
        try:
            status, _, _ = Browser(port).request("GET", LOGIN)
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("gunicorn did not answer within a minute")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------------------
# wrk
# --------------------------------------------------------------------------------------

# Counts answers that aren't 200 (a redirect to the login page would look fast) and reports
# the numbers as one JSON line.
WRK_SCRIPT = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) bad = 0 end
function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end
function done(summary, latency, requests)
  local wrong = 0
  for _, t in ipairs(threads) do wrong = wrong + t:get("bad") end
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"mean_us": %.1f, "max_us": %d, "not_200": %d, "socket_errors": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.mean, latency.max, wrong,
    e.connect + e.read + e.write + e.timeout))
end
"""


def wrk_available() -> str | None:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        log("installing wrk (apt-get install -y wrk) ...")
        subprocess.run(["apt-get", "install", "-y", "wrk"], capture_output=True, check=False)  # noqa: S607
        return shutil.which("wrk")
    return None


def run_wrk(wrk: str, url: str, cookie: str | None, seconds: int, script: Path) -> dict[str, Any]:
    command = [
        wrk,
        "-t2",
        f"-c{CONNECTIONS}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
    ]
    for name, value in PROXY_HEADERS.items():
        command += ["-H", f"{name}: {value}"]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    result = subprocess.run([*command, url], capture_output=True, text=True, check=True)  # noqa: S603
    line = next((ln for ln in result.stdout.splitlines() if ln.startswith("WRK ")), None)
    if line is None:
        raise SystemExit(f"wrk printed no result:\n{result.stdout}\n{result.stderr}")
    data: dict[str, Any] = json.loads(line[4:])
    data["rps"] = data["requests"] / (data["duration_us"] / 1e6)
    return data


def describe(spec: str) -> str:
    """ "2" → "2 workers"; "2x4" → "2 workers, 4 threads each" (gthread)."""
    workers, _, threads = spec.partition("x")
    text = f"{workers} worker{'s' if workers != '1' else ''}"
    return f"{text}, {threads} threads each" if threads else text


def process_tree_cpu(root: int) -> float:
    """CPU seconds (user + system) used so far by `root`'s child processes (gunicorn's
    workers): what a request costs the web process whatever else the machine runs."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == root:  # ppid
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def serve_and_measure(
    env: dict[str, str], port: int, spec: str, paths: dict[str, str], seconds: int, wrk: str
) -> dict[str, Any]:
    workers, _, more = spec.partition("x")
    threads = int(more or 1)
    command = [
        str(GUNICORN),
        "securemail.wsgi",
        "--workers",
        str(workers),
        *(["--threads", str(threads)] if threads > 1 else []),
        "--bind",
        f"{HOST}:{port}",
        "--log-level",
        "warning",
    ]
    log(f"== gunicorn, {describe(spec)}, load average {load_average()} ==")
    process = subprocess.Popen(command, cwd=ROOT, env=env)  # noqa: S603
    try:
        wait_until_serving(port, process)
        browser = Browser(port)
        browser.log_in(DOCTOR, PASSWORD)
        cookie = browser.cookie_header()
        for page, path in paths.items():
            status, _, _ = browser.request("GET", path) if page != "login" else (200, {}, "")
            if status != 200:
                raise SystemExit(f"{path} answered {status}")
        script = OUT_DIR / "served-wrk.lua"
        script.write_text(WRK_SCRIPT)
        pages: dict[str, Any] = {}
        for page, path in paths.items():
            url = f"http://{HOST}:{port}{path}"
            sent_cookie = None if page == "login" else cookie
            run_wrk(wrk, url, sent_cookie, WARMUP_SECONDS, script)
            cpu_before = process_tree_cpu(process.pid)
            result = run_wrk(wrk, url, sent_cookie, seconds, script)
            result["web_cpu_ms"] = (
                (process_tree_cpu(process.pid) - cpu_before) * 1000 / max(result["requests"], 1)
            )
            result["load_average"] = load_average()
            pages[page] = result
            log(
                f"  {page:<8} {result['rps']:7.1f} req/s  p50 {result['p50_us'] / 1000:6.1f} ms"
                f"  p99 {result['p99_us'] / 1000:6.1f} ms  web CPU {result['web_cpu_ms']:5.2f} ms"
                f"/request  (not 200: {result['not_200']})"
            )
            if result["not_200"] or result["socket_errors"]:
                raise SystemExit(
                    f"{path}: {result['not_200']} answers not 200, "
                    f"{result['socket_errors']} socket errors"
                )
        return pages
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --------------------------------------------------------------------------------------
# The in-process profile.
# --------------------------------------------------------------------------------------


def profile(page: str, runs: int, info: dict[str, Any]) -> None:
    import django

    django.setup()
    import uuid

    from django.contrib.messages.storage.cookie import CookieStorage
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(headers=PROXY_HEADERS, HTTP_HOST=HOST)
    path = {**page_paths(info), "send": "/compose/", "drafts": "/drafts/"}[page]

    def send_form() -> dict[str, str]:
        """What the compose page posts: a new message to 3 people (as bench/mailbox.py)."""
        return {
            "to": "staff0@served.bench, patient0@served.bench, surgeon0@served.bench",
            "cc": "",
            "subject": "Referral: implant consult",
            "body": "Hello, following up on the visit last week. " * 12,
            "expiry_days": "30",
            "client_token": str(uuid.uuid4()),
            "draft": "",
        }

    if page != "login":
        # Not through the login form: its rate limit (10 in 5 minutes) would stop a series
        # of profiles. The session is the same as the form's.
        from securemail.accounts.models import User

        client.force_login(
            User.objects.get(email=DOCTOR), backend="securemail.accounts.backends.EmailBackend"
        )

    def get() -> None:
        if page == "send":
            response = client.post("/compose/", send_form())
            assert response.status_code == 302, response.content[:3000]
            # A browser follows the redirect, whose page shows (and drops) the "Sent"
            # notice: unread, thousands of them would fill the messages cookie, decoded and
            # encoded again on every send (bench/mailbox.py does the same).
            client.cookies.pop(CookieStorage.cookie_name, None)
            return
        response = client.get(path)
        assert response.status_code == 200, response.status_code
        if page == "login":
            client.cookies.clear()

    for _ in range(20):
        get()
    with CaptureQueriesContext(connection) as captured:
        get()
    queries = captured.captured_queries  # now: the next request clears the log
    samples = []
    cpu = []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        get()
        samples.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    print(
        f"{page}: {len(queries)} queries; in-process median {statistics.median(samples):.2f} ms "
        f"(min {min(samples):.2f}), CPU median {statistics.median(cpu):.2f} ms over {runs} requests"
    )
    for q in queries:
        print(f"   {q['time']}s  {q['sql'][:160]}")
    profiler = cProfile.Profile(time.process_time)  # CPU time: what other load does not change
    profiler.enable()
    for _ in range(runs):
        get()
    profiler.disable()
    profiler.dump_stats(OUT_DIR / f"served-profile-{page}.pstats")  # for pstats / snakeviz
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(45)
    stats.sort_stats("tottime").print_stats(30)


def page_paths(info: dict[str, Any]) -> dict[str, str]:
    return {
        "inbox": "/",
        "thread": f"/m/{info['thread']}/",
        "compose": "/compose/",
        "login": LOGIN,
    }


# --------------------------------------------------------------------------------------
# The report.
# --------------------------------------------------------------------------------------


def report(results: dict[str, Any]) -> list[str]:
    runs = results["runs"]
    info = results["mailbox"]
    lines = [
        f"Machine: {results['machine']}",
        f"Load average before / after: {results['load_before']} / {results['load_after']}",
        "",
        f"### Served: gunicorn, DEBUG off, {results['database']}, wrk "
        f"{CONNECTIONS} connections, {results['seconds']} s per page after "
        f"{WARMUP_SECONDS} s warm-up; {info['received']} messages in the inbox",
        "",
        "| Page | gunicorn | req/s | p50 (ms) | p99 (ms) | ÷ login page | web CPU (ms/req) "
        "| Target met? |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for spec, pages in runs.items():
        login = pages["login"]["rps"]
        for page in PAGES:
            r = pages[page]
            p99 = r["p99_us"] / 1000
            share = r["rps"] / login
            checks = []
            if page in {"inbox", "thread"}:
                checks.append((share >= RATE_SHARE, "≥ ⅓ of the login page's req/s"))
            checks.append((p99 <= P99_TARGET_MS, f"p99 ≤ {P99_TARGET_MS:.0f} ms"))
            failed = [t for ok, t in checks if not ok]
            met = [t for ok, t in checks if ok]
            verdict = (
                "**no**: " + "; ".join(failed) + (f" (met: {'; '.join(met)})" if met else "")
                if failed
                else "yes (" + "; ".join(met) + ")"
            )
            label = LABELS[page].format(n=info["thread_messages"])
            lines.append(
                f"| {label} | {describe(spec)} | {r['rps']:.0f} | {r['p50_us'] / 1000:.1f} | "
                f"{p99:.1f} | {share:.2f} | {r.get('web_cpu_ms', 0):.2f} | {verdict} |"
            )
    if "1" in runs and "2" in runs:
        lines += ["", "Scaling from 1 to 2 workers (req/s, 2 workers ÷ 1):"]
        lines.append(
            ", ".join(
                f"{page} {runs['2'][page]['rps'] / runs['1'][page]['rps']:.2f}{X}" for page in PAGES
            )
        )
    return lines


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import platform

    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def drive(args: argparse.Namespace) -> int:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    wrk = wrk_available()
    if wrk is None and not args.profile:
        print(
            "wrk is not installed: `apt-get install -y wrk` (Debian, as root), then run "
            "bench/served.py again."
        )
        return 1
    url = served_database_url(kept=args.state is not None)
    why = postgres_unreachable(url)
    if why:
        print(f"Skipping the served benchmark: PostgreSQL is unreachable ({why}).")
        return 0
    temporary = args.state is None
    state = Path(tempfile.mkdtemp(prefix="securemail-served-")) if temporary else args.state
    info_file = state / "mailbox.json"
    port = free_port()
    received = QUICK_RECEIVED if args.quick else RECEIVED
    try:
        if not (args.reuse and info_file.exists()):
            if state.exists() and not temporary:
                shutil.rmtree(state)
            make_state(state)
            recreate_database(url)
            log(f"== building {received} messages in {url.rpartition('/')[2]} ==")
            env = production_env(state, url, port)
            subprocess.run(  # noqa: S603
                [str(PYTHON), __file__, "--build", str(received), "--out", str(info_file)],
                cwd=ROOT,
                env=env,
                check=True,
            )
        info = json.loads(info_file.read_text())
        env = production_env(state, url, port)
        if args.profile:
            return subprocess.call(  # noqa: S603
                [str(PYTHON), __file__, "--profile-worker", args.profile, "--out", str(info_file)],
                cwd=ROOT,
                env=env,
            )
        assert wrk is not None
        seconds = args.seconds or (QUICK_SECONDS if args.quick else SECONDS)
        paths = page_paths(info)
        load_before = load_average()
        runs: dict[str, Any] = {}
        for spec in args.workers:
            runs[spec] = serve_and_measure(env, port, spec, paths, seconds, wrk)
        results = {
            "machine": machine(),
            "database": _server_version(url),
            "seconds": seconds,
            "connections": CONNECTIONS,
            "load_before": load_before,
            "load_after": load_average(),
            "mailbox": info,
            "runs": runs,
        }
        RESULTS.write_text(json.dumps(results, indent=1))
        print("\n".join(report(results)))
        print(f"\nRaw results: {RESULTS.relative_to(ROOT)}")
        return 0
    finally:
        if temporary:  # its keys are gone: so is its database
            shutil.rmtree(state, ignore_errors=True)
            drop_database(url)


def _server_version(url: str) -> str:
    import psycopg

    with psycopg.connect(url, connect_timeout=5) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return f"PostgreSQL {row[0] if row else '?'}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 messages, 3 s per page")
    parser.add_argument(
        "--workers",
        type=lambda text: [n.strip() for n in text.split(",")],
        default=["1", "2", "2x4"],
        help="gunicorn setups: workers, or WORKERSxTHREADS (gthread); default 1,2,2x4",
    )
    parser.add_argument("--seconds", type=int, help="wrk's duration per page")
    parser.add_argument("--state", type=Path, help="keep keys and files here (default: temp)")
    parser.add_argument("--reuse", action="store_true", help="reuse --state's data")
    parser.add_argument(
        "--profile",
        choices=[*PAGES, "send", "drafts"],
        help="profile one page (or a send) in-process",
    )
    parser.add_argument(
        "--env", action="append", default=[], help="NAME=VALUE for the server (to try one)"
    )
    parser.add_argument("--build", type=int, help=argparse.SUPPRESS)
    parser.add_argument(
        "--profile-worker", choices=[*PAGES, "send", "drafts"], help=argparse.SUPPRESS
    )
    parser.add_argument("--runs", type=int, default=200, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    EXTRA_ENV.update(item.split("=", 1) for item in args.env)
    if args.build is not None:
        build(args.build, args.out)
        return 0
    if args.profile_worker:
        profile(args.profile_worker, args.runs, json.loads(args.out.read_text()))
        return 0
    return drive(args)


if __name__ == "__main__":
    sys.exit(main())
