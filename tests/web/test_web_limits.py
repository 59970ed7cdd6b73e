"""[limits.http] at their edges: session_lifetime and max_upload_size."""

from __future__ import annotations

from pathlib import Path

import httpx
from web_helpers import DOMAIN, PASSWORD, client_for, csrf_of, sign_in

from postoffice import app as composition
from postoffice.app import Services
from postoffice.clock import ManualClock
from postoffice.mail.auth import fast_hasher
from postoffice.mail.web import WebMail
from postoffice.store.sqlite.web import SQLiteWebStore
from postoffice.testing.server import build_config
from postoffice.web.app import WebApp, make_app


async def test_a_session_ends_after_its_lifetime_without_use(
    webmail: tuple[WebApp, Services], manual_clock: ManualClock
) -> None:
    app, services = webmail
    lifetime = services.config.limits.http.session_lifetime
    async with client_for(app) as c:
        await sign_in(c)
        manual_clock.advance(lifetime - 1)
        assert (await c.get("/folder/INBOX")).status_code == 200  # in use: the expiry slides on
        manual_clock.advance(lifetime - 1)
        assert (await c.get("/folder/INBOX")).status_code == 200
        manual_clock.advance(lifetime)
        response = await c.get("/folder/INBOX")
        assert response.status_code == 303 and response.headers["location"].startswith("/login")


async def test_an_upload_over_max_upload_size_is_refused(tmp_path: Path) -> None:
    config = build_config(tmp_path / "data", {"limits.http.max_upload_size": "4KiB"})
    services = await composition.open_services(config, clock=ManualClock())
    try:
        services.mail.auth.hasher = fast_hasher()
        for user in ("alice", "bob"):
            await services.mail.add_user(f"{user}@{DOMAIN}", PASSWORD)
        roles = SQLiteWebStore(services.store.db)  # type: ignore[attr-defined]
        async with client_for(make_app(WebMail(services.mail, roles, roles))) as c:
            await sign_in(c)
            csrf = await csrf_of(c, "/compose")
            form = {"csrf": csrf, "to": f"bob@{DOMAIN}", "subject": "big", "body": "x"}
            small: httpx.Response = await c.post("/send", data=form, files={"attachment": ("a.bin", b"a" * 2000)})
            assert small.status_code == 303
            big = await c.post("/send", data=form, files={"attachment": ("a.bin", b"a" * 5000)})
            assert big.status_code == 413
    finally:
        await services.close()
