"""Stripe's API on loopback for the Stripe tests: what the product's StripeProcessor talks to
(settings.STRIPE_API_BASE points here).

- Everything localstripe knows (customers, payment methods, plans, subscriptions, invoices)
  is passed through to it unchanged.
- Checkout Sessions and Billing Portal sessions, which localstripe lacks, are answered here,
  kept minimal: only the fields and behaviour Stripe's API reference documents for
  POST/GET /v1/checkout/sessions and POST /v1/billing_portal/sessions that the product
  reads (and an idempotency key replays the first answer, as Stripe's does).
- Every request the product makes is recorded (method, path, headers, body), so tests can
  assert idempotency keys and that nothing but opaque ids goes out.
- `fail(...)` makes the next matching calls fail with a 500, as an unwell Stripe does.

`StripeSide` does what Stripe does on its own, straight against localstripe (not recorded):
the buyer paying on the hosted Checkout page, a declined charge, a cancellation.
"""

import json
import re
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

API_KEY = "sk_test_securemail_contract"
WEBHOOK_SECRET = "whsec_securemail_contract_tests"
MONTHLY_PRICE = "price_securemail_monthly"
ANNUAL_PRICE = "price_securemail_annual"


@dataclass
class Recorded:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    @property
    def form(self) -> dict[str, str]:
        """The form-encoded body, flat as sent (`line_items[0][price]` → value)."""
        return dict(urllib.parse.parse_qsl(self.body.decode(), keep_blank_values=True))

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("idempotency-key")


@dataclass
class _Failure:
    method: str
    path: re.Pattern[str]
    times: int
    status: int


