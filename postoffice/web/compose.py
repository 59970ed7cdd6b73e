"""Building the message a user writes in the browser (RFC 5322 + MIME).

Every field is checked for CR and LF first: a field holding a line break is refused,
never folded or turned into a header (header injection). The message is built with the
standard library's ``email`` package (RFC 2047 encoded words, RFC 2231 filenames,
base64 attachments) and leaves here as CRLF bytes for ``MailService.deliver`` — or,
when parts of a stored message go along (a forward), as pieces: the octets written here
and, in between, the index of each stored part whose base64 body the caller streams
from the part store (``MailService.part_base64``), so it is never uploaded or held again.
"""

from __future__ import annotations

import base64
import email.policy
import email.utils
import secrets
from dataclasses import dataclass, field
from email.headerregistry import Address as EmailAddress
from email.message import EmailMessage

from postoffice.errors import Kind, MailError
from postoffice.media.headers import content_duration, message_context
from postoffice.message.address import parse_address_list

__all__ = [
    "Draft",
    "Upload",
    "StoredAttachment",
    "build_pieces",
    "has_line_break",
    "parse_recipients",
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


@dataclass(frozen=True, slots=True)
class StoredAttachment:
    """An attachment that goes along from a stored message; its body is streamed."""

    filename: str
    content_type: str


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
    stored: list[StoredAttachment] = field(default_factory=list)  # after the uploads


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


def build_pieces(draft: Draft, *, hostname: str, now: float, keep_bcc: bool = False) -> list[bytes | int]:
    """The RFC 5322 octets (CRLF) of a draft, as pieces: bytes, and in place of the
    base64 body (lines of 76 and CRLF, as ``MailService.part_base64`` streams it) of
    ``draft.stored[i]`` the index i. Bcc is written only into a saved draft
    (``keep_bcc``), never into a message that is sent (RFC 5322 §3.6.3)."""
    for value in (draft.from_address, draft.to, draft.cc, draft.bcc, draft.subject, draft.in_reply_to, draft.references):
        if has_line_break(value):
            raise MailError(Kind.INVALID, "line break in a header field")
    named: list[Upload | StoredAttachment] = [*draft.attachments, *draft.stored]
    for upload in named:
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
    # a forwarded attachment makes a recording one attachment among others
    context = None if draft.stored else media_context(draft.attachments)
    if context is not None:
        message["Message-Context"] = context  # RFC 3458 §3
    message.set_content(draft.body.replace("\r\n", "\n"), subtype="plain", charset="utf-8")
    # A stored part's body is a placeholder here: one base64 line of a random marker,
    # cut out below (the marker cannot occur by chance).
    marker = secrets.token_hex(12)
    placeholders = [f"\0po-stored-{marker}-{i}\0".encode() for i in range(len(draft.stored))]
    attached: list[tuple[bytes, Upload | StoredAttachment]] = [
        *((u.data, u) for u in draft.attachments), *zip(placeholders, draft.stored, strict=True)
    ]
    for data, upload in attached:
        maintype, _, subtype = (upload.content_type or "application/octet-stream").partition("/")
        if not subtype or not maintype.isascii():
            maintype, subtype = "application", "octet-stream"
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=upload.filename or "attachment")
        if isinstance(upload, Upload) and _media_kind(upload) and upload.duration is not None:
            *_, part = message.iter_attachments()
            part["Content-Duration"] = content_duration(upload.duration)  # RFC 3803 §3: whole seconds
    written = message.as_bytes()
    return _cut(written, placeholders) if placeholders else [written]


def _cut(written: bytes, placeholders: list[bytes]) -> list[bytes | int]:
    pieces: list[bytes | int] = []
    for i, placeholder in enumerate(placeholders):
        line = base64.b64encode(placeholder) + b"\r\n"
        before, found, written = written.partition(line)
        if not found:
            raise RuntimeError("a stored attachment's placeholder was not written")
        pieces.extend((before, i))
    pieces.append(written)
    return pieces
