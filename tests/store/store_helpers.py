"""Builders shared by the store tests."""

from __future__ import annotations

import hashlib

import pytest

from postoffice.errors import Kind, MailError
from postoffice.store.api import Credentials, NewContent, NewMessage, SearchText, Store

__all__ = ["CREDS", "make_content", "account_with_inbox", "deliver", "raises"]

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


async def account_with_inbox(store: Store, address: str = "alice@example.test") -> tuple[int, int]:
    account = await store.add_account(address, CREDS)
    inbox = await store.create_mailbox(account.id, "INBOX")
    return account.id, inbox.id


async def deliver(store: Store, mailbox_id: int, n: int, flags: frozenset[str] = frozenset(), **kw: str) -> int:
    [rec] = await store.insert_messages(make_content(n, **kw), [NewMessage(mailbox_id, flags, 1000.0 + n, 60)])
    return rec.uid


def raises(kind: Kind) -> pytest.RaisesContext[MailError]:
    return pytest.raises(MailError, check=lambda e: e.kind is kind)  # type: ignore[call-overload,no-any-return]
