"""HTML to PDF, in memory, fetching nothing (WeasyPrint).

WeasyPrint needs system libraries (Debian's pango: `apt-get install libpango-1.0-0
libpangoft2-1.0-0`, README "PDF export"). Without them the product still runs: `html_to_pdf`
raises PdfUnavailable (the export answers 503 saying why), and the system check
`securemail.W002` names what is missing.

Nothing is fetched while rendering: no base URL, and a URL fetcher that refuses every URL
(images, stylesheets, fonts, `file:` and `data:` alike), so a document can't make the
server read a file or call another host. Styles come in as a string.
"""

import ctypes
import io
import logging
from typing import Any, NoReturn

logger = logging.getLogger(__name__)

# What `.ci/run` installs and the README names for a fresh machine.
PANGO_PACKAGES = "libpango-1.0-0 libpangoft2-1.0-0"
# The libraries WeasyPrint opens (its text/ffi.py), by their names on Linux and macOS.
_LIBRARIES = {
    "pango": ("libpango-1.0.so.0", "libpango-1.0.dylib"),
    "pangoft2": ("libpangoft2-1.0.so.0", "libpangoft2-1.0.dylib"),
    "harfbuzz": ("libharfbuzz.so.0", "libharfbuzz.0.dylib"),
    "fontconfig": ("libfontconfig.so.1", "libfontconfig.1.dylib"),
    "gobject": ("libgobject-2.0.so.0", "libgobject-2.0.0.dylib"),
}


class PdfUnavailable(Exception):
    """WeasyPrint can't run on this machine (its system libraries are missing)."""


class FetchRefused(ValueError):
    """A URL the document asked for while rendering: never fetched."""


def missing_libraries() -> list[str]:
    """The libraries WeasyPrint needs that this machine can't load (cheap: no import of
    WeasyPrint itself, which takes half a second)."""
    missing = []
    for name, files in _LIBRARIES.items():
        for file in files:
            try:
                ctypes.CDLL(file)
                break
            except OSError:
                continue
        else:
            missing.append(name)
    return missing


_weasyprint: Any = None
_unavailable: str = ""


def _load() -> Any:
    """WeasyPrint, imported on first use (PdfUnavailable, every time, if it can't load)."""
    global _weasyprint, _unavailable
    if _weasyprint is None and not _unavailable:
        try:
            import weasyprint
        except (ImportError, OSError) as error:
            _unavailable = f"{type(error).__name__}: {error}"
            logger.error("pdf: WeasyPrint can't load (%s): PDF export is off", _unavailable)
        else:
            _weasyprint = weasyprint
    if _weasyprint is None:
        raise PdfUnavailable(_unavailable)
    return _weasyprint


def ensure_available() -> None:
    """PdfUnavailable unless WeasyPrint runs here (the first call imports it)."""
    _load()


def refuse(url: str) -> NoReturn:  # noqa: ARG001 (the URL is never logged: it may be anything)
    """What every URL a document asks for gets."""
    raise FetchRefused("Nothing is fetched while rendering a PDF.")


def _fetcher(weasyprint: Any) -> Any:
    class RefuseEverything(weasyprint.urls.URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> NoReturn:  # noqa: ARG002
            refuse(url)

    return RefuseEverything()


def html_to_pdf(html: str, *, css: str) -> bytes:
    """The PDF of `html` styled by `css` (both strings), made in memory; PdfUnavailable when
    WeasyPrint can't run here."""
    weasyprint = _load()
    fetcher = _fetcher(weasyprint)
    out = io.BytesIO()
    weasyprint.HTML(string=html, url_fetcher=fetcher).write_pdf(
        out, stylesheets=[weasyprint.CSS(string=css, url_fetcher=fetcher)]
    )
    return out.getvalue()
