"""The conversation page's messages as markup: each card (sender, recipients, dates, body,
files) and, on the viewer's own messages, its delivery slip.

The same markup thread.html's loop printed, built here: a 10-message conversation was some
1,500 template nodes, the largest part of the page's time (bench/served.py's profile).
Every value goes through `escape` (the standard library's, quotes included, as Django's
own); the body through Django's `linebreaks` with escaping on, as the template's filter.
"""

from collections.abc import Iterable
from html import escape
from typing import Any

from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.html import linebreaks
from django.utils.safestring import SafeString, mark_safe

CARD_HTML = (
    '<section class="message{mine}" aria-label="Message from {sender}">\n'
    "<header>\n"
    "<strong>{sender}</strong>{practice}\n"
    '<span class="meta">to {to} · {sent} · deleted for everyone on {expires}</span>\n'
    "</header>\n"
    '<div class="body">{body}</div>\n'
    "{attachments}{slip}"
    "</section>\n"
)

ATTACHMENT_HTML = '<li><a href="{href}" download>{name}</a> <span class="hint">{size}</span></li>'

SLIP_HEAD_HTML = (
    '<details class="slip">\n'
    "<summary>Delivery slip</summary>\n"
    '<table class="list">\n'
    '<thead><tr><th scope="col">Recipient</th><th scope="col">Notice</th>'
    '<th scope="col">Registered</th><th scope="col">Opened</th><th scope="col">Replied</th>'
    "{downloaded_head}</tr></thead>\n"
    "<tbody>\n"
)

SLIP_ROW_HTML = (
    "<tr>\n"
    '<th scope="row">{name}{cc}</th>\n'
    '<td data-label="Notice">{notices}{fix}</td>\n'
    '<td data-label="Registered">{registered}</td>\n'
    '<td data-label="Opened">{opened}</td>\n'
    '<td data-label="Replied">{replied}</td>\n'
    "{downloads}"
    "</tr>\n"
)

FIX_HTML = (
    '\n<div class="actions">\n'
    '<a class="button secondary small" href="{email_href}">Correct the address</a>\n'
    '<form method="post" action="{resend_href}">\n{csrf}\n'
    '<button type="submit" class="secondary small js-once">Re-send invitation</button>\n'
    "</form>\n"
    "</div>\n"
)

ONBOARDING_HTML = (
    '<section class="onboarding" aria-labelledby="{anchor}">\n'
    '<h3 id="{anchor}">Onboarding of {name}</h3>\n'
    '<ol class="timeline">\n{moments}</ol>\n'
    "{stop}"
    "</section>\n"
)

STOP_HTML = (
    '<form method="post" action="{href}">\n{csrf}\n'
    '<input type="hidden" name="message" value="{message}">\n'
    '<button type="submit" class="secondary small js-once">Stop reminders</button>\n'
    "</form>\n"
)


def cards_html(cards: Iterable[dict[str, Any]], *, csrf_token: str) -> SafeString:
    """The markup of `cards` (views.mailbox._thread_cards' dicts, values ready to print)."""
    csrf = f'<input type="hidden" name="csrfmiddlewaretoken" value="{escape(csrf_token)}">'
    return mark_safe(  # noqa: S308 (every value below goes through escape() or linebreaks)
        "".join(_card(card, csrf) for card in cards)
    )


def _card(card: dict[str, Any], csrf: str) -> str:
    files = card["attachments"]
    attachments = ""
    if files:
        attachments = (
            '<ul class="attachments" aria-label="Attachments">'
            + "".join(
                ATTACHMENT_HTML.format(
                    href=escape(str(a["href"])),
                    name=escape(str(a["name"])),
                    size=escape(str(filesizeformat(a["size"]))),
                )
                for a in files
            )
            + "</ul>\n"
        )
    return CARD_HTML.format(
        mine=" mine" if card["mine"] else "",
        sender=escape(str(card["sender"])),
        practice=f" · {escape(str(card['practice']))}" if card["practice"] else "",
        to=escape(str(card["to"])),
        sent=escape(str(card["sent"])),
        expires=escape(str(card["expires"])),
        body=linebreaks(card["body"], autoescape=True),
        attachments=attachments,
        slip=_slip(card, csrf, with_files=bool(files)) if card["slip"] else "",
    )


def _slip(card: dict[str, Any], csrf: str, *, with_files: bool) -> str:
    rows = card["slip"]
    parts = [
        SLIP_HEAD_HTML.format(
            downloaded_head='<th scope="col">Downloaded</th>' if with_files else ""
        )
    ]
    for row in rows:
        parts.append(
            SLIP_ROW_HTML.format(
                name=escape(str(row["name"])),
                cc=" (cc)" if row["cc"] else "",
                notices=_notices(row),
                fix=_fix(row, csrf) if row["may_fix_invitation"] else "",
                registered=escape(str(row["registered"])),
                opened=escape(str(row["opened"])),
                replied=escape(str(row["replied"])),
                downloads=_downloads(row) if with_files else "",
            )
        )
    parts.append("</tbody>\n</table>\n")
    parts.extend(_onboarding(card, row, csrf) for row in rows if row["onboarding"])
    parts.append("</details>\n")
    return "".join(parts)


def _notices(row: dict[str, Any]) -> str:
    notices = row["notices"]
    if not notices:
        return escape(str(row["notified"]))
    return "; ".join(
        f'<strong class="error">{escape(str(n["text"]))}</strong>'
        if n["undelivered"]
        else escape(str(n["text"]))
        for n in notices
    )


def _fix(row: dict[str, Any], csrf: str) -> str:
    recipient = row["recipient_id"]
    return FIX_HTML.format(
        email_href=escape(reverse("practices:invitee_email", args=[recipient])),
        resend_href=escape(reverse("practices:invitee_resend", args=[recipient])),
        csrf=csrf,
    )


def _downloads(row: dict[str, Any]) -> str:
    shown = "".join(f"{escape(str(d))}<br>" for d in row["downloads"])
    return f'<td data-label="Downloaded">{shown}{"" if row["downloaded"] else "not yet"}</td>\n'


def _onboarding(card: dict[str, Any], row: dict[str, Any], csrf: str) -> str:
    stop = ""
    if row["may_stop_reminders"]:
        stop = STOP_HTML.format(
            href=escape(reverse("practices:invitee_stop_reminders", args=[row["recipient_id"]])),
            csrf=csrf,
            message=escape(str(card["id"])),
        )
    return ONBOARDING_HTML.format(
        anchor=escape(f"onboarding-{card['id']}-{row['recipient_id']}"),
        name=escape(str(row["name"])),
        moments="".join(
            f"<li>{escape(str(m['label']))}: {escape(str(m['when']))}</li>"
            for m in row["onboarding"]
        ),
        stop=stop,
    )
