"""A browser without a browser, for tests against pytest-django's `live_server`: real HTTP
over loopback, with cookies of its own, following redirects like a browser does."""

import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from http.cookiejar import CookieJar


@dataclass
class Page:
    status: int
    url: str
    text: str
    headers: dict[str, str]


class Visitor:
    """One person's browser: its own cookie jar (session, CSRF)."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")
        self.cookies = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))
        self.last: Page | None = None

    def get(self, path: str) -> Page:
        return self._open(urllib.request.Request(self._url(path)))

    def post(self, path: str, data: dict[str, str]) -> Page:
        """POST a form the way the page would: with the CSRF token of the last page."""
        fields = {"csrfmiddlewaretoken": self.csrf_token()} | data
        body = urllib.parse.urlencode(fields).encode()
        return self._open(urllib.request.Request(self._url(path), data=body, method="POST"))

    def csrf_token(self) -> str:
        assert self.last is not None, "open a page first"
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', self.last.text)
        assert match, f"no CSRF token on {self.last.url}"
        return match.group(1)

    def _url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base}{path}"

    def _open(self, request: urllib.request.Request) -> Page:
        try:
            with self.opener.open(request, timeout=60) as response:
                page = Page(
                    response.status,
                    response.url,
                    response.read().decode(),
                    dict(response.headers.items()),
                )
        except urllib.error.HTTPError as error:
            page = Page(error.code, error.url, error.read().decode(), dict(error.headers.items()))
        self.last = page
        return page