@dataclass
class StripeApi:
    localstripe: str
    url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    checkouts: dict[str, dict[str, Any]] = field(default_factory=dict)
    # GET path → an object a test needs that localstripe can't make (a one-off invoice).
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    # (path, idempotency key) → the first answer, replayed as Stripe does.
    _replays: dict[tuple[str, str], tuple[int, bytes]] = field(default_factory=dict)
    _failures: list[_Failure] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- what tests ask -------------------------------------------------------------------

    def made(self, method: str, path_pattern: str) -> list[Recorded]:
        """The product's requests with this method whose path matches (a regex)."""
        with self._lock:
            return [
                r
                for r in self.requests
                if r.method == method and re.fullmatch(path_pattern, r.path)
            ]

    def fail(
        self, method: str, path_pattern: str, *, times: int = 1_000, status: int = 500
    ) -> None:
        """Answer the next `times` matching requests with Stripe's 500 (or a 400 refusal:
        `status`), recorded all the same: Stripe received them."""
        with self._lock:
            self._failures.append(_Failure(method, re.compile(path_pattern), times, status))

    def heal(self) -> None:
        with self._lock:
            self._failures.clear()

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self._failures.clear()

    # --- the server -----------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Any:
        parts = urllib.parse.urlsplit(target)
        recorded = Recorded(method, parts.path, parts.query, headers, body)
        with self._lock:
            self.requests.append(recorded)
            failure = next(
                (
                    f
                    for f in self._failures
                    if f.times > 0 and f.method == method and f.path.fullmatch(parts.path)
                ),
                None,
            )
            if failure is not None:
                failure.times -= 1
        if failure is not None and failure.status >= 500:
            return failure.status, _error("api_error", "Something went wrong on Stripe's end.")
        if failure is not None:
            return failure.status, _error("invalid_request_error", "No such price", "price")
        key = headers.get("idempotency-key")
        if method == "POST" and key:
            with self._lock:
                replay = self._replays.get((parts.path, key))
            if replay is not None:
                return replay
        answer = self._answer(method, parts.path, parts.query, headers, body)
        if method == "POST" and key and answer[0] < 500:
            with self._lock:
                self._replays[(parts.path, key)] = answer
        return answer

    def _answer(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes]:
        if path == "/v1/checkout/sessions" and method == "POST":
            return self._create_checkout(_form(body))
        match = re.fullmatch(r"/v1/checkout/sessions/([^/]+)", path)
        if match and method == "GET":
            return self._retrieve_checkout(match.group(1), _expand(query))
        if path == "/v1/billing_portal/sessions" and method == "POST":
            return self._create_portal_session(_form(body))
        if method == "GET" and path in self.objects:
            return 200, _json(self.objects[path])
        return self._forward(method, path, query, headers, body)

    def _forward(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes]:
        target = self.localstripe + path + (f"?{query}" if query else "")
        passed = {
            k: v
            for k, v in headers.items()
            if k in {"authorization", "content-type", "stripe-version", "idempotency-key"}
        }
        request = urllib.request.Request(
            target, data=body if method != "GET" else None, headers=passed, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            status, content = error.code, error.read()
            error.close()
            return status, content

    # --- Checkout Sessions (API reference: "Create a Checkout Session", "Retrieve") -------

    def _create_checkout(self, form: dict[str, str]) -> tuple[int, bytes]:
        missing = [
            name for name in ("mode", "success_url", "line_items[0][price]") if not form.get(name)
        ]
        if missing:
            return 400, _error("invalid_request_error", f"Missing {missing[0]}", missing[0])
        customer = form.get("customer")
        if (
            customer
            and self._forward("GET", f"/v1/customers/{customer}", "", _auth(), b"")[0] != 200
        ):
            # As Stripe answers it: a 400 with the resource_missing code, about `customer`.
            body = json.loads(_missing("customer", customer))
            body["error"]["param"] = "customer"
            return 400, _json(body)
        session_id = "cs_test_" + secrets.token_hex(12)
        metadata = {
            key[len("subscription_data[metadata][") : -1]: value
            for key, value in form.items()
            if key.startswith("subscription_data[metadata][")
        }
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": form["mode"],
            "status": "open",
            "payment_status": "unpaid",
            "customer": customer,
            "client_reference_id": form.get("client_reference_id"),
            "success_url": form["success_url"],
            "cancel_url": form.get("cancel_url"),
            "subscription": None,
            "invoice": None,
            "metadata": {},
            "livemode": False,
            "created": int(time.time()),
            "expires_at": int(time.time()) + 24 * 3600,
            "url": f"https://checkout.stripe.com/c/pay/{session_id}",
            # Not part of the object Stripe returns: what its hosted page needs to subscribe.
            "_price": form["line_items[0][price]"],
            "_subscription_metadata": metadata,
        }
        with self._lock:
            self.checkouts[session_id] = session
        return 200, _json(_public(session))

    def _retrieve_checkout(self, session_id: str, expand: list[str]) -> tuple[int, bytes]:
        with self._lock:
            session = self.checkouts.get(session_id)
        if session is None:
            return 404, _missing("checkout.session", session_id)
        public = _public(session)
        if "subscription" in expand and public["subscription"]:
            status, content = self._forward(
                "GET", f"/v1/subscriptions/{public['subscription']}", "", _auth(), b""
            )
            if status != 200:
                return status, content
            public["subscription"] = json.loads(content)
        return 200, _json(public)

    # --- Billing Portal ("Create a portal session") ---------------------------------------

    def _create_portal_session(self, form: dict[str, str]) -> tuple[int, bytes]:
        customer = form.get("customer", "")
        status, content = self._forward("GET", f"/v1/customers/{customer}", "", _auth(), b"")
        if status != 200:
            return status, content
        session_id = "bps_" + secrets.token_hex(12)
        flow = {"type": form["flow_data[type]"]} if form.get("flow_data[type]") else None
        return 200, _json(
            {
                "id": session_id,
                "object": "billing_portal.session",
                "customer": customer,
                "return_url": form.get("return_url"),
                "configuration": form.get("configuration", "bpc_default"),
                "flow": flow,
                "livemode": False,
                "created": int(time.time()),
                "url": f"https://billing.stripe.com/p/session/test_{session_id}",
            }
        )


