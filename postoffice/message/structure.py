"""IMAP ENVELOPE and BODYSTRUCTURE as JSON-serialisable data, with offsets for sections.

Built once at ingestion from the parser's tree; the IMAP engine renders FETCH
ENVELOPE, BODY, BODYSTRUCTURE and every BODY[section] from this data plus ranged
reads of the stored message, never re-parsing.

ENVELOPE (RFC 9051 §7.5.2 / RFC 3501 §7.4.2): a list of ten items
``[date, subject, from, sender, reply_to, to, cc, bcc, in_reply_to, message_id]``.
Strings are the raw header values, unfolded, 8-bit octets read as UTF-8 (or
windows-1252 when not valid UTF-8), RFC 2047 words NOT decoded; ``null`` is NIL.
Address lists are ``null`` or lists of ``[name, adl, mailbox, host]``; a group start
is ``[null, null, "group name", null]``, a group end ``[null, null, null, null]``.
Sender and Reply-To default to From when absent (RFC 3501 §7.4.2).

BODYSTRUCTURE: ``bodystructure_json(root)`` returns::

    {"size": <message octets>, "root": NODE}

and a NODE is a dict:

``section``       IMAP part number ("1", "1.2.3"); "" for a multipart message body,
                  which has no number of its own (RFC 9051 §6.4.5)
``type``/``subtype``  lower-case; ``params``: [[name, value], ...] as written
``id``/``description``/``encoding``/``md5``/``location``: string or null
``size``          body octets (``body[1]``); ``lines``: body lines (text/* and
                  message/rfc822 only, else null)
``disposition``   null or [type, [[name, value], ...]]; ``language``: null or [tag, ...]
``header``        [offset, length] of this node's header block (for a message node,
                  the RFC 5322 header incl. the blank line; for a body part, its MIME
                  header: BODY[<section>.MIME])
``body``          [offset, length] of its body (BODY[<section>]; for the root's
                  single-part body the message body, which is also BODY[TEXT])
``children``      multipart/*: list of NODE (multipart: ``params`` hold the boundary).
                  It can be empty (no delimiter found, or depth/part limits): IMAP
                  needs at least one body there, so render as Dovecot does (one empty
                  text/plain body) or as a basic body of that type
``message``       message/rfc822 with identity encoding: {"envelope": ENVELOPE,
                  "node": NODE of the encapsulated message}; that node's ``header``
                  is BODY[<section>.HEADER] and its ``body`` BODY[<section>.TEXT]
``filename``/``charset``  decoded conveniences (RFC 2231/2047), for the web

The root NODE is the message itself: ``root["header"]`` is BODY[HEADER] and
``root["body"]`` BODY[TEXT]. ``sections(structure)`` maps every part number to its
node; the non-extensible BODY omits md5/disposition/language/location.
"""

from __future__ import annotations

import datetime
import email.utils
from typing import Any

from postoffice.message.address import parse_address_list
from postoffice.message.headers import decode_header_bytes, unfold
from postoffice.message.parser import Part

__all__ = ["envelope_json", "bodystructure_json", "sections", "header_date"]

Json = Any


def _raw(part: Part, name: str) -> str | None:
    value = part.header(name)
    if value is None:
        return None
    return unfold(decode_header_bytes(value)).strip()


def _addresses(part: Part, name: str) -> list[list[str | None]] | None:
    value = _raw(part, name)
    if value is None:
        return None
    addrs = parse_address_list(value)
    return [a.to_json() for a in addrs] or None


def envelope_json(part: Part) -> list[Json]:
    """The ENVELOPE of a message node (see the module docstring)."""
    from_ = _addresses(part, "from")
    sender = _addresses(part, "sender") or from_
    reply_to = _addresses(part, "reply-to") or from_
    return [
        _raw(part, "date"),
        _raw(part, "subject"),
        from_,
        sender,
        reply_to,
        _addresses(part, "to"),
        _addresses(part, "cc"),
        _addresses(part, "bcc"),
        _raw(part, "in-reply-to"),
        _raw(part, "message-id"),
    ]


def header_date(part: Part) -> float | None:
    """The Date: header as epoch seconds, None if absent or unparseable."""
    value = _raw(part, "date")
    if not value:
        return None
    try:
        dt = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if dt is None:
        return None
    if dt.tzinfo is None:  # RFC 5322 §3.3: "-0000" means UTC with no local-time information
        dt = dt.replace(tzinfo=datetime.UTC)
    try:
        return dt.timestamp()
    except (OverflowError, ValueError, OSError):
        return None


def _node(part: Part, section: str) -> dict[str, Json]:
    lines = part.body_lines if part.type == "text" or (part.type == "message" and part.message is not None) else None
    node: dict[str, Json] = {
        "section": section,
        "type": part.type,
        "subtype": part.subtype,
        "params": [list(p) for p in part.raw_params],
        "id": part.id,
        "description": part.description,
        "encoding": part.encoding,
        "size": part.body_length,
        "lines": lines,
        "md5": part.md5,
        "disposition": [part.disposition, [list(p) for p in part.raw_disposition_params]] if part.disposition else None,
        "language": part.language,
        "location": part.location,
        "header": [part.header_offset, part.header_length],
        "body": [part.body_offset, part.body_length],
        "filename": part.filename,
        "charset": part.charset,
    }
    if part.children:
        node["children"] = [_node(c, f"{section}.{i}" if section else str(i)) for i, c in enumerate(part.children, 1)]
    elif part.type == "multipart":
        node["children"] = []
    if part.message is not None:
        node["message"] = {"envelope": envelope_json(part.message), "node": _message_node(part.message, section)}
    return node


def _message_node(message: Part, prefix: str) -> dict[str, Json]:
    """A message node: multipart bodies take the prefix, single parts prefix.1."""
    if message.type == "multipart" and message.children is not None and message.params.get("boundary"):
        return _node(message, prefix)
    return _node(message, f"{prefix}.1" if prefix else "1")


def bodystructure_json(root: Part) -> dict[str, Json]:
    return {"size": root.body_offset + root.body_length, "root": _message_node(root, "")}


def sections(structure: dict[str, Json]) -> dict[str, dict[str, Json]]:
    """Part number -> NODE, for every numbered part (RFC 9051 §6.4.5)."""
    out: dict[str, dict[str, Json]] = {}

    def visit(node: dict[str, Json]) -> None:
        if node["section"]:
            out.setdefault(node["section"], node)
        for child in node.get("children", []):
            visit(child)
        if "message" in node:
            visit(node["message"]["node"])

    visit(structure["root"])
    return out
