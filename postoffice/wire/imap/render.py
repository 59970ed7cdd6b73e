"""ENVELOPE and BODY/BODYSTRUCTURE rendering (RFC 9051 §7.5.2) from plain data.

The data shapes below are the contract until ``postoffice/message/`` defines its own
types; to adapt, convert to these dicts or change :func:`_get` (the one accessor).

Envelope (every key optional; a missing key or None renders NIL)::

    {"date": str, "subject": str, "from": [addr], "sender": [addr], "reply-to": [addr],
     "to": [addr], "cc": [addr], "bcc": [addr], "in-reply-to": str, "message-id": str}
    addr  = {"name": str|None, "adl": str|None, "mailbox": str|None, "host": str|None}
    group = {"group": "name", "members": [addr]}   # RFC 9051 §7.5.2 group syntax

Header values are passed as they appear in the header (encoded-words not decoded),
RFC 9051 §7.5.2. The server fills sender / reply-to from from when absent.

Body structure: a single part::

    {"type": "text", "subtype": "plain", "params": {"charset": "utf-8"} | [(k, v)],
     "id": str|None, "description": str|None, "encoding": "7BIT", "size": int,
     "lines": int,                       # text/* and message/rfc822 (and message/global)
     "envelope": {...}, "body": {...},   # message/rfc822 and message/global only
     "md5": str|None, "disposition": ("attachment", {"filename": "a.pdf"}) | None,
     "language": str | [str] | None, "location": str|None}

and a multipart::

    {"type": "multipart", "subtype": "mixed", "parts": [part, ...],
     "params": {...}, "disposition": ..., "language": ..., "location": ...}

``extended=True`` renders BODYSTRUCTURE (with extension data), False renders BODY.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .response import encode, nstring, string

__all__ = ["envelope", "body_structure", "Envelope", "BodyPart"]

Envelope = Mapping[str, Any]
BodyPart = Mapping[str, Any]
_ADDRESS_FIELDS = ("from", "sender", "reply-to", "to", "cc", "bcc")


def _get(data: Mapping[str, Any], key: str, default: Any = None) -> Any:
    return data.get(key, default)


def _address(addr: Mapping[str, Any], utf8: bool) -> bytes:
    return b"(" + b" ".join(nstring(_get(addr, k), utf8=utf8) for k in ("name", "adl", "mailbox", "host")) + b")"


def _address_list(addrs: Sequence[Mapping[str, Any]] | None, utf8: bool) -> bytes:
    if not addrs:
        return b"NIL"
    out: list[bytes] = []
    for addr in addrs:
        if "group" in addr:
            # RFC 9051 §7.5.2: start of group (NIL NIL "name" NIL), members, end (NIL NIL NIL NIL)
            out.append(b"(NIL NIL " + nstring(addr["group"], utf8=utf8) + b" NIL)")
            out.extend(_address(m, utf8) for m in _get(addr, "members", ()) or ())
            out.append(b"(NIL NIL NIL NIL)")
        else:
            out.append(_address(addr, utf8))
    return b"(" + b"".join(out) + b")"


def envelope(env: Envelope, *, utf8: bool = False) -> bytes:
    """``(date subject from sender reply-to to cc bcc in-reply-to message-id)``."""
    parts = [nstring(_get(env, "date"), utf8=utf8), nstring(_get(env, "subject"), utf8=utf8)]
    parts += [_address_list(_get(env, k), utf8) for k in _ADDRESS_FIELDS]
    parts += [nstring(_get(env, "in-reply-to"), utf8=utf8), nstring(_get(env, "message-id"), utf8=utf8)]
    return b"(" + b" ".join(parts) + b")"


def _params(params: Mapping[str, str] | Sequence[tuple[str, str]] | None, utf8: bool) -> bytes:
    if not params:
        return b"NIL"
    items = list(params.items()) if isinstance(params, Mapping) else list(params)
    return b"(" + b" ".join(string(k, utf8=utf8) + b" " + string(v, utf8=utf8) for k, v in items) + b")"


def _disposition(dsp: Sequence[Any] | None, utf8: bool) -> bytes:
    if not dsp:
        return b"NIL"
    kind, params = dsp[0], dsp[1] if len(dsp) > 1 else None
    return b"(" + string(kind, utf8=utf8) + b" " + _params(params, utf8) + b")"


def _language(lang: str | Sequence[str] | None, utf8: bool) -> bytes:
    if lang is None or (not isinstance(lang, str) and not lang):
        return b"NIL"
    if isinstance(lang, str):
        return string(lang, utf8=utf8)
    return b"(" + b" ".join(string(x, utf8=utf8) for x in lang) + b")"


def _is_message(part: BodyPart) -> bool:
    return str(part["type"]).lower() == "message" and str(part["subtype"]).lower() in ("rfc822", "global")


def body_structure(part: BodyPart, *, extended: bool = True, utf8: bool = False) -> bytes:
    """BODYSTRUCTURE (``extended``) or BODY of one part tree (RFC 9051 §7.5.2, §9 ``body``)."""
    if str(part["type"]).lower() == "multipart":
        # body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]; parts are not space-separated.
        out = b"(" + b"".join(body_structure(p, extended=extended, utf8=utf8) for p in part["parts"])
        out += b" " + string(part["subtype"], utf8=utf8)
        if extended:
            out += b" " + _params(_get(part, "params"), utf8)
            out += b" " + _disposition(_get(part, "disposition"), utf8)
            out += b" " + _language(_get(part, "language"), utf8)
            out += b" " + nstring(_get(part, "location"), utf8=utf8)
        return out + b")"
    fields = [
        string(part["type"], utf8=utf8),
        string(part["subtype"], utf8=utf8),
        _params(_get(part, "params"), utf8),
        nstring(_get(part, "id"), utf8=utf8),
        nstring(_get(part, "description"), utf8=utf8),
        string(_get(part, "encoding", "7BIT"), utf8=utf8),
        encode(int(_get(part, "size", 0))),
    ]
    if _is_message(part):
        fields.append(envelope(_get(part, "envelope", {}) or {}, utf8=utf8))
        fields.append(body_structure(part["body"], extended=extended, utf8=utf8))
        fields.append(encode(int(_get(part, "lines", 0))))
    elif str(part["type"]).lower() == "text":
        fields.append(encode(int(_get(part, "lines", 0))))
    if extended:
        fields.append(nstring(_get(part, "md5"), utf8=utf8))
        fields.append(_disposition(_get(part, "disposition"), utf8))
        fields.append(_language(_get(part, "language"), utf8))
        fields.append(nstring(_get(part, "location"), utf8=utf8))
    return b"(" + b" ".join(fields) + b")"
