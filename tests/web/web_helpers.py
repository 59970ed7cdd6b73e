"""Helpers shared by the webmail tests (imported by name: the folder is on sys.path)."""

from __future__ import annotations

import re
from typing import Any

import httpx

from postoffice.web.app import WebApp

PASSWORD = "correct horse"
DOMAIN = "example.test"


def client_for(app: WebApp, base: str = "http://mail.example.test") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    return httpx.AsyncClient(transport=transport, base_url=base, follow_redirects=False)


def hidden(page: str, name: str) -> str:
    m = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert m, f"no hidden field {name}"
    return m.group(1)


async def sign_in(c: httpx.AsyncClient, user: str = "alice", password: str = PASSWORD, next: str = "") -> httpx.Response:
    page = await c.get("/login")
    form: dict[str, Any] = {"csrf": hidden(page.text, "csrf"), "address": f"{user}@{DOMAIN}", "password": password}
    if next:
        form["next"] = next  # what a crafted link would carry
    return await c.post("/login", data=form)


async def csrf_of(c: httpx.AsyncClient, path: str = "/folder/INBOX") -> str:
    return hidden((await c.get(path)).text, "csrf")
