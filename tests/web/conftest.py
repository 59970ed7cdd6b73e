"""Fixtures for the webmail's in-process tests: the ASGI app on the SQLite store,
driven by httpx in the test's own event loop (no socket).

- ``webmail``: (WebApp, Services) with users alice and bob (password ``PASSWORD``).
- ``client``: an httpx.AsyncClient on the app, not signed in.
- ``alice``: the same, signed in as alice.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from postoffice.app import Services
from postoffice.mail.auth import fast_hasher
from postoffice.mail.web import WebMail
from postoffice.store.sqlite.web import SQLiteWebStore
from postoffice.web.app import WebApp, make_app

# --import-mode=importlib does not put test folders on sys.path; the web tests share web_helpers.
sys.path.insert(0, str(Path(__file__).parent))

from web_helpers import DOMAIN, PASSWORD, client_for, sign_in  # noqa: E402


@pytest.fixture
async def webmail(services: Services) -> AsyncIterator[tuple[WebApp, Services]]:
    services.mail.auth.hasher = fast_hasher()
    for user in ("alice", "bob"):
        await services.mail.add_user(f"{user}@{DOMAIN}", PASSWORD)
    roles = SQLiteWebStore(services.store.db)  # type: ignore[attr-defined]
    yield make_app(WebMail(services.mail, roles, roles)), services


@pytest.fixture
async def client(webmail: tuple[WebApp, Services]) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(webmail[0]) as c:
        yield c


@pytest.fixture
async def alice(client: httpx.AsyncClient) -> httpx.AsyncClient:
    response = await sign_in(client)
    assert response.status_code == 303
    return client
