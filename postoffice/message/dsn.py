"""Delivery status notifications (RFC 3464, RFC 3461 §6): composing, without I/O.

Owns :class:`RecipientReport` and :func:`compose_dsn`, which returns a DSN as a
``(head, tail)`` pair of octets: the report is ``head + tail`` when only the original
headers are returned (RET=HDRS, or no RET), and ``head + original message + tail`` with
RET=FULL, so the caller streams a message of any size between them (constant memory).

The message is ``multipart/report; report-type=delivery-status`` (RFC 6522) with three
parts: a human-readable text, the ``message/delivery-status`` fields (RFC 3464 §2.2-2.3)
and ``text/rfc822-headers`` or ``message/rfc822``. It is sent with the null
reverse-path (RFC 5321 §4.5.5), which the caller takes care of.
"""

from __future__ import annotations

import email.utils
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = ["RecipientReport", "compose_dsn"]

Action = Literal["failed", "delayed", "delivered", "relayed", "expanded"]


@dataclass(frozen=True, slots=True)
class RecipientReport:
    address: str  # RFC 3464 §2.3.2 Final-Recipient (rfc822)
    action: Action  # §2.3.3
    status: str  # §2.3.4: RFC 3463 code such as "5.1.1"
    diagnostic: str = ""  # §2.3.6 Diagnostic-Code, "smtp; 550 5.1.1 ..." (the reply as received)
    remote_mta: str = ""  # §2.3.5: the host that answered
    orcpt: str = ""  # §2.3.1 Original-Recipient: "rfc822;addr"
    last_attempt: float | None = None  # §2.3.7
    will_retry_until: float | None = None  # §2.3.8 (delay reports)


def _clean(text: str) -> str:
    """A header-safe single line."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())[:900]


def _date(when: float) -> str:
    return email.utils.formatdate(when, localtime=False)


_SUBJECTS = {
    "failed": "Undelivered Mail Returned to Sender",
    "delayed": "Delayed Mail (still being retried)",
    "delivered": "Successful Mail Delivery Report",
    "relayed": "Mail Relayed (no further reports)",
    "expanded": "Mail Delivered to an Alias",
}


def compose_dsn(
    *,
    reporting_mta: str,
    postmaster: str,
    to: str,
    recipients: Sequence[RecipientReport],
    now: float,
    arrival_date: float | None = None,
    envid: str | None = None,
    original_headers: bytes = b"",
    full: bool = False,
    original_subject: str = "",
    boundary: str | None = None,
) -> tuple[bytes, bytes]:
    """(head, tail) of one DSN to ``to`` about ``recipients`` (all of one original message).

    ``full``: the original message goes between head and tail as message/rfc822 (RET=FULL);
    otherwise ``original_headers`` (the header block, blank line excluded or included) are
    returned as text/rfc822-headers."""
    if not recipients:
        raise ValueError("a DSN reports on at least one recipient")
    actions = {r.action for r in recipients}
    kind: Action = "failed" if "failed" in actions else recipients[0].action
    boundary = boundary or f"=_dsn_{secrets.token_hex(12)}"
    message_id = f"<{secrets.token_hex(16)}@{reporting_mta}>"
    subject = _SUBJECTS[kind]
    if original_subject:
        subject += f": {_clean(original_subject)[:200]}"
    head = [
        f"From: Mail Delivery System <{postmaster}>",
        f"To: <{to}>",
        f"Subject: {subject}",
        f"Date: {_date(now)}",
        f"Message-ID: {message_id}",
        "Auto-Submitted: auto-replied",  # RFC 3834 §5
        "MIME-Version: 1.0",
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"',
        "",
        "This is a MIME-encapsulated delivery status notification (RFC 3464).",
        "",
        f"--{boundary}",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
        "",
    ]
    text = {
        "failed": "Your message could not be delivered to the following recipients.",
        "delayed": "Your message has not been delivered yet to the following recipients. "
        "Delivery is still being attempted; you do not need to send it again.",
        "delivered": "Your message was delivered to the following recipients.",
        "relayed": "Your message was relayed to a system that sends no further reports.",
        "expanded": "Your message was delivered to an alias.",
    }[kind]
    head += [f"This is the mail system at {reporting_mta}.", "", text, ""]
    for r in recipients:
        head.append(f"<{r.address}>: {r.action}" + (f": {_clean(r.diagnostic)}" if r.diagnostic else ""))
    head += ["", f"--{boundary}", "Content-Type: message/delivery-status", ""]
    # RFC 3464 §2.2: per-message fields, a blank line, then per-recipient field groups.
    head.append(f"Reporting-MTA: dns; {reporting_mta}")
    if envid:
        head.append(f"Original-Envelope-Id: {_clean(envid)}")
    if arrival_date is not None:
        head.append(f"Arrival-Date: {_date(arrival_date)}")
    for r in recipients:
        head.append("")
        if r.orcpt:
            head.append(f"Original-Recipient: {_clean(r.orcpt)}")
        head.append(f"Final-Recipient: rfc822; {r.address}")
        head.append(f"Action: {r.action}")
        head.append(f"Status: {r.status}")
        if r.remote_mta:
            head.append(f"Remote-MTA: dns; {_clean(r.remote_mta)}")
        if r.diagnostic:
            head.append(f"Diagnostic-Code: smtp; {_clean(r.diagnostic)}")
        if r.last_attempt is not None:
            head.append(f"Last-Attempt-Date: {_date(r.last_attempt)}")
        if r.will_retry_until is not None:
            head.append(f"Will-Retry-Until: {_date(r.will_retry_until)}")
    head += ["", f"--{boundary}"]
    if full:
        head += ["Content-Type: message/rfc822", "", ""]
        tail = f"\r\n--{boundary}--\r\n"
        return "\r\n".join(head).encode("utf-8"), tail.encode()
    head += ["Content-Type: text/rfc822-headers", "", ""]
    headers = original_headers.rstrip(b"\r\n") + b"\r\n"
    return "\r\n".join(head).encode("utf-8") + headers, f"\r\n--{boundary}--\r\n".encode()
