"""Search in one's own mailbox: the results in the mailbox's layout, the matches marked.

The words are posted, never put in the address: a search for a patient's name or a
diagnosis must not end up in server logs, the browser's history or a Referer header.
Marking escapes the text first and only then wraps the matching words in <mark>, so
markup in a subject, a body or a name is shown as text.
"""

from collections.abc import Sequence
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_http_methods

from securemail.core.text import fold
from securemail.messaging import index
from securemail.messaging.content import ContentUnavailable, open_content
from securemail.messaging.forms import SearchForm
from securemail.messaging.search import Hit, search_mailbox
from securemail.messaging.views.common import current_user, logger, message_url
from securemail.messaging.views.mailbox import DateLabels

SNIPPET_BEFORE = 60
SNIPPET_LENGTH = 180


def _spans(
    text: str, words: Sequence[str], *, starts: bool = True, first: bool = False
) -> list[tuple[int, int]]:
    """Where the words a query finds are in `text` as written (by their starts too, unless
    `starts` is off: a body's words are found whole); only the first, with `first` (a
    snippet needs no more of a long body)."""
    found: list[tuple[int, int]] = []
    for start, end, word in index.word_spans(text):
        hit = any(index.matches(word, q, starts=starts) for q in words)
        if hit and (not found or start >= found[-1][1]):
            found.append((start, end))
            if first:
                break
    return found


def marked(text: str, words: Sequence[str], *, starts: bool = True) -> SafeString:
    """`text` escaped, with each word the query finds in <mark>."""
    parts: list[str] = []
    last = 0
    for start, end in _spans(text, words, starts=starts):
        parts += [escape(text[last:start]), "<mark>", escape(text[start:end]), "</mark>"]
        last = end
    parts.append(escape(text[last:]))
    return mark_safe("".join(parts))  # noqa: S308 (every piece of text is escaped above)


def snippet(body: str, words: Sequence[str]) -> SafeString:
    """A line of the body around its first match (or its start), marked."""
    flat = " ".join(body.split())
    folded = flat.lower() if flat.isascii() else fold(flat)
    # Most of a long body is no match: look for the words as text first (fast), for the
    # words themselves only if one is there.
    maybe = any(q in folded for q in words)
    spans = _spans(flat, words, starts=False, first=True) if maybe else []
    start = 0
    if spans and spans[0][0] > SNIPPET_BEFORE:
        # Start at a word boundary a little before the match.
        start = flat.find(" ", spans[0][0] - SNIPPET_BEFORE) + 1
    end = start + SNIPPET_LENGTH
    if end < len(flat):
        cut = flat.rfind(" ", start, end)
        end = cut if cut > start else end
    piece = marked(flat[start:end], words, starts=False)
    lead = "… " if start > 0 else ""
    tail = " …" if end < len(flat) else ""
    return mark_safe(f"{lead}{piece}{tail}")  # noqa: S308 (piece is escaped and marked)


def _row(dates: DateLabels, hit: Hit, words: Sequence[str]) -> dict[str, Any]:
    message = hit.message
    if hit.delivery is None:
        who = ", ".join(d.recipient.display_name for d in hit.recipients)
        practice = ""
        folder = "Sent"
    else:
        sender = message.sender
        who = sender.display_name
        practice = sender.practice.name if sender.practice else ""
        folder = "Archive" if hit.delivery.archived_at else "Inbox"
    try:
        content = open_content(message)
    except ContentUnavailable:
        logger.error("messaging: content of %s failed its integrity check", message)
        subject: SafeString = mark_safe("(this message can't be shown)")
        body: SafeString | str = ""
    else:
        subject = marked(content.subject, words)
        body = snippet(content.body, words)
    return {
        "unread": hit.delivery is not None and not hit.delivery.read_at,
        "who": marked(who, words),
        "practice": marked(practice, words),
        "sent_column": "To" if hit.delivery is None else "From",
        "href": message_url(message.pk),
        "subject": subject,
        "snippet": body,
        "folder": folder,
        "sent": dates.moment(message.sent_at),
        "sent_compact": dates.compact(message.sent_at),
        "expires": dates.day(message.expires_at),
    }


@login_required
@require_http_methods(["GET", "POST"])
def search(request: HttpRequest) -> HttpResponse:
    """GET: the search page. POST: the results (the words stay out of the address)."""
    user = current_user(request)
    if request.method != "POST":
        return render(request, "messaging/search.html", {"form": SearchForm(), "query": ""})
    form = SearchForm(request.POST)
    context: dict[str, Any] = {"form": form, "query": form.shown_text()}
    if not form.is_valid():
        return render(request, "messaging/search.html", context, status=400)
    results = search_mailbox(user, form.words, before=form.cleaned_data["before"] or None)
    dates = DateLabels(user.zone)
    context |= {
        "searched": True,
        "rows": [_row(dates, hit, form.words) for hit in results.hits],
        "older": results.older,
        "paged": bool(form.cleaned_data["before"]),
    }
    return render(request, "messaging/search.html", context)
