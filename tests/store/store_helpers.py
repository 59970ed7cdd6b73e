"""Builders shared by the store tests."""

from __future__ import annotations

import hashlib

from postoffice.store.api import Credentials, NewContent, SearchText

__all__ = ["CREDS", "make_content"]

CREDS = Credentials("$argon2id$v=19$m=65536,t=3,p=4$x$y", b"salt", 4096, b"stored", b"server")


def make_content(
    n: int, *, subject: str = "", body: str = "", from_: str = "", to: str = "", headers: str = "",
    blob_ids: tuple[str, ...] = (),
) -> NewContent:  # fmt: skip
    raw = f"message {n} {subject} {body}".encode()
    return NewContent(
        sha256=hashlib.sha256(raw).hexdigest(),
        size=len(raw) + 100,
        layout=b"\x00layout" + raw,
        blob_ids=blob_ids,
        envelope=b'["env"]',
        bodystructure=b'["bs"]',
        preview=body[:20],
        subject=subject,
        from_=from_,
        to=to,
        date=1_700_000_000.0 + n,
        message_id=f"<{n}@example.test>",
        search=SearchText(from_=from_, to=to, subject=subject, headers=headers or f"Subject: {subject}", body=body),
    )
