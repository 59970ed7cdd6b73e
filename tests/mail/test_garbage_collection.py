"""MailService.collect_garbage: contents go after their last message, blobs after their
last content; nothing a delivery in flight relies on is ever removed (the invariant is
in ``store/api.py``). Run on the memory and the SQLite + file backends."""

from __future__ import annotations

import asyncio
import base64
import os
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from postoffice.clock import ManualClock
from postoffice.mail.service import MailService
from postoffice.store.api import Account, BlobStore, Mailbox
from postoffice.store.blobs import FileBlobStore
from postoffice.store.bus import InProcessChangeBus
from postoffice.store.memory import MemoryBlobStore, MemoryStore
from postoffice.store.sqlite import SQLiteStore
from postoffice.testing.server import build_config

HOURS = 3600.0


def message(n: int, size: int = 100_000) -> bytes:
    """A message whose attachment is large enough to be its own blob (the part store)."""
    data = base64.encodebytes(random.Random(n).randbytes(size)).replace(b"\n", b"\r\n")
    return (
        b"From: ann@remote.test\r\nTo: alice@example.test\r\nSubject: with attachment %d\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nsee the attachment\r\n"
        b"--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        % n
    ) + data + b"--b--\r\n"


@pytest.fixture(params=["memory", "sqlite"])
async def mail(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[MailService]:
    config = build_config(tmp_path / "data", {"auth.scram_iterations": 4096})
    config.spool_dir.mkdir(parents=True, exist_ok=True)
    clock = ManualClock()
    if request.param == "memory":
        service = MailService(config, MemoryStore(clock=clock), MemoryBlobStore(), InProcessChangeBus(), clock)
    else:
        store = await SQLiteStore.open(config.db_path, clock=clock)
        service = MailService(config, store, FileBlobStore(config.blob_dir), InProcessChangeBus(), clock)
    await service.add_user("alice@example.test", "pw")
    await service.add_user("bob@example.test", "pw")
    try:
        yield service
    finally:
        await service.store.close()


def age_blobs(blobs: BlobStore, seconds: float) -> None:
    """Let every stored blob have been last written or found ``seconds`` earlier."""
    for blob_id in blobs.list_ids():
        if isinstance(blobs, MemoryBlobStore):
            blobs.fresh[blob_id] -= seconds
        else:
            assert isinstance(blobs, FileBlobStore)
            path = blobs.path_of(blob_id)
            when = path.stat().st_mtime - seconds
            os.utime(path, (when, when))


async def inbox(mail: MailService, address: str) -> tuple[Account, Mailbox]:
    account = await mail.get_account(address)
    assert account is not None
    return account, await mail.get_mailbox(account, "INBOX")


async def test_contents_and_blobs_go_after_their_last_message(mail: MailService) -> None:
    alice, alice_inbox = await inbox(mail, "alice@example.test")
    result = await mail.deliver(message(1), ["alice@example.test", "bob@example.test"])
    content = await mail.get_content(result.content_id)
    assert content.blob_ids and set(content.blob_ids) <= set(mail.blobs.list_ids())
    age_blobs(mail.blobs, 7 * HOURS)
    await mail.expunge(alice_inbox, [r.uid for r in result.records if r.mailbox_id == alice_inbox.id])
    assert await mail.collect_garbage() == service_gc(0, 0)  # bob still has it
    _, bob_inbox = await inbox(mail, "bob@example.test")
    await mail.expunge(bob_inbox, [r.uid for r in result.records if r.mailbox_id == bob_inbox.id])
    assert await mail.collect_garbage() == service_gc(1, len(set(content.blob_ids)))
    assert mail.blobs.list_ids() == []
    assert await mail.get_contents([content.id]) == {}


async def test_contents_go_with_a_deleted_mailbox_or_user(mail: MailService) -> None:
    alice, _ = await inbox(mail, "alice@example.test")
    in_archive = await mail.deliver(message(1), ["alice@example.test"], mailbox="Archive")
    in_inbox = await mail.deliver(message(2), ["alice@example.test"])
    age_blobs(mail.blobs, 7 * HOURS)
    await mail.delete_mailbox(alice, "Archive")
    assert (await mail.collect_garbage()).contents == 1
    assert set(await mail.get_contents([in_archive.content_id, in_inbox.content_id])) == {in_inbox.content_id}
    await mail.delete_user("alice@example.test")
    assert (await mail.collect_garbage()).contents == 1
    assert mail.blobs.list_ids() == []


async def test_blobs_younger_than_the_grace_stay(mail: MailService) -> None:
    _, alice_inbox = await inbox(mail, "alice@example.test")
    result = await mail.deliver(message(1), ["alice@example.test"])
    await mail.expunge(alice_inbox, [result.records[0].uid])
    got = await mail.collect_garbage()
    assert got.contents == 1 and got.blobs == 0  # written just now: within the grace
    assert (await mail.collect_garbage(grace=0)).blobs > 0


def service_gc(contents: int, blobs: int) -> Any:
    from postoffice.mail.service import GarbageCollected

    return GarbageCollected(contents, blobs)


@pytest.mark.parametrize("case", ["content found by dedup", "fresh blobs"])
async def test_a_delivery_in_flight_loses_nothing_to_the_collector(
    mail: MailService, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    """The delivery has written (or found) its blobs and is about to insert its rows
    when the collector runs: everything it needs stays, the message reads back whole."""
    _, alice_inbox = await inbox(mail, "alice@example.test")
    _, bob_inbox = await inbox(mail, "bob@example.test")
    raw = message(1)
    if case == "content found by dedup":
        # The same bytes are stored already, for alice; their blobs are old.
        first = await mail.deliver(raw, ["alice@example.test"])
        age_blobs(mail.blobs, 7 * HOURS)
    arrived, release = asyncio.Event(), asyncio.Event()
    insert = mail.store.insert_messages

    async def paused_insert(*args: Any, **kwargs: Any) -> Any:
        arrived.set()
        await release.wait()
        return await insert(*args, **kwargs)

    monkeypatch.setattr(mail.store, "insert_messages", paused_insert)
    delivery = asyncio.create_task(mail.deliver(raw, ["bob@example.test"]))
    await asyncio.wait_for(arrived.wait(), 30)
    if case == "content found by dedup":
        await mail.expunge(alice_inbox, [first.records[0].uid])  # the content's last message
    got = await mail.collect_garbage()
    assert got.blobs == 0
    assert got.contents == (1 if case == "content found by dedup" else 0)
    release.set()
    result = await asyncio.wait_for(delivery, 30)
    [record] = await mail.get_messages(bob_inbox, [result.records[0].uid])
    content = await mail.get_content(record.content_id)
    assert await mail.read(content) == raw
    # The collector is not idle for lack of work: once unreferenced and old, all goes.
    monkeypatch.setattr(mail.store, "insert_messages", insert)
    await mail.expunge(bob_inbox, [record.uid])
    age_blobs(mail.blobs, 7 * HOURS)
    got = await mail.collect_garbage()
    assert got.contents == 1 and got.blobs == len(set(content.blob_ids)) > 0


async def test_deliveries_racing_the_collector(mail: MailService) -> None:
    """Deliveries of bytes whose old, unreferenced blobs the collector is removing at
    the same moment (a writer finding a blob vs. the collector removing it): every
    delivered message reads back whole."""
    _, alice_inbox = await inbox(mail, "alice@example.test")
    raws = [message(n, 70_000) for n in range(4)]
    for round_ in range(3):
        # Every blob is stored, unreferenced and old: prey for the collector.
        for raw in raws:
            await mail.deliver(raw, ["alice@example.test"])
        await mail.expunge(alice_inbox, [m.uid for m in await mail.list_messages(alice_inbox)])
        await mail.collect_garbage(grace=float("inf"))  # the contents only
        age_blobs(mail.blobs, 7 * HOURS)
        stop = asyncio.Event()

        async def collector(stop: asyncio.Event) -> int:
            runs = 0
            while not stop.is_set() or runs == 0:
                await mail.collect_garbage()
                runs += 1
                await asyncio.sleep(0)
            return runs

        collecting = asyncio.create_task(collector(stop))
        try:
            results = await asyncio.gather(*(mail.deliver(raw, ["alice@example.test"]) for raw in raws * 2))
        finally:
            stop.set()
            await collecting
        await mail.collect_garbage()
        for raw, result in zip(raws * 2, results, strict=True):
            [record] = await mail.get_messages(alice_inbox, [result.records[0].uid])
            assert await mail.read(await mail.get_content(record.content_id)) == raw, f"round {round_}"
        await mail.expunge(alice_inbox, [m.uid for m in await mail.list_messages(alice_inbox)])


def test_gc_settings_and_their_edges() -> None:
    from postoffice.config import Config, ConfigError, config_from_dict

    assert (Config().server.gc_interval, Config().server.gc_grace) == (3600.0, 6 * HOURS)
    server = config_from_dict({"server": {"gc_interval": "1s", "gc_grace": "30m"}}).server
    assert (server.gc_interval, server.gc_grace) == (1.0, 1800.0)
    with pytest.raises(ConfigError, match="gc_interval"):
        config_from_dict({"server": {"gc_interval": 0.5}})
    with pytest.raises(ConfigError, match="gc_grace"):
        config_from_dict({"server": {"gc_grace": -1}})


async def test_the_collector_runs_periodically_while_serving(tmp_path: Path) -> None:
    config = build_config(tmp_path / "data", {"auth.scram_iterations": 4096, "server.gc_interval": 1, "server.gc_grace": 0})
    config.spool_dir.mkdir(parents=True, exist_ok=True)
    mail = MailService(config, MemoryStore(), MemoryBlobStore(), InProcessChangeBus())
    await mail.add_user("alice@example.test", "pw")
    _, alice_inbox = await inbox(mail, "alice@example.test")
    result = await mail.deliver(message(1), ["alice@example.test"])
    await mail.expunge(alice_inbox, [result.records[0].uid])
    collector = asyncio.create_task(mail.run_garbage_collector())
    try:
        deadline = asyncio.get_running_loop().time() + 30
        while await mail.get_contents([result.content_id]) or mail.blobs.list_ids():
            assert asyncio.get_running_loop().time() < deadline, "the collector never ran"
            await asyncio.sleep(0.05)
    finally:
        collector.cancel()
        with pytest.raises(asyncio.CancelledError):
            await collector
