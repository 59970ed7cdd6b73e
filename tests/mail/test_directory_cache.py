"""The directory cache of MailService ([auth] directory_cache): found recipients,
local domains and delivery mailboxes are reused for the TTL; misses never are; a
change made through this MailService is seen at once, one made by another process
(here: straight through the store, with no MailService to tell the others) within the TTL,
and one made through another process's MailService at once (the shared directory generation)."""

from __future__ import annotations

from pathlib import Path

import pytest

from postoffice import app
from postoffice.config import config_from_dict
from postoffice.mail import service as service_module


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(service_module.time, "monotonic", c)
    return c


async def open_services(tmp_path: Path, ttl: float) -> app.Services:
    config = config_from_dict(
        {"data_dir": str(tmp_path / "data"), "domains": ["example.test"], "auth": {"directory_cache": ttl}}
    )
    return await app.open_services(config)


async def test_found_recipients_are_reused_for_the_ttl_only(tmp_path: Path, clock: Clock) -> None:
    s = await open_services(tmp_path, 2.0)
    try:
        mail = s.mail
        alice = await mail.add_user("alice@example.test", "pw")
        assert [a.id for a in await mail.resolve_recipient("alice@example.test")] == [alice.id]
        # Another process deletes alice: still accepted within the TTL, not after it.
        await s.store.delete_account(alice.id)
        clock.now += 1.9
        assert [a.id for a in await mail.resolve_recipient("alice@example.test")] == [alice.id]
        clock.now += 0.2
        assert await mail.resolve_recipient("alice@example.test") == []
    finally:
        await s.close()


async def test_misses_are_never_cached(tmp_path: Path, clock: Clock) -> None:
    s = await open_services(tmp_path, 60.0)
    try:
        mail = s.mail
        await mail.add_user("alice@example.test", "pw")
        assert await mail.resolve_recipient("bob@example.test") == []
        assert not await mail.is_local_domain("other.test")
        # Another process adds a domain and a user: seen at the very next lookup.
        await s.store.add_domain("other.test")
        assert await mail.is_local_domain("other.test")
        other = await app.open_services(s.config)  # the CLI's own MailService
        try:
            bob = await other.mail.add_user("bob@example.test", "pw")
        finally:
            await other.close()
        assert [a.id for a in await mail.resolve_recipient("bob@example.test")] == [bob.id]
    finally:
        await s.close()


async def test_changes_made_here_are_seen_at_once(tmp_path: Path, clock: Clock) -> None:
    s = await open_services(tmp_path, 60.0)
    try:
        mail = s.mail
        alice = await mail.add_user("alice@example.test", "pw")
        assert [a.id for a in await mail.resolve_recipient("alice@example.test")] == [alice.id]
        await mail.delete_user("alice@example.test")
        assert await mail.resolve_recipient("alice@example.test") == []
        bob = await mail.add_user("bob@example.test", "pw")
        await mail.add_alias("team@example.test", "bob@example.test")
        assert [a.id for a in await mail.resolve_recipient("team@example.test")] == [bob.id]
        await mail.delete_alias("team@example.test")
        assert await mail.resolve_recipient("team@example.test") == []
    finally:
        await s.close()


async def test_zero_turns_the_cache_off(tmp_path: Path, clock: Clock) -> None:
    s = await open_services(tmp_path, 0)
    try:
        mail = s.mail
        alice = await mail.add_user("alice@example.test", "pw")
        assert await mail.resolve_recipient("alice@example.test")
        await s.store.delete_account(alice.id)
        assert await mail.resolve_recipient("alice@example.test") == []
    finally:
        await s.close()


async def test_delivery_to_a_cached_mailbox_that_went_away_looks_again(tmp_path: Path, clock: Clock) -> None:
    s = await open_services(tmp_path, 60.0)
    try:
        mail = s.mail
        alice = await mail.add_user("alice@example.test", "pw")
        msg = b"Subject: hi\r\n\r\nbody\r\n"
        await mail.deliver(msg, ["alice@example.test"], mailbox="Archive")
        archive = await mail.get_mailbox(alice, "Archive")
        await s.store.delete_mailbox(archive.id)  # another process deletes it
        result = await mail.deliver(msg, ["alice@example.test"], mailbox="Archive")
        inbox = await mail.get_mailbox(alice, "INBOX")
        assert [r.mailbox_id for r in result.records] == [inbox.id]  # fell back to INBOX
    finally:
        await s.close()


async def test_a_change_made_by_another_process_drops_the_cache_at_once(tmp_path: Path, clock: Clock) -> None:
    # The other process's MailService (the CLI's, another serve) bumps the shared
    # directory generation: this one drops its cache at its next lookup, long before the TTL.
    s = await open_services(tmp_path, 60.0)
    try:
        mail = s.mail
        alice = await mail.add_user("alice@example.test", "pw")
        await mail.add_alias("team@example.test", "alice@example.test")
        assert [a.id for a in await mail.resolve_recipient("team@example.test")] == [alice.id]
        assert await mail.is_local_domain("example.test")
        other = await app.open_services(s.config)
        try:
            await other.mail.delete_alias("team@example.test")
        finally:
            await other.close()
        assert await mail.resolve_recipient("team@example.test") == []
    finally:
        await s.close()
