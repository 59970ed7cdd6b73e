"""Webmail sending to other domains, in-process: the road of SMTP submission.

Local recipients get the message at once, remote ones go into the outbound queue (one
ingestion, Return-Path and Received prepended), Sent keeps a copy; without an outbound
queue (``[relay] enabled = false``) the page says so and nothing is stored; the
per-user submission limits of ``[limits.smtp]`` hold at their edges.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from web_helpers import DOMAIN, PASSWORD, client_for, csrf_of, sign_in

from postoffice import app
from postoffice.app import Services
from postoffice.clock import ManualClock
from postoffice.mail.auth import fast_hasher
from postoffice.mail.web import WebMail
from postoffice.store.sqlite.web import SQLiteWebStore
from postoffice.testing.server import build_config
from postoffice.web.app import WebApp, make_app

REMOTE = "carol@remote.test"


async def _webmail(data_dir: Path, clock: ManualClock, overrides: Mapping[str, Any]) -> tuple[WebApp, Services]:
    services = await app.open_services(build_config(data_dir, overrides), clock=clock)
    services.mail.auth.hasher = fast_hasher()
    for user in ("alice", "bob"):
        await services.mail.add_user(f"{user}@{DOMAIN}", PASSWORD)
    roles = SQLiteWebStore(services.store.db)  # type: ignore[attr-defined]
    return make_app(WebMail(services.mail, roles, roles)), services


@pytest.fixture
async def opened() -> AsyncIterator[contextlib.AsyncExitStack]:
    """Services and clients opened by a test, closed after it."""
    async with contextlib.AsyncExitStack() as stack:
        yield stack


async def _alice(
    tmp_path: Path, clock: ManualClock, opened: contextlib.AsyncExitStack, **overrides: Any
) -> tuple[httpx.AsyncClient, Services]:
    """A client signed in as alice on services built with config ``overrides``."""
    web, services = await _webmail(tmp_path / "data", clock, overrides)
    opened.push_async_callback(services.close)
    client = await opened.enter_async_context(client_for(web))
    assert (await sign_in(client)).status_code == 303
    return client, services


async def _messages(services: Services, user: str, folder: str) -> list[bytes]:
    mail = services.mail
    account = await mail.get_account(f"{user}@{DOMAIN}")
    assert account is not None
    records = await mail.list_messages(await mail.get_mailbox(account, folder))
    return [await mail.read(await mail.get_content(r.content_id)) for r in records]


def _form(csrf: str, **fields: str) -> dict[str, str]:
    return {"csrf": csrf, "to": f"bob@{DOMAIN}", "subject": "Hello", "body": "Hi.", **fields}


async def test_local_recipient_at_once_remote_one_queued_copy_in_sent(
    tmp_path: Path, manual_clock: ManualClock, opened: contextlib.AsyncExitStack
) -> None:
    alice, services = await _alice(tmp_path, manual_clock, opened)
    form = _form(await csrf_of(alice, "/compose"), cc=REMOTE, bcc="dave@elsewhere.test", subject="Plans")
    response = await alice.post("/send", data=form)
    assert response.status_code == 303, response.text
    [delivered] = await _messages(services, "bob", "INBOX")
    assert b"Subject: Plans" in delivered and b"Return-Path: <alice@example.test>" in delivered
    outbound = services.mail.outbound
    assert outbound is not None
    [entry] = await outbound.queue.list_entries()
    assert entry.sender == f"alice@{DOMAIN}"
    assert sorted(r.address for r in entry.recipients) == ["carol@remote.test", "dave@elsewhere.test"]
    queued = await services.mail.read(await services.mail.get_content(entry.content_id))
    assert b"Subject: Plans" in queued and b"Received: from webmail by mail.example.test" in queued
    assert b"Bcc:" not in queued  # RFC 5322 §3.6.3: the blind copy's address is not shown
    [sent] = await _messages(services, "alice", "Sent")
    assert b"Subject: Plans" in sent


async def test_remote_recipients_only_are_queued(tmp_path: Path, manual_clock: ManualClock, opened: contextlib.AsyncExitStack) -> None:
    alice, services = await _alice(tmp_path, manual_clock, opened)
    response = await alice.post("/send", data=_form(await csrf_of(alice, "/compose"), to=REMOTE))
    assert response.status_code == 303, response.text
    assert services.mail.outbound is not None
    [entry] = await services.mail.outbound.queue.list_entries()
    assert [r.address for r in entry.recipients] == [REMOTE]
    assert await _messages(services, "bob", "INBOX") == []
    assert len(await _messages(services, "alice", "Sent")) == 1


async def test_without_a_relay_the_page_says_so_and_nothing_is_stored(
    tmp_path: Path, manual_clock: ManualClock, opened: contextlib.AsyncExitStack
) -> None:
    alice, services = await _alice(tmp_path, manual_clock, opened, **{"relay.enabled": False})
    assert services.mail.outbound is None
    response = await alice.post("/send", data=_form(await csrf_of(alice, "/compose"), cc=REMOTE))
    assert response.status_code == 400
    assert "does not send mail to other domains" in response.text
    assert 'value="Hello"' in response.text  # the form comes back filled in
    local_only = await alice.post("/send", data=_form(await csrf_of(alice, "/compose")))
    assert local_only.status_code == 303
    assert len(await _messages(services, "bob", "INBOX")) == 1  # only the local-only message
    assert len(await _messages(services, "alice", "Sent")) == 1


async def test_sender_must_be_the_users_own_for_remote_recipients_too(
    tmp_path: Path, manual_clock: ManualClock, opened: contextlib.AsyncExitStack
) -> None:
    alice, services = await _alice(tmp_path, manual_clock, opened)
    form = _form(await csrf_of(alice, "/compose"), to=REMOTE, **{"from": f"bob@{DOMAIN}"})
    assert (await alice.post("/send", data=form)).status_code == 403
    assert services.mail.outbound is not None
    assert await services.mail.outbound.queue.list_entries() == []
    assert await _messages(services, "alice", "Sent") == []


async def test_messages_per_hour_at_its_edge_counted_with_smtp_submission(
    tmp_path: Path, manual_clock: ManualClock, opened: contextlib.AsyncExitStack
) -> None:
    alice, services = await _alice(tmp_path, manual_clock, opened, **{"limits.smtp.max_messages_per_hour": 3})
    account = await services.mail.get_account(f"alice@{DOMAIN}")
    assert account is not None
    await services.mail.record_submission(account)  # one message by SMTP submission
    csrf = await csrf_of(alice, "/compose")
    for n in range(2):
        response = await alice.post("/send", data=_form(csrf, to=REMOTE, subject=f"n{n}"))
        assert response.status_code == 303, n
    refused = await alice.post("/send", data=_form(csrf, to=REMOTE, subject="one too many"))
    assert refused.status_code == 429
    assert (await alice.post("/send", data=_form(csrf, action="draft"))).status_code == 303  # drafts are not sent
    manual_clock.advance(3601)
    again = await alice.post("/send", data=_form(csrf, to=REMOTE, subject="an hour later"))
    assert again.status_code == 303
    assert services.mail.outbound is not None
    assert len(await services.mail.outbound.queue.list_entries()) == 3
    assert await services.mail.submissions_last_hour(account) == 1


async def test_recipients_per_message_at_its_edge(tmp_path: Path, manual_clock: ManualClock, opened: contextlib.AsyncExitStack) -> None:
    alice, services = await _alice(tmp_path, manual_clock, opened, **{"limits.smtp.max_recipients_per_message": 2})
    csrf = await csrf_of(alice, "/compose")
    at_edge = await alice.post("/send", data=_form(csrf, cc=REMOTE))
    assert at_edge.status_code == 303
    over = await alice.post("/send", data=_form(csrf, cc=REMOTE, bcc="dave@elsewhere.test", subject="three"))
    assert over.status_code == 400
    assert len(await _messages(services, "bob", "INBOX")) == 1
    assert services.mail.outbound is not None
    assert len(await services.mail.outbound.queue.list_entries()) == 1
