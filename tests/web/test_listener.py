"""The http and https listeners as ``app.py`` starts them: real sockets on loopback,
the https one with the mail listeners' certificate, a clean stop with a live event
stream open."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx

from postoffice import app, lifecycle
from postoffice.clock import ManualClock
from postoffice.mail.auth import fast_hasher
from postoffice.testing.server import build_config

PASSWORD = "listener-secret"


async def sign_in(c: httpx.AsyncClient) -> httpx.Response:
    page = await c.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]*)"', page.text)
    assert csrf
    return await c.post("/login", data={"csrf": csrf.group(1), "address": "alice@example.test", "password": PASSWORD})


async def test_http_and_https_listeners_serve_and_stop(tmp_path: Path) -> None:
    config = build_config(tmp_path / "data", {"listen": {"http": "127.0.0.1:0", "https": "127.0.0.1:0"}})
    s = await app.open_services(config, clock=ManualClock())
    try:
        s.mail.auth.hasher = fast_hasher()
        await s.mail.add_user("alice@example.test", PASSWORD)
        listening = await lifecycle.start_listeners(s, ["http", "https"], announce=False)
        http_host, http_port = listening.bound("http")
        https_host, https_port = listening.bound("https")
        assert lifecycle.webmail_url(config, listening, "http") == f"http://{http_host}:{http_port}/"
        async with httpx.AsyncClient(base_url=f"http://{http_host}:{http_port}") as c:
            response = await sign_in(c)
            assert response.status_code == 303
            assert "Secure" not in response.headers["set-cookie"]
            events = await c.send(c.build_request("GET", "/events"), stream=True)  # a live stream stays open
            assert events.headers["content-type"].startswith("text/event-stream")
            async with httpx.AsyncClient(base_url=f"https://{https_host}:{https_port}", verify=False) as tls:
                response = await sign_in(tls)
                assert response.status_code == 303
                assert "Secure" in response.headers["set-cookie"]
            # Stopping ends the open event stream instead of waiting on it.
            await asyncio.wait_for(lifecycle.stop_listeners(listening), timeout=30)
            await events.aclose()
        try:
            async with httpx.AsyncClient() as c:
                await c.get(f"http://{http_host}:{http_port}/login", timeout=5)
            refused = False
        except httpx.ConnectError:
            refused = True
        assert refused
    finally:
        await s.close()


async def test_connections_per_client_address_are_limited(tmp_path: Path) -> None:
    config = build_config(
        tmp_path / "data", {"listen": {"http": "127.0.0.1:0"}, "limits.http.max_connections_per_ip": 2}
    )
    s = await app.open_services(config, clock=ManualClock())
    try:
        listening = await lifecycle.start_listeners(s, ["http"], announce=False)
        host, port = listening.bound("http")
        request = b"GET /login HTTP/1.1\r\nHost: x\r\n\r\n"
        held = []
        for _ in range(2):  # up to the limit: served, and kept open (keep-alive)
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(request)
            assert (await asyncio.wait_for(reader.readline(), 10)).startswith(b"HTTP/1.1 200")
            held.append((reader, writer))
        reader, writer = await asyncio.open_connection(host, port)  # one more: closed at once
        writer.write(request)
        assert await asyncio.wait_for(reader.read(), 10) == b""
        writer.close()
        held[0][1].close()
        await held[0][1].wait_closed()

        async def served() -> bool:
            r, w = await asyncio.open_connection(host, port)
            w.write(request)
            line = await asyncio.wait_for(r.readline(), 10)
            w.close()
            return line.startswith(b"HTTP/1.1 200")

        deadline = asyncio.get_running_loop().time() + 10
        while not await served():  # the closed one frees its place once the server has seen it go
            assert asyncio.get_running_loop().time() < deadline
        for _, w in held[1:]:
            w.close()
        await asyncio.wait_for(lifecycle.stop_listeners(listening), timeout=30)
    finally:
        await s.close()
