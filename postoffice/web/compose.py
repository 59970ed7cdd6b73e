"""Building the message a user writes in the browser (RFC 5322 + MIME).

Every field is checked for CR and LF first: a field holding a line break is refused,
never folded or turned into a header (header injection). The message is built with the
standard library's ``email`` package (RFC 2047 encoded words, RFC 2231 filenames,
base64 attachments) and leaves here as CRLF bytes for ``MailService.deliver``.
"""

from __future__ import annotations

import email.policy
import email.utils
from dataclasses import dataclass, field
from email.headerregistry import Address as EmailAddress
from email.message import EmailMessage

from postoffice.errors import Kind, MailError
from postoffice.media.headers import content_duration, message_context
from postoffice.message.address import parse_address_list

__all__ = [
    "Draft",
    "Upload",
    "has_line_break",
    "parse_recipients",
    "build_message",
    "media_context",
    "reply_subject",
    "forward_subject",
    "quote",
]


@dataclass(frozen=True, slots=True)
class Upload:
    filename: str
    content_type: str
    data: bytes
    duration: float | None = None  # seconds, when the part is audio or video FFmpeg could read


@dataclass(slots=True)
class Draft:
    from_address: str
    to: str = ""
    cc: str = ""
    bcc: str = ""
    subject: str = ""
    body: str = ""
    in_reply_to: str = ""
    references: str = ""
    attachments: list[Upload] = field(default_factory=list)


def has_line_break(value: str) -> bool:
    # CR, LF and the other line separators a header must never carry.
    return any(c in value for c in "\r\n\x00\x0b\x0c\x85\u2028\u2029")


def parse_recipients(value: str) -> list[str]:
    """Addresses of a To/Cc/Bcc field; MailError(INVALID) for one that is not an address."""
    found: list[str] = []
    for address in parse_address_list(value):
        if address.group or address.mailbox is None:
            continue
        if not address.host or " " in address.address:
            raise MailError(Kind.INVALID, f"not an address: {address.address}")
        found.append(address.address)
    return found


def reply_subject(subject: str) -> str:
    return subject if subject.lower().startswith("re:") else f"Re: {subject}"


def forward_subject(subject: str) -> str:
    return subject if subject.lower().startswith(("fwd:", "fw:")) else f"Fwd: {subject}"


def quote(text: str, who: str) -> str:
    lines = text.replace("\r\n", "\n").split("\n")
    return f"\n\n{who} wrote:\n" + "\n".join("> " + line if line else ">" for line in lines)


def _display(field_value: str) -> list[EmailAddress]:
    out: list[EmailAddress] = []
    for a in parse_address_list(field_value):
        if a.group or a.mailbox is None or not a.host:
            continue
        out.append(EmailAddress(display_name=a.display().split(" <")[0] if a.name else "", addr_spec=a.address))
    return out


def _media_kind(upload: Upload) -> str:
    kind = upload.content_type.partition("/")[0].strip().lower()
    return kind if kind in ("audio", "video") and upload.duration is not None else ""


def media_context(attachments: list[Upload]) -> str | None:
    """``Message-Context`` of a message with these attachments (RFC 3458 §4.2): a voice
    message when its one attachment is a recording of sound, a video message when it is
    one of pictures; None otherwise (a recording among other files is an attachment)."""
    if len(attachments) != 1 or not _media_kind(attachments[0]):
        return None
    return message_context(video=_media_kind(attachments[0]) == "video")


def build_message(draft: Draft, *, hostname: str, now: float, keep_bcc: bool = False) -> bytes:
    """The RFC 5322 bytes (CRLF) of a draft. Bcc is written only into a saved draft
    (``keep_bcc``), never into a message that is sent (RFC 5322 §3.6.3)."""
    for value in (draft.from_address, draft.to, draft.cc, draft.bcc, draft.subject, draft.in_reply_to, draft.references):
        if has_line_break(value):
            raise MailError(Kind.INVALID, "line break in a header field")
    for upload in draft.attachments:
        if has_line_break(upload.filename) or has_line_break(upload.content_type):
            raise MailError(Kind.INVALID, "line break in an attachment name")
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = draft.from_address
    if draft.to.strip():
        message["To"] = _display(draft.to)
    if draft.cc.strip():
        message["Cc"] = _display(draft.cc)
    if keep_bcc and draft.bcc.strip():
        message["Bcc"] = _display(draft.bcc)
    message["Subject"] = draft.subject
    message["Date"] = email.utils.formatdate(now, localtime=False)
    message["Message-ID"] = email.utils.make_msgid(domain=hostname)
    if draft.in_reply_to:
        message["In-Reply-To"] = draft.in_reply_to
    if draft.references:
        message["References"] = draft.references
    message["MIME-Version"] = "1.0"
    context = media_context(draft.attachments)
    if context is not None:
        message["Message-Context"] = context  # RFC 3458 §3
    message.set_content(draft.body.replace("\r\n", "\n"), subtype="plain", charset="utf-8")
    for upload in draft.attachments:
        maintype, _, subtype = (upload.content_type or "application/octet-stream").partition("/")
        if not subtype or not maintype.isascii():
            maintype, subtype = "application", "octet-stream"
        message.add_attachment(upload.data, maintype=maintype, subtype=subtype, filename=upload.filename or "attachment")
        if _media_kind(upload) and upload.duration is not None:
            *_, part = message.iter_attachments()
            part["Content-Duration"] = content_duration(upload.duration)  # RFC 3803 §3: whole seconds
    return message.as_bytes()
