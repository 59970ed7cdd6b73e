"""What sorting and threading read of stored messages (mail/sort.py ``load_facts``):
References kept at ingestion, and read from the header block for older contents."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from postoffice.clock import ManualClock
from postoffice.mail.service import MailService
from postoffice.mail.sort import load_facts
from postoffice.store.blobs import FileBlobStore
from postoffice.store.bus import InProcessChangeBus
from postoffice.store.sqlite import SQLiteStore
from postoffice.testing.server import build_config

MESSAGE = (
    b'From: "Ann Example" <ann@remote.test>\r\nTo: =?utf-8?q?Z=C3=B6e?= <zoe@example.test>\r\n'
    b"Cc: undisclosed:;, carl@example.test\r\nSubject: Re: [list] plans\r\n"
    b"Date: Tue, 2 Jan 2024 10:00:00 -0500\r\nMessage-ID: <m2@remote.test>\r\n"
    b"In-Reply-To: <m1@remote.test> (sent by Ann)\r\nReferences: <m0@remote.test>\r\n <m1@remote.test>\r\n"
    b"\r\nbody\r\n"
)


@pytest.fixture
async def mail(tmp_path: Path) -> AsyncIterator[MailService]:
    config = build_config(tmp_path / "data", {"auth.scram_iterations": 4096})
    config.spool_dir.mkdir(parents=True, exist_ok=True)
    clock = ManualClock()
    store = await SQLiteStore.open(config.db_path, clock=clock)
    service = MailService(config, store, FileBlobStore(config.blob_dir), InProcessChangeBus(), clock)
    await service.add_user("alice@example.test", "pw")
    try:
        yield service
    finally:
        await service.store.close()


async def test_facts_come_from_stored_data(mail: MailService) -> None:
    await mail.deliver(MESSAGE, ["alice@example.test"])
    account = await mail.get_account("alice@example.test")
    assert account is not None
    inbox = await mail.get_mailbox(account, "INBOX")
    [rec] = await mail.list_messages(inbox)
    content = await mail.get_content(rec.content_id)
    assert json.loads(content.extra)["references"] == ["<m0@remote.test>", "<m1@remote.test>"]
    [facts] = await load_facts(mail, inbox, [rec.uid])
    assert facts.references == ("<m0@remote.test>", "<m1@remote.test>")
    assert facts.in_reply_to == ("<m1@remote.test>",)
    assert facts.message_id == "<m2@remote.test>"
    assert facts.date == 1704207600.0  # 15:00 UTC
    assert (facts.from_, facts.to, facts.cc) == ("ann", "zoe", "carl")  # a group marker is skipped
    assert (facts.display_from, facts.display_to) == ("Ann Example", "Zöe")
    assert facts.size == rec.size and facts.arrival == rec.internaldate


async def test_contents_stored_without_references_read_them_from_the_header(mail: MailService) -> None:
    await mail.deliver(MESSAGE, ["alice@example.test"])
    account = await mail.get_account("alice@example.test")
    assert account is not None
    inbox = await mail.get_mailbox(account, "INBOX")
    [rec] = await mail.list_messages(inbox)
    with sqlite3.connect(mail.config.db_path) as conn:  # a content ingested before References were kept
        conn.execute("UPDATE contents SET extra = '{}' WHERE id = ?", (rec.content_id,))
    [facts] = await load_facts(mail, inbox, [rec.uid])
    assert facts.references == ("<m0@remote.test>", "<m1@remote.test>")
