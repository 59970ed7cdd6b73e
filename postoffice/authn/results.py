"""The Authentication-Results header field (RFC 8601): writing ours, removing forgeries.

Owns :func:`authentication_results` (our field, from SPF, DKIM and DMARC results) and
:func:`strip_forged` (RFC 8601 §5: a field that claims our authserv-id, arriving from
outside, is removed before ours is added, so that readers can trust the ones we write).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .dmarc import DmarcResult
from .spf import SpfResult
from .verify import DkimResult

__all__ = ["authentication_results", "strip_forged", "authserv_id_of"]

_TOKEN = re.compile(r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~@]+")


def _value(text: str) -> str:
    """A pvalue (RFC 8601 §2.2): a token, or a quoted-string (RFC 2045 §5.1)."""
    if text and _TOKEN.fullmatch(text) and "@" not in text[:1]:
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _comment(text: str) -> str:
    clean = "".join(c if c.isprintable() and c not in "()\\" else " " for c in text)[:120].strip()
    return f" ({clean})" if clean else ""


def authentication_results(
    authserv_id: str, spf: SpfResult | None, dkim: Sequence[DkimResult], dmarc: DmarcResult | None
) -> bytes:
    """The field, folded, ending in CRLF (RFC 8601 §2.2; methods in §2.7)."""
    parts: list[str] = []
    if spf is not None:
        prop = "smtp.mailfrom" if spf.identity == "mailfrom" else "smtp.helo"
        parts.append(f"spf={spf.result}{_comment(spf.explanation) if spf.result != 'pass' else ''} {prop}={_value(spf.domain)}")
    if not dkim:
        parts.append("dkim=none")  # RFC 8601 §2.7.1: the message was not signed
    for r in dkim:
        text = f"dkim={r.result}{_comment(r.reason)}"
        if r.domain:
            text += f" header.d={_value(r.domain)}"
        if r.selector:
            text += f" header.s={_value(r.selector)}"
        if r.algorithm:
            text += f" header.a={_value(r.algorithm)}"
        if r.header_b:
            text += f" header.b={_value(r.header_b)}"  # RFC 6008
        parts.append(text)
    if dmarc is not None:
        comment = f" (p={dmarc.published} dis={dmarc.policy})" if dmarc.published else ""
        text = f"dmarc={dmarc.result}{comment}"
        if dmarc.from_domain:
            text += f" header.from={_value(dmarc.from_domain)}"
        parts.append(text)
    body = ";\r\n\t".join([authserv_id, *parts])
    return f"Authentication-Results: {body}\r\n".encode("utf-8", "replace")


def authserv_id_of(raw: bytes) -> str:
    """The authserv-id of an Authentication-Results value (comments skipped)."""
    text = raw.decode("utf-8", "replace")
    text = re.sub(r"\([^()]*\)", " ", text)  # RFC 5322 comments (one level is what is seen)
    text = text.strip()
    end = min([i for i in (text.find(";"), text.find(" "), text.find("\t"), text.find("\r"), text.find("\n")) if i >= 0],
              default=len(text))
    return text[:end].strip().strip('"').lower()


def strip_forged(header: bytes, authserv_id: str) -> bytes:
    """``header`` without the Authentication-Results fields that claim ``authserv_id``
    (RFC 8601 §5); every other octet kept as it was."""
    if b"authentication-results" not in header.lower():
        return header
    ours = authserv_id.lower()
    fields: list[bytes] = []  # each field with its continuation lines, verbatim
    for line in header.splitlines(keepends=True):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += line
        else:
            fields.append(line)
    kept = []
    for field in fields:
        name, colon, value = field.partition(b":")
        if colon and name.strip().lower() == b"authentication-results" and authserv_id_of(value) == ours:
            continue
        kept.append(field)
    return b"".join(kept)
