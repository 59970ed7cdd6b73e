"""Helpers shared by the media tests (imported by name: conftest puts the folder on sys.path)."""

from __future__ import annotations

import base64

DOMAIN = "example.test"


def media_mail(payload: bytes, content_type: str, *, extra_headers: bytes = b"", part_headers: bytes = b"") -> bytes:
    """A message with a text part and ``payload`` as a base64 attachment (section 2)."""
    encoded = base64.encodebytes(payload).replace(b"\n", b"\r\n")
    return (
        b"From: bob@example.test\r\nSubject: listen\r\nMIME-Version: 1.0\r\n" + extra_headers
        + b"Content-Type: multipart/mixed; boundary=m\r\n\r\n"
        b"--m\r\nContent-Type: text/plain\r\n\r\nA message for you.\r\n"
        b"--m\r\nContent-Type: " + content_type.encode() + b"\r\n" + part_headers
        + b"Content-Disposition: attachment; filename=media\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + encoded + b"--m--\r\n"
    )