class StripeSide:
    """What Stripe does by itself, on localstripe directly (the product sees none of it)."""

    def __init__(self, api: StripeApi) -> None:
        self.api = api

    def call(self, method: str, path: str, params: dict[str, Any] | None = None) -> Any:
        body = urllib.parse.urlencode(_flatten(params or {})).encode()
        status, content = self.api._forward(method, path, "", _auth(), body)
        answer = json.loads(content)
        if status >= 400:
            raise StripeSideError(status, answer)
        return answer

    def ensure_prices(self) -> None:
        for price, cents, interval in [
            (MONTHLY_PRICE, 2900, "month"),
            (ANNUAL_PRICE, 29000, "year"),
        ]:
            try:
                self.call("GET", f"/v1/plans/{price}")
            except StripeSideError:
                self.call(
                    "POST",
                    "/v1/plans",
                    {
                        "id": price,
                        "amount": cents,
                        "currency": "usd",
                        "interval": interval,
                        "product": {"name": f"SecureMail {interval}"},
                    },
                )

    def card(self, customer: str, number: str = "4242424242424242") -> str:
        """A card payment method attached to `customer` and made its default (StripeSideError
        402 for a number Stripe declines when it is saved, like …0002)."""
        pm = self.call(
            "POST",
            "/v1/payment_methods",
            {
                "type": "card",
                "card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
            },
        )
        self.call("POST", f"/v1/payment_methods/{pm['id']}/attach", {"customer": customer})
        self.call(
            "POST",
            f"/v1/customers/{customer}",
            {"invoice_settings": {"default_payment_method": pm["id"]}},
        )
        return str(pm["id"])

    def pay_checkout(
        self, session_id: str, number: str = "4242424242424242", *, with_invoice: bool = True
    ) -> dict[str, Any]:
        """The buyer pays on the hosted Checkout page: the card is saved, the subscription
        starts (its first invoice paid) and the session completes. `with_invoice=False`
        leaves the session's `invoice` empty (the reference says "if it exists"): the
        first invoice is then only the subscription's latest_invoice."""
        with self.api._lock:
            session = self.api.checkouts[session_id]
        customer = session["customer"]
        self.card(customer, number)
        subscription = self.call(
            "POST",
            "/v1/subscriptions",
            {
                "customer": customer,
                "items": [{"plan": session["_price"]}],
                "metadata": session["_subscription_metadata"],
            },
        )
        with self.api._lock:
            session.update(
                status="complete",
                payment_status="paid",
                subscription=subscription["id"],
                invoice=subscription["latest_invoice"] if with_invoice else None,
            )
        return _public(session)

    def decline_next_charge(self, subscription_id: str) -> dict[str, Any]:
        """The subscription's next charge is declined, and it goes past_due. localstripe has
        no clock to renew by, so the charge is made at once: the card is replaced by one
        that is declined when charged (…0341) and the plan switched, which charges it."""
        subscription = self.call("GET", f"/v1/subscriptions/{subscription_id}")
        self.card(subscription["customer"], "4000000000000341")
        item = subscription["items"]["data"][0]
        other = ANNUAL_PRICE if item["plan"]["id"] == MONTHLY_PRICE else MONTHLY_PRICE
        return dict(
            self.call(
                "POST",
                f"/v1/subscriptions/{subscription_id}",
                {"items": [{"id": item["id"], "plan": other}]},
            )
        )

    def cancel(self, subscription_id: str) -> dict[str, Any]:
        return dict(self.call("DELETE", f"/v1/subscriptions/{subscription_id}"))

    def get(self, path: str) -> dict[str, Any]:
        return dict(self.call("GET", path))


class StripeSideError(Exception):
    def __init__(self, status: int, answer: Any) -> None:
        super().__init__(f"{status}: {answer}")
        self.status = status


def serve(api: StripeApi) -> ThreadingHTTPServer:
    """Start `api` on 127.0.0.1 (a free port, in a daemon thread); sets api.url."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, content = api.handle(self.command, self.path, headers, body)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(content)))
            self.send_header("Request-Id", "req_" + secrets.token_hex(8))
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = do_DELETE = _any

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    return server


def event(kind: str, obj: dict[str, Any], *, event_id: str | None = None) -> bytes:
    """A webhook body as Stripe sends it (a snapshot event about `obj`)."""
    return json.dumps(
        {
            "id": event_id or "evt_" + secrets.token_hex(12),
            "object": "event",
            "api_version": "2026-10-28.endive",
            "created": int(time.time()),
            "type": kind,
            "data": {"object": obj},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
        }
    ).encode()


# --- helpers ------------------------------------------------------------------------------


def _auth() -> dict[str, str]:
    return {"authorization": f"Bearer {API_KEY}"}


def _form(body: bytes) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))


def _expand(query: str) -> list[str]:
    return [v for k, v in urllib.parse.parse_qsl(query) if re.fullmatch(r"expand\[\d*\]", k)]


def _public(session: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in session.items() if not k.startswith("_")}


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


def _error(kind: str, message: str, param: str | None = None) -> bytes:
    return _json({"error": {"type": kind, "message": message, "param": param}})


def _missing(kind: str, object_id: str) -> bytes:
    return _json(
        {
            "error": {
                "type": "invalid_request_error",
                "code": "resource_missing",
                "param": "id",
                "message": f"No such {kind}: '{object_id}'",
            }
        }
    )


def _flatten(params: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Stripe's form encoding: nested dicts and lists as `a[b][0][c]=…`."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        if isinstance(value, dict):
            pairs += _flatten(value, name)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, dict):
                    pairs += _flatten(item, f"{name}[{index}]")
                else:
                    pairs.append((f"{name}[{index}]", str(item)))
        elif value is not None:
            pairs.append((name, str(value).lower() if isinstance(value, bool) else str(value)))
    return pairs
